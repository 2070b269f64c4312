using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace EcsMem.Tests.Report;

/// <summary>
/// SIGINT and SIGTERM sent with kill(2) to the built tool, in every command and mode. The input is a FIFO fed by
/// the test with an endless Lackey trace, so the run can never finish by itself, and the test knows the tool is
/// past its start (its signal handlers are installed first thing in Main) once the FIFO's write end opens.
/// Asserts the exit code (128 + signal), the report marked partial, and that every output is complete or absent
/// with no temporary file left.
/// </summary>
[NonParallelizable]
public class SignalTests
{
    private const int SigInt = 2, SigTerm = 15;

    private static string Dll => Path.Combine(TestContext.CurrentContext.TestDirectory, "ecsmem.dll");

    private static string DotNet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p ? p : "dotnet";

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int sig);

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, uint mode);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenRaw(string path, int flags);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int CloseRaw(int fd);

    /// <summary>O_RDONLY | O_NONBLOCK: opening a FIFO's read end this way never waits for a writer.</summary>
    private const int ReadNonBlocking = 0x800;

    /// <summary>Starts ecsmem with SIGINT and SIGTERM at their defaults, whatever this test host inherited.</summary>
    private static Process Start(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("env")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=INT,TERM");
        psi.ArgumentList.Add(DotNet);
        psi.ArgumentList.Add(Dll);
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        return p;
    }

    /// <summary>Lackey lines over 64 MiB of data, instruction fetches mixed in: endless, never repeating a batch boundary.</summary>
    private static byte[] LackeyChunk(int i)
    {
        var sb = new StringBuilder();
        for (int j = 0; j < 2000; j++)
        {
            ulong a = 0x4000000 + (((ulong)i * 131072 + ((ulong)j * 64)) % (64UL << 20));
            sb.Append(j % 4 == 0 ? $"I  {0x400000 + ((ulong)j * 4):x8},4\n" : $" {(j % 3 == 0 ? 'S' : 'L')} {a:x8},8\n");
        }
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>
    /// Runs ecsmem on a FIFO trace and sends <paramref name="signal"/>: after the FIFO opened and some data went
    /// through, or, with <paramref name="beforeData"/>, while the tool still waits for the trace's first bytes
    /// (start-up). Returns the exit code, stdout and stderr.
    /// </summary>
    private static (int Code, string Out, string Err) Interrupt(ReportTestFiles f, int signal, bool beforeData, Func<string, string[]> args, Func<bool>? ready = null)
    {
        string fifo = f.PathOf("in.lackey");
        Assert.That(MkFifo(fifo, Convert.ToUInt32("600", 8)), Is.Zero, "mkfifo");
        using var p = Start(f.Dir, args(fifo));
        Task<string> o = p.StandardOutput.ReadToEndAsync();
        Task<string> e = p.StandardError.ReadToEndAsync();
        var opened = new ManualResetEventSlim();
        var sent = new ManualResetEventSlim();
        var writer = Task.Run(() =>
        {
            try
            {
                using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1 << 16);
                if (beforeData)
                    opened.Set();
                for (int i = 0; ; i++)
                {
                    if (beforeData)
                        sent.Wait();
                    w.Write(LackeyChunk(i));
                    if (i == 50)
                    {
                        w.Flush();
                        opened.Set();
                    }
                }
            }
            catch (IOException)
            {
                // The tool stopped reading and closed the FIFO (EPIPE): expected.
            }
        });
        try
        {
            // When the tool ended before reading 51 chunks (the writer then met EPIPE), say how it ended.
            Assert.That(opened.Wait(60_000), Is.True,
                () => "the tool opened the trace" + (p.WaitForExit(5_000) ? $" (it exited {p.ExitCode}: {e.Result.Trim()})" : " (it is still running)"));
            if (!beforeData)
            {
                // Some data has gone through: the tool is simulating (or has just begun).
                var clock = Stopwatch.StartNew();
                while (ready is not null && !ready() && clock.ElapsedMilliseconds < 60_000)
                    Thread.Sleep(10);
            }
            Assert.That(Kill(p.Id, signal), Is.Zero, "kill");
            sent.Set();
            Assert.That(p.WaitForExit(60_000), Is.True, "the tool ended within a minute of the signal");
        }
        finally
        {
            if (!p.HasExited)
                p.Kill();
            sent.Set();
            // Unblock the writer if it still waits in open(2) for a reader (the tool never opened the FIFO). Non-blocking:
            // when the writer had already opened it and gone (EPIPE) before it set `opened`, a blocking open here would
            // wait for a writer that never comes (a suite run under heavy load hung here for 20 minutes).
            if (!opened.IsSet)
            {
                int fd = OpenRaw(fifo, ReadNonBlocking);
                if (fd >= 0)
                    CloseRaw(fd);
            }
        }
        Assert.That(writer.Wait(60_000), Is.True, "writer ended");
        return (p.ExitCode, o.Result, e.Result);
    }

    private static void AssertNoTemporaryFile(ReportTestFiles f) =>
        Assert.That(Directory.GetFiles(f.Dir).Select(Path.GetFileName).Where(n => n!.EndsWith(".tmp", StringComparison.Ordinal)), Is.Empty,
            "no temporary file is left");

    [TestCase(SigInt, 130)]
    [TestCase(SigTerm, 143)]
    public void MachineRunPrintsThePartialReportAndAWholeTimeline(int signal, int code)
    {
        using var f = new ReportTestFiles();
        var r = Interrupt(f, signal, beforeData: false,
            fifo => ["run", "--trace", fifo, "--trace-format", "lackey", "--timeline", "t.csv", "--timeline-every", "1000"]);
        Assert.That(r.Code, Is.EqualTo(code), r.Err);
        long done = long.Parse(ReportTestFiles.ValueAfter(r.Out, "accesses:"));
        Assert.That(ReportTestFiles.ValueAfter(r.Out, "status:"), Is.EqualTo($"partial: interrupted after {done} accesses"));
        Assert.That(r.Err, Does.Contain($"partial: interrupted by {(signal == SigInt ? "SIGINT" : "SIGTERM")} after {done} accesses"));
        string[] rows = File.ReadAllText(f.PathOf("t.csv")).Split('\n');
        Assert.That(rows[^1], Is.Empty, "the timeline ends with a whole line");
        Assert.That(long.Parse(rows[^2].Split(',')[1]), Is.EqualTo(done), "the timeline is whole and ends where the run stopped");
        // The peak would need a second run: not after a signal.
        Assert.That(r.Out, Does.EndWith("\n== snapshot at peak (not taken: the run was interrupted; the peak needs a second run) ==\n"));
        AssertNoTemporaryFile(f);
    }

    [Test]
    public void SignalDuringStartUpGivesAnEmptyPartialReport()
    {
        // The tool is blocked reading the trace's first bytes (the compression sniff while the machine is built).
        using var f = new ReportTestFiles();
        var r = Interrupt(f, SigInt, beforeData: true, fifo => ["run", "--trace", fifo, "--trace-format", "lackey", "--json"]);
        Assert.That(r.Code, Is.EqualTo(130), r.Err);
        Assert.That(r.Out, Does.Contain("\"partial\": true"));
        Assert.That(r.Err, Is.EqualTo("ecsmem: partial: interrupted by SIGINT after 0 accesses\n"));
    }

    [Test]
    public void IdealModeReportsTheReferencesReplayed()
    {
        using var f = new ReportTestFiles();
        var r = Interrupt(f, SigTerm, beforeData: false,
            fifo => ["run", "--ideal", "--trace", fifo, "--trace-format", "lackey", "--frames", "100", "--policy", "lru"]);
        Assert.That(r.Code, Is.EqualTo(143), r.Err);
        string refs = ReportTestFiles.ValueAfter(r.Out, "references:");
        Assert.That(long.Parse(refs), Is.GreaterThan(0));
        Assert.That(ReportTestFiles.ValueAfter(r.Out, "status:"), Is.EqualTo($"partial: interrupted by SIGTERM after {refs} references"));
    }

    [Test]
    public void CachegrindModeReportsTheAccessesSimulated()
    {
        using var f = new ReportTestFiles();
        var r = Interrupt(f, SigInt, beforeData: false, fifo => ["run", "--cachegrind", "--trace", fifo, "--trace-format", "lackey", "--json"]);
        Assert.That(r.Code, Is.EqualTo(130), r.Err);
        Assert.That(r.Out, Does.Contain("\"partial\": true"));
        Assert.That(System.Text.Json.JsonDocument.Parse(r.Out).RootElement.GetProperty("events").GetProperty("Ir").GetInt64(), Is.GreaterThan(0));
    }

    [Test]
    public void SweepPrintsTheFinishedRowsAndAWholeCsv()
    {
        using var f = new ReportTestFiles();
        var r = Interrupt(f, SigTerm, beforeData: false,
            fifo => ["sweep", fifo, "--trace-format", "lackey", "--frames", "10:100:10", "--csv", "s.csv"]);
        Assert.That(r.Code, Is.EqualTo(143), r.Err);
        Assert.That(r.Out, Does.Contain("partial: interrupted by SIGTERM"));
        Assert.That(File.ReadAllText(f.PathOf("s.csv")), Does.StartWith("trace,policy,frames").And.EndWith("\n"));
        AssertNoTemporaryFile(f);
    }

    [Test]
    public void ConvertLeavesNoOutputAndNoTemporaryFile()
    {
        using var f = new ReportTestFiles();
        // Ready once the output's temporary file exists: the copy is under way.
        var r = Interrupt(f, SigInt, beforeData: false, fifo => ["convert", fifo, "--from", "lackey", "--to", "binary", "--out", "o.bin"],
            ready: () => Directory.GetFiles(f.Dir, ".o.bin.*.tmp").Length > 0);
        Assert.That(r.Code, Is.EqualTo(130), r.Err);
        Assert.That(r.Err, Does.Contain("o.bin not written"));
        Assert.That(Directory.GetFiles(f.Dir).Select(Path.GetFileName), Is.EqualTo(new[] { "in.lackey" }));
    }

    [Test]
    public void GenLeavesNoOutputAndNoTemporaryFile()
    {
        using var f = new ReportTestFiles();
        // 10^10 accesses would take minutes: the signal lands once the temporary file has appeared.
        using var p = Start(f.Dir, "gen", "zipf:count=10000000000,pages=5000,seed=1", "--out", "g.bin");
        Task<string> e = p.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (Directory.GetFiles(f.Dir, ".g.bin.*.tmp").Length == 0 && clock.ElapsedMilliseconds < 60_000 && !p.HasExited)
            Thread.Sleep(5);
        Assert.That(Kill(p.Id, SigTerm), Is.Zero);
        Assert.That(p.WaitForExit(60_000), Is.True);
        Assert.That(p.ExitCode, Is.EqualTo(143), e.Result);
        Assert.That(e.Result, Does.Contain("interrupted by SIGTERM").And.Contain("g.bin not written"));
        Assert.That(Directory.GetFiles(f.Dir), Is.Empty, "neither g.bin nor its temporary file");
    }
}
