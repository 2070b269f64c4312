namespace EcsMem.Systems.Caches;

/// <summary>Per-line state bits kept in the cache's flag column.</summary>
[Flags]
public enum CacheLineFlags : byte
{
    None = 0,
    /// <summary>Written since it was filled: must be written back when evicted (write-back cache).</summary>
    Dirty = 1,
}
