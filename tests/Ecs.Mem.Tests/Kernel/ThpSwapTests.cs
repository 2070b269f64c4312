using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// THP_SWAP (shrink_folio_list with CONFIG_THP_SWAP): a PMD-mapped THP that reclaim picks is swapped out whole into one
/// free 512-slot cluster when the swap area is a block device, and split first (thp_swpout_fallback) when it is a swap
/// file or no cluster is wholly free. The expected counts follow from the cluster layout, worked out by hand below; the
/// real kernel's behaviour for both device kinds was measured with a swap file and a loop device (docs/kernel.md).
/// </summary>
public class ThpSwapTests
{
    private const int Huge = 512;
    private const ulong HugeSize = Huge * Page;
    private const ulong Far = Base + (64 * HugeSize);

    private static MemoryAccess[] Touch(ulong start, int pages, Func<ulong, MemoryAccess> kind)
    {
        var a = new MemoryAccess[pages];
        for (int i = 0; i < pages; i++)
            a[i] = kind(start + ((ulong)i * Page));
        return a;
    }

    /// <summary>
    /// 2048 frames; two 2 MiB THPs written (MADV_HUGEPAGE), then <paramref name="farPages"/> 4 KiB pages elsewhere, then
    /// the THPs read again. Reclaim meets the THPs' pages first (they are the oldest).
    /// </summary>
    private static (SimMachine M, EcsMem.Ecs.Entity P) Machine(int swapPages, bool blockDevice, int farPages = 2048, int batch = 0, int cpus = 1, bool pcp = false, bool async = false, string policy = "fifo", int boostFactor = EcsMem.Systems.PageAlloc.Watermarks.DefaultWatermarkBoostFactor)
    {
        var o = Options(2048, swapPages) with
        {
            Thp = new ThpConfig(ThpEnabled.Madvise, ThpDefrag.Madvise, true),
            SwapBlockDevice = blockDevice,
            Cpus = cpus,
            PerCpuPages = pcp,
            WritebackAsync = async,
            Policy = policy,
            WatermarkBoostFactor = boostFactor,
        };
        if (batch > 0)
            o = o with { BatchSize = batch };
        var m = new SimMachine(o);
        var p = Add(m, "p", mm =>
        {
            Mmap(mm, Base, 2 * Huge, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, Far, (ulong)farPages, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
        }, 0, [.. Touch(Base, 2 * Huge, W), .. Touch(Far, farPages, W), .. Touch(Base, 2 * Huge, R)]);
        m.ScheduleAfterAccesses(0, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p)
        { Addr = Base, Len = 2 * HugeSize, Advice = (int)MadviseAdvice.HugePage });
        return (m, p);
    }

