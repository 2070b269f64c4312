using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Kernel;

namespace EcsMem.Systems.Hugetlb;

/// <summary>
/// mm/hugetlb.c and fs/hugetlbfs/inode.c for the default 2 MiB hstate: the pool (nr_hugepages taken from the buddy
/// allocator at boot by set_max_huge_pages, surplus pages up to nr_overcommit_hugepages), reservations made at mmap
/// (hugetlb_reserve_pages → hugetlb_acct_memory → gather_surplus_pages) and given back when a private mapping
/// closes (hugetlb_vm_op_close) or a file goes (hugetlb_unreserve_pages), faults (hugetlb_no_page, hugetlb_wp) that
/// take pages from the pool or end in SIGBUS, and the pages' return to it (free_huge_folio).
/// <para>
/// A MAP_HUGETLB mapping is an unlinked hugetlbfs file (hugetlb_file_setup's "anon_hugepage"), one per mmap, its id
/// the VMA's <see cref="Vma.ShmemId"/> (an object the overcommit book keeps VMA references for, charging nothing), so
/// the file is released with its last VMA. A huge page is mapped as the 512 entries of a PMD, each tagged
/// <see cref="Pte.PmdMappedBit"/> and <see cref="Pte.SpecialBit"/>: no rmap, no RSS (Linux counts hugetlb pages in
/// neither), never on an LRU, never swapped; this class counts each page's mappings itself. Memory cgroups are not
/// charged (memory_hugetlb_accounting is off by default in cgroup v2).
/// </para>
/// </summary>
public sealed class Hugetlb
{
    /// <summary>huge_page_order(&amp;default_hstate) on x86-64.</summary>
    public const int Order = 9;

    /// <summary>pages_per_huge_page.</summary>
    public const int Pages = 1 << Order;

    /// <summary>huge_page_size: 2 MiB.</summary>
    public const ulong Size = (ulong)Pages << Pte.PageShift;

    /// <summary>huge_page_mask.</summary>
    public const ulong Mask = ~(Size - 1);

    /// <summary>SIGBUS, what a hugetlb fault without a page ends in (VM_FAULT_SIGBUS).</summary>
    public const int Sigbus = 7;

    private readonly Kernel.Kernel _k;
    private readonly CounterId _allocSuccess, _allocFail;
    // hugepage_freelists: free folios by head frame; enqueue_hugetlb_folio adds at the head and dequeue takes the head.
    private readonly List<int> _free = new();
    // Mappings (PMD entries) of each in-use folio, by head frame.
    private readonly Dictionary<int, int> _mapCount = new();
    private readonly Dictionary<int, HugetlbFile> _files = new();

    /// <summary>Creates the pool and allocates nr_hugepages from the buddy allocator (boot, before any task runs).</summary>
    public Hugetlb(Kernel.Kernel kernel, CounterRegistry counters)
    {
        _k = kernel;
        _allocSuccess = counters.Register("htlb_buddy_alloc_success");
        _allocFail = counters.Register("htlb_buddy_alloc_fail");
        NrOvercommitHugePages = kernel.Options.Hugetlb.NrOvercommitHugepages;
        SetMaxHugePages(kernel.Options.Hugetlb.NrHugepages);
    }

    /// <summary>h->nr_huge_pages: persistent and surplus pages, free or in use (HugePages_Total).</summary>
    public long NrHugePages { get; private set; }

    /// <summary>h->free_huge_pages (HugePages_Free).</summary>
    public long FreeHugePages { get; private set; }

    /// <summary>h->resv_huge_pages: free pages promised to mappings that have not faulted them yet (HugePages_Rsvd).</summary>
    public long ResvHugePages { get; private set; }

    /// <summary>h->surplus_huge_pages (HugePages_Surp).</summary>
    public long SurplusHugePages { get; private set; }

    /// <summary>h->nr_overcommit_huge_pages (/proc/sys/vm/nr_overcommit_hugepages).</summary>
    public long NrOvercommitHugePages { get; }

