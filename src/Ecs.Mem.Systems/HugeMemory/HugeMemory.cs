using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Scenarios;

namespace EcsMem.Systems.HugeMemory;

/// <summary>
/// mm/huge_memory.c for anonymous memory: which faults may map a PMD-sized page (thp_vma_allowable_order,
/// thp_vma_suitable_order), the order-9 folio and the huge zero folio they map, and the splits (__split_huge_pmd,
/// split_huge_page, deferred_split_folio). A PMD mapping is kept as the 512 entries of the page table Linux
/// deposits with it, each tagged <see cref="Pte.PmdMappedBit"/> (docs/kernel.md, "Transparent huge pages"), so
/// every mechanism that walks PTEs sees a huge page's pages; this class keeps those 512 entries consistent.
/// </summary>
public sealed partial class HugeMemory(Kernel.Kernel kernel)
{
    /// <summary>HPAGE_PMD_ORDER on x86-64.</summary>
    public const int PmdOrder = 9;

    /// <summary>HPAGE_PMD_NR: pages in a PMD-sized page.</summary>
    public const int PmdPages = 1 << PmdOrder;

    /// <summary>HPAGE_PMD_SIZE: 2 MiB.</summary>
    public const ulong PmdSize = (ulong)PmdPages << Pte.PageShift;

    /// <summary>HPAGE_PMD_MASK.</summary>
    public const ulong PmdMask = ~(PmdSize - 1);

    private readonly List<(int Mm, ulong Va)> _maps = new();
    private int _hugeZeroPfn = -1;

    private ThpConfig Config => kernel.Options.Thp;

    /// <summary>
    /// Whether THP can be used at all: not <c>never</c>, and a paging mode with a PMD level that maps 2 MiB
    /// (x86-64's 4 and 5 levels; 32-bit non-PAE paging has no transparent huge pages).
    /// </summary>
    public bool Possible => Config.Enabled != ThpEnabled.Never && kernel.Options.Paging.Levels >= 4;

    /// <summary>True once a PMD mapping was ever made: until then no split check needs to look at page tables.</summary>
    public bool EverMapped { get; private set; }

    /// <summary>The huge zero folio's first frame (get_huge_zero_folio), or -1 before the first read fault needs it.</summary>
    public int HugeZeroPfn => _hugeZeroPfn;

    /// <summary>is_huge_zero_pfn: whether <paramref name="pfn"/> is one of the huge zero folio's 512 frames.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsHugeZero(int pfn) => _hugeZeroPfn >= 0 && (uint)(pfn - _hugeZeroPfn) < PmdPages;

    /// <summary>The head (first, 512-aligned) frame of the order-9 folio <paramref name="pfn"/> belongs to.</summary>
    public static int HeadOf(int pfn) => pfn & ~(PmdPages - 1);

    /// <summary>
    /// thp_vma_allowable_order(PMD_ORDER) + thp_vma_suitable_order for an anonymous fault at <paramref name="va"/>:
    /// a private anonymous VMA (shmem follows shmem_enabled, which is <c>never</c> by default, and file VMAs need
    /// large page-cache folios: neither gets THP here), not VM_NOHUGEPAGE, VM_HUGEPAGE unless the mode is
    /// <c>always</c>, and the 2 MiB-aligned block around the address wholly inside the VMA.
    /// </summary>
    public bool VmaAllowsPmd(in Vma vma, ulong va)
    {
        if (!Possible || vma.Kind is VmaKind.File or VmaKind.Special || (vma.Flags & (VmFlags.Shared | VmFlags.NoHugePage | VmFlags.Special)) != 0)
            return false;
        if (Config.Enabled == ThpEnabled.Madvise && (vma.Flags & VmFlags.HugePage) == 0)
            return false;
        ulong haddr = va & PmdMask;
        return haddr >= vma.Start && haddr + PmdSize <= vma.End;
    }

    /// <summary>
    /// vma_thp_gfp_mask's __GFP_KSWAPD_RECLAIM: whether a THP fault in this VMA wakes kswapd when it cannot get its
    /// page (defrag <c>always</c> and <c>defer</c>; <c>defer+madvise</c> always; <c>madvise</c> for VM_HUGEPAGE).
    /// </summary>
    public bool WakesKswapdOnFallback(VmFlags flags) => Config.Defrag switch
    {
        ThpDefrag.Always or ThpDefrag.Defer or ThpDefrag.DeferMadvise => true,
        ThpDefrag.Madvise => (flags & VmFlags.HugePage) != 0,
        _ => false,
    };

