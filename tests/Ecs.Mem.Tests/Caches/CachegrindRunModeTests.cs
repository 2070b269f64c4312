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
}
