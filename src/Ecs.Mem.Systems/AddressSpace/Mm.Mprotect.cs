using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>
    /// do_mprotect_pkey: sets PROT_* on [start, start+len). Fails with -ENOMEM (changing nothing) when start
    /// is unmapped; like Linux, a hole further on stops the walk with -ENOMEM after the pieces before it were
    /// changed. -EACCES when the new protection exceeds the VMA's VM_MAY* bits.
    /// </summary>
    public long DoMprotect(ulong start, ulong len, Prot prot, List<VmaChange>? changes = null)
    {
        if (OffsetInPage(start))
        {
            return -Errno.EINVAL;
        }

        len = PageAlign(len);
        ulong end = start + len;
        if (end < start)
        {
            return -Errno.ENOMEM;
        }

        if (len == 0)
        {
            return 0;
        }

        int idx = Vmas.FindVma(start);
        if (idx < 0 || Vmas[idx].Start > start)
        {
            return -Errno.ENOMEM;
        }

        VmFlags want = CalcVmProtBits(prot);
        ulong nstart = start;
        while (true)
        {
            VmFlags old = Vmas[idx].Flags;
            VmFlags newFlags = (old & ~VmFlags.AccessMask) | want;

            // The VM_MAY* bits sit 4 bits above the access bits they permit.
            if ((((ulong)want << 4) & ~(ulong)old & (ulong)(VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec)) != 0)
            {
                return -Errno.EACCES;
            }

            ulong tmp = Math.Min(Vmas[idx].End, end);
            long r = MprotectFixup(idx, nstart, tmp, newFlags, changes, mprotect: true);
            if (r < 0)
            {
                return r;
            }

            nstart = tmp;
            if (nstart >= end)
            {
                return 0;
            }

            // Merging may have renumbered or joined VMAs: look the next piece up again.
            idx = Vmas.FindVma(nstart);
            if (idx < 0 || Vmas[idx].Start > nstart)
            {
                return -Errno.ENOMEM;
            }
        }
    }

    /// <summary>
    /// mprotect_fixup: gives [start, end) inside the VMA at <paramref name="idx"/> the flags
    /// <paramref name="newFlags"/>, splitting at both ends and merging with neighbours afterwards.
    /// Making a private area writable charges it to overcommit and adds VM_ACCOUNT (-ENOMEM, nothing changed,
    /// when refused); with <paramref name="mprotect"/> (mprotect(2) itself), taking write access away from a
    /// VM_ACCOUNT anonymous area that has no anon_vma yet drops VM_ACCOUNT and gives the charge back. Returns the
    /// index of the VMA now covering [start, end), or a negated errno.
    /// </summary>
    public long MprotectFixup(int idx, ulong start, ulong end, VmFlags newFlags, List<VmaChange>? changes = null, bool mprotect = false)
    {
        VmFlags old = Vmas[idx].Flags;
        if (newFlags == old)
        {
            return idx;
        }

        ulong nrPages = (end - start) >> Pte.PageShift;
        ulong charged = 0;
        if ((newFlags & VmFlags.Write) != 0)
        {
            if ((old & (VmFlags.Account | VmFlags.Write | VmFlags.HugeTlb | VmFlags.Shared | VmFlags.NoReserve)) == 0)
            {
                if (!VmEnoughMemory(nrPages))
                {
                    return -Errno.ENOMEM;
                }

                charged = nrPages;
                newFlags |= VmFlags.Account;
            }
        }
        else if (mprotect && (old & VmFlags.Account) != 0 && IsAnonymousVma(Vmas[idx]) && !HasAnonVma(Vmas[idx]))
        {
            newFlags &= ~VmFlags.Account;
        }

        // hugetlb_vm_op_split: a hugetlb VMA splits only at a huge page boundary.
        if (HugetlbSplitUnaligned(start) || HugetlbSplitUnaligned(end))
        {
            Uncharge(charged);
            return -Errno.EINVAL;
        }

        if (!SplitAt(start, true) || !SplitAt(end, true))
        {
            Uncharge(charged);
            return -Errno.ENOMEM;
        }

        if ((old & VmFlags.Account) != 0 && (newFlags & VmFlags.Account) == 0)
        {
            Uncharge(nrPages);
        }

        idx = Vmas.FindVma(start);
        ref readonly Vma v = ref Vmas[idx];
        VmStatAccount(v.Flags, -(long)v.Pages);
        VmStatAccount(newFlags, (long)v.Pages);
        Vmas.SetFlags(idx, newFlags);
        Vmas.SetPageProt(idx, Pte.ProtFromVmFlags(newFlags, Mode));
        Vmas.Touch();
        changes?.Add(new VmaChange(VmaChangeKind.Protected, start, end, old, newFlags));
        return MergeAround(idx);
    }

    /// <summary>vma_is_anonymous: no vm_ops (private anonymous memory, [heap] and the stack; not shmem).</summary>
    private static bool IsAnonymousVma(in Vma v) =>
        v.FileId < 0 && (v.Flags & VmFlags.Shared) == 0 && v.Kind is VmaKind.Anonymous or VmaKind.Heap or VmaKind.Stack;

    /// <summary>
    /// Whether vma->anon_vma would be set: Linux assigns it at the first anonymous page of the area (anon_vma_prepare
    /// on a write fault or COW; a read fault maps the zero page without one) and fork copies it. EcsMem has no
    /// anon_vma, so it asks the page tables for an anonymous page or a swap entry in the area
    /// (<see cref="AnonVmaProbe"/>); simplified: an area whose pages were all zapped (MADV_DONTNEED) counts as
    /// having none, where Linux keeps the anon_vma.
    /// </summary>
    private bool HasAnonVma(in Vma v) => AnonVmaProbe?.Invoke(v.Start, v.End) ?? true;

    /// <summary>
    /// Set by the task list: true when the page tables hold an anonymous page (not the zero page) or a swap entry in
    /// [start, end). Null (an mm without page tables) counts every area as having an anon_vma.
    /// </summary>
    public Func<ulong, ulong, bool>? AnonVmaProbe { get; set; }
}
