using System.Text;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Reads the "pages" trace format: a plain reference string for page-replacement studies.
/// <list type="bullet">
/// <item>One page number per line, in decimal (0 .. 2^52−1, so that page × 4096 is still a 64-bit address).</item>
/// <item>Blank lines are skipped; <c>#</c> starts a comment, on its own line or after the number;
/// spaces, tabs, a trailing CR (Windows line ends) and a leading UTF-8 byte-order mark are ignored.</item>
/// </list>
/// Two ways to consume it: <see cref="ReadPages"/> yields the page numbers themselves (what the ideal
/// mode uses); <see cref="Read"/> yields <see cref="MemoryAccess"/> with Address = page &lt;&lt; 12,
/// Kind = Load, Size = 1, Process = 0, for code that takes any <see cref="ITraceReader"/>.
/// Streaming: a 64 KiB byte buffer is parsed in place (no strings per line), so memory stays flat for any
/// trace length; it grows only for a long line, up to <see cref="MaxLineBytes"/>. Decompression is the caller's business: pass the decompressing <see cref="Stream"/>.
/// Malformed lines throw <see cref="InputException"/> naming the source, the line number and the text.
/// </summary>
public sealed class PageListReader : ITraceReader, IPageReader
{
    /// <summary>Largest page number accepted: the address page × 4096 must fit in 64 bits.</summary>
    public const ulong MaxPage = (1UL << 52) - 1;

    /// <summary>Longest line accepted (a number plus a comment); a longer one is an error found after reading this much of it.</summary>
    public const int MaxLineBytes = 1 << 20;

    private const int PageShift = 12;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private byte[] _buf = new byte[64 * 1024];
    private int _pos;   // first unparsed byte
    private int _end;   // end of valid bytes
    private bool _eof;
    private long _line;

    public PageListReader(Stream stream, string sourceName, bool leaveOpen = false)
    {
        _stream = stream;
        SourceName = sourceName;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Reads text already decoded (e.g. a StringReader in a test); it is re-encoded as UTF-8 in chunks.</summary>
    public PageListReader(TextReader reader, string sourceName)
        : this(new TextReaderStream(reader), sourceName, leaveOpen: false)
    {
    }

    public string SourceName { get; }

    /// <summary>Number of lines consumed so far (1-based number of the last line parsed).</summary>
    public long LineNumber => _line;

    /// <summary>Fills <paramref name="pages"/> with the next page numbers; returns how many (0 at the end).</summary>
    public int ReadPages(Span<ulong> pages)
    {
        int n = 0;
        while (n < pages.Length)
        {
            if (!TryNextLine(out int start, out int length)) break;
            if (ParseLine(_buf.AsSpan(start, length), out ulong page)) pages[n++] = page;
        }
        return n;
    }

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = 0;
        while (n < buffer.Length)
        {
            if (!TryNextLine(out int start, out int length)) break;
            if (ParseLine(_buf.AsSpan(start, length), out ulong page))
                buffer[n++] = new MemoryAccess(page << PageShift, 0, 1, AccessKind.Load);
        }
        return n;
    }

    /// <summary>Finds the next complete line (without its '\n') in the buffer, refilling as needed.</summary>
    private bool TryNextLine(out int start, out int length)
    {
        while (true)
        {
            int nl = _buf.AsSpan(_pos, _end - _pos).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                start = _pos;
                length = nl;
                _pos += nl + 1;
                _line++;
                return true;
            }
            if (_eof)
            {
                if (_pos < _end)
                {
                    // Last line without a newline.
                    start = _pos;
                    length = _end - _pos;
                    _pos = _end;
                    _line++;
                    return true;
                }
                start = length = 0;
                return false;
            }
            Refill();
        }
    }

    private void Refill()
    {
        int rest = _end - _pos;
        if (_pos > 0)
        {
            Buffer.BlockCopy(_buf, _pos, _buf, 0, rest);
            _pos = 0;
            _end = rest;
        }
        if (_end == _buf.Length)
        {
            // A line longer than the buffer: rare (a long comment), so grow, but only up to the cap.
            if (_buf.Length >= MaxLineBytes)
                throw new InputException(SourceName, _line + 1, Encoding.UTF8.GetString(_buf, 0, 80),
                    $"line longer than {MaxLineBytes} bytes (1 MiB; the pages format is one page number per line)");
            Array.Resize(ref _buf, Math.Min(_buf.Length * 2, MaxLineBytes));
        }
        int got = TraceFile.ReadChecked(_stream, _buf.AsSpan(_end, _buf.Length - _end), SourceName, _line);
        if (got == 0) _eof = true;
        _end += got;
    }

    /// <summary>Parses one line; false for blank/comment lines.</summary>
    private bool ParseLine(ReadOnlySpan<byte> line, out ulong page)
    {
        page = 0;
        int i = 0, n = line.Length;
        if (_line == 1 && line.StartsWith("\uFEFF"u8)) i = 3; // UTF-8 byte-order mark written by some editors
        while (i < n && IsBlank(line[i])) i++;
        if (i == n || line[i] == (byte)'#') return false;
        int digitsStart = i;
        ulong v = 0;
        while (i < n && (uint)(line[i] - '0') <= 9)
        {
            ulong d = (uint)(line[i] - '0');
            if (v > (MaxPage - d) / 10) throw Bad(line, $"page number is larger than {MaxPage} (2^52-1)");
            v = v * 10 + d;
            i++;
        }
        if (i == digitsStart) throw Bad(line, "not a page number (the pages format is one decimal page number per line)");
        while (i < n && IsBlank(line[i])) i++;
        if (i < n && line[i] != (byte)'#') throw Bad(line, "unexpected text after the page number (one decimal page number per line)");
        page = v;
        return true;
    }

    private static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r';

    private InputException Bad(ReadOnlySpan<byte> line, string problem) =>
        new(SourceName, _line, Encoding.UTF8.GetString(line).Trim(), problem);

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }

    /// <summary>Adapts a TextReader to the byte parser: characters are encoded to UTF-8 chunk by chunk.</summary>
    private sealed class TextReaderStream(TextReader reader) : Stream
    {
        private readonly char[] _chars = new char[16 * 1024];
        private readonly Encoder _encoder = new UTF8Encoding(false).GetEncoder();
        private readonly byte[] _bytes = new byte[Encoding.UTF8.GetMaxByteCount(16 * 1024) + 8];
        private int _pendingPos;
        private int _pendingLen;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new InvalidOperationException("not seekable");
        public override long Position { get => throw new InvalidOperationException("not seekable"); set => throw new InvalidOperationException("not seekable"); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new InvalidOperationException("not seekable");
        public override void SetLength(long value) => throw new InvalidOperationException("not seekable");
        public override void Write(byte[] buffer, int offset, int count) => throw new InvalidOperationException("read-only");

        public override int Read(byte[] buffer, int offset, int count)
        {
            while (_pendingPos >= _pendingLen)
            {
                int n = reader.Read(_chars, 0, _chars.Length);
                // A surrogate pair split across chunks yields no bytes yet; keep reading until bytes or the end.
                _pendingLen = _encoder.GetBytes(_chars, 0, n, _bytes, 0, flush: n == 0);
                _pendingPos = 0;
                if (n == 0 && _pendingLen == 0) return 0;
            }
            int take = Math.Min(count, _pendingLen - _pendingPos);
            Buffer.BlockCopy(_bytes, _pendingPos, buffer, offset, take);
            _pendingPos += take;
            return take;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) reader.Dispose();
            base.Dispose(disposing);
        }
    }
}
