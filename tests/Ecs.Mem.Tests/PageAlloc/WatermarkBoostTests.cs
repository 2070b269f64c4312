using EcsMem.Components;
using EcsMem.Systems.PageAlloc;
using EcsMem.Systems.Reporting;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// Watermark boosting (mm/page_alloc.c boost_watermark, mm/vmscan.c balance_pgdat, Linux 6.18), figures worked out by
/// hand from the rules: max_boost = max(pageblock_nr_pages, mult_frac(WMARK_HIGH, factor, 10000)); each boost adds
/// pageblock_nr_pages (512) up to it; none for a factor of 0 or a zone under four pageblocks; every mark includes it.
/// </summary>
public class WatermarkBoostTests
{
    [Test]
    public void BoostOfAOneGiBZoneByHand()
    {
        // 1 GiB: min 1024, low 1286, high 1548 (Watermarks' worked example). max_boost = 1548 × 15000 / 10000 = 2322.
        var w = Watermarks.Compute(262144);
        long[] expected = [512, 1024, 1536, 2048, 2322, 2322];
        foreach (long boost in expected)
        {
            Assert.That(w.BoostWatermark(15000, 512), Is.True);
            Assert.That(w.Boost, Is.EqualTo(boost));
        }
        Assert.That((w.Min, w.Low, w.High), Is.EqualTo((1024 + 2322L, 1286 + 2322L, 1548 + 2322L)));
        Assert.That((w.BaseMin, w.BaseLow, w.BaseHigh), Is.EqualTo((1024L, 1286L, 1548L)));
    }

    [Test]
    public void ASmallHighMarkIsCappedAtOnePageblockAndTinyZonesOrFactorZeroNeverBoost()
    {
        // 24 MiB (the default run's machine): min_free_kbytes int_sqrt(24576 × 16) = 627, min 156, delta max(39, 6) = 39,
        // high 234; 234 × 1.5 = 351 < 512, so max_boost is one pageblock and a second boost adds nothing.
        var w = Watermarks.Compute(6144);
        Assert.That(w.High, Is.EqualTo(234));
        Assert.That(w.BoostWatermark(15000, 512) && w.BoostWatermark(15000, 512), Is.True);
        Assert.That(w.Boost, Is.EqualTo(512));
        Assert.That(w.High, Is.EqualTo(234 + 512));

        var off = Watermarks.Compute(6144);
        Assert.That(off.BoostWatermark(0, 512), Is.False);
        Assert.That(off.Boost, Is.Zero);
        // pageblock_nr_pages × 4 > managed: 2047 pages is too small, 2048 is not.
        Assert.That(Watermarks.Compute(2047).BoostWatermark(15000, 512), Is.False);
        Assert.That(Watermarks.Compute(2048).BoostWatermark(15000, 512), Is.True);
        // A factor so small that mult_frac(high, factor, 10000) is 0: no boost (high 192 for 4096 pages; 192 × 1 / 10000 = 0).
        Assert.That(Watermarks.Compute(4096).BoostWatermark(1, 512), Is.False);
    }

    /// <summary>
    /// A 4096-page machine whose every page but the zero page was taken MOVABLE, then every odd page freed: the free
    /// memory is 2048 order-0 blocks on the MOVABLE lists, none of another type and none of pageblock order.
    /// </summary>
    private static SimMachine FragmentedMachine(int factor, out int wakes)
    {
        // Buddy-only (the older model): the free memory worked out here is the buddy's 2048 order-0 blocks; the per-CPU
        // lists (Linux's default) would keep a refill batch and up to pcp->high freed pages off the free lists, and these
        // tests are about steal_suitable_fallback's boost, not the lists.
        var m = new SimMachine(Options(ramPages: 4096, swapPages: 0) with { WatermarkBoostFactor = factor, PerCpuPages = false });
        int count = 0;
        m.Kernel.Zone.WakeKswapd = () => count++;
        var zone = m.Kernel.Zone;
        var taken = new List<int>();
        for (int pfn; (pfn = zone.AllocFrame(0)) >= 0;)
            taken.Add(pfn);
        Assert.That(taken, Has.Count.EqualTo(4095));
        foreach (int pfn in taken.Where(p => (p & 1) == 1))
            zone.FreeFrame(pfn, 0);
        Assert.That(zone.Buddy.NrFreePages, Is.EqualTo(2048));
        Assert.That(count, Is.Zero, "movable allocations from movable blocks never boost");
        wakes = 0;
        m.Kernel.Zone.WakeKswapd = () => { };
        return m;
    }

