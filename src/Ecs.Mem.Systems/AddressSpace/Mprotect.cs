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
        var modify = new ModifyVisitor(this, Pte.ProtFromVmFlags(c.NewFlags, mm.Mm.Mode), c.NewFlags);
        // Only populated entries, in ascending order: the cost follows the page tables, not the range.
        mm.Tables.VisitRange(c.Start, c.End, ref modify);
        if (modify.FlushEnd != 0)
            kernel.Tlb.FlushTlbRange(mm.Tlb, modify.FlushStart, modify.FlushEnd);
    }

    /// <summary>change_pte_range: pte_modify of one entry, and the span of entries that need a TLB flush.</summary>
    private struct ModifyVisitor(Mprotect owner, ulong newProt, VmFlags newFlags) : IPteRefVisitor
    {
        private readonly bool _writable = (newFlags & VmFlags.Write) != 0;
        private readonly bool _shared = (newFlags & VmFlags.Shared) != 0;

        public ulong FlushStart { get; private set; } = ulong.MaxValue;

        public ulong FlushEnd { get; private set; }

        public void Visit(ulong va, ref ulong slot)
        {
            // PROT_NONE entries are mapped pages too: mprotect back must restore them.
            if (!MemoryOps.IsMapped(slot))
                return;
            var old = new Pte(slot);
            ulong updated = old.Modify(newProt).Value & ~Pte.RwBit;
            if (_writable && (_shared ? old.Dirty : owner.ExclusiveAnon(old)))
                updated |= Pte.RwBit;
            if (Pte.NeedsFlush(slot, updated))
            {
                FlushStart = Math.Min(FlushStart, va);
                FlushEnd = va + Pte.PageSize;
            }
            slot = updated;
        }
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
