namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// Binary buddy allocator over one zone's pfn range, following Linux's mm/page_alloc.c: per-order free lists,
/// splitting with expand(), coalescing in __free_one_page(), and the same list-head/list-tail choices so that
/// <c>/proc/buddyinfo</c> evolves as the kernel's would. The per-CPU page lists in front of it are
/// <see cref="PerCpuPageSet"/>; their pages are allocated blocks from this class's point of view.
/// </summary>
/// <remarks>
/// <para>All state lives in pfn-indexed arrays (Linux keeps it in struct page): an intrusive doubly-linked free
/// list per order in <c>_next</c>/<c>_prev</c> (Linux: page-&gt;buddy_list), the order of each free block's head in
/// <c>_freeOrder</c> (PageBuddy + page_private) and the order of each allocated block's head in <c>_allocOrder</c>,
/// which Linux does not keep but the simulator needs to catch double frees. Nothing is allocated after the
/// constructor, so AllocPages/FreePages are garbage-free.</para>
/// <para>Blocks are aligned on absolute pfns (a block of order k starts at a multiple of 2^k), as in Linux, so a
/// range that does not start at 0 or is not a multiple of 2^10 pages is covered by smaller blocks at its edges.</para>
/// <para>Grouping by mobility (Linux 6.18): every pageblock (2^9 pages) has a migrate type (pageblock_flags), all
/// MOVABLE at boot as memmap_init leaves them; each order has one free list per type (free_area[order].free_list[mt])
/// and a free block is always on its pageblock's type's list. An allocation takes from its own type's lists
/// (__rmqueue_smallest), then claims a whole block of another type (__rmqueue_claim / try_to_claim_block), then
/// steals the smallest fitting block without claiming (__rmqueue_steal), in the order of Linux's fallbacks[].
/// MIGRATE_HIGHATOMIC, MIGRATE_CMA and MIGRATE_ISOLATE are never used (no atomic high-order allocations, no CMA,
/// no memory hot-remove). A claim of a block smaller than a pageblock first calls <see cref="BoostWatermarkEvent"/>
/// (try_to_claim_block's boost_watermark, applied by the zone).</para>
/// </remarks>
public sealed class BuddyAllocator
{
    /// <summary>pageblock_order on x86-64 (HPAGE_PMD_ORDER): a pageblock is 512 pages, 2 MiB.</summary>
    public const int PageblockOrder = 9;

    /// <summary>pageblock_nr_pages.</summary>
    public const int PageblockPages = 1 << PageblockOrder;

    /// <summary>MIGRATE_PCPTYPES: the types with free lists here (Unmovable, Movable, Reclaimable).</summary>
    public const int NrTypes = 3;

    /// <summary>MAX_PAGE_ORDER (formerly MAX_ORDER-1): the largest block is 2^10 pages = 4 MiB with 4 KiB pages.</summary>
    public const int MaxOrder = 10;

    /// <summary>NR_PAGE_ORDERS: number of free lists (orders 0..MaxOrder), the columns of /proc/buddyinfo.</summary>
    public const int NrOrders = MaxOrder + 1;

    private const int None = -1;

    private readonly int _startPfn;
    private readonly int _pageCount;

    // Intrusive free lists: links are array indices (pfn - _startPfn), None terminates.
    private readonly int[] _next;
    private readonly int[] _prev;
    // One list per (order, migrate type): index order * NrTypes + type.
    private readonly int[] _head = new int[NrOrders * NrTypes];
    private readonly int[] _tail = new int[NrOrders * NrTypes];
    private readonly long[] _nrFreeByType = new long[NrOrders * NrTypes];

    // The migrate type of each pageblock touching the zone (index (pfn >> 9) - (startPfn >> 9)).
    private readonly byte[] _blockType;
    private readonly int _firstBlock;

    // Order of the free block headed at an index, or None (Linux: PageBuddy() and buddy_order()).
    private readonly sbyte[] _freeOrder;

    // Order of the allocated block headed at an index, or None; lets FreePages reject bad frees.
    private readonly sbyte[] _allocOrder;

    // The migrate type of the list a free block's head is on (Linux reads it from the pageblock; the two agree).
    private readonly byte[] _freeMt;

