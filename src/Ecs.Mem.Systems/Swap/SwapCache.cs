namespace EcsMem.Systems.Swap;

/// <summary>
/// The swap cache (mm/swap_state.c): swap slot → frame for pages on their way out to swap or back in.
/// It keeps a page findable while its slot and its frame both exist, so a second process faulting on the
/// same swap entry (after fork) maps the same frame instead of reading the slot again. A slot whose page reclaim
/// evicted keeps its workingset shadow entry here (a value below -1), as Linux's swap cache xarray does, until the
/// page is read back (workingset_refault) or the slot is reused.
/// </summary>
public sealed class SwapCache
{
    private readonly int[] _pfnBySlot;
    private int _count;

    /// <summary>The incremental checker's record of the tick's changes (null when checking is off).</summary>
    internal Kernel.DirtySet? Dirty;

    public SwapCache(int slots)
    {
        _pfnBySlot = new int[Math.Max(slots, 1)];
        Array.Fill(_pfnBySlot, -1);
    }

    /// <summary>Pages currently in the swap cache.</summary>
    public int Count => _count;

    /// <summary>lookup_swap_cache: the frame caching <paramref name="slot"/>, or -1.</summary>
    public int Lookup(int slot) => _pfnBySlot[slot] >= 0 ? _pfnBySlot[slot] : -1;

    /// <summary>add_to_swap_cache. Returns the shadow entry the slot held (&gt;= 0), or -1.</summary>
    public int Add(int slot, int pfn)
    {
        Dirty?.Slot(slot);
        Dirty?.Frame(pfn);
        int old = _pfnBySlot[slot];
        if (old >= 0)
            throw new InvalidOperationException($"swap slot {slot} is already cached in frame {old}");
        _pfnBySlot[slot] = pfn;
        _count++;
        return old < -1 ? -2 - old : -1;
    }

    /// <summary>delete_from_swap_cache; a reclaimed page leaves <paramref name="shadow"/> (&gt;= 0) in the slot.</summary>
    public void Delete(int slot, int shadow = -1)
    {
        if (Dirty is not null)
        {
            Dirty.Slot(slot);
            Dirty.Frame(Lookup(slot));
        }
        if (_pfnBySlot[slot] < 0)
            throw new InvalidOperationException($"swap slot {slot} is not in the swap cache");
        _pfnBySlot[slot] = shadow >= 0 ? -2 - shadow : -1;
        _count--;
    }
}
