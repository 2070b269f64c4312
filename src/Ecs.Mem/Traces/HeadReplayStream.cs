namespace EcsMem.Traces;

/// <summary>
/// A read-only, forward-only stream that first returns bytes already read from a non-seekable source (the
/// compression sniff of a pipe or FIFO), then the rest of that source. Disposing it disposes the source.
/// </summary>
internal sealed class HeadReplayStream(byte[] head, Stream source) : Stream
{
    private int _headPos;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException("a decompressed or replayed trace stream is read-only and cannot seek");

    public override long Position
    {
        get => throw new NotSupportedException("a decompressed or replayed trace stream is read-only and cannot seek");
        set => throw new NotSupportedException("a decompressed or replayed trace stream is read-only and cannot seek");
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_headPos < head.Length)
        {
            int n = Math.Min(buffer.Length, head.Length - _headPos);
            head.AsSpan(_headPos, n).CopyTo(buffer);
            _headPos += n;
            return n;
        }

        return source.Read(buffer);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a decompressed or replayed trace stream is read-only and cannot seek");
    public override void SetLength(long value) => throw new NotSupportedException("a decompressed or replayed trace stream is read-only and cannot seek");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("a decompressed or replayed trace stream is read-only and cannot seek");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            source.Dispose();
        base.Dispose(disposing);
    }
}
