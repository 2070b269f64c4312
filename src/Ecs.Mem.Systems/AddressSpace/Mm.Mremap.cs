using EcsMem.Components;
using EcsMem.Scenarios;
using HugePage = EcsMem.Systems.Hugetlb.Hugetlb;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>
    /// do_mremap (mm/mremap.c): resizes [addr, addr+oldLen) to newLen bytes, in place when it can (shrink,
    /// or grow into free space after a VMA the range ends), else moves it (MREMAP_MAYMOVE, to a free range or
    /// to newAddr with MREMAP_FIXED; MREMAP_DONTUNMAP leaves the old range mapped and empty). Returns the new
    /// address or a negated errno with Linux's rules: EINVAL for bad flags, an unaligned address, a zero new
    /// length, FIXED/DONTUNMAP without MAYMOVE, DONTUNMAP with a size change, overlapping old and new ranges,
    /// or a private zero-length "duplicate"; EFAULT when addr is not mapped or the range runs past its VMA
    /// (or the VMA may not grow, VM_DONTEXPAND/VM_PFNMAP); ENOMEM when it cannot grow in place without
    /// MAYMOVE, or no room / too many maps. A move is reported as <see cref="VmaChangeKind.Moved"/> (the page
    /// tables go with the pages, so present pages do not fault again) followed by the old range's Unmapped.
    /// When a VM_LOCKED mapping grows, <paramref name="populateStart"/>/<paramref name="populateLen"/> give the
    /// new part mm_populate must fault in (0 length otherwise).
    /// </summary>
    public long DoMremap(ulong addr, ulong oldLen, ulong newLen, MremapFlags flags, ulong newAddr, List<VmaChange>? changes, out ulong populateStart, out ulong populateLen)
    {
        populateStart = populateLen = 0;

        // check_mremap_params
        if ((flags & ~(MremapFlags.Fixed | MremapFlags.MayMove | MremapFlags.DontUnmap)) != 0 || OffsetInPage(addr))
        {
            return -Errno.EINVAL;
        }

        if (PageAlign(newLen) == 0)
        {
            return -Errno.EINVAL;
        }

        bool impliesNewAddr = (flags & (MremapFlags.Fixed | MremapFlags.DontUnmap)) != 0;
        if (impliesNewAddr)
        {
            if (OffsetInPage(newAddr) || (flags & MremapFlags.MayMove) == 0)
            {
                return -Errno.EINVAL;
            }

            if ((flags & MremapFlags.DontUnmap) != 0 && oldLen != newLen)
            {
                return -Errno.EINVAL;
            }

            // Worst case both ranges split in three before unmapping: stay 4 maps below the limit.
            if (Struct.MapCount + 2 >= MaxMapCount - 3)
            {
                return -Errno.ENOMEM;
            }
        }

        oldLen = PageAlign(oldLen);
        newLen = PageAlign(newLen);
        int idx = VmaLookup(addr);
        if (idx < 0)
        {
            return -Errno.EFAULT;
        }

        // The hugetlb step of do_mremap's VMA checks: lengths round up to the huge page, both addresses must be
        // aligned to it, and a hugetlb mapping never grows (its reservation cannot be split) — all EINVAL, before
        // VM_DONTEXPAND's EFAULT is ever looked at. Measured on 6.18: growing in place or with MREMAP_MAYMOVE and an
        // unaligned address all fail with EINVAL; a shrink, or 4 KiB lengths that round to the same size, succeed.
        if ((Vmas[idx].Flags & VmFlags.HugeTlb) != 0)
        {
            oldLen = (oldLen + HugePage.Size - 1) & HugePage.Mask;
            newLen = (newLen + HugePage.Size - 1) & HugePage.Mask;
            if ((addr & ~HugePage.Mask) != 0 || (newAddr & ~HugePage.Mask) != 0 || newLen > oldLen)
            {
                return -Errno.EINVAL;
            }
        }

        bool mlocked = false;
        long result;
        if (impliesNewAddr)
        {
            result = MremapTo(addr, oldLen, newLen, flags, newAddr, changes, ref mlocked);
        }
        else if (newLen == oldLen)
        {
            result = (long)addr;
        }
        else if (newLen < oldLen)
        {
            long r = DoMunmap(addr + newLen, oldLen - newLen, changes);
            result = r < 0 ? r : (long)addr;
        }
        else
        {
            result = ExpandVma(idx, addr, oldLen, newLen, flags, changes, ref mlocked);
        }

        if (result >= 0 && mlocked && newLen > oldLen)
        {
            populateStart = (ulong)result + oldLen;
            populateLen = newLen - oldLen;
        }

        return result;
    }

    /// <summary>vma_lookup: the index of the VMA containing addr, or -1.</summary>
    public int VmaLookup(ulong addr) => Vmas.VmaLookup(addr);

    /// <summary>mremap_to: MREMAP_FIXED or MREMAP_DONTUNMAP, a move to a given (or hinted) address.</summary>
    private long MremapTo(ulong addr, ulong oldLen, ulong newLen, MremapFlags flags, ulong newAddr, List<VmaChange>? changes, ref bool mlocked)
    {
        ulong taskSize = Struct.TaskSize;
        if (newLen > taskSize || newAddr > taskSize - newLen)
        {
            return -Errno.EINVAL;
        }

        // vrm_overlaps
        if (addr < newAddr + newLen && newAddr < addr + oldLen)
        {
            return -Errno.EINVAL;
        }

        if ((flags & MremapFlags.Fixed) != 0)
        {
            long r = DoMunmap(newAddr, newLen, changes);
            if (r < 0)
            {
                return r;
            }

            if (VmaLookup(addr) < 0)
            {
                return -Errno.EFAULT;
            }
        }

        if (newLen < oldLen)
        {
            long r = DoMunmap(addr + newLen, oldLen - newLen, changes);
            if (r < 0)
            {
                return r;
            }

            if (VmaLookup(addr) < 0)
            {
                return -Errno.EFAULT;
            }

            oldLen = newLen;
        }

        int idx = VmaLookup(addr);
        long valid = RemapIsValid(idx, addr, oldLen, newLen, flags);
        if (valid < 0)
        {
            return valid;
        }

        long placed = (flags & MremapFlags.Fixed) != 0 ? (long)newAddr : GetUnmappedArea(newAddr, newLen);
        if (placed < 0)
        {
            return placed;
        }

        return MoveVma(idx, addr, oldLen, (ulong)placed, newLen, flags, changes, ref mlocked);
    }

    /// <summary>remap_is_valid: may [addr, addr+oldLen) of the VMA at idx be moved or resized to newLen?</summary>
    private long RemapIsValid(int idx, ulong addr, ulong oldLen, ulong newLen, MremapFlags flags)
    {
        ref readonly Vma v = ref Vmas[idx];
        // A zero old length "duplicates" a shared mapping; for a private one it would be a fresh, unrelated mapping.
        if (oldLen == 0 && (v.Flags & (VmFlags.Shared | VmFlags.MayShare)) == 0)
        {
            return -Errno.EINVAL;
        }

        if ((flags & MremapFlags.DontUnmap) != 0 && (v.Flags & (VmFlags.DontExpand | VmFlags.PfnMap)) != 0)
        {
            return -Errno.EINVAL;
        }

        if (oldLen > v.End - addr)
        {
            return -Errno.EFAULT;
        }

        if (newLen == oldLen)
        {
            return 0;
        }

        ulong pgoff = v.PgOff + ((addr - v.Start) >> Pte.PageShift);
        if (pgoff + (newLen >> Pte.PageShift) < pgoff)
        {
            return -Errno.EINVAL;
        }

        if ((v.Flags & (VmFlags.DontExpand | VmFlags.PfnMap)) != 0)
        {
            return -Errno.EFAULT;
        }

        // mlock_future_ok and may_expand_vm: RLIMIT_MEMLOCK and RLIMIT_AS are unlimited for root here.
        return 0;
    }

    /// <summary>
    /// expand_vma: grow in place when the range ends its VMA and the space after it is free (vma_merge_extend,
    /// which also joins a compatible next VMA), else move with MREMAP_MAYMOVE, else -ENOMEM.
    /// </summary>
    private long ExpandVma(int idx, ulong addr, ulong oldLen, ulong newLen, MremapFlags flags, List<VmaChange>? changes, ref bool mlocked)
    {
        long valid = RemapIsValid(idx, addr, oldLen, newLen, flags);
        if (valid < 0)
        {
            return valid;
        }

        ulong delta = newLen - oldLen;
        ulong end = Vmas[idx].End;
        if (end - addr == oldLen && VmaExpandable(end, delta))
        {
            VmFlags vf = Vmas[idx].Flags;
            if (!Charge(vf, delta >> Pte.PageShift))
            {
                return -Errno.ENOMEM;
            }

            Vmas.SetEnd(idx, end + delta);
            Struct.VmaSeq = Vmas.Seq;
            MergeAround(idx);
            VmStatAccount(vf, (long)(delta >> Pte.PageShift));
            mlocked = (vf & VmFlags.Locked) != 0;
            changes?.Add(new VmaChange(VmaChangeKind.Mapped, end, end + delta, VmFlags.None, vf));
            return (long)addr;
        }

        if ((flags & MremapFlags.MayMove) == 0)
        {
            return -Errno.ENOMEM;
        }

        long placed = GetUnmappedArea(0, newLen);
        if (placed < 0)
        {
            return placed;
        }

        return MoveVma(idx, addr, oldLen, (ulong)placed, newLen, flags, changes, ref mlocked);
    }

    /// <summary>vma_expandable: nothing mapped in [end, end+delta) and the result stays below TASK_SIZE and a stack's guard gap.</summary>
    private bool VmaExpandable(ulong end, ulong delta)
    {
        ulong newEnd = end + delta;
        if (newEnd < end || newEnd > Struct.TaskSize)
        {
            return false;
        }

        int next = Vmas.FindVma(end);
        return next < 0 || newEnd <= VmStartGap(Vmas[next]);
    }

    /// <summary>
    /// move_vma: copy_vma puts a VMA for the new range (same flags, file and offset, merged with its new
    /// neighbours where compatible), move_page_tables takes the PTEs along, then the old range is unmapped
    /// without giving back its commit charge (or, with MREMAP_DONTUNMAP, kept with VM_LOCKED and VM_ACCOUNT
    /// cleared). total_vm counts the new range before the unmap takes the old one away.
    /// </summary>
    private long MoveVma(int idx, ulong addr, ulong oldLen, ulong newAddr, ulong newLen, MremapFlags flags, List<VmaChange>? changes, ref bool mlocked)
    {
        // prep_move_vma: the unmap below may split a VMA into three.
        if (Struct.MapCount >= MaxMapCount - 3)
        {
            return -Errno.ENOMEM;
        }

        bool dontUnmap = (flags & MremapFlags.DontUnmap) != 0;
        Vma src = Vmas[idx];
        // vrm_calc_charge: DONTUNMAP keeps the old range, so the whole new length is charged; else only the growth.
        if ((src.Flags & VmFlags.Account) != 0 && !Charge(src.Flags, (dontUnmap ? newLen : newLen - oldLen) >> Pte.PageShift))
        {
            return -Errno.ENOMEM;
        }

        var copy = src;
        copy.Start = newAddr;
        copy.End = newAddr + newLen;
        copy.PgOff = src.PgOff + ((addr - src.Start) >> Pte.PageShift);
        // [heap] is the VMA holding the break; a piece moved away from it is plain anonymous memory.
        if (copy.Kind == VmaKind.Heap)
        {
            copy.Kind = VmaKind.Anonymous;
        }

        int at = Vmas.Insert(copy);
        Struct.MapCount++;
        MergeAround(at);
        changes?.Add(new VmaChange(VmaChangeKind.Moved, addr, addr + oldLen, src.Flags, src.Flags, newAddr));
        VmStatAccount(src.Flags, (long)(newLen >> Pte.PageShift));
        mlocked = (src.Flags & VmFlags.Locked) != 0;
        if (dontUnmap)
        {
            // dontunmap_complete: the emptied old VMA loses VM_LOCKED, VM_LOCKONFAULT and VM_ACCOUNT; Linux
            // touches neither locked_vm nor the commit charge here, and neither does this.
            int old = VmaLookup(addr);
            Vmas.SetFlags(old, Vmas[old].Flags & ~(VmFlags.Locked | VmFlags.LockOnFault | VmFlags.Account));
            Vmas.Touch();
            MergeAround(old);
        }
        else
        {
            // unmap_source_vma: the moved pages stay charged to the new VMA, so the unmap must not uncharge them.
            DoMunmap(addr, oldLen, changes, uncharge: false);
        }

        return (long)newAddr;
    }
}
