namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// The per-CPU page lists on their own (a bare buddy allocator behind them). The batch and high sizes are
/// worked out by hand from Linux 6.6's zone_batchsize() and zone_highsize(); the list and free-list contents
/// after each step are derived in the comments from rmqueue_bulk (pages queued at the list tail in the order
/// __rmqueue hands them out), __rmqueue_pcplist (takes the list head), free_unref_page_commit (frees go to
/// the head; at count >= high, free_pcppages_bulk returns nr_pcp_free pages from the tail) and the buddy
/// allocator's expand()/__free_one_page() rules (docs/physical.md).
/// </summary>
public class PerCpuPageSetTests
{
    // ------------------------------------------------------------------ zone_batchsize / zone_highsize

    // batch = min(managed >> 10, SZ_1M / 4096 = 256) / 4, at least 1; then rounddown_pow_of_two(b + b/2) - 1; at least 1.
    [TestCase(128L, 1)]        // 0 -> /4 = 0 -> 1 -> rdp2(1 + 0 = 1) - 1 = 0 -> max(1, 0) = 1
    [TestCase(4096L, 1)]       // 4 -> 1 -> rdp2(1) - 1 = 0 -> 1
    [TestCase(8192L, 1)]       // 8 -> 2 -> rdp2(2 + 1 = 3) = 2 -> 1
    [TestCase(16384L, 3)]      // 64 MiB: 16 -> 4 -> rdp2(4 + 2 = 6) = 4 -> 3
    [TestCase(32768L, 7)]      // 128 MiB: 32 -> 8 -> rdp2(12) = 8 -> 7
    [TestCase(65536L, 15)]     // 256 MiB: 64 -> 16 -> rdp2(24) = 16 -> 15
    [TestCase(262144L, 63)]    // 1 GiB: 256 -> 64 -> rdp2(96) = 64 -> 63 (what /proc/zoneinfo shows on most machines)
    [TestCase(4194304L, 63)]   // 16 GiB: min(4096, 256) = 256 -> 63 again (the 1 MiB cap)
    public void ZoneBatchSizeFollowsTheLinuxFormula(long managedPages, int expected) =>
        Assert.That(PerCpuPageSet.ZoneBatchSize(managedPages), Is.EqualTo(expected));

    // high = max(low_wmark / nr_cpus, batch << 2); the low marks are docs/physical.md's (WatermarksTests).
    [TestCase(40L, 1, 2, 20)]       // 512 KiB: low 40 / 2 = 20 > 4
    [TestCase(320L, 3, 2, 160)]     // 64 MiB: low 320 / 2 = 160 > 12
    [TestCase(320L, 3, 64, 12)]     // 64 MiB on 64 CPUs: 320 / 64 = 5 < 3 << 2 = 12
    [TestCase(452L, 7, 2, 226)]     // 128 MiB: min = int_sqrt(131072 * 16) / 4 = 1448 / 4 = 362, delta = max(90, 32) = 90, low 452; / 2 = 226 > 28
    [TestCase(1286L, 63, 1, 1286)]  // 1 GiB, one CPU: all of low
    [TestCase(1286L, 63, 2, 643)]   // 1 GiB: 1286 / 2 = 643 > 252
    [TestCase(1286L, 63, 4, 321)]   // 1 GiB: 1286 / 4 = 321 (rounded down) > 252
    [TestCase(1286L, 63, 8, 252)]   // 1 GiB: 1286 / 8 = 160 < 63 << 2 = 252
    [TestCase(8290L, 63, 4, 2072)]  // 16 GiB: 8290 / 4 = 2072 (rounded down) > 252
    public void ZoneHighSizeSplitsTheLowWatermarkAcrossCpus(long low, int batch, int cpus, int expected) =>
        Assert.That(PerCpuPageSet.ZoneHighSize(low, batch, cpus), Is.EqualTo(expected));

    [Test]
    public void BatchAndHighFromRealWatermarks()
    {
        // The same chain the zone uses, starting from Watermarks.Compute: 64 MiB on 2 CPUs and 1 GiB on 4.
        var w64 = Watermarks.Compute(16384);
        Assert.That(PerCpuPageSet.ZoneHighSize(w64.Low, PerCpuPageSet.ZoneBatchSize(16384), 2), Is.EqualTo(160));
        var w1g = Watermarks.Compute(262144);
        Assert.That(PerCpuPageSet.ZoneHighSize(w1g.Low, PerCpuPageSet.ZoneBatchSize(262144), 4), Is.EqualTo(321));
    }

