namespace EcsMem.Systems.Vmscan;

/// <summary>
/// The node-level drivers of Linux 6.x reclaim (mm/vmscan.c) over an <see cref="Lruvec"/>: shrink_node
/// (prepare_scan_control, then the lruvec), direct reclaim's do_try_to_free_pages (priority DEF_PRIORITY down to
/// 0 until SWAP_CLUSTER_MAX pages are reclaimed, retried once with force_deactivate when it skipped deactivation),
/// and one round of kswapd's balance_pgdat loop (kswapd_age_node, kswapd_shrink_node with a target of the high
/// watermark, the priority raised when the round scanned less than its target or reclaimed nothing).
/// Shrinkers (slab) and compaction are not modelled. Without memory cgroups the memcg walk of shrink_node_memcgs is
/// the one lruvec; with them (<see cref="ScanControl.Memcg"/>) it is the target's subtree, one lruvec per cgroup.
/// </summary>
public static class NodeReclaim
{
    /// <summary>
    /// shrink_node: prepare_scan_control on the target's lruvec (<paramref name="lruvec"/>: the node's, or the target
    /// cgroup's, whose statistics are hierarchical), then shrink_node_memcgs (the one lruvec without cgroups); when the
    /// call reclaimed something, the node's kswapd_failures is reset (lru_gen_shrink_node does the same).
    /// </summary>
    public static void ShrinkNode(Lruvec lruvec, ScanControl sc)
    {
        // memset(&sc->nr, 0, ...): the writeback findings are per shrink_node call.
        sc.NrWriteback = 0;
        sc.NrImmediate = 0;
        sc.NrTaken = 0;
        sc.NrUnqueuedDirty = 0;
        sc.NrFileTaken = 0;
        long nrReclaimed = sc.NrReclaimed;
        if (lruvec.LruGenEnabled && !sc.CgroupReclaim)
            LruGenReclaim.ShrinkNode(lruvec, sc);
        else
        {
            lruvec.PrepareScanControl(sc);
            if (sc.Memcg is null || sc.Target is null)
            {
                lruvec.ShrinkLruvec(sc);
                sc.ShrinkSlab?.Invoke(sc.Priority, null);
            }
            else
                ShrinkNodeMemcgs(sc.Memcg, sc.Target, sc);
        }
        // Progress on the node, by kswapd, direct or cgroup reclaim, revives a kswapd that had given up on it.
        if (sc.NrReclaimed > nrReclaimed)
            lruvec.NodeLruvec.KswapdFailures = 0;
    }

    /// <summary>
    /// shrink_node_memcgs: mem_cgroup_iter over <paramref name="target"/>'s subtree (pre-order) after
    /// mem_cgroup_calculate_protection; a group at or below its effective memory.min is skipped, one below memory.low
    /// too unless memcg_low_reclaim (then it counts a memory.events low), else shrink_lruvec of its lruvec: each scans
    /// its own lists &gt;&gt; priority (get_scan_count), which makes the scan proportional to the lruvec's size, and a group
    /// above its protection scans its lists scaled down by the protected share of its usage (apply_proportional_protection).
    /// </summary>
    private static void ShrinkNodeMemcgs(Memcontrol.MemcgController mc, Memcontrol.MemCgroup target, ScanControl sc)
    {
        mc.CalculateProtection(target);
        foreach (Memcontrol.MemCgroup g in target.Subtree())
        {
            if (Memcontrol.MemcgController.BelowMin(target, g))
                continue;
            if (Memcontrol.MemcgController.BelowLow(target, g))
            {
                if (!sc.MemcgLowReclaim)
                {
                    sc.MemcgLowSkipped = true;
                    continue;
                }
                Memcontrol.MemcgController.MemoryEvent(g, Memcontrol.MemcgEvent.Low);
            }
            ((Lruvec)g.Lruvec).ShrinkLruvec(sc);
            sc.ShrinkSlab?.Invoke(sc.Priority, g);
        }
    }

    /// <summary>lru_add_drain_all: every CPU's batch, of every lruvec of the target's subtree with cgroups.</summary>
    public static void LruAddDrainAll(Lruvec lruvec, ScanControl sc)
    {
        if (sc.Memcg is null || sc.Target is null)
        {
            lruvec.LruAddDrainAll();
            return;
        }
        foreach (Memcontrol.MemCgroup g in sc.Target.Subtree())
            ((Lruvec)g.Lruvec).LruAddDrainAll();
    }

