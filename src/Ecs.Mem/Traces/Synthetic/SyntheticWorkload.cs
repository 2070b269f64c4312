namespace EcsMem.Traces.Synthetic;

/// <summary>
/// Base of the generated workloads: counts accesses down and asks the concrete generator for a
/// batch at a time, so there is one virtual call per batch rather than per access.
/// </summary>
public abstract class SyntheticWorkload : ITraceReader
{
    private long _remaining;
    // Copies of the common fields: reading them through the Common property would copy the whole record per access.
    private readonly double _writes;
    protected readonly int Process;
    protected readonly ushort Size;
    protected readonly ulong Base;

    /// <summary>The generator's random stream, seeded from <see cref="WorkloadCommon.Seed"/>.</summary>
    protected Xoshiro256StarStar Rng;

    protected SyntheticWorkload(string sourceName, in WorkloadCommon common)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(common.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(common.Process);
        if (common.Writes is < 0 or > 1 || double.IsNaN(common.Writes))
            throw new ArgumentOutOfRangeException(nameof(common), "Writes must be in [0, 1]");
        SourceName = sourceName;
        Common = common;
        _remaining = common.Count;
        _writes = common.Writes;
        Process = common.Process;
        Size = common.Size;
        Base = common.Base;
        Rng = new Xoshiro256StarStar(common.Seed);
    }

    public string SourceName { get; }

    public WorkloadCommon Common { get; }

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = (int)Math.Min(buffer.Length, _remaining);
        if (n == 0) return 0;
        Fill(buffer[..n]);
        _remaining -= n;
        return n;
    }

    /// <summary>Writes the next <c>output.Length</c> accesses.</summary>
    protected abstract void Fill(Span<MemoryAccess> output);

    /// <summary>An access at <paramref name="address"/> whose kind is a store with probability <see cref="WorkloadCommon.Writes"/>.</summary>
    protected MemoryAccess Access(ulong address)
    {
        var kind = _writes > 0 && Rng.NextDouble() < _writes ? AccessKind.Store : AccessKind.Load;
        return new MemoryAccess(address, Process, Size, kind);
    }

    public void Dispose() => GC.SuppressFinalize(this);
}
