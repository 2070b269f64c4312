using EcsMem.Components;

namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// zone-&gt;per_cpu_pageset: one <c>struct per_cpu_pages</c> per CPU in front of the buddy allocator, for blocks of
/// orders 0 to PAGE_ALLOC_COSTLY_ORDER (3), following Linux 6.7+'s mm/page_alloc.c, whose <c>pcp-&gt;high</c> tunes itself between <c>high_min</c>
/// and <c>high_max</c> (<see cref="HighTuning"/>, <c>machine.pcp_high_tuning</c>, the default), or Linux 6.6's
/// (the last kernel with a fixed <c>high</c> and <c>free_factor</c>) when that is off.
/// </summary>
/// <remarks>
/// <para>Each CPU has one list per order and migrate type (pcp-&gt;lists[order_to_pindex(mt, order)]: order 0's
/// Unmovable, Movable, Reclaimable, then order 1's …; <see cref="NrPcpLists"/>): an allocation takes from its order's
/// and type's list, refilled by rmqueue_bulk with blocks of that order and type; a free goes to the list of its order
/// and its pageblock's type at the time (get_pfnblock_migratetype); a block of order k is one entry and counts 2^k
/// pages. <c>count</c> (in pages), <c>high</c> and <c>batch</c> are per CPU, over all its lists: frees of any order
/// fill the one count, and free_pcppages_bulk empties the lists round-robin, order-0 and high-order alike. Page-cache
/// folios of orders 1-3 (readahead's) come from here and go back here whole, so the next window reuses the frames
/// reclaim freed last.
/// A page on a list is free but is <b>not</b> counted in NR_FREE_PAGES (<see cref="BuddyAllocator.NrFreePages"/>),
/// so the watermark checks, MemFree and /proc/buddyinfo do not see it, exactly as in Linux.</para>
/// <list type="bullet">
/// <item><b>Allocation</b> (<see cref="Alloc(int, MigrateType, int)"/>, rmqueue_pcplist → __rmqueue_pcplist): <c>free_factor &gt;&gt;= 1</c>;
/// if this CPU's list is empty, rmqueue_bulk takes <c>batch</c> pages from the buddy allocator one
/// __rmqueue at a time and queues each at the list <b>tail</b>, so the list holds them in the order the buddy
/// handed them out; then the list's <b>head</b> is taken.</item>
/// <item><b>Free</b> (<see cref="Free(int, int, bool, int)"/>, free_unref_page → free_unref_page_commit): the page goes to the
/// list <b>head</b> (hot, LIFO) and <c>count</c> grows; when <c>count &gt;= nr_pcp_high()</c>,
/// free_pcppages_bulk returns <c>nr_pcp_free()</c> pages to the buddy allocator, taken from the list
/// <b>tail</b> (the coldest, oldest pages), one list after the other round-robin from the list just freed to
/// (from the Unmovable list for a drain).</item>
/// <item><c>nr_pcp_high</c> = <c>high</c>, or <c>min(batch &lt;&lt; 2, high)</c> while the zone is under
/// reclaim (ZONE_RECLAIM_ACTIVE, set while kswapd balances the node).</item>
/// <item><c>nr_pcp_free(high)</c> = 1 if <c>high &lt; batch</c>; otherwise <c>batch &lt;&lt; free_factor</c>
/// clamped to [<c>batch</c>, <c>high − batch</c>], and <c>free_factor</c> grows by one when the shifted batch is
/// still below <c>high − batch</c> (consecutive frees return ever larger chunks; every allocation halves it).</item>
/// </list>
/// <para>With <see cref="HighTuning"/> (Linux 6.7+, Huang Ying's "pcp: auto-tune pcp->high" series): each CPU's
/// <c>high</c> starts at 0 and is clamped to [<c>high_min</c>, <c>high_max</c>] at each use (nr_pcp_alloc,
/// nr_pcp_high); <c>free_count</c> replaces <c>free_factor</c> and <c>alloc_factor</c> scales the refills:</para>
/// <list type="bullet">
/// <item><b>Allocation</b> (rmqueue_pcplist): <c>free_count &gt;&gt;= 1</c>; an empty list is refilled with
/// nr_pcp_alloc() pages: <c>batch &lt;&lt; alloc_factor</c>, at most <c>max(high − count − batch, batch)</c>;
/// <c>alloc_factor</c> grows (to CONFIG_PCP_BATCH_SCALE_MAX = 5) while the shifted batch fits, and <c>high</c>
/// grows by that shifted batch (to <c>high_max</c>) unless the zone is ZONE_BELOW_HIGH.</item>
/// <item><b>Free</b> (free_frozen_page_commit, order 0): <c>alloc_factor &gt;&gt;= 1</c>; the page joins the head;
/// <c>free_count</c> grows by one (to <c>batch &lt;&lt; 5</c>); nr_pcp_high() (<see cref="NrPcpHighTuned(int, bool, bool)"/>) may
/// shrink or grow <c>high</c>; at <c>count &gt;= </c> its result, free_pcppages_bulk returns
/// <c>clamp(free_count, batch, high − batch)</c> pages. A block of order k adds 2^k to <c>free_count</c>; a
/// high-order free right after another high-order one, with <c>free_count &gt;= batch + high_min / 2</c> and (with
/// PCPF_FREE_HIGH_BATCH, <see cref="FreeHighBatch"/>) a batch on the lists, is <c>free_high</c>: <c>high</c> drops by
/// <c>batch &lt;&lt; 5</c> and <c>min(count, batch &lt;&lt; 5)</c> pages go back. A high-order refill takes
/// <c>max(batch &gt;&gt; order, 2)</c> blocks.</item>
/// <item><b>Decay</b> (<see cref="DecayPcpHigh"/>, decay_pcp_high from vmstat_update every second):
/// <c>high = max3(count − (batch &lt;&lt; 5), high − high / 8, high_min)</c>, and what the list holds above it goes
/// back to the buddy allocator.</item>
/// </list>
/// <para>All state is in arrays allocated by the constructor: the list links are pfn-indexed like the buddy
/// allocator's (Linux: page-&gt;pcp_list), so a page is on at most one list and every operation is O(1) per page.</para>
/// </remarks>
public sealed class PerCpuPageSet
{
    /// <summary>SZ_1M / PAGE_SIZE with 4 KiB pages: zone_batchsize() never starts from more than 1 MiB of pages.</summary>
    private const long OneMiB = 1L << 20;

