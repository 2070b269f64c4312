using EcsMem.Components;
using EcsMem.Systems.PageAlloc;

namespace EcsMem.Systems.Compaction;

/// <summary>enum compact_result (include/linux/compaction.h), in Linux's order (try_to_compact_pages keeps the largest).</summary>
public enum CompactResult : byte
{
    /// <summary>COMPACT_NOT_SUITABLE_ZONE.</summary>
    NotSuitableZone,
    /// <summary>COMPACT_SKIPPED: too little free memory to compact into (compaction_suitable), or a low fragmentation index.</summary>
    Skipped,
    /// <summary>COMPACT_DEFERRED: recent failures at this order (compaction_deferred).</summary>
    Deferred,
    /// <summary>COMPACT_NO_SUITABLE_PAGE.</summary>
    NoSuitablePage,
    /// <summary>COMPACT_CONTINUE.</summary>
    Continue,
    /// <summary>COMPACT_COMPLETE: the scanners met without a free block of the order.</summary>
    Complete,
    /// <summary>COMPACT_PARTIAL_SKIPPED.</summary>
    PartialSkipped,
    /// <summary>COMPACT_CONTENDED.</summary>
    Contended,
    /// <summary>COMPACT_SUCCESS: a free block of the order exists.</summary>
    Success,
}

/// <summary>Who runs compact_zone: a direct compactor, kcompactd for an order, or kcompactd's proactive compaction.</summary>
public enum CompactRun : byte
{
    /// <summary>__alloc_pages_direct_compact: in the allocating task.</summary>
    Direct,
    /// <summary>kcompactd_do_work: woken for an order.</summary>
    Kcompactd,
    /// <summary>compact_node(proactive): kcompactd's timer and a fragmentation score above the high mark.</summary>
    Proactive,
}

/// <summary>
/// Direct compaction (mm/compaction.c) for a costly-order allocation that found no free block: compact_zone's two
/// scanners — the migrate scanner from the zone's start isolating movable pages (isolate_migratepages_block, at
/// most COMPACT_CLUSTER_MAX = 32 at a time), the free scanner from the zone's end isolating free pages
/// (isolate_freepages_block) — and migrate_pages moving each isolated page into a free one (its PTEs rewritten
/// through the reverse map and flushed, its LRU, memcg and content carried over, the old frame freed), until a
/// free block of the order exists (COMPACT_SUCCESS, checked at pageblock boundaries) or the scanners meet
/// (COMPACT_COMPLETE). Around it: compaction_suitable (free pages above the low watermark plus compact_gap, 2 &lt;&lt;
/// order, and a fragmentation index above extfrag_threshold, 500), compaction_deferred / defer_compaction /
/// compaction_defer_reset, and the counters compact_stall, compact_success, compact_fail,
/// compact_migrate_scanned, compact_free_scanned, compact_isolated, pgmigrate_success, pgmigrate_fail.
/// </summary>
/// <remarks>
/// What a page needs to move here: on an LRU list, not in the swap cache, not locked or under writeback, not pinned,
/// not part of a THP, and either anonymous (not shmem) and mapped, or a clean page-cache page (mapped or not: its
/// cache slot moves with it). Page-table pages, the zero pages, pages on per-CPU lists and pinned pages stay where
/// they are, as in Linux; shmem, swap-cache and dirty page-cache pages do too (Linux migrates them: a
/// simplification, docs/kernel.md).
/// </remarks>
public sealed class Compaction(Kernel.Kernel kernel)
{
    /// <summary>pageblock_order on x86-64 (HPAGE_PMD_ORDER).</summary>
    public const int PageblockOrder = 9;

    /// <summary>pageblock_nr_pages.</summary>
    public const int PageblockPages = 1 << PageblockOrder;

    /// <summary>COMPACT_CLUSTER_MAX (SWAP_CLUSTER_MAX): pages isolated per migrate-scanner pass.</summary>
    public const int ClusterMax = 32;

    /// <summary>COMPACT_MAX_DEFER_SHIFT.</summary>
    public const int MaxDeferShift = 6;

    /// <summary>vm.extfrag_threshold's default.</summary>
    public const int ExtfragThreshold = 500;