    /// <summary>One anonymous hugetlbfs file: its page cache (shared) and the indices whose reservation is still outstanding.</summary>
    private sealed class HugetlbFile(bool shared, long pages, int ownerMm)
    {
        public readonly bool Shared = shared;
        public readonly int OwnerMm = ownerMm;
        public readonly long Pages = pages;
        public readonly HashSet<long> Reserved = new();
        public readonly Dictionary<long, int> Cache = new();
    }

    /// <summary>Whether <paramref name="pfn"/> belongs to a hugetlb folio.</summary>
    public bool IsHugetlb(int pfn) => (_k.Zone.Frames[pfn].Flags & FrameFlags.Hugetlb) != 0;

    /// <summary>The PMD mappings of the folio whose head is <paramref name="head"/> (0 when free or unknown).</summary>
    public int MapCount(int head) => _mapCount.TryGetValue(head, out int n) ? n : 0;

    /// <summary>
    /// set_max_huge_pages at boot: allocates fresh folios one by one (alloc_pool_huge_folio) until the pool holds
    /// <paramref name="count"/> or the buddy allocator has no order-9 block above the min watermark, so the pool can
    /// end up smaller than asked, as writing nr_hugepages can on Linux.
    /// </summary>
    private void SetMaxHugePages(long count)
    {
        while (NrHugePages < count)
        {
            int head = AllocBuddy();
            if (head < 0)
                break;
            NrHugePages++;
            Enqueue(head);
        }
    }

    /// <summary>
    /// alloc_buddy_hugetlb_folio: an order-9 block (__GFP_RETRY_MAYFAIL: allowed down to the min watermark; no
    /// compaction is modelled), its 512 frames flagged as a hugetlb folio and pinned, counted in
    /// htlb_buddy_alloc_success or htlb_buddy_alloc_fail and in pgalloc_normal. Returns the head, or -1.
    /// </summary>
    private int AllocBuddy()
    {
        var buddy = _k.Zone.Buddy;
        if (_k.Zone.Watermarks.BelowMin(buddy.NrFreePages, Order) || !buddy.HasFreeBlock(Order))
        {
            _k.Env.Counters.Increment(_allocFail);
            return -1;
        }
        int head = buddy.AllocPages(Order);
        if (head < 0)
        {
            _k.Env.Counters.Increment(_allocFail);
            return -1;
        }
        for (int i = 0; i < Pages; i++)
        {
            _k.Dirty?.Frame(head + i);
            _k.Zone.Frames[head + i] = Frame.Fresh(head + i) with { Flags = FrameFlags.Hugetlb };
            _k.Zone.PinFrame(head + i);
        }
        _k.Env.Counters.Add(_k.C.PgAllocNormal, Pages);
        _k.Env.Counters.Increment(_allocSuccess);
        return head;
    }

    /// <summary>update_and_free_hugetlb_folio: the folio's 512 frames go back to the buddy allocator as one order-9 block.</summary>
    private void FreeToBuddy(int head)
    {
        for (int i = 0; i < Pages; i++)
        {
            _k.Dirty?.Frame(head + i);
            _k.Zone.UnpinFrame(head + i);
            _k.Zone.Frames[head + i] = Frame.Fresh(head + i) with { RefCount = 0, Flags = FrameFlags.Buddy };
        }
        _k.Zone.Buddy.FreePages(head, Order);
        _k.Env.Counters.Add(_k.C.PgFree, Pages);
    }

    private void Enqueue(int head)
    {
        _free.Add(head);
        FreeHugePages++;
    }

    private int Dequeue()
    {
        int head = _free[^1];
        _free.RemoveAt(_free.Count - 1);
        FreeHugePages--;
        return head;
    }

