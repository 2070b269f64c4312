namespace EcsMem.Components;

/// <summary>
/// A cache line's replacement stamp: the owning cache's tick at the last use (LRU) or at the fill (FIFO).
/// Kept in its own column, apart from the tag, so the replacement policy reads a set's stamps as one
/// contiguous run and the lookup loop scans only tags.
/// </summary>
public struct CacheLineStamp
{
    public ulong Tick;
}
