using EcsMem.Simulation;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Vmscan;

namespace EcsMem.Systems.Workingset;

/// <summary>
/// The workingset shadow-node shrinker (mm/workingset.c's "mm-shadow", SHRINKER_MEMCG_AWARE, seeks 0) as
/// do_shrink_slab (mm/shrinker.c) calls it from shrink_node_memcgs' shrink_slab for each group reclaim visits: the
/// leaf xarray nodes that hold only shadow entries beyond count_shadow_nodes' limit (an eighth of a node a page of the
/// group's own LRU and slab, as last flushed) are freed from the head of the group's list, their shadows with them
/// (the later refaults of those pages find no shadow), WORKINGSET_NODERECLAIM counted and the node's radix_tree_node
/// uncharged. Exists only on a machine with memory cgroups, the only one whose xarray nodes EcsMem keeps.
/// Measured on 6.18 (oracle/experiments/shadow-nodes): in ra-reread-memcg's first pass the group's reclaim calls it
/// at every priority and it frees nodes only at priority 0–2, 41–154 of them a run.
/// </summary>
public sealed class ShadowNodeShrinker
{

    /// <summary>SHRINK_BATCH: the objects one scan_objects call is asked to scan (the shrinker sets no batch of its own).</summary>
    public const int ShrinkBatch = 128;

    /// <summary>count_objects' SHRINK_EMPTY: the list is empty (do_shrink_slab returns at once).</summary>
    public const long ShrinkEmpty = -1;

    private readonly Kernel.Kernel _k;
    private readonly CounterRegistry _counters;
    private readonly CounterId _nodeReclaim;
    private readonly List<long> _isolated = new();
    private long[] _nrDeferred = new long[1];

    public ShadowNodeShrinker(Kernel.Kernel kernel, CounterRegistry counters)
    {
        _k = kernel;
        _counters = counters;
        _nodeReclaim = counters.Register("workingset_nodereclaim");
    }

    /// <summary>
    /// count_shadow_nodes' limit: max_nodes = pages &gt;&gt; (XA_CHUNK_SHIFT - 3), a node for every 8 pages (the worst
    /// density of useful shadows it allows, 1/8 of a node's 64 slots).
    /// </summary>
    public static long MaxNodes(long pages) => pages >> (Filemap.PageCache.XaChunkShift - 3);

    /// <summary>
    /// count_shadow_nodes: SHRINK_EMPTY for no shadow-only node, else the nodes beyond <see cref="MaxNodes"/> of
    /// <paramref name="pages"/> (0 when within it).
    /// </summary>
    public static long CountShadowNodes(long nodes, long pages)
    {
        if (nodes == 0)
            return ShrinkEmpty;
        long max = MaxNodes(pages);
        return nodes <= max ? 0 : nodes - max;
    }

    /// <summary>
    /// do_shrink_slab's arithmetic for a shrinker with seeks 0: delta = freeable / 2 ("objects that don't require any IO
    /// to create": trimmed aggressively); total_scan = (nr_deferred &gt;&gt; priority) + delta, at most 2 × freeable;
    /// scan_objects in batches of <see cref="ShrinkBatch"/> while at least a batch or all of freeable is left. Returns
    /// the batch sizes through <paramref name="batches"/> (cleared first) and the deferred count left for next time:
    /// max(nr + delta - scanned, 0), at most 2 × freeable.
    /// </summary>
    public static long DoShrinkSlabPlan(long freeable, long nrDeferred, int priority, List<long> batches)
    {
        batches.Clear();
        long delta = freeable / 2;
        long totalScan = Math.Min((nrDeferred >> priority) + delta, 2 * freeable);
        long scanned = 0;
        while (totalScan >= ShrinkBatch || totalScan >= freeable)
        {
            long nrToScan = Math.Min(ShrinkBatch, totalScan);
            batches.Add(nrToScan);
            totalScan -= nrToScan;
            scanned += nrToScan;
        }
        return Math.Min(Math.Max(nrDeferred + delta - scanned, 0), 2 * freeable);
    }

    private readonly List<long> _batches = new();

    /// <summary>
    /// shrink_slab's call of this shrinker for <paramref name="memcg"/> (null: the machine's root) at
    /// <paramref name="priority"/> (do_shrink_slab): count, the scan plan, scan_shadow_nodes for each batch, the work not
    /// done deferred to the group's next call. Returns the nodes freed.
    /// </summary>
    public long ShrinkSlab(int priority, MemCgroup? memcg)
    {
        MemcgController? mc = _k.Memcg;
        if (mc is null)
            return 0;
        memcg ??= mc.Root;
        int group = memcg.IsRoot ? 0 : memcg.Id;
        long nodes = _k.PageCache.ShadowNodes(group);
        if (nodes == 0 || memcg.Lruvec is not Lruvec lruvec)
            return 0; // SHRINK_EMPTY
        long freeable = CountShadowNodes(nodes, lruvec.ShadowNodesPageState());
        if (freeable == 0)
            return 0;
        if (_nrDeferred.Length <= group)
            Array.Resize(ref _nrDeferred, mc.Groups.Count + 1);
        long nr = _nrDeferred[group];
        _nrDeferred[group] = DoShrinkSlabPlan(freeable, nr, priority, _batches);
        long freed = 0;
        foreach (long nrToScan in _batches)
            freed += ScanShadowNodes(group, nrToScan);
        return freed;
    }

    /// <summary>scan_shadow_nodes: list_lru_shrink_walk of up to <paramref name="nrToScan"/> nodes from the list's head, each through <see cref="ShadowLruIsolate"/>.</summary>
    private long ScanShadowNodes(int group, long nrToScan)
    {
        _k.PageCache.ListLruShrinkWalk(group, nrToScan, _isolated);
        foreach (long key in _isolated)
            ShadowLruIsolate(key);
        return _isolated.Count;
    }

    /// <summary>
    /// shadow_lru_isolate: the node, off the list already, has only shadow entries: xa_delete_node frees it (its
    /// charge goes back: radix_tree_node_rcu_free, at once here) and WORKINGSET_NODERECLAIM counts it for the node's
    /// group (__inc_lruvec_kmem_state) and the machine.
    /// </summary>
    private void ShadowLruIsolate(long leafKey)
    {
        int group = _k.PageCache.XaDeleteNode(leafKey);
        _counters.Increment(_nodeReclaim);
        if (group >= 0 && _k.Memcg is { } mc)
            mc.Groups[group].WorkingsetNodeReclaim++;
    }
}
