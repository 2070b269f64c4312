using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Policies;

namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// struct zone (one zone, all of RAM) and the frame table it manages, as mm/page_alloc.c owns them: every
/// physical frame's struct page (a row of <see cref="FrameTable"/>, row = pfn), the buddy free lists, the
/// per-CPU page lists in front of them (unless <see cref="KernelOptions.PerCpuPages"/> is off), the
/// watermarks, the pins that keep a page away from reclaim, and the zone's LRU (the replacement policy,
/// as zone->lruvec was before Linux 4.8 moved it to the node). Allocation and freeing of order-0 pages go
/// through here; the allocator system adds the watermark logic.
/// </summary>
public sealed class Zone
{
    private readonly CounterRegistry _counters;
    private readonly KernelCounters _c;
    private ulong _contentSeq;

    internal Zone(World world, KernelOptions options, CounterRegistry counters, KernelCounters c, IReplacementPolicy lru)
    {
        _counters = counters;
        _c = c;
        int pages = (int)options.PageCount;
        FrameTable = world.CreateTable(pages, ComponentType.Of<Frame>());
        Frames = FrameTable.ColumnArray<Frame>();
        for (int pfn = 0; pfn < pages; pfn++)
            Frames[pfn] = Frame.Fresh(pfn) with { RefCount = 0, Flags = FrameFlags.Buddy };
        Buddy = new BuddyAllocator(pages);
        // prep_move_freepages_block's movable pages: PageLRU (isolated pages are off the LRU and do not count), and the
        // pages an aged machine's other users hold (machine.free_area), which stand for their page cache and anonymous pages.
        Buddy.IsMovable = pfn => (Frames[pfn].Flags & (FrameFlags.Lru | FrameFlags.Reserved)) != 0;
        Buddy.ExtfragEvent = () => _counters.Increment(_c.Extfrag);
        WatermarkBoostFactor = options.WatermarkBoostFactor;
        Buddy.BoostWatermarkEvent = BoostForFallback;
        Watermarks = Watermarks.Compute(pages, (int)Pte.PageSize, options.MinFreeKbytes);
        Unevictable = new bool[pages];
        Pins = new int[pages];
        Lru = lru;
        PageTableReserve = options.Paging.Levels - 1;

        // The shared zero page: one reserved frame every never-written anonymous page can map read-only. Linux's
        // is a static page of the kernel image that never passes through the page allocator; here it is reserved
        // from the buddy allocator at boot, before any per-CPU list exists, and is never freed.
        // An aged machine (machine.free_area) starts with its free lists as given and the rest of its pages held;
        // the zero page is then the first held page, so /proc/buddyinfo at the start shows the counts as given.
        ZeroPfn = -1;
        if (options.FreeArea is { } fa)
        {
            AgedFreeArea area = AgedFreeArea.Place(pages, [.. fa.Blocks], options.Seed);
            Buddy.Age(area);
            for (int pfn = 0; pfn < pages; pfn++)
            {
                if (area.Held[pfn])
                {
                    ZeroPfn = pfn;
                    break;
                }
            }
            // machine.free_area_cache: these held pages are the page cache the kernel adds once it has one
            // (Filemap.HeldCache); they stay allocated here, neither reserved nor pinned.
            HeldCache = area.ChooseCache(ZeroPfn, fa.CachePages, options.Seed);
            var cache = new bool[pages];
            foreach (int pfn in HeldCache)
                cache[pfn] = true;
            for (int pfn = 0; pfn < pages; pfn++)
            {
                if (!area.Held[pfn] || pfn == ZeroPfn)
                    continue;
                if (cache[pfn])
                {
                    Frames[pfn] = Frame.Fresh(pfn);
                    continue;
                }
                Frames[pfn] = Frame.Fresh(pfn) with { Flags = FrameFlags.Reserved };
                PinFrame(pfn);
            }
            HeldPages = area.HeldPages - (ZeroPfn >= 0 ? 1 : 0) - HeldCache.Length;
        }
        if (ZeroPfn < 0)
            ZeroPfn = Buddy.AllocPages(0);
        Frames[ZeroPfn] = Frame.Fresh(ZeroPfn) with { Flags = FrameFlags.Locked };
        PinFrame(ZeroPfn);

        if (options.PerCpuPages)
        {
            // zone_set_pageset_high_and_batch: every CPU gets the zone's batch and high (6.6), or high_min and
            // high_max (6.7+: zone_highsize with the low watermark, and with MIN_PERCPU_PAGELIST_HIGH_FRACTION's
            // eighth of the managed pages).
            int batch = PerCpuPageSet.ZoneBatchSize(pages, (int)Pte.PageSize);
            int high = PerCpuPageSet.ZoneHighSize(Watermarks.Low, batch, options.Cpus);
            int highMax = PerCpuPageSet.ZoneHighSize(pages / PerCpuPageSet.MinPercpuPagelistHighFraction, batch, options.Cpus);
            Pcp = options.PcpHighTuning
                ? new PerCpuPageSet(Buddy, options.Cpus, batch, high, highMax, Frames, tuning: true)
                : new PerCpuPageSet(Buddy, options.Cpus, batch, high, Frames);
            HighOrderPcp = options.PcpHighOrder;
        }
    }

