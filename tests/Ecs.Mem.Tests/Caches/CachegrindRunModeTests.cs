using System.Text;
using EcsMem.Cli;

namespace EcsMem.Tests.Caches;

public class CachegrindRunModeTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void PrintsCachegrindsSummaryForAStoredTrace()
    {
        string dir = CachegrindAgreementTests.SamplesDir();
        var (code, stdout, stderr) = Run("run", "--cachegrind", "--trace", Path.Combine(dir, "matmul.lackey.gz"),
            "--trace-format", "lackey", "--I1", "8192,2,32", "--D1", "8192,4,32", "--LL", "131072,8,64");
        Assert.That(stderr, Is.Empty);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Is.EqualTo(CachegrindAgreementTests.CachegrindSummary(Path.Combine(dir, "matmul.small.cachegrind.txt"))));
    }

    [Test]
    public void DefaultsToTheSeedGeometryAndReadsPlainTextTraces()
    {
        string path = Path.GetTempFileName();
        try
        {
            // 3 instructions in one 64 B line, a load and a store to another line.
            File.WriteAllText(path, "==1== hi\nI  00400000,4\nI  00400004,4\nI  00400008,4\n L 00601000,8\n S 00601008,8\n");
            var (code, stdout, _) = Run("run", "--cachegrind", "--trace", path, "--json");
            Assert.That(code, Is.EqualTo(0));
            using var doc = System.Text.Json.JsonDocument.Parse(stdout);
            var caches = doc.RootElement.GetProperty("caches");
            string Geometry(string c) => $"{caches.GetProperty(c).GetProperty("size")},{caches.GetProperty(c).GetProperty("assoc")},{caches.GetProperty(c).GetProperty("line")}";
            Assert.That((Geometry("I1"), Geometry("D1"), Geometry("LL")), Is.EqualTo(("32768,8,64", "32768,8,64", "3145728,12,64")));
            var ev = doc.RootElement.GetProperty("events");
            long[] Counts(params string[] names) => names.Select(n => ev.GetProperty(n).GetInt64()).ToArray();
            Assert.That(Counts("Ir", "I1mr", "ILmr"), Is.EqualTo(new long[] { 3, 1, 1 }));
            Assert.That(Counts("Dr", "D1mr", "DLmr"), Is.EqualTo(new long[] { 1, 1, 1 }));
            Assert.That(Counts("Dw", "D1mw", "DLmw"), Is.EqualTo(new long[] { 1, 0, 0 }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("--LL", "3145728,16,64", "command line: --LL: set count 3072 (size/(ways*line)) is not a power of two (got '3145728,16,64')")]
    [TestCase("--D1", "32768,8,8", "command line: --D1: line size 8 is too small (Cachegrind needs at least 16 bytes) (got '32768,8,8')")]
    [TestCase("--cpu", "mars", "command line: --cpu must be 'host' or 'seed' (got 'mars')")]
    [TestCase("--decode-thread", "yes", "command line: --decode-thread must be 'auto', 'on' or 'off' (got 'yes')")]
    public void BadOptionsExitTwoWithOneLine(string option, string value, string message)
    {
        string dir = CachegrindAgreementTests.SamplesDir();
        var (code, stdout, stderr) = Run("run", "--cachegrind", "--trace", Path.Combine(dir, "matmul.lackey.gz"), option, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Is.EqualTo("ecsmem: error: " + message + Environment.NewLine));
    }

    [Test]
    public void UnknownTraceFormatExitsTwoNamingIt()
    {
        // Every registered format is accepted now (the trace is opened through TraceFormats), so only an
        // unknown name is an error; the message lists the known ones.
        string dir = CachegrindAgreementTests.SamplesDir();
        var (code, stdout, stderr) = Run("run", "--cachegrind", "--trace", Path.Combine(dir, "matmul.lackey.gz"), "--trace-format", "pin");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.StartWith("ecsmem: error: command line: unknown trace format (known: ").And.Contain("lackey")
            .And.EndWith("(got 'pin')" + Environment.NewLine));
    }

    [Test]
    public void MissingTraceAndMalformedTraceExitTwo()
    {
        var (code, _, stderr) = Run("run", "--cachegrind", "--trace", "/nonexistent/t.gz");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.StartWith("ecsmem: error: /nonexistent/t.gz: cannot open trace"));

        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "I  00400000,4\n L zz,8\n", Encoding.ASCII);
            (code, _, stderr) = Run("run", "--cachegrind", "--trace", path);
            Assert.That(code, Is.EqualTo(2));
            Assert.That(stderr.Trim(), Is.EqualTo($"ecsmem: error: {path}:2: malformed Lackey line: address is not hexadecimal (got ' L zz,8')"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Decoding on a second thread changes nothing: the text and JSON outputs of the three real programs'
    /// traces, and the out file, are byte-identical with the decoder thread on and off.</summary>
    [TestCase("matmul")]
    [TestCase("sort")]
    [TestCase("hashlist")]
    public void DecodeThreadOnAndOffPrintTheSame(string program)
    {
        string trace = Path.Combine(CachegrindAgreementTests.SamplesDir(), program + ".lackey.gz");
        using var dir = new EcsMem.Tests.Traces.TempDir();
        var on = Run("run", "--cachegrind", "--trace", trace, "--decode-thread", "on", "--cachegrind-out-file", dir.File("on.out"));
        var off = Run("run", "--cachegrind", "--trace", trace, "--decode-thread", "off", "--cachegrind-out-file", dir.File("off.out"));
        Assert.That((on.Code, on.Err), Is.EqualTo((0, "")));
        Assert.That(on.Out, Is.EqualTo(off.Out));
        Assert.That(File.ReadAllBytes(dir.File("on.out")), Is.EqualTo(File.ReadAllBytes(dir.File("off.out"))));
        Assert.That(on.Out, Is.EqualTo(CachegrindAgreementTests.CachegrindSummary(
            Path.Combine(CachegrindAgreementTests.SamplesDir(), program + ".seed.cachegrind.txt"))));
    }

    /// <summary>A malformed line far into a gzip trace (after many blocks have been decoded ahead) is reported with
    /// the same single line, file and line number, with the decoder thread on and off.</summary>
    [Test]
    public void ErrorDeepInAGzipTraceIsTheSameLineWithTheDecodeThread()
    {
        using var dir = new EcsMem.Tests.Traces.TempDir();
        string path = dir.File("bad.lackey.gz");
        var sb = new StringBuilder("==7== Lackey\n");
        for (int i = 0; i < 100_000; i++)
            sb.Append(i % 3 == 0 ? " L " : "I  ").Append((0x400000 + i * 4).ToString("x8", System.Globalization.CultureInfo.InvariantCulture)).Append(",4\n");
        sb.Append(" S 00601000,8 oops\n");
        for (int i = 0; i < 20_000; i++)
            sb.Append("I  00400000,4\n");
        using (var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
            gz.Write(Encoding.ASCII.GetBytes(sb.ToString()));
        foreach (string mode in new[] { "on", "off" })
        {
            var (code, stdout, stderr) = Run("run", "--cachegrind", "--trace", path, "--decode-thread", mode);
            Assert.That(code, Is.EqualTo(2), mode);
            Assert.That(stdout, Is.Empty, mode);
            Assert.That(stderr, Is.EqualTo($"ecsmem: error: {path}:100002: malformed Lackey line: size is not a decimal number (got ' S 00601000,8 oops')" + Environment.NewLine), mode);
        }
    }
}
