namespace EcsMem.Traces.Synthetic;

/// <summary>
/// One forward pass at a fixed stride: access i is at <c>Base + i * Stride</c>. The region must
/// hold the whole pass (<c>Count * Stride</c> bytes); for a repeated sweep use <see cref="LoopWorkload"/>.
/// </summary>
public sealed class SequentialWorkload : SyntheticWorkload
{
    private readonly ulong _stride;
    private ulong _next;

    public SequentialWorkload(in WorkloadCommon common, ulong stride, string sourceName = "seq")
        : base(sourceName, common)
    {
        ArgumentOutOfRangeException.ThrowIfZero(stride);
        _stride = stride;
        _next = common.Base;
    }

    protected override void Fill(Span<MemoryAccess> output)
    {
        for (int i = 0; i < output.Length; i++)
        {
            output[i] = Access(_next);
            _next += _stride;
        }
    }
}
