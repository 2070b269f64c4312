namespace EcsMem.Systems.Swap;

/// <summary>
/// The swap cache (mm/swap_state.c): swap slot → frame for pages on their way out to swap or back in.
/// It keeps a page findable while its slot and its frame both exist, so a second process faulting on the
/// same swap entry (after fork) maps the same frame instead of reading the slot again.
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
    public int Lookup(int slot) => _pfnBySlot[slot];

    /// <summary>add_to_swap_cache.</summary>
    public void Add(int slot, int pfn)
    {
        Dirty?.Slot(slot);
        Dirty?.Frame(pfn);
        if (_pfnBySlot[slot] >= 0)
            throw new InvalidOperationException($"swap slot {slot} is already cached in frame {_pfnBySlot[slot]}");
        _pfnBySlot[slot] = pfn;
        _count++;
    }

    /// <summary>delete_from_swap_cache.</summary>
    public void Delete(int slot)
    {
        if (Dirty is not null)
        {
            Dirty.Slot(slot);
            Dirty.Frame(_pfnBySlot[slot]);
        }
        if (_pfnBySlot[slot] < 0)
            throw new InvalidOperationException($"swap slot {slot} is not in the swap cache");
        _pfnBySlot[slot] = -1;
        _count--;
    }
}
