using EcsMem.Cli;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

public class TraceCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void GenWritesABinaryTraceByDefault()
    {
        using var dir = new TempDir();
        string path = dir.File("z.bin");
        var (code, stdout, stderr) = Run("gen", "zipf:count=5000,pages=100,alpha=1.2,seed=3", "--out", path);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout.Trim(), Is.EqualTo($"wrote 5000 accesses (zipf) to {path} as binary"));
        Assert.That(new FileInfo(path).Length, Is.EqualTo(32 + 5000 * 16));
        // The file holds exactly what the generator produces.
        using var g = EcsMem.Traces.Synthetic.WorkloadSpec.Parse("zipf:count=5000,pages=100,alpha=1.2,seed=3").Create();
        Assert.That(TraceTestFiles.ReadFile("binary", path), Is.EqualTo(TraceTestFiles.ReadAll(g, 5000)));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "z.bin" }));
    }

    [Test]
    public void GenIsByteIdenticalForTheSameSeed()
    {
        using var dir = new TempDir();
        Assert.That(Run("gen", "phase:count=3000,pages=500,ws=40,phaselen=300,seed=9", "--out", dir.File("a"), "--format", "pages").Code, Is.EqualTo(0));
        Assert.That(Run("gen", "phase:count=3000,pages=500,ws=40,phaselen=300,seed=9", "--out", dir.File("b"), "--format", "pages").Code, Is.EqualTo(0));
        Assert.That(File.ReadAllBytes(dir.File("a")), Is.EqualTo(File.ReadAllBytes(dir.File("b"))));
        Assert.That(File.ReadAllLines(dir.File("a")), Has.Length.EqualTo(3000));
    }

    [Test]
    public void GenLackeyMatMul()
    {
        using var dir = new TempDir();
        Assert.That(Run("gen", "matmul:n=1,base=0x1000", "--out", dir.File("m"), "--format", "lackey").Code, Is.EqualTo(0));
        // N = 1: A[0][0] at 0x1000, B at 0x1008, C at 0x1010; load A, load B, load C, store C.
        Assert.That(File.ReadAllText(dir.File("m")), Is.EqualTo(" L 00001000,8\n L 00001008,8\n L 00001010,8\n S 00001010,8\n"));
    }

    [Test]
    public void BinaryToPinatraceToBinaryIsIdentical()
    {
        using var dir = new TempDir();
        string bin = dir.File("a.bin"), pin = dir.File("a.pin"), back = dir.File("b.bin");
        // Loads and stores only, process 0: everything pinatrace (with its size column) can carry.
        Assert.That(Run("gen", "uniform:count=20000,region=1M,elem=4,size=4,writes=0.4,seed=12", "--out", bin).Code, Is.EqualTo(0));
        var (c1, o1, e1) = Run("convert", bin, "--to", "pinatrace", "--out", pin);
        Assert.That(c1, Is.EqualTo(0), e1);
        Assert.That(o1.Trim(), Is.EqualTo($"converted 20000 accesses from binary to pinatrace: {pin}"));
        var (c2, _, e2) = Run("convert", pin, "--from", "pinatrace", "--to", "binary", "--out", back);
        Assert.That(c2, Is.EqualTo(0), e2);
        Assert.That(File.ReadAllBytes(back), Is.EqualTo(File.ReadAllBytes(bin)));
    }

    [TestCase(Packing.Gzip)]
    [TestCase(Packing.Zstd)]
    public void ConvertReadsCompressedInputAndDetectsBinary(Packing packing)
    {
        using var dir = new TempDir();
        Assert.That(Run("gen", "seq:count=3,base=0x1000,elem=0x10,size=2", "--out", dir.File("plain.bin")).Code, Is.Not.EqualTo(0),
            "elem takes sizes, not hex");
        Assert.That(Run("gen", "seq:count=3,base=0x1000,elem=16,size=2", "--out", dir.File("plain.bin")).Code, Is.EqualTo(0));
        string packed = TraceTestFiles.Write(dir.File("packed.trace"), File.ReadAllBytes(dir.File("plain.bin")), packing);
        var (code, _, err) = Run("convert", packed, "--to", "lackey", "--out", dir.File("out.lackey"));
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(File.ReadAllText(dir.File("out.lackey")), Is.EqualTo(" L 00001000,2\n L 00001010,2\n L 00001020,2\n"));
    }

    [Test]
    public void ConvertPinatraceToPages()
    {
        using var dir = new TempDir();
        string pin = TraceTestFiles.Write(dir.File("t.pin"), "0x1: R 0x7ffd1234\n0x2: W 0x1000\n#eof\n");
        Assert.That(Run("convert", pin, "--from", "pinatrace", "--to", "pages", "--out", dir.File("p")).Code, Is.EqualTo(0));
        // 0x7ffd1234 >> 12 = 0x7ffd1 = 524241; 0x1000 >> 12 = 1.
        Assert.That(File.ReadAllText(dir.File("p")), Is.EqualTo("524241\n1\n"));
    }

    [Test]
    public void MalformedInputFailsWithExitTwoAndLeavesNoOutput()
    {
        using var dir = new TempDir();
        string pin = TraceTestFiles.Write(dir.File("bad.pin"), "0x1: R 0x10\n0x2: R 0x20\n0x3: Q 0x30\n");
        File.WriteAllText(dir.File("out.bin"), "old");
        var (code, stdout, stderr) = Run("convert", pin, "--from", "pinatrace", "--to", "binary", "--out", dir.File("out.bin"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Is.EqualTo($"ecsmem: error: {pin}:3: unknown access kind (expected R or W) (got 'Q'){Environment.NewLine}"));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "bad.pin", "out.bin" }));
        Assert.That(File.ReadAllText(dir.File("out.bin")), Is.EqualTo("old"));
    }

    [Test]
    public void TruncatedBinaryFailsAndLeavesNoOutput()
    {
        using var dir = new TempDir();
        Assert.That(Run("gen", "loop:count=10,pages=4", "--out", dir.File("t.bin")).Code, Is.EqualTo(0));
        byte[] bytes = File.ReadAllBytes(dir.File("t.bin"));
        File.WriteAllBytes(dir.File("cut.bin"), bytes[..^3]);
        var (code, _, stderr) = Run("convert", dir.File("cut.bin"), "--to", "pages", "--out", dir.File("out"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.StartWith($"ecsmem: error: {dir.File("cut.bin")}:10: truncated record: 13 of 16 bytes"));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "cut.bin", "t.bin" }));
    }

    [Test]
    public void MissingInputIsExitTwo()
    {
        using var dir = new TempDir();
        string missing = dir.File("missing.bin");
        var (code, _, stderr) = Run("convert", missing, "--to", "pages", "--out", dir.File("o"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.Trim(), Is.EqualTo($"ecsmem: error: {missing}: trace file not found (got '{missing}')"));
        Assert.That(dir.Names(), Is.Empty);
    }

    [Test]
    public void TextInputWithoutFromIsDetectedOrExitTwo()
    {
        using var dir = new TempDir();
        string pin = TraceTestFiles.Write(dir.File("t.pin"), "0x1: R 0x10\n");
        var (code, stdout, stderr) = Run("convert", pin, "--to", "binary", "--out", dir.File("o"));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout.Trim(), Is.EqualTo($"converted 1 accesses from auto to binary: {dir.File("o")}"));
        string prose = TraceTestFiles.Write(dir.File("t.txt"), "hello world\n");
        (code, _, stderr) = Run("convert", prose, "--to", "binary", "--out", dir.File("p"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.Trim(), Is.EqualTo($"ecsmem: error: {prose}: cannot tell the trace format from its content; give it with --trace-format (or --from) (got '68656C6C6F20776F726C640A')"));
        Assert.That(File.Exists(dir.File("p")), Is.False);
    }

    [TestCase(new[] { "gen", "zipf:count=10", "--out", "OUT", "--format", "xml" }, "ecsmem: error: command line: unknown trace format (known: ")]
    [TestCase(new[] { "gen", "zipf:alpha=x", "--out", "OUT" }, "ecsmem: error: command line: workload 'zipf': alpha must be a number from 0 to 100 (got 'alpha=x')")]
    [TestCase(new[] { "gen", "zipf:count=10" }, "ecsmem: error: command line: 'gen' needs option --out here (got '--out')")]
    [TestCase(new[] { "gen", "--out", "OUT" }, "ecsmem: error: command line: 'gen' needs a WORKLOAD (see 'ecsmem gen --help') (got 'gen')")]
    [TestCase(new[] { "convert", "IN", "--out", "OUT" }, "ecsmem: error: command line: 'convert' needs option --to here (got '--to')")]
    [TestCase(new[] { "convert", "IN", "--to", "xml", "--out", "OUT" }, "ecsmem: error: command line: unknown trace format (known: ")]
    [TestCase(new[] { "convert", "IN", "--to", "binary", "--out", "OUT", "--bogus" }, "ecsmem: error: command line: unknown option for 'convert' (see 'ecsmem convert --help') (got '--bogus')")]
    public void BadCommandLinesAreExitTwoAndWriteNothing(string[] template, string expectedStart)
    {
        using var dir = new TempDir();
        string input = TraceTestFiles.Write(dir.File("in"), "0x1: R 0x10\n");
        var args = template.Select(a => a == "OUT" ? dir.File("out") : a == "IN" ? input : a).ToArray();
        var (code, stdout, stderr) = Run(args);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.StartWith(expectedStart));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "in" }));
    }

    [TestCase("gen", "Usage: ecsmem gen WORKLOAD --out FILE [--format FORMAT]")]
    [TestCase("convert", "Usage: ecsmem convert IN [--from FORMAT] --to FORMAT --out FILE")]
    public void HelpShowsUsage(string command, string firstLine)
    {
        var (code, stdout, _) = Run(command, "--help");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.StartWith(firstLine));
        Assert.That(Run("--help").Out, Does.Contain($"  {command,-10} "));
    }
}
