namespace EcsMem.Traces.Synthetic;

/// <summary>
/// Zipf-distributed element choices (see <see cref="ZipfTable"/>): rank k maps to element k-1,
/// so the hottest element is at <c>Base</c> and popularity falls with the address.
/// </summary>
public sealed class ZipfWorkload : SyntheticWorkload
{
    private readonly ulong _stride;
    private readonly ZipfTable _table;

    public ZipfWorkload(in WorkloadCommon common, ulong stride, long elements, double alpha, string sourceName = "zipf")
        : base(sourceName, common)
    {
        ArgumentOutOfRangeException.ThrowIfZero(stride);
        _stride = stride;
        _table = new ZipfTable(elements, alpha);
    }

    public ZipfTable Table => _table;

    protected override void Fill(Span<MemoryAccess> output)
    {
        for (int i = 0; i < output.Length; i++)
            output[i] = Access(Base + _stride * (ulong)(_table.Sample(ref Rng) - 1));
    }
}
