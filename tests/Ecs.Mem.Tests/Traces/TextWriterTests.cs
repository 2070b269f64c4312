using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

public class TextWriterTests
{
    private static readonly MemoryAccess[] Mixed =
    [
        new(0x401ab70, 0, 3, AccessKind.Instr),
        new(0x1fff000648, 1, 8, AccessKind.Load),
        new(0x10, 2, 4, AccessKind.Store),
        new(0xdeadbeef, 0, 2, AccessKind.Modify),
    ];

    private static string WriteWith(string format, MemoryAccess[] accesses)
    {
        using var dir = new TempDir();
        string path = dir.File("out");
        using (var w = TraceFormats.CreateWriter(format, path))
        {
            w.Write(accesses);
            w.Complete();
        }
        Assert.That(dir.Names(), Is.EqualTo(new[] { "out" }), "only the output remains");
        return File.ReadAllText(path);
    }

    [Test]
    public void LackeyMatchesValgrindSpacing()
    {
        // From a real 'valgrind --tool=lackey --trace-mem=yes ls': "I  0401ab70,3" and " S 1fff000648,8":
        // instruction lines start "I  ", data lines " L ", " S ", " M "; hex padded to 8 digits.
        Assert.That(WriteWith("lackey", Mixed), Is.EqualTo(
            "I  0401ab70,3\n" +
            " L 1fff000648,8\n" +
            " S 00000010,4\n" +
            " M deadbeef,2\n"));
    }

    [Test]
    public void PagesAreAddressDividedBy4096()
    {
        MemoryAccess[] a =
        [
            new(0, 0, 8, AccessKind.Load),
            new(4095, 0, 8, AccessKind.Store),
            new(4096, 0, 8, AccessKind.Instr),
            new(0x12345678, 0, 8, AccessKind.Modify), // 0x12345678 >> 12 = 0x12345 = 74565
            new(ulong.MaxValue, 0, 8, AccessKind.Load), // (2^64 - 1) >> 12 = 2^52 - 1 = 4503599627370495
        ];
        Assert.That(WriteWith("pages", a), Is.EqualTo("0\n0\n1\n74565\n4503599627370495\n"));
    }

    [Test]
    public void PinatraceDropsFetchesAndSplitsModify()
    {
        Assert.That(WriteWith("pinatrace", Mixed), Is.EqualTo(
            "0x0: R 0x1fff000648 8\n" +
            "0x0: W 0x10 4\n" +
            "0x0: R 0xdeadbeef 2\n" +
            "0x0: W 0xdeadbeef 2\n" +
            "#eof\n"));
    }

    [Test]
    public void ManyLinesFlushAcrossBuffers()
    {
        var a = Enumerable.Range(0, 20_000).Select(i => new MemoryAccess((ulong)i, 0, 1, AccessKind.Load)).ToArray();
        string text = WriteWith("lackey", a);
        var lines = text.Split('\n');
        Assert.That(lines, Has.Length.EqualTo(20_001));
        Assert.That(lines[19_999], Is.EqualTo(" L 00004e1f,1")); // 19999 = 0x4e1f
    }

    [TestCase("lackey")]
    [TestCase("pages")]
    [TestCase("pinatrace")]
    public void AbandonedWriterLeavesNoFileAndKeepsTheOldOne(string format)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("old"), "previous");
        using (var w = TraceFormats.CreateWriter(format, dir.File("old")))
            w.Write(Mixed);
        using (var w = TraceFormats.CreateWriter(format, dir.File("fresh")))
            w.Write(Mixed);
        Assert.That(dir.Names(), Is.EqualTo(new[] { "old" }));
        Assert.That(File.ReadAllText(dir.File("old")), Is.EqualTo("previous"));
    }

    [Test]
    public void WriterIntoMissingDirectoryIsInputError()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "no", "such", "out.txt");
        Assert.That(() => TraceFormats.CreateWriter("lackey", path), Throws.TypeOf<EcsMem.Diagnostics.InputException>()
            .With.Message.EqualTo($"{path}: output directory does not exist (got '{path}')"));
    }

    [Test]
    public void RegistryKnowsTheFormatsAndRejectsOthers()
    {
        foreach (string name in new[] { "binary", "pinatrace", "lackey", "pages", "champsim", "oracleGeneral", "csv" })
            Assert.That(TraceFormats.Get(name).Writer, Is.Not.Null, name);
        foreach (string name in new[] { "cloudsuite", "auto" })
        {
            Assert.That(TraceFormats.Get(name).Reader, Is.Not.Null, name);
            Assert.That(TraceFormats.Get(name).Writer, Is.Null, name); // read-only formats
        }
        Assert.That(() => TraceFormats.Get("xml"), Throws.TypeOf<EcsMem.Diagnostics.InputException>()
            .With.Message.StartsWith("command line: unknown trace format (known: ").And.Message.Contains("binary").And.Message.EndsWith("(got 'xml')"));
    }

    [Test]
    public void RegisterAddsAFormatUsableByName()
    {
        using var dir = new TempDir();
        TraceFormats.Register("test-upper-pinatrace", "pinatrace read with process 5", (s, n) => new PinatraceReader(s, n, process: 5), null);
        string path = TraceTestFiles.Write(dir.File("t"), "0x1: W 0x99\n");
        Assert.That(TraceTestFiles.ReadFile("test-upper-pinatrace", path), Is.EqualTo(new[] { new MemoryAccess(0x99, 5, 1, AccessKind.Store) }));
        Assert.That(() => TraceFormats.CreateWriter("test-upper-pinatrace", dir.File("x")), Throws.TypeOf<EcsMem.Diagnostics.InputException>()
            .With.Message.EqualTo("command line: trace format 'test-upper-pinatrace' can be read but not written (got 'test-upper-pinatrace')"));
    }
}
