using EcsMem.Systems.Reporting;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// Linux 6.7+'s self-tuning per-CPU lists (machine.pcp_high_tuning, the default). The expected values are worked out
/// by hand in the comments from mm/page_alloc.c's nr_pcp_alloc, nr_pcp_high, nr_pcp_free, free_frozen_page_commit
/// (free_unref_page_commit in 6.7–6.x) and decay_pcp_high, with CONFIG_PCP_BATCH_SCALE_MAX = 5; nothing is copied
/// from the code's output. The set used: a 1024-page zone, one CPU, batch 2, high_min 8, high_max 40.
/// </summary>
public class PcpHighTuningTests
{
    private static (BuddyAllocator Buddy, PerCpuPageSet Pcp) Small()
    {
        var buddy = new BuddyAllocator(1024);
        return (buddy, new PerCpuPageSet(buddy, cpus: 1, batch: 2, highMin: 8, highMax: 40, frames: null, tuning: true));
    }

    /// <summary>
    /// 63 allocations from a fresh list. Each refill (nr_pcp_alloc) clamps high into [8, 40], adds the shifted batch
    /// 2 &lt;&lt; alloc_factor to it, and takes min(batch, max(high − count − 2, 2)) pages; alloc_factor grows while
    /// the shifted batch fits:
    /// <code>
    /// alloc  1: high 0→8→10, batch 2,  max(10−0−2, 2) = 8:   2 pages, af 1   (list 1 after the take; 1 more alloc empties it)
    /// alloc  3: high 14, batch 4,  max 12: 4 pages, af 2        (3 more allocs)
    /// alloc  7: high 22, batch 8,  max 20: 8 pages, af 3        (7 more)
    /// alloc 15: high 38, batch 16, max 36: 16 pages, af 4       (15 more)
    /// alloc 31: high min(38+32, 40) = 40, batch 32, max 38: 32 pages, af 5   (31 more)
    /// alloc 63: high 40, batch 64 &gt; max 38: 38 pages, af stays 5; 37 left on the list
    /// </code>
    /// 2 + 4 + 8 + 16 + 32 + 38 = 100 pages left the buddy allocator.
    /// </summary>
    private static int[] GrowToHighMax(BuddyAllocator buddy, PerCpuPageSet pcp)
    {
        var pfns = new int[63];
        for (int i = 0; i < 63; i++)
        {
            pfns[i] = pcp.Alloc(0);
            Assert.That(pfns[i], Is.GreaterThanOrEqualTo(0));
        }
        return pfns;
    }

    [Test]
    public void RefillsDoubleWhileTheyFitAndHighGrowsToHighMax()
    {
        var (buddy, pcp) = Small();
        Assert.That(pcp.HighOf(0), Is.EqualTo(0), "per_cpu_pages_init's BOOT_PAGESET_HIGH until first use (zoneinfo prints 0)");
        // Refill by refill, as in GrowToHighMax's table: (allocations done, high, alloc_factor, list count, buddy free).
        var seen = new List<(int, int, int, int, long)>();
        for (int i = 1; i <= 63; i++)
        {
            pcp.Alloc(0);
            if (i is 1 or 3 or 7 or 15 or 31 or 63)
                seen.Add((i, pcp.HighOf(0), pcp.AllocFactor(0), pcp.Count(0), buddy.NrFreePages));
        }
        Assert.That(seen, Is.EqualTo(new List<(int, int, int, int, long)>
        {
            (1, 10, 1, 1, 1022),
            (3, 14, 2, 3, 1018),
            (7, 22, 3, 7, 1010),
            (15, 38, 4, 15, 994),
            (31, 40, 5, 31, 962),
            (63, 40, 5, 37, 924),
        }));
    }

