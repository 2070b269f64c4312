namespace EcsMem.Systems.Caches;

/// <summary>
/// Event counts of one cache level. Demand accesses (from the program or from the level above
/// fetching a line) are split into reads and writes; write-backs and back-invalidations are the
/// lines this level pushed down or lost to inclusion.
/// </summary>
public struct CacheCounters
{
    public long ReadAccesses;
    public long WriteAccesses;
    public long ReadMisses;
    public long WriteMisses;

    /// <summary>Dirty lines this level evicted (or lost to back-invalidation) and wrote back below.</summary>
    public long WriteBacks;

    /// <summary>Lines this level lost because the inclusive last level evicted them.</summary>
    public long BackInvalidations;

    public readonly long Accesses => ReadAccesses + WriteAccesses;
    public readonly long Misses => ReadMisses + WriteMisses;
    public readonly long Hits => Accesses - Misses;
    public readonly long ReadHits => ReadAccesses - ReadMisses;
    public readonly long WriteHits => WriteAccesses - WriteMisses;
}
