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
/// </remarks>
public sealed class BuddyAllocator
{
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
    private readonly int[] _head = new int[NrOrders];
    private readonly int[] _tail = new int[NrOrders];

    // Order of the free block headed at an index, or None (Linux: PageBuddy() and buddy_order()).
    private readonly sbyte[] _freeOrder;

    // Order of the allocated block headed at an index, or None; lets FreePages reject bad frees.
    private readonly sbyte[] _allocOrder;

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
        Array.Fill(_next, None);
        Array.Fill(_prev, None);
        Array.Fill(_freeOrder, (sbyte)None);
        Array.Fill(_allocOrder, (sbyte)None);
        Array.Fill(_head, None);
        Array.Fill(_tail, None);

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
    /// Allocates a block of 2^<paramref name="order"/> pages (Linux: __rmqueue_smallest() under alloc_pages()).
    /// Returns its first pfn, or -1 when no free block of that order or larger exists.
    /// </summary>
    public int AllocPages(int order)
    {
        if ((uint)order > MaxOrder)
            throw new ArgumentOutOfRangeException(nameof(order), order, "order must be 0.." + MaxOrder);

        for (int current = order; current <= MaxOrder; current++)
        {
            int index = _head[current];
            if (index == None)
                continue;
            // Linux takes the first entry of the list (get_page_from_free_area -> list_first_entry).
            RemoveFromFreeList(index, current);
            Expand(index, order, current);
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

        _allocFailures[order]++;
        return -1;
    }

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
    /// Copies the first pfns of the free blocks of <paramref name="order"/>, in list order (head first), into
    /// <paramref name="destination"/>; returns how many there are. For tests and diagnostics, O(list length).
    /// </summary>
    public int CopyFreeList(int order, Span<int> destination)
    {
        if ((uint)order > MaxOrder)
            throw new ArgumentOutOfRangeException(nameof(order), order, "order must be 0.." + MaxOrder);
        int count = 0;
        for (int index = _head[order]; index != None; index = _next[index])
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
    private void Expand(int index, int low, int high)
    {
        while (high > low)
        {
            high--;
            int upper = index + (1 << high);
            AddToFreeList(upper, high, toTail: false);
            SplitCount++;
        }
    }

    // __free_one_page(): merge with the buddy while it is a free block of the same order, then queue the result.
    private void FreeOneBlock(int pfn, int order, bool toTail)
    {
        if (toTail)
            _freePages += 1L << order; // initial freeing; FreePages has already counted its pages.

        while (order < MaxOrder)
        {
            int buddyIndex = (pfn ^ (1 << order)) - _startPfn;
            if ((uint)buddyIndex >= (uint)_pageCount || _freeOrder[buddyIndex] != order)
                break;
            RemoveFromFreeList(buddyIndex, order);
            MergeCount++;
            pfn &= ~(1 << order);
            order++;
        }

        bool tail = toTail || BuddyMergeLikely(pfn, order);
        AddToFreeList(pfn - _startPfn, order, tail);
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

    private void AddToFreeList(int index, int order, bool toTail)
    {
        _freeOrder[index] = (sbyte)order;
        if (toTail)
        {
            int last = _tail[order];
            _prev[index] = last;
            _next[index] = None;
            if (last == None) _head[order] = index; else _next[last] = index;
            _tail[order] = index;
        }
        else
        {
            int first = _head[order];
            _next[index] = first;
            _prev[index] = None;
            if (first == None) _tail[order] = index; else _prev[first] = index;
            _head[order] = index;
        }
        _nrFree[order]++;
    }

    // list_del() on page->buddy_list: O(1) thanks to the prev links.
    private void RemoveFromFreeList(int index, int order)
    {
        int prev = _prev[index];
        int next = _next[index];
        if (prev == None) _head[order] = next; else _next[prev] = next;
        if (next == None) _tail[order] = prev; else _prev[next] = prev;
        _next[index] = None;
        _prev[index] = None;
        _freeOrder[index] = (sbyte)None;
        _nrFree[order]--;
    }
}