    /// <summary>
    /// This machine's kernel (Linux 6.18.44, 2 CPUs, one node, vm.percpu_pagelist_high_fraction 0), recorded on
    /// 2026-12-06 with <c>awk '/^Node/{z=$0} /managed|  low |batch:|high_min|high_max/{print z" | "$0}' /proc/zoneinfo</c>
    /// (the same on both CPUs): DMA managed 3,840, low 26, batch 1, high_min 13, high_max 240; DMA32 managed 772,848,
    /// low 5,372, batch 63, high_min 2,686, high_max 48,303; Normal managed 2,260,992, low 15,718, batch 63, high_min
    /// 7,859, high_max 141,312. Since 6.7 zone_set_high_and_batch stores zone_highsize(low) as pcp->high_min, 6.6's
    /// fixed pcp->high, which is what EcsMem keeps (its pcp->high does not auto-tune up to high_max = managed / 8 /
    /// nr_split_cpus: 3,840 / 16 = 240, 772,848 / 16 = 48,303, 2,260,992 / 16 = 141,312; docs/kernel.md). The zones'
    /// low marks are the kernel's (min_free_kbytes split over three zones); EcsMem's one zone computes its own.
    /// </summary>
    [TestCase(3840L, 26L, 1, 13)]         // DMA: 3840 >> 10 = 3, / 4 = 0 -> 1 -> rdp2(1) - 1 = 0 -> 1; max(26 / 2, 1 << 2) = 13
    [TestCase(772848L, 5372L, 63, 2686)]  // DMA32: min(772848 >> 10 = 754, 256) / 4 = 64 -> rdp2(96) - 1 = 63; max(5372 / 2, 252) = 2686
    [TestCase(2260992L, 15718L, 63, 7859)] // Normal: min(2208, 256) -> 63; max(15718 / 2, 252) = 7859
    public void BatchAndHighMinAsThisMachinesKernelRecordedThem(long managed, long low, int batch, int highMin)
    {
        Assert.That(PerCpuPageSet.ZoneBatchSize(managed), Is.EqualTo(batch));
        Assert.That(PerCpuPageSet.ZoneHighSize(low, batch, cpus: 2), Is.EqualTo(highMin));
    }

    // ------------------------------------------------------------------ hand-worked sequence, 2 CPUs

