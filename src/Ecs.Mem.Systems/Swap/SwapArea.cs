namespace EcsMem.Systems.Swap;

/// <summary>
/// One swap area (a swap file or partition, like Linux's swap_info_struct): <see cref="Slots"/> page-sized
/// slots, slot 0 reserved for the header as in Linux. <c>swap_map[slot]</c> counts the references to a slot
/// (page-table entries holding its swap entry) and a separate flag marks a slot whose page is in the swap
/// cache (SWAP_HAS_CACHE). A slot is free again only when both are gone.
/// <para>Slots are allocated as Linux 6.18 does for a rotational device (mm/swapfile.c): the area is cut into
/// clusters of <see cref="SwapfileCluster"/> slots kept on a free, a nonfull, a frag and a full list; allocation
/// continues from one global "next" slot (si->global_cluster, the non-SSD case) to the end of its cluster, then
/// takes the first nonfull cluster (scanned from its start, so slots freed earlier are reused), then the first
/// free one. Order-9 entries (THP_SWAP) take a whole free cluster (<see cref="GetSwapCluster"/>). Simplifications: no entries of the orders between (mTHP swap-out); no per-CPU cluster cache (SSD), discard, or reclaim of
/// cache-only slots when swap is full.</para>
/// </summary>
public sealed class SwapArea
{
    private readonly int[] _count;   // swap_map: PTE references
    private readonly bool[] _cached; // SWAP_HAS_CACHE
    private readonly ulong[] _token; // content written to the slot (stands for the data on disk)
    private readonly bool[] _zero;   // si->zeromap: the page written to the slot was zero-filled (no I/O was made)
    // A bit a slot, set while the slot is in use (referenced or cached) and for the header slot 0: the cluster scan's
    // search for a free slot reads 64 slots a word (a nearly full cluster took a step a used slot). A slot enters use
    // only where a scan or GetSwapCluster hands it out and leaves it only in ReleaseIfUnused.
    private readonly ulong[] _inUseBits;
    private int _used;

    /// <summary>SWAPFILE_CLUSTER with CONFIG_THP_SWAP on x86-64: HPAGE_PMD_NR slots a cluster.</summary>
    public const int SwapfileCluster = 512;

    // swap_cluster_info: per cluster its count of used slots, its flag (which list holds it) and intrusive links.
    private const byte FlagNone = 0, FlagFree = 1, FlagNonfull = 2, FlagFrag = 3, FlagFull = 4;
    private const int ListFree = 0, ListNonfull = 1, ListFrag = 2, ListFull = 3;
    private readonly int[] _ciCount;
    private readonly byte[] _ciFlags;
    private readonly int[] _ciPrev, _ciNext;
    private readonly int[] _head = [-1, -1, -1, -1], _tail = [-1, -1, -1, -1];
    private int _globalNext; // si->global_cluster->next[0]: 0 when no cluster is current

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
        _zero = new bool[Math.Max(slots, 1)];
        _inUseBits = new ulong[(Math.Max(slots, 1) + 63) / 64];
        _inUseBits[0] = 1; // the header slot is never handed out
        // setup_clusters: the header slot and the tail past the last slot count as used; a cluster with any
        // used slot starts on the nonfull list, the others on the free list, in order.
        int clusters = (Math.Max(slots, 1) + SwapfileCluster - 1) / SwapfileCluster;
        _ciCount = new int[clusters];
        _ciFlags = new byte[clusters];
        _ciPrev = new int[clusters];
        _ciNext = new int[clusters];
        _ciCount[0]++;
        _ciCount[clusters - 1] += clusters * SwapfileCluster - Math.Max(slots, 1);
        for (int c = 0; c < clusters; c++)
        {
            if (_ciCount[c] >= SwapfileCluster)
            {
                _ciFlags[c] = FlagFull;
                ListAddTail(c, ListFull);
            }
            else if (_ciCount[c] > 0)
            {
                _ciFlags[c] = FlagNonfull;
                ListAddTail(c, ListNonfull);
            }
            else
            {
                _ciFlags[c] = FlagFree;
                ListAddTail(c, ListFree);
            }
        }
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
    /// folio_alloc_swap / cluster_alloc_swap_entry (order 0, non-SSD): allocates a free slot, marked SWAP_HAS_CACHE
    /// because the page being swapped out enters the swap cache. First from the global next slot within its
    /// cluster, then from the nonfull clusters, then the free ones, then the frag ones. Returns 0 when the area is full.
    /// </summary>
    public int GetSwapPage()
    {
        if (_used >= UsablePages)
            return 0;
        int offset = _globalNext;
        if (offset != 0)
        {
            int ci = offset / SwapfileCluster;
            // cluster_is_usable: order 0 may use any cluster not full (nor being discarded).
            if (_ciFlags[ci] <= FlagFrag)
            {
                if (_ciCount[ci] == 0)
                    offset = ci * SwapfileCluster;
                int found = AllocSwapScanCluster(ci, offset);
                if (found != 0)
                    return found;
            }
        }
        for (int list = ListNonfull; ; list = list == ListNonfull ? ListFree : ListFrag)
        {
            // alloc_swap_scan_list with scan_all: isolate the first cluster, scan it from its start.
            while (_head[list] >= 0)
            {
                int ci = _head[list];
                ListDel(ci, list);
                _ciFlags[ci] = FlagNone;
                int found = AllocSwapScanCluster(ci, ci * SwapfileCluster);
                if (found != 0)
                    return found;
            }
            if (list == ListFrag)
                return 0;
        }
    }

