using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// MEMCG_CHARGE_BATCH and the per-CPU charge stock as Linux 6.18's mm/memcontrol.c keeps them (consume_stock,
/// refill_stock, drain_stock, drain_all_stock, try_charge_memcg's batch and its fallback to the charge's own pages):
/// each expected usage and stock worked out by hand from those rules, and the far-from-limit steps checked against
/// the kernel's own record (oracle/experiments/reclaim-cost/results/charge-stock.txt).
/// </summary>
public class MemcgChargeStockTests
{
    private static CgroupConfig Group(string name, long maxPages, long highPages = CgroupConfig.Unlimited) =>
        new(name, null, maxPages == CgroupConfig.Unlimited ? maxPages : maxPages * 4096,
            highPages == CgroupConfig.Unlimited ? highPages : highPages * 4096, 0, 0, CgroupConfig.Unlimited, 0);

    private static MemcgController Controller(int cpus, params CgroupConfig[] groups)
    {
        var policy = new LruPolicy();
        policy.Initialize(1024);
        return new MemcgController(policy, () => { var p = new LruPolicy(); p.Initialize(1024); return p; }, groups, 1024, 1, cpus);
    }

    /// <summary>The group's usage is its charged pages plus its stocked pages (the invariant the checker asserts on runs).</summary>
    private static void AssertUsage(MemcgController mc, MemCgroup g, long charged, long stocked)
    {
        Assert.That(mc.Stocked(g), Is.EqualTo(stocked), "stocked pages");
        Assert.That(g.Usage, Is.EqualTo(charged + stocked), "usage = charged + stocked");
    }