    /// <summary>
    /// A 32-page zone (one order-5 block at pfn 0), 2 CPUs, batch 3, high 12. Every step's lists are derived in
    /// the comments; nothing is copied from the code's output.
    /// </summary>
    [Test]
    public void RefillsBulkFreesAndDrainOnTwoCpus()
    {
        var buddy = new BuddyAllocator(32);
        var pcp = new PerCpuPageSet(buddy, cpus: 2, batch: 3, high: 12);

        // CPU 0 allocates: its list is empty, so rmqueue_bulk takes 3 pages.
        //  1st __rmqueue: the order-5 block at 0 splits; upper halves 16 (o4), 8 (o3), 4 (o2), 2 (o1), 1 (o0) -> 0
        //  2nd: order-0 head 1 -> 1
        //  3rd: order-1 head 2 splits, 3 goes to order 0 -> 2
        // Queued at the tail in that order: [0, 1, 2]; the head, 0, is handed out.
        Assert.That(pcp.Alloc(0), Is.EqualTo(0));
        AssertList(pcp, 0, 1, 2);
        AssertFree(buddy, [3], [], [4], [8], [16]);
        Assert.That(buddy.NrFreePages, Is.EqualTo(29)); // 1 + 4 + 8 + 16: the pcp pages are not counted

        // CPU 1 allocates: its own list is empty. 3 (o0); then 4 (o2) splits into 6 (o1) and 5 (o0) -> 4; then 5.
        Assert.That(pcp.Alloc(1), Is.EqualTo(3));
        AssertList(pcp, 1, 4, 5);
        AssertList(pcp, 0, 1, 2); // CPU 0's list is untouched
        AssertFree(buddy, [], [6], [], [8], [16]);

        // CPU 0 empties its list (1, 2), then refills: 6 (o1) splits, 7 to o0 -> 6; 7; 8 (o3) splits into
        // 12 (o2), 10 (o1), 9 (o0) -> 8. List [6, 7, 8], 6 handed out.
        Assert.That(pcp.Alloc(0), Is.EqualTo(1));
        Assert.That(pcp.Alloc(0), Is.EqualTo(2));
        Assert.That(pcp.Alloc(0), Is.EqualTo(6));
        AssertList(pcp, 0, 7, 8);
        AssertFree(buddy, [9], [10], [12], [], [16]);

        // Frees on CPU 0 go to the head (LIFO), whichever CPU allocated the page (3 came from CPU 1's list).
        pcp.Free(0, 0);
        pcp.Free(1, 0);
        pcp.Free(2, 0);
        pcp.Free(3, 0);
        pcp.Free(6, 0);
        AssertList(pcp, 0, 6, 3, 2, 1, 0, 7, 8);
        // The hottest page comes back first.
        Assert.That(pcp.Alloc(0), Is.EqualTo(6));
        AssertList(pcp, 0, 3, 2, 1, 0, 7, 8);

        // CPU 1 hands out 4, 5, then refills with 9 (o0); 10 (o1, 11 to o0); 11 -> [9, 10, 11], gives 9, 10, 11;
        // then refills with 12 (o2 -> 14 to o1, 13 to o0); 13; 14 (o1 -> 15 to o0) -> [12, 13, 14], gives 12.
        int[] got = [pcp.Alloc(1), pcp.Alloc(1), pcp.Alloc(1), pcp.Alloc(1), pcp.Alloc(1), pcp.Alloc(1)];
        Assert.That(got, Is.EqualTo(new[] { 4, 5, 9, 10, 11, 12 }));
        AssertList(pcp, 1, 13, 14);
        AssertFree(buddy, [15], [], [], [], [16]);
        Assert.That(buddy.NrFreePages, Is.EqualTo(17));

        // CPU 0 frees 6, 4, 5, 9, 10: count 7..11, below high 12.
        foreach (int p in new[] { 6, 4, 5, 9, 10 })
            Assert.That(pcp.Free(p, 0), Is.EqualTo(0));
        Assert.That(pcp.Count(0), Is.EqualTo(11));
        // Freeing 11 brings the count to 12 = high: nr_pcp_free = clamp(3 << free_factor 0, 3, 12 - 3) = 3, and
        // free_factor becomes 1. free_pcppages_bulk takes the tail: 8, then 7, then 0 (the oldest pages).
        Assert.That(pcp.Free(11, 0), Is.EqualTo(3));
        AssertList(pcp, 0, 11, 10, 9, 5, 4, 6, 3, 2, 1);
        Assert.That(pcp.FreeFactor(0), Is.EqualTo(1));
        // __free_one_page: 8's buddy 9 and 7's buddy 6 and 0's buddy 1 are on pcp lists, so none merges; no
        // buddy_merge_likely either (10-11, 4-5 and 2-3 are not free), so each goes to the order-0 head.
        AssertFree(buddy, [0, 7, 8, 15], [], [], [], [16]);
        Assert.That(buddy.NrFreePages, Is.EqualTo(20));
        Assert.That(pcp.TotalCount, Is.EqualTo(9 + 2));

        // 12 joins CPU 0's list (count 10). drain_all_pages: CPU 0's 10 pages and CPU 1's 13, 14 go back; with
        // nothing allocated any more, everything merges back into the order-5 block.
        pcp.Free(12, 0);
        Assert.That(pcp.DrainAll(), Is.EqualTo(12));
        Assert.That(pcp.Count(0) + pcp.Count(1), Is.EqualTo(0));
        Assert.That(buddy.NrFreePages, Is.EqualTo(32));
        Assert.That(buddy.NrFree.ToArray(), Is.EqualTo(new long[] { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0 }));
    }

    [Test]
    public void FreeFactorGrowsOnConsecutiveBulkFreesAndHalvesOnEachAllocation()
    {
        // batch 3, high 12: max_nr_free = 9. Shifts: 3 << 0 = 3 (< 9: factor 1), 3 << 1 = 6 (< 9: factor 2),
        // 3 << 2 = 12 (not < 9: factor stays 2, clamped to 9), then 9 again.
        var pcp = new PerCpuPageSet(new BuddyAllocator(64), cpus: 1, batch: 3, high: 12);
        Assert.That(new[] { pcp.NrPcpFree(0, 12), pcp.NrPcpFree(0, 12), pcp.NrPcpFree(0, 12), pcp.NrPcpFree(0, 12) },
            Is.EqualTo(new[] { 3, 6, 9, 9 }));
        Assert.That(pcp.FreeFactor(0), Is.EqualTo(2));
        pcp.Alloc(0); // rmqueue_pcplist: free_factor >>= 1
        Assert.That(pcp.FreeFactor(0), Is.EqualTo(1));
        Assert.That(pcp.NrPcpFree(0, 12), Is.EqualTo(6));
        // high below batch: one page at a time.
        Assert.That(pcp.NrPcpFree(0, 2), Is.EqualTo(1));
    }