    [Test]
    public void AnUnmovableClaimInsideAMovablePageblockBoostsOnceAndWakesKswapdOnce()
    {
        using var m = FragmentedMachine(15000, out _);
        var zone = m.Kernel.Zone;
        int wakes = 0;
        zone.WakeKswapd = () => wakes++;
        // A page table (GFP_PGTABLE_USER, unmovable): no UNMOVABLE free page, no free block of pageblock order for the
        // ALLOC_NOFRAGMENT pass, so the second pass claims from an order-0 MOVABLE block: try_to_claim_block boosts
        // (4096 pages: high 192, 192 × 1.5 = 288 < 512, so the boost is 512) and rmqueue wakes kswapd.
        int pt = zone.AllocFrame(0, MigrateType.Unmovable);
        Assert.That(pt, Is.GreaterThanOrEqualTo(0));
        Assert.That(zone.Watermarks.Boost, Is.EqualTo(512));
        Assert.That(wakes, Is.EqualTo(1));
        Assert.That(zone.BoostedWatermark, Is.False, "rmqueue cleared ZONE_BOOSTED_WATERMARK when it woke kswapd");
        Assert.That(zone.Watermarks.Low, Is.EqualTo(160 + 512));
        // The claimed pageblock (256 free pages + 256 allocated non-LRU pages, all "alike" to an unmovable allocation)
        // is UNMOVABLE now: the next page table comes from its lists without a fallback, so no second boost or wake.
        Assert.That(zone.Buddy.PageblockType(pt), Is.EqualTo(MigrateType.Unmovable));
        zone.AllocFrame(0, MigrateType.Unmovable);
        Assert.That(zone.Watermarks.Boost, Is.EqualTo(512));
        Assert.That(wakes, Is.EqualTo(1));
    }

    [Test]
    public void WithoutAllocKswapdTheBoostIsAppliedButKswapdIsNotWoken()
    {
        using var m = FragmentedMachine(15000, out _);
        var zone = m.Kernel.Zone;
        int wakes = 0;
        zone.WakeKswapd = () => wakes++;
        zone.AllocKswapd = false;
        zone.AllocFrame(0, MigrateType.Unmovable);
        zone.AllocKswapd = true;
        Assert.That((zone.Watermarks.Boost, wakes, zone.BoostedWatermark), Is.EqualTo((512L, 0, false)));
    }

    [Test]
    public void FactorZeroTurnsBoostingOff()
    {
        using var m = FragmentedMachine(0, out _);
        var zone = m.Kernel.Zone;
        int wakes = 0;
        zone.WakeKswapd = () => wakes++;
        zone.AllocFrame(0, MigrateType.Unmovable);
        Assert.That((zone.Watermarks.Boost, wakes), Is.EqualTo((0L, 0)));
        Assert.That(Counter(m, "ecsmem_extfrag"), Is.EqualTo(1), "the fallback itself still happened");
    }

    [Test]
    public void BoostedKswapdNeverSwapsAndClearsTheBoostWhenItCannotReclaimWithoutIo()
    {
        // 4096 pages, the linux lruvec, swap: one process dirties 1024 anonymous pages, so the node is balanced even with
        // a boost of 512 (free ≈ 3000 > high 192 + 512). Kswapd woken for the boost does boosted reclaim: may_swap and
        // may_writepage off, so get_scan_count scans file only, and there is no file page: its first round reclaims
        // nothing, which ends balance_pgdat (nr_boost_reclaim && !nr_reclaimed). The boost is then taken off (the run's
        // zone_boosts[]) and nothing was swapped out.
        var o = Options(ramPages: 4096, swapPages: 4096) with { Policy = "linux" };
        using var m = new SimMachine(o);
        const ulong Base = 0x10000000;
        var touch = Enumerable.Range(0, 1024).Select(i => W(Base + ((ulong)i * Page))).ToArray();
        var p = Add(m, "p", Anon(Base, 1024), 0, [.. touch, .. touch]);
        RunUntilAccesses(m, p, 1024);
        var zone = m.Kernel.Zone;
        Assert.That(zone.Watermarks.AboveHigh(zone.Buddy.NrFreePages), Is.True);
        long wakesBefore = Counter(m, "ecsmem_kswapd_wakeups");
        zone.Watermarks.Boost = 512;
        Assert.That(zone.Watermarks.AboveHigh(zone.Buddy.NrFreePages), Is.True, "balanced with the boost too");
        zone.WakeKswapd!();
        RunUntilAccesses(m, p, 1100);
        Assert.That(Counter(m, "ecsmem_kswapd_wakeups"), Is.EqualTo(wakesBefore + 1));
        Assert.That(zone.Watermarks.Boost, Is.Zero);
        Assert.That(Counter(m, "pswpout"), Is.Zero);
        Assert.That(Counter(m, "pgsteal_kswapd"), Is.Zero);
        Assert.That(Counter(m, "pageoutrun"), Is.EqualTo(1));
    }