    private const int None = -1;

    private readonly BuddyAllocator _buddy;
    private readonly Frame[]? _frames;
    private readonly int _startPfn;

    // Intrusive lists: links by index (pfn - start), None terminates; _owner is the CPU whose list holds the page.
    private readonly int[] _next;
    private readonly int[] _prev;
    private readonly sbyte[] _owner;
    // Lists per CPU and pindex (order_to_pindex: order * NrTypes + type): index cpu * NrPcpLists + pindex. A block of
    // order k is one entry (its head linked); all its pages carry the owner and the list.
    private readonly int[] _head;
    private readonly int[] _tail;
    private readonly int[] _listCount; // blocks on the list
    private readonly ushort[] _list; // the list (cpu * NrPcpLists + pindex) a page's block is on
    private readonly int[] _count; // pcp->count: pages, over all orders
    // PCPF_PREV_FREE_HIGH_ORDER of each CPU: the last free to its lists was of order 1..PAGE_ALLOC_COSTLY_ORDER.
    private readonly bool[] _prevFreeHighOrder;
    private readonly int[] _freeFactor;
    // Linux 6.7+ (HighTuning): pcp->high, ->alloc_factor and ->free_count of each CPU.
    private readonly int[] _high;
    private readonly int[] _allocFactor;
    private readonly int[] _freeCount;

    /// <summary>CONFIG_PCP_BATCH_SCALE_MAX (default 5): alloc_factor's ceiling, and the shift of free_count's and decay's caps.</summary>
    public const int PcpBatchScaleMax = 5;

    /// <summary>MIN_PERCPU_PAGELIST_HIGH_FRACTION: high_max is zone_highsize of an eighth of the zone's managed pages.</summary>
    public const int MinPercpuPagelistHighFraction = 8;

    /// <summary>PAGE_ALLOC_COSTLY_ORDER: the highest order below the pageblock order the lists keep (pcp_allowed_order).</summary>
    public const int PageAllocCostlyOrder = 3;

    /// <summary>
    /// NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1): the lists of orders 0-3. Linux adds one
    /// list for THPs (NR_PCP_THP); EcsMem's THPs go to the buddy allocator directly, so that list is always empty and
    /// the round-robin of free_pcppages_bulk over the other lists is the same without it.
    /// </summary>
    public const int NrPcpLists = BuddyAllocator.NrTypes * (PageAllocCostlyOrder + 1);

    /// <summary>order_to_pindex (orders 0..PAGE_ALLOC_COSTLY_ORDER): <c>MIGRATE_PCPTYPES * order + migratetype</c>.</summary>
    public static int OrderToPindex(MigrateType migratetype, int order) => (BuddyAllocator.NrTypes * order) + (int)migratetype;

    /// <summary>pindex_to_order: <c>pindex / MIGRATE_PCPTYPES</c>.</summary>
    public static int PindexToOrder(int pindex) => pindex / BuddyAllocator.NrTypes;

    /// <summary>pcp_allowed_order without the THP order: orders 0..PAGE_ALLOC_COSTLY_ORDER go through the lists.</summary>
    public static bool PcpAllowedOrder(int order) => (uint)order <= PageAllocCostlyOrder;

    /// <summary>
    /// Per-CPU lists for <paramref name="cpus"/> CPUs over <paramref name="buddy"/>'s pfn range, all with the same
    /// <paramref name="batch"/> and <paramref name="high"/> (zone_set_pageset_high_and_batch gives every CPU the
    /// zone's values). When <paramref name="frames"/> is given, each page's flags follow it: PageBuddy
    /// (<see cref="FrameFlags.Buddy"/>) in the buddy allocator, <see cref="FrameFlags.PcpList"/> on a pcp list.
    /// </summary>
    public PerCpuPageSet(BuddyAllocator buddy, int cpus, int batch, int high, Frame[]? frames = null)
        : this(buddy, cpus, batch, high, high, frames, tuning: false)
    {
    }