    private readonly List<int> _migrate = new(ClusterMax);
    private readonly List<int> _free = new();
    private readonly List<(int Mm, ulong Va)> _maps = new();
    private int _migratePfn, _freePfn;
    private int _order; // cc->order of the run (-1: a proactive run, compact_node)
    private CompactRun _run;

    /// <summary>
    /// Cycles per page the migrate or free scanner looks at (its struct page: flags, buddy order, LRU state, a line of
    /// its own, seldom cached), taken as one L3 hit (<c>latency.l3</c>) — an estimate from the machine's latencies, as
    /// khugepaged's per-PTE scan cost is, not a measurement.
    /// </summary>
    public long ScanPageCycles => kernel.Timing.L3HitCycles;

    /// <summary>
    /// Cycles per migrated page (folio_copy: a 4 KiB read and a 4 KiB write, streamed): two DRAM latencies
    /// (<c>latency.memory</c>), the cost khugepaged's copy takes per page too; a model, EcsMem has no bandwidth model.
    /// </summary>
    public long CopyPageCycles => 2 * kernel.Timing.MemoryCycles;

    /// <summary>Cycles the last <see cref="CompactZone(int, CompactRun)"/> took on its CPU (scanning and copying).</summary>
    public long LastRunCycles { get; private set; }

    /// <summary>Pages the migrate scanner of the last <see cref="CompactZone(int, CompactRun)"/> looked at (cc->total_migrate_scanned).</summary>
    public long LastMigrateScanned { get; private set; }

    /// <summary>Pages the free scanner of the last run looked at (cc->total_free_scanned).</summary>
    public long LastFreeScanned { get; private set; }

    /// <summary>zone-&gt;compact_considered.</summary>
    public int CompactConsidered { get; private set; }

    /// <summary>zone-&gt;compact_defer_shift.</summary>
    public int CompactDeferShift { get; private set; }

    /// <summary>zone-&gt;compact_order_failed (starts above every order, as zone init leaves it 0 and the first reset raises it: here it begins at the first order that may be deferred, which is none).</summary>
    public int CompactOrderFailed { get; private set; } = BuddyAllocator.MaxOrder + 1;

    /// <summary>
    /// vma_thp_gfp_mask's __GFP_DIRECT_RECLAIM: whether a THP fault in a VMA with <paramref name="flags"/> may compact
    /// directly (defrag <c>always</c>: every VMA; <c>madvise</c> and <c>defer+madvise</c>: VM_HUGEPAGE areas;
    /// <c>defer</c> and <c>never</c>: none).
    /// </summary>
    public static bool ThpDirectCompaction(Scenarios.ThpDefrag defrag, VmFlags flags) => defrag switch
    {
        Scenarios.ThpDefrag.Always => true,
        Scenarios.ThpDefrag.Madvise or Scenarios.ThpDefrag.DeferMadvise => (flags & VmFlags.HugePage) != 0,
        _ => false,
    };

    /// <summary>
    /// __alloc_pages_direct_compact with try_to_compact_pages for the zone: deferred (counted as a stall and a
    /// failure, as the code does), skipped (nothing counted), or compact_zone; then the allocation is tried again
    /// with <paramref name="alloc"/> (get_page_from_freelist). Returns what <paramref name="alloc"/> returned, or -1.
    /// </summary>
    public int DirectCompact(int order, Func<int> alloc)
    {
        var counters = kernel.Env.Counters;
        var c = kernel.C;
        CompactResult rc;
        if (CompactionDeferred(order))
        {
            rc = CompactResult.Deferred;
        }
        else
        {
            rc = CompactZone(order);
            if (rc == CompactResult.Success)
                DeferReset(order, allocSuccess: false);
            else if (rc is CompactResult.Complete or CompactResult.PartialSkipped)
                DeferCompaction(order); // the sync-light retry of the slow path (see the remarks in docs/kernel.md)
        }
        LastResult = rc;
        if (rc == CompactResult.Skipped)
            return -1;
        counters.Increment(c.CompactStall);
        int page = alloc();
        if (page >= 0)
        {
            DeferReset(order, allocSuccess: true);
            counters.Increment(c.CompactSuccess);
            return page;
        }
        counters.Increment(c.CompactFail);
        return -1;
    }

