namespace EcsMem.Systems.Swap;

/// <summary>
/// One swap area (a swap file or partition, like Linux's swap_info_struct): <see cref="Slots"/> page-sized
/// slots, slot 0 reserved for the header as in Linux. <c>swap_map[slot]</c> counts the references to a slot
/// (page-table entries holding its swap entry) and a separate flag marks a slot whose page is in the swap
/// cache (SWAP_HAS_CACHE). A slot is free again only when both are gone.
/// </summary>
public sealed class SwapArea
{
    private readonly int[] _count;   // swap_map: PTE references
    private readonly bool[] _cached; // SWAP_HAS_CACHE
    private readonly ulong[] _token; // content written to the slot (stands for the data on disk)
    private int _cursor = 1;         // next-fit cursor, like si->cluster_next
    private int _used;

    /// <summary>The incremental checker's record of the tick's changes (null when checking is off).</summary>
    internal Kernel.DirtySet? Dirty;

    /// <summary>Creates an area of <paramref name="slots"/> slots (including the header slot 0).</summary>
    public SwapArea(int slots)
    {
        if (slots < 0)
            throw new ArgumentOutOfRangeException(nameof(slots));
        Slots = slots;
        _count = new int[Math.Max(slots, 1)];
        _cached = new bool[Math.Max(slots, 1)];
        _token = new ulong[Math.Max(slots, 1)];
    }

    /// <summary>Total slots including the reserved header slot.</summary>
    public int Slots { get; }

    /// <summary>Slots that can hold pages (si->pages): all but the header.</summary>
    public int UsablePages => Math.Max(Slots - 1, 0);

    /// <summary>Slots in use (si->inuse_pages).</summary>
    public int UsedPages => _used;

    public int FreePages => UsablePages - _used;

    /// <summary>swap_entry_free's mem_cgroup_uncharge_swap: told each slot that becomes free (null without cgroups).</summary>
    public Action<int>? SlotReleased { get; set; }

    /// <summary>vm_swap_full: more than half of swap is in use (nr_swap_pages * 2 &lt; total_swap_pages).</summary>
    public bool VmSwapFull => (long)FreePages * 2 < UsablePages;

    /// <summary>
    /// get_swap_page / scan_swap_map_slots: allocates a free slot, marked SWAP_HAS_CACHE because the page
    /// being swapped out enters the swap cache. Next-fit from a cursor, so consecutive swap-outs get
    /// consecutive slots as Linux's cluster allocation tends to. Returns 0 when the area is full.
    /// </summary>
    public int GetSwapPage()
    {
        if (_used >= UsablePages)
            return 0;
        for (int n = 0; n < UsablePages; n++)
        {
            int slot = _cursor;
            _cursor = _cursor + 1 >= Slots ? 1 : _cursor + 1;
            if (_count[slot] == 0 && !_cached[slot])
            {
                Dirty?.Slot(slot);
                _cached[slot] = true;
                _used++;
                return slot;
            }
        }
        return 0;
    }

    /// <summary>swap_duplicate: one more page-table entry refers to <paramref name="slot"/>.</summary>
    public void SwapDuplicate(int slot)
    {
        Dirty?.Slot(slot);
        CheckInUse(slot);
        _count[slot]++;
    }

    /// <summary>swap_free: one page-table entry no longer refers to <paramref name="slot"/>.</summary>
    public void SwapFree(int slot)
    {
        Dirty?.Slot(slot);
        CheckInUse(slot);
        if (_count[slot] == 0)
            throw new InvalidOperationException($"swap slot {slot} freed more often than it was referenced");
        _count[slot]--;
        ReleaseIfUnused(slot);
    }

    /// <summary>Marks or clears SWAP_HAS_CACHE (add_to_swap_cache / delete_from_swap_cache).</summary>
    public void SetCached(int slot, bool cached)
    {
        Dirty?.Slot(slot);
        CheckInUse(slot);
        _cached[slot] = cached;
        ReleaseIfUnused(slot);
    }

    /// <summary>Number of page-table references to <paramref name="slot"/> (swp_swapcount).</summary>
    public int Count(int slot) => _count[slot];

    public bool IsCached(int slot) => _cached[slot];

    /// <summary>True when the slot holds a page (referenced or cached).</summary>
    public bool InUse(int slot) => slot > 0 && slot < Slots && (_count[slot] > 0 || _cached[slot]);

    /// <summary>Records the content written to the slot by swap-out I/O.</summary>
    public void Write(int slot, ulong contentToken) => _token[slot] = contentToken;

    /// <summary>The content read back by swap-in I/O.</summary>
    public ulong Read(int slot) => _token[slot];

    private void ReleaseIfUnused(int slot)
    {
        if (_count[slot] == 0 && !_cached[slot])
        {
            _token[slot] = 0;
            _used--;
            SlotReleased?.Invoke(slot);
        }
    }

    private void CheckInUse(int slot)
    {
        if (!InUse(slot))
            throw new InvalidOperationException($"swap slot {slot} is not in use");
    }
}
