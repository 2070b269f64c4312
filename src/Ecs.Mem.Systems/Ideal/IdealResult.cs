namespace EcsMem.Systems.Ideal;

/// <summary>Counts of one ideal-mode replay.</summary>
/// <param name="Policy">Name of the replacement policy.</param>
/// <param name="Frames">Number of page frames.</param>
/// <param name="References">Page references replayed.</param>
/// <param name="Hits">References to a resident page.</param>
/// <param name="ColdFaults">Faults on the first reference to a page (compulsory misses).</param>
/// <param name="CapacityFaults">Faults on a page that was resident before and was evicted.</param>
/// <param name="Evictions">Pages evicted (each fault with all frames full evicts exactly one).</param>
public sealed record IdealResult(string Policy, int Frames, long References, long Hits, long ColdFaults, long CapacityFaults, long Evictions)
{
    /// <summary>All faults: cold + capacity.</summary>
    public long Faults => ColdFaults + CapacityFaults;

    /// <summary>Faults per reference (0 for an empty trace).</summary>
    public double FaultRatio => References == 0 ? 0.0 : (double)Faults / References;
}
