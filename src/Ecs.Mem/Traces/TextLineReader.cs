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

    /// <summary>Readable bytes behind the block, so a vector decoder may load a whole window at its end.</summary>
    public const int Padding = 64;

    private readonly Stream _stream;
    private readonly string _source;
    private readonly byte[] _block = new byte[MaxLineBytes + Padding];
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
            if (_start == 0 && _end == MaxLineBytes)
                throw new InputException(_source, LineNumber + 1, Encoding.UTF8.GetString(_block, 0, 80),
                    $"line longer than {MaxLineBytes} bytes");
            Fill();
        }
    }

    /// <summary>
    /// For decoders that take whole lines straight from the block: the unread bytes, topped up first when fewer than
    /// <paramref name="want"/> (at most half the block) remain; fewer only at the stream's end. <see cref="Padding"/>
    /// readable bytes lie behind the span. Report what was taken with <see cref="Consume"/>.
    /// </summary>
    public ReadOnlySpan<byte> Unread(int want)
    {
        while (_end - _start < want && !_eof)
            Fill();
        return _block.AsSpan(_start, _end - _start);
    }

    /// <summary>Marks <paramref name="bytes"/> bytes holding <paramref name="lines"/> whole lines (newlines included) as read.</summary>
    public void Consume(int bytes, int lines)
    {
        _start += bytes;
        LineNumber += lines;
    }

    /// <summary>Moves the unread bytes to the front of the block and reads more behind them (sets the end flag at the stream's end).</summary>
    private void Fill()
    {
        Buffer.BlockCopy(_block, _start, _block, 0, _end - _start);
        _end -= _start;
        _start = 0;
        int n;
        try
        {
            n = _stream.Read(_block, _end, MaxLineBytes - _end);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException)
        {
            throw new InputException(_source, LineNumber + 1, "", "cannot read compressed data: " + e.Message);
        }
        if (n == 0) _eof = true;
        _end += n;
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> s) =>
        s.Length > 0 && s[^1] == (byte)'\r' ? s[..^1] : s;

    public void Dispose() => _stream.Dispose();
}