    /// <summary>
    /// From GrowToHighMax's end (list 37, high 40 = high_max, free_count 0), the 63 pages come back one by one. Each
    /// free halves alloc_factor, adds one to free_count (cap 2 &lt;&lt; 5 = 64) and, at count &gt;= high = 40,
    /// returns clamp(free_count, 2, 40 − 2) pages (nr_pcp_high's need_high = free_count + 2 never exceeds 40 here):
    /// <code>
    /// free  3: count 40, free_count 3  → 3 pages  (count 37)
    /// free  6: count 40, free_count 6  → 6        (34)
    /// free 12: count 40, free_count 12 → 12       (28)
    /// free 24: count 40, free_count 24 → 24       (16)
    /// free 48: count 40, free_count 48 → 38 (the high − batch cap)  (2)
    /// frees 49–63: count 17, free_count 63, no bulk
    /// </code>
    /// Then decay_pcp_high once a second: high = max3(count − 64, high − high / 8, 8), and the list gives back what is
    /// above high: 40 → 35 → 31 → 28 → 25 → 22 → 20 → 18 → 16 (1 page back: 16) → 14 (2: 14) → 13 (1) → 12 (1)
    /// → 11 (1) → 10 (1) → 9 (1) → 8 (1: count 8); the 16th finds high at high_min and nothing above it.
    /// </summary>
    [Test]
    public void BulkFreesFollowTheConsecutiveFreesAndHighDecaysEverySecond()
    {
        var (buddy, pcp) = Small();
        int[] pfns = GrowToHighMax(buddy, pcp);
        var bulks = new List<(int, int)>();
        for (int i = 0; i < pfns.Length; i++)
        {
            int returned = pcp.Free(pfns[i], 0);
            if (returned > 0)
                bulks.Add((i + 1, returned));
        }
        Assert.That(bulks, Is.EqualTo(new List<(int, int)> { (3, 3), (6, 6), (12, 12), (24, 24), (48, 38) }));
        Assert.That((pcp.Count(0), pcp.HighOf(0), pcp.FreeCount(0), pcp.AllocFactor(0)), Is.EqualTo((17, 40, 63, 0)));
        Assert.That(buddy.NrFreePages, Is.EqualTo(1024 - 17));

        var decay = new List<(int, int, int)>();
        for (int s = 1; s <= 16; s++)
        {
            int drained = pcp.DecayPcpHigh(0);
            decay.Add((pcp.HighOf(0), drained, pcp.Count(0)));
        }
        Assert.That(decay, Is.EqualTo(new List<(int, int, int)>
        {
            (35, 0, 17), (31, 0, 17), (28, 0, 17), (25, 0, 17), (22, 0, 17), (20, 0, 17), (18, 0, 17),
            (16, 1, 16), (14, 2, 14), (13, 1, 13), (12, 1, 12), (11, 1, 11), (10, 1, 10), (9, 1, 9), (8, 1, 8),
            (8, 0, 8),
        }));
        Assert.That(pcp.DecayPending(), Is.False, "high at high_min and nothing above it: the timer's wakes would change nothing");
        Assert.That(buddy.NrFreePages + pcp.Count(0), Is.EqualTo(1024));
    }

    /// <summary>
    /// ZONE_BELOW_HIGH from GrowToHighMax's end (list 37, high 40): each free lowers high by max(free_count, 2) (not
    /// below 8) and returns pages whenever the list is at max(count, 8), i.e. at once while it is above 8:
    /// <code>
    /// free 1: count 38, fc 1: high 40−2 = 38, bulk clamp(1, 2, 36) = 2 → 36
    /// free 2: count 37, fc 2: high 36,        bulk clamp(2, 2, 35) = 2 → 35
    /// free 3: count 36, fc 3: high 33,        bulk 3 → 33
    /// free 4: count 34, fc 4: high 29,        bulk 4 → 30
    /// free 5: count 31, fc 5: high 24,        bulk 5 → 26
    /// free 6: count 27, fc 6: high 18,        bulk 6 → 21
    /// free 7: count 22, fc 7: high 11,        bulk 7 → 15
    /// free 8: count 16, fc 8: high 8,         bulk 8 → 8
    /// free 9: count 9,  fc 9: high 8,         bulk clamp(9, 2, 9 − 2) = 7 → 2
    /// free 10: count 3 &lt; 8: nothing
    /// </code>
    /// Three allocations empty the list (free_count 10 → 5 → 2 → 1); the fourth refills without growing high (nr_pcp_alloc
    /// skips the growth under ZONE_BELOW_HIGH): high 8, batch 2 &lt;&lt; 0 (ten frees halved alloc_factor 5 to 0), max(8 − 0 − 2, 2)
    /// = 6, so 2 pages and alloc_factor 1.
    /// </summary>
    [Test]
    public void BelowHighShrinksHighAndStopsItsGrowth()
    {
        var (buddy, pcp) = Small();
        int[] pfns = GrowToHighMax(buddy, pcp);
        pcp.BelowHigh = true;
        var steps = new List<(int, int, int)>();
        for (int i = 0; i < 10; i++)
        {
            int returned = pcp.Free(pfns[i], 0);
            steps.Add((pcp.HighOf(0), returned, pcp.Count(0)));
        }
        Assert.That(steps, Is.EqualTo(new List<(int, int, int)>
        {
            (38, 2, 36), (36, 2, 35), (33, 3, 33), (29, 4, 30), (24, 5, 26), (18, 6, 21), (11, 7, 15), (8, 8, 8), (8, 7, 2),
            (8, 0, 3),
        }));
        for (int i = 0; i < 3; i++)
            pcp.Alloc(0);
        long free = buddy.NrFreePages;
        pcp.Alloc(0);
        Assert.That((pcp.HighOf(0), pcp.AllocFactor(0), pcp.Count(0), free - buddy.NrFreePages), Is.EqualTo((8, 1, 1, 2L)));
    }

    /// <summary>
    /// Under reclaim (ZONE_RECLAIM_ACTIVE) from GrowToHighMax's end: the first free lowers high by max(free_count 1,
    /// 2) to 38 and the list may hold min(2 &lt;&lt; 2, 38) = 8; at count 38 it returns clamp(1, 2, 8 − 2) = 2 pages.
    /// </summary>
    [Test]
    public void ReclaimActiveCapsTheListAtFourBatches()
    {
        var (buddy, pcp) = Small();
        int[] pfns = GrowToHighMax(buddy, pcp);
        Assert.That(pcp.Free(pfns[0], 0, reclaimActive: true), Is.EqualTo(2));
        Assert.That((pcp.HighOf(0), pcp.Count(0)), Is.EqualTo((38, 36)));
    }

