using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

public class TraceFileTests
{
    [TestCase(Packing.Plain)]
    [TestCase(Packing.Gzip)]
    [TestCase(Packing.Zstd)]
    public void OpenDecompressesByContentNotByExtension(Packing packing)
    {
        using var dir = new TempDir();
        // The name says nothing about the compression: detection must come from the magic bytes.
        string path = TraceTestFiles.Write(dir.File("trace.txt"), "hello trace\n", packing);
        using var s = TraceFile.Open(path);
        using var r = new StreamReader(s);
        Assert.That(r.ReadToEnd(), Is.EqualTo("hello trace\n"));
    }

    [Test]
    public void DetectRecognisesTheMagicNumbers()
    {
        Assert.That(TraceFile.Detect([0x1F, 0x8B, 0x08, 0x00]), Is.EqualTo(TraceFile.Compression.Gzip));
        Assert.That(TraceFile.Detect([0x28, 0xB5, 0x2F, 0xFD]), Is.EqualTo(TraceFile.Compression.Zstd));
        Assert.That(TraceFile.Detect([0x28, 0xB5, 0x2F]), Is.EqualTo(TraceFile.Compression.None));
        Assert.That(TraceFile.Detect("0x40"u8), Is.EqualTo(TraceFile.Compression.None));
        Assert.That(TraceFile.Detect([]), Is.EqualTo(TraceFile.Compression.None));
    }

    [Test]
    public void EmptyFileOpensAsEmptyPlainStream()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("empty"), "");
        using var s = TraceFile.Open(path);
        Assert.That(s.ReadByte(), Is.EqualTo(-1));
    }

    [Test]
    public void MissingFileIsInputError()
    {
        using var dir = new TempDir();
        string path = dir.File("nope.trace");
        Assert.That(() => TraceFile.Open(path), Throws.TypeOf<InputException>()
            .With.Message.EqualTo($"{path}: trace file not found (got '{path}')"));
    }

    [Test]
    public void CorruptGzipIsInputErrorNamingTheFile()
    {
        using var dir = new TempDir();
        // A valid gzip header, then a deflate block header with BFINAL=1 and the reserved block type 11 (0x07).
        string path = TraceTestFiles.Write(dir.File("bad.gz"), [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03, 0x07, 0x00, 0x00, 0x00], Packing.Plain);
        Assert.That(() => TraceTestFiles.ReadFile("pinatrace", path), Throws.TypeOf<InputException>()
            .With.Message.StartsWith($"{path}:1: cannot read compressed data: "));
    }
}

public class CompressedDamageTests
{
    [TestCase(Packing.Gzip)]
    [TestCase(Packing.Zstd)]
    public void TruncatedCompressedBinaryTraceIsDetected(Packing packing)
    {
        using var dir = new TempDir();
        string plain = dir.File("t.bin");
        using (var w = new BinaryTraceWriter(plain))
        {
            var a = Enumerable.Range(0, 50_000).Select(i => new MemoryAccess((ulong)i * 977, 0, 8, AccessKind.Load)).ToArray();
            w.Write(a);
            w.Complete();
        }
        string packed = TraceTestFiles.Write(dir.File("t.packed"), File.ReadAllBytes(plain), packing);
        byte[] bytes = File.ReadAllBytes(packed);
        File.WriteAllBytes(packed, bytes[..(bytes.Length / 2)]);
        // Whatever the decompressor does with the cut, the header's record count exposes it.
        Assert.That(() => TraceTestFiles.ReadFile("binary", packed), Throws.TypeOf<EcsMem.Diagnostics.InputException>()
            .With.Message.StartsWith(packed + ":"));
    }
}
