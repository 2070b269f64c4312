namespace EcsMem.Systems.Vmscan;

/// <summary>
/// The node-level drivers of the multi-gen LRU (mm/vmscan.c): lru_gen_shrink_node for global reclaim (direct and
/// kswapd; cgroup reclaim goes through shrink_lruvec's lru_gen_shrink_lruvec instead) and lru_gen_age_node, kswapd's
/// min_ttl_ms check. With memory cgroups, shrink_many's memcg LRU (generations of cgroups in randomly chosen bins,
/// rotated by shrink_one's verdict) is simplified to a pre-order walk of the hierarchy, deterministic like the rest of
/// EcsMem: groups at or below memory.min are skipped, groups below memory.low too unless nothing else could be
/// reclaimed, and then they count a memory.events low (shrink_one's MEMCG_LRU_TAIL retry).
/// </summary>
public static class LruGenReclaim
{
    /// <summary>
    /// lru_gen_shrink_node: set_initial_priority, then shrink_one of the node's lruvec (or of each cgroup's); kswapd's
    /// nr_reclaimed counts this call alone while it runs (should_abort_scan compares it with nr_to_reclaim) and the
    /// total afterwards. kswapd keeps its mm_walk for look-around; a direct reclaimer has one once it ages.
    /// </summary>
    public static void ShrinkNode(Lruvec root, ScanControl sc)
    {
        root.SetInitialPriority(sc);
        long reclaimed = sc.NrReclaimed;
        if (sc.Kswapd)
            sc.NrReclaimed = 0;
        long before = sc.NrReclaimed;
        if (sc.Memcg is not { } mc)
        {
            root.LruGenShrink(sc, sc.Kswapd, before);
        }
        else
        {
            mc.CalculateProtection(mc.Root);
            bool lowSkipped = false;
            for (int pass = 0; pass < 2; pass++)
            {
                foreach (Memcontrol.MemCgroup g in mc.Root.Subtree())
                {
                    var lv = (Lruvec)g.Lruvec;
                    if (Memcontrol.MemcgController.BelowMin(mc.Root, g))
                        continue;
                    if (Memcontrol.MemcgController.BelowLow(mc.Root, g))
                    {
                        if (pass == 0)
                        {
                            lowSkipped = true;
                            continue;
                        }
                        Memcontrol.MemcgController.MemoryEvent(g, Memcontrol.MemcgEvent.Low);
                    }
                    else if (pass == 1)
                    {
                        continue;
                    }
                    lv.LruGenShrink(sc, sc.Kswapd, before);
                    if (lv.ShouldAbortScan(sc, sc.NrReclaimed - before))
                        break;
                }
                if (sc.NrReclaimed > before || !lowSkipped)
                    break;
            }
        }
        if (sc.Kswapd)
            sc.NrReclaimed += reclaimed;
    }

    /// <summary>
    /// lru_gen_age_node (kswapd_age_node with MGLRU): set_initial_priority, then with min_ttl_ms set, unless some
    /// lruvec not below memory.min is sizable and its oldest generation older than min_ttl, out_of_memory.
    /// </summary>
    public static void AgeNode(Lruvec root, ScanControl sc)
    {
        root.SetInitialPriority(sc);
        ulong minTtl = root.MinTtlJiffies;
        bool reclaimable = minTtl == 0;
        if (sc.Memcg is { } mc)
        {
            mc.CalculateProtection(mc.Root);
            foreach (Memcontrol.MemCgroup g in mc.Root.Subtree())
                if (!reclaimable && !Memcontrol.MemcgController.BelowMin(mc.Root, g))
                    reclaimable = ((Lruvec)g.Lruvec).LruvecIsReclaimable(sc);
        }
        else if (!reclaimable)
        {
            reclaimable = root.LruvecIsReclaimable(sc);
        }
        if (!reclaimable)
            root.GenHost?.OutOfMemory();
    }
}