    [Test]
    public void APageTableAllocatedAtFaultInstallThatBoostsWakesKswapdInTheNextTick()
    {
        // A 4096-page machine fragmented as FragmentedMachine's (free memory only order-0 MOVABLE blocks), the linux
        // lruvec, with one process made before the fragmenting. Its first write faults; fault-install maps the page and allocates its page tables
        // (GFP_PGTABLE_USER, unmovable), whose fallback claims a MOVABLE pageblock: try_to_claim_block boosts by 512 and
        // rmqueue wakes kswapd. Kswapd's boosted run finds no file page to reclaim without I/O and takes the boost off
        // (as in BoostedKswapdNeverSwapsAndClearsTheBoostWhenItCannotReclaimWithoutIo). Until session 15 the wakeup was
        // added to the tick's batch after swap-out had run and dropped: no kswapd wakeup, and the boost of 512 stayed.
        var o = Options(ramPages: 4096, swapPages: 0) with { Policy = "linux" };
        using var m = new SimMachine(o);
        const ulong Base = 0x10000000;
        Add(m, "p", Anon(Base, 4), 0, W(Base), W(Base + Page));
        var zone = m.Kernel.Zone;
        var taken = new List<int>();
        for (int pfn; (pfn = zone.AllocFrame(0)) >= 0;)
            taken.Add(pfn);
        foreach (int pfn in taken.Where(q => (q & 1) == 1))
            zone.FreeFrame(pfn, 0);
        // The set-up's last movable allocations fell back into the unmovable pageblock of the process's PGD (claiming it
        // MOVABLE, with a boost and a wakeup queued between ticks): undone, so the run starts unboosted with no wakeup.
        zone.Watermarks.Boost = 0;
        m.Env.Work<KswapdWakeup>().Clear();
        long extfrag = Counter(m, "ecsmem_extfrag");
        Assert.That(Counter(m, "ecsmem_kswapd_wakeups"), Is.Zero);
        RunUntil(m, () => m.Finished);
        Assert.That(Counter(m, "ecsmem_extfrag") - extfrag, Is.EqualTo(1), "one page-table fallback");
        Assert.That(Counter(m, "ecsmem_kswapd_wakeups"), Is.EqualTo(1));
        Assert.That(Counter(m, "pageoutrun"), Is.EqualTo(1));
        Assert.That(zone.Watermarks.Boost, Is.Zero);
    }

    [Test]
    public void TheScenarioKeyIsParsedAndABadValueNamed()
    {
        const string Procs = "processes:\n  - name: p\n    workload: {generator: \"zipf:count=10,pages=4,alpha=0.8,seed=1\"}\n";
        var s = EcsMem.Scenarios.ScenarioParser.Parse(new StringReader("machine:\n  watermark_boost_factor: 0\n" + Procs), "w.yaml");
        Assert.That(s.Machine.WatermarkBoostFactor, Is.Zero);
        Assert.That(EcsMem.Scenarios.ScenarioParser.Parse(new StringReader(Procs), "d.yaml").Machine.WatermarkBoostFactor, Is.EqualTo(15000));
        var ex = Assert.Throws<Diagnostics.InputException>(() =>
            EcsMem.Scenarios.ScenarioParser.Parse(new StringReader("machine:\n  watermark_boost_factor: -5\n" + Procs), "w.yaml"));
        Assert.That(ex!.Message, Does.Contain("w.yaml").And.Contain("watermark_boost_factor"));
    }

    [Test]
    public void ZoneinfoPrintsTheBoostAndMarksThatIncludeIt()
    {
        using var m = FragmentedMachine(15000, out _);
        m.Kernel.Zone.AllocFrame(0, MigrateType.Unmovable);
        var z = ZoneInfo.Build(m.Kernel, MemoryGauges.Read(m.Kernel));
        var sb = new System.Text.StringBuilder();
        ZoneInfo.AppendTo(sb, z);
        string text = sb.ToString();
        // 4096 pages: min 128, low 160, high 192, each plus the boost of 512, printed right after "pages free".
        Assert.That(text, Does.Contain("\n        boost    512\n        min      640\n        low      672\n        high     704\n"));
    }
}