    /// <summary>What the last <see cref="DirectCompact"/> found (for tests).</summary>
    public CompactResult LastResult { get; private set; } = CompactResult.Skipped;

    /// <summary>
    /// compaction_deferred: below the order that last failed, never; otherwise only every 2^compact_defer_shift-th
    /// attempt goes ahead (compact_considered counts them, capped at the limit).
    /// </summary>
    public bool CompactionDeferred(int order)
    {
        if (order < CompactOrderFailed)
            return false;
        int limit = 1 << CompactDeferShift;
        if (++CompactConsidered >= limit)
        {
            CompactConsidered = limit;
            return false;
        }
        return true;
    }

    /// <summary>defer_compaction: after a failure, skip the next 2^(shift+1) - 1 attempts at this order or above.</summary>
    public void DeferCompaction(int order)
    {
        CompactConsidered = 0;
        if (++CompactDeferShift > MaxDeferShift)
            CompactDeferShift = MaxDeferShift;
        if (order < CompactOrderFailed)
            CompactOrderFailed = order;
    }

    /// <summary>compaction_defer_reset: a success at <paramref name="order"/> (an allocation too, when <paramref name="allocSuccess"/>).</summary>
    public void DeferReset(int order, bool allocSuccess)
    {
        if (allocSuccess)
        {
            CompactConsidered = 0;
            CompactDeferShift = 0;
        }
        if (order >= CompactOrderFailed)
            CompactOrderFailed = order + 1;
    }

    /// <summary>
    /// __compaction_suitable + the fragmentation check of compaction_suitable: free pages (order 0) above the low
    /// watermark (costly orders) plus compact_gap (2 &lt;&lt; order), and a fragmentation index that is not
    /// between 0 and extfrag_threshold (a failure from too little memory, which reclaim must cure, not compaction).
    /// </summary>
    public bool Suitable(int order)
    {
        var zone = kernel.Zone;
        long free = zone.Buddy.NrFreePages;
        long watermark = zone.Watermarks.Low + (2L << order);
        if (free <= watermark)
            return false;
        int fragindex = FragmentationIndex.Fragmentation(zone.Buddy.NrFree, order);
        return !(fragindex >= 0 && fragindex <= ExtfragThreshold);
    }

    /// <summary>
    /// compact_zone for a direct compactor of <paramref name="order"/> (the scanners start afresh at the zone's ends:
    /// the cached positions are not kept between runs). Returns Success, Complete or Skipped.
    /// </summary>
    public CompactResult CompactZone(int order) => CompactZone(order, CompactRun.Direct);

    /// <summary>
    /// compact_zone for <paramref name="run"/>: a direct compactor (the allocation's low watermark), kcompactd for an
    /// order (kcompactd_do_work: the min watermark, ALLOC_WMARK_MIN) or a proactive run of kcompactd (compact_node,
    /// order -1, "via compact_memory": no suitability check, done when the zone's fragmentation score is at most the
    /// low mark). The run takes its CPU's time as it goes (<see cref="Work"/>): the allocating task's for a direct
    /// compactor, which stalls meanwhile, CPU 0's for kcompactd (a kernel thread, as kswapd and khugepaged are).
    /// Scanned pages go to <see cref="LastMigrateScanned"/> and <see cref="LastFreeScanned"/> too.
    /// </summary>
    public CompactResult CompactZone(int order, CompactRun run)
    {
        var zone = kernel.Zone;
        var buddy = zone.Buddy;
        _order = order;
        _run = run;
        LastMigrateScanned = LastFreeScanned = 0;
        LastRunCycles = 0;
        if (order > 0)
        {
            // compaction_suit_allocation_order: a block of the order may be there already.
            long mark = run == CompactRun.Direct ? zone.Watermarks.Low : zone.Watermarks.Min;
            if (Watermarks.WatermarkOk(buddy.NrFreePages, mark, order) && buddy.HasFreeBlock(order))
                return CompactResult.Success;
            if (!Suitable(order))
                return CompactResult.Skipped;
        }
        int start = buddy.StartPfn, end = start + buddy.ManagedPages;
        _migratePfn = start;
        _freePfn = PageblockStart(end - 1);
        _free.Clear();
        CompactResult ret;
        while ((ret = Finished(order)) == CompactResult.Continue)
        {
            IsolateMigratePages();
            if (_migrate.Count == 0)
                continue;
            MigratePages();
        }
        // release_free_list: free pages the free scanner took and nobody used go back.
        int cpu = kernel.Tlb.CurrentCpu;
        foreach (int pfn in _free)
            ReleaseFree(pfn, cpu);
        _free.Clear();
        // drain_local_pages: migrated-from pages on per-CPU lists would not merge.
        zone.DrainAllPages();
        return ret;
    }

