using EcsMem.Components;
using EcsMem.Simulation;

namespace EcsMem.Systems.Fault;

/// <summary>
/// ⑦ The end of every fault path (finish_fault / set_pte_at at the end of do_anonymous_page, do_wp_page,
/// filemap_map_pages and do_swap_page): installs the PTE of each fault resolved this tick, per fault class,
/// after re-checking the VMA and the PTE as Linux does under the page-table lock, and wakes the task. It runs
/// after the rmap rewrite, so a page reclaim unmapped this tick is never mapped again by a stale fault.
/// Classification (<see cref="FaultHandlingSystem"/>) and install per class both live in this folder:
/// adding a fault class touches only Fault/.
/// </summary>
public sealed class FaultInstallSystem(Kernel.Kernel kernel) : ISystem
{
    public string Name => "fault-install";

    public void Update(SimEnvironment env)
    {
        foreach (ref readonly PteInstall r in env.WorkItems<PteInstall>())
            Install(env, r.Fault);
    }

    private void Install(SimEnvironment env, FaultRecord rec)
    {
        var k = kernel;
        var world = k.World;
        if (!k.Tasks.IsIn(rec.Process, ProcessState.Faulting))
        {
            k.Events?.Fault(rec, Events.FaultOutcome.Dropped);
            rec.Drop(kernel);
            return;
        }
        k.Smp.Enter(rec.Cpu);
        k.Smp.CatchUp(rec.NotBefore);
        MmState mm = k.Tasks.MmById(rec.MmId)!;
        bool write = rec.Kind is Traces.AccessKind.Store or Traces.AccessKind.Modify;
        ref ProcessStats stats = ref world.Get<ProcessStats>(rec.Process);
        // Re-validate as the end of a Linux fault does under the page-table lock: the VMA may have been
        // unmapped or reprotected, or the PTE changed, while the fault waited for disk or for reclaim
        // (pte_same fails). Then nothing is installed and the access simply retries (and faults afresh).
        int vi = mm.Mm.Vmas.FindVma(rec.Va);
        bool stale = vi < 0 || mm.Mm.Vmas[vi].Start > rec.Va
            || !FaultHandlingSystem.AccessPermitted(mm.Mm.Vmas[vi].Flags, rec.Kind)
            || !PteSame(mm.Tables.Lookup(rec.Va), rec.OrigPte);
        if (!stale)
        {
            VmFlags vmFlags = mm.Mm.Vmas[vi].Flags;
            ulong prot = Pte.ProtFromVmFlags(vmFlags, mm.Mm.Mode);
            bool vmWrite = (vmFlags & VmFlags.Write) != 0;
            switch (rec.Class)
            {
                case FaultClass.Spurious:
                    break;
                case FaultClass.CowReuse:
                case FaultClass.SharedWrite:
                    {
                        ref ulong slot = ref mm.Tables.Walk(rec.Va, false, out _);
                        slot = new Pte(slot).MkWrite().MkDirty().Value;
                        k.Tlb.FlushTlbPage(mm.Tlb, rec.Va);
                        if (rec.Class == FaultClass.CowReuse)
                        {
                            stats.CowReuses++;
                            env.Counters.Increment(k.C.CowReuse);
                        }
                        break;
                    }
                case FaultClass.ZeroPage:
                    k.Memory.MapPage(mm, rec.Va, rec.Pfn, prot & ~Pte.RwBit);
                    stats.ZeroPageMaps++;
                    env.Counters.Increment(k.C.ZeroPageMap);
                    break;
                case FaultClass.AnonNew:
                    // do_anonymous_page maps a new page writable and dirty whenever the VMA allows writing,
                    // even on a read fault (no zero page); a read-only VMA gets a read-only PTE.
                    k.Memory.MapPage(mm, rec.Va, rec.Pfn, vmWrite ? prot | Pte.RwBit | Pte.DirtyBit : prot);
                    break;
                case FaultClass.CowCopy:
                    k.Memory.MapPage(mm, rec.Va, rec.Pfn, (prot | Pte.RwBit | Pte.DirtyBit) & ~Pte.CowBit);
                    k.Tlb.FlushTlbPage(mm.Tlb, rec.Va);
                    stats.CowCopies++;
                    env.Counters.Increment(k.C.CowCopy);
                    break;
                case FaultClass.FileCached:
                case FaultClass.FileRead:
                    {
                        bool shared = (prot & Pte.RwBit) != 0; // only shared writable mappings carry RW in vm_page_prot
                        k.Memory.MapPage(mm, rec.Va, rec.Pfn, shared && write ? prot | Pte.DirtyBit : prot & ~Pte.RwBit);
                        break;
                    }
                case FaultClass.SwapCached:
                case FaultClass.SwapRead:
                    InstallSwapPage(mm, rec, prot, write, vmWrite);
                    break;
            }
        }
        stats.RssPeak = (long)mm.HiwaterRss;
        rec.Drop(kernel);
        if (rec.Major)
        {
            stats.MajFlt++;
            env.Counters.Increment(k.C.PgMajFault);
        }
        else
        {
            stats.MinFlt++;
        }
        long cost = k.Timing.MinorFaultCycles;
        stats.CpuCycles += cost;
        k.Cycles.Charge(Timing.CycleCategory.Fault, cost);
        k.Env.Clock.Advance((ulong)cost);
        ref Process task = ref world.Get<Process>(rec.Process);
        task.State = ProcessState.Runnable;
        task.ReadyTime = env.Now;
        k.Events?.Fault(rec, stale ? Events.FaultOutcome.Retried : Events.FaultOutcome.Installed);
    }

    /// <summary>
    /// The end of do_swap_page: maps the swap-cache page; a write by the only user of the swap entry takes the
    /// page over writable (and it leaves the swap cache), otherwise it is mapped read-only so a later write
    /// breaks copy-on-write.
    /// </summary>
    private void InstallSwapPage(MmState mm, in FaultRecord rec, ulong vmProt, bool write, bool writableVma)
    {
        var k = kernel;
        bool exclusive = k.Swap.Count(rec.SwapSlot) == 1;
        ulong prot = vmProt & ~Pte.RwBit;
        if (write && writableVma && exclusive)
            prot |= Pte.RwBit | Pte.DirtyBit;
        k.Memory.MapPage(mm, rec.Va, rec.Pfn, prot);
        if ((prot & Pte.RwBit) != 0)
            k.Memory.FreeSwapCacheOf(rec.Pfn); // should_try_to_free_swap: a write by the sole user frees the slot
    }

    /// <summary>pte_same, ignoring the accessed and dirty bits the hardware may set meanwhile.</summary>
    private static bool PteSame(ulong a, ulong b) =>
        ((a ^ b) & ~(Pte.AccessedBit | Pte.DirtyBit | Pte.SoftDirtyBit)) == 0;
}
