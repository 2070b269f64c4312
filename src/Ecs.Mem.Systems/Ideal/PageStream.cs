using EcsMem.Traces;

namespace EcsMem.Systems.Ideal;

/// <summary>
/// A trace's page numbers in batches, numbered as the ideal mode numbers them (a page list's numbers; address
/// &gt;&gt; 12 for every other format), for a pass that never needs the whole reference string at once
/// (<see cref="StackDistance"/>, <see cref="Shards"/>, <see cref="PageReadAhead"/>): memory is one batch of
/// accesses, whatever the trace's length.
/// </summary>
public sealed class PageStream(ITraceReader reader)
{
    private const int BatchSize = 4096;

    private readonly ITraceReader _reader = reader ?? throw new ArgumentNullException(nameof(reader));
    private readonly ulong[] _pages = new ulong[BatchSize];
    private MemoryAccess[]? _accesses;

    /// <summary>The next batch of page numbers (valid until the next call); empty at the end of the trace.</summary>
    public ReadOnlySpan<ulong> Next() => _pages.AsSpan(0, Read(_pages));

    /// <summary>
    /// Fills <paramref name="destination"/> with the next page numbers, as many as fit unless the trace ends first;
    /// returns how many (0 at the end).
    /// </summary>
    public int Read(Span<ulong> destination)
    {
        int count = 0;
        if (_reader is IPageReader list)
        {
            int n;
            while (count < destination.Length && (n = list.ReadPages(destination[count..])) > 0)
                count += n;
            return count;
        }
        _accesses ??= new MemoryAccess[BatchSize];
        while (count < destination.Length)
        {
            int m = _reader.Read(_accesses.AsSpan(0, Math.Min(BatchSize, destination.Length - count)));
            if (m == 0) break;
            Span<ulong> to = destination.Slice(count, m);
            for (int i = 0; i < to.Length; i++) to[i] = _accesses[i].Address >> 12;
            count += m;
        }
        return count;
    }
}