    /// <summary>
    /// Linux 6.7+'s self-tuning lists (<paramref name="tuning"/>): every CPU gets <paramref name="highMin"/> and
    /// <paramref name="highMax"/> (zone_set_pageset_high_and_batch → pageset_update) and a <c>high</c> of 0
    /// (per_cpu_pages_init's BOOT_PAGESET_HIGH), clamped into [highMin, highMax] at its first use. Without
    /// <paramref name="tuning"/>, the 6.6 lists with <c>high = highMin</c>.
    /// </summary>
    public PerCpuPageSet(BuddyAllocator buddy, int cpus, int batch, int highMin, int highMax, Frame[]? frames, bool tuning)
    {
        ArgumentNullException.ThrowIfNull(buddy);
        if (cpus is < 1 or > 64)
            throw new ArgumentOutOfRangeException(nameof(cpus), cpus, "CPU count must be between 1 and 64");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(highMin);
        ArgumentOutOfRangeException.ThrowIfNegative(highMax); // may be below highMin in a small zone, as in Linux (Clamp)
        _buddy = buddy;
        _frames = frames;
        _startPfn = buddy.StartPfn;
        int pages = buddy.ManagedPages;
        _next = new int[pages];
        _prev = new int[pages];
        _owner = new sbyte[pages];
        Array.Fill(_next, None);
        Array.Fill(_prev, None);
        Array.Fill(_owner, (sbyte)None);
        _head = new int[cpus * NrPcpLists];
        _tail = new int[cpus * NrPcpLists];
        _listCount = new int[cpus * NrPcpLists];
        _list = new ushort[pages];
        _count = new int[cpus];
        _prevFreeHighOrder = new bool[cpus];
        _freeFactor = new int[cpus];
        _high = new int[cpus];
        _allocFactor = new int[cpus];
        _freeCount = new int[cpus];
        Array.Fill(_head, None);
        Array.Fill(_tail, None);
        Batch = batch;
        High = highMin;
        HighMin = highMin;
        HighMax = tuning ? highMax : highMin;
        HighTuning = tuning;
        if (!tuning)
            Array.Fill(_high, highMin);
    }

    /// <summary>Linux 6.7+'s pcp-&gt;high auto-tuning (<c>machine.pcp_high_tuning</c>); false: Linux 6.6's fixed <see cref="High"/>.</summary>
    public bool HighTuning { get; }

    /// <summary>pcp-&gt;high_min: zone_highsize(zone, batch, cpu_online, 0), the low watermark split across the CPUs (6.6's <see cref="High"/>).</summary>
    public int HighMin { get; }

    /// <summary>pcp-&gt;high_max: zone_highsize(zone, batch, cpu_online, MIN_PERCPU_PAGELIST_HIGH_FRACTION), managed / 8 split across the CPUs (= <see cref="HighMin"/> without tuning).</summary>
    public int HighMax { get; }

    /// <summary>
    /// ZONE_BELOW_HIGH (a zone flag; kept here as only the lists read it): set by get_page_from_freelist when the zone
    /// fails its high watermark, cleared by a bulk free that leaves it above. While set, <c>high</c> shrinks on frees
    /// and never grows on refills.
    /// </summary>
    public bool BelowHigh { get; set; }

    /// <summary>
    /// PCPF_FREE_HIGH_BATCH (zone_pcp_update_cacheinfo): set when the CPU's share of the data caches
    /// (per_cpu_data_slice_size) exceeds three batches of pages, so a run of high-order frees keeps a batch on the
    /// list before free_high drains it. The oracle machine's 32 MiB L3 over 2 CPUs (16 MiB, 4,096 pages, against
    /// 3 × 63) sets it, as any current x86-64 does; tests may clear it.
    /// </summary>
    public bool FreeHighBatch { get; set; } = true;

    /// <summary>pcp-&gt;high of <paramref name="cpu"/> as /proc/zoneinfo prints it (6.7+: 0 until the list is first used).</summary>
    public int HighOf(int cpu) => _high[cpu];

    /// <summary>pcp-&gt;alloc_factor of <paramref name="cpu"/> (6.7+).</summary>
    public int AllocFactor(int cpu) => _allocFactor[cpu];

    /// <summary>pcp-&gt;free_count of <paramref name="cpu"/> (6.7+).</summary>
    public int FreeCount(int cpu) => _freeCount[cpu];

    /// <summary>Number of CPUs (one list each).</summary>
    public int Cpus => _count.Length;

    /// <summary>pcp-&gt;batch of every CPU: pages moved per refill, and the least a bulk free returns.</summary>
    public int Batch { get; }

    /// <summary>
    /// pcp-&gt;high of every CPU in Linux 6.6 (a free that brings the count to it returns pages to the buddy
    /// allocator); with <see cref="HighTuning"/> the same value is <see cref="HighMin"/> and each CPU's own
    /// <c>high</c> is <see cref="HighOf"/>.
    /// </summary>
    public int High { get; }

