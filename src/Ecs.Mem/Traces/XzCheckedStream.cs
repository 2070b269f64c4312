namespace EcsMem.Traces;

/// <summary>
/// An xz stream (the container ChampSim's traces are distributed in) decoded by SharpCompress's managed
/// XZ/LZMA2 decoder. Its failures (bad headers, corrupt blocks, a file cut short) come out as
/// <see cref="InvalidDataException"/>, which the trace readers report as bad input naming the file; a stream
/// that ends before the xz footer is such a failure, never a shorter trace.
/// </summary>
internal sealed class XzCheckedStream : ReadOnlyForwardStream
{
    private readonly Stream _raw;
    private readonly SharpCompress.Compressors.Xz.XZStream _xz;

    public XzCheckedStream(Stream raw)
    {
        _raw = raw;
        // The decoder asks its input for Position (to find the 4-byte padding of xz blocks and the index); a pipe has
        // none, so it reads through a stream that counts the bytes it has handed out.
        _xz = new SharpCompress.Compressors.Xz.XZStream(new CountingStream(raw));
    }

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return _xz.Read(buffer);
        }
        catch (Exception e) when (e is not (InvalidDataException or OperationCanceledException or OutOfMemoryException))
        {
            string what = e is EndOfStreamException ? "xz stream ends early (truncated file)" : "corrupt xz data: " + e.Message;
            throw new InvalidDataException(what, e);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _xz.Dispose();
            _raw.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>A forward-only stream whose <see cref="Position"/> is the number of bytes read so far.</summary>
internal sealed class CountingStream(Stream source) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException("a forward-only stream has no length");

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException("a forward-only stream cannot seek");
    }

    public override int Read(Span<byte> buffer)
    {
        int n = source.Read(buffer);
        _read += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int ReadByte()
    {
        int b = source.ReadByte();
        if (b >= 0) _read++;
        return b;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a forward-only stream cannot seek");
    public override void SetLength(long value) => throw new NotSupportedException("a forward-only stream cannot be written");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("a forward-only stream cannot be written");
}
