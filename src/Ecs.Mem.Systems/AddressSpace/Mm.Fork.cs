using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

public sealed partial class Mm
{
    /// <summary>
    /// dup_mm + dup_mmap: a child address space for fork. VMAs flagged VM_DONTCOPY are skipped; copied
    /// VMAs lose VM_LOCKED/VM_LOCKONFAULT (locks are not inherited). The layout fields are copied; RSS,
    /// page-table counts and the pgd start empty because copy_page_range is the fault systems' job: the
    /// copied ranges are reported as Mapped so they know what to copy (and mark COW). Each copied VM_ACCOUNT VMA is
    /// charged to overcommit against the parent's mm first (security_vm_enough_memory_mm(oldmm, len)); a refused
    /// charge fails the fork: null (-ENOMEM), with the charges already taken given back (the half-built mm's
    /// exit_mmap in Linux).
    /// </summary>
    public Mm? DupMmap(int childId, List<VmaChange>? changes = null)
    {
        // The charges come first, so a refused one leaves nothing to undo but the charges themselves.
        ulong charged = 0;
        foreach (ref readonly Vma pv in Vmas)
        {
            if ((pv.Flags & (VmFlags.DontCopy | VmFlags.Account)) != VmFlags.Account)
            {
                continue;
            }

            if (!VmEnoughMemory(pv.Pages))
            {
                Uncharge(charged);
                return null;
            }

            charged += pv.Pages;
        }

        // The child's VMA entities go into the parent's World, next to the parent's.
        var child = new Mm(childId, Mode, Files, World)
        {
            StackRlimit = StackRlimit,
            StackGuardGap = StackGuardGap,
            MaxMapCount = MaxMapCount,
            MmapMinAddr = MmapMinAddr,
            GateVma = GateVma,
            CapSysAdmin = CapSysAdmin,
            RseqArea = RseqArea, // rseq_fork: a fork's child keeps its parent's registration (the same TLS address)
            Commit = Commit,
            Hugetlb = Hugetlb,
        };

        MmStruct s = Struct;
        s.Id = childId;
        s.MapCount = 0;
        s.TotalVm = s.LockedVm = s.PinnedVm = s.DataVm = s.ExecVm = s.StackVm = 0;
        s.RssAnon = s.RssFile = s.RssShmem = s.SwapEnts = 0;
        s.NrPtes = s.PgtablesBytes = 0;
        s.MmUsers = 1;
        s.MmCount = 1;
        s.Pgd = -1;
        child.Struct = s;

        foreach (ref readonly Vma parentVma in Vmas)
        {
            if ((parentVma.Flags & VmFlags.DontCopy) != 0)
            {
                continue;
            }

            // vm_area_dup: a new entity for the child's copy.
            Vma v = parentVma;
            v.Flags &= ~(VmFlags.Locked | VmFlags.LockOnFault);
            v.MmId = childId;
            // anon_vma_fork: a copy of an area with an anon_vma gets its own, chained to the parent's.
            if (v.AnonVma != 0)
            {
                v.AnonVma = child.NewAnonVma();
                v.AnonVmaForked = true;
            }

            child.Vmas.Insert(v);
            child.Struct.MapCount++;
            child.VmStatAccount(v.Flags, (long)v.Pages);
            changes?.Add(new VmaChange(VmaChangeKind.Mapped, v.Start, v.End, parentVma.Flags, v.Flags));
        }

        child.SyncSeq();
        return child;
    }

    /// <summary>
    /// exit_mmap: tears the whole address space down, reporting every VMA as Unmapped, destroying the VMA
    /// entities (remove_vma) and freeing the page tables when <paramref name="tables"/> is given (free_pgtables).
    /// The VM_ACCOUNT pages go back to overcommit (vm_unacct_memory(nr_accounted)); shmem objects lose these mappings.
    /// </summary>
    public void ExitMmap(List<VmaChange>? changes = null, PageTable? tables = null)
    {
        ulong accounted = 0;
        foreach (ref readonly Vma v in Vmas)
        {
            if ((v.Flags & VmFlags.Account) != 0)
            {
                accounted += v.Pages;
            }

            if ((v.Flags & VmFlags.HugeTlb) != 0)
            {
                Hugetlb?.VmaClose(v);
            }
        }

        Uncharge(accounted);

        if (changes is not null)
        {
            foreach (ref readonly Vma v in Vmas)
            {
                changes.Add(new VmaChange(VmaChangeKind.Unmapped, v.Start, v.End, v.Flags, VmFlags.None));
            }
        }

        Vmas.Clear();
        ref MmStruct mm = ref Struct;
        mm.MapCount = 0;
        mm.TotalVm = mm.LockedVm = mm.DataVm = mm.ExecVm = mm.StackVm = 0;
        if (tables is not null)
        {
            tables.FreeAll();
            mm.NrPtes = tables.NrPtes;
            mm.PgtablesBytes = tables.PgtablesBytes;
        }

        SyncSeq();
    }
}
