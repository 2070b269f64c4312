using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Policies;
using EcsMem.Systems.Vmscan;
using EcsMem.Tests.Kernel;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// The rstat flush threshold of Linux 6.18's mm/memcontrol.c (memcg_rstat_updated, memcg_vmstats_needs_flush,
/// __mem_cgroup_flush_stats, flush_memcg_stats_dwork) on a worked sequence of charges and uncharges across two CPUs:
/// each charge or uncharge of a page is two updates (its PGPGIN/PGPGOUT event and its resident-type counter), a CPU's
/// count folds into the group's at MEMCG_CHARGE_BATCH (64), and a read flushes only above 64 × 2 = 128. Every expected
/// count below is worked out by hand from those rules.
/// </summary>
public class MemcgRstatTests
{
    private static MemcgController Controller(out MemCgroup a, out Func<int, int> onCpu)
    {
        var policy = new LruPolicy();
        policy.Initialize(1024);
        var groups = new[] { new CgroupConfig("a", null, CgroupConfig.Unlimited, CgroupConfig.Unlimited, 0, 0, CgroupConfig.Unlimited, 0) };
        var mc = new MemcgController(policy, () => { var p = new LruPolicy(); p.Initialize(1024); return p; }, groups, 1024, 1, cpus: 2);
        int cpu = 0;
        mc.CurrentCpu = () => cpu;
        onCpu = c => cpu = c;
        a = mc.Find("a");
        return mc;
    }

    private static void Charge(MemcgController mc, MemCgroup g, int from, int count)
    {
        mc.ChargeForce(g, count);
        for (int pfn = from; pfn < from + count; pfn++)
            mc.CommitCharge(pfn, g);
    }

    private static void Uncharge(MemcgController mc, int from, int count, int cpu)
    {
        for (int pfn = from; pfn < from + count; pfn++)
            mc.UnchargeFrame(pfn, pageTable: false, cpu);
    }

    [Test]
    public void AReadFlushesOnlyAbove128FoldedUpdatesAndOtherwiseShowsTheLastFlush()
    {
        MemcgController mc = Controller(out MemCgroup a, out Func<int, int> onCpu);
        Assert.That(mc.StatsFlushThreshold, Is.EqualTo(128));

        // CPU 0: 20 pages charged, 40 updates, under the per-CPU batch: nothing folded, the read does not flush.
        onCpu(0);
        Charge(mc, a, 0, 20);
        Assert.That(mc.PendingStatsUpdatesOn(a, 0), Is.EqualTo(40));
        Assert.That(mc.PendingStatsUpdates(a), Is.EqualTo(0));
        mc.ReadStats(a, jiffies: 0);
        Assert.That((a.PgPgIn, a.FlushedPgPgIn), Is.EqualTo((20L, 0L)));

        // CPU 1: 40 pages, 80 updates: the 64th folds (64 on the group), 16 stay on CPU 1. 64 is not above 128.
        onCpu(1);
        Charge(mc, a, 20, 40);
        Assert.That((mc.PendingStatsUpdates(a), mc.PendingStatsUpdatesOn(a, 1)), Is.EqualTo((64L, 16)));
        Assert.That((mc.PendingStatsUpdates(mc.Root), mc.PendingStatsUpdatesOn(mc.Root, 1)), Is.EqualTo((64L, 16)), "the ancestor counts them too");
        mc.ReadStats(a, jiffies: 0);
        Assert.That(a.FlushedPgPgIn, Is.EqualTo(0));

        // CPU 0: 12 uncharges, 24 updates: CPU 0's 40 + 24 = 64 folds, the group has exactly 128: still no flush (">").
        Uncharge(mc, 0, 12, cpu: 0);
        Assert.That((mc.PendingStatsUpdates(a), mc.PendingStatsUpdatesOn(a, 0)), Is.EqualTo((128L, 0)));
        mc.ReadStats(a, jiffies: 0);
        Assert.That((a.PgPgOut, a.FlushedPgPgOut), Is.EqualTo((12L, 0L)));

        // CPU 1: 24 more pages, 48 updates: 16 + 48 = 64 folds, 192 > 128: the read flushes and shows every event so far.
        onCpu(1);
        Charge(mc, a, 60, 24);
        Assert.That(mc.PendingStatsUpdates(a), Is.EqualTo(192));
        mc.ReadStats(a, jiffies: 0);
        Assert.That((a.FlushedPgPgIn, a.FlushedPgPgOut), Is.EqualTo((84L, 12L)));
        Assert.That((mc.PendingStatsUpdates(a), mc.PendingStatsUpdatesOn(a, 0), mc.PendingStatsUpdatesOn(a, 1)), Is.EqualTo((0L, 0, 0)));
        // The flush of a's subtree leaves its ancestor's count: the root still needs a flush of its own.
        Assert.That(mc.StatsNeedFlush(mc.Root), Is.True);

        // 5 uncharges on CPU 0 (10 updates) stay per-CPU: the read shows the flushed 12, not 17.
        Uncharge(mc, 12, 5, cpu: 0);
        Assert.That(mc.PendingStatsUpdatesOn(a, 0), Is.EqualTo(10));
        mc.ReadStats(a, jiffies: 499);
        Assert.That((a.PgPgOut, a.FlushedPgPgOut), Is.EqualTo((17L, 12L)));

        // At FLUSH_TIME (2 s = 500 jiffies at HZ 250) the periodic flush takes the whole tree, whatever the counts.
        mc.ReadStats(a, jiffies: 500);
        Assert.That(a.FlushedPgPgOut, Is.EqualTo(17));
        Assert.That((mc.PendingStatsUpdates(mc.Root), mc.PendingStatsUpdatesOn(a, 0)), Is.EqualTo((0L, 0)));
    }

