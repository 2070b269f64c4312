namespace EcsMem.Traces;

/// <summary>
/// A byte buffer in front of an <see cref="AtomicFileOutput"/> for the text writers: lines are
/// formatted straight into UTF-8 with <c>TryFormat</c>, so writing allocates nothing per access.
/// </summary>
internal sealed class TextOutput : IDisposable
{
    private const int BlockBytes = 1 << 16;

    private readonly AtomicFileOutput _out;
    private readonly byte[] _block = new byte[BlockBytes];
    private int _used;

    public TextOutput(string path) => _out = new AtomicFileOutput(path);

    public string Path => _out.Path;

    /// <summary>Space for at least <paramref name="max"/> bytes; call <see cref="Advance"/> with what was used.</summary>
    public Span<byte> Reserve(int max)
    {
        if (_block.Length - _used < max) Flush();
        return _block.AsSpan(_used);
    }

    public void Advance(int n) => _used += n;

    public void Append(ReadOnlySpan<byte> text)
    {
        text.CopyTo(Reserve(text.Length));
        _used += text.Length;
    }

    private void Flush()
    {
        _out.Stream.Write(_block, 0, _used);
        _used = 0;
    }

    public void Commit()
    {
        Flush();
        _out.Commit();
    }

    public void Dispose() => _out.Dispose();
}
