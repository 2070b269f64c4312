using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Reads the text printed by Intel Pin's example tool pinatrace: one line per data access,
/// <c>IP: R ADDRESS</c> or <c>IP: W ADDRESS</c>, addresses as glibc's <c>%p</c> prints them
/// (<c>0x7ffd1234</c>, or <c>(nil)</c> for zero), ending with a <c>#eof</c> trailer.
/// An optional fourth field gives the access size in decimal bytes (EcsMem's pinatrace writer adds it;
/// the Pin tool does not); without it every access has <see cref="DefaultSize"/> bytes.
/// Other lines starting with <c>#</c> and blank lines are skipped; data after <c>#eof</c> is an error.
/// The instruction pointer is checked but not kept (<see cref="MemoryAccess"/> has no field for it).
/// <para>Speed: lines of the exact shape the tool prints (<c>0xIP: R 0xADDRESS</c>, one blank between fields, an
/// optional size, LF or CRLF, at most 47 bytes) are decoded from a 48-byte window by vector compares and a nibble
/// shuffle, as <see cref="LackeyReader"/> does; every other line (comments, <c>(nil)</c>, tabs or extra blanks,
/// anything malformed, whatever follows <c>#eof</c>) goes to the plain per-line parser, which alone decides skips and
/// errors. <see cref="Vectorized"/> off (as the tests do on the same inputs) sends every line there.</para>
/// </summary>
public sealed class PinatraceReader : ITraceReader
{
    /// <summary>Size given to accesses without a size field: one byte, so no access straddles a cache line.</summary>
    public const ushort DefaultSize = 1;

    private const string Shape = "expected 'IP: R|W ADDRESS [SIZE]'";

    /// <summary>Bytes from a line's start the vector decoder reads (three 16-byte loads).</summary>
    private const int Window = 48;

    private readonly TextLineReader _lines;
    private readonly int _process;
    private bool _sawEof;

    /// <summary>Reads <paramref name="stream"/> (named <paramref name="sourceName"/> in errors); every access gets <paramref name="process"/> as its process id (pinatrace traces one process).</summary>
    public PinatraceReader(Stream stream, string sourceName, int process = 0)
    {
        _lines = new TextLineReader(stream, sourceName);
        SourceName = sourceName;
        _process = process;
    }

    public string SourceName { get; }