    [Test]
    public void UnderReclaimTheListKeepsAtMostFourBatches()
    {
        // nr_pcp_high: high, or min(batch << 2, high) under ZONE_RECLAIM_ACTIVE.
        var pcp = new PerCpuPageSet(new BuddyAllocator(256), cpus: 1, batch: 3, high: 40);
        Assert.That(pcp.NrPcpHigh(reclaimActive: false), Is.EqualTo(40));
        Assert.That(pcp.NrPcpHigh(reclaimActive: true), Is.EqualTo(12));

        // 20 pages out: one order-8 block hands out pfns in increasing order, 3 per refill; 7 refills take 0..20
        // and 20 stays on the list.
        int[] pages = new int[20];
        for (int i = 0; i < pages.Length; i++)
            pages[i] = pcp.Alloc(0);
        Assert.That(pages, Is.EqualTo(Enumerable.Range(0, 20).ToArray()));
        Assert.That(pcp.Count(0), Is.EqualTo(1));
        // Freeing 0..9 under reclaim: count 2..11, below 12. Freeing 10 reaches 12: nr_pcp_free(12) =
        // clamp(3, 3, 9) = 3 pages from the tail. The list is [10, 9, ..., 1, 0, 20] (head first), so the three
        // oldest go back: 20 (the refill's leftover), then 0, then 1. With high 40 nothing would have gone back.
        for (int i = 0; i < 10; i++)
            Assert.That(pcp.Free(pages[i], 0, reclaimActive: true), Is.EqualTo(0), $"free {i}");
        Assert.That(pcp.Free(pages[10], 0, reclaimActive: true), Is.EqualTo(3));
        Assert.That(new[] { pcp.CpuOf(20), pcp.CpuOf(0), pcp.CpuOf(1), pcp.CpuOf(2) }, Is.EqualTo(new[] { -1, -1, -1, 0 }));
        Assert.That(pcp.Count(0), Is.EqualTo(9));
    }

    [Test]
    public void AnEmptyBuddyLeavesTheRefillShort()
    {
        // 4 pages, batch 3: the first refill takes 0, 1, 2; the second finds only 3.
        var buddy = new BuddyAllocator(4);
        var pcp = new PerCpuPageSet(buddy, cpus: 2, batch: 3, high: 12);
        Assert.That(pcp.Alloc(0), Is.EqualTo(0));
        Assert.That(pcp.Alloc(1), Is.EqualTo(3));
        Assert.That(pcp.Alloc(1), Is.EqualTo(-1), "CPU 1's list and the buddy allocator are empty");
        Assert.That(pcp.Count(0), Is.EqualTo(2), "CPU 0's pages are not CPU 1's to take");
        Assert.That(pcp.Drain(0), Is.EqualTo(2));
        Assert.That(pcp.Alloc(1), Is.EqualTo(1));
    }

    [Test]
    public void DoubleFreesAreBugs()
    {
        var pcp = new PerCpuPageSet(new BuddyAllocator(16), cpus: 2, batch: 3, high: 12);
        int pfn = pcp.Alloc(0);
        pcp.Free(pfn, 1);
        var e = Assert.Throws<InvalidOperationException>(() => pcp.Free(pfn, 0));
        Assert.That(e!.Message, Does.Contain($"double free of pfn {pfn}").And.Contain("CPU 1"));
        // A page still in the buddy allocator was never handed out.
        Assert.Throws<InvalidOperationException>(() => pcp.Free(15, 0));
    }

    private static void AssertList(PerCpuPageSet pcp, int cpu, params int[] expected)
    {
        var list = new int[64];
        int n = pcp.CopyList(cpu, list);
        Assert.That(list[..n], Is.EqualTo(expected), $"CPU {cpu}'s list, head first");
        Assert.That(pcp.Count(cpu), Is.EqualTo(expected.Length));
    }

    /// <summary>The buddy free lists of orders 0..4, head first.</summary>
    private static void AssertFree(BuddyAllocator buddy, params int[][] orders)
    {
        var list = new int[64];
        for (int o = 0; o < orders.Length; o++)
        {
            int n = buddy.CopyFreeList(o, list);
            Assert.That(list[..n], Is.EqualTo(orders[o]), $"order-{o} free list");
        }
    }
}
