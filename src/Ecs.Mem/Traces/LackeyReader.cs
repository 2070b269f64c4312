using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using EcsMem.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace EcsMem.Traces;

/// <summary>
/// Streams the output of <c>valgrind --tool=lackey --trace-mem=yes</c>, parsing bytes in place
/// (no string per line) so the steady state allocates nothing.
/// <para>Trace records are lines that start with one of four exact prefixes, each followed by a
/// hexadecimal address (1-16 digits), a comma and a decimal size (1-65535):</para>
/// <list type="bullet">
/// <item><c>"I  "</c> instruction fetch, <c>" L "</c> load, <c>" S "</c> store, <c>" M "</c> modify.</item>
/// </list>
/// <para>Skipped (counted in <see cref="SkippedLines"/>, never an error): empty (or blank) lines and Valgrind's own
/// log lines, which start with the process id between <c>==</c>, <c>--</c> or <c>**</c> (<c>==1234== Lackey, an
/// example Valgrind tool</c>, Lackey's header and summary, <c>--1234-- warning</c>). A trailing <c>\r</c> is tolerated.</para>
/// <para>Errors (<see cref="InputException"/> with file, line number and text): any other line (the guest program's
/// output mixed into the trace, binary data, a typo such as <c>" Q 0401,8"</c>); a line that starts with a record
/// prefix but is not exactly <c>prefix HEX,DEC</c> (missing or non-hex address, more than 16 hex digits, missing
/// comma, non-decimal or zero or &gt;65535 size, trailing text); and any line longer than the 64 KiB read buffer,
/// found without reading the rest of it.</para>
/// <para>Speed: records of the usual shape (at most 16 hex digits, a size of 1 or 2 digits, LF or CRLF) are decoded
/// 16 bytes at a time (<see cref="DecodeRecords"/>: the newline, comma and digit positions of a line come from two
/// vector compares, the address from one shuffle of its nibbles, the size from its last two bytes), with no branch
/// per character. Any line the vector decoder does not take whole (a Valgrind line, a blank line, a malformed or
/// unusual record) goes to the plain per-line parser, which therefore alone decides every skip and every error
/// message: the two paths cannot disagree about what a line means. Without hardware vectors (or with
/// <see cref="Vectorized"/> off, as the tests do on the same inputs) every line takes the plain path.</para>
/// </summary>
public sealed class LackeyReader : ITraceReader
{
    internal const int BufferSize = 1 << 16;

    /// <summary>Bytes from a line's start the vector decoder reads: the longest record it takes
    /// (3 + 16 hex + 1 + 5 digits + CRLF = 27 bytes) lies within two 16-byte loads.</summary>
    private const int Window = 32;

    /// <summary>Bytes whose newlines and commas are found at once (four 16-byte loads): the masks serve every line
    /// that starts in the first half of the block.</summary>
    private const int Block = 64;

    /// <summary>Slack behind the data: the size field's 8-byte load may pass the window's end on a line that is then rejected.</summary>
    private const int Padding = 16;

    private static readonly sbyte[] HexValue = BuildHexTable();

    /// <summary>Record kind by a line's second byte ('I  ' has a blank there), 4 = not a record.</summary>
    private static readonly byte[] KindBySecondByte = BuildKindTable();

    /// <summary>The exact first three bytes (little-endian) of each record kind, and an impossible value for 4.</summary>
    private static readonly uint[] PrefixByKind = [0x202049, 0x204C20, 0x205320, 0x204D20, uint.MaxValue];

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    // Range mode (ChunkedLackeyReader): bytes [_rangePos, _rangeEnd) of _file, read with pread, so readers on other
    // threads share the handle without a shared file position; null: read _stream.
    private readonly SafeFileHandle? _file;
    private long _rangePos;
    private long _rangeEnd;
    private readonly byte[] _buf = new byte[BufferSize + Padding];
    private int _start;   // first unparsed byte
    private int _end;     // one past the last valid byte
    private bool _eof;

    /// <param name="stream">The (already decompressed) trace text.</param>
    /// <param name="sourceName">File name used in error messages.</param>
    /// <param name="process">Process id stamped on every access (Lackey traces one process).</param>
    /// <param name="leaveOpen">Whether disposing the reader leaves <paramref name="stream"/> open.</param>
    public LackeyReader(Stream stream, string sourceName, int process = 0, bool leaveOpen = false)
    {
        _stream = stream;
        SourceName = sourceName;
        Process = process;
        _leaveOpen = leaveOpen;
    }

