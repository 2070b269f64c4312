using EcsMem.Scenarios;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Policies;

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
        Assert.That(mc.FlushStats(mc.Root, force: true), Is.True);
        Assert.That((mc.PendingStatsUpdates(a), mc.PendingStatsUpdates(mc.Root)), Is.EqualTo((0L, 0L)));
        Assert.That(mc.FlushStats(a, force: false), Is.False, "nothing pending");
    }
}