    [Test]
    public void AGroupAlreadyAboveTheThresholdStopsCountingForItselfAndItsAncestors()
    {
        MemcgController mc = Controller(out MemCgroup a, out Func<int, int> onCpu);
        onCpu(0);
        // 3 folds of 64 on CPU 0: 192, above 128 after the third; the root's count rose with it.
        mc.RstatUpdated(a, 64, 0);
        mc.RstatUpdated(a, 64, 0);
        mc.RstatUpdated(a, -64, 0);
        Assert.That((mc.PendingStatsUpdates(a), mc.PendingStatsUpdates(mc.Root)), Is.EqualTo((192L, 192L)));
        // memcg_rstat_updated breaks at the first flushable group: nothing more is counted anywhere.
        mc.RstatUpdated(a, 5, 1);
        Assert.That((mc.PendingStatsUpdatesOn(a, 1), mc.PendingStatsUpdatesOn(mc.Root, 1)), Is.EqualTo((0, 0)));
        // A forced flush of the root clears both.
        Assert.That(mc.FlushStats(mc.Root, force: true, jiffies: 0), Is.True);
        Assert.That((mc.PendingStatsUpdates(a), mc.PendingStatsUpdates(mc.Root)), Is.EqualTo((0L, 0L)));
        Assert.That(mc.FlushStats(a, force: false, jiffies: 0), Is.False, "nothing pending");
    }

    /// <summary>
    /// Group a (on CPU 0 of 2, threshold 128) whose lruvec is a Linux lruvec under the root's, wired as the kernel
    /// wires them (Kernel.cs): the controller owns the flush, the lruvec reads its flushed values.
    /// </summary>
    private static MemcgController ControllerWithLruvecs(out MemCgroup a, out Lruvec lvA, out LruvecTests.FakeHost host)
    {
        var h = new LruvecTests.FakeHost(256);
        host = h;
        var counters = new CounterRegistry();
        var kc = new KernelCounters(counters);
        var rootLv = new Lruvec(h, counters, kc, 2);
        rootLv.Initialize(256);
        var groups = new[] { new CgroupConfig("a", null, CgroupConfig.Unlimited, CgroupConfig.Unlimited, 0, 0, CgroupConfig.Unlimited, 0) };
        var mc = new MemcgController(rootLv, () => { var p = new Lruvec(h, counters, kc, 2); p.Initialize(256); return p; }, groups, 256, 1, cpus: 2);
        mc.CurrentCpu = () => 0;
        a = mc.Find("a");
        lvA = (Lruvec)a.Lruvec;
        lvA.AttachTo(rootLv);
        lvA.Memcg = a;
        lvA.DeferredStats = true;
        lvA.StatsFlusher = mc;
        return mc;
    }

    /// <summary><paramref name="count"/> file pages from <paramref name="from"/> onto <paramref name="lv"/>'s inactive file list.</summary>
    private static void AddFilePages(LruvecTests.FakeHost host, Lruvec lv, int from, int count)
    {
        for (int pfn = from; pfn < from + count; pfn++)
        {
            host.Frames[pfn].Flags |= FrameFlags.Lru;
            lv.OnInserted(pfn, (ulong)pfn);
        }
        lv.LruAddDrain();
    }