    private static int PageblockStart(int pfn) => pfn & ~(PageblockPages - 1);

    /// <summary>
    /// __compact_finished: the scanners met (COMPACT_COMPLETE); otherwise, at a pageblock boundary of the migrate
    /// scanner only, a free block of the order or larger ends it (COMPACT_SUCCESS).
    /// </summary>
    private CompactResult Finished(int order)
    {
        if (_freePfn <= _migratePfn)
            return CompactResult.Complete;
        if (_run == CompactRun.Proactive)
        {
            // Proactive: stop for kswapd, else go on while the score is above the low mark (checked after every step).
            if (kernel.Zone.ReclaimActive)
                return CompactResult.PartialSkipped;
            return Kcompactd.FragmentationScore(kernel.Zone.Buddy) > Kcompactd.FragmentationScoreWmark(kernel.Options.CompactionProactiveness, low: true)
                ? CompactResult.Continue : CompactResult.Success;
        }
        if ((_migratePfn & (PageblockPages - 1)) != 0)
            return CompactResult.Continue;
        return kernel.Zone.Buddy.HasFreeBlock(order) ? CompactResult.Success : CompactResult.Continue;
    }

    /// <summary>
    /// isolate_migratepages → isolate_migratepages_block over the pageblock at the migrate scanner: a free block is
    /// stepped over whole, a THP's pages too; a page that can move is isolated, until 32 are or the block ends.
    /// </summary>
    private void IsolateMigratePages()
    {
        _migrate.Clear();
        var zone = kernel.Zone;
        Frame[] frames = zone.Frames;
        int blockEnd = Math.Min(PageblockStart(_migratePfn) + PageblockPages, zone.Buddy.StartPfn + zone.Buddy.ManagedPages);
        // The free scanner's pageblock is its own: the migrate scanner stops short of it.
        long scanned = 0;
        int pfn = _migratePfn;
        while (pfn < blockEnd && _migrate.Count < ClusterMax)
        {
            scanned++;
            int freeOrder = zone.Buddy.FreeBlockOrderAt(pfn);
            if (freeOrder > 0)
            {
                int skip = Math.Min((1 << freeOrder) - 1, blockEnd - pfn - 1);
                pfn += skip + 1;
                scanned += skip;
                continue;
            }
            ref readonly Frame f = ref frames[pfn];
            if ((f.Flags & FrameFlags.Thp) != 0 && HugeMemory.HugeMemory.HeadOf(pfn) == pfn)
            {
                int skip = Math.Min(HugeMemory.HugeMemory.PmdPages - 1, blockEnd - pfn - 1);
                pfn += skip + 1;
                scanned += skip;
                continue;
            }
            if (Movable(pfn))
                _migrate.Add(pfn);
            pfn++;
        }
        _migratePfn = pfn;
        Work(scanned * ScanPageCycles);
        LastMigrateScanned += scanned;
        kernel.Env.Counters.Add(kernel.C.CompactMigrateScanned, scanned);
        kernel.Env.Counters.Add(kernel.C.CompactIsolated, _migrate.Count);
    }

