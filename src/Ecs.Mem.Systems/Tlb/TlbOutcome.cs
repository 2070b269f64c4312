namespace EcsMem.Systems.Tlb;

/// <summary>Where a translation was found.</summary>
public enum TlbOutcome : byte
{
    /// <summary>Hit in the L1 dTLB or iTLB.</summary>
    L1Hit = 0,
    /// <summary>L1 miss, STLB hit (the L1 was filled from the STLB).</summary>
    StlbHit = 1,
    /// <summary>Missed both levels: the caller walks the page table and calls Fill.</summary>
    Miss = 2,
}
