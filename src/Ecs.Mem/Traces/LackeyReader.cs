using System.Text;
using EcsMem.Diagnostics;

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
/// </summary>
public sealed class LackeyReader : ITraceReader
{
    private const int BufferSize = 1 << 16;
    private static readonly sbyte[] HexValue = BuildHexTable();

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _buf = new byte[BufferSize];
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

    public string SourceName { get; }

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

    /// <summary>Moves the partial line to the front of the buffer and reads more bytes behind it.</summary>
    private void Refill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buf.Length)
        {
            // A whole buffer without a newline: no Lackey record or Valgrind message is that long.
            var line = new ReadOnlySpan<byte>(_buf, 0, 200);
            throw Malformed(LinesRead + 1, line, PrefixKind(line) >= 0
                ? "line too long for a Lackey record"
                : $"line longer than {BufferSize} bytes (not a Lackey trace?)");
        }
        int got = TraceFile.ReadChecked(_stream, _buf.AsSpan(_end, _buf.Length - _end), SourceName, LinesRead + 1);
        if (got == 0)
            _eof = true;
        else
            _end += got;
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

    private static sbyte[] BuildHexTable()
    {
        var t = new sbyte[256];
        Array.Fill(t, (sbyte)-1);
        for (int c = '0'; c <= '9'; c++) t[c] = (sbyte)(c - '0');
        for (int c = 'a'; c <= 'f'; c++) t[c] = (sbyte)(c - 'a' + 10);
        for (int c = 'A'; c <= 'F'; c++) t[c] = (sbyte)(c - 'A' + 10);
        return t;
    }

    public void Dispose()
    {
        if (!_leaveOpen)
            _stream.Dispose();
    }
}
