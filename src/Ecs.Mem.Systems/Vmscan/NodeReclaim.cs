namespace EcsMem.Systems.Vmscan;

/// <summary>
/// The node-level drivers of Linux 6.x reclaim (mm/vmscan.c) over an <see cref="Lruvec"/>: shrink_node
/// (prepare_scan_control, then the lruvec), direct reclaim's do_try_to_free_pages (priority DEF_PRIORITY down to
/// 0 until SWAP_CLUSTER_MAX pages are reclaimed, retried once with force_deactivate when it skipped deactivation),
/// and one round of kswapd's balance_pgdat loop (kswapd_age_node, kswapd_shrink_node with a target of the high
/// watermark, the priority raised when the round scanned less than its target or reclaimed nothing).
/// Shrinkers (slab) and compaction are not modelled; with one node and no memory cgroup the memcg walk of
/// shrink_node_memcgs is the one lruvec.
/// </summary>
public static class NodeReclaim
{
    /// <summary>shrink_node: prepare_scan_control then shrink_lruvec of the (only) lruvec.</summary>
    public static void ShrinkNode(Lruvec lruvec, ScanControl sc)
    {
        lruvec.PrepareScanControl(sc);
        lruvec.ShrinkLruvec(sc);
    }

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
            break;
        }
        lruvec.SnapshotRefaults();
        return sc.NrReclaimed;
    }

    /// <summary>kswapd_age_node: with swap configured and inactive anon low, deactivate a batch of active anon first.</summary>
    public static void KswapdAgeNode(Lruvec lruvec, ScanControl sc, bool hasSwap)
    {
        if (!hasSwap || !lruvec.InactiveIsLow(LruList.InactiveAnon))
            return;
        lruvec.ShrinkActiveList(Lruvec.SwapClusterMax, sc, LruList.ActiveAnon);
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
        ShrinkNode(lruvec, sc);
        long round = sc.NrReclaimed - before;
        bool raisePriority = sc.NrScanned < sc.NrToReclaim;
        if (raisePriority || round == 0)
            sc.Priority--;
        return round;
    }
}