    /// <summary>Whether the page at <paramref name="pfn"/> can be isolated and migrated (see the class remarks).</summary>
    public bool Movable(int pfn)
    {
        var zone = kernel.Zone;
        ref readonly Frame f = ref zone.Frames[pfn];
        if (f.IsFree || f.IsShmem)
            return false;
        // A page held by the machine's other users (machine.free_area) stands for their movable memory, page cache
        // and anonymous pages (91 % of an aged zone's pageblocks are MOVABLE: oracle/experiments/ra-fallback): it moves.
        if ((f.Flags & FrameFlags.Reserved) != 0)
            return true;
        // An anonymous page moves while mapped (an unmapped one is on its way out); a page-cache page, mapped or not,
        // while clean (a dirty one would need the filesystem's writeback first: not modelled).
        if (f.IsAnon ? f.MapCount == 0 : f.Mapping < 0 || (f.Flags & FrameFlags.Dirty) != 0)
            return false;
        const FrameFlags No = FrameFlags.SwapCache | FrameFlags.Locked | FrameFlags.Writeback | FrameFlags.Thp | FrameFlags.Slab;
        if ((f.Flags & FrameFlags.Lru) == 0 || (f.Flags & No) != 0)
            return false;
        // A large page-cache folio is not migrated (simplification: Linux migrates it whole).
        if (f.FolioOrder != 0)
            return false;
        return zone.Pins[pfn] == 0 && !zone.Unevictable[pfn] && pfn != zone.ZeroPfn && !kernel.Thp.IsHugeZero(pfn);
    }

    /// <summary>
    /// isolate_freepages: pageblocks from the free scanner's position downwards (never at or below the migrate
    /// scanner's), each scanned upwards for free blocks, which are taken off the free lists and split into order-0
    /// pages (__isolate_free_page + split_page), until there are as many free pages as pages to migrate.
    /// </summary>
    private void IsolateFreePages()
    {
        var buddy = kernel.Zone.Buddy;
        long scanned = 0, isolated = 0;
        int low = PageblockStart(_migratePfn) + PageblockPages;
        while (_freePfn >= low && _free.Count < _migrate.Count)
        {
            int blockEnd = Math.Min(_freePfn + PageblockPages, buddy.StartPfn + buddy.ManagedPages);
            int pfn = _freePfn;
            if (!SuitableMigrationTarget(pfn))
            {
                _freePfn -= PageblockPages;
                continue;
            }
            while (pfn < blockEnd)
            {
                scanned++;
                int order = buddy.FreeBlockOrderAt(pfn);
                if (order < 0)
                {
                    pfn++;
                    continue;
                }
                buddy.IsolateFreeBlock(pfn, order);
                for (int i = 0; i < 1 << order; i++)
                    _free.Add(pfn + i);
                isolated += 1L << order;
                pfn += 1 << order;
            }
            if (_free.Count >= _migrate.Count)
                break; // the block may hold more: scan it again next time (its isolated pages are not free any more)
            _freePfn -= PageblockPages;
        }
        Work(scanned * ScanPageCycles);
        LastFreeScanned += scanned;
        kernel.Env.Counters.Add(kernel.C.CompactFreeScanned, scanned);
        kernel.Env.Counters.Add(kernel.C.CompactIsolated, isolated);
    }

    /// <summary>
    /// suitable_migration_target for the pageblock at <paramref name="pfn"/>: not when its first page heads a free
    /// block of the order compacted for (pageblock_order for a run without one) or larger, and only a MOVABLE
    /// pageblock (an unmovable allocation's block stays as it is).
    /// </summary>
    private bool SuitableMigrationTarget(int pfn)
    {
        var buddy = kernel.Zone.Buddy;
        int order = _order > 0 ? _order : BuddyAllocator.PageblockOrder;
        if (buddy.FreeBlockOrderAt(pfn) >= order)
            return false;
        return buddy.PageblockType(pfn) == MigrateType.Movable;
    }

    /// <summary>
    /// migrate_pages with compaction_alloc: each isolated page moves to a free page from the free scanner (taken
    /// from the end of its list, the lowest first); a page without a target goes back (putback_movable_pages).
    /// </summary>
    private void MigratePages()
    {
        int cpu = kernel.Tlb.CurrentCpu;
        foreach (int src in _migrate)
        {
            if (_free.Count == 0)
                IsolateFreePages();
            if (_free.Count == 0)
            {
                kernel.Env.Counters.Increment(kernel.C.PgMigrateFail);
                continue;
            }
            int dst = _free[^1];
            _free.RemoveAt(_free.Count - 1);
            MovePage(src, dst, cpu);
            kernel.Env.Counters.Increment(kernel.C.PgMigrateSuccess);
        }
        _migrate.Clear();
    }

