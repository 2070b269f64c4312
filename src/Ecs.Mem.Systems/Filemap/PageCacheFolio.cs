using System.Runtime.CompilerServices;
using EcsMem.Components;

namespace EcsMem.Systems.Filemap;

/// <summary>
/// Large page-cache folios (include/linux/mm.h's folio helpers for a file folio of order &gt; 0): 2^order naturally
/// aligned frames readahead allocated as one block (page_cache_ra_order), each a 4 KiB <see cref="Frame"/> carrying
/// the folio's order in <see cref="Frame.FolioOrder"/>. The head (first frame) is the folio's one LRU entry; the
/// folio-wide flags (PG_lru, PG_active, PG_referenced, PG_workingset, PG_unevictable, PG_readahead) are kept on the
/// head and mirrored on the other pages, so what reads them a page at a time (memory.stat, /proc/meminfo,
/// /proc/kpageflags) sees the folio's, as PageActive(tail) reads the head's in Linux. Mapcount, the rmap, Rss and the
/// page-cache index stay per page.
/// </summary>
public static class PageCacheFolio
{
    /// <summary>The flags a folio keeps on its head (its other pages mirror them).</summary>
    public const FrameFlags FolioWide = FrameFlags.Lru | FrameFlags.Active | FrameFlags.Referenced | FrameFlags.Workingset
        | FrameFlags.Unevictable | FrameFlags.Readahead;

    /// <summary>Page-cache folios of this order or less are built (MAX_PAGECACHE_ORDER on x86-64: the PMD order).</summary>
    public const int MaxPagecacheOrder = 9;

    /// <summary>folio_nr_pages of the folio <paramref name="pfn"/> is a page of.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NrPages(Frame[] frames, int pfn) => 1 << frames[pfn].FolioOrder;

    /// <summary>page_folio: the first frame of the folio <paramref name="pfn"/> is a page of.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Head(Frame[] frames, int pfn)
    {
        int o = frames[pfn].FolioOrder;
        return o == 0 ? pfn : pfn & ~((1 << o) - 1);
    }

    /// <summary>Copies the head's folio-wide flags onto the folio's other pages.</summary>
    public static void SyncTails(Frame[] frames, int head)
    {
        int nr = 1 << frames[head].FolioOrder;
        FrameFlags bits = frames[head].Flags & FolioWide;
        for (int p = head + 1; p < head + nr; p++)
            frames[p].Flags = (frames[p].Flags & ~FolioWide) | bits;
    }

    /// <summary>
    /// split_folio for a large page-cache folio (truncate_inode_partial_folio, madvise_cold_or_pageout_pte_range and
    /// compaction split them; EcsMem also splits one that gets dirty, a simplification: docs/kernel.md): its pages
    /// become single pages with the folio's flags, each its own LRU entry beside the old head
    /// (lru_add_split_folio). Returns whether there was a folio to split.
    /// </summary>
    public static bool Split(Kernel.Kernel k, int pfn)
    {
        Frame[] frames = k.Zone.Frames;
        int order = frames[pfn].FolioOrder;
        if (order == 0)
            return false;
        int head = Head(frames, pfn), nr = 1 << order;
        SyncTails(frames, head);
        if (((frames[head].Flags & FrameFlags.Lru) != 0 || k.Zone.InLruAddBatch(head)) && k.Zone.LruOf(head) is Vmscan.Lruvec lruvec)
            lruvec.SplitFolio(head);
        for (int p = head; p < head + nr; p++)
        {
            k.Dirty?.Frame(p);
            frames[p].FolioOrder = 0;
        }
        return true;
    }
}
