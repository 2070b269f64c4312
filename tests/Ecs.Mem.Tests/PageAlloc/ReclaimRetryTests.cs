using EcsMem.Components;
using EcsMem.Systems.Memcontrol;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// The allocator's and memcg's reclaim retry loops (Linux 6.18 __alloc_pages_slowpath with should_reclaim_retry and
/// __alloc_pages_may_oom; try_charge_memcg's drain and nr_retries): counts worked out by hand from the rules, the memcg
/// one also recorded on the kernel (oracle/experiments/memcg-oom-retries). The machine-wide OOM is not triggered on the
/// recording machine (it would exhaust the host): PerCpuZoneTests.AFruitlessDirectReclaimDoesNotDrainBeforeTheOomKiller
/// counts its 17 reclaims by hand.
/// </summary>
public class ReclaimRetryTests
{
    private const ulong Base = 0x10000000;

    [Test]
    public void ABoostOutlivesAFruitlessDirectReclaimAndTheAllocationSucceedsOnceKswapdClearsIt()
    {
        // 4096 pages, no swap, the linux lruvec: min 128, low 160, high 192 (min_free_kbytes 512, delta max(32, 4)).
        // The process has touched 3600 pages when the zone is boosted by a pageblock: min 640 stands above the ~490
        // free pages, so the next fault stalls in direct reclaim, which finds nothing (no swap, no file page). Linux does
        // not OOM: should_reclaim_retry counts no progress but sees 490 free + zone_reclaimable_pages (none on the
        // lists, so the free pages again) = 980 > 640 and retries, while kswapd, woken by the stall, runs balance_pgdat:
        // the node is unbalanced, so the boosted reclaim is dropped (nr_boost_reclaim = 0), normal reclaim finds nothing
        // down to priority 1, and the run's end takes the boost off. Then the retry's attempt passes min 128.
        // Fallbacks boost nothing here (factor 0): a nearly full zone of 8 pageblocks falls back at every allocation,
        // and the one boost under test is set by hand.
        var o = Options(ramPages: 4096, swapPages: 0) with { Policy = "linux", WatermarkBoostFactor = 0 };
        using var m = new SimMachine(o);
        var touch = Enumerable.Range(0, 3700).Select(i => W(Base + ((ulong)i * Page))).ToArray();
        var p = Add(m, "p", Anon(Base, 3700), 0, touch);
        RunUntilAccesses(m, p, 3600);
        var zone = m.Kernel.Zone;
        long free = zone.Buddy.NrFreePages;
        Assert.That(free, Is.InRange(161, 640), "above the unboosted low mark, below the boosted min");
        Assert.That(Counter(m, "allocstall_normal"), Is.Zero);
        zone.Watermarks.Boost = 512;
        m.Run();
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(Counter(m, "oom_kill"), Is.Zero);
        Assert.That(zone.Watermarks.Boost, Is.Zero, "kswapd's run took it off");
        Assert.That(Counter(m, "pswpout") + Counter(m, "pgsteal_direct") + Counter(m, "pgsteal_kswapd"), Is.Zero);
        // The stall's tick: direct reclaim 1, kswapd woken for the next tick. kswapd's run goes from DEF_PRIORITY 12 down
        // to 1, a round per tick as each retry's direct reclaim is one per tick (EcsMem's pacing: a whole
        // do_try_to_free_pages against one balance_pgdat priority); the priority-1 round ends the run unbalanced, which
        // takes the run's boost off and starts a new run (pageoutrun 2). Retries 1..12 fail (no_progress_loops 12, still
        // within MAX_RECLAIM_RETRIES 16), each with its direct reclaim; the 13th attempt passes min 128.
        Assert.That(Counter(m, "allocstall_normal"), Is.EqualTo(13));
        Assert.That(Counter(m, "pageoutrun"), Is.EqualTo(2));
    }

    [Test]
    public void AMemcgChargeReclaimsEighteenTimesBeforeTheGroupOomKillerAsTheKernelDid()
    {
        // No swap: nothing in the 1 MiB group can be reclaimed. try_charge_memcg: reclaim 1 finds nothing and leaves no
        // margin, so the stock is drained and the charge retried (drained = true, nr_retries untouched); reclaims 2..17
        // each find nothing and count nr_retries down from 16 to 0 (each `nr_retries--` true); reclaim 18 finds it at 0:
        // mem_cgroup_oom. 18 reclaims, each after a failed charge (memory.events max). 6.18 made exactly 18 fruitless
        // memcg reclaims for the killed page's charge in each of 3 runs (oracle/experiments/memcg-oom-retries).
        string yaml = "machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: small, memory.max: 1M}\n" +
            "processes:\n  - name: s\n    cgroup: small\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=600,base=0x7f0000000000,pages=600,writes=1\"}\n" +
            "timeline:\n  - at: 0\n    process: s\n    mmap: {addr: 0x7f0000000000, length: 2457600, prot: rw-, flags: private, fixed: true}\n";
        using var m = Memcontrol.MemcgTests.Build(yaml);
        m.Run();
        MemCgroup small = m.Kernel.Memcg!.Find("small");
        Assert.That(m.Kernel.Oom.Log, Has.Count.EqualTo(1));
        Assert.That(small.Events[(int)MemcgEvent.OomKill], Is.EqualTo(1));
        Assert.That(small.Events[(int)MemcgEvent.Max], Is.EqualTo(18));
        Assert.That(m.Env.Counters.Get("pgsteal_direct") + small.PgStealDirect, Is.Zero);
    }
}
