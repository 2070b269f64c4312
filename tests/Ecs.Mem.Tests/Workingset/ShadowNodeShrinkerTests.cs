using EcsMem.Systems.Filemap;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Workingset;
using EcsMem.Tests.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Workingset;

/// <summary>
/// The workingset shadow-node shrinker (mm/workingset.c count_shadow_nodes, shadow_lru_isolate; mm/shrinker.c
/// do_shrink_slab). The plan's figures are worked out by hand from do_shrink_slab's formulas for a shrinker with seeks 0
/// (delta = freeable / 2; total_scan = (nr_deferred &gt;&gt; priority) + delta, at most 2 × freeable; batches of 128 while a
/// batch or all of freeable is left; deferred = nr + delta - scanned, at most 2 × freeable), and the first four cases
/// are calls of the kernel's own, recorded by vmscan:mm_shrink_slab_start/_end in ra-reread-memcg's first pass
/// (`flock /work/kernel.lock oracle/experiments/shadow-nodes/run.sh 3 ra-reread-memcg`, results/*.shrink.txt).
/// </summary>
public class ShadowNodeShrinkerTests
{
    [TestCase(8, 16, 2, new long[] { 8 }, 12, TestName = "Kernel: priority 2, freeable 8, nr 16 scans 8 and defers 12")]
    [TestCase(15, 30, 1, new long[] { 22 }, 15, TestName = "Kernel: priority 1, freeable 15, nr 30 scans 22 and defers 15")]
    [TestCase(1, 3, 0, new long[] { 2 }, 1, TestName = "Kernel: priority 0, freeable 1, nr 3 scans 2 (capped at 2 x freeable) and defers 1")]
    [TestCase(114, 228, 2, new long[] { 114 }, 171, TestName = "Kernel: priority 2, freeable 114, nr 228 scans 114 and defers 171")]
    [TestCase(100, 0, 12, new long[0], 50, TestName = "Half of freeable below a batch and below freeable: nothing scanned, 50 deferred")]
    [TestCase(100, 200, 3, new long[0], 200, TestName = "Priority 3: 200 >> 3 + 50 = 75 < 100, nothing scanned, the deferred count capped at 200")]
    [TestCase(300, 0, 12, new long[] { 128 }, 22, TestName = "Freeable 300: delta 150 scans one batch of 128, 22 left over deferred")]
    [TestCase(600, 1200, 0, new long[] { 128, 128, 128, 128, 128, 128, 128, 128, 128 }, 348, TestName = "Priority 0: total_scan capped at 1200, nine batches; the last 48 are below a batch and below freeable")]
    public void DoShrinkSlabPlanFollowsTheFormula(long freeable, long nr, int priority, long[] batches, long deferred)
    {
        var got = new List<long>();
        long left = ShadowNodeShrinker.DoShrinkSlabPlan(freeable, nr, priority, got);
        Assert.That(got, Is.EqualTo(batches));
        Assert.That(left, Is.EqualTo(deferred));
    }

    [Test]
    public void CountShadowNodesAllowsANodeForEveryEightPages()
    {
        // max_nodes = pages >> (XA_CHUNK_SHIFT - 3) = pages / 8.
        Assert.That(ShadowNodeShrinker.CountShadowNodes(0, 1000), Is.EqualTo(ShadowNodeShrinker.ShrinkEmpty));
        Assert.That(ShadowNodeShrinker.MaxNodes(214), Is.EqualTo(26));
        Assert.That(ShadowNodeShrinker.CountShadowNodes(26, 214), Is.Zero, "at the limit: nothing to free");
        Assert.That(ShadowNodeShrinker.CountShadowNodes(141, 214), Is.EqualTo(115));
        Assert.That(ShadowNodeShrinker.CountShadowNodes(141, 4000), Is.Zero, "a flushed 4,000-page LRU allows 500 nodes");
    }

    [Test]
    public void ALeafJoinsTheListOnlyWhenAllItsEntriesAreShadows()
    {
        var pc = new PageCache { Nodes = new CountingNodes() };
        // Slots 0–127 of file 3: two leaves and a root above them.
        for (int i = 0; i < 128; i++)
            pc.Add(3, i, 1000 + i);
        Assert.That(pc.XaNodeCount, Is.EqualTo(3));
        for (int i = 64; i < 127; i++)
            pc.Delete(3, i, shadow: i);
        Assert.That(pc.ShadowNodes(1), Is.Zero, "one page is left in the second leaf");
        pc.Delete(3, 127, shadow: 127);
        Assert.That(pc.ShadowNodes(1), Is.EqualTo(1), "64 shadows, no page: on the list");
        Assert.That(pc.Add(3, 100, 2000), Is.EqualTo(100), "a refault finds its shadow");
        Assert.That(pc.ShadowNodes(1), Is.Zero, "a page came back: off the list");
        pc.Delete(3, 100, shadow: 100);
        Assert.That(pc.ShadowNodes(1), Is.EqualTo(1));
        // Half the first leaf evicted, half truncated (no shadow): only shadows remain, so it joins too.
        for (int i = 0; i < 32; i++)
            pc.Delete(3, i, shadow: i);
        Assert.That(pc.ShadowNodes(1), Is.EqualTo(1));
        for (int i = 32; i < 64; i++)
            pc.Delete(3, i);
        Assert.That(pc.ShadowNodes(1), Is.EqualTo(2));
        Assert.That(pc.ShadowNodeCount, Is.EqualTo(2));
    }

