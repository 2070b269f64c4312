using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.Memory;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// MADV_COLD and MADV_PAGEOUT (madvise_cold_or_pageout_pte_range, mm/madvise.c; reclaim_pages, mm/vmscan.c): the
/// walk over the range's present PTEs. Only a page on the LRU that this PTE alone maps (folio_mapcount == 1) is
/// touched, as Linux does not interfere with other mappings of a page (a page still shared with a forked child,
/// the zero page and a page under fault are passed over). COLD clears the PTE's young bit and PG_referenced and
/// moves the page to the inactive list (folio_deactivate; pgdeactivate counts pages that were active). PAGEOUT
/// isolates the page and reclaims it at once, ignoring its references (shrink_folio_list with ignore_references):
/// an anonymous page gets a swap slot and enters the swap cache (add_to_swap), its PTE becomes a swap entry
/// (try_to_unmap) and it is written (pswpout, pgpgout); the write is asynchronous in Linux, so the page stays in
/// the swap cache until later reclaim frees it, and a fault before that finds it there (a minor fault). A clean
/// page already in the swap cache is unmapped and freed at once (__remove_mapping). Without a free swap slot the
/// anonymous page stays (activate_locked). A clean MADV_FREE page is discarded; a written one is made swap-backed
/// again and stays. A file page is unmapped; clean, it leaves the page cache and is freed; dirty, it stays cached
/// and dirty (reclaim outside kswapd leaves dirty file pages to the flusher). A shmem page (shared anonymous memory,
/// memfd) is unmapped and written to swap through shmem_writeout, its swap entry kept in the object's page cache, and
/// stays in the swap cache as an anonymous page does. Simplified: the counters
/// Linux keeps for these paths besides pgdeactivate, pswpout and pgpgout (pgactivate, pglazyfreed) are not kept.
/// </summary>
public static class ColdPageout
{
    /// <summary>madvise_cold / madvise_pageout for [start, end) of one VMA (the caller checked can_madv_lru_vma).</summary>
    public static void Apply(Kernel.Kernel k, Kernel.MmState mm, ulong start, ulong end, bool pageout, int cpu)
    {
        // madvise_cold / madvise_pageout begin with lru_add_drain: this CPU's new pages are on the lists first.
        k.LruAddDrainCpu(cpu);
        var v = new Visitor(k, mm, pageout, cpu);
        mm.Tables.VisitRange(start, end, ref v);
        k.Tlb.FlushTlbMmRange(mm.Tlb, start, end);
    }