    /// <summary>
    /// high_max = zone_highsize(zone, batch, 0, MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8): managed / 8 / CPUs. This
    /// machine's Linux 6.18 on 2 CPUs (PerCpuPageSetTests records its zoneinfo): DMA 3,840 managed → 240, DMA32 772,848
    /// → 48,303, Normal 2,260,992 → 141,312; and on 2026-12-06 at 20:3x, the Normal zone with high_max 53,248 = 851,968
    /// / 16.
    /// </summary>
    [TestCase(3840L, 1, 240)]
    [TestCase(772848L, 63, 48303)]
    [TestCase(2260992L, 63, 141312)]
    [TestCase(851968L, 63, 53248)]
    public void HighMaxIsAnEighthOfTheZoneSplitAcrossCpus(long managed, int batch, int highMax) =>
        Assert.That(PerCpuPageSet.ZoneHighSize(managed / PerCpuPageSet.MinPercpuPagelistHighFraction, batch, cpus: 2), Is.EqualTo(highMax));

    [Test]
    public void TheZoneGetsHighMinAndHighMaxAndTheKeyTurnsTuningOff()
    {
        // 64 MiB, 2 CPUs: batch 3, low 320 (PerCpuZoneTests): high_min max(320 / 2, 12) = 160; high_max 16384 / 8 / 2 = 1024.
        using (var on = new SimMachine(Options(16384, swapPages: 0) with { Cpus = 2, PcpHighTuning = true })) // KernelKit pins 6.6
        {
            var pcp = on.Kernel.Zone.Pcp!;
            Assert.That((pcp.HighTuning, pcp.Batch, pcp.HighMin, pcp.HighMax, pcp.HighOf(0)), Is.EqualTo((true, 3, 160, 1024, 0)));
            Assert.That(on.Kernel.Vmstat, Is.Not.Null);
            var r = SimulationReport.Build(on, "t");
            Assert.That(r.Pagesets![1], Is.EqualTo(new PagesetRow(1, 0, 0, 3, 160, 1024)));
            string text = ReportTextWriter.Write(r);
            Assert.That(text, Does.Contain("   cpu    count     high    batch high_min high_max\n"));
            Assert.That(text, Does.Contain("     1        0        0        3      160     1024\n"));
            Assert.That(ReportJsonWriter.Write(r), Does.Contain("\"high_min\": 160"));
            // /proc/zoneinfo's pagesets lines as Linux 6.18 prints them (zoneinfo_show_print).
            var sb = new System.Text.StringBuilder();
            ZoneInfo.AppendTo(sb, ZoneInfo.Build(on.Kernel, MemoryGauges.Read(on.Kernel)));
            Assert.That(sb.ToString(), Does.Contain(
                "\n    cpu: 1\n              count:    0\n              high:     0\n              batch:    3\n              high_min: 160\n              high_max: 1024"));
        }
        using var off = new SimMachine(Options(16384, swapPages: 0) with { Cpus = 2, PcpHighTuning = false });
        var p6 = off.Kernel.Zone.Pcp!;
        Assert.That((p6.HighTuning, p6.High, p6.HighMin, p6.HighMax, p6.HighOf(1)), Is.EqualTo((false, 160, 160, 160, 160)));
        Assert.That(off.Kernel.Vmstat, Is.Null);
        var r6 = SimulationReport.Build(off, "t");
        Assert.That(ReportTextWriter.Write(r6), Does.Contain("   cpu    count     high    batch\n"));
        Assert.That(ReportJsonWriter.Write(r6), Does.Not.Contain("high_min"));
    }

    [Test]
    public void TheScenarioKeyParsesAndIsWrittenOnlyWhenFalse()
    {
        static EcsMem.Scenarios.Scenario Parse(string machine) => EcsMem.Scenarios.ScenarioParser.Parse(
            new StringReader("machine: {" + machine + "}\nprocesses:\n  - name: p\n    workload: {generator: \"seq:count=1,pages=1\"}\n"), "pcp.yaml");
        Assert.That(Parse("ram: 64M").Machine.PcpHighTuning, Is.True);
        Assert.That(Parse("ram: 64M, pcp_high_tuning: false").Machine.PcpHighTuning, Is.False);
        Assert.That(EcsMem.Scenarios.ScenarioWriter.ToYaml(Parse("ram: 64M")), Does.Not.Contain("pcp_high_tuning"));
        Assert.That(EcsMem.Scenarios.ScenarioWriter.ToYaml(Parse("ram: 64M, pcp_high_tuning: false")), Does.Contain("pcp_high_tuning: false"));
        var ex = Assert.Throws<EcsMem.Diagnostics.InputException>(() => Parse("pcp_high_tuning: sometimes"));
        Assert.That(ex!.Message, Does.Contain("machine.pcp_high_tuning"));
    }
}