    [Test]
    public void FarFromTheLimitUsageRisesInStepsOfExactly64LikeTheKernels()
    {
        MemcgController mc = Controller(1, Group("a", 100_000));
        MemCgroup g = mc.Find("a");
        var increases = new List<long>();
        long before = 0;
        for (int k = 1; k <= 512; k++)
        {
            Assert.That(mc.TryCharge(g, 1, 0, out long batch), Is.Null);
            // Touch k charges the counters 64 when the stock is empty (k = 1, 65, 129, ...) and nothing otherwise.
            Assert.That(batch, Is.EqualTo((k - 1) % 64 == 0 ? 64 : 0), $"touch {k}");
            AssertUsage(mc, g, k, (64 - k % 64) % 64);
            if (g.Usage != before)
                increases.Add(g.Usage - before);
            before = g.Usage;
        }
        Assert.That(increases, Has.Count.EqualTo(8));
        Assert.That(increases, Is.All.EqualTo(64L));

        // The kernel, a task pinned to one CPU touching 512 pages: every rise of usage_in_bytes is exactly 64 pages;
        // the first 8 come 62-63 touches apart (other charges of the task, page tables and kernel objects, share the
        // stock); a 9th follows a fall of 65 pages at touch 467 (the stock drained, by a drain_all_stock elsewhere).
        string path = Path.Combine(Scenarios.ScenarioTestFiles.RepoRoot(), "oracle", "experiments", "reclaim-cost", "results", "charge-stock.txt");
        long[] usage = File.ReadLines(path).Skip(1).Select(l => long.Parse(l.Split('\t')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var kernelRises = new List<(int Touch, long By)>();
        for (int i = 1; i < usage.Length; i++)
            if (usage[i] > usage[i - 1])
                kernelRises.Add((i, usage[i] - usage[i - 1]));
        Assert.That(kernelRises.Select(r => r.By), Is.All.EqualTo(64L));
        Assert.That(kernelRises, Has.Count.EqualTo(increases.Count + 1));
        Assert.That(usage[467] - usage[466], Is.EqualTo(-65));
        for (int i = 1; i < increases.Count; i++)
            Assert.That(kernelRises[i].Touch - kernelRises[i - 1].Touch, Is.InRange(62, 64));
    }

    [Test]
    public void NearTheLimitTheBatchFallsBackToTheChargesOwnPage()
    {
        MemcgController mc = Controller(1, Group("a", 100));
        MemCgroup g = mc.Find("a");
        // 1st charge: batch 64 fits (0 + 64 <= 100): usage 64, stock 63. Charges 2..64 come from the stock.
        for (int k = 1; k <= 64; k++)
            Assert.That(mc.TryCharge(g, 1, 0), Is.Null);
        AssertUsage(mc, g, 64, 0);
        // 65th: 64 + 64 > 100, the stock is empty: one page (usage 65). So on up to the limit, no stock.
        for (int k = 65; k <= 100; k++)
        {
            Assert.That(mc.TryCharge(g, 1, 0, out long batch), Is.Null);
            Assert.That(batch, Is.EqualTo(1));
        }
        AssertUsage(mc, g, 100, 0);
        Assert.That(g.Failcnt, Is.EqualTo(36), "each of charges 65..100 had its 64-page attempt refused first");
        Assert.That(mc.TryCharge(g, 1, 0), Is.SameAs(g), "the 101st page does not fit: mem_over_limit");
        AssertUsage(mc, g, 100, 0);
        Assert.That(g.Failcnt, Is.EqualTo(38), "the batch and the page itself refused");
        // 40 pages freed (uncharge_batch: straight off the counter): 60. The batch (124) does not fit, one page does.
        mc.Uncharge(g, 40);
        Assert.That(mc.TryCharge(g, 1, 0, out long b2), Is.Null);
        Assert.That(b2, Is.EqualTo(1));
        AssertUsage(mc, g, 61, 0);
        Assert.That(g.Failcnt, Is.EqualTo(39));
        // 50 more freed: usage 11, and a batch fits again (11 + 64 <= 100): usage 75 with 63 stocked.
        mc.Uncharge(g, 50);
        Assert.That(mc.TryCharge(g, 1, 0, out long b3), Is.Null);
        Assert.That(b3, Is.EqualTo(64));
        AssertUsage(mc, g, 12, 63);
        Assert.That(g.Usage, Is.EqualTo(75));
        Assert.That(g.Failcnt, Is.EqualTo(39), "a batch that fits refuses nothing");
    }

    [Test]
    public void AnotherCpusStockCountsAgainstTheLimitUntilAFailedReclaimDrainsIt()
    {
        MemcgController mc = Controller(2, Group("a", 100));
        MemCgroup g = mc.Find("a");
        var task = new Entity(5, 1);
        // CPU 1 charges one page: usage 64, CPU 1's stock 63.
        Assert.That(mc.TryCharge(g, 1, 1), Is.Null);
        Assert.That(mc.StockOn(1, g), Is.EqualTo(63));
        // CPU 0 cannot use CPU 1's stock: 64 + 64 > 100, so one page at a time, 36 of them, and the group is full
        // with 37 pages charged to pages.
        for (int k = 0; k < 36; k++)
            Assert.That(mc.TryCharge(g, 1, 0), Is.Null);
        AssertUsage(mc, g, 37, 63);
        Assert.That(mc.TryCharge(g, 1, 0), Is.SameAs(g));
        // try_charge_memcg after a reclaim that left no room: drain_all_stock once; usage falls by CPU 1's 63.
        Assert.That(mc.DrainAfterReclaim(g, task, 1), Is.True);
        AssertUsage(mc, g, 37, 0);
        Assert.That(mc.StockOn(1, g), Is.Zero);
        // The same charge does not drain twice; the next charge may again.
        for (int k = 0; k < 63; k++)
            Assert.That(mc.TryCharge(g, 1, 0), Is.Null);
        Assert.That(mc.DrainAfterReclaim(g, task, 1), Is.False);
        mc.Charged(task);
        Assert.That(mc.TryCharge(g, 1, 1), Is.SameAs(g));
        Assert.That(mc.DrainAfterReclaim(g, task, 1), Is.True, "a new charge drains (nothing is stocked, so usage stays)");
        AssertUsage(mc, g, 100, 0);
        // A reclaim that made room for the charge does not drain (mem_cgroup_margin >= nr_pages: retry first).
        mc.Uncharge(g, 1);
        mc.Charged(task);
        Assert.That(mc.DrainAfterReclaim(g, task, 1), Is.False);
    }

    [Test]
    public void DrainAllStockEmptiesEveryHoldingCpuWholeButOnlyThose()
    {
        MemcgController mc = Controller(3, Group("a", 10_000), Group("b", 10_000));
        MemCgroup a = mc.Find("a"), b = mc.Find("b");
        Assert.That(mc.TryCharge(a, 1, 0), Is.Null); // CPU 0: a 63
        Assert.That(mc.TryCharge(b, 2, 0), Is.Null); // CPU 0: b 62
        Assert.That(mc.TryCharge(b, 3, 1), Is.Null); // CPU 1: b 61
        Assert.That(mc.TryCharge(a, 5, 2), Is.Null); // CPU 2: a 59
        Assert.That(mc.DrainAllStock(b), Is.EqualTo(63 + 62 + 61), "CPUs 0 and 1 hold b: each drained whole, a's slot on CPU 0 too");
        Assert.That((mc.StockOn(0, a), mc.StockOn(0, b), mc.StockOn(1, b), mc.StockOn(2, a)), Is.EqualTo((0, 0, 0, 59)));
        AssertUsage(mc, a, 6, 59);
        AssertUsage(mc, b, 5, 0);
        Assert.That(mc.Root.Usage, Is.EqualTo(6 + 59 + 5), "the root's counter counts its children's stocks");
    }

    [Test]
    public void ACpuCachesSevenGroupsAndAnEighthEvictsOne()
    {
        var groups = Enumerable.Range(0, 8).Select(i => Group("g" + i, 10_000)).ToArray();
        MemcgController mc = Controller(1, groups);
        for (int i = 0; i < 7; i++)
            Assert.That(mc.TryCharge(mc.Find("g" + i), 1, 0), Is.Null);
        Assert.That(Enumerable.Range(0, 7).Sum(i => mc.StockOn(0, mc.Find("g" + i))), Is.EqualTo(7 * 63));
        // NR_MEMCG_STOCK is 7: the eighth group's refill drains one slot (chosen at random) and takes it.
        Assert.That(mc.TryCharge(mc.Find("g7"), 1, 0), Is.Null);
        Assert.That(mc.StockOn(0, mc.Find("g7")), Is.EqualTo(63));
        int emptied = Enumerable.Range(0, 7).Count(i => mc.StockOn(0, mc.Find("g" + i)) == 0);
        Assert.That(emptied, Is.EqualTo(1));
        foreach (MemCgroup g in Enumerable.Range(0, 8).Select(i => mc.Find("g" + i)))
            AssertUsage(mc, g, 1, mc.StockOn(0, g));
    }

    [Test]
    public void LargeChargesBypassTheStockAndRefillsAboveABatchDrain()
    {
        MemcgController mc = Controller(1, Group("a", 10_000));
        MemCgroup a = mc.Find("a");
        // A THP (512 pages) is more than MEMCG_CHARGE_BATCH: no consume_stock, batch = 512, nothing stocked.
        Assert.That(mc.TryCharge(a, 512, 0, out long batch), Is.Null);
        Assert.That(batch, Is.EqualTo(512));
        AssertUsage(mc, a, 512, 0);
        // An order-4 folio (16 pages): batch 64, 48 stocked; the next 16-page folio comes from the stock.
        Assert.That(mc.TryCharge(a, 16, 0, out batch), Is.Null);
        Assert.That(batch, Is.EqualTo(64));
        Assert.That(mc.TryCharge(a, 16, 0, out batch), Is.Null);
        Assert.That(batch, Is.Zero);
        AssertUsage(mc, a, 544, 32);
        // Page tables charge through try_charge_memcg too (__memcg_kmem_charge_page): 32 come from the stock.
        mc.AttachMm(7, a, Array.Empty<int>());
        for (int pfn = 0; pfn < 32; pfn++)
            mc.ChargePageTable(pfn, 7, 0, out _);
        AssertUsage(mc, a, 576, 0);
        // A freed page table goes back to the freeing CPU's stock (obj_cgroup_uncharge_pages → refill_stock).
        for (int pfn = 0; pfn < 32; pfn++)
            mc.UnchargeFrame(pfn, pageTable: true, 0);
        AssertUsage(mc, a, 544, 32);
        Assert.That(a.PageTables, Is.Zero);
        // 33 tables: 32 from the stock, the 33rd charges a batch (stock 63). Freeing all 33: the 1st makes the stock
        // 64, the 2nd 65 > MEMCG_CHARGE_BATCH, so drain_stock takes all 65 off the counter; the other 31 stock again.
        for (int pfn = 0; pfn < 33; pfn++)
            mc.ChargePageTable(pfn, 7, 0, out _);
        AssertUsage(mc, a, 577, 63);
        for (int pfn = 0; pfn < 33; pfn++)
            mc.UnchargeFrame(pfn, pageTable: true, 0);
        AssertUsage(mc, a, 544, 31);
        // An ordinary page's free (uncharge_batch) goes straight to the counter.
        Assert.That(mc.TryCharge(a, 1, 0), Is.Null);
        mc.CommitCharge(100, a);
        AssertUsage(mc, a, 545, 30);
        mc.UnchargeFrame(100, pageTable: false, 0);
        AssertUsage(mc, a, 544, 30);
    }

    [Test]
    public void AMemoryHighNoteCountsTheBatchNotThePage()
    {
        MemcgController mc = Controller(1, Group("a", 10_000, highPages: 10));
        MemCgroup a = mc.Find("a");
        var task = new Entity(3, 1);
        // try_charge_memcg's done_restock: usage 64 > high 10, memcg_nr_pages_over_high += batch (64).
        Assert.That(mc.TryCharge(a, 1, 0, out long batch), Is.Null);
        mc.NoteOverHigh(task, a, batch);
        // The next 63 pages come from the stock: consume_stock returns before the high check.
        for (int k = 0; k < 63; k++)
        {
            Assert.That(mc.TryCharge(a, 1, 0, out batch), Is.Null);
            mc.NoteOverHigh(task, a, batch);
        }
        Assert.That(mc.TakeOverHigh(task), Is.EqualTo(64));
    }
}
