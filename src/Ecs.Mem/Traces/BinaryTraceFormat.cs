using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EcsMem.Traces;

/// <summary>
/// The EcsMem binary trace format: a 32-byte header followed by fixed-width little-endian records, 16 bytes in
/// version 1 and 24 bytes in version 2 (which adds a thread id). Fixed width lets the reader reinterpret whole
/// blocks without parsing.
/// <code>
/// Header (32 bytes, both versions)
///   0  8  magic        "ECSMTRC" followed by 0x00 (45 43 53 4D 54 52 43 00)
///   8  2  version      u16 = 1 or 2
///  10  2  flags        u16, must be 0
///  12  4  record size  u32 = 16 (version 1) or 24 (version 2)
///  16  8  count        u64 number of records, or 0 when unknown (streamed writer)
///  24  8  reserved     must be 0
/// Version 1 record (16 bytes)
///   0  4  process      u32, at most 2^31-1
///   4  1  kind         u8: 0 = I, 1 = R/L, 2 = W/S, 3 = M
///   5  1  reserved     u8, must be 0
///   6  2  size         u16 bytes accessed
///   8  8  address      u64 virtual address
/// Version 2 record (24 bytes)
///   0  4  process      u32, at most 2^31-1
///   4  4  thread       u32 thread id within the process, 0 = main thread; this reader accepts at most 255
///   8  1  kind         u8: 0 = I, 1 = R/L, 2 = W/S, 3 = M
///   9  1  reserved     u8, must be 0
///  10  2  size         u16 bytes accessed
///  12  4  reserved     u32, must be 0
///  16  8  address      u64 virtual address
/// </code>
/// Why this version-2 record: process and thread are both u32 like Linux's pid_t and tid, so the file never limits
/// thread ids, even though <see cref="MemoryAccess.Thread"/> (a byte, kept so the in-memory access stays 16 bytes)
/// limits what this reader accepts. 24 bytes is the smallest multiple of 8 that holds the 19 bytes of fields, so the
/// address stays 8-byte aligned in every record of a block. Version 1's field order is kept with the thread
/// inserted after the process, and bytes 8..15 (kind, reserved, size, reserved) form one u64 that is valid exactly
/// when it is at most 3 once the size bits are masked off: one compare checks the kind and all five reserved
/// bytes, which stay free for a later version.
/// </summary>
public static class BinaryTraceFormat
{
    public const int HeaderSize = 32;

    /// <summary>Record size of version 1.</summary>
    public const int RecordSize = 16;

    /// <summary>Record size of version 2.</summary>
    public const int RecordSizeV2 = 24;

    /// <summary>The version written unless version 2 is asked for (version 1 keeps existing outputs byte-identical).</summary>
    public const ushort Version = 1;

    /// <summary>The newest version, the first with a thread id.</summary>
    public const ushort Version2 = 2;

    /// <summary>"ECSMTRC\0".</summary>
    public static ReadOnlySpan<byte> Magic => "ECSMTRC\0"u8;

    /// <summary>Record size of <paramref name="version"/> (1 or 2).</summary>
    public static int RecordSizeOf(ushort version) => version switch
    {
        Version => RecordSize,
        Version2 => RecordSizeV2,
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "binary trace versions are 1 and 2"),
    };

    /// <summary>Writes a version-1 header for <paramref name="count"/> records (0 = unknown).</summary>
    public static void WriteHeader(Span<byte> header, ulong count) => WriteHeader(header, count, Version);

    /// <summary>Writes a header of <paramref name="version"/> (1 or 2) for <paramref name="count"/> records (0 = unknown).</summary>
    public static void WriteHeader(Span<byte> header, ulong count, ushort version)
    {
        int recordSize = RecordSizeOf(version);
        header[..HeaderSize].Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], version);
        BinaryPrimitives.WriteUInt16LittleEndian(header[10..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)recordSize);
        BinaryPrimitives.WriteUInt64LittleEndian(header[16..], count);
    }

    /// <summary>True if <paramref name="head"/> starts with the magic number.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> head) => head.StartsWith(Magic);
}

/// <summary>One on-disk version-1 record, laid out exactly as <see cref="BinaryTraceFormat"/> documents.</summary>
[StructLayout(LayoutKind.Explicit, Size = BinaryTraceFormat.RecordSize)]
internal struct BinaryTraceRecord
{
    [FieldOffset(0)] public uint Process;
    [FieldOffset(4)] public byte Kind;
    [FieldOffset(5)] public byte Reserved;
    /// <summary>Kind and reserved read together: valid records have a value of at most 3.</summary>
    [FieldOffset(4)] public ushort KindAndReserved;
    [FieldOffset(6)] public ushort Size;
    [FieldOffset(8)] public ulong Address;

    /// <summary>
    /// Bytes 0..7 read together: process, kind, reserved, size. Bits that must be clear in a valid record: the
    /// process id's top bit (31), the kind's bits above 3 (34..39) and the reserved byte (40..47); and the size
    /// (48..63) must not be 0.
    /// </summary>
    [FieldOffset(0)] public ulong Head;

    /// <summary>The bits of <see cref="Head"/> that are clear in every valid record.</summary>
    public const ulong HeadZeroMask = 0x0000_FFFC_8000_0000;
}

/// <summary>One on-disk version-2 record, laid out exactly as <see cref="BinaryTraceFormat"/> documents.</summary>
[StructLayout(LayoutKind.Explicit, Size = BinaryTraceFormat.RecordSizeV2)]
internal struct BinaryTraceRecordV2
{
    /// <summary>The bits of <see cref="Middle"/> that are not <see cref="Size"/>: kind and the reserved bytes.</summary>
    public const ulong NotSizeMask = 0xFFFF_FFFF_0000_FFFF;

    [FieldOffset(0)] public uint Process;
    [FieldOffset(4)] public uint Thread;
    [FieldOffset(8)] public byte Kind;
    [FieldOffset(9)] public byte Reserved;
    [FieldOffset(10)] public ushort Size;
    [FieldOffset(12)] public uint Reserved2;
    /// <summary>Bytes 8..15 read together: kind, reserved, size, reserved; valid when <c>(Middle &amp; NotSizeMask) &lt;= 3</c>.</summary>
    [FieldOffset(8)] public ulong Middle;
    [FieldOffset(16)] public ulong Address;
}