    private readonly long[] _nrFree = new long[NrOrders];
    private readonly long[] _allocFailures = new long[NrOrders];
    private long _freePages;
    private long _minFreePages;
    private long _minFreeAt;

    /// <summary>Creates a zone of <paramref name="pageCount"/> pages starting at <paramref name="startPfn"/>, all free.</summary>
    /// <remarks>The initial freeing follows memblock's __free_pages_memory(): the largest aligned block that fits at
    /// each position, queued at the list tail (FPI_TO_TAIL) in increasing pfn order.</remarks>
    public BuddyAllocator(int pageCount, int startPfn = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageCount);
        ArgumentOutOfRangeException.ThrowIfNegative(startPfn);
        if ((long)startPfn + pageCount > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(pageCount), "pfn range must end below 2^31");

        _startPfn = startPfn;
        _pageCount = pageCount;
        _next = new int[pageCount];
        _prev = new int[pageCount];
        _freeOrder = new sbyte[pageCount];
        _allocOrder = new sbyte[pageCount];
        _freeMt = new byte[pageCount];
        Array.Fill(_next, None);
        Array.Fill(_prev, None);
        Array.Fill(_freeOrder, (sbyte)None);
        Array.Fill(_allocOrder, (sbyte)None);
        Array.Fill(_head, None);
        Array.Fill(_tail, None);
        _firstBlock = startPfn >> PageblockOrder;
        _blockType = new byte[((int)(((long)startPfn + pageCount - 1) >> PageblockOrder)) - _firstBlock + 1];
        Array.Fill(_blockType, (byte)MigrateType.Movable); // memmap_init: every pageblock starts MIGRATE_MOVABLE

