using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Systems.AddressSpace;

namespace EcsMem.Systems.Kernel;

public sealed partial class Kernel
{
    /// <summary>Page-table pages a fault may need in the worst case (every level below the root).</summary>
    public int PageTableReserve => Options.Paging.Levels - 1;

    /// <summary>
    /// Whether an allocation with <paramref name="freePages"/> free must wait for direct reclaim: a frame
    /// needs free pages above the min watermark, and any fault must leave enough frames for the page-table
    /// pages its mapping may allocate (those are taken without a watermark check, so they are kept back here).
    /// </summary>
    public bool MustStall(long freePages, bool needsFrame)
    {
        // Faults granted earlier and not yet installed (a read in flight) may still need their tables.
        long avail = freePages - ((long)TableReservations * PageTableReserve);
        return needsFrame
            ? Watermarks.BelowMin(freePages) || avail - 1 < PageTableReserve
            : avail < PageTableReserve;
    }

    /// <summary>Faults the allocator granted whose PTE is not installed yet (each may need page-table pages).</summary>
    public int TableReservations { get; private set; }

    /// <summary>The allocator grants <paramref name="rec"/>: keep page-table frames back until it is installed or dropped.</summary>
    public void ReserveTables(ref FaultRecord rec)
    {
        if (rec.TablesReserved)
            return;
        rec.TablesReserved = true;
        TableReservations++;
    }

    /// <summary>The fault was installed or dropped: its page-table frames are no longer held back.</summary>
    public void ReleaseTables(in FaultRecord rec)
    {
        if (rec.TablesReserved)
            TableReservations--;
    }

    /// <summary>
    /// set_pte_at + page_add_*_rmap: maps <paramref name="pfn"/> at <paramref name="va"/> in <paramref name="mm"/>
    /// with protection bits <paramref name="prot"/>, counting the mapping in the frame's mapcount, the reverse map
    /// and the mm's RSS (MM_ANONPAGES or MM_FILEPAGES). The zero page is special: no rmap, no RSS, as in Linux.
    /// </summary>
    public void MapPage(MmState mm, ulong va, int pfn, ulong prot)
    {
        ref ulong slot = ref mm.Tables.Walk(va, allocate: true, out _);
        ulong old = slot;
        if (IsMapped(old))
            UnmapPte(mm, va, old);
        else if (old != 0 && new Pte(old).IsSwap)
            DropSwapPte(mm, old, freeCache: false);
        // A PROT_NONE entry maps the page without the present bit (pte_protnone), as mprotect and fork leave it.
        slot = Pte.Make((ulong)pfn, (prot & Pte.ProtNoneBit) != 0 ? prot : prot | Pte.PresentBit).Value;
        if (pfn == ZeroPfn)
        {
            slot |= Pte.SpecialBit;
            return;
        }
        ref Frame f = ref Frames[pfn];
        f.MapCount++;
        f.RefCount++;
        Rmap.Add(pfn, mm.Id, va);
        if (f.IsAnon) mm.Mm.Struct.RssAnon++;
        else mm.Mm.Struct.RssFile++;
        UpdateHiwater(mm);
    }

    /// <summary>page_remove_rmap for one present PTE being cleared or replaced (the PTE itself is the caller's).</summary>
    internal void UnmapPte(MmState mm, ulong va, ulong pteValue)
    {
        var pte = new Pte(pteValue);
        int pfn = (int)pte.Pfn;
        if (pte.Special || pfn == ZeroPfn)
            return;
        ref Frame f = ref Frames[pfn];
        if (pte.Dirty)
            f.Flags |= FrameFlags.Dirty; // set_page_dirty: the hardware dirty bit moves to the struct page
        f.MapCount--;
        f.RefCount--;
        Rmap.Remove(pfn, mm.Id, va);
        if (f.IsAnon) mm.Mm.Struct.RssAnon--;
        else mm.Mm.Struct.RssFile--;
    }

