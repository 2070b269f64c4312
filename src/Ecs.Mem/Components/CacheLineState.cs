namespace EcsMem.Components;

/// <summary>A cache line's state bits (dirty); a query over this component finds e.g. every dirty line of a level.</summary>
public struct CacheLineState
{
    public CacheLineFlags Flags;

    public readonly bool IsDirty => (Flags & CacheLineFlags.Dirty) != 0;
}