    /// <summary>
    /// The order-9 allocation of a THP fault (vma_alloc_anon_folio_pmd → __alloc_pages with GFP_TRANSHUGE): the zone
    /// must pass the low watermark for the order (__zone_watermark_ok: free pages less 511 above low) and hold a
    /// free block of order 9 or more. No direct reclaim or compaction is tried (compaction is not modelled): a
    /// fault that finds no order-9 block falls back to a 4 KiB page at once (thp_fault_fallback), waking kswapd when
    /// the defrag setting says so (<see cref="WakesKswapdOnFallback"/>). The block is split into 512 order-0 pages in the buddy allocator's books
    /// (split_page) so each can be freed on its own after split_huge_page; pgalloc_normal counts 512.
    /// Returns the head frame, or -1.
    /// </summary>
    public int AllocFolio()
    {
        int head = AllocBlock();
        if (head < 0)
            return -1;
        for (int i = 0; i < PmdPages; i++)
        {
            kernel.Dirty?.Frame(head + i);
            kernel.Zone.Frames[head + i] = Frame.Fresh(head + i) with { Flags = FrameFlags.Thp };
        }
        kernel.Env.Counters.Add(kernel.C.PgAllocNormal, PmdPages);
        return head;
    }

    private int AllocBlock(int order = PmdOrder, bool kswapd = true)
    {
        var buddy = kernel.Zone.Buddy;
        if (kernel.Zone.Watermarks.BelowLow(buddy.NrFreePages, order) || !buddy.HasFreeBlock(order))
            return -1;
        // ALLOC_KSWAPD follows the gfp (a sub-pageblock block can boost the watermarks; whether kswapd hears of it).
        kernel.Zone.AllocKswapd = kswapd;
        int head = buddy.AllocPages(order);
        kernel.Zone.CheckBoostedWatermark();
        kernel.Zone.AllocKswapd = true;
        if (head >= 0)
        {
            buddy.SplitPage(head, order);
            // A --snapshot peak mark may fall on this allocation (a THP's charge can fail and free it at once).
            kernel.Zone.CheckAllocMark();
        }
        return head;
    }

    /// <summary>
    /// mTHP statistics per order, as /sys/kernel/mm/transparent_hugepage/hugepages-&lt;size&gt;kB/stats/ has them
    /// (count_mthp_stat): anon_fault_alloc, anon_fault_fallback, anon_fault_fallback_charge, swpout, swpout_fallback.
    /// Index = order (0..9; only 2..9 are used).
    /// </summary>
    public readonly long[] AnonFaultAlloc = new long[PmdOrder + 1], AnonFaultFallback = new long[PmdOrder + 1],
        AnonFaultFallbackCharge = new long[PmdOrder + 1], Swpout = new long[PmdOrder + 1], SwpoutFallback = new long[PmdOrder + 1];

    /// <summary>
    /// thp_vma_allowable_orders(vma, TVA_PAGEFAULT, BIT(PMD_ORDER) - 1) for an anonymous fault: the sub-PMD orders whose
    /// hugepages-&lt;size&gt;kB/enabled allows this VMA — <c>always</c>; <c>madvise</c> with VM_HUGEPAGE; <c>inherit</c> when
    /// the top-level mode is <c>always</c>, or <c>madvise</c> with VM_HUGEPAGE — in a private anonymous VMA without
    /// VM_NOHUGEPAGE (shmem and file VMAs have their own knobs, not modelled), with a PMD level (x86-64 paging).
    /// </summary>
    public int AnonMthpOrders(in Vma vma)
    {
        if (!Config.AnyMthp || kernel.Options.Paging.Levels < 4 || vma.Kind is VmaKind.File or VmaKind.Special
            || (vma.Flags & (VmFlags.Shared | VmFlags.NoHugePage | VmFlags.Special)) != 0)
            return 0;
        bool madv = (vma.Flags & VmFlags.HugePage) != 0;
        int mask = Config.AnonOrdersAlways;
        if (madv)
            mask |= Config.AnonOrdersMadvise;
        if (Config.Enabled == ThpEnabled.Always || (madv && Config.Enabled != ThpEnabled.Never))
            mask |= Config.AnonOrdersInherit;
        return mask;
    }

