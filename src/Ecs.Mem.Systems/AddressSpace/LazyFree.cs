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
    /// <summary>Marks [start, end) of an anonymous VMA lazily freeable.</summary>
    public static void MarkRange(Kernel.Kernel k, Kernel.MmState mm, ulong start, ulong end)
    {
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
}
