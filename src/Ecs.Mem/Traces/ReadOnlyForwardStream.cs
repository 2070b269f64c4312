namespace EcsMem.Traces;

/// <summary>
/// Base of the trace readers' stream wrappers (gzip checking, head replay): read-only and forward-only, so every
/// seek, length, position and write member refuses, and the array overload of Read goes to the span one.
/// </summary>
internal abstract class ReadOnlyForwardStream : Stream
{
    private const string Why = "a decompressed or replayed trace stream is read-only and cannot seek";

    public sealed override bool CanRead => true;
    public sealed override bool CanSeek => false;
    public sealed override bool CanWrite => false;
    public sealed override long Length => throw new NotSupportedException(Why);

    public sealed override long Position
    {
        get => throw new NotSupportedException(Why);
        set => throw new NotSupportedException(Why);
    }

    public sealed override void Flush()
    {
    }

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException(Why);
    public sealed override void SetLength(long value) => throw new NotSupportedException(Why);
    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException(Why);
    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);
}
