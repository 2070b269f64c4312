namespace EcsMem.Traces.Synthetic;

/// <summary>
/// A cyclic sweep: access i is at <c>Base + Stride * (i mod Elements)</c>. With more elements
/// than frames this is the classic case where LRU misses on every access.
/// </summary>
public sealed class LoopWorkload : SyntheticWorkload
{
    private readonly ulong _stride;
    private readonly ulong _elements;
    private ulong _index;

    public LoopWorkload(in WorkloadCommon common, ulong stride, ulong elements, string sourceName = "loop")
        : base(sourceName, common)
    {
        ArgumentOutOfRangeException.ThrowIfZero(stride);
        ArgumentOutOfRangeException.ThrowIfZero(elements);
        _stride = stride;
        _elements = elements;
    }

    protected override void Fill(Span<MemoryAccess> output)
    {
        for (int i = 0; i < output.Length; i++)
        {
            output[i] = Access(Base + _stride * _index);
            if (++_index == _elements) _index = 0;
        }
    }
}