    /// <summary>
    /// alloc_anon_folio's choice of orders for a fault at <paramref name="va"/>: of <see cref="AnonMthpOrders"/>, those
    /// whose naturally aligned range lies wholly in the VMA (thp_vma_suitable_orders), then, from the highest down, the
    /// first whose range is all pte_none, and every lower suitable order (their ranges lie inside it). 0: an order-0 page.
    /// </summary>
    public int AnonFaultOrders(MmState mm, in Vma vma, ulong va)
    {
        int orders = AnonMthpOrders(vma);
        for (int o = PmdOrder - 1; o >= ThpConfig.MinAnonOrder; o--)
        {
            if ((orders & (1 << o)) == 0)
                continue;
            ulong size = Pte.PageSize << o, addr = va & ~(size - 1);
            if (addr < vma.Start || addr + size > vma.End)
                orders &= ~(1 << o);
        }
        for (int o = PmdOrder - 1; o >= ThpConfig.MinAnonOrder; o--)
        {
            if ((orders & (1 << o)) == 0)
                continue;
            if (PteRangeNone(mm, va & ~((Pte.PageSize << o) - 1), 1 << o))
                return orders & ((2 << o) - 1);
            orders &= ~(1 << o);
        }
        return 0;
    }

    /// <summary>pte_range_none: no entry at all (not even a swap entry or marker) for <paramref name="pages"/> pages from <paramref name="addr"/>.</summary>
    public static bool PteRangeNone(MmState mm, ulong addr, int pages)
    {
        for (int i = 0; i < pages; i++)
            if (mm.Tables.Lookup(addr + ((ulong)i << Pte.PageShift)) != 0)
                return false;
        return true;
    }

    /// <summary>
    /// vma_alloc_folio for an mTHP of <paramref name="order"/> (GFP_TRANSHUGE_LIGHT by default: no reclaim or compaction):
    /// the zone must pass the low watermark for the order and hold a free block of it; the block is split into order-0
    /// pages in the buddy allocator's books (each is freed on its own later). pgalloc_normal counts its pages. Returns the
    /// first frame, or -1.
    /// </summary>
    public int AllocAnonFolio(int order, bool kswapd = true)
    {
        int head = AllocBlock(order, kswapd);
        if (head < 0)
            return -1;
        for (int i = 0; i < 1 << order; i++)
        {
            kernel.Dirty?.Frame(head + i);
            kernel.Zone.Frames[head + i] = Frame.Fresh(head + i);
        }
        kernel.Env.Counters.Add(kernel.C.PgAllocNormal, 1 << order);
        return head;
    }

    /// <summary>
    /// get_huge_zero_folio: the huge zero folio, allocated (order 9, zeroed) by the first read fault that wants it
    /// and counted in thp_zero_page_alloc; a failed allocation counts thp_zero_page_alloc_failed and the fault falls
    /// back to 4 KiB pages. Linux frees it again through a shrinker once no mm uses it; EcsMem keeps it (its 512
    /// frames are pinned and reserved like the 4 KiB zero page). Returns the first frame, or -1.
    /// </summary>
    public int GetHugeZeroFolio()
    {
        if (_hugeZeroPfn >= 0)
            return _hugeZeroPfn;
        int head = AllocBlock();
        if (head < 0)
        {
            kernel.Env.Counters.Increment(kernel.C.ThpZeroPageAllocFailed);
            return -1;
        }
        for (int i = 0; i < PmdPages; i++)
        {
            kernel.Dirty?.Frame(head + i);
            kernel.Zone.Frames[head + i] = Frame.Fresh(head + i) with { Flags = FrameFlags.Locked };
            kernel.Zone.PinFrame(head + i);
        }
        kernel.Env.Counters.Add(kernel.C.PgAllocNormal, PmdPages);
        kernel.Env.Counters.Increment(kernel.C.ThpZeroPageAlloc);
        _hugeZeroPfn = head;
        return head;
    }

    /// <summary>Marks that a PMD mapping now exists (the split checks start looking).</summary>
    internal void NoteMapped() => EverMapped = true;

    /// <summary>Whether <paramref name="va"/>'s entry in <paramref name="mm"/> belongs to a PMD mapping (pmd_trans_huge).</summary>
    public static bool IsPmdMapped(MmState mm, ulong va) => Pte.IsPmdMapped(mm.Tables.Lookup(va));

