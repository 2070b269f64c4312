namespace EcsMem.Traces.Synthetic;

/// <summary>
/// A hot set mixed with a scan, the pattern that defeats plain LRU and motivates Linux's
/// active/inactive lists: with probability <c>HotFraction</c> an access picks uniformly one of the
/// first <c>Hot</c> elements; otherwise it takes the next element of an endless cyclic scan over the
/// remaining <c>Elements - Hot</c> elements.
/// </summary>
public sealed class ScanHotWorkload : SyntheticWorkload
{
    private readonly ulong _stride;
    private readonly ulong _hot;
    private readonly ulong _cold;
    private readonly double _hotFraction;
    private ulong _scan;

    public ScanHotWorkload(in WorkloadCommon common, ulong stride, ulong elements, ulong hot, double hotFraction,
        string sourceName = "scanhot")
        : base(sourceName, common)
    {
        ArgumentOutOfRangeException.ThrowIfZero(stride);
        if (hot == 0 || hot >= elements) throw new ArgumentOutOfRangeException(nameof(hot));
        if (!(hotFraction is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(hotFraction));
        _stride = stride;
        _hot = hot;
        _cold = elements - hot;
        _hotFraction = hotFraction;
    }

    protected override void Fill(Span<MemoryAccess> output)
    {
        for (int i = 0; i < output.Length; i++)
        {
            ulong e;
            if (Rng.NextDouble() < _hotFraction)
            {
                e = Rng.NextBelow(_hot);
            }
            else
            {
                e = _hot + _scan;
                if (++_scan == _cold) _scan = 0;
            }
            output[i] = Access(Base + _stride * e);
        }
    }
}