    /// <summary>pcp-&gt;count of <paramref name="cpu"/>: pages on its list.</summary>
    public int Count(int cpu) => _count[cpu];

    /// <summary>pcp-&gt;free_factor of <paramref name="cpu"/>.</summary>
    public int FreeFactor(int cpu) => _freeFactor[cpu];

    /// <summary>Pages on all CPUs' lists (free, yet outside NR_FREE_PAGES).</summary>
    public long TotalCount
    {
        get
        {
            long n = 0;
            foreach (int c in _count)
                n += c;
            return n;
        }
    }

    /// <summary>The CPU whose list holds <paramref name="pfn"/>, or -1.</summary>
    public int CpuOf(int pfn)
    {
        int index = pfn - _startPfn;
        return (uint)index < (uint)_owner.Length ? _owner[index] : None;
    }

    /// <summary>
    /// Copies the pages on <paramref name="cpu"/>'s lists, pindex by pindex (order 0's Unmovable, Movable, Reclaimable,
    /// then order 1's …), each list head (hottest, next to be allocated) first and each block's pages in pfn order, into
    /// <paramref name="destination"/>; returns their total (pcp-&gt;count). For tests and the invariant checker.
    /// </summary>
    public int CopyList(int cpu, Span<int> destination)
    {
        int n = 0;
        for (int order = 0; order <= PageAllocCostlyOrder; order++)
            for (int mt = 0; mt < BuddyAllocator.NrTypes; mt++)
                n += CopyList(cpu, (MigrateType)mt, order, destination.Length > n ? destination[n..] : default);
        return n;
    }

    /// <summary>Copies <paramref name="cpu"/>'s order-0 list of <paramref name="migratetype"/>, head first; returns its length.</summary>
    public int CopyList(int cpu, MigrateType migratetype, Span<int> destination) => CopyList(cpu, migratetype, 0, destination);

    /// <summary>
    /// Copies the pages of <paramref name="cpu"/>'s list of <paramref name="migratetype"/> and <paramref name="order"/>
    /// (pcp-&gt;lists[order_to_pindex]), head block first, each block's pages in pfn order; returns the pages.
    /// </summary>
    public int CopyList(int cpu, MigrateType migratetype, int order, Span<int> destination)
    {
        int n = 0, nr = 1 << order;
        for (int index = _head[(cpu * NrPcpLists) + OrderToPindex(migratetype, order)]; index != None; index = _next[index])
        {
            for (int i = 0; i < nr; i++, n++)
            {
                if (n < destination.Length)
                    destination[n] = index + i + _startPfn;
            }
            if (n > _owner.Length)
                throw new InvalidOperationException($"pcp list of CPU {cpu} is cyclic");
        }
        return n;
    }

    /// <summary>Pages on <paramref name="cpu"/>'s order-0 list of <paramref name="migratetype"/>.</summary>
    public int Count(int cpu, MigrateType migratetype) => Count(cpu, migratetype, 0);

    /// <summary>Pages on <paramref name="cpu"/>'s list of <paramref name="migratetype"/> and <paramref name="order"/> (blocks × 2^order).</summary>
    public int Count(int cpu, MigrateType migratetype, int order) => _listCount[(cpu * NrPcpLists) + OrderToPindex(migratetype, order)] << order;

    /// <summary>
    /// The block a page on a list belongs to: its head pfn, with <paramref name="order"/> the list's order; -1 (order
    /// -1) when <paramref name="pfn"/> is on no list.
    /// </summary>
    public int BlockOf(int pfn, out int order)
    {
        int index = pfn - _startPfn;
        order = None;
        if ((uint)index >= (uint)_owner.Length || _owner[index] == None)
            return None;
        order = PindexToOrder(_list[index] % NrPcpLists);
        return pfn & ~((1 << order) - 1);
    }

    /// <summary>
    /// zone_batchsize() (CONFIG_MMU): about a quarter of 0.1 % of the zone, at most a quarter of 1 MiB of pages,
    /// rounded to a power of two minus one, and never below 1 (zone_set_pageset_high_and_batch's max(1, …)):
    /// <code>
    /// batch = min(managed &gt;&gt; 10, SZ_1M / PAGE_SIZE) / 4;  if (batch &lt; 1) batch = 1;
    /// batch = rounddown_pow_of_two(batch + batch / 2) - 1;   return max(1, batch);
    /// </code>
    /// E.g. 1 GiB of 4 KiB pages: min(256, 256) / 4 = 64 → rounddown_pow_of_two(96) − 1 = 63.
    /// </summary>
    public static int ZoneBatchSize(long managedPages, int pageSize = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(managedPages);
        long batch = Math.Min(managedPages >> 10, OneMiB / pageSize);
        batch /= 4;
        if (batch < 1)
            batch = 1;
        batch = RoundDownPowerOfTwo(batch + (batch / 2)) - 1;
        return (int)Math.Max(1, batch);
    }

