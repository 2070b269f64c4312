namespace EcsMem.Components;

/// <summary>Per-line state bits of a simulated CPU cache line (the <see cref="CacheLineState"/> component).</summary>
[Flags]
public enum CacheLineFlags : byte
{
    None = 0,
    /// <summary>Written since it was filled: must be written back when evicted (write-back cache).</summary>
    Dirty = 1,
}
