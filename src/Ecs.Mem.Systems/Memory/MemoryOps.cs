using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.Memory;

/// <summary>
/// mm/memory.c's page-level operations every mechanism shares: mapping a page at a PTE with its rmap and RSS
/// accounting (set_pte_at + folio_add_*_rmap), unmapping one (zap_pte_range's per-entry work), zapping a
/// range (zap_page_range), the final put_page of a frame nobody uses, and swap_free / free_swap_and_cache
/// for swap entries being dropped. State stays with its owners (the zone's frames, the swap area and swap
/// cache, the reverse map); this class only applies Linux's rules across them.
/// </summary>
public sealed class MemoryOps(Kernel.Kernel kernel)
{
    private Kernel.DirtySet? Dirty => kernel.Dirty;

    private Frame[] Frames => kernel.Zone.Frames;
    private int[] Pins => kernel.Zone.Pins;
    private int ZeroPfn => kernel.Zone.ZeroPfn;
    private Swap.SwapArea Swap => kernel.Swap;
    private Swap.SwapCache SwapCache => kernel.SwapCache;

    /// <summary>
    /// pte_alloc (__pte_alloc → pte_alloc_one) run by task <paramref name="current"/> for a table allocated outside a
    /// fault's start (a fault's install, fault-around, swap-in, COW, a THP fault's fallback, hugetlb's set_huge_pte_at,
    /// fork's copy_page_range, mremap's move_page_tables): walks to <paramref name="va"/>'s entry in <paramref name="mm"/>,
    /// allocating missing tables, and returns a reference to it. GFP_PGTABLE_USER's __GFP_ACCOUNT charges, and
    /// try_charge_memcg reclaims in the current task's context, not mm->owner's: the faulting thread of a threaded
    /// process, the parent filling a fork child's tables (the child's mm->owner is already the child, set by mm_init
    /// before dup_mmap, but the child does not run yet). Every caller names its task; there is no mm->owner default.
    /// A table whose charge found its group at memory.max has the group reclaimed for <paramref name="current"/> in the
    /// next tick, this tick's reclaim stage having run or being past reach; Entity.Null (a kernel thread) reclaims for
    /// no one. A charge above memory.high adds its batch to <paramref name="current"/>'s memcg_nr_pages_over_high.
    /// A fault's own pte_alloc reclaims in this tick (<see cref="Fault.FaultHandlingSystem"/>).
    /// </summary>
    public ref ulong PteAlloc(MmState mm, ulong va, Entity current)
    {
        ref ulong slot = ref mm.Tables.PteAlloc(va, out AddressSpace.PageTableCharges charges);
        if (current.IsNull)
            return ref slot;
        // Above memory.high: current's memcg_nr_pages_over_high, paid at its next return to user (a fault's install).
        if (charges.OverHighPages > 0)
            kernel.Memcg!.AddOverHigh(current, charges.OverHighPages);
        if (charges.OverMax)
            kernel.Memcg!.ReclaimForPageTables(kernel.Env, charges, current, kernel.Tlb.CurrentCpu, thisTick: false);
        return ref slot;
    }

    /// <summary>
    /// set_pte_at + page_add_*_rmap run by task <paramref name="current"/>: maps <paramref name="pfn"/> at
    /// <paramref name="va"/> in <paramref name="mm"/> with protection bits <paramref name="prot"/>, counting the mapping
    /// in the frame's mapcount, the reverse map and the mm's RSS (MM_ANONPAGES or MM_FILEPAGES). The zero page is
    /// special: no rmap, no RSS, as in Linux. The page tables the mapping allocates reclaim for <paramref name="current"/>
    /// (<see cref="PteAlloc"/>): the faulting task at a fault's install, the parent in fork's copy_present_pte.
    /// </summary>
    public void MapPage(MmState mm, ulong va, int pfn, ulong prot, Entity current)
    {
        ref ulong slot = ref PteAlloc(mm, va, current);
        ulong old = slot;
        kernel.Dirty?.Pte(mm, va, old);
        if (IsMapped(old))
            UnmapPte(mm, va, old);
        else if (old != 0 && new Pte(old).IsSwap)
            DropSwapPte(mm, old, freeCache: false);
        // A PROT_NONE entry maps the page without the present bit (pte_protnone), as mprotect and fork leave it.
        slot = Pte.Make((ulong)pfn, (prot & Pte.ProtNoneBit) != 0 ? prot : prot | Pte.PresentBit).Value;
        if (pfn == ZeroPfn || kernel.Thp.IsHugeZero(pfn))
        {
            slot |= Pte.SpecialBit;
            return;
        }
        ref Frame f = ref Frames[pfn];
        f.MapCount++;
        f.RefCount++;
        kernel.Rmap.Add(pfn, mm.Id, va);
        // mm_counter: MM_SHMEMPAGES for a shmem page, MM_ANONPAGES for another anonymous one, else MM_FILEPAGES.
        if (f.IsShmem) mm.Mm.Struct.RssShmem++;
        else if (f.IsAnon) mm.Mm.Struct.RssAnon++;
        else mm.Mm.Struct.RssFile++;
        UpdateHiwater(mm);
    }