    /// <summary>
    /// swap_free for a swap PTE being removed. When the PTE is zapped (munmap, exit) rather than replaced by the
    /// swapped-in page, the swap-cache page goes too once nothing refers to it (free_swap_and_cache).
    /// </summary>
    internal void DropSwapPte(MmState mm, ulong pteValue, bool freeCache)
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
        if ((f.Flags & FrameFlags.SwapCache) == 0)
            return;
        int slot = (int)f.Index;
        if (Swap.Count(slot) > 0)
            return;
        SwapCache.Delete(slot);
        Swap.SetCached(slot, false);
        f.Flags &= ~FrameFlags.SwapCache;
        f.Index = 0;
    }

    /// <summary>
    /// Frees a frame nobody needs any more: not mapped, not in the page cache or swap cache. Called after
    /// every unmap, so a last unmap of an anonymous page frees it immediately (as the final put_page does).
    /// </summary>
    internal void FreeIfOrphan(int pfn)
    {
        ref Frame f = ref Frames[pfn];
        if (f.MapCount > 0 || Pins[pfn] > 0 || (f.Flags & (FrameFlags.SwapCache | FrameFlags.Writeback | FrameFlags.Buddy)) != 0)
            return;
        if (!f.IsAnon && f.Mapping >= 0)
            return; // a file page stays in the page cache until reclaim drops it
        FreeFrame(pfn);
    }

    /// <summary>
    /// A swap-cache page whose slot is no longer referenced by any PTE is garbage (free_swap_and_cache):
    /// drop it from the swap cache and free its frame if nothing maps it.
    /// </summary>
    internal void ReleaseSwapCacheIfOrphan(int slot)
    {
        if (!Swap.InUse(slot) || Swap.Count(slot) > 0)
            return;
        int pfn = SwapCache.Lookup(slot);
        if (pfn < 0)
            return;
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.Writeback) != 0 || Pins[pfn] > 0 || f.MapCount > 0)
            return;
        SwapCache.Delete(slot);
        Swap.SetCached(slot, false);
        f.Flags &= ~FrameFlags.SwapCache;
        f.Index = 0;
        FreeIfOrphan(pfn);
    }

    /// <summary>
    /// After the last pin of a frame goes: frees it if nothing uses it any more. A swap-cache page stays
    /// (reclaim drops it cheaply later, as in Linux).
    /// </summary>
    public void ReleaseIfUnused(int pfn)
    {
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.Buddy) != 0)
            return;
        if ((f.Flags & FrameFlags.SwapCache) == 0)
            FreeIfOrphan(pfn);
        else
            FreeSwapCacheIfUnused(pfn);
    }

    /// <summary>
    /// free_swap_cache / try_to_free_swap after an unmap: a swap-cache page that no PTE maps and whose swap
    /// entry no PTE holds any more is garbage, so it leaves the swap cache (freeing the slot) and its frame.
    /// Without this an exiting process that had read pages back from swap left them (and their slots) behind.
    /// </summary>
    internal void FreeSwapCacheIfUnused(int pfn)
    {
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.SwapCache) == 0 || (f.Flags & FrameFlags.Writeback) != 0 || f.MapCount > 0 || Pins[pfn] > 0)
            return;
        int slot = (int)f.Index;
        if (Swap.Count(slot) > 0)
            return;
        SwapCache.Delete(slot);
        Swap.SetCached(slot, false);
        f.Flags &= ~FrameFlags.SwapCache;
        f.Index = 0;
        FreeIfOrphan(pfn);
    }

    /// <summary>
    /// zap_page_range over [start, end): clears every PTE, drops mappings and swap references, frees pages
    /// left without users and page tables left empty, and flushes the TLB for the range.
    /// </summary>
    public void ZapRange(MmState mm, ulong start, ulong end)
    {
        var zap = new ZapVisitor(this, mm);
        mm.Tables.UnmapRange(start, end, ref zap);
        Tlb.FlushTlbRange(mm.Tlb, start, end);
    }

    private struct ZapVisitor(Kernel kernel, MmState mm) : IPteVisitor
    {
        public readonly void Visit(ulong va, ulong pte)
        {
            var p = new Pte(pte);
            if (IsMapped(pte))
            {
                kernel.UnmapPte(mm, va, pte);
                if (!p.Special && (int)p.Pfn != kernel.ZeroPfn)
                    kernel.ReleaseIfUnused((int)p.Pfn);
            }
            else if (p.IsSwap)
            {
                kernel.DropSwapPte(mm, pte, freeCache: true);
            }
        }
    }

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
