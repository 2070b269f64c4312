namespace EcsMem.Traces.Synthetic;

/// <summary>Independent uniform choices among <c>Elements</c> elements: <c>Base + Stride * U[0, Elements)</c>.</summary>
public sealed class UniformWorkload : SyntheticWorkload
{
    private readonly ulong _stride;
    private readonly ulong _elements;

    public UniformWorkload(in WorkloadCommon common, ulong stride, ulong elements, string sourceName = "uniform")
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
            output[i] = Access(Base + _stride * Rng.NextBelow(_elements));
    }
}