    /// <summary>A reader of byte ranges of <paramref name="file"/> (set by <see cref="Restart(long, long)"/>), which
    /// it reads with pread and never closes: <see cref="ChunkedLackeyReader"/>'s threads each have one.</summary>
    internal LackeyReader(SafeFileHandle file, string sourceName)
        : this(Stream.Null, sourceName, 0, leaveOpen: true)
    {
        _file = file;
    }

    public string SourceName { get; }

    /// <summary>Whether records are decoded with vector instructions (the default where the hardware has them);
    /// off, every line takes the plain parser. Results are the same either way.</summary>
    internal bool Vectorized { get; init; } = Vector128.IsHardwareAccelerated;

    /// <summary>Process id given to every access.</summary>
    public int Process { get; }

    /// <summary>Lines read so far (records and skipped lines).</summary>
    public long LinesRead { get; private set; }

    /// <summary>Lines skipped so far: Valgrind's log lines and empty lines.</summary>
    public long SkippedLines { get; private set; }

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = 0;
        while (n < buffer.Length)
        {
            if (Vectorized)
            {
                n = DecodeRecords(buffer, n);
                if (n == buffer.Length)
                    break;
                if (_end - _start < Block && !_eof)
                {
                    // Too few bytes left for the vector decoder: top the buffer up rather than crawl to its end.
                    Refill();
                    continue;
                }
            }
            // One line the plain way: what the vector decoder did not take, or the buffer's last bytes.
            int nl = _buf.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0) nl += _start;
            int lineEnd;
            int next;
            if (nl >= 0)
            {
                lineEnd = nl;
                next = nl + 1;
            }
            else if (!_eof)
            {
                Refill();
                continue;
            }
            else if (_start < _end)
            {
                lineEnd = _end;   // last line without a newline
                next = _end;
            }
            else
            {
                break;
            }