    [Test]
    public void TheShrinkerFreesTheOldestShadowOnlyLeafAndItsShadows()
    {
        var nodes = new CountingNodes();
        var pc = new PageCache { Nodes = nodes };
        for (int i = 0; i < 192; i++)
            pc.Add(5, i, 1000 + i);
        // Leaf 2 (slots 128–191) goes shadow-only first, then leaf 0; leaf 1 keeps its pages.
        for (int i = 128; i < 192; i++)
            pc.Delete(5, i, shadow: 7);
        for (int i = 0; i < 64; i++)
            pc.Delete(5, i, shadow: 7);
        Assert.That(pc.ShadowNodes(1), Is.EqualTo(2));
        Assert.That(pc.XaNodeCount, Is.EqualTo(4));
        var isolated = new List<long>();
        pc.ListLruShrinkWalk(1, 1, isolated);
        Assert.That(isolated, Has.Count.EqualTo(1));
        Assert.That(pc.ShadowNodes(1), Is.EqualTo(1), "list_lru_isolate took it off the list");
        Assert.That(pc.XaDeleteNode(isolated[0]), Is.EqualTo(1), "the group it was charged to");
        Assert.That(pc.XaNodeCount, Is.EqualTo(3));
        Assert.That(nodes.Live, Is.EqualTo(3), "its charge went back");
        Assert.That(pc.Shadows, Is.EqualTo(64), "its 64 shadows went with it, leaf 0's stay");
        Assert.That(pc.Add(5, 150, 3000), Is.EqualTo(PageCache.NoShadow), "a refault of a freed shadow is a first fault");
        Assert.That(pc.Add(5, 10, 3001), Is.EqualTo(7), "leaf 0 still has its shadows");
        Assert.That(pc.ShadowNodes(1), Is.Zero);
    }

    [Test]
    public void ANodeHoldingAPageCannotBeDeleted()
    {
        var pc = new PageCache { Nodes = new CountingNodes() };
        for (int i = 0; i < 64; i++)
            pc.Add(9, i, 100 + i);
        pc.Delete(9, 3, shadow: 1);
        long leaf = 9L << 40;
        Assert.Throws<InvalidOperationException>(() => pc.XaDeleteNode(leaf));
    }

    [Test]
    public void AGroupStreamingAFileFreesShadowNodesAndTheirCharge()
    {
        // ra-reread-memcg's first pass in small: a 16 MiB file (4,096 pages: 64 leaves and a root) read once under a
        // 4 MiB limit leaves ~48 leaves holding only shadows, beyond count_shadow_nodes' limit (the group's pages as last
        // flushed, / 8: none flushed yet here); the
        // group's reclaim reaches a low priority now and then and the shrinker frees some. Whatever it freed: every
        // node freed is counted once in vmstat and once in the group's memory.stat, and the group's reclaimable slab
        // is the live nodes' 592 bytes each (radix_tree_node's 584-byte slot + its obj_cgroup pointer).
        string yaml = "machine: {ram: 64M, swap: 0, read_ahead_kb: 128, large_folios: false}\ncgroups:\n  - {name: a, memory.max: 4M}\n" +
            "processes:\n  - name: r\n    cgroup: a\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=4096,base=" + MemcgTests.Base + ",pages=4096\"}\n" +
            "timeline:\n  - at: 0\n    process: r\n    mmap: {addr: " + MemcgTests.Base + ", length: 16777216, prot: r--, flags: private, file: /data/f, fixed: true}\n";
        using SimMachine m = MemcgTests.Build(yaml);
        m.Run();
        MemCgroup a = m.Kernel.Memcg!.Find("a");
        long freed = m.Kernel.Env.Counters.Get("workingset_nodereclaim");
        Assert.That(freed, Is.GreaterThan(0), "the shrinker ran out of room below its limit");
        Assert.That(a.WorkingsetNodeReclaim, Is.EqualTo(freed));
        Assert.That(a.SlabReclaimable, Is.EqualTo(m.Kernel.PageCache.XaNodeCount * 592L));
        Assert.That(m.Kernel.PageCache.XaNodeCount, Is.LessThan(65), "the 64 leaves and the root, less the freed");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    private sealed class CountingNodes : IXaNodeAccount
    {
        public int Live;

        public int NodeAlloc(int pfn)
        {
            Live++;
            return 1;
        }

        public void NodeFree(int group) => Live--;

        public int BufferAlloc(int pfn) => throw new InvalidOperationException("no page here is written through write_begin");

        public void BufferFree(int group) => throw new InvalidOperationException("no page here has buffers");
    }
}