        long pfn = startPfn;
        long end = (long)startPfn + pageCount;
        while (pfn < end)
        {
            int order = pfn == 0 ? MaxOrder : Math.Min(MaxOrder, System.Numerics.BitOperations.TrailingZeroCount(pfn));
            while (pfn + (1L << order) > end)
                order--;
            FreeOneBlock((int)pfn, order, toTail: true);
            pfn += 1L << order;
        }
        _minFreePages = _freePages;
    }

    /// <summary>
    /// Replaces the boot's free lists with an aged machine's (<see cref="AgedFreeArea"/>): its held pages become
    /// allocated order-0 pages and its free blocks go on their lists in its order. Only on a zone nothing has been
    /// allocated from yet. No two free buddies meet, so no block merges (checked: a merge would be a layout bug).
    /// </summary>
    public void Age(AgedFreeArea area)
    {
        ArgumentNullException.ThrowIfNull(area);
        if (AllocCount != 0 || FreeCount != 0 || _freePages != _pageCount || area.Held.Length != _pageCount || _startPfn != 0)
            throw new InvalidOperationException("Age: only a whole zone at pfn 0 that nothing has been allocated from can be aged");
        for (int list = 0; list < _head.Length; list++)
        {
            int order = list / NrTypes;
            while (_head[list] != None)
                RemoveFromFreeList(_head[list], order);
        }
        _freePages = 0;
        for (int i = 0; i < _pageCount; i++)
            if (area.Held[i])
                _allocOrder[i] = 0;
        long merges = MergeCount;
        for (int b = 0; b < area.BlockPfn.Length; b++)
            FreeOneBlock(area.BlockPfn[b], area.BlockOrder[b], toTail: true);
        if (MergeCount != merges)
            throw new InvalidOperationException("Age: two free buddies met in the aged free area (a layout bug)");
        _minFreePages = _freePages;
    }

    /// <summary>First pfn of the zone (zone-&gt;zone_start_pfn).</summary>
    public int StartPfn => _startPfn;

    /// <summary>Pages the allocator manages (zone_managed_pages()).</summary>
    public int ManagedPages => _pageCount;

    /// <summary>Free pages in all free lists (NR_FREE_PAGES).</summary>
    public long NrFreePages => _freePages;

    /// <summary>Pages currently handed out.</summary>
    public long AllocatedPages => _pageCount - _freePages;

    /// <summary>Free blocks per order (free_area[order].nr_free), index = order.</summary>
    public ReadOnlySpan<long> NrFree => _nrFree;

    /// <summary>Failed AllocPages calls per requested order.</summary>
    public ReadOnlySpan<long> AllocFailures => _allocFailures;

    /// <summary>Successful AllocPages calls.</summary>
    public long AllocCount { get; private set; }

    /// <summary>
    /// The lowest NR_FREE_PAGES so far (the zone's free count only falls in <see cref="AllocPages"/>, so that is
    /// the one place it is compared: no allocation, one compare per call).
    /// </summary>
    public long MinFreePages => _minFreePages;

    /// <summary>The <see cref="AllocCount"/> right after the allocation that first brought free pages to <see cref="MinFreePages"/> (0: never below the start).</summary>
    public long MinFreeAt => _minFreeAt;

    /// <summary>FreePages calls.</summary>
    public long FreeCount { get; private set; }

    /// <summary>Block halvings done by expand() (one per upper half put back on a free list).</summary>
    public long SplitCount { get; private set; }

    /// <summary>Buddy pairs coalesced by __free_one_page(), including during the initial freeing.</summary>
    public long MergeCount { get; private set; }

    /// <summary>
    /// Allocates a block of 2^<paramref name="order"/> pages of <paramref name="migratetype"/> (alloc_pages with
    /// the gfp's type, gfp_migratetype). Returns its first pfn, or -1 when no free block of that order or larger
    /// exists in any list. Two passes as get_page_from_freelist makes them on x86-64's ZONE_NORMAL: first with
    /// ALLOC_NOFRAGMENT (only whole pageblocks of another type may be claimed), then without.
    /// </summary>
    public int AllocPages(int order, MigrateType migratetype = MigrateType.Movable)
    {
        if ((uint)order > MaxOrder)
            throw new ArgumentOutOfRangeException(nameof(order), order, "order must be 0.." + MaxOrder);
        if ((uint)migratetype >= NrTypes)
            throw new ArgumentOutOfRangeException(nameof(migratetype), migratetype, "only Unmovable, Movable and Reclaimable have free lists");
        var mode = RmqueueMode.Normal;
        int pfn = Rmqueue(order, migratetype, noFragment: true, ref mode);
        if (pfn < 0)
        {
            mode = RmqueueMode.Normal;
            pfn = Rmqueue(order, migratetype, noFragment: false, ref mode);
        }
        if (pfn < 0)
            _allocFailures[order]++;
        return pfn;
    }

    /// <summary>enum rmqueue_mode: where __rmqueue found pages last, so rmqueue_bulk's next call starts there.</summary>
    public enum RmqueueMode : byte
    {
        /// <summary>RMQUEUE_NORMAL: the requested type's own lists first.</summary>
        Normal,
        /// <summary>RMQUEUE_CLAIM: claiming a block of another type.</summary>
        Claim,
        /// <summary>RMQUEUE_STEAL: stealing from another type without claiming.</summary>
        Steal,
    }

    /// <summary>
    /// __rmqueue (mm/page_alloc.c, Linux 6.18) for one block: __rmqueue_smallest on <paramref name="migratetype"/>'s
    /// lists, then __rmqueue_claim, then (without ALLOC_NOFRAGMENT) __rmqueue_steal, starting at the step
    /// <paramref name="mode"/> names and leaving there the step that succeeded. Returns the pfn or -1; the page
    /// counts as allocated (the caller counts no failure: rmqueue_bulk stops quietly).
    /// </summary>
    public int Rmqueue(int order, MigrateType migratetype, bool noFragment, ref RmqueueMode mode)
    {
        int index = None;
        if (mode == RmqueueMode.Normal)
            index = RmqueueSmallest(order, (int)migratetype);
        if (index == None && mode <= RmqueueMode.Claim)
        {
            index = RmqueueClaim(order, (int)migratetype, noFragment);
            if (index != None)
                mode = RmqueueMode.Normal; // the preferred lists were replenished
        }
        if (index == None && !noFragment)
        {
            index = RmqueueSteal(order, (int)migratetype);
            if (index != None)
                mode = RmqueueMode.Steal;
        }
        if (index == None)
            return -1;
        _allocOrder[index] = (sbyte)order;
        _freePages -= 1L << order;
        AllocCount++;
        if (_freePages < _minFreePages)
        {
            _minFreePages = _freePages;
            _minFreeAt = AllocCount;
        }
        return index + _startPfn;
    }

    /// <summary>Fallback allocations so far: the mm_page_alloc_extfrag tracepoint's firings (a claim or a steal from another type's lists).</summary>
    public long Extfrag { get; private set; }

    /// <summary>Called at every <see cref="Extfrag"/> event (the zone counts them as <c>ecsmem_extfrag</c>).</summary>
    public Action? ExtfragEvent { get; set; }

    /// <summary>
    /// Called when try_to_claim_block looks at a free block smaller than a pageblock of another type (the zone's
    /// boost_watermark; whole-pageblock claims and __rmqueue_steal do not boost, as in Linux 6.18).
    /// </summary>
    public Action? BoostWatermarkEvent { get; set; }

    /// <summary>Pageblocks whose migrate type a fallback changed (claimed whole, try_to_claim_block).</summary>
    public long BlocksClaimed { get; private set; }

    // __rmqueue_smallest: the first block of the list of the smallest order that has one (list_first_entry).
    private int RmqueueSmallest(int order, int mt)
    {
        for (int current = order; current <= MaxOrder; current++)
        {
            int index = _head[(current * NrTypes) + mt];
            if (index == None)
                continue;
            RemoveFromFreeList(index, current);
            Expand(index, order, current, mt);
            return index;
        }
        return None;
    }

    /// <summary>fallbacks[] (mm/page_alloc.c): the other types an allocation of a type may fall back to, in order.</summary>
    public static MigrateType Fallback(MigrateType migratetype, int i) => (migratetype, i) switch
    {
        (MigrateType.Unmovable, 0) => MigrateType.Reclaimable,
        (MigrateType.Unmovable, _) => MigrateType.Movable,
        (MigrateType.Movable, 0) => MigrateType.Reclaimable,
        (MigrateType.Movable, _) => MigrateType.Unmovable,
        (MigrateType.Reclaimable, 0) => MigrateType.Unmovable,
        _ => MigrateType.Movable,
    };

    /// <summary>
    /// should_try_claim_block: a fallback from a free block of <paramref name="order"/> tries to claim its whole
    /// pageblock when the block is at least half a pageblock's order (order &gt;= pageblock_order / 2), or when the
    /// allocation is unmovable or reclaimable (which would pollute a movable block for good); movable allocations of
    /// small blocks only steal.
    /// </summary>
    public static bool ShouldTryClaimBlock(int order, MigrateType startType) =>
        order >= PageblockOrder / 2 || startType is MigrateType.Reclaimable or MigrateType.Unmovable;

    // find_suitable_fallback: -2 when claiming is not worth it at this order, -1 when no fallback list has a block.
    private int FindSuitableFallback(int order, int mt, bool claimable)
    {
        if (claimable && !ShouldTryClaimBlock(order, (MigrateType)mt))
            return -2;
        if (_nrFree[order] == 0)
            return -1;
        for (int i = 0; i < NrTypes - 1; i++)
        {
            int fallback = (int)Fallback((MigrateType)mt, i);
            if (_head[(order * NrTypes) + fallback] != None)
                return fallback;
        }
        return -1;
    }

    // __rmqueue_claim: the largest free block of a fallback type (an approximation of the pageblock with most free
    // pages), from MAX_PAGE_ORDER down; with ALLOC_NOFRAGMENT only whole pageblocks (order >= pageblock_order).
    private int RmqueueClaim(int order, int startMt, bool noFragment)
    {
        int minOrder = order < PageblockOrder && noFragment ? PageblockOrder : order;
        for (int current = MaxOrder; current >= minOrder; current--)
        {
            int fallback = FindSuitableFallback(current, startMt, claimable: true);
            if (fallback == -1)
                continue;
            if (fallback == -2)
                break;
            int index = _head[(current * NrTypes) + fallback];
            int got = TryToClaimBlock(index, current, order, startMt, fallback);
            if (got != None)
            {
                Extfrag++;
                ExtfragEvent?.Invoke();
                return got;
            }
        }
        return None;
    }

    // __rmqueue_steal: the smallest block of a fallback type that fits, taken without claiming its pageblock (the
    // rest of the block stays on the fallback type's lists).
    private int RmqueueSteal(int order, int startMt)
    {
        for (int current = order; current <= MaxOrder; current++)
        {
            int fallback = FindSuitableFallback(current, startMt, claimable: false);
            if (fallback == -1)
                continue;
            int index = _head[(current * NrTypes) + fallback];
            RemoveFromFreeList(index, current);
            Expand(index, order, current, fallback);
            Extfrag++;
            ExtfragEvent?.Invoke();
            return index;
        }
        return None;
    }

    /// <summary>
    /// try_to_claim_block: a free block of at least pageblock_order becomes <paramref name="startMt"/>'s whole
    /// (change_pageblock_range) and is split on its lists; a smaller one claims its pageblock only when the block's
    /// free pages plus the pages alike to the allocation make half a pageblock (free + alike &gt;= 256), moving every
    /// free block in it to the new type's lists (__move_freepages_block) before __rmqueue_smallest. Alike pages: the
    /// movable ones (on an LRU) for a movable allocation; for an unmovable or reclaimable one falling back into a
    /// movable block, every page neither free nor movable; into the other non-movable type, none.
    /// </summary>
    private int TryToClaimBlock(int index, int currentOrder, int order, int startMt, int blockMt)
    {
        if (currentOrder >= PageblockOrder)
        {
            RemoveFromFreeList(index, currentOrder);
            int pfn = index + _startPfn;
            for (int b = 0; b < 1 << (currentOrder - PageblockOrder); b++)
                SetBlockType(pfn + (b << PageblockOrder), startMt);
            BlocksClaimed += 1 << (currentOrder - PageblockOrder);
            Expand(index, order, currentOrder, startMt);
            return index;
        }
        // boost_watermark: a claim from inside another type's pageblock fragments it; the zone raises its marks so
        // kswapd reclaims a little and later fallbacks are less likely. Before the claim check, so a failed claim boosts too.
        BoostWatermarkEvent?.Invoke();
        if (!PrepMoveFreepagesBlock(index + _startPfn, out int startPfn, out int freePages, out int movablePages))
            return None;
        int alike;
        if (startMt == (int)MigrateType.Movable)
            alike = movablePages;
        else
            alike = blockMt == (int)MigrateType.Movable ? PageblockPages - (freePages + movablePages) : 0;
        if (freePages + alike < PageblockPages / 2)
            return None;
        MoveFreepagesBlock(startPfn, startMt);
        SetBlockType(startPfn, startMt);
        BlocksClaimed++;
        return RmqueueSmallest(order, startMt);
    }

    /// <summary>
    /// prep_move_freepages_block: the pageblock holding <paramref name="pfn"/> (false when it reaches outside the
    /// zone), its free pages (PageBuddy blocks) and its movable pages (PageLRU, from <see cref="IsMovable"/>).
    /// </summary>
    private bool PrepMoveFreepagesBlock(int pfn, out int startPfn, out int freePages, out int movablePages)
    {
        startPfn = pfn & ~(PageblockPages - 1);
        freePages = movablePages = 0;
        int start = startPfn - _startPfn;
        if (start < 0 || start + PageblockPages > _pageCount)
            return false;
        for (int i = start; i < start + PageblockPages;)
        {
            int fo = _freeOrder[i];
            if (fo != None)
            {
                freePages += 1 << fo;
                i += 1 << fo;
                continue;
            }
            if (IsMovable is { } movable && movable(i + _startPfn))
                movablePages++;
            i++;
        }
        return true;
    }

    // __move_freepages_block: every free block of the pageblock goes to the tail of its order's list of the new type.
    private void MoveFreepagesBlock(int startPfn, int newMt)
    {
        int start = startPfn - _startPfn;
        for (int i = start; i < start + PageblockPages;)
        {
            int fo = _freeOrder[i];
            if (fo == None)
            {
                i++;
                continue;
            }
            if (_freeMt[i] != newMt)
            {
                RemoveFromFreeList(i, fo);
                AddToFreeList(i, fo, toTail: true, newMt);
            }
            i += 1 << fo;
        }
    }

    /// <summary>
    /// Whether the allocated page at a pfn counts as movable for try_to_claim_block (PageLRU or movable_ops); set by
    /// the zone from its frame table. Without it no allocated page counts as movable.
    /// </summary>
    public Func<int, bool>? IsMovable { get; set; }

    /// <summary>get_pageblock_migratetype: the migrate type of the pageblock holding <paramref name="pfn"/>.</summary>
    public MigrateType PageblockType(int pfn) => (MigrateType)_blockType[(pfn >> PageblockOrder) - _firstBlock];

    /// <summary>Pageblocks touching the zone (a partial last block counts, as pagetypeinfo_showblockcount counts it).</summary>
    public int PageblockCount => _blockType.Length;

    /// <summary>Pageblocks of each migrate type (pagetypeinfo's "Number of blocks type" row), index = type.</summary>
    public void CountBlocks(Span<long> counts)
    {
        counts.Clear();
        foreach (byte t in _blockType)
            counts[t]++;
    }

    /// <summary>Free blocks of <paramref name="order"/> on <paramref name="migratetype"/>'s list (pagetypeinfo's count).</summary>
    public long NrFreeOfType(int order, MigrateType migratetype) => _nrFreeByType[(order * NrTypes) + (int)migratetype];

    private void SetBlockType(int pfn, int mt) => _blockType[(pfn >> PageblockOrder) - _firstBlock] = (byte)mt;

    /// <summary>
    /// Returns a block obtained from <see cref="AllocPages"/> (Linux: __free_pages() -> __free_one_page()).
    /// Throws <see cref="InvalidOperationException"/> on a double free or a pfn/order that was not allocated:
    /// that is a bug in the simulator, never bad user input.
    /// </summary>
    public void FreePages(int pfn, int order)
    {
        if ((uint)order > MaxOrder)
            throw new ArgumentOutOfRangeException(nameof(order), order, "order must be 0.." + MaxOrder);
        int index = pfn - _startPfn;
        if ((uint)index >= (uint)_pageCount)
            throw new InvalidOperationException(
                $"FreePages: pfn {pfn} is outside the zone [{_startPfn}, {(long)_startPfn + _pageCount})");
        int allocated = _allocOrder[index];
        if (allocated != order)
        {
            if (_freeOrder[index] != None)
                throw new InvalidOperationException(
                    $"FreePages: double free of pfn {pfn} order {order} (it heads a free order-{_freeOrder[index]} block)");
            if (allocated == None)
                throw new InvalidOperationException(
                    $"FreePages: pfn {pfn} order {order} was not allocated (not the head of an allocated block)");
            throw new InvalidOperationException(
                $"FreePages: pfn {pfn} was allocated with order {allocated} but freed with order {order}");
        }

        _allocOrder[index] = (sbyte)None;
        _freePages += 1L << order;
        FreeCount++;
        FreeOneBlock(pfn, order, toTail: false);
    }

    /// <summary>
    /// split_page (mm/page_alloc.c): the allocated block of 2^<paramref name="order"/> pages at <paramref name="pfn"/>
    /// becomes 2^order allocated order-0 pages, each freed on its own with <see cref="FreePages"/>(pfn, 0); freed
    /// neighbours merge back into larger blocks as usual.
    /// </summary>
    public void SplitPage(int pfn, int order)
    {
        int index = pfn - _startPfn;
        if ((uint)index >= (uint)_pageCount || _allocOrder[index] != order)
            throw new InvalidOperationException($"SplitPage: pfn {pfn} does not head an allocated order-{order} block");
        for (int i = 0; i < 1 << order; i++)
            _allocOrder[index + i] = 0;
    }

    /// <summary>
    /// The inverse of <see cref="SplitPage"/> for a large folio freed whole (free_unref_folios frees it at its order,
    /// never a page at a time): the 2^<paramref name="order"/> allocated order-0 pages at <paramref name="pfn"/>
    /// become one allocated order-<paramref name="order"/> block again, to be freed with <see cref="FreePages"/>(pfn, order).
    /// </summary>
    public void UnsplitPage(int pfn, int order)
    {
        int index = pfn - _startPfn;
        if ((uint)order > MaxOrder || (pfn & ((1 << order) - 1)) != 0 || (uint)index > (uint)(_pageCount - (1 << order)))
            throw new InvalidOperationException($"UnsplitPage: pfn {pfn} cannot head an order-{order} block");
        for (int i = 0; i < 1 << order; i++)
        {
            if (_allocOrder[index + i] != 0)
                throw new InvalidOperationException($"UnsplitPage: pfn {pfn + i} is not an allocated order-0 page");
        }
        _allocOrder[index] = (sbyte)order;
        for (int i = 1; i < 1 << order; i++)
            _allocOrder[index + i] = (sbyte)None;
    }

    /// <summary>
    /// __isolate_free_page (compaction's free scanner): the free block of 2^<paramref name="order"/> pages headed at
    /// <paramref name="pfn"/> leaves its free list and becomes 2^order allocated order-0 pages (split_page), each
    /// freed on its own with <see cref="FreePages"/>(pfn, 0) if unused.
    /// </summary>
    public void IsolateFreeBlock(int pfn, int order)
    {
        int index = pfn - _startPfn;
        if ((uint)index >= (uint)_pageCount || _freeOrder[index] != order)
            throw new InvalidOperationException($"IsolateFreeBlock: pfn {pfn} does not head a free order-{order} block");
        RemoveFromFreeList(index, order);
        _freePages -= 1L << order;
        for (int i = 0; i < 1 << order; i++)
            _allocOrder[index + i] = 0;
        // A block of at least half a pageblock makes its pageblocks MOVABLE, with the free pages left in them, as
        // the migration targets they are about to hold (move_freepages_block to MIGRATE_MOVABLE).
        if (order >= PageblockOrder - 1)
        {
            for (int p = pfn; p < pfn + (1 << order); p += PageblockPages)
            {
                int blockStart = p & ~(PageblockPages - 1);
                if (PageblockType(p) == MigrateType.Movable || blockStart < _startPfn || blockStart + PageblockPages > _startPfn + _pageCount)
                    continue;
                MoveFreepagesBlock(blockStart, (int)MigrateType.Movable);
                SetBlockType(blockStart, (int)MigrateType.Movable);
            }
        }
    }

    /// <summary>True when a free block of at least <paramref name="order"/> exists (the free-area test at the end
    /// of __zone_watermark_ok()).</summary>
    public bool HasFreeBlock(int order)
    {
        for (int o = order; o <= MaxOrder; o++)
            if (_nrFree[o] != 0)
                return true;
        return false;
    }

    /// <summary>True when <paramref name="pfn"/> heads an allocated block of <paramref name="order"/>.</summary>
    public bool IsAllocatedHead(int pfn, int order)
    {
        int index = pfn - _startPfn;
        return (uint)index < (uint)_pageCount && _allocOrder[index] == order;
    }

    /// <summary>Order of the free block headed at <paramref name="pfn"/>, or -1 (PageBuddy() ? buddy_order() : -1).</summary>
    public int FreeBlockOrderAt(int pfn)
    {
        int index = pfn - _startPfn;
        return (uint)index < (uint)_pageCount ? _freeOrder[index] : None;
    }

    /// <summary>
    /// Copies the first pfns of the free blocks of <paramref name="order"/>, list by list in type order (Unmovable,
    /// Movable, Reclaimable) and each head first, into <paramref name="destination"/>; returns how many there are.
    /// For tests and diagnostics, O(list length).
    /// </summary>
    public int CopyFreeList(int order, Span<int> destination)
    {
        int count = 0;
        for (int mt = 0; mt < NrTypes; mt++)
            count += CopyFreeList(order, (MigrateType)mt, destination.Length > count ? destination[count..] : default);
        return count;
    }

    /// <summary>Copies the free list of <paramref name="order"/> and <paramref name="migratetype"/>, head first; returns its length.</summary>
    public int CopyFreeList(int order, MigrateType migratetype, Span<int> destination)
    {
        if ((uint)order > MaxOrder)
            throw new ArgumentOutOfRangeException(nameof(order), order, "order must be 0.." + MaxOrder);
        int count = 0;
        for (int index = _head[(order * NrTypes) + (int)migratetype]; index != None; index = _next[index])
        {
            if (count < destination.Length)
                destination[count] = index + _startPfn;
            count++;
        }
        return count;
    }

    /// <summary>This zone's line of /proc/buddyinfo (see <see cref="BuddyInfo"/>).</summary>
    public string FormatBuddyInfo(int node = 0, string zone = "Normal") => BuddyInfo.Format(_nrFree, node, zone);

    // expand(): the allocation keeps the lower half at each step; every upper half goes to the head of its list.
    private void Expand(int index, int low, int high, int mt)
    {
        while (high > low)
        {
            high--;
            int upper = index + (1 << high);
            AddToFreeList(upper, high, toTail: false, mt);
            SplitCount++;
        }
    }

    // __free_one_page(): the block goes to its pageblock's type (get_pfnblock_migratetype at the free); merge with
    // the buddy while it is a free block of the same order, then queue the result. A buddy in another pageblock of
    // another type (order >= pageblock_order) is merged too, all three types being mergeable, and its pageblock
    // takes the freed block's type so that a later expand() puts the halves on the right lists.
    private void FreeOneBlock(int pfn, int order, bool toTail)
    {
        if (toTail)
            _freePages += 1L << order; // initial freeing; FreePages has already counted its pages.
        int mt = (int)PageblockType(pfn);

        while (order < MaxOrder)
        {
            int buddyPfn = pfn ^ (1 << order);
            int buddyIndex = buddyPfn - _startPfn;
            if ((uint)buddyIndex >= (uint)_pageCount || _freeOrder[buddyIndex] != order)
                break;
            RemoveFromFreeList(buddyIndex, order);
            if (order >= PageblockOrder && (int)PageblockType(buddyPfn) != mt)
                SetBlockType(buddyPfn, mt);
            MergeCount++;
            pfn &= ~(1 << order);
            order++;
        }

        bool tail = toTail || BuddyMergeLikely(pfn, order);
        AddToFreeList(pfn - _startPfn, order, tail, mt);
    }

    // buddy_merge_likely(): if the block that would be our buddy one order up is itself free, our own buddy is
    // probably about to be freed too, so queue at the tail where we are less likely to be split again.
    private bool BuddyMergeLikely(int pfn, int order)
    {
        if (order >= MaxOrder - 1)
            return false;
        int combined = pfn & ~(1 << order);
        int higherBuddyIndex = (combined ^ (1 << (order + 1))) - _startPfn;
        return (uint)higherBuddyIndex < (uint)_pageCount && _freeOrder[higherBuddyIndex] == order + 1;
    }

    private void AddToFreeList(int index, int order, bool toTail, int mt)
    {
        _freeOrder[index] = (sbyte)order;
        _freeMt[index] = (byte)mt;
        int list = (order * NrTypes) + mt;
        if (toTail)
        {
            int last = _tail[list];
            _prev[index] = last;
            _next[index] = None;
            if (last == None) _head[list] = index; else _next[last] = index;
            _tail[list] = index;
        }
        else
        {
            int first = _head[list];
            _next[index] = first;
            _prev[index] = None;
            if (first == None) _tail[list] = index; else _prev[first] = index;
            _head[list] = index;
        }
        _nrFree[order]++;
        _nrFreeByType[list]++;
    }

    // list_del() on page->buddy_list: O(1) thanks to the prev links.
    private void RemoveFromFreeList(int index, int order)
    {
        int list = (order * NrTypes) + _freeMt[index];
        int prev = _prev[index];
        int next = _next[index];
        if (prev == None) _head[list] = next; else _next[prev] = next;
        if (next == None) _tail[list] = prev; else _prev[next] = prev;
        _next[index] = None;
        _prev[index] = None;
        _freeOrder[index] = (sbyte)None;
        _nrFree[order]--;
        _nrFreeByType[list]--;
    }
}

/// <summary>
/// enum migratetype (include/linux/mmzone.h), the three types with free lists (MIGRATE_PCPTYPES), in Linux's order;
/// HighAtomic and Isolate exist only as pagetypeinfo's empty rows (<see cref="PageTypeInfo"/>).
/// </summary>
public enum MigrateType : byte
{
    /// <summary>MIGRATE_UNMOVABLE: kernel allocations that never move (page tables here; slab and stacks in Linux).</summary>
    Unmovable = 0,
    /// <summary>MIGRATE_MOVABLE: user pages (anonymous, page cache, shmem, THP, hugetlb pool pages; GFP_HIGHUSER_MOVABLE).</summary>
    Movable = 1,
    /// <summary>MIGRATE_RECLAIMABLE: reclaimable kernel allocations (dentry and inode slabs in Linux; none here).</summary>
    Reclaimable = 2,
}