    private static void RunChecked(SimMachine m, Func<bool>? until = null)
    {
        long ticks = 0;
        while (!m.Finished && (until is null || !until()))
        {
            m.Env.RunTick();
            if (++ticks % 97 == 0)
                Assert.That(InvariantChecker.Check(m), Is.Empty);
        }
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>The swap slots the 512 entries of the block at <paramref name="haddr"/> hold, or null when any entry is not a swap entry.</summary>
    private static long[]? SwapSlotsOf(SimMachine m, EcsMem.Ecs.Entity p, ulong haddr)
    {
        var slots = new long[Huge];
        for (int i = 0; i < Huge; i++)
        {
            var pte = new Pte(Mm(m, p).Tables.Lookup(haddr + ((ulong)i * Page)));
            if (!pte.IsSwap)
                return null;
            slots[i] = (long)SwapEntry.FromPteValue(pte.Value).Offset;
        }
        return slots;
    }

    [TestCase("fifo")]
    [TestCase("linux")]
    public void OnABlockDeviceATHPIsSwappedOutWholeIntoOneCluster(string policy)
    {
        // 8192 slots: cluster 0 holds the header, clusters 1-15 are free. The first THP reclaim meets takes a whole
        // free cluster: its 512 PTEs (the PMD split, thp_split_pmd) hold slots c*512 .. c*512+511 in page order, the
        // folio is not split (thp_split_page 0), pswpout counts its 512 pages. Nothing falls back.
        var (m, p) = Machine(8192, blockDevice: true, policy: policy);
        using (m)
        {
            RunChecked(m, () => Stats(m, p).Accesses >= (2 * Huge) + 2048);
            long swpout = Counter(m, "thp_swpout");
            Assert.That(swpout, Is.GreaterThanOrEqualTo(1));
            Assert.That(Counter(m, "thp_swpout_fallback"), Is.Zero);
            Assert.That(Counter(m, "thp_split_page"), Is.Zero);
            Assert.That(Counter(m, "thp_split_pmd"), Is.EqualTo(swpout), "each swapped folio was PMD-mapped once");
            Assert.That(Counter(m, "pswpout"), Is.GreaterThanOrEqualTo(swpout * Huge));
            int whole = 0;
            for (int b = 0; b < 2; b++)
            {
                if (SwapSlotsOf(m, p, Base + ((ulong)b * HugeSize)) is not { } slots)
                    continue;
                whole++;
                Assert.That(slots[0] % Huge, Is.Zero, "the folio starts a cluster");
                for (int i = 0; i < Huge; i++)
                    Assert.That(slots[i], Is.EqualTo(slots[0] + i), $"page {i} of block {b}");
            }
            Assert.That(whole, Is.EqualTo(swpout), "every THP swapped out whole has all 512 entries in its cluster");

            // Swap-in is order-0 on a swap device without SWP_SYNCHRONOUS_IO (do_swap_page → swapin_readahead): the
            // reread maps 4 KiB pages, no new THP.
            RunChecked(m);
            Assert.That(Counter(m, "thp_fault_alloc"), Is.EqualTo(2));
            Assert.That(Counter(m, "pgmajfault"), Is.GreaterThan(0));
            Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        }
    }

    [Test]
    public void WithAsyncWritebackTheFolioIsWrittenAsOneRequestAndStaysUntilItCompletes()
    {
        // writeback: async: the THP reclaim meets still takes a whole cluster (thp_swpout, no split of the folio for
        // lack of swap entries); its 512 pages go to the disk as one request (nr_vmscan_write counts them) and are
        // freed by later reclaim once written. The run ends with every invariant held.
        var (m, p) = Machine(8192, blockDevice: true, async: true, policy: "linux");
        using (m)
        {
            RunChecked(m);
            long swpout = Counter(m, "thp_swpout");
            Assert.That(swpout, Is.GreaterThanOrEqualTo(1));
            Assert.That(Counter(m, "thp_swpout_fallback"), Is.Zero);
            Assert.That(Counter(m, "thp_split_page"), Is.Zero);
            Assert.That(Counter(m, "nr_vmscan_write"), Is.GreaterThanOrEqualTo(swpout * Huge));
            Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        }
    }

    [TestCase(0, 1, 0, true)]
    [TestCase(64, 2, 0, true)]
    [TestCase(0, 1, 15000, false)]
    [TestCase(64, 2, 15000, false)]
    public void AWrittenTHPStaysWholeInTheSwapCacheAndLeavesItAtOnce(int batch, int cpus, int boostFactor, bool seenInCacheAtATick)
    {
        // The classic lists isolate the folio whole; under async writeback its 512 pages stay a THP in the swap cache
        // (PG_writeback, then clean) until a reclaim meets it again and frees it whole (__remove_mapping of the folio):
        // at every tick the first THP's 512 slots are either all in the swap cache, on the folio's 512 consecutive
        // frames from a 512-aligned head, or none is. Without the watermark boost the reclaim that writes the folio
        // stops before its write completes: the folio is seen whole in the cache at a tick's end. With the boost
        // (15000, the default) that reclaim goes on to the boosted high watermark; its own time completes the write,
        // folio_rotate_reclaimable puts the folio at the inactive tail and the same reclaim meets it again before its
        // PTEs' rewrite to swap entries at the end of the tick: try_to_unmap, then __remove_mapping, free it whole in
        // that tick — it is never split (Linux splits only a folio not yet in the swap cache, for want of entries).
        var (m, p) = Machine(8192, blockDevice: true, async: true, policy: "linux", batch: batch, cpus: cpus, boostFactor: boostFactor);
        using (m)
        {
            var cache = m.Kernel.SwapCache;
            bool sawWholeInCache = false, sawGone = false;
            long ticks = 0;
            while (!m.Finished && !sawGone)
            {
                m.Env.RunTick();
                Assert.That(InvariantChecker.Check(m), Is.Empty, $"tick {++ticks}");
                long[]? slots = SwapSlotsOf(m, p, Base);
                if (slots is null)
                    continue;
                int cached = slots.Count(s => cache.Lookup((int)s) >= 0);
                Assert.That(cached, Is.EqualTo(0).Or.EqualTo(Huge), "the folio leaves the swap cache whole");
                if (cached == 0)
                {
                    sawGone = true;
                    continue;
                }
                int head = cache.Lookup((int)slots[0]);
                Assert.That(head % Huge, Is.Zero);
                for (int i = 0; i < Huge; i++)
                {
                    Assert.That(cache.Lookup((int)slots[i]), Is.EqualTo(head + i));
                    Assert.That(m.Kernel.Zone.Frames[head + i].Flags & FrameFlags.Thp, Is.EqualTo(FrameFlags.Thp));
                }
                sawWholeInCache = true;
            }
            Assert.That(sawGone, Is.True, "the folio left the swap cache");
            Assert.That(sawWholeInCache, Is.EqualTo(seenInCacheAtATick), "the folio was seen whole in the swap cache at a tick's end");
            Assert.That(Counter(m, "thp_swpout"), Is.GreaterThanOrEqualTo(1));
            Assert.That(Counter(m, "thp_split_page"), Is.Zero);
        }
    }

    [Test]
    public void TheCheckerNamesATHPPartlyInTheSwapCache()
    {
        // Without the boost the written folio is whole in the swap cache at a tick's end (the test above). One of its
        // pages is then taken out of the swap cache by hand, its slot's SWAP_HAS_CACHE dropped with it, as a split
        // of the swap cache alone would leave it: the swap books agree with each other, but the folio is still a THP
        // with 511 pages in the swap cache, and that page, unmapped (its PTE holds the swap entry) and uncached, is an
        // orphan.
        var (m, p) = Machine(8192, blockDevice: true, async: true, policy: "linux", boostFactor: 0);
        using (m)
        {
            var cache = m.Kernel.SwapCache;
            long[]? slots = null;
            while (!m.Finished)
            {
                m.Env.RunTick();
                slots = SwapSlotsOf(m, p, Base);
                if (slots is not null && cache.Lookup((int)slots[0]) >= 0)
                    break;
            }
            Assert.That(slots, Is.Not.Null, "the first THP was seen whole in the swap cache");
            Assert.That(InvariantChecker.Check(m), Is.Empty);
            int head = cache.Lookup((int)slots![0]), victim = head + 7, slot = (int)slots[7];
            cache.Delete(slot);
            m.Kernel.Swap.SetCached(slot, false);
            m.Kernel.Zone.Frames[victim].Flags &= ~FrameFlags.SwapCache;
            Assert.That(InvariantChecker.Check(m), Is.EqualTo(new[]
            {
                $"frame {victim}: anonymous page neither mapped nor in the swap cache (should have been freed)",
                $"THP at frame {head}: 511 of its 512 pages in the swap cache (a THP's are all or none)",
            }));
        }
    }

    [TestCase("fifo")]
    [TestCase("linux")]
    public void OnASwapFileEveryTHPFallsBackToSplitting(string policy)
    {
        // cluster_alloc_swap_entry refuses large entries on a swap file (no SWP_BLKDEV): each THP reclaim meets is split
        // (thp_split_page) after a failed order-9 allocation (thp_swpout_fallback), as the kernel did with its swap file.
        var (m, p) = Machine(8192, blockDevice: false, policy: policy);
        using (m)
        {
            RunChecked(m);
            Assert.That(Counter(m, "thp_swpout"), Is.Zero);
            Assert.That(Counter(m, "thp_swpout_fallback"), Is.GreaterThanOrEqualTo(1));
            Assert.That(Counter(m, "thp_split_page"), Is.EqualTo(Counter(m, "thp_swpout_fallback")));
            Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        }
    }

    [Test]
    public void ASplitTHPsPagesTakeTheirSlotsHeadFirstThenFromTheLastPageDown()
    {
        // shrink_folio_list splits the THP onto its own list (split_folio_to_list): the head goes on and takes the first
        // slot; lru_add_split_folio list_add_tails pages 1..511 in address order and lru_to_folio takes the list's tail,
        // so page 511 takes the next slot and page 1 the last. Traced on 6.18 (thp-swpout-fallback's rewrite, a swap
        // file): the head's slot S, page 511's S + 1, page i's S + 512 - i (SwapInTests has the trace's numbers).
        // Linux's lists only: the fifo policy is EcsMem's own and splits in address order.
        var (m, p) = Machine(8192, blockDevice: false, policy: "linux");
        using (m)
        {
            RunChecked(m, until: () => SwapSlotsOf(m, p, Base) is not null || SwapSlotsOf(m, p, Base + HugeSize) is not null);
            long[] slots = SwapSlotsOf(m, p, Base) ?? SwapSlotsOf(m, p, Base + HugeSize)!;
            long s = slots[0];
            Assert.That(slots[Huge - 1], Is.EqualTo(s + 1));
            for (int i = 1; i < Huge; i++)
                Assert.That(slots[i], Is.EqualTo(i == Huge - 1 ? s + 1 : s + Huge - i), $"page {i}");
        }
    }

    [TestCase("fifo")]
    [TestCase("linux")]
    public void OnlyAWhollyFreeClusterTakesATHP(string policy)
    {
        // 1325 slots: cluster 0 has the header (nonfull), cluster 1 (slots 512-1023) is free, cluster 2 has slots
        // 1024-1324 and the 211 slots past the end counted used (nonfull). One free cluster: the first THP goes whole
        // into slots 512-1023, the second finds none (order-0 allocations take nonfull clusters first and never
        // empty one) and falls back.
        var (m, p) = Machine(1325, blockDevice: true, policy: policy);
        using (m)
        {
            RunChecked(m, () => Stats(m, p).Accesses >= (2 * Huge) + 2048);
            Assert.That(Counter(m, "thp_swpout"), Is.EqualTo(1));
            Assert.That(Counter(m, "thp_swpout_fallback"), Is.EqualTo(1));
            Assert.That(Counter(m, "thp_split_page"), Is.EqualTo(1));
            long[]? first = SwapSlotsOf(m, p, Base);
            Assert.That(first, Is.Not.Null, "the first THP (the oldest pages) went whole");
            Assert.That(first![0], Is.EqualTo(512));
        }
    }

    [TestCase(4096, 1, false, true)]
    [TestCase(64, 2, false, true)]
    [TestCase(64, 2, false, false)]
    [TestCase(64, 2, true, true)]
    public void ResultsDoNotDependOnTheBatchSize(int batch, int cpus, bool pcp, bool dev)
    {
        // Per-CPU page lists change the machine (free pages on them are not NR_FREE_PAGES): with them on, the
        // reference run has them on too.
        (long, long, long, long, long) RunOnce(int batch, int cpus)
        {
            var (m, p) = Machine(8192, blockDevice: dev, batch: batch, cpus: cpus, pcp: pcp);
            using (m)
            {
                RunChecked(m);
                return (Counter(m, "thp_swpout"), Counter(m, "pswpout"), Counter(m, "pswpin"), Counter(m, "pgmajfault"), Stats(m, p).MinFlt);
            }
        }

        Assert.That(RunOnce(batch, cpus), Is.EqualTo(RunOnce(1, pcp ? 2 : 1)));
    }

    [Test]
    public void SwapTypeIsParsedAndBadValuesNamed()
    {
        const string procs = "processes:\n  - name: p\n    workload: {generator: \"zipf:count=10,pages=4,alpha=0.8,seed=1\"}\n";
        Assert.That(ScenarioParser.Parse(new StringReader("machine:\n  swap_type: partition\n" + procs), "t.yaml").Machine.SwapBlockDevice, Is.True);
        Assert.That(ScenarioParser.Parse(new StringReader("machine:\n  ram: 16M\n" + procs), "t.yaml").Machine.SwapBlockDevice, Is.False);
        var ex = Assert.Throws<Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader("machine:\n  swap_type: zram\n" + procs), "t.yaml"));
        Assert.That(ex!.Message, Does.Contain("t.yaml").And.Contain("zram"));
    }
}
