using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Simulation;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// madvise(2) (mm/madvise.c): the argument checks and the walk over the VMAs for every advice, and per VMA
/// MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_DONTFORK/DOFORK, MADV_HUGEPAGE/NOHUGEPAGE, MADV_POPULATE_WRITE and the readahead hints
/// NORMAL/RANDOM/SEQUENTIAL (VM_RAND_READ/VM_SEQ_READ); MADV_WILLNEED's file read is Filemap.Readahead's.
/// </summary>
public static class Madvise
{
    /// <summary>
    /// do_madvise + madvise_walk_vmas: EINVAL for an unaligned start or a length that wraps; 0 for an empty range;
    /// otherwise the advice is applied to each mapped part in address order, a part that refuses it ends the
    /// call with its error (EINVAL for DONTNEED/FREE/COLD/PAGEOUT on a VM_LOCKED, VM_PFNMAP or VM_HUGETLB area, FREE on a
    /// file mapping, DOFORK on VM_IO), and a hole anywhere in the range makes the result -ENOMEM after the
    /// mapped parts were done, as Linux does. Pages to drop are reported as <see cref="VmaChangeKind.Zapped"/>.
    /// </summary>
    public static long DoMadvise(Kernel.Kernel k, Kernel.MmState mm, ulong start, ulong lenIn, MadviseAdvice advice, List<VmaChange> changes,
        SimEnvironment env, Entity who, int cpu)
    {
        if ((start & ~Pte.PageMask) != 0)
        {
            return -Errno.EINVAL;
        }

        ulong len = Mm.PageAlign(lenIn);
        if (lenIn != 0 && len == 0)
        {
            return -Errno.EINVAL;
        }

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
        long unmapped = 0;
        int idx = vmas.FindVma(start);
        while (true)
        {
            if (idx < 0)
            {
                return -Errno.ENOMEM;
            }

            if (start < vmas[idx].Start)
            {
                unmapped = -Errno.ENOMEM;
                start = vmas[idx].Start;
                if (start >= end)
                {
                    break;
                }
            }

            ulong tmp = Math.Min(vmas[idx].End, end);
            long r = Visit(k, mm, idx, start, tmp, advice, changes, env, who, cpu);
            if (r < 0)
            {
                return r;
            }

            start = tmp;
            if (start >= end)
            {
                break;
            }

            idx = vmas.FindVma(start);
        }

        return unmapped;
    }

    /// <summary>madvise_vma_behavior for [start, end) inside the VMA at idx.</summary>
    private static long Visit(Kernel.Kernel k, Kernel.MmState mm, int idx, ulong start, ulong end, MadviseAdvice advice, List<VmaChange> changes,
        SimEnvironment env, Entity who, int cpu)
    {
        Vma v = mm.Mm.Vmas[idx];
        switch (advice)
        {
            case MadviseAdvice.Normal:
                return Update(mm, idx, start, end, v.Flags & ~(VmFlags.RandRead | VmFlags.SeqRead));
            case MadviseAdvice.Random:
                return Update(mm, idx, start, end, (v.Flags & ~VmFlags.SeqRead) | VmFlags.RandRead);
            case MadviseAdvice.Sequential:
                return Update(mm, idx, start, end, (v.Flags & ~VmFlags.RandRead) | VmFlags.SeqRead);
            case MadviseAdvice.WillNeed:
                k.Readahead.MadviseWillNeed(env, who, mm.Id, v, start, end, cpu);
                return 0;
            case MadviseAdvice.DontNeed:
            case MadviseAdvice.Free:
                // madvise_dontneed_free_valid_vma / can_madv_lru_vma
                if ((v.Flags & (VmFlags.Locked | VmFlags.PfnMap | VmFlags.HugeTlb)) != 0)
                {
                    return -Errno.EINVAL;
                }

                if (advice == MadviseAdvice.DontNeed)
                {
                    changes.Add(new VmaChange(VmaChangeKind.Zapped, start, end, v.Flags, v.Flags));
                    return 0;
                }

                // madvise_free_single_vma: anonymous memory only.
                if (v.FileId >= 0 || v.Kind is VmaKind.File or VmaKind.Special)
                {
                    return -Errno.EINVAL;
                }

                LazyFree.MarkRange(k, mm, start, end);
                return 0;
            case MadviseAdvice.Cold:
            case MadviseAdvice.PageOut:
                // madvise_cold / madvise_pageout: can_madv_lru_vma.
                if ((v.Flags & (VmFlags.Locked | VmFlags.PfnMap | VmFlags.HugeTlb)) != 0)
                {
                    return -Errno.EINVAL;
                }

                ColdPageout.Apply(k, mm, start, end, advice == MadviseAdvice.PageOut, k.Tlb.CurrentCpu);
                return 0;
            case MadviseAdvice.DontFork:
                return Update(mm, idx, start, end, v.Flags | VmFlags.DontCopy);
            case MadviseAdvice.DoFork:
                if ((v.Flags & VmFlags.Io) != 0)
                {
                    return -Errno.EINVAL;
                }

                return Update(mm, idx, start, end, v.Flags & ~VmFlags.DontCopy);
            case MadviseAdvice.HugePage:
                return Update(mm, idx, start, end, (v.Flags & ~VmFlags.NoHugePage) | VmFlags.HugePage);
            case MadviseAdvice.NoHugePage:
                return Update(mm, idx, start, end, (v.Flags & ~VmFlags.HugePage) | VmFlags.NoHugePage);
            case MadviseAdvice.PopulateWrite:
                // madvise_populate: EINVAL on VM_PFNMAP/VM_IO, EFAULT where a write is not allowed (no FOLL_FORCE); the
                // faults themselves are mm_populate's (AddressSpaceOpsSystem.PopulateAfter), after the walk.
                if ((v.Flags & (VmFlags.PfnMap | VmFlags.Io)) != 0)
                {
                    return -Errno.EINVAL;
                }

                return (v.Flags & VmFlags.Write) == 0 ? -Errno.EFAULT : 0;
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>madvise_update_vma: new flags for the part (split at its ends, merged again where compatible).</summary>
    private static long Update(Kernel.MmState mm, int idx, ulong start, ulong end, VmFlags flags)
    {
        long r = mm.Mm.MprotectFixup(idx, start, end, flags);
        return r < 0 ? r : 0;
    }
}
