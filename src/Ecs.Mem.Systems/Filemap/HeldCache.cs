using EcsMem.Components;

namespace EcsMem.Systems.Filemap;

/// <summary>
/// An aged machine's page cache (<c>machine.free_area_cache</c>): the held pages <see cref="PageAlloc.Zone.HeldCache"/>
/// names become the pages of one file that other users read before the run and no process has open or mapped now,
/// clean and unmapped, as filemap_read left them (filemap_add_folio, folio_add_lru; a second read's
/// folio_mark_accessed moved the active ones). On the measured machine half of the Normal zone's used pages were
/// such file LRU pages (oracle/experiments/held-cache), and reclaim takes them before anything else when the run's
/// processes need memory: kswapd at the low watermark, direct reclaim below min, as any clean file page (a shadow
/// entry left in the file's page cache by workingset_eviction, which nothing reads back).
/// </summary>
public static class HeldCache
{
    /// <summary>The boot-time file's name in the file table (no mapping shows it; no scenario can open it).</summary>
    public const string Path = "[held page cache]";

    /// <summary>
    /// filemap_add_folio + folio_add_lru for every page of the held cache, in file-index order: pages 0 .. active − 1
    /// are PG_active (the file's part read twice), the rest inactive; each goes to its list's head, so page 0 is at
    /// the active list's tail and page <paramref name="active"/> at the inactive list's tail, the first reclaim takes.
    /// A simple policy (fifo, clock, ...) has no active list: all pages join its one list in index order.
    /// The per-CPU lru_add batches are drained, so every page is on its list when the run starts. The file's size is
    /// its pages (i_size). Returns the file's id, or -1 when there is no held cache.
    /// </summary>
    public static int Populate(Kernel.Kernel k, long active)
    {
        int[] pfns = k.Zone.HeldCache;
        if (pfns.Length == 0)
            return -1;
        int file = k.Files.Intern(Path);
        Frame[] frames = k.Zone.Frames;
        for (int index = 0; index < pfns.Length; index++)
        {
            int pfn = pfns[index];
            ref Frame f = ref frames[pfn];
            f.Mapping = file;
            f.Index = index;
            f.ContentToken = PageCacheInsertSystem.FileContent(file, index);
            if (index < active && k.Lruvec is not null)
                f.Flags |= FrameFlags.Active;
            k.PageCache.Add(file, index, pfn);
            k.Zone.LruAdd(pfn, PageAlloc.Zone.FileKey(file, index));
        }
        for (int cpu = 0; cpu < k.Options.Cpus; cpu++)
            k.LruAddDrainCpu(cpu);
        k.Readahead.NoteFileExtent(file, pfns.Length);
        return file;
    }
}