    /// <summary>
    /// Pages held from boot by the machine's other users and pinned (<c>machine.free_area</c>; <see cref="FrameFlags.Reserved"/>):
    /// the zero page and the <see cref="HeldCache"/> apart.
    /// </summary>
    public int HeldPages { get; }

    /// <summary>
    /// The held pages that start as page cache (<c>machine.free_area_cache</c>), in file-index order: element i holds
    /// page i of the boot-time file (<see cref="Filemap.HeldCache"/>); empty without the key.
    /// </summary>
    public int[] HeldCache { get; } = [];

    /// <summary>The incremental checker's record of the tick's changes (null when checking is off).</summary>
    internal Kernel.DirtySet? Dirty;

    /// <summary>The frame table: one entity per physical page, row = pfn.</summary>
    public Table FrameTable { get; }

    /// <summary>The Frame column of <see cref="FrameTable"/>: element pfn is that frame's struct page.</summary>
    public Frame[] Frames { get; }

    public BuddyAllocator Buddy { get; }
    public Watermarks Watermarks { get; }

    /// <summary>zone-&gt;per_cpu_pageset: the per-CPU page lists, or null when they are off (<c>machine.per_cpu_pages: false</c>).</summary>
    public PerCpuPageSet? Pcp { get; }

    /// <summary>
    /// Whether orders 1..PAGE_ALLOC_COSTLY_ORDER use <see cref="Pcp"/> too (<c>machine.pcp_high_order</c>; false: they go
    /// to and come from the buddy allocator, page by page on free). Needs the per-CPU lists.
    /// </summary>
    public bool HighOrderPcp { get; }

    /// <summary>Free pages held on per-CPU lists (0 when they are off): free, but outside NR_FREE_PAGES.</summary>
    public long PcpPages => Pcp?.TotalCount ?? 0;

    /// <summary>
    /// ZONE_RECLAIM_ACTIVE: kswapd is balancing the node. While set, a per-CPU list keeps at most four batches
    /// (nr_pcp_high) so freed pages reach the buddy allocator, and the watermarks, sooner.
    /// </summary>
    public bool ReclaimActive { get; internal set; }

    /// <summary>The zone's LRU: the replacement policy reclaim asks for victims (with cgroups: the root cgroup's lruvec).</summary>
    public IReplacementPolicy Lru { get; }

    /// <summary>The memory controller when the machine has cgroups (each frame then sits on its memcg's lruvec); null otherwise.</summary>
    public Memcontrol.MemcgController? Memcg { get; internal set; }

    /// <summary>folio_lruvec: the LRU a frame's page is on (the zone's own without cgroups).</summary>
    public IReplacementPolicy LruOf(int pfn) => Memcg is null ? Lru : Memcg.LruvecOf(pfn);

    /// <summary>
    /// lruvec_del_folio: the frame leaves its LRU (the caller clears PG_lru). A page of a large page-cache folio takes
    /// its whole folio off (its one entry, folio_nr_pages in the counts), and PG_lru is cleared on all its pages here.
    /// </summary>
    public void LruDel(int pfn)
    {
        int nr = 1;
        if (Frames[pfn].FolioOrder != 0)
            pfn = LruDelLargeFolio(pfn, out nr);
        if (Memcg is null)
        {
            Lru.OnRemoved(pfn);
            return;
        }
        Memcg.LruvecOf(pfn).OnRemoved(pfn);
        Memcg.LruCount(pfn, -nr);
    }

