using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Compaction;
using EcsMem.Systems.Machine;
using EcsMem.Systems.PageAlloc;
using EcsMem.Systems.Timing;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Direct compaction (Compaction/): a zone fragmented by hand — a task's pages laid out from the bottom of RAM, every
/// other one unmapped — and a THP fault in a MADV_HUGEPAGE area that finds no free order-9 block. The expected
/// outcome is worked out from the zone's state before the fault (which frames hold what), by definition of the two
/// scanners: only movable pages move, an order-9 block forms where no unmovable page sits.
/// </summary>
public class CompactionTests
{
    private const int Huge = 512;
    private const ulong HugeSize = Huge * Page;
    private const ulong Far = 0x4000_0000; // the THP area, 2 MiB aligned, far from the task's pages

    // The expected counts are worked out from where the buddy allocator puts each page (pageblock by pageblock); the
    // per-CPU lists (Linux's default) would hand out their batches' LIFO order instead and hold freed pages outside the
    // free lists. The tests are about compaction's scanners, so they keep the older buddy-only model.
    private static KernelOptions Opts(int ramPages, ThpDefrag defrag = ThpDefrag.Madvise) =>
        Options(ramPages, swapPages: 0) with { Thp = new ThpConfig(ThpEnabled.Madvise, defrag, true), PerCpuPages = false };

