using EcsMem.Components;

namespace EcsMem.Systems.Vmscan;

/// <summary>The allocator's estimate of what reclaim could still free in the zone (should_reclaim_retry's input).</summary>
public static class ZoneReclaimable
{
    /// <summary>
    /// zone_reclaimable_pages (mm/vmscan.c): the pages on the zone's file LRU lists, and on its anon lists when anon
    /// pages can be reclaimed at all (can_reclaim_anon_pages for no memcg: a free slot on some swap device,
    /// get_nr_swap_pages &gt; 0; EcsMem has no demotion). Pages in per-CPU lru_add batches and isolated ones are not on
    /// a list and do not count (the NR_ZONE_*_LRU counters). Since 6.13 (the CVE-2024-57884 fix, still in 6.18) a zone
    /// with nothing reclaimable reports its free pages instead, so should_reclaim_retry counts them twice there. The
    /// simple policies keep no list sizes: their count is the frames flagged as on an LRU (a scan of the frame table;
    /// it runs only for an allocation whose reclaim failed).
    /// </summary>
    public static long Pages(Kernel.Kernel k)
    {
        bool anon = k.Swap.FreePages > 0;
        long nr = 0;
        if (k.Lruvec is { } lv)
        {
            nr = lv.SubtreeSize(LruList.InactiveFile) + lv.SubtreeSize(LruList.ActiveFile);
            if (anon)
                nr += lv.SubtreeSize(LruList.InactiveAnon) + lv.SubtreeSize(LruList.ActiveAnon);
        }
        else
        {
            Frame[] frames = k.Zone.Frames;
            for (int pfn = 0; pfn < frames.Length; pfn++)
            {
                ref readonly Frame f = ref frames[pfn];
                if ((f.Flags & FrameFlags.Lru) != 0 && !f.IsFree && (anon || !f.IsAnon))
                    nr++;
            }
        }
        return nr == 0 ? k.Zone.Buddy.NrFreePages : nr;
    }
}
