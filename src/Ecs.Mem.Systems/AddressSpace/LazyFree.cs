using EcsMem.Components;
using EcsMem.Systems.Memory;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// MADV_FREE (madvise_free_pte_range + folio_mark_lazyfree, mm/madvise.c and mm/swap.c): the range's swap
/// entries are dropped at once (free_swap_and_cache, the PTE cleared), and each present anonymous page mapped
/// only here loses its dirty state (PTE dirty and accessed bits, PG_dirty, its swap-cache copy) and PG_swapbacked.
/// Reclaim then discards such a page without writing it to swap, unless it was written again meanwhile (the PTE
/// dirty bit is back), in which case it becomes swap-backed again and stays (see the swap-out system).
/// </summary>
public static class LazyFree
{
    /// <summary>
    /// madvise_free_single_vma: marks [start, end) of an anonymous VMA lazily freeable. With the Linux lruvec it
    /// begins with lru_add_drain on the calling CPU (measured on 6.18: a second MADV_FREE moves the first one's
    /// pending folio), and each folio goes through that CPU's lru_lazyfree batch (<see cref="Vmscan.CpuFolioBatches"/>).
    /// </summary>
    public static void MarkRange(Kernel.Kernel k, Kernel.MmState mm, ulong start, ulong end)
    {
        if (k.FolioBatches is not null)
            k.LruAddDrainCpu(k.Tlb.CurrentCpu);
        var v = new MarkVisitor(k, mm);
        mm.Tables.VisitRange(start, end, ref v);
        k.Tlb.FlushTlbMmRange(mm.Tlb, start, end);
    }

    private readonly struct MarkVisitor(Kernel.Kernel k, Kernel.MmState mm) : IPteRefVisitor
    {
        public void Visit(ulong va, ref ulong slot)
        {
            var pte = new Pte(slot);
            if (!MemoryOps.IsMapped(slot))
            {
                if (pte.IsSwap)
                {
                    k.Dirty?.Pte(mm, va, slot);
                    ulong old = slot;
                    slot = 0;
                    k.Memory.DropSwapPte(mm, old, freeCache: true);
                }

                return;
            }

            int pfn = (int)pte.Pfn;
            if (pte.Special || pfn == k.Zone.ZeroPfn)
            {
                return;
            }

            ref Frame f = ref k.Zone.Frames[pfn];
            // A page another process still maps (after fork) is left alone.
            if (!f.IsAnon || f.MapCount != 1)
            {
                return;
            }

            if ((f.Flags & FrameFlags.SwapCache) != 0)
            {
                k.Memory.FreeSwapCacheOf(pfn);
                if ((f.Flags & FrameFlags.SwapCache) != 0)
                {
                    return;
                }
            }

            f.Flags &= ~FrameFlags.Dirty;
            if ((slot & (Pte.DirtyBit | Pte.AccessedBit)) != 0)
            {
                k.Dirty?.Pte(mm, va, slot);
                slot &= ~(Pte.DirtyBit | Pte.AccessedBit);
            }

            if (k.FolioBatches is { } batches)
            {
                MarkLazyfreeBatched(k, batches, pfn);
                return;
            }

            // folio_mark_lazyfree: only a swap-backed page not in the swap cache and not mlocked.
            if ((f.Flags & FrameFlags.SwapBacked) != 0 && !k.Zone.Unevictable[pfn])
            {
                f.Flags &= ~FrameFlags.SwapBacked;
                // lru_lazyfree_fn: onto the inactive file list with the Linux LRU; pglazyfree either way.
                k.LruvecOf(pfn)?.MarkLazyFree(pfn);
                k.Env.Counters.Increment(k.C.PgLazyFree);
            }
        }
    }

    /// <summary>
    /// folio_mark_lazyfree (mm/swap.c) with the Linux lruvec: an anonymous, swap-backed folio on the LRU (PG_lru: not
    /// in an lru_add batch, whose move sets it), out of the swap cache and evictable joins the current CPU's lru_lazyfree batch; its
    /// PG_swapbacked goes when the batch moves. A folio already waiting in a batch (still swap-backed, still on its
    /// list) joins again, as in Linux. A page of a large folio (THP) keeps the page-at-a-time handling, after the
    /// batch is moved: folio_batch_add_and_move moves the batch at once for a large folio.
    /// </summary>
    private static void MarkLazyfreeBatched(Kernel.Kernel k, Vmscan.CpuFolioBatches batches, int pfn)
    {
        ref Frame f = ref k.Zone.Frames[pfn];
        if ((f.Flags & FrameFlags.SwapBacked) == 0 || (f.Flags & (FrameFlags.Lru | FrameFlags.Unevictable)) != FrameFlags.Lru)
        {
            return;
        }

        // Mlocked (EcsMem marks it unevictable): a pin of the batches' own does not count as mlock.
        int held = batches.Held(pfn);
        if (k.Zone.Unevictable[pfn] && !(held > 0 && k.Zone.Pins[pfn] == held))
        {
            return;
        }

        Vmscan.Lruvec? lv = k.LruvecOf(pfn);
        if (lv is null)
        {
            return;
        }

        int cpu = k.Tlb.CurrentCpu;
        if ((f.Flags & FrameFlags.Thp) != 0 || f.FolioOrder != 0)
        {
            batches.MoveNow(Vmscan.CpuFolioBatches.Kind.Lazyfree, cpu);
            f.Flags &= ~FrameFlags.SwapBacked;
            lv.MarkLazyFree(pfn);
            k.Env.Counters.Increment(k.C.PgLazyFree);
            return;
        }

        batches.AddLazyfree(pfn, cpu, large: false);
    }
}