    /// <summary>
    /// hugetlb_acct_memory(h, +delta) at mmap: gather_surplus_pages allocates the surplus pages needed so that the free
    /// pages cover every reservation (within nr_overcommit_hugepages), then resv_huge_pages grows by delta. False
    /// (mmap fails with ENOMEM, nothing changed) when the pool cannot cover them.
    /// </summary>
    public bool Reserve(long delta)
    {
        if (delta <= 0)
            return true;
        long needed = ResvHugePages + delta - FreeHugePages;
        if (needed > 0)
        {
            // gather_surplus_pages: each page must fit under the overcommit limit and come from the buddy allocator;
            // if one does not, the ones allocated go back and the reservation fails.
            if (SurplusHugePages + needed > NrOvercommitHugePages)
                return false;
            var got = new List<int>((int)needed);
            for (long i = 0; i < needed; i++)
            {
                int head = AllocBuddy();
                if (head < 0)
                {
                    foreach (int h in got)
                        FreeToBuddy(h);
                    return false;
                }
                got.Add(head);
            }
            foreach (int h in got)
            {
                NrHugePages++;
                SurplusHugePages++;
                Enqueue(h);
            }
        }
        ResvHugePages += delta;
        return true;
    }

    /// <summary>
    /// hugetlb_acct_memory(h, -unused) → return_unused_surplus_pages: reservations given back, and as many free surplus
    /// pages as there were unused reservations go back to the buddy allocator.
    /// </summary>
    private void Unreserve(long unused)
    {
        if (unused <= 0)
            return;
        ResvHugePages -= unused;
        long n = Math.Min(unused, SurplusHugePages);
        while (n-- > 0 && _free.Count > 0)
        {
            int head = Dequeue();
            NrHugePages--;
            SurplusHugePages--;
            FreeToBuddy(head);
        }
    }

    /// <summary>
    /// The file behind a new MAP_HUGETLB mapping of <paramref name="pages"/> huge pages, object <paramref name="id"/>:
    /// with <paramref name="reserved"/> (no VM_NORESERVE) every index starts reserved, as hugetlb_reserve_pages records
    /// them (a shared mapping in the file's region map, a private one by its resv_map owner). The caller reserved
    /// them first with <see cref="Reserve"/>.
    /// </summary>
    public void FileCreated(int id, bool shared, long pages, bool reserved, int ownerMm)
    {
        var f = new HugetlbFile(shared, pages, ownerMm);
        if (reserved)
            for (long i = 0; i < pages; i++)
                f.Reserved.Add(i);
        _files[id] = f;
    }

    /// <summary>
    /// The last VMA of hugetlb file <paramref name="id"/> went (the unlinked file's last fput → evict_inode →
    /// remove_inode_hugepages + hugetlb_unreserve_pages): its page cache is dropped (a page no mm maps any more is
    /// freed) and its outstanding reservations are given back. No-op for an id that is not a hugetlb file.
    /// </summary>
    public void FileReleased(int id)
    {
        if (!_files.Remove(id, out HugetlbFile? f))
            return;
        foreach (int head in f.Cache.Values)
            if (MapCount(head) == 0)
                FreeHugeFolio(head);
        Unreserve(f.Reserved.Count);
    }

    /// <summary>
    /// hugetlb_vm_op_close for a VMA (or the part of one) being unmapped: a private mapping's reservations not used by a
    /// fault in its range are given back (a shared file keeps its own until it is released).
    /// </summary>
    public void VmaClose(in Vma v)
    {
        if (!_files.TryGetValue(v.ShmemId, out HugetlbFile? f) || f.Shared)
            return;
        long first = IndexOf(v, v.Start), last = IndexOf(v, v.End);
        long unused = 0;
        for (long i = first; i < last; i++)
            if (f.Reserved.Remove(i))
                unused++;
        Unreserve(unused);
    }

    /// <summary>The file index (in huge pages) of <paramref name="va"/> in hugetlb VMA <paramref name="v"/> (vma_hugecache_offset).</summary>
    public static long IndexOf(in Vma v, ulong va) => (long)((v.PgOff + ((va - v.Start) >> Pte.PageShift)) >> Order);

