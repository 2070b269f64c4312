using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EcsMem.Traces;

/// <summary>
/// Branch-free number decoding for the vectorised text readers (<see cref="LackeyReader"/>, <see cref="PinatraceReader"/>):
/// byte-class masks of a 16-byte window, 1-16 hex digits to a 64-bit value, 1-8 decimal digits to a 32-bit value.
/// Callers check the digits first (the masks say which bytes are digits); these only convert.
/// </summary>
internal static class TextVectors
{
    /// <summary>For N hex digits (0-16), the shuffle that moves them to the last N bytes of a vector, zeroing the rest.</summary>
    private static readonly byte[] AlignDigits = BuildAlignTable();

    /// <summary>Bit i set when byte i of <paramref name="v"/> equals <paramref name="c"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Equal(Vector128<byte> v, byte c) => Vector128.Equals(v, Vector128.Create(c)).ExtractMostSignificantBits();

    /// <summary>Bit i set when byte i of <paramref name="v"/> is a decimal digit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Decimal(Vector128<byte> v) =>
        Vector128.LessThanOrEqual(v - Vector128.Create((byte)'0'), Vector128.Create((byte)9)).ExtractMostSignificantBits();

    /// <summary>Bit i set when byte i of <paramref name="v"/> is a hex digit (either case); the digits' values in <paramref name="nibbles"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hex(Vector128<byte> v, out Vector128<byte> nibbles)
    {
        var fromDigit = v - Vector128.Create((byte)'0');
        var fromLetter = (v | Vector128.Create((byte)0x20)) - Vector128.Create((byte)'a');
        var isDigit = Vector128.LessThanOrEqual(fromDigit, Vector128.Create((byte)9));
        var isLetter = Vector128.LessThanOrEqual(fromLetter, Vector128.Create((byte)5));
        nibbles = Vector128.ConditionalSelect(isDigit, fromDigit, fromLetter + Vector128.Create((byte)10));
        return (isDigit | isLetter).ExtractMostSignificantBits();
    }

    /// <summary>The value of the first <paramref name="digits"/> (1-16) nibbles: right-aligned by one shuffle, pairs
    /// joined into bytes, the bytes read big-endian.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HexValue(Vector128<byte> nibbles, int digits)
    {
        var control = Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(AlignDigits), (nuint)(digits * 16));
        var aligned = Ssse3.IsSupported ? Ssse3.Shuffle(nibbles, control) : Vector128.Shuffle(nibbles, control);
        var pairs = aligned.AsUInt16();
        var joined = ((pairs & Vector128.Create((ushort)0xFF)) << 4) | (pairs >> 8);
        var packed = Sse2.IsSupported ? Sse2.PackUnsignedSaturate(joined.AsInt16(), joined.AsInt16()) : Vector128.Narrow(joined, joined);
        return BinaryPrimitives.ReverseEndianness(packed.AsUInt64().ToScalar());
    }

    /// <summary>The value of the <paramref name="digits"/> (1-8) decimal digits at <paramref name="first"/>: moved to the
    /// top of a 64-bit word (zeros above), then three multiply-adds join pairs, quads and octets. Reads 8 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint DecimalValue(ref byte first, int digits)
    {
        ulong w = Unsafe.ReadUnaligned<ulong>(ref first) << (8 * (8 - digits));
        w &= 0x0F0F0F0F0F0F0F0FUL;
        w = (w * 2561) >> 8;
        w = ((w & 0x00FF00FF00FF00FFUL) * 6553601) >> 16;
        return (uint)(((w & 0x0000FFFF0000FFFFUL) * 42949672960001UL) >> 32);
    }

    /// <summary>As <see cref="DecimalValue(ref byte, int)"/>, also checking the digits: <paramref name="valid"/> is
    /// false unless all <paramref name="digits"/> bytes are '0'-'9' (one test on the whole word).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint DecimalValue(ref byte first, int digits, out bool valid)
    {
        int shift = 8 * (8 - digits);
        // The digits' values in the top bytes, zeros below; a byte that is no digit has a value above 9, so it either
        // has its top bit set or gets it from adding 0x76 (which carries out of no byte of value 9 or less).
        ulong t = (Unsafe.ReadUnaligned<ulong>(ref first) << shift ^ 0x3030303030303030UL) & (ulong.MaxValue << shift);
        valid = ((t | (t + 0x7676767676767676UL)) & 0x8080808080808080UL) == 0;
        t = (t * 2561) >> 8;
        t = ((t & 0x00FF00FF00FF00FFUL) * 6553601) >> 16;
        return (uint)(((t & 0x0000FFFF0000FFFFUL) * 42949672960001UL) >> 32);
    }

    private static byte[] BuildAlignTable()
    {
        var t = new byte[17 * 16];
        for (int digits = 0; digits <= 16; digits++)
            for (int j = 0; j < 16; j++)
                t[digits * 16 + j] = j >= 16 - digits ? (byte)(j - (16 - digits)) : (byte)0x80;
        return t;
    }
}