    /// <summary>
    /// cluster_alloc_swap_entry for an order-9 folio (THP_SWAP, a PMD-sized folio): only a block device takes large
    /// entries (a swap file is refused: <c>order &amp;&amp; !(si-&gt;flags &amp; SWP_BLKDEV)</c>, which the caller checks),
    /// and an order-9 folio fills a whole cluster, so it takes the first cluster on the free list (the global next
    /// slot of order 9 never points into a usable cluster; orders below PMD_ORDER would try nonfull and frag lists
    /// first). All 512 slots are marked SWAP_HAS_CACHE and the cluster is full. Returns the first slot, or 0 when no
    /// cluster is wholly free.
    /// </summary>
    public int GetSwapCluster()
    {
        int ci = _head[ListFree];
        if (ci < 0)
            return 0;
        int first = ci * SwapfileCluster;
        for (int i = 0; i < SwapfileCluster; i++)
        {
            Dirty?.Slot(first + i);
            _cached[first + i] = true;
            _inUseBits[(first + i) >> 6] |= 1UL << (first + i);
        }
        _used += SwapfileCluster;
        _ciCount[ci] = SwapfileCluster;
        MoveCluster(ci, ListFull, FlagFull);
        return first;
    }

    /// <summary>
    /// alloc_swap_scan_cluster (order 0): the first free slot of cluster <paramref name="ci"/> at or after
    /// <paramref name="offset"/>; the slot after it becomes the global next unless the cluster is now full or ends
    /// there; then relocate_cluster files the cluster by its count.
    /// </summary>
    private int AllocSwapScanCluster(int ci, int offset)
    {
        int end = Math.Min(Slots, (ci + 1) * SwapfileCluster) - 1;
        int found = 0, next = 0;
        offset = FirstFreeSlot(offset, end);
        if (offset != 0)
        {
            Dirty?.Slot(offset);
            _cached[offset] = true;
            _inUseBits[offset >> 6] |= 1UL << offset;
            _used++;
            _ciCount[ci]++;
            found = offset;
            if (_ciCount[ci] < SwapfileCluster && offset + 1 <= end)
                next = offset + 1;
        }
        RelocateCluster(ci);
        _globalNext = next;
        return found;
    }

    /// <summary>
    /// The scan of alloc_swap_scan_cluster: the first slot in [<paramref name="from"/>, <paramref name="to"/>] not in use
    /// (no PTE reference, not cached; never the header slot), or 0 when there is none.
    /// </summary>
    private int FirstFreeSlot(int from, int to)
    {
        if (from > to)
            return 0;
        ulong free = ~_inUseBits[from >> 6] & (~0UL << from);
        for (int w = from >> 6; ;)
        {
            if (free != 0)
            {
                int slot = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(free);
                return slot <= to ? slot : 0;
            }
            if (++w > to >> 6)
                return 0;
            free = ~_inUseBits[w];
        }
    }