    /// <summary>
    /// <see cref="LruDel"/> for a page of a large page-cache folio: PG_lru cleared on every page; returns the head and
    /// (<paramref name="nr"/>) folio_nr_pages. Out of line, so the order-0 path stays small enough to inline.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int LruDelLargeFolio(int pfn, out int nr)
    {
        int head = Filemap.PageCacheFolio.Head(Frames, pfn);
        nr = Filemap.PageCacheFolio.NrPages(Frames, head);
        for (int p = head; p < head + nr; p++)
        {
            Dirty?.Frame(p);
            Frames[p].Flags &= ~FrameFlags.Lru;
        }
        return head;
    }

    /// <summary>The shared zero page (ZERO_PAGE).</summary>
    public int ZeroPfn { get; }

    /// <summary>Frames the policy must not pick now: pinned ones (page tables, the zero page, pages under I/O or about to be mapped).</summary>
    public bool[] Unevictable { get; }

    /// <summary>Pin counts per frame (a reference that stops reclaim, like an elevated page refcount).</summary>
    public int[] Pins { get; }

    /// <summary>Keeps reclaim away from <paramref name="pfn"/> until the matching <see cref="UnpinFrame"/>.</summary>
    public void PinFrame(int pfn)
    {
        Dirty?.Frame(pfn);
        Pins[pfn]++;
        Unevictable[pfn] = true;
    }

    public void UnpinFrame(int pfn)
    {
        Dirty?.Frame(pfn);
        if (--Pins[pfn] == 0)
            Unevictable[pfn] = false;
        else if (Pins[pfn] < 0)
            throw new InvalidOperationException($"frame {pfn} unpinned more often than pinned");
    }

    /// <summary>A fresh token standing for new page content (proves content survives swap round trips).</summary>
    public ulong NextContentToken() => ++_contentSeq;

    /// <summary>
    /// alloc_pages(order 0) of <paramref name="migratetype"/> on <paramref name="cpu"/> (smp_processor_id()) without
    /// the watermark logic (the allocator system applies that): rmqueue takes the frame from that CPU's per-CPU list
    /// of the type, refilled from the buddy allocator when empty (rmqueue_pcplist), or straight from the buddy
    /// allocator when the lists are off; then its struct page is reset. Returns -1 when no page is left where it
    /// looked. User pages are MOVABLE (GFP_HIGHUSER_MOVABLE), page tables UNMOVABLE (GFP_PGTABLE_USER).
    /// </summary>
    public int AllocFrame(int cpu, MigrateType migratetype = MigrateType.Movable)
    {
        // get_page_from_freelist (6.7+): a zone failing its high watermark is ZONE_BELOW_HIGH, so the per-CPU lists
        // shrink their high on frees and stop growing it on refills ("to reduce the possibility of premature page
        // reclaiming"); once set it is not tested again until a bulk free clears it.
        if (Pcp is { HighTuning: true, BelowHigh: false } && !Watermarks.AboveHigh(Buddy.NrFreePages))
            Pcp.BelowHigh = true;
        int pfn = Pcp is null ? Buddy.AllocPages(0, migratetype) : Pcp.Alloc(cpu, migratetype);
        if (pfn < 0)
        {
            CheckBoostedWatermark();
            return -1;
        }
        Dirty?.Frame(pfn);
        Frames[pfn] = Frame.Fresh(pfn);
        _counters.Increment(_c.PgAllocNormal);
        CheckAllocMark();
        CheckBoostedWatermark();
        return pfn;
    }