            LinesRead++;
            if (ParseLine(new ReadOnlySpan<byte>(_buf, _start, lineEnd - _start), out MemoryAccess access))
                buffer[n++] = access;
            else
                SkippedLines++;
            _start = next;
        }
        return n;
    }

    /// <summary>Starts over on bytes [<paramref name="from"/>, <paramref name="to"/>) of the file as if this were a
    /// new reader (line count 0), keeping the buffer: <see cref="ChunkedLackeyReader"/> decodes one byte range of a
    /// file after another with one reader.</summary>
    internal void Restart(long from, long to)
    {
        _rangePos = from;
        _rangeEnd = to;
        _start = 0;
        _end = 0;
        _eof = false;
        LinesRead = 0;
        SkippedLines = 0;
    }

    /// <summary>Moves the partial line to the front of the buffer and reads more bytes behind it.</summary>
    private void Refill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == BufferSize)
        {
            // A whole buffer without a newline: no Lackey record or Valgrind message is that long.
            var line = new ReadOnlySpan<byte>(_buf, 0, 200);
            throw Malformed(LinesRead + 1, line, PrefixKind(line) >= 0
                ? "line too long for a Lackey record"
                : $"line longer than {BufferSize} bytes (not a Lackey trace?)");
        }
        int got = _file is null
            ? TraceFile.ReadChecked(_stream, _buf.AsSpan(_end, BufferSize - _end), SourceName, LinesRead + 1)
            : ReadRange(_buf.AsSpan(_end, BufferSize - _end));
        if (got == 0)
            _eof = true;
        else
            _end += got;
    }

    /// <summary>
    /// Decodes whole records from <c>_start</c> into <paramref name="buffer"/> from index <paramref name="n"/> while
    /// at least <see cref="Block"/> bytes are buffered; stops at the first line that is not a record of the usual
    /// shape (left to the plain parser) and returns the new count.
    /// </summary>
    private int DecodeRecords(Span<MemoryAccess> buffer, int n)
    {
        ref byte data = ref MemoryMarshal.GetArrayDataReference(_buf);
        ref byte kinds = ref MemoryMarshal.GetArrayDataReference(KindBySecondByte);
        ref uint prefixes = ref MemoryMarshal.GetArrayDataReference(PrefixByKind);
        ref MemoryAccess records = ref MemoryMarshal.GetReference(buffer);
        int x = _start;
        int last = _end - Block;
        int first = n;
        ulong processBits = (uint)Process;
        // Newline and comma positions of the 64 bytes from blockBase, found once for the ~4 lines that start there.
        int blockBase = x;
        ulong newlines = 0, commas = 0;
        while (n < buffer.Length && x <= last)
        {
            ref byte line = ref Unsafe.Add(ref data, x);
            int off = x - blockBase;
            ulong ahead = off < Block ? newlines >> off : 0;
            if (ahead == 0)
            {
                if (Vector256.IsHardwareAccelerated)
                {
                    // Two 32-byte loads (a native build for x86-64-v3, or the JIT on an AVX2 machine).
                    var w0 = Vector256.LoadUnsafe(ref line);
                    var w1 = Vector256.LoadUnsafe(ref line, 32);
                    newlines = Vector256.Equals(w0, Vector256.Create((byte)'\n')).ExtractMostSignificantBits()
                        | ((ulong)Vector256.Equals(w1, Vector256.Create((byte)'\n')).ExtractMostSignificantBits() << 32);
                    commas = Vector256.Equals(w0, Vector256.Create((byte)',')).ExtractMostSignificantBits()
                        | ((ulong)Vector256.Equals(w1, Vector256.Create((byte)',')).ExtractMostSignificantBits() << 32);
                }
                else
                {
                    var v0 = Vector128.LoadUnsafe(ref line);
                    var v1 = Vector128.LoadUnsafe(ref line, 16);
                    var v2 = Vector128.LoadUnsafe(ref line, 32);
                    var v3 = Vector128.LoadUnsafe(ref line, 48);
                    newlines = TextVectors.Equal(v0, (byte)'\n') | ((ulong)TextVectors.Equal(v1, (byte)'\n') << 16)
                        | ((ulong)TextVectors.Equal(v2, (byte)'\n') << 32) | ((ulong)TextVectors.Equal(v3, (byte)'\n') << 48);
                    commas = TextVectors.Equal(v0, (byte)',') | ((ulong)TextVectors.Equal(v1, (byte)',') << 16)
                        | ((ulong)TextVectors.Equal(v2, (byte)',') << 32) | ((ulong)TextVectors.Equal(v3, (byte)',') << 48);
                }
                blockBase = x;
                off = 0;
                ahead = newlines;
            }
            int end = BitOperations.TrailingZeroCount(ahead);   // 64: no newline in the block
            int comma = BitOperations.TrailingZeroCount(commas >> off);
            if (end >= Window || comma >= end)
                break;
            int digitsEnd = Unsafe.Add(ref line, end - 1) == (byte)'\r' ? end - 1 : end;
            int hexDigits = comma - 3;
            int sizeDigits = digitsEnd - comma - 1;
            uint hexValid = TextVectors.Hex(Vector128.LoadUnsafe(ref line, 3), out var nibbles);
            // The size: one or two digits (every size Lackey prints for x86-64 code and data, up to 64), read as the
            // two bytes before the line's end; the byte before a single digit is the comma, whose tens are ignored.
            // Longer sizes go to the plain parser.
            uint pair = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref line, digitsEnd - 2));
            uint ones = (pair >> 8) - '0';
            uint tens = sizeDigits == 2 ? (pair & 0xFF) - '0' : 0;
            uint size = tens * 10 + ones;
            uint kind = Unsafe.Add(ref kinds, Unsafe.Add(ref line, 1));
            bool ok = ((Unsafe.ReadUnaligned<uint>(ref line) & 0xFFFFFF) == Unsafe.Add(ref prefixes, kind))
                & ((uint)(hexDigits - 1) < 16)
                & ((~hexValid & ((1u << hexDigits) - 1)) == 0)
                & ((uint)(sizeDigits - 1) < 2)
                & ((ones | tens) < 10)
                & (size != 0);
            if (!ok)
                break;
            // The record as two 8-byte stores: the address, then process, size, kind and thread 0 (MemoryAccess's layout).
            ref ulong record = ref Unsafe.As<MemoryAccess, ulong>(ref Unsafe.Add(ref records, n++));
            record = TextVectors.HexValue(nibbles, hexDigits);
            Unsafe.Add(ref record, 1) = processBits | (ulong)size << 32 | (ulong)kind << 48;
            x += end + 1;
        }
        LinesRead += n - first;
        _start = x;
        return n;
    }

    /// <summary>The access kind a record prefix announces, or -1 when the line is not a record.</summary>
    private static int PrefixKind(ReadOnlySpan<byte> line)
    {
        if (line.Length < 3 || line[2] != (byte)' ')
            return -1;
        byte c0 = line[0], c1 = line[1];
        if (c0 == (byte)'I' && c1 == (byte)' ')
            return (int)AccessKind.Instr;
        if (c0 != (byte)' ')
            return -1;
        return c1 switch
        {
            (byte)'L' => (int)AccessKind.Load,
            (byte)'S' => (int)AccessKind.Store,
            (byte)'M' => (int)AccessKind.Modify,
            _ => -1,
        };
    }

    /// <summary>Parses one line; false when it is a line Lackey readers skip (see the class comment).</summary>
    private bool ParseLine(ReadOnlySpan<byte> line, out MemoryAccess access)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r')
            line = line[..^1];
        int kind = PrefixKind(line);
        if (kind < 0)
        {
            if (IsBlank(line) || IsValgrindMessage(line))
            {
                access = default;
                return false;
            }
            throw Malformed(LinesRead, line, "not a Lackey record ('I  ', ' L ', ' S ', ' M ') or a Valgrind '==PID==' line");
        }

        int i = 3;
        ulong address = 0;
        int digits = 0;
        while (i < line.Length && line[i] != (byte)',')
        {
            int h = HexValue[line[i]];
            if (h < 0)
                throw Malformed(LinesRead, line, "address is not hexadecimal");
            address = (address << 4) | (uint)h;
            digits++;
            i++;
        }
        if (digits == 0)
            throw Malformed(LinesRead, line, "missing address");
        if (digits > 16)
            throw Malformed(LinesRead, line, "address has more than 16 hex digits");
        if (i == line.Length)
            throw Malformed(LinesRead, line, "missing ',SIZE' after the address");
        i++;
        if (i == line.Length)
            throw Malformed(LinesRead, line, "missing size after ','");
        uint size = 0;
        for (; i < line.Length; i++)
        {
            uint d = (uint)(line[i] - (byte)'0');
            if (d > 9)
                throw Malformed(LinesRead, line, "size is not a decimal number");
            size = size * 10 + d;
            if (size > ushort.MaxValue)
                throw Malformed(LinesRead, line, "size larger than 65535 bytes");
        }
        if (size == 0)
            throw Malformed(LinesRead, line, "size is zero");
        access = new MemoryAccess(address, Process, (ushort)size, (AccessKind)kind);
        return true;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
            if (b is not ((byte)' ' or (byte)'\t'))
                return false;
        return true;
    }

    /// <summary>Valgrind's own log lines: <c>==PID==</c>, <c>--PID--</c> or <c>**PID**</c> followed by a space or the line end.</summary>
    private static bool IsValgrindMessage(ReadOnlySpan<byte> line)
    {
        if (line.Length < 5) return false;
        byte mark = line[0];
        if (mark is not ((byte)'=' or (byte)'-' or (byte)'*') || line[1] != mark) return false;
        int i = 2;
        while (i < line.Length && (uint)(line[i] - '0') <= 9) i++;
        if (i == 2 || i + 2 > line.Length || line[i] != mark || line[i + 1] != mark) return false;
        return i + 2 == line.Length || line[i + 2] == (byte)' ';
    }

    private InputException Malformed(long lineNo, ReadOnlySpan<byte> line, string problem) =>
        new(SourceName, lineNo, Encoding.UTF8.GetString(line), "malformed Lackey line: " + problem);

    private static byte[] BuildKindTable()
    {
        var t = new byte[256];
        Array.Fill(t, (byte)4);
        t[' '] = (byte)AccessKind.Instr;
        t['L'] = (byte)AccessKind.Load;
        t['S'] = (byte)AccessKind.Store;
        t['M'] = (byte)AccessKind.Modify;
        return t;
    }

    private static sbyte[] BuildHexTable()
    {
        var t = new sbyte[256];
        Array.Fill(t, (sbyte)-1);
        for (int c = '0'; c <= '9'; c++) t[c] = (sbyte)(c - '0');
        for (int c = 'a'; c <= 'f'; c++) t[c] = (sbyte)(c - 'a' + 10);
        for (int c = 'A'; c <= 'F'; c++) t[c] = (sbyte)(c - 'A' + 10);
        return t;
    }

    /// <summary>Range mode's read: at most what is left of the range, at its position (pread).</summary>
    private int ReadRange(Span<byte> into)
    {
        int want = (int)Math.Min(into.Length, _rangeEnd - _rangePos);
        if (want <= 0)
            return 0;
        int got;
        try
        {
            got = RandomAccess.Read(_file!, into[..want], _rangePos);
        }
        catch (IOException e)
        {
            throw new InputException(SourceName, LinesRead + 1, "", "cannot read the trace: " + e.Message);
        }
        if (got == 0)
            throw new InputException(SourceName, LinesRead + 1, "", "cannot read the trace: the file became shorter while it was read");
        _rangePos += got;
        return got;
    }

    public void Dispose()
    {
        if (!_leaveOpen)
            _stream.Dispose();
    }
}
