using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// mlock(2), mlock2(MLOCK_ONFAULT), munlock(2), mlockall(2) and munlockall(2) (mm/mlock.c): VM_LOCKED (and
/// VM_LOCKONFAULT) on the VMAs of a range, split and merged as mlock_fixup does, counted in locked_vm. Reclaim
/// leaves pages of VM_LOCKED areas alone (it moves them to the unevictable list, as Linux culls them); munlock
/// makes the range's present pages evictable again. Simplified: RLIMIT_MEMLOCK is not checked (the callers are
/// root). The range is then populated (mm_populate) by the calling task: AddressSpaceOpsSystem hands it to the
/// access stage's prefault, which faults it in through the ordinary fault path before the task's next access.
/// </summary>
public static class Mlock
{
    /// <summary>MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT.</summary>
    public const int MclCurrent = 1, MclFuture = 2, MclOnFault = 4;

    /// <summary>
    /// do_mlock / sys_munlock + apply_vma_lock_flags: the start is rounded down to its page and the length up
    /// (no EINVAL for an unaligned start); a wrapping range is EINVAL, an empty one 0; a range starting in a
    /// hole is ENOMEM, and a hole later in the range ends the call with ENOMEM after the VMAs before it changed.
    /// <paramref name="lockFlags"/> is VM_LOCKED, VM_LOCKED|VM_LOCKONFAULT, or none (munlock).
    /// </summary>
    public static long Apply(Kernel.Kernel k, Kernel.MmState mm, ulong start, ulong len, VmFlags lockFlags)
    {
        len = Mm.PageAlign(len + (start & ~Pte.PageMask));
        start &= Pte.PageMask;
        ulong end = start + len;
        if (end < start)
        {
            return -Errno.EINVAL;
        }

        if (end == start)
        {
            return 0;
        }

        VmaSet vmas = mm.Mm.Vmas;
        int idx = vmas.FindVma(start);
        if (idx < 0 || vmas[idx].Start > start)
        {
            return -Errno.ENOMEM;
        }

        ulong tmp = start;
        while (tmp < end)
        {
            idx = vmas.FindVma(tmp);
            if (idx < 0 || vmas[idx].Start != tmp && vmas[idx].Start > tmp)
            {
                return -Errno.ENOMEM;
            }

            ulong next = Math.Min(vmas[idx].End, end);
            long r = Fixup(k, mm, idx, tmp, next, lockFlags);
            if (r < 0)
            {
                return r;
            }

            tmp = next;
        }

        return 0;
    }

    /// <summary>
    /// apply_mlockall_flags: MCL_FUTURE sets the mm's def_flags so later mappings start locked; MCL_CURRENT locks
    /// every VMA now; MCL_ONFAULT adds VM_LOCKONFAULT. munlockall is flags 0. EINVAL for no flags, unknown bits or
    /// MCL_ONFAULT alone.
    /// </summary>
    public static long All(Kernel.Kernel k, Kernel.MmState mm, int flags, bool unlock)
    {
        if (!unlock && (flags == 0 || (flags & ~(MclCurrent | MclFuture | MclOnFault)) != 0 || flags == MclOnFault))
        {
            return -Errno.EINVAL;
        }

        VmFlags toAdd = VmFlags.Locked | ((flags & MclOnFault) != 0 ? VmFlags.LockOnFault : VmFlags.None);
        mm.Mm.DefFlags &= ~(VmFlags.Locked | VmFlags.LockOnFault);
        if ((flags & MclFuture) != 0)
        {
            mm.Mm.DefFlags |= toAdd;
        }

        if (!unlock && (flags & MclCurrent) == 0)
        {
            return 0;
        }

        foreach (Vma v in mm.Mm.Vmas.ToArray())
        {
            int idx = mm.Mm.VmaLookup(v.Start);
            if (idx >= 0)
            {
                Fixup(k, mm, idx, v.Start, v.End, unlock ? VmFlags.None : toAdd);
            }
        }

        return 0;
    }

    /// <summary>mlock_fixup: VM_SPECIAL areas are skipped; otherwise the part gets the lock bits (split/merge) and, when unlocked, its pages become evictable.</summary>
    private static long Fixup(Kernel.Kernel k, Kernel.MmState mm, int idx, ulong start, ulong end, VmFlags lockFlags)
    {
        VmFlags old = mm.Mm.Vmas[idx].Flags;
        // [vvar] and [vdso] are VM_SPECIAL in Linux (install_special_mapping's VM_DONTEXPAND, VM_PFNMAP for vvar).
        if ((old & VmFlags.Special) != 0 || (old & VmFlags.HugeTlb) != 0 || mm.Mm.Vmas[idx].Kind == VmaKind.Special)
        {
            return 0;
        }

        VmFlags flags = (old & ~(VmFlags.Locked | VmFlags.LockOnFault)) | lockFlags;
        long r = mm.Mm.MprotectFixup(idx, start, end, flags);
        if (r < 0)
        {
            return r;
        }

        if ((old & VmFlags.Locked) != 0 && (lockFlags & VmFlags.Locked) == 0)
        {
            var v = new UnlockVisitor(k);
            mm.Tables.VisitRange(start, end, ref v);
        }

        return 0;
    }

    /// <summary>munlock_folio: a present page goes back to the evictable lists (unless something pins it).</summary>
    private readonly struct UnlockVisitor(Kernel.Kernel k) : IPteRefVisitor
    {
        public void Visit(ulong va, ref ulong slot)
        {
            if (!Memory.MemoryOps.IsMapped(slot))
            {
                return;
            }

            int pfn = (int)new Pte(slot).Pfn;
            if (pfn != k.Zone.ZeroPfn && !new Pte(slot).Special)
            {
                k.Zone.Unevictable[pfn] = k.Zone.Pins[pfn] > 0;
                k.LruvecOf(pfn)?.PutbackEvictable(pfn);
            }
        }
    }
}
