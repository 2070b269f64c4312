using System.Text;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Splits a byte stream into lines without allocating: each line is a span into a reused
/// 64 KiB block, valid until the next call. Accepts LF and CRLF endings and a last line without
/// a newline. A line longer than the block is an error rather than an unbounded allocation.
/// </summary>
internal sealed class TextLineReader : IDisposable
{
    public const int MaxLineBytes = 1 << 16;

    private readonly Stream _stream;
    private readonly string _source;
    private readonly byte[] _block = new byte[MaxLineBytes];
    private int _start;
    private int _end;
    private bool _eof;

    public TextLineReader(Stream stream, string source)
    {
        _stream = stream;
        _source = source;
    }

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            var pending = _block.AsSpan(_start, _end - _start);
            int nl = pending.IndexOf((byte)'\n');
            if (nl >= 0)
            {
                line = TrimCr(pending[..nl]);
                _start += nl + 1;
                LineNumber++;
                return true;
            }
            if (_eof)
            {
                if (pending.IsEmpty)
                {
                    line = default;
                    return false;
                }
                line = TrimCr(pending);
                _start = _end;
                LineNumber++;
                return true;
            }
            if (_start == 0 && _end == _block.Length)
                throw new InputException(_source, LineNumber + 1, Encoding.UTF8.GetString(_block, 0, 80),
                    $"line longer than {MaxLineBytes} bytes");
            Buffer.BlockCopy(_block, _start, _block, 0, _end - _start);
            _end -= _start;
            _start = 0;
            int n;
            try
            {
                n = _stream.Read(_block, _end, _block.Length - _end);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException)
            {
                throw new InputException(_source, LineNumber + 1, "", "cannot read compressed data: " + e.Message);
            }
            if (n == 0) _eof = true;
            _end += n;
        }
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> s) =>
        s.Length > 0 && s[^1] == (byte)'\r' ? s[..^1] : s;

    public void Dispose() => _stream.Dispose();
}
