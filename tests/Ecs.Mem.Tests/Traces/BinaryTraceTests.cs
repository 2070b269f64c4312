using System.Buffers.Binary;
using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

public class BinaryTraceTests
{
    /// <summary>Builds a header by hand from the documented layout (not through BinaryTraceFormat).</summary>
    internal static byte[] Header(ushort version = 1, ushort flags = 0, uint recordSize = 16, ulong count = 0, ulong reserved = 0)
    {
        var h = new byte[32];
        "ECSMTRC\0"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(8), version);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(10), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), recordSize);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(16), count);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(24), reserved);
        return h;
    }

    /// <summary>A version-1 record laid out by hand from BinaryTraceFormat's table (shared with the version-2 tests).</summary>
    internal static byte[] Record(uint process, byte kind, ushort size, ulong address, byte reserved = 0)
    {
        var r = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(r, process);
        r[4] = kind;
        r[5] = reserved;
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(6), size);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(8), address);
        return r;
    }

    internal static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static readonly MemoryAccess[] Sample =
    [
        new(0x401ab70, 0, 3, AccessKind.Instr),
        new(0x1fff000648, 1, 8, AccessKind.Load),
        new(0xffff_ffff_ffff_fff0, 7, 16, AccessKind.Store),
        new(0, 65535, 65535, AccessKind.Modify),
    ];

    [Test]
    public void WriterProducesTheDocumentedBytes()
    {
        using var dir = new TempDir();
        string path = dir.File("t.bin");
        using (var w = new BinaryTraceWriter(path))
        {
            w.Write(Sample);
            w.Complete();
        }
        byte[] expected = Concat(Header(count: 4),
            Record(0, 0, 3, 0x401ab70), Record(1, 1, 8, 0x1fff000648),
            Record(7, 2, 16, 0xffff_ffff_ffff_fff0), Record(65535, 3, 65535, 0));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "t.bin" }));
    }

    [TestCase(Packing.Plain)]
    [TestCase(Packing.Gzip)]
    [TestCase(Packing.Zstd)]
    public void ReaderDecodesHandBuiltFile(Packing packing)
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t"), Concat(Header(count: 4),
            Record(0, 0, 3, 0x401ab70), Record(1, 1, 8, 0x1fff000648),
            Record(7, 2, 16, 0xffff_ffff_ffff_fff0), Record(65535, 3, 65535, 0)), packing);
        Assert.That(TraceTestFiles.ReadFile("binary", path), Is.EqualTo(Sample));
    }

    [Test]
    public void UnknownCountStreamsToTheEnd()
    {
        using var dir = new TempDir();
        // Sizes 1..9: a record of size 0 is an error (issue 14).
        var records = Enumerable.Range(0, 100_000).Select(i => Record((uint)(i % 3), (byte)(i % 4), (ushort)(1 + i % 9), (ulong)i * 64)).ToArray();
        string path = TraceTestFiles.Write(dir.File("t"), Concat([Header(count: 0), .. records]), Packing.Zstd);
        var got = TraceTestFiles.ReadFile("binary", path);
        Assert.That(got, Has.Count.EqualTo(100_000));
        Assert.That(got[99_999], Is.EqualTo(new MemoryAccess(99_999UL * 64, 99_999 % 3, 1 + 99_999 % 9, (AccessKind)(99_999 % 4))));
    }

    [Test]
    public void LargeRoundTripAcrossBlockBoundaries()
    {
        using var dir = new TempDir();
        string path = dir.File("big.bin");
        // 200,000 records = 3.2 MB: several 1 MiB reader blocks and 16K-record writer blocks.
        var all = Enumerable.Range(0, 200_000).Select(i => new MemoryAccess((ulong)i * 4096 + 5, i % 5, (ushort)(1 + i % 64), (AccessKind)(i % 4))).ToArray();
        using (var w = new BinaryTraceWriter(path))
        {
            for (int i = 0; i < all.Length; i += 3333)
                w.Write(all.AsSpan(i, Math.Min(3333, all.Length - i)));
            w.Complete();
        }
        using var r = TraceFormats.OpenReader("binary", path);
        Assert.That(TraceTestFiles.ReadAll(r, 4096), Is.EqualTo(all));
        Assert.That(((BinaryTraceReader)r).DeclaredCount, Is.EqualTo(200_000UL));
    }

    private static void AssertError(byte[] content, string expectedAfterPath)
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("bad.bin"), content, Packing.Plain);
        Assert.That(() => TraceTestFiles.ReadFile("binary", path), Throws.TypeOf<InputException>()
            .With.Message.EqualTo(path + expectedAfterPath));
    }

    [Test]
    public void BadMagic() =>
        AssertError(Concat("NOTATRACE-------"u8.ToArray(), new byte[16]), ": not an EcsMem binary trace (bad magic number) (got 'NOTATRAC')");

    [Test]
    public void ShortFileIsBadMagic() =>
        AssertError("ECS"u8.ToArray(), ": not an EcsMem binary trace (bad magic number) (got 'ECS')");

    [Test]
    public void TruncatedHeader() =>
        AssertError(Header()[..20], ": binary trace header truncated (needs 32 bytes) (got '20 bytes')");

    [Test]
    public void WrongVersion() =>
        AssertError(Header(version: 3), ": unsupported binary trace version (this reader knows versions 1 and 2) (got '3')");

    [Test]
    public void UnknownFlags() =>
        AssertError(Header(flags: 0x0100), ": unknown binary trace header flags (got '0x0100')");

    [Test]
    public void WrongRecordSize() =>
        AssertError(Header(recordSize: 24), ": binary trace record size must be 16 (got '24')");

    [Test]
    public void NonZeroHeaderReserved() =>
        AssertError(Header(reserved: 1), ": binary trace header reserved bytes must be 0 (got '0100000000000000')");

    [Test]
    public void UnknownKindNamesTheRecord() =>
        // Record 2: process 1 (01000000), kind 7, reserved 0, size 8 (0800), address 0x1000 (0010000000000000).
        AssertError(Concat(Header(), Record(1, 1, 8, 0x40), Record(1, 7, 8, 0x1000)),
            ":2: unknown access kind 7 (expected 0-3) (got '01000000070008000010000000000000')");

    [Test]
    public void NonZeroReservedByteNamesTheRecord() =>
        AssertError(Concat(Header(), Record(2, 2, 4, 0x10, reserved: 9)),
            ":1: reserved byte must be 0 (is 9) (got '02000000020904001000000000000000')");

    [Test]
    public void ProcessIdAboveIntMaxIsRejected() =>
        // Process 0x80000000 = 2147483648 does not fit MemoryAccess.Process (int).
        AssertError(Concat(Header(), Record(0x80000000, 1, 8, 0x10)),
            ":1: process id 2147483648 is larger than 2147483647 (got '00000080010008001000000000000000')");

    [Test]
    public void TruncatedFinalRecordNamesTheRecord() =>
        AssertError(Concat(Header(), Record(0, 1, 8, 0x40), Record(0, 1, 8, 0x80), [1, 2, 3, 4, 5]),
            ":3: truncated record: 5 of 16 bytes (got '0102030405')");

    [Test]
    public void TrailingGarbageAfterDeclaredCount() =>
        AssertError(Concat(Header(count: 1), Record(0, 1, 8, 0x40), "junk"u8.ToArray()),
            ":2: trailing data after the 1 records the header declares (got '6A756E6B')");

    [Test]
    public void FileShorterThanDeclaredCount() =>
        AssertError(Concat(Header(count: 3), Record(0, 1, 8, 0x40), Record(0, 1, 8, 0x80)),
            ":3: trace ends early: the header declares 3 records (got '2')");

    [Test]
    public void ErrorComesAfterTheGoodRecordsOfEarlierBatches()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t"), Concat(Header(), Record(0, 1, 8, 0x40), Record(0, 9, 8, 0x80)), Packing.Plain);
        using var r = TraceFormats.OpenReader("binary", path);
        var one = new MemoryAccess[1];
        Assert.That(r.Read(one), Is.EqualTo(1));
        Assert.That(one[0], Is.EqualTo(new MemoryAccess(0x40, 0, 8, AccessKind.Load)));
        Assert.That(() => r.Read(one), Throws.TypeOf<InputException>().With.Property("Line").EqualTo(2L));
    }

    [Test]
    public void WriterDisposedWithoutCompleteLeavesNothing()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("keep.bin"), "old content");
        using (var w = new BinaryTraceWriter(dir.File("keep.bin")))
            w.Write(Sample);
        using (var w = new BinaryTraceWriter(dir.File("new.bin")))
            w.Write(Sample);
        Assert.That(dir.Names(), Is.EqualTo(new[] { "keep.bin" }));
        Assert.That(File.ReadAllText(dir.File("keep.bin")), Is.EqualTo("old content"));
    }
}