    /// <summary>For the invariant checker: the free-slot bitmap agrees with the slot's counts (in use: referenced or cached).</summary>
    public bool InUseBitAgrees(int slot) => ((_inUseBits[slot >> 6] >> slot) & 1) == (InUse(slot) ? 1UL : 0UL);

    /// <summary>relocate_cluster: an empty cluster to the free list, a partly used one to frag, a full one to full.</summary>
    private void RelocateCluster(int ci)
    {
        if (_ciCount[ci] == 0)
        {
            if (_ciFlags[ci] != FlagFree)
                MoveCluster(ci, ListFree, FlagFree);
        }
        else if (_ciCount[ci] != SwapfileCluster)
        {
            if (_ciFlags[ci] != FlagFrag)
                MoveCluster(ci, ListFrag, FlagFrag);
        }
        else if (_ciFlags[ci] != FlagFull)
            MoveCluster(ci, ListFull, FlagFull);
    }

    /// <summary>move_cluster: to the tail of <paramref name="list"/> (from whichever list holds it, if any).</summary>
    private void MoveCluster(int ci, int list, byte flag)
    {
        if (_ciFlags[ci] != FlagNone)
            ListDel(ci, ListOf(_ciFlags[ci]));
        ListAddTail(ci, list);
        _ciFlags[ci] = flag;
    }

    private static int ListOf(byte flag) => flag switch
    {
        FlagFree => ListFree,
        FlagNonfull => ListNonfull,
        FlagFrag => ListFrag,
        _ => ListFull,
    };

    private void ListAddTail(int ci, int list)
    {
        _ciNext[ci] = -1;
        _ciPrev[ci] = _tail[list];
        if (_tail[list] >= 0)
            _ciNext[_tail[list]] = ci;
        else
            _head[list] = ci;
        _tail[list] = ci;
    }

    private void ListDel(int ci, int list)
    {
        if (_ciPrev[ci] >= 0)
            _ciNext[_ciPrev[ci]] = _ciNext[ci];
        else
            _head[list] = _ciNext[ci];
        if (_ciNext[ci] >= 0)
            _ciPrev[_ciNext[ci]] = _ciPrev[ci];
        else
            _tail[list] = _ciPrev[ci];
        _ciPrev[ci] = _ciNext[ci] = -1;
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

    /// <summary>
    /// Records the content written to the slot by swap-out: <paramref name="zero"/> for a zero-filled page, which
    /// swap_writeout stores in the zeromap without I/O (swap_zeromap_folio_set); any other write clears the slot's bit
    /// (swap_zeromap_folio_clear), so a later read of the slot goes to the disk.
    /// </summary>
    public void Write(int slot, ulong contentToken, bool zero = false)
    {
        _token[slot] = contentToken;
        _zero[slot] = zero;
    }

    /// <summary>swap_zeromap_folio_test for one page: the slot's page was zero-filled, a swap-in reads no disk.</summary>
    public bool IsZero(int slot) => _zero[slot];

    /// <summary>The content read back by swap-in I/O.</summary>
    public ulong Read(int slot) => _token[slot];

    private void ReleaseIfUnused(int slot)
    {
        if (_count[slot] == 0 && !_cached[slot])
        {
            _token[slot] = 0;
            _zero[slot] = false; // swap_entries_free clears the slot's zeromap bit
            _inUseBits[slot >> 6] &= ~(1UL << slot);
            _used--;
            // swap_entries_free: an emptied cluster goes to the free list, a partly freed one to nonfull.
            int ci = slot / SwapfileCluster;
            _ciCount[ci]--;
            if (_ciCount[ci] == 0)
            {
                if (_ciFlags[ci] != FlagFree)
                    MoveCluster(ci, ListFree, FlagFree);
            }
            else if (_ciFlags[ci] != FlagNonfull)
                MoveCluster(ci, ListNonfull, FlagNonfull);
            SlotReleased?.Invoke(slot);
        }
    }

    private void CheckInUse(int slot)
    {
        if (!InUse(slot))
            throw new InvalidOperationException($"swap slot {slot} is not in use");
    }
}
