using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// The timeline's <c>zero_fill</c>: the process's stores to a range wrote zeros. Linux reads a page's data when it
/// swaps it out (swap_writeout → is_folio_zero_filled, 6.12+); EcsMem has no data, so a scenario says which pages hold
/// only zeros, and each such frame carries <see cref="FrameFlags.ZeroFilled"/> until a store of the trace writes data
/// into it (the page walk clears it: see <see cref="Tlb.TlbFillSystem"/>).
/// </summary>
public static class ZeroFill
{
    /// <summary>
    /// Marks the private or shared swap-backed pages mapped writable by 4 KiB PTEs in [<paramref name="start"/>,
    /// +<paramref name="len"/>) of <paramref name="mm"/> as zero-filled and drops their TLB entries, so the next
    /// store to one walks and clears the mark. Pages not present, read-only (a fork's copy-on-write shares the frame
    /// with another process, whose data this says nothing about), PMD-mapped or file-backed are left as they are.
    /// Returns the pages marked.
    /// </summary>
    public static int Apply(Kernel.Kernel k, MmState mm, ulong start, ulong len)
    {
        Frame[] frames = k.Zone.Frames;
        ulong end = start + len;
        int marked = 0;
        for (ulong va = start & Pte.PageMask; va < end; va += Pte.PageSize)
        {
            ulong pte = mm.Tables.Lookup(va);
            if ((pte & Pte.PresentBit) == 0 || (pte & Pte.RwBit) == 0 || Pte.IsPmdMapped(pte))
                continue;
            ulong pfn = new Pte(pte).Pfn;
            if (pfn >= (ulong)frames.Length)
                continue;
            ref Frame f = ref frames[pfn];
            if ((f.Flags & FrameFlags.SwapBacked) == 0 || (f.Flags & FrameFlags.Thp) != 0)
                continue;
            k.Dirty?.Frame((int)pfn);
            f.Flags |= FrameFlags.ZeroFilled;
            marked++;
        }
        if (marked > 0)
            k.Tlb.FlushTlbRange(mm.Tlb, start & Pte.PageMask, Mm.PageAlign(end));
        return marked;
    }
}
