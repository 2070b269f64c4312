using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>Whether <paramref name="addr"/> falls inside a hugetlb VMA at an offset that is not a huge page boundary.</summary>
    private bool HugetlbSplitUnaligned(ulong addr)
    {
        int i = Vmas.VmaLookup(addr);
        return i >= 0 && (Vmas[i].Flags & VmFlags.HugeTlb) != 0 && Vmas[i].Start != addr && (addr & ~EcsMem.Systems.Hugetlb.Hugetlb.Mask) != 0;
    }

    /// <summary>
    /// do_munmap / do_vmi_munmap: unmaps [start, start+len), splitting the VMAs straddling either end and
    /// removing those inside. Returns 0, or -EINVAL for a bad range, or -ENOMEM when a split would exceed
    /// vm.max_map_count. Each removed piece is reported as Unmapped. A VM_ACCOUNT piece gives its commit
    /// charge back (vm_unacct_memory) unless <paramref name="uncharge"/> is false (mremap's move keeps it).
    /// </summary>
    public long DoMunmap(ulong start, ulong len, List<VmaChange>? changes = null, bool uncharge = true)
    {
        ulong taskSize = Struct.TaskSize;
        if (OffsetInPage(start) || start > taskSize || len > taskSize - start)
        {
            return -Errno.EINVAL;
        }

        len = PageAlign(len);
        if (len == 0)
        {
            return -Errno.EINVAL;
        }

        ulong end = start + len;
        int first = Vmas.FindVma(start);
        if (first < 0 || Vmas[first].Start >= end)
        {
            return 0;
        }

        // A hole punched in the middle of one VMA leaves one more VMA than before.
        ref readonly Vma f = ref Vmas[first];
        if (f.Start < start && end < f.End && Struct.MapCount >= MaxMapCount)
        {
            return -Errno.ENOMEM;
        }

        // hugetlb_vm_op_split: a hugetlb VMA splits only at a huge page boundary.
        if (HugetlbSplitUnaligned(start) || HugetlbSplitUnaligned(end))
        {
            return -Errno.EINVAL;
        }

        SplitAt(start, false);
        SplitAt(end, false);

        first = Vmas.FindVma(start);
        int last = first;
        while (last < Vmas.Count && Vmas[last].End <= end)
        {
            ref readonly Vma v = ref Vmas[last];
            VmStatAccount(v.Flags, -(long)v.Pages);
            if (uncharge && (v.Flags & VmFlags.Account) != 0)
            {
                Uncharge(v.Pages);
            }

            changes?.Add(new VmaChange(VmaChangeKind.Unmapped, v.Start, v.End, v.Flags, VmFlags.None));
            if ((v.Flags & VmFlags.HugeTlb) != 0)
            {
                Hugetlb?.VmaClose(v);
            }

            last++;
        }

        Vmas.RemoveRange(first, last - first);
        Struct.MapCount -= last - first;
        SyncSeq();
        return 0;
    }
}
