using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>The machine's overcommit accounting (vm_committed_as and the policy), shared by every mm; null = no accounting.</summary>
    public Overcommit? Commit
    {
        get => _commit;
        set
        {
            _commit = value;
            Vmas.ShmemRefs = value is null ? null : value.ShmemRef;
        }
    }

    private Overcommit? _commit;

    /// <summary>The hugetlb pool MAP_HUGETLB mappings reserve from (shared by every mm); null = none (MAP_HUGETLB fails with ENOMEM).</summary>
    public Hugetlb.Hugetlb? Hugetlb { get; set; }

    /// <summary>
    /// Whether the tasks of this mm hold CAP_SYS_ADMIN (root, the default): cap_vm_enough_memory then lets them into
    /// admin_reserve_kbytes under OVERCOMMIT_NEVER. A forked child keeps its parent's credentials.
    /// </summary>
    public bool CapSysAdmin { get; set; } = true;

    /// <summary>mm->def_flags: VM_LOCKED (and VM_LOCKONFAULT) after mlockall(MCL_FUTURE), given to every new mapping and brk area.</summary>
    public VmFlags DefFlags { get; set; }

    /// <summary>security_vm_enough_memory_mm for a VM_ACCOUNT change of <paramref name="pages"/>: charge, or false for -ENOMEM.</summary>
    private bool Charge(VmFlags flags, ulong pages) => (flags & VmFlags.Account) == 0 || VmEnoughMemory(pages);

    /// <summary>security_vm_enough_memory_mm (cap_vm_enough_memory + __vm_enough_memory) for this mm: charge, or false for -ENOMEM.</summary>
    public bool VmEnoughMemory(ulong pages)
    {
        if (pages == 0 || Commit is null)
        {
            return true;
        }

        if (CommitUnchecked)
        {
            Commit.Acct(pages);
            return true;
        }

        return Commit.VmEnoughMemory(pages, this, CapSysAdmin);
    }

    /// <summary>
    /// While true, charges are taken without the policy's check (vm_acct_memory): an inferred layout's VMAs stand for
    /// mappings the traced program already had, which its kernel granted, so EcsMem must not refuse them.
    /// </summary>
    public bool CommitUnchecked { get; set; }

    /// <summary>vm_unacct_memory.</summary>
    private void Uncharge(ulong pages) => Commit?.Unacct(pages);

    /// <summary>The VM_ACCOUNT pages of the VMAs overlapping [start, end) (vms_gather_munmap_vmas' nr_accounted).</summary>
    private ulong AccountedPagesIn(ulong start, ulong end)
    {
        ulong n = 0;
        for (int i = Vmas.FindVma(start); i >= 0 && i < Vmas.Count && Vmas[i].Start < end; i++)
        {
            ref readonly Vma v = ref Vmas[i];
            if ((v.Flags & VmFlags.Account) != 0)
            {
                n += (ulong)PagesOf(Math.Max(v.Start, start), Math.Min(v.End, end));
            }
        }

        return n;
    }
}
