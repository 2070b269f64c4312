using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

/// <summary>
/// Version 2 of the binary format (24-byte records with a thread id), the thread id of <see cref="MemoryAccess"/>,
/// version-1 files read as before, and <see cref="ThreadFilterReader"/>. Files are built by hand from the layout
/// documented in docs/traces.md, not through BinaryTraceFormat.
/// </summary>
public class BinaryTraceV2Tests
{
    private static byte[] Header(ushort version, uint recordSize, ulong count = 0)
    {
        var h = new byte[32];
        "ECSMTRC\0"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(8), version);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), recordSize);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(16), count);
        return h;
    }

    internal static byte[] RecordV2(uint process, uint thread, byte kind, ushort size, ulong address, byte reserved9 = 0, uint reserved12 = 0)
    {
        var r = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(r, process);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(4), thread);
        r[8] = kind;
        r[9] = reserved9;
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(10), size);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(12), reserved12);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(16), address);
        return r;
    }

    private static byte[] RecordV1(uint process, byte kind, ushort size, ulong address) => BinaryTraceTests.Record(process, kind, size, address);

    private static byte[] Concat(params byte[][] parts) => BinaryTraceTests.Concat(parts);

    private static readonly MemoryAccess[] Threaded =
    [
        new(0x401ab70, 0, 3, AccessKind.Instr),
        new(0x1fff000648, 1, 8, AccessKind.Load, 1),
        new(0xffff_ffff_ffff_fff0, 7, 16, AccessKind.Store, 255),
        new(0, int.MaxValue, 65535, AccessKind.Modify, 42),
    ];

    private static byte[] ThreadedFile() => Concat(Header(2, 24, count: 4),
        RecordV2(0, 0, 0, 3, 0x401ab70), RecordV2(1, 1, 1, 8, 0x1fff000648),
        RecordV2(7, 255, 2, 16, 0xffff_ffff_ffff_fff0), RecordV2(0x7fff_ffff, 42, 3, 65535, 0));

    [Test]
    public void MemoryAccessStaysSixteenBytes()
    {
        Assert.That(Unsafe.SizeOf<MemoryAccess>(), Is.EqualTo(16));
        Assert.That(new MemoryAccess(1, 2, 3, AccessKind.Load).Thread, Is.EqualTo(0));
        Assert.That(MemoryAccess.MaxThread, Is.EqualTo(255));
    }

    [Test]
    public void WriterProducesTheDocumentedVersion2Bytes()
    {
        using var dir = new TempDir();
        string path = dir.File("t.bin");
        using (var w = new BinaryTraceWriter(path, version: 2))
        {
            Assert.That(w.Version, Is.EqualTo(2));
            w.Write(Threaded);
            w.Complete();
        }
        byte[] bytes = File.ReadAllBytes(path);
        Assert.That(bytes, Is.EqualTo(ThreadedFile()));
        // 32 + 4 × 24 = 128 bytes. Header bytes 8..15: version 2 (02 00), flags 0, record size 24 (18 00 00 00).
        Assert.That(bytes, Has.Length.EqualTo(128));
        Assert.That(Convert.ToHexString(bytes, 8, 8), Is.EqualTo("0200000018000000"));
        // Record 2: process 1, thread 1, kind 1, reserved, size 8, reserved u32, address 0x1fff000648.
        Assert.That(Convert.ToHexString(bytes, 32 + 24, 24), Is.EqualTo("01000000" + "01000000" + "01" + "00" + "0800" + "00000000" + "480600FF1F000000"));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "t.bin" }));
    }

    [TestCase(Packing.Plain)]
    [TestCase(Packing.Gzip)]
    [TestCase(Packing.Zstd)]
    public void ReaderDecodesHandBuiltVersion2File(Packing packing)
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t"), ThreadedFile(), packing);
        Assert.That(TraceTestFiles.ReadFile("binary", path), Is.EqualTo(Threaded));
        Assert.That(TraceFormats.Detect(path), Is.EqualTo("binary"));
        using var r = (BinaryTraceReader)TraceFormats.OpenReader("binary", path);
        Assert.That((r.Version, r.DeclaredCount), Is.EqualTo(((ushort)2, 4UL)));
    }

    [Test]
    public void Version2RoundTripAcrossBlockBoundaries()
    {
        using var dir = new TempDir();
        string path = dir.File("big.bin");
        // 200,000 × 24 bytes = 4.8 MB; 1 MiB is not a whole number of 24-byte records, so records straddle reader blocks.
        var all = Enumerable.Range(0, 200_000)
            .Select(i => new MemoryAccess((ulong)i * 4096 + 5, i % 5, (ushort)(1 + i % 64), (AccessKind)(i % 4), (byte)(i % 256))).ToArray();
        using (var w = new BinaryTraceWriter(path, 2))
        {
            for (int i = 0; i < all.Length; i += 3333)
                w.Write(all.AsSpan(i, Math.Min(3333, all.Length - i)));
            w.Complete();
        }
        Assert.That(new FileInfo(path).Length, Is.EqualTo(32 + 200_000L * 24));
        using var r = TraceFormats.OpenReader("binary", path);
        Assert.That(TraceTestFiles.ReadAll(r, 4096), Is.EqualTo(all));
    }

    [Test]
    public void Version1FileWrittenByHandStillReadsWithThreadZero()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("old.bin"), Concat(Header(1, 16, count: 3),
            RecordV1(3, 1, 8, 0x1000), RecordV1(4, 2, 4, 0x2004), RecordV1(3, 0, 2, 0x400000)), Packing.Plain);
        using var r = (BinaryTraceReader)TraceFormats.OpenReader("binary", path);
        Assert.That(r.Version, Is.EqualTo(1));
        Assert.That(TraceTestFiles.ReadAll(r), Is.EqualTo(new[]
        {
            new MemoryAccess(0x1000, 3, 8, AccessKind.Load, 0),
            new MemoryAccess(0x2004, 4, 4, AccessKind.Store, 0),
            new MemoryAccess(0x400000, 3, 2, AccessKind.Instr, 0),
        }));
    }

    [Test]
    public void Version1StaysTheDefaultAndRefusesThreadIds()
    {
        using var dir = new TempDir();
        // Without a thread id the default writer still writes version 1, byte for byte: 32 + 16 bytes.
        using (var w = new BinaryTraceWriter(dir.File("v1.bin")))
        {
            Assert.That(w.Version, Is.EqualTo(1));
            w.Write([new MemoryAccess(0x1000, 3, 8, AccessKind.Load)]);
            w.Complete();
        }
        Assert.That(File.ReadAllBytes(dir.File("v1.bin")), Is.EqualTo(Concat(Header(1, 16, count: 1), RecordV1(3, 1, 8, 0x1000))));

        // The third access overall (second of the second batch) has thread 3: an error naming the output and record 3,
        // and no file.
        string path = dir.File("t.bin");
        var e = Assert.Throws<InputException>(() =>
        {
            using var w = new BinaryTraceWriter(path);
            w.Write([new MemoryAccess(0x10, 0, 1, AccessKind.Load)]);
            w.Write([new MemoryAccess(0x20, 0, 1, AccessKind.Load), new MemoryAccess(0x30, 0, 1, AccessKind.Load, 3)]);
            w.Complete();
        });
        Assert.That(e!.Message, Is.EqualTo(path + ":3: a version-1 binary trace has no thread ids; this access's thread id needs version 2 (got '3')"));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "v1.bin" }));
        Assert.That(() => new BinaryTraceWriter(dir.File("v3.bin"), 3), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(dir.Names(), Is.EqualTo(new[] { "v1.bin" }));
    }

    private static void AssertError(byte[] content, string expectedAfterPath)
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("bad.bin"), content, Packing.Plain);
        Assert.That(() => TraceTestFiles.ReadFile("binary", path), Throws.TypeOf<InputException>()
            .With.Message.EqualTo(path + expectedAfterPath));
    }

    [Test]
    public void Version2WithVersion1RecordSize() =>
        AssertError(Header(2, 16), ": binary trace record size must be 24 in version 2 (got '16')");

    [Test]
    public void UnknownVersion() =>
        AssertError(Header(3, 24), ": unsupported binary trace version (this reader knows versions 1 and 2) (got '3')");

    [Test]
    public void NonZeroReservedByteNamesTheRecord() =>
        // Record 2: process 2 (02000000), thread 1 (01000000), kind 2, reserved 9, size 4 (0400), reserved 0, address 0x10.
        AssertError(Concat(Header(2, 24), RecordV2(2, 1, 2, 4, 0x40), RecordV2(2, 1, 2, 4, 0x10, reserved9: 9)),
            ":2: reserved byte 9 must be 0 (is 9) (got '020000000100000002090400000000001000000000000000')");

    [Test]
    public void NonZeroReservedWordNamesTheRecord() =>
        // Reserved u32 = 0x100: bytes 12..15 are 00 01 00 00.
        AssertError(Concat(Header(2, 24), RecordV2(5, 0, 1, 8, 0x20, reserved12: 0x100)),
            ":1: reserved bytes 12-15 must be 0 (are 0x00000100) (got '050000000000000001000800000100002000000000000000')");

    [Test]
    public void ThreadIdAbove255IsRejected() =>
        // Thread 256 = 00 01 00 00 does not fit MemoryAccess.Thread (a byte).
        AssertError(Concat(Header(2, 24), RecordV2(1, 255, 1, 8, 0x40), RecordV2(1, 1, 1, 8, 0x40), RecordV2(1, 256, 1, 8, 0x80)),
            ":3: thread id 256 is larger than 255 (the most a simulated access carries) (got '010000000001000001000800000000008000000000000000')");

    [Test]
    public void HugeThreadIdIsRejected() =>
        AssertError(Concat(Header(2, 24), RecordV2(1, uint.MaxValue, 1, 8, 0x40)),
            ":1: thread id 4294967295 is larger than 255 (the most a simulated access carries) (got '01000000FFFFFFFF01000800000000004000000000000000')");

    [Test]
    public void UnknownKindInVersion2() =>
        AssertError(Concat(Header(2, 24), RecordV2(1, 0, 4, 8, 0x40)),
            ":1: unknown access kind 4 (expected 0-3) (got '010000000000000004000800000000004000000000000000')");

    [Test]
    public void ProcessIdAboveIntMaxInVersion2() =>
        AssertError(Concat(Header(2, 24), RecordV2(0x8000_0000, 0, 1, 8, 0x40)),
            ":1: process id 2147483648 is larger than 2147483647 (got '000000800000000001000800000000004000000000000000')");

    [Test]
    public void TruncatedVersion2Record() =>
        // Two whole records, then 20 of the third's 24 bytes.
        AssertError(Concat(Header(2, 24), RecordV2(0, 0, 1, 8, 0x40), RecordV2(0, 1, 1, 8, 0x80), RecordV2(0, 2, 1, 8, 0xc0)[..20]),
            ":3: truncated record: 20 of 24 bytes (got '00000000020000000100080000000000C0000000')");

    [Test]
    public void Version2CountIsChecked() =>
        AssertError(Concat(Header(2, 24, count: 1), RecordV2(0, 0, 1, 8, 0x40), RecordV2(0, 0, 1, 8, 0x40)),
            ":2: trailing data after the 1 records the header declares (got '000000000000000001000800000000004000000000000000')");

    [Test]
    public void ThreadFilterKeepsOneThreadOfOneProcess()
    {
        using var dir = new TempDir();
        string path = dir.File("t.bin");
        // Access i: process i % 3, thread i % 4, address i × 64. Process 2, thread 3 means i ≡ 2 (mod 3) and
        // i ≡ 3 (mod 4), i.e. i ≡ 11 (mod 12): i = 11, 23, …, 9995, which is 833 accesses below 10000.
        using (var w = new BinaryTraceWriter(path, 2))
        {
            w.Write(Enumerable.Range(0, 10_000).Select(i => new MemoryAccess((ulong)i * 64, i % 3, 8, AccessKind.Load, (byte)(i % 4))).ToArray());
            w.Complete();
        }
        using var r = new ThreadFilterReader(TraceFormats.OpenReader("binary", path), 2, 3);
        var got = TraceTestFiles.ReadAll(r);
        Assert.That(got, Has.Count.EqualTo(833));
        Assert.That(got, Is.EqualTo(Enumerable.Range(0, 833).Select(k => new MemoryAccess((ulong)(11 + 12 * k) * 64, 2, 8, AccessKind.Load, 3))));

        // The process filter keeps every thread of process 2: i ≡ 2 (mod 3), 3333 accesses (2, 5, …, 9998).
        using var p = new ProcessFilterReader(TraceFormats.OpenReader("binary", path), 2);
        var all = TraceTestFiles.ReadAll(p);
        Assert.That(all, Has.Count.EqualTo(3333));
        Assert.That(all.Select(a => a.Thread).Distinct().Order(), Is.EqualTo(new byte[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void ThreadFilterOnAVersion1TraceKeepsTheMainThread()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("old.bin"), Concat(Header(1, 16),
            RecordV1(3, 1, 8, 0x1000), RecordV1(4, 2, 4, 0x2004), RecordV1(3, 0, 2, 0x400000)), Packing.Plain);
        using (var main = new ThreadFilterReader(TraceFormats.OpenReader("binary", path), 3, 0))
            Assert.That(TraceTestFiles.ReadAll(main), Is.EqualTo(new[]
            {
                new MemoryAccess(0x1000, 3, 8, AccessKind.Load),
                new MemoryAccess(0x400000, 3, 2, AccessKind.Instr),
            }));
        using var other = new ThreadFilterReader(TraceFormats.OpenReader("binary", path), 3, 1);
        Assert.That(TraceTestFiles.ReadAll(other), Is.Empty);
    }
}
