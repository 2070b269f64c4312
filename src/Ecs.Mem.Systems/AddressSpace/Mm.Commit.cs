using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>The machine's overcommit accounting (vm_committed_as and the policy), shared by every mm; null = no accounting.</summary>
    public Overcommit? Commit { get; set; }

    /// <summary>mm->def_flags: VM_LOCKED (and VM_LOCKONFAULT) after mlockall(MCL_FUTURE), given to every new mapping and brk area.</summary>
    public VmFlags DefFlags { get; set; }

    /// <summary>security_vm_enough_memory_mm for a VM_ACCOUNT change of <paramref name="pages"/>: charge, or false for -ENOMEM.</summary>
    private bool Charge(VmFlags flags, ulong pages) => (flags & VmFlags.Account) == 0 || Commit is null || Commit.VmEnoughMemory(pages, this);

    /// <summary>vm_unacct_memory.</summary>
    private void Uncharge(ulong pages) => Commit?.Unacct(pages);
}
