namespace EcsMem.Components;

/// <summary>
/// Which memory line a cache way holds: the line number (address &gt;&gt; line bits), or <see cref="Invalid"/>
/// when the way is empty. Cache lines are the entities of a pinned table per cache level
/// (row = set × ways + way); this component's column is the cache's tag array itself, so the lookup
/// loop scans it directly.
/// </summary>
public struct CacheLineTag
{
    /// <summary>Tag of an empty way. No real line number reaches it: line numbers are addresses shifted right.</summary>
    public const ulong Invalid = ulong.MaxValue;

    /// <summary>The line number held, or <see cref="Invalid"/>.</summary>
    public ulong Line;

    public readonly bool IsValid => Line != Invalid;
}