    /// <summary>
    /// alloc_hugetlb_folio for index <paramref name="idx"/> of file <paramref name="id"/>: a reserved index takes a free
    /// page and its reservation (resv_huge_pages--); any other needs a free page nobody has reserved, else a surplus
    /// page from the buddy allocator within nr_overcommit_hugepages (alloc_surplus_hugetlb_folio). With
    /// <paramref name="useReserve"/> false (a copy-on-write, or a mapping that is not the reservation's owner) the
    /// reservation is left alone. Returns the head, or -1 (the fault ends in SIGBUS).
    /// </summary>
    public int AllocFolio(int id, long idx, bool useReserve)
    {
        _files.TryGetValue(id, out HugetlbFile? f);
        int head;
        if (useReserve && f is not null && f.Reserved.Remove(idx))
        {
            head = Dequeue();
            ResvHugePages--;
        }
        else if (FreeHugePages - ResvHugePages > 0)
        {
            head = Dequeue();
        }
        else
        {
            if (SurplusHugePages >= NrOvercommitHugePages || (head = AllocBuddy()) < 0)
                return -1;
            NrHugePages++;
            SurplusHugePages++;
        }
        _mapCount[head] = 0;
        return head;
    }

    /// <summary>The page cache of shared file <paramref name="id"/> at <paramref name="idx"/> (filemap_lock_hugetlb_folio), or -1.</summary>
    public int LookupCache(int id, long idx) =>
        _files.TryGetValue(id, out HugetlbFile? f) && f.Cache.TryGetValue(idx, out int head) ? head : -1;

    /// <summary>hugetlb_add_to_page_cache: a shared file's new page stays in its page cache until the file goes.</summary>
    public void AddToCache(int id, long idx, int head)
    {
        if (_files.TryGetValue(id, out HugetlbFile? f) && f.Shared)
            f.Cache[idx] = head;
    }

    /// <summary>Whether mm <paramref name="mmId"/> made file <paramref name="id"/>'s private reservation (HPAGE_RESV_OWNER).</summary>
    public bool IsOwner(int id, int mmId) => _files.TryGetValue(id, out HugetlbFile? f) && f.OwnerMm == mmId;

    /// <summary>Whether file <paramref name="id"/> is shared (MAP_SHARED) and exists.</summary>
    public bool IsShared(int id) => _files.TryGetValue(id, out HugetlbFile? f) && f.Shared;

    /// <summary>
    /// set_huge_pte_at: maps the folio at <paramref name="head"/> at the 2 MiB block <paramref name="haddr"/> of
    /// <paramref name="mm"/> (512 entries, special and PMD-mapped) with <paramref name="prot"/>, counting one mapping,
    /// run by task <paramref name="current"/> (the faulting thread, fork's parent), which reclaims for the tables it allocates.
    /// </summary>
    public void Map(MmState mm, ulong haddr, int head, ulong prot, Entity current)
    {
        ulong bits = (prot & ~Pte.CowBit) | Pte.PresentBit | Pte.SpecialBit | Pte.PmdMappedBit;
        for (int i = 0; i < Pages; i++)
        {
            ulong va = haddr + ((ulong)i << Pte.PageShift);
            ref ulong slot = ref _k.Memory.PteAlloc(mm, va, current);
            _k.Dirty?.Pte(mm, va, slot);
            slot = Pte.Make((ulong)(head + i), bits).Value;
        }
        _mapCount[head] = MapCount(head) + 1;
        mm.HugetlbPages += Pages;
    }

    /// <summary>
    /// hugetlb_wp's reuse, or a write-enabled protection change: the 512 entries made writable and dirty, the block's
    /// translations flushed.
    /// </summary>
    public void MakeWritable(MmState mm, ulong haddr)
    {
        for (int i = 0; i < Pages; i++)
        {
            ulong va = haddr + ((ulong)i << Pte.PageShift);
            ref ulong slot = ref mm.Tables.Walk(va, out _);
            _k.Dirty?.Pte(mm, va, slot);
            slot = (slot | Pte.RwBit | Pte.DirtyBit) & ~Pte.CowBit;
        }
        _k.Tlb.FlushTlbMmRange(mm.Tlb, haddr, haddr + Size, freedTables: false);
    }

