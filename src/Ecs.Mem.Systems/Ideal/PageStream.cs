using EcsMem.Traces;

namespace EcsMem.Systems.Ideal;

/// <summary>
/// A trace's page numbers in batches, numbered as the ideal mode numbers them (a page list's numbers; address
/// &gt;&gt; 12 for every other format), for a one-pass analysis that never needs the whole reference string at
/// once (<see cref="StackDistance"/>, <see cref="Shards"/>): memory is two batch buffers, whatever the trace's
/// length. The buffers are reused, so a batch is valid until the next call.
/// </summary>
public sealed class PageStream(ITraceReader reader)
{
    private const int BatchSize = 4096;

    private readonly ITraceReader _reader = reader ?? throw new ArgumentNullException(nameof(reader));
    private readonly ulong[] _pages = new ulong[BatchSize];
    private MemoryAccess[]? _accesses;

    /// <summary>The next batch of page numbers; empty at the end of the trace.</summary>
    public ReadOnlySpan<ulong> Next()
    {
        if (_reader is PageListReader list)
            return _pages.AsSpan(0, list.ReadPages(_pages));
        _accesses ??= new MemoryAccess[BatchSize];
        int n = _reader.Read(_accesses);
        for (int i = 0; i < n; i++) _pages[i] = _accesses[i].Address >> 12;
        return _pages.AsSpan(0, n);
    }
}