    private readonly struct Visitor(Kernel.Kernel k, Kernel.MmState mm, bool pageout, int cpu) : IPteRefVisitor
    {
        public void Visit(ulong va, ref ulong slot)
        {
            if ((slot & Pte.PresentBit) == 0)
                return; // pte_present: swap entries and PROT_NONE entries are skipped
            var pte = new Pte(slot);
            int pfn = (int)pte.Pfn;
            if (pte.Special || pfn == k.Zone.ZeroPfn)
                return; // vm_normal_folio: no folio behind the zero page
            ref Frame f = ref k.Zone.Frames[pfn];
            // madvise_cold_or_pageout_pte_range splits a large folio it meets (split_folio) and goes on with its pages:
            // simplification, always (Linux keeps one the range maps whole).
            if (f.FolioOrder != 0 && k.Zone.Pins[pfn] == 0)
                Filemap.PageCacheFolio.Split(k, pfn);
            if ((f.Flags & FrameFlags.Lru) == 0 || f.MapCount != 1 || k.Zone.Pins[pfn] > 0 || k.Zone.Unevictable[pfn])
                return;
            if (!pageout)
            {
                if ((slot & Pte.AccessedBit) != 0)
                {
                    k.Dirty?.Pte(mm, va, slot);
                    slot &= ~Pte.AccessedBit; // pte_mkold; the caller flushes the range
                }

                if (k.FolioBatches is { } batches && k.LruvecOf(pfn) is Vmscan.Lruvec { LruGenEnabled: false } lv)
                {
                    // folio_deactivate: an active folio joins this CPU's lru_deactivate batch; pgdeactivate when it moves.
                    if (lv.FolioDeactivate(pfn, out int head, out int nr))
                        batches.Add(Vmscan.CpuFolioBatches.Kind.Deactivate, head, cpu, large: nr != 1);
                    return;
                }

                if (k.Zone.LruOf(pfn).OnDeactivate(pfn))
                    k.Env.Counters.Increment(k.C.PgDeactivate);
                return;
            }

            ShrinkFolio(ref f, pfn, va, ref slot);
        }

        /// <summary>shrink_folio_list for one isolated page, references ignored.</summary>
        private void ShrinkFolio(ref Frame f, int pfn, ulong va, ref ulong slot)
        {
            bool dirty = (f.Flags & FrameFlags.Dirty) != 0 || (slot & Pte.DirtyBit) != 0;
            if (f.IsAnon && (f.Flags & (FrameFlags.SwapBacked | FrameFlags.SwapCache)) == 0)
            {
                // A lazily freed page: discarded when clean; written again since MADV_FREE, swap-backed again.
                if (dirty)
                {
                    f.Flags |= FrameFlags.SwapBacked;
                    return;
                }

                Unmap(va, ref slot, 0);
                k.Zone.FreeFrame(pfn, cpu);
                return;
            }

            if (f.IsAnon)
            {
                bool fresh = false;
                if ((f.Flags & FrameFlags.SwapCache) == 0)
                {
                    int swapSlot = k.Swap.GetSwapPage();
                    if (swapSlot == 0)
                        return; // add_to_swap failed: activate_locked, the page stays
                    k.SwapCache.Add(swapSlot, pfn);
                    k.SwapReadahead.ClearReadahead(pfn);
                    f.Flags |= FrameFlags.SwapCache;
                    f.Index = swapSlot;
                    fresh = true;
                }

                int s = (int)f.Index;
                ulong swapPte = new SwapEntry(0, (ulong)s).ToPteValue();
                // try_to_unmap_one keeps PageAnonExclusive in the swap entry: this PTE alone maps it and no fork shares it.
                if ((slot & Pte.CowBit) == 0)
                    swapPte |= Pte.SwpExclusiveBit;
                Unmap(va, ref slot, swapPte);
                if (dirty || fresh)
                {
                    // pageout → swap_writepage: the write is submitted and the page stays in the swap cache.
                    k.Swap.Write(s, f.ContentToken);
                    f.Flags &= ~FrameFlags.Dirty;
                    k.Env.Counters.Increment(k.C.PswpOut);
                    k.Env.Counters.Add(k.C.PgPgOut, (long)(Pte.PageSize / 1024));
                    k.Events?.SwapOut(pfn, s, cpu, mm.Id, va);
                    k.Cycles.Charge(Timing.CycleCategory.Reclaim, k.Timing.SwapOutCycles);
                    return;
                }

                // A clean swap-cache page: __remove_mapping drops it from the swap cache and frees it.
                k.SwapCache.Delete(s);
                k.Swap.SetCached(s, false);
                f.Flags &= ~FrameFlags.SwapCache;
                f.Index = 0;
                k.Zone.FreeFrame(pfn, cpu);
                return;
            }

            if (f.IsShmem)
            {
                // A shmem page (root may page out a file it can write: can_do_file_pageout): unmapped, then
                // shmem_writeout gives it a swap slot whose entry the object keeps in its page cache; the write is
                // submitted and the page stays in the swap cache, so a fault before later reclaim frees it is minor.
                int swapSlot = k.Swap.GetSwapPage();
                if (swapSlot == 0)
                    return; // no swap: shmem_writeout redirties it and it stays
                if (k.Memcg is { } mc && !mc.TryChargeSwap(pfn, swapSlot))
                {
                    k.Swap.SetCached(swapSlot, false);
                    return;
                }
                Unmap(va, ref slot, 0);
                k.OpenFiles.ShmemWriteout(pfn, swapSlot);
                k.SwapReadahead.ClearReadahead(pfn);
                k.Swap.Write(swapSlot, f.ContentToken);
                f.Flags &= ~FrameFlags.Dirty;
                k.Env.Counters.Increment(k.C.PswpOut);
                k.Env.Counters.Add(k.C.PgPgOut, (long)(Pte.PageSize / 1024));
                k.Events?.SwapOut(pfn, swapSlot, cpu, mm.Id, va);
                k.Cycles.Charge(Timing.CycleCategory.Reclaim, k.Timing.SwapOutCycles);
                return;
            }

            // A file page: unmapped (the PTE's dirty bit moves to the page); dropped if clean.
            Unmap(va, ref slot, 0);
            if ((f.Flags & FrameFlags.Dirty) != 0 || f.MapCount > 0)
                return;
            if (f.Mapping >= 0)
                k.PageCache.Delete(f.Mapping, f.Index);
            k.Zone.FreeFrame(pfn, cpu);
        }

        /// <summary>try_to_unmap_one: the PTE becomes <paramref name="newPte"/> (a swap entry, or none).</summary>
        private void Unmap(ulong va, ref ulong slot, ulong newPte)
        {
            k.Dirty?.Pte(mm, va, slot);
            k.Memory.UnmapPte(mm, va, slot);
            k.Events?.Unmap(mm.Id, va, (int)new Pte(slot).Pfn, newPte, cpu);
            slot = newPte;
            if (newPte != 0)
            {
                k.Swap.SwapDuplicate((int)new Pte(newPte).ToSwapEntry().Offset);
                mm.Mm.Struct.SwapEnts++;
            }
        }
    }
}