    /// <summary>
    /// zone_highsize() with the default vm.percpu_pagelist_high_fraction = 0: the zone's low watermark split
    /// across the CPUs local to its node (all of them here: one node), but at least four batches:
    /// <code>
    /// high = max(low_wmark_pages(zone) / nr_split_cpus, batch &lt;&lt; 2)
    /// </code>
    /// nr_split_cpus is cpumask_weight(cpumask_of_node(nid)) + cpu_online (0 outside CPU hotplug).
    /// </summary>
    public static int ZoneHighSize(long lowWatermark, int batch, int cpus)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lowWatermark);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cpus);
        long high = lowWatermark / cpus;
        return (int)Math.Min(int.MaxValue, Math.Max(high, (long)batch << 2));
    }

    /// <summary>
    /// rmqueue_pcplist for an order-0 page of <paramref name="migratetype"/> on <paramref name="cpu"/>: refills an
    /// empty list with rmqueue_bulk (<see cref="Batch"/> pages, fewer if the buddy allocator runs out) and takes the
    /// list head. Returns the pfn, or -1 when the list is empty and the buddy allocator has nothing left. As
    /// get_page_from_freelist, a refill that finds nothing with ALLOC_NOFRAGMENT is tried again without it.
    /// </summary>
    public int Alloc(int cpu, MigrateType migratetype = MigrateType.Movable) => Alloc(cpu, migratetype, 0);

    /// <summary>
    /// rmqueue_pcplist for a block of <paramref name="order"/> (0..PAGE_ALLOC_COSTLY_ORDER) of
    /// <paramref name="migratetype"/> on <paramref name="cpu"/>: the list pcp-&gt;lists[order_to_pindex(mt, order)];
    /// an empty one is refilled by rmqueue_bulk with blocks of that order (6.6: <c>max(batch &gt;&gt; order, 2)</c>;
    /// 6.7+: nr_pcp_alloc), each at the tail; the head block is taken and pcp-&gt;count drops by 2^order. Returns the
    /// head pfn, allocated as one order-<paramref name="order"/> block in the buddy allocator's books, or -1.
    /// </summary>
    public int Alloc(int cpu, MigrateType migratetype, int order)
    {
        if (!PcpAllowedOrder(order))
            throw new ArgumentOutOfRangeException(nameof(order), order, "the per-CPU lists hold orders 0.." + PageAllocCostlyOrder);
        // rmqueue_pcplist: "reduce the number of pages that are batch freed" (6.6: free_factor, 6.7+: free_count).
        if (HighTuning)
            _freeCount[cpu] >>= 1;
        else
            _freeFactor[cpu] >>= 1;
        int list = (cpu * NrPcpLists) + OrderToPindex(migratetype, order);
        if (_head[list] == None)
        {
            // __rmqueue_pcplist: 6.6 scales pcp->batch by the order (at least 2 blocks); 6.7+'s nr_pcp_alloc does
            // that after its own sizing.
            int batch = HighTuning ? NrPcpAlloc(cpu, order) : Batch > 1 ? Math.Max(Batch >> order, 2) : Batch;
            if (RmqueueBulk(cpu, migratetype, order, batch, noFragment: true) == 0)
                RmqueueBulk(cpu, migratetype, order, batch, noFragment: false);
            if (_head[list] == None)
                return -1;
        }
        int index = _head[list];
        Unlink(index);
        return index + _startPfn;
    }

    /// <summary>
    /// free_unref_page_commit for an order-0 page on <paramref name="cpu"/>: the page joins the list head; when
    /// the count reaches nr_pcp_high, free_pcppages_bulk gives nr_pcp_free pages back to the buddy allocator.
    /// <paramref name="reclaimActive"/> is ZONE_RECLAIM_ACTIVE. Returns the pages given back to the buddy.
    /// The caller has already checked the page is allocated (a free page on a list would be a double free).
    /// </summary>
    public int Free(int pfn, int cpu, bool reclaimActive = false) => Free(pfn, cpu, reclaimActive, 0);

    /// <summary>
    /// free_frozen_page_commit (6.7+; 6.6: free_unref_page_commit) for a block of <paramref name="order"/>
    /// (0..PAGE_ALLOC_COSTLY_ORDER: free_unref_folios hands a large folio over whole) on <paramref name="cpu"/>: the
    /// block joins the head of pcp-&gt;lists[order_to_pindex(mt, order)] and pcp-&gt;count grows by 2^order. A high-order
    /// free right after another high-order free with enough consecutive frees behind it is <c>free_high</c>: the list
    /// is drained far below high ("high-order pages other than THP's stored on PCP can contribute to fragmentation").
    /// Then, at <c>count &gt;= nr_pcp_high</c>, free_pcppages_bulk from this block's list on. Returns the pages given
    /// back to the buddy allocator.
    /// </summary>
    public int Free(int pfn, int cpu, bool reclaimActive, int order)
    {
        if (!PcpAllowedOrder(order))
            throw new ArgumentOutOfRangeException(nameof(order), order, "the per-CPU lists hold orders 0.." + PageAllocCostlyOrder);
        int index = pfn - _startPfn;
        if ((uint)index >= (uint)_owner.Length)
            throw new InvalidOperationException($"pcp free: pfn {pfn} is outside the zone");
        if (_owner[index] != None)
            throw new InvalidOperationException($"pcp free: double free of pfn {pfn} (already on CPU {_owner[index]}'s list, in the order-{PindexToOrder(_list[index] % NrPcpLists)} block at {BlockOf(pfn, out _)})");
        if (!_buddy.IsAllocatedHead(pfn, order))
            throw new InvalidOperationException($"pcp free: pfn {pfn} is not an allocated order-{order} block");
        // free_unref_folios / free_frozen_pages: the list of the pageblock's type now (a claim may have changed it).
        int pindex = OrderToPindex(_buddy.PageblockType(pfn), order);
        if (HighTuning)
            _allocFactor[cpu] >>= 1; // free_frozen_page_commit: fewer pages per refill after a free
        AddHead(cpu, pindex, index, order);
        int batch = Batch;
        bool freeHigh;
        if (HighTuning)
        {
            // free_high: pcp->free_count >= batch + high_min / 2, the previous free was high-order too, and (with
            // PCPF_FREE_HIGH_BATCH) a batch is on the lists already.
            freeHigh = false;
            if (order > 0)
            {
                freeHigh = _freeCount[cpu] >= batch + (HighMin / 2) && _prevFreeHighOrder[cpu]
                    && (!FreeHighBatch || _count[cpu] >= batch);
                _prevFreeHighOrder[cpu] = true;
            }
            else
            {
                _prevFreeHighOrder[cpu] = false;
            }
            if (_freeCount[cpu] < batch << PcpBatchScaleMax)
                _freeCount[cpu] += 1 << order;
            int tuned = NrPcpHighTuned(cpu, reclaimActive, freeHigh);
            if (_count[cpu] >= tuned)
                return FreePcpPagesBulk(cpu, NrPcpFreeTuned(cpu, tuned, freeHigh), pindex);
            return 0;
        }
        // 6.6: free_high = pcp->free_factor && order && order <= PAGE_ALLOC_COSTLY_ORDER.
        freeHigh = _freeFactor[cpu] != 0 && order > 0;
        int high = freeHigh ? 0 : NrPcpHigh(reclaimActive);
        if (_count[cpu] >= high)
            return FreePcpPagesBulk(cpu, freeHigh ? _count[cpu] : NrPcpFree(cpu, high), pindex);
        return 0;
    }

    /// <summary>drain_pages_zone: every page on <paramref name="cpu"/>'s list goes back to the buddy allocator.</summary>
    public int Drain(int cpu) => _count[cpu] == 0 ? 0 : FreePcpPagesBulk(cpu, _count[cpu], 0);

    /// <summary>drain_all_pages(zone): drains every CPU's list. Returns the pages given back to the buddy allocator.</summary>
    public int DrainAll()
    {
        int n = 0;
        for (int cpu = 0; cpu < _count.Length; cpu++)
            n += Drain(cpu);
        return n;
    }

    /// <summary>
    /// nr_pcp_high (order 0): <see cref="High"/>, or at most four batches while the zone is being reclaimed, so
    /// freed pages reach the buddy allocator (and the watermarks) sooner.
    /// </summary>
    public int NrPcpHigh(bool reclaimActive)
    {
        if (High == 0)
            return 0;
        return reclaimActive ? Math.Min(Batch << 2, High) : High;
    }

    /// <summary>nr_pcp_free (order 0, so never free_high): how many pages a free over <paramref name="high"/> returns.</summary>
    public int NrPcpFree(int cpu, int high)
    {
        int batch = Batch;
        if (high < batch)
            return 1;
        int minNrFree = batch;
        int maxNrFree = high - batch;
        // batch << free_factor (free_factor stops growing once the shift reaches max_nr_free), then the kernel's
        // clamp(), which is min(max(val, lo), hi): hi wins should it be below lo (high < 2 * batch).
        long shifted = (long)batch << Math.Min(_freeFactor[cpu], 31);
        if (shifted < maxNrFree)
            _freeFactor[cpu]++;
        return (int)Math.Min(Math.Max(shifted, minNrFree), maxNrFree);
    }

    /// <summary>
    /// nr_pcp_alloc (Linux 6.7+, order 0): how many pages an empty list's refill takes. <c>high</c> is clamped into
    /// [high_min, high_max]; under one batch (a disabled list) a single page. Otherwise <c>batch &lt;&lt;
    /// alloc_factor</c>, and <c>high</c> grows by it (to high_max) unless the zone is ZONE_BELOW_HIGH ("if we had
    /// larger pcp->high, we could avoid to allocate from zone"); the refill is at most
    /// <c>max(high − count − batch, batch)</c>, and alloc_factor grows (to CONFIG_PCP_BATCH_SCALE_MAX) while the
    /// shifted batch fits in that.
    /// </summary>
    public int NrPcpAlloc(int cpu) => NrPcpAlloc(cpu, 0);

    /// <summary>
    /// nr_pcp_alloc for <paramref name="order"/>: as <see cref="NrPcpAlloc(int)"/> for order 0; a high-order refill
    /// starts from the plain batch (no alloc_factor, no cap by the room left), <c>high</c> grows by it alike, and the
    /// blocks taken are <c>max(batch &gt;&gt; order, 2)</c> ("scale batch relative to order").
    /// </summary>
    public int NrPcpAlloc(int cpu, int order)
    {
        int baseBatch = Batch;
        int high = _high[cpu] = Clamp(_high[cpu], HighMin, HighMax);
        if (high < baseBatch)
            return 1;
        int batch = order == 0 ? baseBatch << _allocFactor[cpu] : baseBatch;
        if (HighMin != HighMax && !BelowHigh)
            high = _high[cpu] = Math.Min(high + batch, HighMax);
        if (order == 0)
        {
            int maxNrAlloc = Math.Max(high - _count[cpu] - baseBatch, baseBatch);
            if (batch <= maxNrAlloc && _allocFactor[cpu] < PcpBatchScaleMax)
                _allocFactor[cpu]++;
            batch = Math.Min(batch, maxNrAlloc);
        }
        return batch > 1 ? Math.Max(batch >> order, 2) : batch;
    }

    /// <summary>
    /// nr_pcp_high (Linux 6.7+, order 0, never free_high): the count at which a free returns pages, tuning
    /// <c>high</c> on the way. <c>high</c> is clamped into [high_min, high_max] first. Under reclaim
    /// (ZONE_RECLAIM_ACTIVE) <c>high</c> drops by <c>max(free_count, batch)</c> (not below high_min) and the answer is
    /// <c>min(batch &lt;&lt; 2, high)</c>. With high_min = high_max nothing is tuned. ZONE_BELOW_HIGH: <c>high</c>
    /// drops the same way and the answer is <c>max(count, high_min)</c> (so this free returns pages whenever the list
    /// is above high_min). Otherwise, at <c>count &gt;= high</c>, <c>high</c> grows to hold a batch beyond the
    /// consecutive frees, <c>free_count + batch</c> (clamped), and the answer is the old <c>high</c>.
    /// </summary>
    public int NrPcpHighTuned(int cpu, bool reclaimActive) => NrPcpHighTuned(cpu, reclaimActive, freeHigh: false);

    /// <summary>
    /// nr_pcp_high with <paramref name="freeHigh"/>: a free_high free lowers <c>high</c> by <c>batch &lt;&lt;
    /// CONFIG_PCP_BATCH_SCALE_MAX</c> (not below high_min) and answers 0, so the free drains the lists; otherwise as
    /// <see cref="NrPcpHighTuned(int, bool)"/>.
    /// </summary>
    public int NrPcpHighTuned(int cpu, bool reclaimActive, bool freeHigh)
    {
        int batch = Batch;
        int high = _high[cpu] = Clamp(_high[cpu], HighMin, HighMax);
        if (high == 0)
            return 0;
        if (freeHigh)
        {
            _high[cpu] = Math.Max(high - (batch << PcpBatchScaleMax), HighMin);
            return 0;
        }
        if (reclaimActive)
        {
            int freeCount = Math.Max(_freeCount[cpu], batch);
            _high[cpu] = Math.Max(high - freeCount, HighMin);
            return Math.Min(batch << 2, _high[cpu]);
        }
        if (HighMin == HighMax)
            return high;
        if (BelowHigh)
        {
            int freeCount = Math.Max(_freeCount[cpu], batch);
            _high[cpu] = Math.Max(high - freeCount, HighMin);
            high = Math.Max(_count[cpu], HighMin);
        }
        else if (_count[cpu] >= high)
        {
            int needHigh = _freeCount[cpu] + batch;
            if (_high[cpu] < needHigh)
                _high[cpu] = Clamp(needHigh, HighMin, HighMax);
        }
        return high;
    }

    /// <summary>
    /// nr_pcp_free (Linux 6.7+, order 0): a bulk free returns the consecutive frees' count, <c>clamp(free_count,
    /// batch, high − batch)</c> (<see cref="Clamp"/>), or one page when <c>high &lt; batch</c>.
    /// </summary>
    public int NrPcpFreeTuned(int cpu, int high) => NrPcpFreeTuned(cpu, high, freeHigh: false);

    /// <summary>nr_pcp_free with <paramref name="freeHigh"/>: "free as much as possible", <c>min(count, batch &lt;&lt; CONFIG_PCP_BATCH_SCALE_MAX)</c>.</summary>
    public int NrPcpFreeTuned(int cpu, int high, bool freeHigh)
    {
        int batch = Batch;
        if (freeHigh)
            return Math.Min(_count[cpu], batch << PcpBatchScaleMax);
        if (high < batch)
            return 1;
        return Clamp(_freeCount[cpu], batch, high - batch);
    }

    /// <summary>
    /// The kernel's clamp() (include/linux/minmax.h __clamp): <c>val &gt;= hi ? hi : val &lt;= lo ? lo : val</c>. In a
    /// small zone high_max (an eighth of the zone per CPU) can be below high_min (the low watermark per CPU), and then
    /// hi wins for a value at or above it and lo for one below: Linux has no check for that case, nor does this.
    /// </summary>
    public static int Clamp(int val, int lo, int hi) => val >= hi ? hi : val <= lo ? lo : val;

    /// <summary>
    /// decay_pcp_high (Linux 6.7+), called by vmstat_update every second (sysctl_stat_interval) on each CPU: while
    /// <c>high</c> is above high_min it falls to <c>max3(count − (batch &lt;&lt; 5), high − high / 8, high_min)</c>,
    /// and the pages above it go back to the buddy allocator ("free possible idle PCP pages", at most
    /// <c>batch &lt;&lt; 5</c> beyond an eighth of high per call). Returns the pages given back.
    /// </summary>
    public int DecayPcpHigh(int cpu)
    {
        if (!HighTuning)
            return 0;
        if (_high[cpu] > HighMin)
            _high[cpu] = Math.Max(Math.Max(_count[cpu] - (Batch << PcpBatchScaleMax), _high[cpu] - (_high[cpu] >> 3)), HighMin);
        int toDrain = _count[cpu] - _high[cpu];
        return toDrain > 0 ? FreePcpPagesBulk(cpu, toDrain, 0) : 0;
    }

    /// <summary>Whether <see cref="DecayPcpHigh"/> would change anything on some CPU now (a decay timer's wake that would not can be skipped).</summary>
    public bool DecayPending()
    {
        if (!HighTuning)
            return false;
        for (int cpu = 0; cpu < _count.Length; cpu++)
            if (_high[cpu] > HighMin || _count[cpu] > _high[cpu])
                return true;
        return false;
    }

    // rmqueue_bulk: count blocks of the order and type off the buddy free lists (__rmqueue, remembering where it found
    // the last one), each queued at the list tail in the order received.
    private int RmqueueBulk(int cpu, MigrateType migratetype, int order, int count, bool noFragment)
    {
        int taken = 0;
        var mode = BuddyAllocator.RmqueueMode.Normal;
        int pindex = OrderToPindex(migratetype, order);
        for (; taken < count; taken++)
        {
            int pfn = _buddy.Rmqueue(order, migratetype, noFragment, ref mode);
            if (pfn < 0)
                break;
            AddTail(cpu, pindex, pfn - _startPfn, order);
        }
        return taken;
    }

    // free_pcppages_bulk: min(count, pcp->count) pages, from the list tails round-robin over the pindexes starting at
    // firstPindex (one list emptied, or the count reached, before the next), each block through __free_one_page at its
    // order. count is in pages and a block takes 2^order of it at once, so the last block may overshoot it.
    private int FreePcpPagesBulk(int cpu, int count, int firstPindex)
    {
        count = Math.Min(count, _count[cpu]);
        int pindex = firstPindex - 1;
        int freed = 0;
        while (count > 0)
        {
            int list;
            do
            {
                if (++pindex >= NrPcpLists)
                    pindex = 0;
                list = (cpu * NrPcpLists) + pindex;
            }
            while (_head[list] == None);
            int order = PindexToOrder(pindex), nr = 1 << order;
            do
            {
                int index = _tail[list];
                Unlink(index);
                int pfn = index + _startPfn;
                if (_frames is not null)
                {
                    for (int i = 0; i < nr; i++)
                        _frames[pfn + i].Flags = FrameFlags.Buddy;
                }
                _buddy.FreePages(pfn, order);
                count -= nr;
                freed += nr;
            }
            while (count > 0 && _head[list] != None);
        }
        return freed;
    }

    private void AddHead(int cpu, int pindex, int index, int order)
    {
        int list = (cpu * NrPcpLists) + pindex;
        int first = _head[list];
        _next[index] = first;
        _prev[index] = None;
        if (first == None) _tail[list] = index; else _prev[first] = index;
        _head[list] = index;
        Own(cpu, list, index, order);
    }

    private void AddTail(int cpu, int pindex, int index, int order)
    {
        int list = (cpu * NrPcpLists) + pindex;
        int last = _tail[list];
        _prev[index] = last;
        _next[index] = None;
        if (last == None) _head[list] = index; else _next[last] = index;
        _tail[list] = index;
        Own(cpu, list, index, order);
    }

    // The block's pages take the owner and the list (the head alone is linked) and the PcpList tag; the counts grow.
    private void Own(int cpu, int list, int index, int order)
    {
        int nr = 1 << order;
        for (int i = 0; i < nr; i++)
        {
            _owner[index + i] = (sbyte)cpu;
            _list[index + i] = (ushort)list;
            if (_frames is not null)
                _frames[index + i + _startPfn].Flags = FrameFlags.PcpList;
        }
        _listCount[list]++;
        _count[cpu] += nr;
    }

    private void Unlink(int index)
    {
        int list = _list[index];
        int cpu = _owner[index];
        int prev = _prev[index];
        int next = _next[index];
        if (prev == None) _head[list] = next; else _next[prev] = next;
        if (next == None) _tail[list] = prev; else _prev[next] = prev;
        _next[index] = None;
        _prev[index] = None;
        int nr = 1 << PindexToOrder(list % NrPcpLists);
        for (int i = 0; i < nr; i++)
            _owner[index + i] = (sbyte)None;
        _listCount[list]--;
        _count[cpu] -= nr;
    }

    private static long RoundDownPowerOfTwo(long x) => x <= 0 ? 0 : 1L << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)x));
}
