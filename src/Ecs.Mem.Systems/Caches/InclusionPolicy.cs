namespace EcsMem.Systems.Caches;

/// <summary>How the last-level cache relates to the levels above it.</summary>
public enum InclusionPolicy
{
    /// <summary>Every line above is also in L3: an L3 eviction back-invalidates the L1/L2 copies (Intel up to Skylake client).</summary>
    Inclusive,
    /// <summary>L3 may or may not hold lines present above; its evictions leave L1/L2 alone.</summary>
    NonInclusive,
}