    /// <summary>
    /// The task writes <paramref name="groups"/> groups of <paramref name="perGroup"/> pages, each group in its own
    /// 2 MiB range (each with its own page-table page, an unmovable frame), unmaps every odd page, advises
    /// [Far, Far + 2 MiB) and stores to it. The buddy allocator hands frames out upwards from the bottom of RAM.
    /// </summary>
    private static (SimMachine M, EcsMem.Ecs.Entity P, long Before) Fragment(int ramPages, int groups, int perGroup, bool tablesFirst,
        int batch = 1, int cpus = 1, bool run = true, ThpDefrag defrag = ThpDefrag.Madvise, int tail = 3)
    {
        var m = new SimMachine(Opts(ramPages, defrag) with { BatchSize = batch, Cpus = cpus });
        var touches = new List<MemoryAccess>();
        // tablesFirst: the first page of every group is written first, so all the page tables are allocated before
        // (below) the groups' other pages; otherwise each group's table sits right below its pages.
        if (tablesFirst)
            for (int g = 0; g < groups; g++)
                touches.Add(W(Base + ((ulong)g * HugeSize)));
        for (int g = 0; g < groups; g++)
            for (int i = tablesFirst ? 1 : 0; i < perGroup; i++)
                touches.Add(W(Base + ((ulong)g * HugeSize) + ((ulong)i * Page)));
        int first = touches.Count;
        // Three loads while the munmaps and the madvise (due at the mark) run, then the THP fault, then more loads so
        // that the task is still there when the test looks.
        for (int i = 0; i < 3; i++)
            touches.Add(R(Base));
        touches.Add(W(Far));
        for (int i = 0; i < tail; i++)
            touches.Add(R(Base));
        var p = m.AddProcess("p", mm =>
        {
            Mmap(mm, Base, (ulong)groups * Huge, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, Far, Huge, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
        }, Trace("p", [.. touches]), 0);
        for (int g = 0; g < groups; g++)
            for (int i = 1; i < perGroup; i += 2)
                m.ScheduleAfterAccesses(first, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p)
                { Addr = Base + ((ulong)g * HugeSize) + ((ulong)i * Page), Len = Page });
        m.ScheduleAfterAccesses(first, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p)
        { Addr = Far, Len = HugeSize, Advice = (int)MadviseAdvice.HugePage });
        if (run)
            RunUntilAccesses(m, p, first + 3);
        return (m, p, m.Env.Counters.Get("compact_stall"));
    }

    private static int CountWhere(SimMachine m, int from, int to, Func<Frame, int, bool> pred)
    {
        int n = 0;
        for (int pfn = from; pfn < to; pfn++)
            if (pred(m.Kernel.Zone.Frames[pfn], pfn))
                n++;
        return n;
    }

    [Test]
    public void CompactionFormsAnOrder9BlockFromMovablePagesOnly()
    {
        // 4096 frames (8 pageblocks). 7 groups of 512 pages, their page tables first: the zero page and the tables at
        // the bottom of block 0, the pages above them up to block 7; every other page unmapped: no free order-9 block,
        // 2,000-odd free pages (above low + 1024), a fragmentation index near 1000.
        var (m, p, _) = Fragment(4096, groups: 7, perGroup: 512, tablesFirst: true);
        using var _m = m;
        var zone = m.Kernel.Zone;
        Assert.That(zone.Buddy.HasFreeBlock(9), Is.False, "fragmented");
        var c = m.Kernel.Compaction;
        // By definition of the migrate scanner: the first pageblock (from the zone's start) without an unmovable page
        // becomes the free block; every movable page below its end moves; the free block is where no unmovable sits.
        int unmovableBlock0 = CountWhere(m, 0, Huge, (f, pfn) => !f.IsFree && !c.Movable(pfn));
        int unmovableBlock1 = CountWhere(m, Huge, 2 * Huge, (f, pfn) => !f.IsFree && !c.Movable(pfn));
        Assert.That(unmovableBlock0, Is.GreaterThan(0), "block 0 holds the zero page and the page tables");
        Assert.That(unmovableBlock1, Is.Zero, "block 1 holds only the task's pages");
        int movableBelow1024 = CountWhere(m, 0, 2 * Huge, (f, pfn) => c.Movable(pfn));
        var contents = new Dictionary<ulong, ulong>();
        var mm = Mm(m, p);
        for (int g = 0; g < 7; g++)
            for (int i = 0; i < Huge; i += 2)
            {
                ulong va = Base + ((ulong)g * HugeSize) + ((ulong)i * Page);
                int pfn = (int)new Pte(mm.Tables.Lookup(va)).Pfn;
                if (pfn < 2 * Huge)
                    contents[va] = zone.Frames[pfn].ContentToken;
            }

        RunUntil(m, () => Counter(m, "thp_fault_alloc") + Counter(m, "thp_fault_fallback") > 0);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        Assert.That(Counter(m, "compact_stall"), Is.EqualTo(1));
        Assert.That(Counter(m, "compact_success"), Is.EqualTo(1));
        Assert.That(Counter(m, "compact_fail"), Is.Zero);
        Assert.That(Counter(m, "thp_fault_alloc"), Is.EqualTo(1));
        Assert.That(Counter(m, "pgmigrate_success"), Is.EqualTo(movableBelow1024));
        Assert.That(PfnAt(m, p, Far), Is.EqualTo(Huge), "the folio is block 1, emptied by compaction");
        // Block 0's unmovable frames stayed where they were (the zero page at pfn 0); besides them block 0 holds only
        // page tables: the THP fault's own tables (UNMOVABLE) claim the emptiest fallback block, which compaction has
        // just made of block 0. Every moved page kept its content and mapping.
        Assert.That(zone.ZeroPfn, Is.Zero);
        Assert.That(CountWhere(m, 0, Huge, (f, pfn) => !f.IsFree && !c.Movable(pfn) && pfn != zone.ZeroPfn && (f.Flags & FrameFlags.Slab) == 0),
            Is.Zero);
        foreach (var (va, token) in contents)
        {
            int pfn = (int)new Pte(mm.Tables.Lookup(va)).Pfn;
            Assert.That(zone.Frames[pfn].ContentToken, Is.EqualTo(token), $"content at {va:x}");
            Assert.That(pfn, Is.GreaterThanOrEqualTo(2 * Huge), "moved above the new block");
        }
        Assert.That(Counter(m, "compact_migrate_scanned"), Is.GreaterThanOrEqualTo(2 * Huge - 1),
            "the migrate scanner walked blocks 0 and 1 (free blocks stepped over count as scanned)");
    }

    [Test]
    public void AnUnmovablePageInEveryBlockMakesCompactionFailAndDefer()
    {
        // The same 7 groups; then one mapped page in each of blocks 0 to 6 that holds no unmovable page yet is pinned
        // (as get_user_pages pins it), so no pageblock but the free scanner's first, block 7, can be emptied. (Page tables no longer spread over the
        // blocks: grouping by mobility keeps them together in UNMOVABLE blocks.) No order-9 block can form: the
        // scanners meet (COMPACT_COMPLETE), compact_stall 1, compact_fail 1, the fault falls back, and compaction is
        // deferred: defer_shift 1, compact_order_failed 9.
        var (m, p, _) = Fragment(4096, groups: 7, perGroup: 512, tablesFirst: false);
        using var _m = m;
        var c = m.Kernel.Compaction;
        var zone = m.Kernel.Zone;
        for (int block = 0; block < 7; block++)
        {
            if (CountWhere(m, block * Huge, (block + 1) * Huge, (f, pfn) => !f.IsFree && !c.Movable(pfn)) > 0)
                continue; // the zero page's block, the page tables' block
            int pinned = -1;
            for (int pfn = block * Huge; pfn < (block + 1) * Huge && pinned < 0; pfn++)
                if (c.Movable(pfn))
                    pinned = pfn;
            Assert.That(pinned, Is.GreaterThanOrEqualTo(0), $"a movable page in block {block}");
            zone.PinFrame(pinned);
            Assert.That(c.Movable(pinned), Is.False);
        }
        RunUntil(m, () => Counter(m, "thp_fault_alloc") + Counter(m, "thp_fault_fallback") > 0);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        Assert.That(Counter(m, "compact_stall"), Is.EqualTo(1));
        Assert.That(Counter(m, "compact_fail"), Is.EqualTo(1));
        Assert.That(Counter(m, "thp_fault_fallback"), Is.EqualTo(1));
        Assert.That(c.LastResult, Is.EqualTo(CompactResult.Complete));
        Assert.That(c.CompactDeferShift, Is.EqualTo(1));
        Assert.That(c.CompactOrderFailed, Is.EqualTo(9));
        Assert.That(m.Kernel.Zone.Buddy.HasFreeBlock(9), Is.False);
    }

    [Test]
    public void DeferralFollowsLinuxArithmetic()
    {
        // defer_compaction after each failure, compaction_deferred in between: after the k-th failure (shift k, up to
        // 6), 2^k - 1 attempts are deferred and the 2^k-th runs. A success resets everything (compaction_defer_reset).
        using var m = new SimMachine(Opts(1024));
        var c = m.Kernel.Compaction;
        Assert.That(c.CompactionDeferred(9), Is.False, "order below compact_order_failed: never deferred");
        var pattern = new List<bool>();
        c.DeferCompaction(9);
        for (int i = 0; i < 4; i++)
            pattern.Add(c.CompactionDeferred(9));
        Assert.That(pattern, Is.EqualTo(new[] { true, false, false, false }), "shift 1: one deferred, then allowed (capped)");
        c.DeferCompaction(9);
        pattern.Clear();
        for (int i = 0; i < 4; i++)
            pattern.Add(c.CompactionDeferred(9));
        Assert.That(pattern, Is.EqualTo(new[] { true, true, true, false }), "shift 2: three deferred");
        Assert.That(c.CompactionDeferred(8), Is.False, "below the failed order");
        for (int i = 0; i < 10; i++)
            c.DeferCompaction(9);
        Assert.That(c.CompactDeferShift, Is.EqualTo(Compaction.MaxDeferShift));
        c.DeferReset(9, allocSuccess: true);
        Assert.That(c.CompactDeferShift, Is.Zero);
        Assert.That(c.CompactOrderFailed, Is.EqualTo(10));
        Assert.That(c.CompactionDeferred(9), Is.False);
    }

    [Test]
    public void SuitabilityNeedsTheWatermarkGapAndAFragmentationIndexAbove500()
    {
        // __compaction_suitable: NR_FREE_PAGES > low + 2 << 9. 1024 frames: 1023 free (the zero page is taken),
        // which is below low + 1024 whatever low is: not suitable. 4096 frames: 4095 free, a fragmentation index of
        // -1000 (a free order-9 block exists, not in [0, 500]): suitable.
        using var small = new SimMachine(Opts(1024));
        Assert.That(small.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(1023));
        Assert.That(small.Kernel.Compaction.Suitable(9), Is.False);
        using var big = new SimMachine(Opts(4096));
        long low = big.Kernel.Zone.Watermarks.Low;
        Assert.That(big.Kernel.Zone.Buddy.NrFreePages, Is.GreaterThan(low + 1024));
        Assert.That(big.Kernel.Compaction.Suitable(9), Is.True);
        // The index by hand for the fragmented zone of the test above: lots of order-0 holes, no order-9 block:
        // 1000 - (1000 + free * 1000 / 512) / blocks.
        long[] nrFree = [600, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
        Assert.That(FragmentationIndex.Fragmentation(nrFree, 9), Is.EqualTo(1000 - ((1000 + (856 * 1000 / 512)) / 601)));
    }

    [TestCase(64, 1)]
    [TestCase(1, 3)]
    [TestCase(64, 3)]
    public void BatchSizeAndCpusDoNotChangeCompaction(int batch, int cpus)
    {
        // The compaction runs inside the fault's allocation, in order with the tick's other work: the same pages move
        // whatever the batch or the number of CPUs (the per-CPU lists, on with several CPUs, are drained first).
        string Outcome(int b)
        {
            var (m, p, _) = Fragment(4096, groups: 7, perGroup: 512, tablesFirst: true, batch: b, cpus: cpus, run: false);
            using var _m = m;
            m.Run();
            Assert.That(InvariantChecker.Check(m), Is.Empty);
            return string.Join(",", m.Env.Now, Counter(m, "compact_stall"), Counter(m, "compact_success"), Counter(m, "pgmigrate_success"),
                Counter(m, "compact_migrate_scanned"), Counter(m, "compact_free_scanned"), Counter(m, "compact_isolated"), Counter(m, "thp_fault_alloc"));
        }
        string one = Outcome(1);
        Assert.That(one, Does.Contain(",1,1,"), "compaction ran and succeeded");
        Assert.That(Outcome(batch), Is.EqualTo(one));
    }

    [Test]
    public void KswapdHandsAHugePageFallbackToKcompactd()
    {
        // defrag=defer: the THP fault itself neither compacts nor reclaims; it falls back and wakes kswapd for order 9
        // (wakeup_kswapd). kswapd finds the node balanced (plenty free) and goes to sleep, waking kcompactd for order 9
        // (kswapd_try_to_sleep → wakeup_kcompactd): no free order-9 block above the min watermark and a fragmentation
        // index above 500, so kcompactd_do_work runs compact_zone at order 9, which ends with a free order-9 block.
        var (m, p, _) = Fragment(4096, groups: 7, perGroup: 512, tablesFirst: true, defrag: ThpDefrag.Defer, tail: 50);
        using var _m = m;
        Assert.That(m.Kernel.Zone.Buddy.HasFreeBlock(9), Is.False, "fragmented");
        RunUntil(m, () => Counter(m, "compact_daemon_wake") > 0);
        Assert.That(Counter(m, "thp_fault_fallback"), Is.EqualTo(1));
        Assert.That(Counter(m, "compact_daemon_wake"), Is.EqualTo(1));
        Assert.That(m.Kernel.Kcompactd.LastResult, Is.EqualTo(CompactResult.Success));
        Assert.That(m.Kernel.Zone.Buddy.HasFreeBlock(9), Is.True);
        Assert.That(Counter(m, "pgmigrate_success"), Is.GreaterThan(0));
        // The daemon's scans are counted twice, as Linux counts them: in compact_* and in compact_daemon_* (khugepaged's
        // own direct compaction, for the MADV_HUGEPAGE area it was told about, adds to compact_* only).
        Assert.That(Counter(m, "compact_daemon_migrate_scanned"), Is.GreaterThan(0));
        Assert.That(Counter(m, "compact_daemon_migrate_scanned"), Is.LessThanOrEqualTo(Counter(m, "compact_migrate_scanned")));
        Assert.That(Counter(m, "compact_daemon_free_scanned"), Is.LessThanOrEqualTo(Counter(m, "compact_free_scanned")));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void ProactiveCompactionRunsUntilTheScoreIsAtTheLowMark()
    {
        // The fragmented zone: free pages in order-0 holes, no block of order 9: fragmentation score 100 > 90 (the high
        // mark for proactiveness 20). A timeout wake of kcompactd (no order asked for) makes a proactive run, which
        // stops once the score is at most 80 (or the scanners meet); compact_daemon_wake stays 0 (only wakes for an
        // order count it) and the daemon's scanned pages are counted.
        var (m, p, _) = Fragment(4096, groups: 7, perGroup: 512, tablesFirst: true, tail: 50);
        using var _m = m;
        var buddy = m.Kernel.Zone.Buddy;
        Assert.That(Kcompactd.FragmentationScore(buddy), Is.GreaterThan(90));
        Assert.That(m.Kernel.Kcompactd.ShouldProactiveCompact(), Is.True);
        m.Env.Work<KcompactdWake>().Add(new KcompactdWake(m.Env.Now));
        m.Kernel.Kcompactd.Update(m.Env);
        Assert.That(m.Kernel.Kcompactd.ProactiveRuns, Is.EqualTo(1));
        Assert.That(Kcompactd.FragmentationScore(buddy), Is.LessThanOrEqualTo(80));
        Assert.That(Counter(m, "compact_daemon_wake"), Is.Zero);
        Assert.That(Counter(m, "compact_daemon_migrate_scanned"), Is.GreaterThan(0));
        Assert.That(Counter(m, "compact_stall"), Is.Zero);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        // With proactiveness 0 the check never compacts.
        using var off = new SimMachine(Opts(4096) with { CompactionProactiveness = 0 });
        Assert.That(off.Kernel.Kcompactd.ShouldProactiveCompact(), Is.False);
    }
    [Test]
    public void DirectCompactionPaysForItsScansAndCopiesOnTheFaultingCpu()
    {
        // The model, by definition: one L3 hit per page either scanner looks at, two DRAM latencies per page migrated,
        // charged to the compaction row and advancing the compacting CPU's clock (the faulting task stalls meanwhile).
        var (m, p, _) = Fragment(4096, groups: 7, perGroup: 512, tablesFirst: true);
        using var _m = m;
        var timing = m.Kernel.Timing;
        Assert.That(m.Kernel.Cycles[CycleCategory.Compaction], Is.Zero);
        RunUntil(m, () => Counter(m, "compact_stall") > 0);
        long scanned = Counter(m, "compact_migrate_scanned") + Counter(m, "compact_free_scanned");
        long expected = (scanned * timing.L3HitCycles) + (Counter(m, "pgmigrate_success") * 2 * timing.MemoryCycles);
        Assert.That(Counter(m, "pgmigrate_success"), Is.GreaterThan(0));
        Assert.That(m.Kernel.Compaction.LastRunCycles, Is.EqualTo(expected));
        Assert.That(m.Kernel.Cycles[CycleCategory.Compaction], Is.EqualTo(expected));
        // The cycles breakdown shows it as its own row.
        var report = EcsMem.Systems.Reporting.SimulationReport.Build(m, "test");
        Assert.That(report.Breakdown.Single(r => r.Name == "compaction").Cycles, Is.EqualTo(expected));
    }

    [Test]
    public void KcompactdsRunAdvancesCpu0ByItsWork()
    {
        // A proactive run (as in the test above): CPU 0's clock moves on by exactly the run's cycles, from the counts
        // of its scanners and migrations.
        var (m, p, _) = Fragment(4096, groups: 7, perGroup: 512, tablesFirst: true, tail: 50);
        using var _m = m;
        var timing = m.Kernel.Timing;
        ulong before = m.Env.Now;
        m.Env.Work<KcompactdWake>().Add(new KcompactdWake(before));
        m.Kernel.Kcompactd.Update(m.Env);
        Assert.That(m.Kernel.Kcompactd.ProactiveRuns, Is.EqualTo(1));
        long scanned = Counter(m, "compact_daemon_migrate_scanned") + Counter(m, "compact_daemon_free_scanned");
        long expected = (scanned * timing.L3HitCycles) + (Counter(m, "pgmigrate_success") * 2 * timing.MemoryCycles);
        Assert.That(expected, Is.GreaterThan(0));
        Assert.That(m.Kernel.Compaction.LastRunCycles, Is.EqualTo(expected));
        Assert.That(m.Env.Now - before, Is.EqualTo((ulong)expected));
    }
}