    /// <summary>The pages on the evictable lists of <paramref name="lruvec"/> and its descendants'.</summary>
    public static long EvictablePages(Lruvec lruvec, ScanControl sc) =>
        lruvec.SubtreeSize(LruList.InactiveAnon) + lruvec.SubtreeSize(LruList.ActiveAnon)
        + lruvec.SubtreeSize(LruList.InactiveFile) + lruvec.SubtreeSize(LruList.ActiveFile);

    /// <summary>
    /// do_try_to_free_pages: shrink_node at falling priority until sc.NrToReclaim pages are reclaimed or priority 0
    /// has been tried; when nothing was reclaimed and some active list was skipped, once more from DEF_PRIORITY with
    /// force_deactivate. snapshot_refaults at the end. Returns the pages reclaimed.
    /// </summary>
    public static long DoTryToFreePages(Lruvec lruvec, ScanControl sc)
    {
        while (true)
        {
            do
            {
                ShrinkNode(lruvec, sc);
                if (sc.NrReclaimed >= sc.NrToReclaim)
                    break;
            }
            while (--sc.Priority >= 0);
            if (sc.NrReclaimed == 0 && sc.SkippedDeactivate && !sc.ForceDeactivate)
            {
                sc.Priority = ScanControl.DefPriority;
                sc.ForceDeactivate = true;
                sc.SkippedDeactivate = false;
                continue;
            }
            // Untapped cgroup reserves: once more, reclaiming the groups below memory.low as well.
            if (sc.NrReclaimed == 0 && sc.MemcgLowSkipped)
            {
                sc.Priority = ScanControl.DefPriority;
                sc.ForceDeactivate = false;
                sc.MemcgLowReclaim = true;
                sc.MemcgLowSkipped = false;
                continue;
            }
            break;
        }
        lruvec.SnapshotRefaults();
        return sc.NrReclaimed;
    }

    /// <summary>
    /// kswapd_age_node: with swap configured and inactive anon low on the node, deactivate a batch of active anon
    /// first, on every cgroup's lruvec with cgroups.
    /// </summary>
    public static void KswapdAgeNode(Lruvec lruvec, ScanControl sc, bool hasSwap)
    {
        if (lruvec.LruGenEnabled)
        {
            LruGenReclaim.AgeNode(lruvec, sc);
            return;
        }
        if (!hasSwap || !lruvec.InactiveIsLow(LruList.InactiveAnon))
            return;
        if (sc.Memcg is null)
        {
            lruvec.ShrinkActiveList(Lruvec.SwapClusterMax, sc, LruList.ActiveAnon);
            return;
        }
        foreach (Memcontrol.MemCgroup g in sc.Memcg.Root.Subtree())
            ((Lruvec)g.Lruvec).ShrinkActiveList(Lruvec.SwapClusterMax, sc, LruList.ActiveAnon);
    }

    /// <summary>
    /// One iteration of balance_pgdat's priority loop: age, then kswapd_shrink_node (nr_to_reclaim = max(high
    /// watermark, SWAP_CLUSTER_MAX)); the priority drops unless the round scanned at least its target and reclaimed
    /// something. Returns the pages this round reclaimed; <see cref="ScanControl.Priority"/> is left for the next round.
    /// </summary>
    public static long KswapdRound(Lruvec lruvec, ScanControl sc, long highWatermark, bool hasSwap)
    {
        long before = sc.NrReclaimed;
        KswapdAgeNode(lruvec, sc, hasSwap);
        sc.NrScanned = 0;
        sc.NrToReclaim = Math.Max(highWatermark, Lruvec.SwapClusterMax);
        sc.PgdatWriteback = lruvec.PgdatWriteback;
        ShrinkNode(lruvec, sc);
        // shrink_node for kswapd: every page it took was under writeback, so the node is flagged PGDAT_WRITEBACK
        // (later PG_reclaim pages it meets count as nr_immediate and throttle it).
        if (sc.NrWriteback > 0 && sc.NrWriteback == sc.NrTaken)
            lruvec.PgdatWriteback = true;
        long round = sc.NrReclaimed - before;
        bool raisePriority = sc.NrScanned < sc.NrToReclaim;
        if (raisePriority || round == 0)
            sc.Priority--;
        return round;
    }
}
