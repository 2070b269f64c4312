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
        _xz = new SharpCompress.Compressors.Xz.XZStream(raw);
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