    /// <summary>
    /// rmqueue for a block of <paramref name="order"/> without the watermark logic (the caller applies it): orders
    /// 1..PAGE_ALLOC_COSTLY_ORDER come from <paramref name="cpu"/>'s per-CPU list of that order (rmqueue_pcplist,
    /// refilled by rmqueue_bulk), larger ones, or all when the lists are off, from the buddy allocator (rmqueue_buddy).
    /// Returns the head of a block allocated at <paramref name="order"/> in the buddy allocator's books, or -1. The
    /// caller resets the struct pages.
    /// </summary>
    public int AllocPages(int cpu, int order, MigrateType migratetype = MigrateType.Movable)
    {
        if (Pcp is null || (order != 0 && !HighOrderPcp) || !PerCpuPageSet.PcpAllowedOrder(order))
            return Buddy.AllocPages(order, migratetype);
        if (Pcp is { HighTuning: true, BelowHigh: false } && !Watermarks.AboveHigh(Buddy.NrFreePages))
            Pcp.BelowHigh = true;
        return Pcp.Alloc(cpu, migratetype, order);
    }

    /// <summary>vm.watermark_boost_factor (<c>machine.watermark_boost_factor</c>; 0 turns boosting off).</summary>
    public int WatermarkBoostFactor { get; }

    /// <summary>ZONE_BOOSTED_WATERMARK: a fallback boosted the marks and kswapd has not been woken for it yet.</summary>
    public bool BoostedWatermark { get; private set; }

    /// <summary>
    /// ALLOC_KSWAPD of the allocation in progress (its gfp has __GFP_KSWAPD_RECLAIM): true for user pages and page
    /// tables; false around a large-folio allocation whose gfp lacks it (vma_thp_gfp_mask without kswapd reclaim).
    /// </summary>
    internal bool AllocKswapd { get; set; } = true;

    /// <summary>wakeup_kswapd(zone, 0, 0, ...) for a boosted zone (set by the kernel: a KswapdWakeup work item).</summary>
    public Action? WakeKswapd { get; set; }

    /// <summary>
    /// try_to_claim_block's boost: <see cref="Watermarks.BoostWatermark"/>, and when it applied and the allocation
    /// may wake kswapd (ALLOC_KSWAPD), ZONE_BOOSTED_WATERMARK so that rmqueue wakes kswapd after this allocation
    /// (the node may be balanced overall, so kswapd would not wake on its own).
    /// </summary>
    private void BoostForFallback()
    {
        if (Watermarks.BoostWatermark(WatermarkBoostFactor, BuddyAllocator.PageblockPages) && AllocKswapd)
            BoostedWatermark = true;
    }

    /// <summary>
    /// The end of rmqueue: an allocation with ALLOC_KSWAPD that finds ZONE_BOOSTED_WATERMARK set clears it and wakes
    /// kswapd (order 0), whether or not it got a page.
    /// </summary>
    public void CheckBoostedWatermark()
    {
        if (!AllocKswapd || !BoostedWatermark)
            return;
        BoostedWatermark = false;
        WakeKswapd?.Invoke();
    }

    /// <summary>
    /// After a buddy allocation (<see cref="AllocFrame"/>'s, or a huge page's, whose block is taken at once): runs
    /// <see cref="AllocMarkReached"/> once the count has reached <see cref="AllocMark"/>.
    /// </summary>
    public void CheckAllocMark()
    {
        if (AllocMark >= 0 && Buddy.AllocCount >= AllocMark)
        {
            // Once: the buddy allocator's count passed the mark in this call (a per-CPU refill takes several).
            AllocMark = -1;
            AllocMarkReached?.Invoke();
        }
    }

    /// <summary>
    /// When <see cref="BuddyAllocator.AllocCount"/> reaches this value (-1: never), <see cref="AllocMarkReached"/>
    /// runs at the end of the <see cref="AllocFrame"/> call that got there, with the frame handed out and not yet
    /// used: the <c>--snapshot peak</c> capture point of a second run (<see cref="BuddyAllocator.MinFreeAt"/>).
    /// </summary>
    public long AllocMark { get; set; } = -1;

    /// <summary>Called once when <see cref="AllocMark"/> is reached.</summary>
    public Action? AllocMarkReached { get; set; }

    /// <summary>Told when the head page of a THP not split yet is freed (the folio leaves the deferred split queue).</summary>
    public Action<int>? ThpHeadFreed { get; set; }

    /// <summary>The flusher's dirty-page accounting, told when a frame goes (null without async writeback).</summary>
    public PageWriteback.Flusher? Flusher { get; set; }

