using EcsMem.Components;
using EcsMem.Systems.Memcontrol;

namespace EcsMem.Systems.Vmscan;

/// <summary>
/// The memory cgroup statistics reclaim's heuristics read (mm/memcontrol.c's rstat counters behind
/// lruvec_page_state): a memcg's NR_{IN,}ACTIVE_{ANON,FILE} and WORKINGSET_ACTIVATE_{ANON,FILE} are per-CPU deltas
/// folded into the group's totals only when the stats are flushed (css_rstat_flush). The flush belongs to the memory
/// controller (Memcontrol/MemcgController.Rstat.cs: one clock, one set of pending counts); this lruvec's flushed
/// values are one of its outputs (<see cref="FlushStats"/>). Reclaim flushes "in a rate-limited way"
/// (mem_cgroup_flush_stats_ratelimited: only when the 2 s periodic flusher, flush_memcg_stats_dwork, is a cycle late),
/// so prepare_scan_control's may_deactivate (refaults since the snapshot, inactive_is_low), cache_trim_mode,
/// snapshot_refaults, shrink_lruvec's anon aging check and workingset_test_recent's workingset size all see the values
/// of the last flush: the periodic one, or a memory.stat read's (mem_cgroup_flush_stats). Measured on Linux 6.18
/// (oracle/experiments/file-activation): in a 200 ms pass of swappiness-60 no flush happens, the refaults the pass
/// activates are invisible, shrink_active_list never runs on the file list and the activated pages pile up on it
/// (3,200 of 3,500 file pages active); with memory.stat read every millisecond the same pass deactivates 1,100 file
/// pages and ends with 900 active. The node's (root's) lruvec and a machine without cgroups read the lists exactly
/// (simplification: Linux's root memcg reads flushed values too).
/// </summary>
public sealed partial class Lruvec
{
    private readonly long[] _flushedLru = new long[5];
    private readonly long[] _flushedActivations = new long[2];
    private long _flushedShadowLimitPages;

    /// <summary>
    /// This lruvec belongs to a (non-root) memory cgroup: the reclaim heuristics read its statistics as of the last
    /// flush (<see cref="FlushStats"/>), not the lists themselves.
    /// </summary>
    public bool DeferredStats { get; set; }

    /// <summary>
    /// The memory controller that owns the statistics flush of <see cref="Memcg"/> (null for a lruvec alone: then only
    /// a direct <see cref="FlushStats"/> flushes it).
    /// </summary>
    public MemcgController? StatsFlusher { get; set; }

    /// <summary>
    /// mem_cgroup_css_rstat_flush's share for this lruvec, called by the controller's css_rstat_flush for each group of
    /// the flushed subtree: its hierarchical list sizes, workingset activations and shadow-node pages become what
    /// lruvec_page_state reads.
    /// </summary>
    public void FlushStats()
    {
        for (int l = 0; l < _flushedLru.Length; l++)
            _flushedLru[l] = SubtreeSize((LruList)l);
        _flushedActivations[0] = WorkingsetActivations[0];
        _flushedActivations[1] = WorkingsetActivations[1];
        _flushedShadowLimitPages = LocalPagesForShadowNodes();
    }

    /// <summary>
    /// mem_cgroup_flush_stats_ratelimited before a read of the flushed values (the controller applies the periodic
    /// flush if one is due). The kernel passes the reclaim target (prepare_scan_control), the eviction memcg
    /// (workingset_test_recent) or sc-&gt;memcg (count_shadow_nodes); this passes the lruvec's own group, whose subtree
    /// holds what the caller reads.
    /// </summary>
    private void FlushStatsRatelimited()
    {
        if (StatsFlusher is { } mc && Memcg is { } g)
            mc.FlushStatsRatelimited(g, _host.Jiffies);
    }

    /// <summary>lruvec_page_state(NR_LRU_BASE + lru): the flushed hierarchical size for a cgroup's lruvec, else the list.</summary>
    private long LruPageState(LruList lru)
    {
        if (!DeferredStats)
            return SubtreeSize(lru);
        FlushStatsRatelimited();
        return _flushedLru[(int)lru];
    }

    /// <summary>
    /// workingset_test_recent's lruvec_page_state of the eviction lruvec: a cgroup's hierarchical size as of the last
    /// flush; without cgroups (and on the root's lruvec) the list itself, as before.
    /// </summary>
    private long WorkingsetPageState(LruList lru) => DeferredStats ? LruPageState(lru) : Size(lru);

    /// <summary>lruvec_page_state(WORKINGSET_ACTIVATE_ANON/_FILE): flushed for a cgroup's lruvec.</summary>
    private long WorkingsetActivatePageState(int type)
    {
        if (!DeferredStats)
            return WorkingsetActivations[type];
        FlushStatsRatelimited();
        return _flushedActivations[type];
    }

    /// <summary>
    /// count_shadow_nodes' pages for a cgroup's lruvec: its own (lruvec_page_state_local) pages on the five LRU lists
    /// and its own slab_reclaimable and slab_unreclaimable bytes in whole pages, as of the last flush
    /// (count_shadow_nodes calls mem_cgroup_flush_stats_ratelimited first). The root's lruvec (and a lruvec of no
    /// group) reads them exactly (<see cref="DeferredStats"/>).
    /// </summary>
    public long ShadowNodesPageState()
    {
        if (!DeferredStats)
            return LocalPagesForShadowNodes();
        FlushStatsRatelimited();
        return _flushedShadowLimitPages;
    }

    private long LocalPagesForShadowNodes()
    {
        long pages = 0;
        for (int l = 0; l < _flushedLru.Length; l++)
            pages += Size((LruList)l);
        if (Memcg is { } g)
        {
            long reclaimable = g.SlabReclaimable, unreclaimable = g.SlabUnreclaimable;
            foreach (Memcontrol.MemCgroup c in g.Children)
            {
                reclaimable -= c.SlabReclaimable;
                unreclaimable -= c.SlabUnreclaimable;
            }
            pages += (reclaimable >> Pte.PageShift) + (unreclaimable >> Pte.PageShift);
        }
        return pages;
    }
}
