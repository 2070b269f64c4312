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
            long r = MprotectFixup(idx, nstart, tmp, newFlags, changes);
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
    /// Making a private area writable adds VM_ACCOUNT, as Linux charges it then. Returns the index of the
    /// VMA now covering [start, end), or a negated errno.
    /// </summary>
    public long MprotectFixup(int idx, ulong start, ulong end, VmFlags newFlags, List<VmaChange>? changes = null)
    {
        VmFlags old = Vmas[idx].Flags;
        if (newFlags == old)
        {
            return idx;
        }

        if ((newFlags & VmFlags.Write) != 0
            && (old & (VmFlags.Account | VmFlags.Write | VmFlags.HugeTlb | VmFlags.Shared | VmFlags.NoReserve)) == 0)
        {
            newFlags |= VmFlags.Account;
        }

        if (!SplitAt(start, true) || !SplitAt(end, true))
        {
            return -Errno.ENOMEM;
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
}