    /// <summary>Whether records of the usual shape are decoded with vector instructions (default where the hardware
    /// has them); the results are the same either way.</summary>
    internal bool Vectorized { get; init; } = Vector128.IsHardwareAccelerated;

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = 0;
        while (n < buffer.Length)
        {
            if (Vectorized && !_sawEof)
            {
                n = DecodeRecords(buffer, n);
                if (n == buffer.Length)
                    break;
            }
            if (!_lines.TryReadLine(out var line))
                break;
            if (TextFields.IsEmpty(line)) continue;
            if (line[0] == (byte)'#')
            {
                if (line.SequenceEqual("#eof"u8)) _sawEof = true;
                continue;
            }
            if (_sawEof)
                throw Error(line, "data after the #eof trailer");
            buffer[n++] = ParseLine(line);
        }
        return n;
    }

    /// <summary>
    /// Decodes whole records of the usual shape into <paramref name="buffer"/> from index <paramref name="n"/> while a
    /// full window is buffered; stops at the first other line (left to the plain parser) and returns the new count.
    /// </summary>
    private int DecodeRecords(Span<MemoryAccess> buffer, int n)
    {
        var unread = _lines.Unread(Window);
        ref byte data = ref MemoryMarshal.GetReference(unread);
        ref MemoryAccess records = ref MemoryMarshal.GetReference(buffer);
        int x = 0;
        int last = unread.Length - Window;
        int first = n;
        while (n < buffer.Length && x <= last)
        {
            ref byte line = ref Unsafe.Add(ref data, x);
            var v0 = Vector128.LoadUnsafe(ref line);
            var v1 = Vector128.LoadUnsafe(ref line, 16);
            var v2 = Vector128.LoadUnsafe(ref line, 32);
            ulong newlines = TextVectors.Equal(v0, (byte)'\n') | ((ulong)TextVectors.Equal(v1, (byte)'\n') << 16) | ((ulong)TextVectors.Equal(v2, (byte)'\n') << 32);
            int end = BitOperations.TrailingZeroCount(newlines);   // 64: none in the window
            int colon = BitOperations.TrailingZeroCount(TextVectors.Equal(v0, (byte)':') | (TextVectors.Equal(v1, (byte)':') << 16));
            if (end == 64 || colon >= end || colon >= 19)
                break;
            int digitsEnd = Unsafe.Add(ref line, end - 1) == (byte)'\r' ? end - 1 : end;
            ulong blanks = TextVectors.Equal(v0, (byte)' ') | ((ulong)TextVectors.Equal(v1, (byte)' ') << 16) | ((ulong)TextVectors.Equal(v2, (byte)' ') << 32);
            ulong decimals = TextVectors.Decimal(v0) | ((ulong)TextVectors.Decimal(v1) << 16) | ((ulong)TextVectors.Decimal(v2) << 32);
            ulong hexes = TextVectors.Hex(v0, out _) | ((ulong)TextVectors.Hex(v1, out _) << 16) | ((ulong)TextVectors.Hex(v2, out _) << 32);

            // "0x" IP ": R 0x" or ": W 0x" ADDRESS, then the end or " " SIZE.
            int ipDigits = colon - 2;
            ulong middle = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref line, colon)) & 0xFFFF_FFFF_FFFFUL;
            bool write = middle == 0x7830_2057_203AUL;   // ": W 0x"
            int a = colon + 6;
            int addrEnd = a + BitOperations.TrailingZeroCount(((blanks | (1UL << digitsEnd)) >> a) | (1UL << 63));
            int addrDigits = addrEnd - a;
            bool sized = addrEnd < digitsEnd;
            int sizeDigits = sized ? digitsEnd - addrEnd - 1 : 1;
            uint size = sized ? TextVectors.DecimalValue(ref Unsafe.Add(ref line, addrEnd + 1), sizeDigits) : DefaultSize;
            ulong sizeMask = sized ? ((1UL << sizeDigits) - 1) << (addrEnd + 1) : 0;
            ulong ipMask = ((1UL << ipDigits) - 1) << 2;
            ulong addrMask = ((1UL << addrDigits) - 1) << a;
            bool ok = (Unsafe.ReadUnaligned<ushort>(ref line) == 0x7830)   // "0x"
                & (write | (middle == 0x7830_2052_203AUL))                 // ": R 0x"
                & ((uint)(ipDigits - 1) < 16)
                & ((uint)(addrDigits - 1) < 16)
                & ((hexes & ipMask) == ipMask)
                & ((hexes & addrMask) == addrMask)
                & ((uint)(sizeDigits - 1) < 5)
                & ((decimals & sizeMask) == sizeMask)
                & (size - 1 < ushort.MaxValue);
            if (!ok)
                break;
            TextVectors.Hex(Vector128.LoadUnsafe(ref line, (nuint)a), out var nibbles);
            Unsafe.Add(ref records, n++) = new MemoryAccess(TextVectors.HexValue(nibbles, addrDigits), _process, (ushort)size,
                write ? AccessKind.Store : AccessKind.Load);
            x += end + 1;
        }
        _lines.Consume(x, n - first);
        return n;
    }

    private MemoryAccess ParseLine(ReadOnlySpan<byte> line)
    {
        var rest = line;
        var ip = TextFields.Next(ref rest);
        var kind = TextFields.Next(ref rest);
        var addr = TextFields.Next(ref rest);
        var size = TextFields.Next(ref rest);
        if (addr.IsEmpty || !TextFields.IsEmpty(rest))
            throw Error(line, Shape);
        if (ip.Length < 2 || ip[^1] != (byte)':' || !TryParsePointer(ip[..^1], out _))
            throw Error(ip, "bad instruction address (expected hex such as 0x401234:)");
        AccessKind k = kind.Length == 1 && kind[0] == (byte)'R' ? AccessKind.Load
            : kind.Length == 1 && kind[0] == (byte)'W' ? AccessKind.Store
            : throw Error(kind, "unknown access kind (expected R or W)");
        if (!TryParsePointer(addr, out ulong address))
            throw Error(addr, "bad hex address");
        ushort bytes = DefaultSize;
        if (!size.IsEmpty)
        {
            if (!TextFields.TryParseDecimal(size, ushort.MaxValue, out ulong s) || s == 0)
                throw Error(size, "bad access size (expected decimal 1-65535)");
            bytes = (ushort)s;
        }
        return new MemoryAccess(address, _process, bytes, k);
    }

    private static bool TryParsePointer(ReadOnlySpan<byte> s, out ulong value)
    {
        if (s.SequenceEqual("(nil)"u8))
        {
            value = 0;
            return true;
        }
        return TextFields.TryParseHex(s, out value);
    }

    private InputException Error(ReadOnlySpan<byte> text, string problem) =>
        new(SourceName, _lines.LineNumber, TextFields.Text(text), problem);

    public void Dispose() => _lines.Dispose();
}
