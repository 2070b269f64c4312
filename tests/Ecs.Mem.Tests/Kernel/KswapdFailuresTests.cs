using System.Text;
using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.Reporting;
using EcsMem.Tests.Memcontrol;
using NUnit.Framework;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// pgdat-&gt;kswapd_failures (mm/vmscan.c): balance_pgdat runs that reclaimed nothing are counted; at
/// MAX_RECLAIM_RETRIES (16) the node is hopeless, kswapd sleeps and wakeup_kswapd leaves it to direct reclaim, until
/// a shrink_node that reclaims something resets the count.
/// </summary>
public class KswapdFailuresTests
{
    [Test]
    public void KswapdGivesUpAfterSixteenFruitlessRunsAndIsNotWokenAgain()
    {
        // 8 MiB (watermarks min 90, low 112, high 134 pages), no swap, the Linux lruvec: w writes 1,932 anonymous pages
        // and keeps rewriting them, which leaves 107 pages free: below low, above min. Its pages are all reclaim could
        // take, and without swap get_scan_count scans only the (empty) file lists. kswapd is woken once; each of its
        // runs goes through every priority without reclaiming a page, so after the 16th it sleeps on a hopeless node,
        // and the later allocations below low (late's 8 pages) do not wake it. Before
        // kswapd_failures, every fruitless run put kswapd to sleep and the next allocation below low woke it again
        // (3 runs, 3 wake-ups here).
        // Without the watermark boost (a page-table claim would boost and wake kswapd again): the rules worked here are
        // kswapd_failures' alone.
        // Linux 6.6's per-CPU lists (pcp_high_tuning: false): the 107 free pages are worked out with lists that hold
        // nothing after an allocation; 6.7+'s would keep up to high_max = 256 pages off the buddy allocator.
        string yaml = "machine: {ram: 8M, swap: 0, policy: linux, overcommit_memory: 1, watermark_boost_factor: 0, pcp_high_tuning: false}\nprocesses:\n" +
            "  - name: w\n    layout: {exec: {}}\n    workload: {generator: \"loop:count=400000,base=" + MemcgTests.Base + ",pages=1932,writes=1\"}\n" +
            "  - name: late\n    start: 50000000\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=8,base=" + MemcgTests.Base + ",pages=8,writes=1\"}\n" +
            "timeline:\n  - at: 0\n    process: w\n    mmap: {addr: " + MemcgTests.Base + ", length: 7913472, prot: rw-, flags: private, fixed: true}\n" +
            "  - at: 50000000\n    process: late\n    mmap: {addr: " + MemcgTests.Base + ", length: 32768, prot: rw-, flags: private, fixed: true}\n";
        using var m = MemcgTests.Build(yaml);
        Assert.That((m.Kernel.Zone.Watermarks.Min, m.Kernel.Zone.Watermarks.Low), Is.EqualTo((90L, 112L)));
        // 100,000 accesses in (before late starts): w's pages are in, and kswapd has already given up.
        MemcgTests.Advance(m, 100000);
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.InRange(91, 111), "below low, above min");
        Assert.That(m.Kernel.Lruvec!.KswapdFailures, Is.EqualTo(16));
        Assert.That(m.Env.Counters.Get("ecsmem_kswapd_wakeups"), Is.EqualTo(1));
        m.Run();
        Assert.That(m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[1]).MinFlt, Is.EqualTo(8), "late allocated below low");
        Assert.That(m.Kernel.Oom.Log, Is.Empty);
        Assert.That(m.Env.Counters.Get("allocstall_normal"), Is.Zero, "never at min: no direct reclaim");
        Assert.That(m.Env.Counters.Get("pageoutrun"), Is.EqualTo(16), "16 balance_pgdat runs, all fruitless");
        Assert.That(m.Env.Counters.Get("ecsmem_kswapd_wakeups"), Is.EqualTo(1), "woken once: the node was hopeless after");
        Assert.That(m.Env.Counters.Get("pgsteal_kswapd"), Is.Zero);
        Assert.That(m.Kernel.Lruvec!.KswapdFailures, Is.EqualTo(16));
        Assert.That(m.SwapOut.KswapdHopeless, Is.True);
        // /proc/zoneinfo's node_unreclaimable: kswapd_failures >= MAX_RECLAIM_RETRIES.
        ZoneInfoSnapshot z = ZoneInfo.Build(m.Kernel, MemoryGauges.Read(m.Kernel));
        Assert.That(z.NodeUnreclaimable, Is.True);
        var sb = new StringBuilder();
        ZoneInfo.AppendTo(sb, z);
        Assert.That(sb.ToString(), Does.Contain("\n  node_unreclaimable:  1\n  start_pfn:"));
    }

    [Test]
    public void AShrinkNodeThatReclaimsResetsTheNodesFailures()
    {
        // A node lruvec and a child cgroup's lruvec under it, on a scripted host (every page reclaimable, no swap).
        var host = new LruvecTests.FakeHost(64) { SwapSpaceLeft = false, HasSwap = false };
        var counters = new CounterRegistry();
        var c = new KernelCounters(counters);
        var node = new Lruvec(host, counters, c, 1);
        node.Initialize(64);
        var child = new Lruvec(host, counters, c, 1);
        child.Initialize(64);
        child.AttachTo(node);
        Assert.That(child.NodeLruvec, Is.SameAs(node));
        node.KswapdFailures = 16;
        var sc = new ScanControl();

        // Nothing on the lists: do_try_to_free_pages reclaims nothing and the count stays.
        sc.Reset(kswapd: false, 32, 60);
        Assert.That(NodeReclaim.DoTryToFreePages(child, sc), Is.Zero);
        Assert.That(node.KswapdFailures, Is.EqualTo(16));

        // 40 clean file pages in the child's lruvec: a cgroup reclaim of it reclaims, and the node's count is reset
        // (shrink_node's "a successful direct reclaim run will revive a dormant kswapd").
        for (int pfn = 0; pfn < 40; pfn++)
        {
            host.Frames[pfn].Flags |= FrameFlags.Lru;
            host.Result[pfn] = FolioReclaimResult.Reclaimed;
            child.OnInserted(pfn, (ulong)pfn);
        }
        child.LruAddDrain();
        sc.Reset(kswapd: false, 32, 60);
        sc.CgroupReclaim = true;
        Assert.That(NodeReclaim.DoTryToFreePages(child, sc), Is.GreaterThan(0));
        Assert.That(node.KswapdFailures, Is.Zero);
    }
}
