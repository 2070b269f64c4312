using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EcsMem.Traces;

/// <summary>
/// The EcsMem binary trace format (version 1): a 32-byte header followed by fixed-width 16-byte
/// little-endian records. Fixed width lets the reader reinterpret whole blocks without parsing.
/// <code>
/// Header (32 bytes)
///   0  8  magic        "ECSMTRC" followed by 0x00 (45 43 53 4D 54 52 43 00)
///   8  2  version      u16 = 1
///  10  2  flags        u16, must be 0 in version 1
///  12  4  record size  u32 = 16
///  16  8  count        u64 number of records, or 0 when unknown (streamed writer)
///  24  8  reserved     must be 0
/// Record (16 bytes)
///   0  4  process      u32
///   4  1  kind         u8: 0 = I, 1 = R/L, 2 = W/S, 3 = M
///   5  1  reserved     u8, must be 0
///   6  2  size         u16 bytes accessed
///   8  8  address      u64 virtual address
/// </code>
/// </summary>
public static class BinaryTraceFormat
{
    public const int HeaderSize = 32;
    public const int RecordSize = 16;
    public const ushort Version = 1;

    /// <summary>"ECSMTRC\0".</summary>
    public static ReadOnlySpan<byte> Magic => "ECSMTRC\0"u8;

    /// <summary>Writes a version-1 header for <paramref name="count"/> records (0 = unknown).</summary>
    public static void WriteHeader(Span<byte> header, ulong count)
    {
        header[..HeaderSize].Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(header[10..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], RecordSize);
        BinaryPrimitives.WriteUInt64LittleEndian(header[16..], count);
    }

    /// <summary>True if <paramref name="head"/> starts with the magic number.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> head) => head.StartsWith(Magic);
}

/// <summary>One on-disk record, laid out exactly as <see cref="BinaryTraceFormat"/> documents.</summary>
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
}