    /// <summary>
    /// Whether <paramref name="pfn"/> is the first page of its folio (folio_page(folio, 0)): a single page, the head of an
    /// unsplit THP (<see cref="FrameFlags.Thp"/>, PMD-aligned) or of a large page-cache folio (<see cref="Frame.FolioOrder"/>).
    /// </summary>
    public bool FolioHead(int pfn)
    {
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.Thp) != 0)
            return (pfn & (BuddyAllocator.PageblockPages - 1)) == 0;
        return f.FolioOrder == 0 || (pfn & ((1 << f.FolioOrder) - 1)) == 0;
    }

    /// <summary>
    /// __free_pages on <paramref name="cpu"/> (smp_processor_id()), after taking the frame off the LRU: with
    /// per-CPU lists, free_unref_page puts it on that CPU's list (returning a chunk of the list to the buddy
    /// allocator when it reaches its high mark); without them it goes straight back to the buddy allocator.
    /// </summary>
    public void FreeFrame(int pfn, int cpu) => FreeFrame(pfn, cpu, pgpgout: FolioHead(pfn));

    /// <summary>
    /// <see cref="FreeFrame(int, int)"/>; <paramref name="pgpgout"/>: whether its uncharge is the folio's v1 PGPGOUT
    /// event (uncharge_folio counts one a folio): false for the page a migration copied from (mem_cgroup_migrate cleared
    /// its memcg_data, its charge went to the new page) and for a large folio's pages after its head.
    /// </summary>
    public void FreeFrame(int pfn, int cpu, bool pgpgout)
    {
        if (_folioHead >= 0)
        {
            FreeFolioPage(pfn, cpu, pgpgout);
            return;
        }
        Dirty?.Frame(pfn);
        Flusher?.FrameFreed(pfn);
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.Lru) != 0 || InLruAddBatch(pfn))
            LruDel(pfn);
        // mem_cgroup_uncharge: the charge goes with the page (a page table's from pagetables as well).
        // v1's PGPGOUT is one per folio (uncharge_folio): a page of an unsplit THP or large page-cache folio counts it
        // at its head only (FreeFrame(int, int)).
        Memcg?.UnchargeFrame(pfn, (f.Flags & FrameFlags.Slab) != 0, cpu, pgpgout);
        Unevictable[pfn] = false;
        Pins[pfn] = 0;
        // A page of a THP not split yet goes back with its folio (free_unref_folios frees the order-9 folio at
        // once): straight to the buddy allocator, where the 512 pages merge back into their order-9 block.
        if ((f.Flags & FrameFlags.Thp) != 0 && (pfn & (BuddyAllocator.PageblockPages - 1)) == 0)
            ThpHeadFreed?.Invoke(pfn); // the folio goes: off its deferred split queue
        if (Pcp is null || (f.Flags & FrameFlags.Thp) != 0)
        {
            f = Frame.Fresh(pfn) with { RefCount = 0, Flags = FrameFlags.Buddy };
            Buddy.FreePages(pfn, 0);
        }
        else
        {
            f = Frame.Fresh(pfn) with { RefCount = 0, Flags = FrameFlags.PcpList };
            // free_frozen_page_commit (6.7+): a bulk free that leaves the zone above its high watermark clears
            // ZONE_BELOW_HIGH.
            if (Pcp.Free(pfn, cpu, ReclaimActive) > 0 && Pcp.BelowHigh && Watermarks.AboveHigh(Buddy.NrFreePages))
                Pcp.BelowHigh = false;
        }
        _counters.Increment(_c.PgFree);
    }

    // The large folio being freed whole (BeginFolioFree): its head, order and the next page expected; -1 when none.
    private int _folioHead = -1, _folioOrder, _folioNext;

    /// <summary>
    /// A large page-cache folio of <paramref name="order"/> (1..PAGE_ALLOC_COSTLY_ORDER) at <paramref name="head"/>
    /// is freed whole: the next 2^order <see cref="FreeFrame(int, int, bool)"/> calls must be its pages in pfn order;
    /// each leaves its LRU, memcg and pins as a single page does, and the last hands the folio to the per-CPU list of
    /// its order as one block (free_unref_folios → free_frozen_page_commit), where the next allocation of that order
    /// on the CPU takes it back first. Returns false (nothing begun: free the pages one by one) when the lists are off.
    /// </summary>
    public bool BeginFolioFree(int head, int order)
    {
        if (Pcp is null || !HighOrderPcp || order < 1 || !PerCpuPageSet.PcpAllowedOrder(order))
            return false;
        if (_folioHead >= 0)
            throw new InvalidOperationException($"folio free at {head} begun while the folio at {_folioHead} is not yet freed");
        if ((head & ((1 << order) - 1)) != 0)
            throw new InvalidOperationException($"folio free: {head} is not aligned to order {order}");
        _folioHead = head;
        _folioOrder = order;
        _folioNext = head;
        return true;
    }

    // FreeFrame for a page of the folio BeginFolioFree named: the page's own bookkeeping, then, at the last page, the
    // block on the per-CPU list.
    private void FreeFolioPage(int pfn, int cpu, bool pgpgout)
    {
        if (pfn != _folioNext)
            throw new InvalidOperationException($"folio free: page {pfn} freed where page {_folioNext} of the folio at {_folioHead} was due");
        Dirty?.Frame(pfn);
        Flusher?.FrameFreed(pfn);
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.Lru) != 0)
            LruDel(pfn);
        Memcg?.UnchargeFrame(pfn, (f.Flags & FrameFlags.Slab) != 0, cpu, pgpgout);
        Unevictable[pfn] = false;
        Pins[pfn] = 0;
        f = Frame.Fresh(pfn) with { RefCount = 0 };
        _counters.Increment(_c.PgFree);
        if (++_folioNext < _folioHead + (1 << _folioOrder))
            return;
        int head = _folioHead, order = _folioOrder;
        _folioHead = -1;
        Buddy.UnsplitPage(head, order);
        if (Pcp!.Free(head, cpu, ReclaimActive, order) > 0 && Pcp.BelowHigh && Watermarks.AboveHigh(Buddy.NrFreePages))
            Pcp.BelowHigh = false;
    }

    /// <summary>
    /// drain_all_pages(zone): every CPU's list goes back to the buddy allocator. Returns the pages moved (0 when
    /// the lists are off or empty).
    /// </summary>
    public int DrainAllPages() => Pcp?.DrainAll() ?? 0;

    /// <summary>
    /// Whether reclaim holds <paramref name="pfn"/> isolated (folio_isolate_lru's reference: shrink_folio_list's folios
    /// not yet released), so that no other put may free it: reclaim's own release does (<see cref="Vmscan.Lruvec.HeldIsolated"/>).
    /// </summary>
    public bool HeldIsolated(int pfn) => LruOf(pfn) is Vmscan.Lruvec lv && lv.HeldIsolated(pfn);

    /// <summary>
    /// The final put_page of a frame nobody needs any more: not mapped, not pinned, not held isolated by reclaim, not in
    /// the swap cache or under writeback, and (for a file page) not in the page cache, which keeps it until reclaim drops it.
    /// </summary>
    public void FreeIfOrphan(int pfn, int cpu)
    {
        ref Frame f = ref Frames[pfn];
        if (f.IsFree || f.MapCount > 0 || Pins[pfn] > 0 || (f.Flags & (FrameFlags.SwapCache | FrameFlags.Writeback)) != 0)
            return;
        if (HeldIsolated(pfn))
            return;
        if (!f.IsAnon && f.Mapping >= 0)
            return;
        FreeFrame(pfn, cpu);
    }

    /// <summary>
    /// folio_add_lru: the frame now holds a reclaimable page the policy should rank. PG_lru comes with lru_add, when
    /// the folio's lru_add batch moves it onto its lruvec (folio_batch_move_lru's folio_set_lru, which
    /// <see cref="Vmscan.Lruvec"/> sets then); a folio the batch moved at once, a THP's other pages (their head's
    /// entry stands for them) and a policy without batches get it now.
    /// </summary>
    public void LruAdd(int pfn, ulong pageKey)
    {
        Dirty?.Frame(pfn);
        int nr = Frames[pfn].FolioOrder != 0 ? LruAddLargeFolio(pfn) : 1;
        IReplacementPolicy policy = Memcg is null ? Lru : Memcg.LruvecOf(pfn);
        policy.OnInserted(pfn, pageKey);
        if (policy is not Vmscan.Lruvec lv || !lv.InBatch(pfn))
        {
            Frames[pfn].Flags |= FrameFlags.Lru;
            if (nr != 1)
                Filemap.PageCacheFolio.SyncTails(Frames, pfn);
        }
        Memcg?.LruCount(pfn, nr);
    }

    /// <summary>Whether <paramref name="pfn"/> waits in a CPU's lru_add batch (no PG_lru yet, but the LRU's to free).</summary>
    public bool InLruAddBatch(int pfn) => (Memcg is null ? Lru : Memcg.LruvecOf(pfn)) is Vmscan.Lruvec lv && lv.InBatch(pfn);

    /// <summary>
    /// folio_add_lru of a large folio (<paramref name="pfn"/> is its head) for <see cref="LruAdd"/>: one entry; its pages
    /// take the head's flags. Returns folio_nr_pages. Out of line, so the order-0 path stays small enough to inline.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int LruAddLargeFolio(int pfn)
    {
        int nr = Filemap.PageCacheFolio.NrPages(Frames, pfn);
        for (int p = pfn + 1; p < pfn + nr; p++)
            Dirty?.Frame(p);
        Filemap.PageCacheFolio.SyncTails(Frames, pfn);
        return nr;
    }

    /// <summary>Identity of an anonymous page for history-keeping policies (ARC): owner mm and page number.</summary>
    public static ulong AnonKey(int mmId, ulong va) => ((ulong)(uint)mmId << 44) ^ (va >> Pte.PageShift);

    /// <summary>Identity of a file page: file id and page index, tagged so it never equals an anonymous key.</summary>
    public static ulong FileKey(int file, long index) => (1UL << 63) | ((ulong)(uint)file << 40) | (ulong)index;

    /// <summary>
    /// Allocations stalled in the slow path, waiting for direct reclaim (oldest first): the allocator retries
    /// them every tick, and the CPUs issue one access per tick while any waits, so a retry comes after every access.
    /// </summary>
    internal List<AllocRequest> Stalled { get; } = new();

    /// <summary>True while some fault waits in the allocator for reclaim.</summary>
    public bool HasStalledAllocations => Stalled.Count > 0;

    /// <summary>
    /// What the last direct reclaim pass reclaimed (try_to_free_pages' return, __perform_reclaim's progress): the
    /// allocations stalled on it read it at their next attempt as did_some_progress (the reclaim runs later in the
    /// tick than the allocator, so a stalled request's own reclaim is the last one when it is retried).
    /// </summary>
    public long DirectReclaimProgress { get; internal set; }

    /// <summary>Page-table pages a fault may need in the worst case (every level below the root).</summary>
    public int PageTableReserve { get; }

    /// <summary>Faults the allocator granted whose PTE is not installed yet (each may need page-table pages).</summary>
    public int TableReservations { get; private set; }

    /// <summary>
    /// Whether an allocation with <paramref name="freePages"/> free must wait for direct reclaim: a frame
    /// needs free pages above the min watermark, and any fault must leave enough frames for the page-table
    /// pages its mapping may allocate (those are taken without a watermark check, so they are kept back here).
    /// </summary>
    public bool MustStall(long freePages, bool needsFrame)
    {
        // Faults granted earlier and not yet installed (a read in flight) may still need their tables.
        long avail = freePages - ((long)TableReservations * PageTableReserve);
        return needsFrame
            ? Watermarks.BelowMin(freePages) || avail - 1 < PageTableReserve
            : avail < PageTableReserve;
    }

    /// <summary>The allocator grants a fault: keep page-table frames back until it is installed or dropped.</summary>
    internal void ReserveTables(ref bool reserved)
    {
        if (reserved)
            return;
        reserved = true;
        TableReservations++;
    }

    /// <summary>The fault was installed or dropped: its page-table frames are no longer held back.</summary>
    internal void ReleaseTables(bool reserved)
    {
        if (reserved)
            TableReservations--;
    }
}
