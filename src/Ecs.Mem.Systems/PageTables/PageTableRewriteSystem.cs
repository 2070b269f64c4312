using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;

namespace EcsMem.Systems.PageTables;

/// <summary>
/// ⑦ The last system of a tick writes page tables: first it rewrites the PTEs of pages reclaim evicted
/// (to swap entries for anonymous pages, to none for file pages: try_to_unmap), flushing their TLB entries,
/// and frees those frames; then it installs the PTEs of this tick's resolved faults (set_pte_at at the end
/// of do_anonymous_page, do_wp_page, filemap_map_pages, do_swap_page) and wakes their processes.
/// </summary>
public sealed class PageTableRewriteSystem(Kernel.Kernel kernel) : ISystem
{
    public string Name => "page-table-rewrite";

    public void Update(SimEnvironment env)
    {
        foreach (ref readonly PteRewrite r in env.WorkItems<PteRewrite>())
            TryToUnmapOne(r);
        foreach (ref readonly FrameRelease r in env.WorkItems<FrameRelease>())
            ReleaseFrame(r.Pfn);
        foreach (ref readonly PteInstall r in env.WorkItems<PteInstall>())
            Install(env, r.Fault);
    }

    /// <summary>try_to_unmap_one: replaces one PTE of an evicted frame, if it still maps that frame.</summary>
    private void TryToUnmapOne(in PteRewrite r)
    {
        MmState? mm = kernel.MmById(r.MmId);
        if (mm is null)
            return;
        ref ulong slot = ref mm.Tables.Walk(r.Va, false, out _);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot))
            return;
        var old = new Pte(slot);
        if (!Kernel.Kernel.IsMapped(old.Value) || (int)old.Pfn != r.Pfn)
            return;
        kernel.UnmapPte(mm, r.Va, slot);
        slot = r.NewPte;
        if (r.NewPte != 0)
        {
            kernel.Swap.SwapDuplicate((int)new Pte(r.NewPte).ToSwapEntry().Offset);
            mm.Mm.Struct.SwapEnts++;
        }
        kernel.Tlb.FlushTlbPage(mm.Tlb, r.Va);
    }

    /// <summary>The evicted frame leaves the swap cache or page cache and goes back to the buddy allocator.</summary>
    private void ReleaseFrame(int pfn)
    {
        kernel.UnpinFrame(pfn);
        ref Frame f = ref kernel.Frames[pfn];
        if (f.MapCount > 0)
            return; // mapped again meanwhile: stays resident (and will be found by the policy's next insert)
        if ((f.Flags & FrameFlags.SwapCache) != 0)
        {
            int slot = (int)f.Index;
            kernel.SwapCache.Delete(slot);
            kernel.Swap.SetCached(slot, false);
        }
        else if (!f.IsAnon && f.Mapping >= 0)
        {
            kernel.PageCache.Delete(f.Mapping, f.Index);
        }
        kernel.FreeFrame(pfn);
    }

    private void Install(SimEnvironment env, FaultRecord rec)
    {
        var k = kernel;
        var world = k.World;
        if (!world.IsAlive(rec.Process) || world.Get<Process>(rec.Process).State != ProcessState.Faulting)
        {
            Unpin(rec);
            return;
        }
        MmState mm = k.MmById(rec.MmId)!;
        bool write = rec.Kind is Traces.AccessKind.Store or Traces.AccessKind.Modify;
        ref ProcessStats stats = ref world.Get<ProcessStats>(rec.Process);
        // Re-validate as the end of a Linux fault does under the page-table lock: the VMA may have been
        // unmapped or reprotected, or the PTE changed, while the fault waited for disk or for reclaim
        // (pte_same fails). Then nothing is installed and the access simply retries (and faults afresh).
        int vi = mm.Mm.Vmas.FindVma(rec.Va);
        bool stale = vi < 0 || mm.Mm.Vmas[vi].Start > rec.Va
            || !Faults.FaultHandlingSystem.AccessPermitted(mm.Mm.Vmas[vi].Flags, rec.Kind)
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
                    k.MapPage(mm, rec.Va, rec.Pfn, prot & ~Pte.RwBit);
                    stats.ZeroPageMaps++;
                    env.Counters.Increment(k.C.ZeroPageMap);
                    break;
                case FaultClass.AnonNew:
                    // do_anonymous_page maps a new page writable and dirty whenever the VMA allows writing,
                    // even on a read fault (no zero page); a read-only VMA gets a read-only PTE.
                    k.MapPage(mm, rec.Va, rec.Pfn, vmWrite ? prot | Pte.RwBit | Pte.DirtyBit : prot);
                    break;
                case FaultClass.CowCopy:
                    k.MapPage(mm, rec.Va, rec.Pfn, (prot | Pte.RwBit | Pte.DirtyBit) & ~Pte.CowBit);
                    k.Tlb.FlushTlbPage(mm.Tlb, rec.Va);
                    stats.CowCopies++;
                    env.Counters.Increment(k.C.CowCopy);
                    break;
                case FaultClass.FileCached:
                case FaultClass.FileRead:
                    {
                        bool shared = (prot & Pte.RwBit) != 0; // only shared writable mappings carry RW in vm_page_prot
                        k.MapPage(mm, rec.Va, rec.Pfn, shared && write ? prot | Pte.DirtyBit : prot & ~Pte.RwBit);
                        break;
                    }
                case FaultClass.SwapCached:
                case FaultClass.SwapRead:
                    InstallSwapPage(mm, rec, prot, write, vmWrite);
                    break;
            }
        }
        stats.RssPeak = (long)mm.HiwaterRss;
        Unpin(rec);
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
        world.Get<Process>(rec.Process).State = ProcessState.Runnable;
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
        k.MapPage(mm, rec.Va, rec.Pfn, prot);
        if ((prot & Pte.RwBit) != 0)
            k.FreeSwapCacheOf(rec.Pfn); // should_try_to_free_swap: a write by the sole user frees the slot
    }

    /// <summary>pte_same, ignoring the accessed and dirty bits the hardware may set meanwhile.</summary>
    private static bool PteSame(ulong a, ulong b) =>
        ((a ^ b) & ~(Pte.AccessedBit | Pte.DirtyBit | Pte.SoftDirtyBit)) == 0;

    private void Unpin(in FaultRecord rec)
    {
        kernel.ReleaseTables(rec);
        if (rec.Pfn >= 0)
        {
            kernel.UnpinFrame(rec.Pfn);
            kernel.ReleaseIfUnused(rec.Pfn);
        }
        if (rec.SourcePfn >= 0)
        {
            kernel.UnpinFrame(rec.SourcePfn);
            kernel.ReleaseIfUnused(rec.SourcePfn);
        }
    }
}
