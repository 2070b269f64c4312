using System.Diagnostics;
using System.Text.Json;

namespace EcsMem.Tests.Report;

/// <summary>The built <c>ecsmem</c> run as a real process (<c>dotnet ecsmem.dll</c>): exit codes, stdout/stderr, Ctrl-C.</summary>
public class RealProcessTests
{
    private static string Dll => Path.Combine(TestContext.CurrentContext.TestDirectory, "ecsmem.dll");

    private static string DotNet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p ? p : "dotnet";

    /// <summary>Starts ecsmem through <c>env --default-signal=INT</c>, so SIGINT reaches it even when this test host ignores it.</summary>
    private static Process Start(string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo("env")
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=INT");
        psi.ArgumentList.Add(DotNet);
        psi.ArgumentList.Add(Dll);
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static (int Code, string Out, string Err) RunToEnd(string workDir, params string[] args)
    {
        using var p = Start(workDir, args);
        p.StandardInput.Close();
        Task<string> o = p.StandardOutput.ReadToEndAsync();
        Task<string> e = p.StandardError.ReadToEndAsync();
        Assert.That(p.WaitForExit(120_000), Is.True, "ecsmem did not finish within 2 minutes");
        return (p.ExitCode, o.Result, e.Result);
    }

    [Test]
    public void BuiltToolRunsAScenarioAndRejectsBadInput()
    {
        Assert.That(File.Exists(Dll), Is.True, $"{Dll} is built next to the tests");
        using var f = new ReportTestFiles();
        f.StoresToDistinctPages("w.lackey", 12);
        f.Write("s.yaml", "machine: {ram: 1M}\nprocesses:\n  - name: w\n    workload: {trace: {path: w.lackey, format: lackey}}\n");

        var (code, stdout, stderr) = RunToEnd(f.Dir, "run", "s.yaml", "--json");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stderr, Is.Empty);
        using var doc = JsonDocument.Parse(stdout);
        var p = doc.RootElement.GetProperty("processes")[0];
        // 12 stores to 12 new pages: 12 minor faults, 48 kB resident at exit.
        Assert.That(p.GetProperty("min_flt").GetInt64(), Is.EqualTo(12));
        Assert.That(p.GetProperty("status").GetProperty("VmRSS").GetInt64(), Is.EqualTo(48));

        var bad = RunToEnd(f.Dir, "run", "s.yaml", "--mem", "3K");
        Assert.That(bad.Code, Is.EqualTo(2));
        Assert.That(bad.Out, Is.Empty);
        Assert.That(bad.Err, Is.EqualTo("ecsmem: error: command line: --mem must be a whole number of 4 KiB pages (got '3K')\n"));
    }

    [Test]
    public void CtrlCStopsTheRunAndPrintsAPartialReport()
    {
        using var f = new ReportTestFiles();
        string csv = f.PathOf("t.csv");
        // The default scenario (1,000,000 accesses) runs for seconds. The interrupt must land after the tool has
        // installed its handler and before it finishes: start with a delay, and lengthen or shorten it when it
        // landed too early (the runtime's default handler ends the process without a report) or too late.
        int delayMs = 1500;
        for (int attempt = 1; attempt <= 4; attempt++)
        {
            using var p = Start(f.Dir, "run", "--timeline", csv);
            p.StandardInput.Close();
            Task<string> o = p.StandardOutput.ReadToEndAsync();
            Task<string> e = p.StandardError.ReadToEndAsync();
            Thread.Sleep(delayMs);
            bool sent = !p.HasExited && Kill(p.Id, SigInt) == 0;
            Assert.That(p.WaitForExit(120_000), Is.True);
            string stdout = o.Result, stderr = e.Result;
            TestContext.Out.WriteLine($"attempt {attempt}: delay {delayMs} ms, exit {p.ExitCode}, {stdout.Length} bytes of report");
            if (sent && p.ExitCode == 130 && stdout.Length > 0)
            {
                long done = long.Parse(ReportTestFiles.ValueAfter(stdout, "accesses:"));
                Assert.That(done, Is.LessThan(1_000_000));
                Assert.That(ReportTestFiles.ValueAfter(stdout, "status:"), Is.EqualTo($"partial: interrupted after {done} accesses"));
                Assert.That(stderr, Is.EqualTo($"ecsmem: partial: interrupted by SIGINT after {done} accesses\n"));
                string[] rows = File.ReadAllText(csv).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.That(long.Parse(rows[^1].Split(',')[1]), Is.EqualTo(done), "the timeline is whole and ends where the run stopped");
                Assert.That(f.FilesExcept(), Is.EqualTo(new[] { "t.csv" }), "no temporary file is left");
                return;
            }
            if (!sent || p.ExitCode == 0)
                delayMs /= 2;      // finished before the interrupt
            else
                delayMs *= 2;      // interrupted before the handler was installed
            File.Delete(csv);
        }
        Assert.Fail("could not interrupt a running simulation in 4 attempts");
    }

    private const int SigInt = 2;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int sig);
}
