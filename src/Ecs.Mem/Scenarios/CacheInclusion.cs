namespace EcsMem.Scenarios;

/// <summary>How a cache level relates to the levels above it (closer to the core).</summary>
public enum CacheInclusion
{
    /// <summary>Lines may live in upper levels without being here (Intel's "non-inclusive, non-exclusive" L2).</summary>
    NonInclusive,

    /// <summary>Every line of the upper levels is also here: evicting a line here back-invalidates it above.</summary>
    Inclusive,
}