    /// <summary>
    /// __split_huge_pmd for the 2 MiB block at <paramref name="haddr"/> (a no-op when it is not PMD-mapped): the PMD
    /// becomes a page table of 512 entries mapping the same pages with the same protection (the deposited table),
    /// counted in thp_split_pmd, and the block is flushed from the TLBs (pmdp_invalidate). A huge zero PMD becomes
    /// 512 entries of the 4 KiB zero page (__split_huge_zero_page_pmd). The folio stays whole; it is split later,
    /// if at all (<see cref="SplitFolio"/>).
    /// </summary>
    public void SplitPmd(MmState mm, ulong haddr)
    {
        haddr &= PmdMask;
        ref ulong first = ref mm.Tables.Walk(haddr, out _);
        if (Unsafe.IsNullRef(ref first) || !Pte.IsPmdMapped(first))
            return;
        int zero = kernel.Zone.ZeroPfn;
        for (int i = 0; i < PmdPages; i++)
        {
            ulong va = haddr + ((ulong)i << Pte.PageShift);
            ref ulong slot = ref mm.Tables.Walk(va, out _);
            kernel.Dirty?.Pte(mm, va, slot);
            ulong v = slot & ~Pte.PmdMappedBit;
            if (IsHugeZero((int)new Pte(v).Pfn))
                v = new Pte(v).WithPfn((ulong)zero).Value;
            slot = v;
        }
        kernel.Env.Counters.Increment(kernel.C.ThpSplitPmd);
        kernel.Tlb.FlushTlbMmRange(mm.Tlb, haddr, haddr + PmdSize, freedTables: false);
    }

    /// <summary>
    /// split_huge_pmd_address at an address that is not 2 MiB-aligned (vma_adjust_trans_huge): the huge mapping that
    /// straddles a new VMA boundary or the edge of a zapped range must become 512 entries first.
    /// </summary>
    public void SplitPmdAt(MmState mm, ulong addr)
    {
        if ((addr & ~PmdMask) != 0)
            SplitPmd(mm, addr);
    }

    /// <summary>Every PMD mapping in [start, end) split (move_page_tables to a destination not 2 MiB-congruent).</summary>
    public void SplitRange(MmState mm, ulong start, ulong end)
    {
        for (ulong h = start & PmdMask; h < end; h += PmdSize)
            SplitPmd(mm, h);
    }

    /// <summary>
    /// What vma_adjust_trans_huge does whenever a call moves a VMA boundary: every VMA edge that is not 2 MiB-aligned
    /// and falls inside a PMD mapping splits it. Called after each address-space call, and before its page-table
    /// work (zap, change_protection, move), so a PMD mapping always lies wholly inside one VMA.
    /// </summary>
    public void SplitAtVmaEdges(MmState mm)
    {
        if (!EverMapped)
            return;
        foreach (ref readonly Vma v in mm.Mm.Vmas)
        {
            SplitPmdAt(mm, v.Start);
            SplitPmdAt(mm, v.End);
        }
    }

    /// <summary>
    /// The huge-page work before <paramref name="c"/>'s page-table change: zap_pmd_range and change_pmd_range split
    /// a PMD mapping the range covers only in part; move_page_tables moves a PMD whole (move_huge_pmd) only when
    /// source and destination are 2 MiB-congruent, and splits it otherwise.
    /// </summary>
    public void BeforeChange(MmState mm, in VmaChange c)
    {
        if (!EverMapped)
            return;
        if (c.Kind == VmaChangeKind.Moved && ((c.To - c.Start) & ~PmdMask) != 0)
        {
            SplitRange(mm, c.Start, c.End);
            return;
        }
        SplitPmdAt(mm, c.Start);
        SplitPmdAt(mm, c.End);
    }

    /// <summary>
    /// After a zap of [start, end): a THP left partly mapped goes on the deferred split queue
    /// (folio_remove_rmap_ptes → deferred_split_folio), counted once per folio in thp_deferred_split_page, and keeps
    /// the pages the zap unmapped; one left wholly unmapped is freed. Only the folios at the two edges can be cut by
    /// this zap (the range is zapped in ascending order and whole folios inside it go entirely).
    /// </summary>
    public void AfterZap(int edgeHeadStart, int edgeHeadEnd)
    {
        _zapEdgeA = _zapEdgeB = -1;
        DeferIfPartlyMapped(edgeHeadStart);
        if (edgeHeadEnd != edgeHeadStart)
            DeferIfPartlyMapped(edgeHeadEnd);
    }

