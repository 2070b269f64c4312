using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>
    /// expand_downwards: grows the VM_GROWSDOWN VMA at <paramref name="idx"/> down to cover
    /// <paramref name="address"/>. Refused with -ENOMEM when the stack would exceed RLIMIT_STACK or come
    /// within stack_guard_gap of the accessible mapping below, or when overcommit refuses the growth's charge;
    /// -EPERM below mmap_min_addr.
    /// </summary>
    public long ExpandDownwards(int idx, ulong address, List<VmaChange>? changes = null)
    {
        ref readonly Vma v = ref Vmas[idx];
        if ((v.Flags & VmFlags.GrowsDown) == 0)
        {
            return -Errno.EINVAL;
        }

        address &= Pte.PageMask;
        if (address >= v.Start)
        {
            return 0;
        }

        if (address < MmapMinAddr)
        {
            return -Errno.EPERM;
        }

        if (idx > 0)
        {
            ref readonly Vma prev = ref Vmas[idx - 1];
            if ((prev.Flags & VmFlags.GrowsDown) == 0 && (prev.Flags & VmFlags.AccessMask) != 0)
            {
                if (address < prev.End || address - prev.End < StackGuardGap)
                {
                    return -Errno.ENOMEM;
                }
            }
            else if (address < prev.End)
            {
                return -Errno.ENOMEM;
            }
        }

        if (v.End - address > StackRlimit)
        {
            return -Errno.ENOMEM;
        }

        // acct_stack_growth: the overcommit charge is the last check (security_vm_enough_memory_mm of the growth).
        if (!VmEnoughMemory((v.Start - address) >> Pte.PageShift))
        {
            return -Errno.ENOMEM;
        }

        ulong oldStart = v.Start;
        VmFlags flags = v.Flags;
        long grow = PagesOf(address, oldStart);
        Vmas.SetStart(idx, address, v.PgOff - (ulong)grow);
        VmStatAccount(flags, grow);
        SyncSeq();
        changes?.Add(new VmaChange(VmaChangeKind.Mapped, address, oldStart, VmFlags.None, flags));
        return 0;
    }

    /// <summary>
    /// find_extend_vma / lock_mm_and_find_vma: the VMA containing <paramref name="addr"/>, growing a stack
    /// below it down to addr when needed; -1 when the address is not (and cannot become) mapped.
    /// </summary>
    public int FindExtendVma(ulong addr, List<VmaChange>? changes = null)
    {
        int idx = Vmas.FindVma(addr);
        if (idx < 0)
        {
            return -1;
        }

        if (Vmas[idx].Start <= addr)
        {
            return idx;
        }

        if ((Vmas[idx].Flags & VmFlags.GrowsDown) == 0)
        {
            return -1;
        }

        return ExpandDownwards(idx, addr, changes) < 0 ? -1 : idx;
    }
}
