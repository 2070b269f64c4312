using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>
    /// sys_brk: moves the program break to <paramref name="brk"/> and returns the new break, or the old
    /// one when refused (below start_brk, or growing into the next mapping's guard page), as Linux does.
    /// Shrinking unmaps the freed pages; growing extends the [heap] VMA (do_brk_flags).
    /// </summary>
    public ulong DoBrk(ulong brk, List<VmaChange>? changes = null)
    {
        ref MmStruct mm = ref Struct;
        if (brk < mm.StartBrk || brk > mm.TaskSize)
        {
            return mm.Brk;
        }

        ulong newbrk = PageAlign(brk);
        ulong oldbrk = PageAlign(mm.Brk);
        if (newbrk == oldbrk)
        {
            mm.Brk = brk;
            return brk;
        }

        if (brk <= mm.Brk)
        {
            if (DoMunmap(newbrk, oldbrk - newbrk, changes) < 0)
            {
                return mm.Brk;
            }

            mm.Brk = brk;
            return brk;
        }

        // Leave at least one page between the heap and whatever is mapped above it.
        int next = Vmas.FindVma(oldbrk);
        if (next >= 0 && newbrk + Pte.PageSize > VmStartGap(Vmas[next]))
        {
            return mm.Brk;
        }

        if (DoBrkFlags(oldbrk, newbrk - oldbrk, changes) < 0)
        {
            return mm.Brk;
        }

        mm.Brk = brk;
        return brk;
    }

    /// <summary>
    /// do_brk_flags: extends the VMA ending at addr when it lies in the brk area (vma_prev_limit from start_brk)
    /// and can merge (can_vma_merge_after: anonymous, same flags, pgoff continuing; an anonymous mmap merged into
    /// [heap] qualifies), else creates a new [heap] VMA there without merging it with anything: the anonymous bss
    /// VMA right below start_brk stays separate (checked on Linux 6.18 with ASLR off: KernelPrograms/bss.c).
    /// The growth is charged to overcommit (VM_ACCOUNT); refused, brk leaves the break where it was.
    /// </summary>
    private long DoBrkFlags(ulong addr, ulong len, List<VmaChange>? changes)
    {
        VmFlags flags = VmFlags.DataDefault | VmFlags.Account | DefFlags;
        int prev = addr > 0 ? Vmas.FindVma(addr - 1) : -1;
        if (prev >= 0 && Vmas[prev].End == addr && Vmas[prev].Start >= Struct.StartBrk && IsAnonKind(Vmas[prev].Kind) && Vmas[prev].FileId < 0 && Vmas[prev].Flags == flags
            && Vmas[prev].PgOff + Vmas[prev].Pages == addr >> Pte.PageShift)
        {
            // do_brk_flags charges the growth to overcommit (a new [heap] VMA is charged by MmapRegion below).
            if (!VmEnoughMemory(len >> Pte.PageShift))
            {
                return -Errno.ENOMEM;
            }

            Vmas.SetEnd(prev, addr + len);
            Vmas.SetKind(prev, VmaKind.Heap);
            SyncSeq();
            VmStatAccount(flags, PagesOf(addr, addr + len));
            changes?.Add(new VmaChange(VmaChangeKind.Mapped, addr, addr + len, VmFlags.None, flags));
            return 0;
        }

        if (Struct.MapCount >= MaxMapCount)
        {
            return -Errno.ENOMEM;
        }

        long r = MmapRegion(addr, len, flags, VmaKind.Heap, -1, addr >> Pte.PageShift, changes, merge: false);
        return r < 0 ? r : 0;
    }
}