    /// <summary>The THP head of the page mapped at <paramref name="va"/>, or -1 (for <see cref="AfterZap"/>).</summary>
    public int ThpHeadAt(MmState mm, ulong va)
    {
        if (!EverMapped)
            return -1;
        var pte = new Pte(mm.Tables.Lookup(va));
        if (!MemoryOps.IsMapped(pte.Value) || pte.Special)
            return -1;
        int pfn = (int)pte.Pfn;
        return (kernel.Zone.Frames[pfn].Flags & FrameFlags.Thp) != 0 ? HeadOf(pfn) : -1;
    }

    private void DeferIfPartlyMapped(int head)
    {
        if (head < 0)
            return;
        Frame[] frames = kernel.Zone.Frames;
        if ((frames[head].Flags & FrameFlags.Thp) == 0)
            return;
        bool any = false, all = true;
        for (int i = 0; i < PmdPages; i++)
        {
            bool mapped = frames[head + i].MapCount > 0;
            any |= mapped;
            all &= mapped;
        }
        if (any && !all)
            DeferredSplitFolio(head, partiallyMapped: true);
        else if (!any)
            FreeUnmappedPages(head, unqueue: true); // the folio's last mapping went: freed whole
    }

    /// <summary>
    /// Reclaim of a page of a THP (shrink_folio_list): the folio is split first — its PMD mappings
    /// (try_to_unmap with TTU_SPLIT_HUGE_PMD) and then the folio itself (split_folio_to_list) — and reclaim goes on
    /// with the 4 KiB page. Linux x86-64 (CONFIG_THP_SWAP) would first try to swap the folio out whole into a free
    /// swap cluster (thp_swpout) and split only when none is free (thp_swpout_fallback); EcsMem always splits.
    /// </summary>
    public void SplitForReclaim(int pfn)
    {
        int head = HeadOf(pfn);
        kernel.Rmap.CopyTo(head, _maps);
        foreach (var (mmId, va) in _maps)
        {
            MmState? mm = kernel.Tasks.MmById(mmId);
            if (mm is not null)
                SplitPmd(mm, va);
        }
        SplitFolio(head);
    }

    /// <summary>
    /// split_huge_page of an anonymous folio no PMD maps any more: its 512 pages become order-0 pages (already
    /// order-0 in the buddy allocator's books), counted in thp_split_page; the folio leaves the deferred split queue.
    /// </summary>
    public void SplitFolio(int head)
    {
        Frame[] frames = kernel.Zone.Frames;
        if ((frames[head].Flags & FrameFlags.Thp) == 0)
            return;
        UnqueueDeferredSplit(head);
        // lru_add_split_folio: the folio's one LRU entry becomes 512 (its pages beside the head, or left isolated for
        // the reclaim that holds the folio), before the pages stop being a THP.
        if (((frames[head].Flags & FrameFlags.Lru) != 0 || kernel.Zone.InLruAddBatch(head)) && kernel.Zone.LruOf(head) is Vmscan.Lruvec lruvec)
            lruvec.SplitFolio(head);
        for (int i = 0; i < PmdPages; i++)
        {
            kernel.Dirty?.Frame(head + i);
            frames[head + i].Flags &= ~(FrameFlags.Thp | FrameFlags.DeferredSplit);
        }
        kernel.Env.Counters.Increment(kernel.C.ThpSplitPage);
    }

    /// <summary>
    /// NR_ANON_THPS (AnonHugePages, nr_anon_transparent_hugepages): the THPs mapped by at least one PMD, counted once
    /// however many mms map them (after fork both do), in huge pages. Read from the frames and the page tables, so it
    /// costs a pass over the frames (reports only).
    /// </summary>
    public long AnonThps()
    {
        if (!EverMapped)
            return 0;
        Frame[] frames = kernel.Zone.Frames;
        long n = 0;
        for (int head = 0; head + PmdPages <= frames.Length; head += PmdPages)
        {
            if ((frames[head].Flags & FrameFlags.Thp) == 0 || frames[head].MapCount == 0)
                continue;
            kernel.Rmap.CopyTo(head, _maps);
            foreach (var (mmId, va) in _maps)
            {
                if (kernel.Tasks.MmById(mmId) is { } mm && IsPmdMapped(mm, va))
                {
                    n++;
                    break;
                }
            }
        }
        return n;
    }
}