    /// <summary>
    /// One PMD mapping of the folio at <paramref name="head"/> went (zap_huge_pmd for hugetlb, from munmap or exit, or a
    /// copy-on-write replacing it): when no mapping is left and no file's page cache holds it, the folio is freed.
    /// </summary>
    public void Unmapped(MmState mm, int head)
    {
        int n = MapCount(head) - 1;
        _mapCount[head] = n;
        mm.HugetlbPages -= Pages;
        if (n <= 0 && !InSomeCache(head))
            FreeHugeFolio(head);
    }

    /// <summary>A fault that took a folio but did not map it (its VMA went while it waited): the folio goes back.</summary>
    public void DropUnmapped(int head)
    {
        if (MapCount(head) == 0 && !InSomeCache(head))
            FreeHugeFolio(head);
    }

    private bool InSomeCache(int head)
    {
        foreach (HugetlbFile f in _files.Values)
            if (f.Shared && f.Cache.ContainsValue(head))
                return true;
        return false;
    }

    /// <summary>
    /// free_huge_folio: a surplus page goes back to the buddy allocator while the pool holds more surplus pages than
    /// it needs; any other returns to the free list.
    /// </summary>
    private void FreeHugeFolio(int head)
    {
        _mapCount.Remove(head);
        if (SurplusHugePages > 0)
        {
            NrHugePages--;
            SurplusHugePages--;
            FreeToBuddy(head);
            return;
        }
        Enqueue(head);
    }

    /// <summary>
    /// copy_hugetlb_page_range at fork for hugetlb VMA <paramref name="v"/>: the child maps the parent's huge pages;
    /// in a private writable mapping both lose write access (copy-on-write, hugetlb_wp on the next write). The parent's
    /// task <paramref name="current"/> allocates the child's tables and reclaims for their charges.
    /// </summary>
    public void CopyRange(MmState parent, MmState child, in Vma v, Entity current)
    {
        bool cow = (v.Flags & (VmFlags.Shared | VmFlags.MayWrite)) == VmFlags.MayWrite;
        for (ulong h = v.Start; h < v.End; h += Size)
        {
            ulong e = parent.Tables.Lookup(h);
            if (!Pte.IsPmdMapped(e) || !new Pte(e).Special || !IsHugetlb((int)new Pte(e).Pfn))
                continue;
            if (cow && new Pte(e).Writable)
            {
                for (int i = 0; i < Pages; i++)
                {
                    ulong va = h + ((ulong)i << Pte.PageShift);
                    ref ulong slot = ref parent.Tables.Walk(va, out _);
                    _k.Dirty?.Pte(parent, va, slot);
                    slot &= ~Pte.RwBit;
                }
                e &= ~Pte.RwBit;
            }
            Map(child, h, (int)new Pte(e).Pfn, e & Pte.ProtMask & ~(Pte.PfnMask | Pte.AccessedBit), current);
        }
    }

    /// <summary>
    /// /proc/PID/smaps' Shared_Hugetlb and Private_Hugetlb of <paramref name="mm"/> (smaps_hugetlb_range), in bytes: a
    /// mapped huge page is shared when more than one mapping maps it (folio_maybe_mapped_shared), else private, even in a
    /// MAP_SHARED mapping.
    /// </summary>
    public (ulong Shared, ulong Private) SmapsOf(MmState mm, in Vma v)
    {
        ulong shared = 0, priv = 0;
        if ((v.Flags & VmFlags.HugeTlb) == 0)
            return (0, 0);
        for (ulong h = v.Start; h < v.End; h += Size)
        {
            var p = new Pte(mm.Tables.Lookup(h));
            if (!p.Present || !p.PmdMapped || !IsHugetlb((int)p.Pfn))
                continue;
            if (MapCount((int)p.Pfn) > 1) shared += Size; else priv += Size;
        }
        return (shared, priv);
    }
}