    /// <summary>Migrates the movable page <paramref name="src"/> into <paramref name="dst"/>, a page taken from the buddy allocator (order 0), as compaction does; for tests.</summary>
    internal void MigrateTo(int src, int dst)
    {
        _run = CompactRun.Direct;
        MovePage(src, dst, kernel.Tlb.CurrentCpu);
    }

    /// <summary>
    /// migrate_folio_move for an anonymous or page-cache page: try_to_migrate's unmap and remove_migration_ptes' remap become one
    /// rewrite of every PTE the reverse map lists (same protection and bits, the new frame), each flushed from the
    /// TLBs; folio_migrate_flags and folio_copy carry the page's state and content; mem_cgroup_migrate moves the
    /// charge; the new page goes on the LRU (putback) and the old one is freed. The copy costs <see cref="CopyPageCycles"/>.
    /// </summary>
    private void MovePage(int src, int dst, int cpu)
    {
        var zone = kernel.Zone;
        Frame[] frames = zone.Frames;
        kernel.Dirty?.Frame(src);
        kernel.Dirty?.Frame(dst);
        ref Frame source = ref frames[src];
        ref Frame target = ref frames[dst];
        if ((source.Flags & FrameFlags.Reserved) != 0)
        {
            // A held page: nothing maps or charges it, so the move is the copy and the pin going with it.
            target = Frame.Fresh(dst) with { Flags = FrameFlags.Reserved };
            zone.PinFrame(dst);
            zone.UnpinFrame(src);
            source.RefCount = 0;
            zone.FreeFrame(src, cpu);
            Work(CopyPageCycles);
            return;
        }
        // The new page: the old one's struct page minus its LRU membership (the putback adds it again).
        target = source with { Pfn = dst, BuddyOrder = -1 };
        target.Flags &= ~FrameFlags.Lru;
        kernel.Rmap.CopyTo(src, _maps);
        foreach (var (mmId, va) in _maps)
        {
            MmState mm = kernel.Tasks.MmById(mmId)!;
            ref ulong slot = ref mm.Tables.Walk(va, out _);
            kernel.Dirty?.Pte(mm, va, slot);
            slot = new Pte(slot).WithPfn((ulong)dst).Value;
            kernel.Rmap.Remove(src, mmId, va);
            kernel.Rmap.Add(dst, mmId, va);
            kernel.Tlb.FlushTlbPage(mm.Tlb, va);
        }
        if (kernel.Memcg is { } mc && mc.OfFrame(src) is { } g)
        {
            mc.ChargeForce(g, 1);
            mc.CommitMigrated(dst, g);
        }
        ulong key;
        if (source.IsAnon)
        {
            key = Zone.AnonKey(source.Mapping, (ulong)source.Index << Pte.PageShift);
        }
        else
        {
            // A page-cache page: the mapping's migrate_folio (filemap_migrate_folio → folio_migrate_mapping) moves the
            // cache slot to the new folio.
            kernel.PageCache.Replace(source.Mapping, source.Index, dst);
            key = Zone.FileKey(source.Mapping, source.Index);
        }
        source.MapCount = 0;
        source.RefCount = 0;
        zone.FreeFrame(src, cpu, pgpgout: false);
        zone.LruAdd(dst, key);
        Work(CopyPageCycles);
    }

    /// <summary>
    /// The compacting CPU works <paramref name="cycles"/>: its clock advances (a direct compactor's task stalls in its
    /// fault meanwhile; kcompactd's CPU 0 is busy), charged to the compaction row of the cycles breakdown.
    /// </summary>
    private void Work(long cycles)
    {
        if (cycles <= 0)
            return;
        LastRunCycles += cycles;
        kernel.Cycles.Charge(Timing.CycleCategory.Compaction, cycles);
        kernel.Env.Clock.Advance((ulong)cycles);
    }

    private void ReleaseFree(int pfn, int cpu)
    {
        ref Frame f = ref kernel.Zone.Frames[pfn];
        kernel.Dirty?.Frame(pfn);
        f = Frame.Fresh(pfn) with { RefCount = 0, Flags = FrameFlags.Buddy };
        kernel.Zone.Buddy.FreePages(pfn, 0);
    }
}
