using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

/// <summary>mm/mprotect.c: change_protection over the PTEs of a range whose VMA protection changed.</summary>
public sealed class Mprotect(Kernel.Kernel kernel)
{
    /// <summary>
    /// change_protection over one range mprotect changed: every present PTE gets the new protection
    /// (pte_modify keeps pfn, A and D bits). Write access follows MM_CP_TRY_CHANGE_WRITABLE
    /// (can_change_pte_writable): in a writable private mapping only an exclusive anonymous page (mapped
    /// once, not copy-on-write, its swap entry held by nobody else) is writable; in a writable shared mapping
    /// only a dirty page is (clean ones stay read-only so the first write is noticed); otherwise none is.
    /// As Linux's mmu_gather does, the TLB flush covers only the span of entries that need one
    /// (<see cref="Pte.NeedsFlush"/>), and there is none when no entry does.
    /// </summary>
    public void ChangeProtection(MmState mm, in VmaChange c)
    {
        ulong newProt = Pte.ProtFromVmFlags(c.NewFlags, mm.Mm.Mode);
        bool writable = (c.NewFlags & VmFlags.Write) != 0;
        bool shared = (c.NewFlags & VmFlags.Shared) != 0;
        ulong flushStart = ulong.MaxValue, flushEnd = 0;
        for (ulong va = c.Start; va < c.End; va += Pte.PageSize)
        {
            ref ulong slot = ref mm.Tables.Walk(va, false, out _);
            // PROT_NONE entries are mapped pages too: mprotect back must restore them.
            if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) || !MemoryOps.IsMapped(slot))
                continue;
            var old = new Pte(slot);
            ulong updated = old.Modify(newProt).Value & ~Pte.RwBit;
            if (writable && (shared ? old.Dirty : ExclusiveAnon(old)))
                updated |= Pte.RwBit;
            if (Pte.NeedsFlush(slot, updated))
            {
                flushStart = Math.Min(flushStart, va);
                flushEnd = va + Pte.PageSize;
            }
            slot = updated;
        }
        if (flushEnd != 0)
            kernel.Tlb.FlushTlbRange(mm.Tlb, flushStart, flushEnd);
    }

    /// <summary>PageAnonExclusive, as far as the model can tell: an anonymous page only this PTE uses.</summary>
    private bool ExclusiveAnon(Pte pte)
    {
        int pfn = (int)pte.Pfn;
        if (pte.Special || pte.Cow || pfn == kernel.Zone.ZeroPfn)
            return false;
        ref Frame f = ref kernel.Zone.Frames[pfn];
        return f.IsAnon && f.MapCount == 1
            && ((f.Flags & FrameFlags.SwapCache) == 0 || kernel.Swap.Count((int)f.Index) == 0);
    }
}