    [Test]
    public void OnePeriodicFlushServesReclaimAndMemoryStatAndClearsThePendingCounts()
    {
        MemcgController mc = ControllerWithLruvecs(out MemCgroup a, out Lruvec lvA, out LruvecTests.FakeHost host);
        // 20 charges (40 updates, per-CPU on CPU 0, under the batch) and 8 pages on a's lists.
        Charge(mc, a, 0, 20);
        AddFilePages(host, lvA, 100, 8);
        Assert.That((mc.PendingStatsUpdatesOn(a, 0), mc.PendingStatsUpdatesOn(mc.Root, 0)), Is.EqualTo((40, 40)));

        // Jiffy 499: before FLUSH_TIME (500). Reclaim's count_shadow_nodes read sees the boot-time flush: 0 pages.
        host.Jiffies = 499;
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(0));

        // Jiffy 500: the reclaim read comes first after the boundary and applies flush_memcg_stats_dwork: the whole
        // tree, the lruvec's 8 pages and the pgpg counters both, and every pending count cleared.
        host.Jiffies = 500;
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(8));
        Assert.That((a.FlushedPgPgIn, mc.PendingStatsUpdatesOn(a, 0), mc.PendingStatsUpdatesOn(mc.Root, 0)), Is.EqualTo((20L, 0, 0)));

        // 5 more charges (10 updates, per-CPU) and 4 more pages. A memory.stat read at jiffy 700 sees the same flush as
        // reclaim (one clock: the next period is at 1000, and 0 folded updates is under the threshold): pgpgin 20, not 25.
        Charge(mc, a, 20, 5);
        AddFilePages(host, lvA, 108, 4);
        mc.ReadStats(a, jiffies: 700);
        Assert.That((a.PgPgIn, a.FlushedPgPgIn, mc.PendingStatsUpdatesOn(a, 0)), Is.EqualTo((25L, 20L, 10)));
        host.Jiffies = 700;
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(8));

        // Jiffy 1000: this time memory.stat comes first; its periodic flush serves reclaim too (12 pages), and a reclaim
        // read at 1100 after one more page does not flush again (12, not 13).
        mc.ReadStats(a, jiffies: 1000);
        Assert.That((a.FlushedPgPgIn, mc.PendingStatsUpdatesOn(a, 0)), Is.EqualTo((25L, 0)));
        AddFilePages(host, lvA, 112, 1);
        host.Jiffies = 1100;
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(12));
    }

    [Test]
    public void AThresholdReadFlushesTheLruvecWithTheCounters()
    {
        MemcgController mc = ControllerWithLruvecs(out MemCgroup a, out Lruvec lvA, out LruvecTests.FakeHost host);
        // 96 charges on CPU 0: 192 updates, folded at 64, 128 and 192: above 128. 10 pages on a's lists.
        Charge(mc, a, 0, 96);
        AddFilePages(host, lvA, 100, 10);
        Assert.That((mc.PendingStatsUpdates(a), mc.PendingStatsUpdatesOn(a, 0)), Is.EqualTo((192L, 0)));
        // Jiffy 10: reclaim's ratelimited read does not flush (the periodic flusher is not late: 10 ≤ 0 + 1000).
        host.Jiffies = 10;
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(0));
        // The memory.stat read flushes a's subtree: pgpgin 96 and the lruvec's 10 pages together.
        mc.ReadStats(a, jiffies: 10);
        Assert.That((a.FlushedPgPgIn, mc.PendingStatsUpdates(a)), Is.EqualTo((96L, 0L)));
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(10));
        Assert.That(mc.PendingStatsUpdates(mc.Root), Is.EqualTo(192), "a's subtree flush leaves the root's count");
    }

    [Test]
    public void ReclaimFlushesItselfOnlyWhenThePeriodicFlusherIsAWholeCycleLate()
    {
        MemcgController mc = ControllerWithLruvecs(out MemCgroup a, out Lruvec lvA, out LruvecTests.FakeHost host);
        mc.PeriodicFlusher = false; // flush_memcg_stats_dwork held off: flush_last_time stays at boot (0)
        Charge(mc, a, 0, 20); // 40 updates, per-CPU: no flush needed
        AddFilePages(host, lvA, 100, 10);
        // Jiffy 1001 > 0 + 2 × FLUSH_TIME (1000): late, but mem_cgroup_flush_stats still wants the threshold.
        host.Jiffies = 1001;
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(0));
        // 76 more charges: 40 + 152 = 192 updates, folded at 64, 128, 192: above 128.
        Charge(mc, a, 20, 76);
        Assert.That(mc.PendingStatsUpdates(a), Is.EqualTo(192));
        // Jiffy 1000 is not after 1000: no flush; 1001 is: a's subtree flushes, counters and lruvec.
        host.Jiffies = 1000;
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(0));
        host.Jiffies = 1001;
        Assert.That(lvA.ShadowNodesPageState(), Is.EqualTo(10));
        Assert.That((a.FlushedPgPgIn, mc.PendingStatsUpdates(a)), Is.EqualTo((96L, 0L)));
    }
}
