using EcsMem.Components;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Point-in-time page counts of the whole machine, the numbers behind the gauges of /proc/vmstat and the
/// lines of /proc/meminfo. Counted from the frame table (one pass over struct page flags, as the kernel's
/// own counters would be kept), the buddy allocator, the page cache, the swap cache and the swap area.
/// </summary>
public readonly record struct MemoryGauges
{
    public long TotalPages { get; init; }
    public long FreePages { get; init; }
    public long ActiveAnon { get; init; }
    public long InactiveAnon { get; init; }
    public long ActiveFile { get; init; }
    public long InactiveFile { get; init; }

    /// <summary>NR_ANON_MAPPED: anonymous pages mapped by at least one page table.</summary>
    public long AnonMapped { get; init; }

    /// <summary>NR_FILE_MAPPED: page-cache pages mapped by at least one page table.</summary>
    public long FileMapped { get; init; }

    /// <summary>Pages in the page cache (file pages).</summary>
    public long PageCachePages { get; init; }

    /// <summary>Pages in the swap cache.</summary>
    public long SwapCachePages { get; init; }

    /// <summary>NR_SHMEM: shmem pages (MAP_SHARED anonymous memory) not in the swap cache; file pages in Linux.</summary>
    public long ShmemPages { get; init; }

    public long Dirty { get; init; }
    public long Writeback { get; init; }

    /// <summary>Page-table pages (their frames carry PG_slab here, as the charger marks them).</summary>
    public long PageTablePages { get; init; }

    /// <summary>Usable swap slots (the header slot excluded, as total_swap_pages excludes it).</summary>
    public long SwapTotalPages { get; init; }

    public long SwapFreePages { get; init; }

    /// <summary>
    /// NR_MLOCK: pages mapped by a VM_LOCKED area (mlock, MAP_LOCKED, mlockall), which Linux mlocks as they are
    /// mapped and keeps on the unevictable LRU, out of the active and inactive lists.
    /// </summary>
    public long Mlocked { get; init; }

    /// <summary>
    /// The unevictable LRU: the mlocked pages (Linux also puts ramfs and SHM_LOCKed pages there; neither exists here).
    /// </summary>
    public long Unevictable => Mlocked;

    /// <summary>vm_commit_limit (CommitLimit), pages.</summary>
    public long CommitLimit { get; init; }

    /// <summary>vm_committed_as (Committed_AS), pages.</summary>
    public long CommittedAs { get; init; }
    /// <summary>NR_ANON_THPS: transparent huge pages mapped by a PMD somewhere, in huge pages (AnonHugePages / 2048 kB).</summary>
    public long AnonThps { get; init; }

    /// <summary>The hugetlb pool (HugePages_Total, _Free, _Rsvd, _Surp): nr_huge_pages, free, reserved and surplus huge pages.</summary>
    public long HugePagesTotal { get; init; }
    public long HugePagesFree { get; init; }
    public long HugePagesRsvd { get; init; }
    public long HugePagesSurp { get; init; }

    /// <summary>NR_FILE_PAGES: Linux counts swap-cache pages among file pages.</summary>
    public long FilePages => PageCachePages + ShmemPages + SwapCachePages;

    /// <summary>Reads the gauges of <paramref name="kernel"/> now.</summary>
    public static MemoryGauges Read(Kernel.Kernel kernel)
    {
        long activeAnon = 0, inactiveAnon = 0, activeFile = 0, inactiveFile = 0;
        long anonMapped = 0, fileMapped = 0, shmem = 0, shmemCached = 0, dirty = 0, writeback = 0, tables = 0;
        bool[] mlocked = MlockedFrames(kernel, out long nrMlock);
        foreach (ref readonly Frame f in kernel.Zone.Frames.AsSpan())
        {
            FrameFlags fl = f.Flags;
            if ((fl & (FrameFlags.Buddy | FrameFlags.PcpList)) != 0)
                continue;
            bool anon = (fl & FrameFlags.Anon) != 0;
            // An mlocked page is on the unevictable list (as is one reclaim found in a VM_LOCKED area), in none of the four counted here.
            // A folio still in a CPU's lru_add batch is on no list and has no PG_lru yet: Linux counts NR_{IN,}ACTIVE_*
            // in update_lru_size when the batch moves it (lruvec_add_folio, then folio_set_lru).
            if ((fl & FrameFlags.Lru) != 0 && !mlocked[f.Pfn] && (fl & FrameFlags.Unevictable) == 0)
            {
                // folio_is_file_lru: the list follows PG_swapbacked (a lazily freed anon page is on the file list).
                bool anonLru = (fl & FrameFlags.SwapBacked) != 0 || (anon && (fl & FrameFlags.SwapCache) != 0);
                bool active = (fl & FrameFlags.Active) != 0;
                if (anonLru)
                {
                    if (active) activeAnon++; else inactiveAnon++;
                }
                else
                {
                    if (active) activeFile++; else inactiveFile++;
                }
            }
            // A shmem page is a file page to Linux's counters (NR_SHMEM, NR_FILE_PAGES, NR_FILE_MAPPED), on the
            // anon LRU all the same; under swap-out (in the swap cache) it counts as swap cache instead.
            bool isShmem = (fl & FrameFlags.Shmem) != 0;
            if (isShmem && (fl & FrameFlags.SwapCache) == 0) shmem++;
            if (isShmem && !anon && f.Mapping >= 0) shmemCached++; // a memfd's page: in the page cache, counted as Shmem
            if (f.MapCount > 0 && f.Pfn != kernel.Zone.ZeroPfn)
            {
                if (isShmem) fileMapped++;
                else if (anon) anonMapped++;
                else if (f.Mapping >= 0) fileMapped++;
            }
            // NR_FILE_DIRTY: folio_account_dirtied counts only mappings that account dirty pages; an anonymous or
            // swap-cache folio (noop_dirty_folio) and a shmem one (shmem_aops) keep PG_dirty uncounted, as memory.stat's dirty.
            if ((fl & FrameFlags.Dirty) != 0 && !anon && !isShmem) dirty++;
            if ((fl & FrameFlags.Writeback) != 0) writeback++;
            if ((fl & FrameFlags.Slab) != 0) tables++;
        }
        return new MemoryGauges
        {
            TotalPages = kernel.Options.PageCount,
            FreePages = kernel.Zone.Buddy.NrFreePages,
            ActiveAnon = activeAnon,
            InactiveAnon = inactiveAnon,
            ActiveFile = activeFile,
            InactiveFile = inactiveFile,
            AnonMapped = anonMapped,
            FileMapped = fileMapped,
            PageCachePages = kernel.PageCache.Count - shmemCached,
            SwapCachePages = kernel.SwapCache.Count,
            ShmemPages = shmem,
            Dirty = dirty,
            Writeback = writeback,
            PageTablePages = tables,
            SwapTotalPages = kernel.Swap.UsablePages,
            SwapFreePages = kernel.Swap.FreePages,
            Mlocked = nrMlock,
            CommitLimit = (long)kernel.Commit.CommitLimit,
            CommittedAs = Math.Max(0, kernel.Commit.Committed),
            AnonThps = kernel.Thp.AnonThps(),
            HugePagesTotal = kernel.Hugetlb.NrHugePages,
            HugePagesFree = kernel.Hugetlb.FreeHugePages,
            HugePagesRsvd = kernel.Hugetlb.ResvHugePages,
            HugePagesSurp = kernel.Hugetlb.SurplusHugePages,
        };
    }

    /// <summary>
    /// The frames mapped by a VM_LOCKED area of a live address space (mlock_vma_folio marks them as they are
    /// mapped or as mlock reaches them; munlock and the area's unmap clear them), and how many.
    /// </summary>
    private static bool[] MlockedFrames(Kernel.Kernel kernel, out long count)
    {
        var marks = new bool[kernel.Zone.Frames.Length];
        var visitor = new MlockVisitor(marks, kernel.Zone.ZeroPfn);
        foreach (Kernel.MmState mm in kernel.Tasks.LiveMms)
        {
            foreach (ref readonly Vma v in mm.Mm.Vmas)
            {
                if ((v.Flags & VmFlags.Locked) != 0)
                    mm.Tables.VisitRange(v.Start, v.End, ref visitor);
            }
        }
        count = visitor.Count;
        return marks;
    }

    private struct MlockVisitor(bool[] marks, int zeroPfn) : AddressSpace.IPteRefVisitor
    {
        public long Count;

        public void Visit(ulong va, ref ulong pte)
        {
            var p = new Pte(pte);
            if (!Memory.MemoryOps.IsMapped(pte) || p.Special || (int)p.Pfn == zeroPfn || (int)p.Pfn >= marks.Length || marks[p.Pfn])
                return;
            marks[p.Pfn] = true;
            Count++;
        }
    }
}
