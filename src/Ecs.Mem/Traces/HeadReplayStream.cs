namespace EcsMem.Traces;

/// <summary>
/// A read-only, forward-only stream that first returns bytes already read from a non-seekable source (the
/// compression sniff of a pipe or FIFO), then the rest of that source. Disposing it disposes the source.
/// </summary>
internal sealed class HeadReplayStream(byte[] head, Stream source) : ReadOnlyForwardStream
{
    private int _headPos;

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


    protected override void Dispose(bool disposing)
    {
        if (disposing)
            source.Dispose();
        base.Dispose(disposing);
    }
}
