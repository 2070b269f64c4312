using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

public class PinatraceTests
{
    [TestCase(Packing.Plain)]
    [TestCase(Packing.Gzip)]
    [TestCase(Packing.Zstd)]
    public void ReadsTheToolsOutput(Packing packing)
    {
        using var dir = new TempDir();
        // As pinatrace prints it: "%p: %c %p\n" per access, then "#eof".
        string path = TraceTestFiles.Write(dir.File("pinatrace.out"),
            "0x7f3a1c2d4e50: W 0x7ffd5a3c1e48\n" +
            "0x7f3a1c2d4e58: R 0x7f3a1c4f5000\n" +
            "0x401234: R 0x601040\n" +
            "#eof\n", packing);
        Assert.That(TraceTestFiles.ReadFile("pinatrace", path), Is.EqualTo(new[]
        {
            new MemoryAccess(0x7ffd5a3c1e48, 0, 1, AccessKind.Store),
            new MemoryAccess(0x7f3a1c4f5000, 0, 1, AccessKind.Load),
            new MemoryAccess(0x601040, 0, 1, AccessKind.Load),
        }));
    }

    [Test]
    public void AcceptsSizeColumnNilCrlfCommentsAndBlankLines()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t"),
            "# a comment\r\n" +
            "\r\n" +
            "0x401234: R 0x10 8\r\n" +
            "(nil): W (nil)\t4\r\n" +
            "0X40AbCd:  R   0XFFFFFFFFFFFFFFFF   65535\r\n" +
            "#eof\r\n" +
            "\r\n");
        Assert.That(TraceTestFiles.ReadFile("pinatrace", path), Is.EqualTo(new[]
        {
            new MemoryAccess(0x10, 0, 8, AccessKind.Load),
            new MemoryAccess(0, 0, 4, AccessKind.Store),
            new MemoryAccess(ulong.MaxValue, 0, 65535, AccessKind.Load),
        }));
    }

    [Test]
    public void LastLineWithoutNewlineAndNoEofTrailer()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t"), "0x1: R 0x20\n0x2: W 0x30");
        Assert.That(TraceTestFiles.ReadFile("pinatrace", path), Is.EqualTo(new[]
        {
            new MemoryAccess(0x20, 0, 1, AccessKind.Load),
            new MemoryAccess(0x30, 0, 1, AccessKind.Store),
        }));
    }

    [Test]
    public void ManyLinesAcrossBufferBoundaries()
    {
        using var dir = new TempDir();
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < 50_000; i++)
            sb.Append($"0x{0x400000 + i:x}: {(i % 3 == 0 ? 'W' : 'R')} 0x{(ulong)i * 0x1000 + 0x7f00_0000_0000UL:x}\n");
        sb.Append("#eof\n");
        string path = TraceTestFiles.Write(dir.File("t"), sb.ToString(), Packing.Gzip);
        var got = TraceTestFiles.ReadFile("pinatrace", path);
        Assert.That(got, Has.Count.EqualTo(50_000));
        for (int i = 0; i < got.Count; i++)
        {
            var expected = new MemoryAccess((ulong)i * 0x1000 + 0x7f00_0000_0000UL, 0, 1, i % 3 == 0 ? AccessKind.Store : AccessKind.Load);
            if (got[i] != expected) Assert.Fail($"line {i + 1}: {got[i]} != {expected}");
        }
    }

    [TestCase("0x401234: R 0x7ffz\n", 1, "bad hex address (got '0x7ffz')")]
    [TestCase("0x1: R 0x10\n0x401234: X 0x10\n", 2, "unknown access kind (expected R or W) (got 'X')")]
    [TestCase("0x1: R 0x10\n0x401234: RW 0x10\n", 2, "unknown access kind (expected R or W) (got 'RW')")]
    [TestCase("# c\n\n0x401234: R\n", 3, "expected 'IP: R|W ADDRESS [SIZE]' (got '0x401234: R')")]
    [TestCase("0x1: R 0x10 8 extra\n", 1, "expected 'IP: R|W ADDRESS [SIZE]' (got '0x1: R 0x10 8 extra')")]
    [TestCase("401234 R 0x10\n", 1, "bad instruction address (expected hex such as 0x401234:) (got '401234')")]
    [TestCase("0xg: R 0x10\n", 1, "bad instruction address (expected hex such as 0x401234:) (got '0xg:')")]
    [TestCase("0x1: R 0x10 0\n", 1, "bad access size (expected decimal 1-65535) (got '0')")]
    [TestCase("0x1: R 0x10 65536\n", 1, "bad access size (expected decimal 1-65535) (got '65536')")]
    [TestCase("0x1: W 0x12345678123456789\n", 1, "bad hex address (got '0x12345678123456789')")]
    [TestCase("0x1: R 0x10\n#eof\n0x2: R 0x20\n", 3, "data after the #eof trailer (got '0x2: R 0x20')")]
    public void MalformedLinesNameFileLineAndText(string text, int line, string message)
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("bad.pin"), text);
        Assert.That(() => TraceTestFiles.ReadFile("pinatrace", path), Throws.TypeOf<InputException>()
            .With.Message.EqualTo($"{path}:{line}: {message}"));
    }

    [Test]
    public void OverlongLineIsAnError()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t"), "0x1: R 0x10\n" + new string('7', 70_000) + "\n");
        Assert.That(() => TraceTestFiles.ReadFile("pinatrace", path), Throws.TypeOf<InputException>()
            .With.Message.StartsWith($"{path}:2: line longer than 65536 bytes (got '777"));
    }
}