    /// <summary>page_remove_rmap for one present PTE being cleared or replaced (the PTE itself is the caller's).</summary>
    public void UnmapPte(MmState mm, ulong va, ulong pteValue)
    {
        kernel.Dirty?.Pte(mm, va, pteValue);
        var pte = new Pte(pteValue);
        int pfn = (int)pte.Pfn;
        if (pte.Special || pfn == ZeroPfn)
            return;
        ref Frame f = ref Frames[pfn];
        if (pte.Dirty)
            f.Flags |= FrameFlags.Dirty; // set_page_dirty: the hardware dirty bit moves to the struct page
        f.MapCount--;
        f.RefCount--;
        kernel.Rmap.Remove(pfn, mm.Id, va);
        if (f.IsShmem) mm.Mm.Struct.RssShmem--;
        else if (f.IsAnon) mm.Mm.Struct.RssAnon--;
        else mm.Mm.Struct.RssFile--;
    }

    /// <summary>
    /// swap_free for a swap PTE being removed. When the PTE is zapped (munmap, exit) rather than replaced by the
    /// swapped-in page, the swap-cache page goes too once nothing refers to it (free_swap_and_cache).
    /// </summary>
    public void DropSwapPte(MmState mm, ulong pteValue, bool freeCache)
    {
        int slot = (int)new Pte(pteValue).ToSwapEntry().Offset;
        mm.Mm.Struct.SwapEnts--;
        Swap.SwapFree(slot);
        if (freeCache)
            ReleaseSwapCacheIfOrphan(slot);
    }

    /// <summary>folio_free_swap: a page taken over by its only user leaves the swap cache and frees its slot.</summary>
    public void FreeSwapCacheOf(int pfn)
    {
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.SwapCache) == 0 || (f.Flags & FrameFlags.Writeback) != 0)
            return; // folio_free_swap never frees a page under writeback
        int slot = (int)f.Index;
        if (Swap.Count(slot) > 0)
            return;
        DeleteFromSwapCache(ref f, slot);
    }

    /// <summary>delete_from_swap_cache: the page leaves the swap cache and its slot is no longer cached.</summary>
    private void DeleteFromSwapCache(ref Frame f, int slot)
    {
        SwapCache.Delete(slot);
        Swap.SetCached(slot, false);
        f.Flags &= ~FrameFlags.SwapCache;
        f.Index = 0;
    }

    /// <summary>
    /// A swap-cache page whose slot is no longer referenced by any PTE is garbage (free_swap_and_cache):
    /// drop it from the swap cache and free its frame if nothing maps it.
    /// </summary>
    public void ReleaseSwapCacheIfOrphan(int slot)
    {
        if (!Swap.InUse(slot) || Swap.Count(slot) > 0)
            return;
        int pfn = SwapCache.Lookup(slot);
        if (pfn < 0)
            return;
        ref Frame f = ref Frames[pfn];
        // A folio reclaim holds isolated stays in the swap cache for reclaim's own release (as FreeSwapCacheIfUnused).
        if ((f.Flags & FrameFlags.Writeback) != 0 || Pins[pfn] > 0 || f.MapCount > 0 || kernel.Zone.HeldIsolated(pfn))
            return;
        DeleteFromSwapCache(ref f, slot);
        kernel.Zone.FreeIfOrphan(pfn, kernel.Tlb.CurrentCpu);
    }

    /// <summary>
    /// After the last pin of a frame goes: frees it if nothing uses it any more. A swap-cache page stays
    /// (reclaim drops it cheaply later, as in Linux).
    /// </summary>
    public void ReleaseIfUnused(int pfn)
    {
        ref Frame f = ref Frames[pfn];
        if (f.IsFree)
            return;
        // A page of a THP that stays partly mapped is the folio's until it is split (deferred_split_scan).
        if ((f.Flags & (FrameFlags.Thp | FrameFlags.SwapCache)) == FrameFlags.Thp && f.MapCount == 0 && kernel.Thp.ReleaseThpPage(pfn))
            return;
        if ((f.Flags & FrameFlags.SwapCache) == 0)
            kernel.Zone.FreeIfOrphan(pfn, kernel.Tlb.CurrentCpu);
        else
            FreeSwapCacheIfUnused(pfn);
    }

    /// <summary>
    /// free_swap_cache / try_to_free_swap after an unmap: a swap-cache page that no PTE maps and whose swap
    /// entry no PTE holds any more is garbage, so it leaves the swap cache (freeing the slot) and its frame.
    /// Without this an exiting process that had read pages back from swap left them (and their slots) behind.
    /// </summary>
    public void FreeSwapCacheIfUnused(int pfn) => FreeSwapCacheIfUnused(pfn, kernel.Tlb.CurrentCpu);

    /// <summary>
    /// As <see cref="FreeSwapCacheIfUnused(int)"/>, the frame going to <paramref name="cpu"/>'s per-CPU list (an I/O
    /// completion's CPU). A folio reclaim holds isolated is left to reclaim, which frees it (__remove_mapping): its
    /// isolation reference keeps the refcount up (folio_isolate_lru), so no other put frees it.
    /// </summary>
    public void FreeSwapCacheIfUnused(int pfn, int cpu)
    {
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.SwapCache) == 0 || (f.Flags & FrameFlags.Writeback) != 0 || f.MapCount > 0 || Pins[pfn] > 0)
            return;
        int slot = (int)f.Index;
        if (Swap.Count(slot) > 0 || kernel.Zone.HeldIsolated(pfn))
            return;
        DeleteFromSwapCache(ref f, slot);
        kernel.Zone.FreeIfOrphan(pfn, cpu);
    }

    /// <summary>
    /// zap_page_range over [start, end): clears every PTE, drops mappings and swap references, frees pages
    /// left without users and page tables left empty, and flushes the TLB for the range.
    /// </summary>
    public void ZapRange(MmState mm, ulong start, ulong end)
    {
        // zap_pmd_range: a PMD mapping the range covers only in part is split first (__split_huge_pmd); one wholly
        // inside goes at once (zap_huge_pmd). A THP the zap leaves partly mapped goes on the deferred split queue.
        var thp = kernel.Thp;
        int headStart = -1, headEnd = -1;
        if (thp.EverMapped && end > start)
        {
            thp.SplitPmdAt(mm, start);
            thp.SplitPmdAt(mm, end);
            headStart = thp.ThpHeadAt(mm, start);
            headEnd = thp.ThpHeadAt(mm, end - Pte.PageSize);
        }
        if (headStart >= 0 || headEnd >= 0)
            thp.BeforeZap(headStart, headEnd);
        ZapRangeCore(mm, start, end);
        if (headStart >= 0 || headEnd >= 0)
            thp.AfterZap(headStart, headEnd);
    }

    private void ZapRangeCore(MmState mm, ulong start, ulong end)
    {
        var zap = new ZapVisitor(this, mm);
        ulong tablesBefore = mm.Tables.PgtablesBytes;
        mm.Tables.UnmapRange(start, end, ref zap);
        // mmu_gather's freed_tables: page-table pages went too, so lazy CPUs must be flushed as well.
        kernel.Tlb.FlushTlbMmRange(mm.Tlb, start, end, freedTables: mm.Tables.PgtablesBytes < tablesBefore);
    }

    private struct ZapVisitor(MemoryOps memory, MmState mm) : IPteVisitor
    {
        public readonly void Visit(ulong va, ulong pte)
        {
            memory.Dirty?.Pte(mm, va, pte);
            var p = new Pte(pte);
            if (IsMapped(pte))
            {
                memory.UnmapPte(mm, va, pte);
                if (!p.Special && (int)p.Pfn != memory.ZeroPfn)
                    memory.ReleaseIfUnused((int)p.Pfn);
                else if (p.PmdMapped && (va & (Hugetlb.Hugetlb.Size - 1)) == 0 && memory.IsHugetlb((int)p.Pfn))
                    memory.HugetlbUnmapped(mm, (int)p.Pfn); // the first of a hugetlb PMD's 512 entries: one mapping goes
            }
            else if (p.IsSwap)
            {
                memory.DropSwapPte(mm, pte, freeCache: true);
            }
        }
    }

    private bool IsHugetlb(int pfn) => kernel.Hugetlb.IsHugetlb(pfn);

    private void HugetlbUnmapped(MmState mm, int head) => kernel.Hugetlb.Unmapped(mm, head);

    /// <summary>
    /// pte_present as Linux means it: the entry maps a page, either accessibly (present bit) or as a PROT_NONE
    /// entry (protnone bit, present bit clear). Such a page is still mapped: it counts in the mapcount, the
    /// rmap and RSS, and munmap, exit and reclaim must unmap it.
    /// </summary>
    public static bool IsMapped(ulong pte) => (pte & (Pte.PresentBit | Pte.ProtNoneBit)) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void UpdateHiwater(MmState mm)
    {
        ulong rss = mm.Rss;
        if (rss > mm.HiwaterRss) mm.HiwaterRss = rss;
    }
}
