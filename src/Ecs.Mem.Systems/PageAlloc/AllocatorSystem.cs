using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// ② The page allocator (__alloc_pages): grants frames to this tick's faults. The fast path needs free pages
/// above the low watermark; below it kswapd is woken; the slow path may go down to the min watermark; below
/// min the faulting task stalls in direct reclaim (allocstall) and its request is retried next tick, after
/// the swap-out system has freed pages. Each request also keeps enough frames back for the page-table
/// pages its mapping may need. With per-CPU page lists the frame comes from the faulting CPU's list
/// (rmqueue_pcplist), and a retry after direct reclaim that still fails first drains every CPU's list back
/// to the buddy allocator and looks again (__alloc_pages_direct_reclaim's drain_all_pages).
/// </summary>
public sealed class AllocatorSystem(Kernel.Kernel kernel) : ISystem
{
    private readonly List<AllocRequest> _stillDeferred = new();

    public string Name => "allocator";

    /// <summary>Requests waiting for reclaim to free memory (retried each tick, oldest first).</summary>
    public int Deferred => kernel.Zone.Stalled.Count;

    public void Update(SimEnvironment env)
    {
        // Requests stalled in earlier ticks go first, so a retry never overtakes an older one.
        List<AllocRequest> stalled = kernel.Zone.Stalled;
        _stillDeferred.Clear();
        foreach (var r in stalled)
            Serve(env, r, afterReclaim: true);
        stalled.Clear();
        stalled.AddRange(_stillDeferred);
        _stillDeferred.Clear();
        foreach (ref readonly AllocRequest r in env.WorkItems<AllocRequest>())
            Serve(env, r, afterReclaim: false);
        stalled.AddRange(_stillDeferred);
    }

    private void Serve(SimEnvironment env, AllocRequest req, bool afterReclaim)
    {
        FaultRecord rec = req.Fault;
        if (!kernel.Tasks.IsIn(rec.Process, ProcessState.Faulting))
        {
            kernel.Events?.Fault(rec, Events.FaultOutcome.Dropped);
            rec.Drop(kernel);
            return;
        }
        kernel.Smp.Enter(rec.Cpu);
        kernel.Smp.CatchUp(rec.NotBefore);
        if (rec.Class == FaultClass.HugeAnon)
        {
            if (ServeHuge(env, ref rec))
                return;
            req = new AllocRequest(rec, NeedsFrame: true); // fell back to a 4 KiB page: the order-0 path below
        }
        // The watermarks compare the zone's free pages as Linux does (__zone_watermark_ok): the fast path
        // needs free > low, else kswapd is woken and the slow path needs free > min, else direct reclaim.
        long free = kernel.Zone.Buddy.NrFreePages;
        if (req.NeedsFrame && kernel.Zone.Watermarks.BelowLow(free))
            WakeupKswapd(env);
        if (afterReclaim && kernel.Zone.MustStall(free, req.NeedsFrame) && kernel.Zone.DrainAllPages() > 0)
        {
            // __alloc_pages_direct_reclaim: the allocation failed after reclaim, perhaps because the free pages
            // sit on per-CPU lists, which NR_FREE_PAGES does not count: drain_all_pages, then try again.
            free = kernel.Zone.Buddy.NrFreePages;
        }
        if (kernel.Zone.MustStall(free, req.NeedsFrame))
        {
            // __alloc_pages_direct_reclaim: this task reclaims, then retries.
            if (req.NeedsFrame)
            {
                env.Counters.Increment(kernel.C.AllocStall);
                kernel.Events?.AllocStall(rec);
            }
            env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, kernel.Options.SwapClusterMax, rec.Process, rec.Cpu));
            _stillDeferred.Add(req);
            return;
        }

        Memcontrol.MemCgroup? memcg = null;
        if (req.NeedsFrame && kernel.Memcg is { } mc)
        {
            // mem_cgroup_charge → try_charge_memcg: a swap-in charges the group of the swap entry, any other page
            // the faulting mm's. Above some group's memory.max the task reclaims inside that group and retries;
            // after MAX_RECLAIM_RETRIES fruitless rounds the swap-out system calls the group's OOM killer.
            memcg = rec.Class == Fault.FaultClass.SwapRead ? mc.OfSlot(rec.SwapSlot) ?? mc.OfMm(rec.MmId) : mc.OfMm(rec.MmId);
            if (mc.TryCharge(memcg, 1) is { } overLimit)
            {
                Memcontrol.MemcgController.MemoryEvent(overLimit, Memcontrol.MemcgEvent.Max);
                env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, kernel.Options.SwapClusterMax, rec.Process, rec.Cpu, 0, true, overLimit.Id));
                _stillDeferred.Add(req);
                return;
            }
            mc.Charged(rec.Process);
            mc.NoteOverHigh(rec.Process, memcg, 1);
        }
        kernel.Zone.ReserveTables(ref rec.TablesReserved);
        if (!req.NeedsFrame)
        {
            env.Work<PteInstall>().Add(new PteInstall(rec));
            return;
        }
        int pfn = kernel.Zone.AllocFrame(rec.Cpu);
        if (memcg is not null)
            kernel.Memcg!.CommitCharge(pfn, memcg);
        rec.Pfn = pfn;
        kernel.Zone.PinFrame(pfn);
        kernel.Events?.Alloc(rec);
        FaultPaths.FrameGranted(kernel, env, ref rec); // what the fault does with its new page is the fault's business
    }

    /// <summary>
    /// The order-9 allocation of a THP fault (HugeMemory.AllocFolio). On success the folio goes on like any granted
    /// frame; on failure the fault falls back (thp_fault_fallback) to what the same fault does with 4 KiB pages: a
    /// new anonymous page (do_anonymous_page), or, for a write to the huge zero page, the PMD split into 512 entries
    /// of the 4 KiB zero page and a copy of the faulting one (do_huge_pmd_wp_page's fallback, then do_wp_page).
    /// </summary>
    private bool ServeHuge(SimEnvironment env, ref FaultRecord rec)
    {
        var thp = kernel.Thp;
        MmState mm = kernel.Tasks.MmById(rec.MmId)!;
        int vi = mm.Mm.Vmas.FindVma(rec.Va);
        VmFlags flags = vi >= 0 ? mm.Mm.Vmas[vi].Flags : VmFlags.None;
        // Page tables for the PMD's deposited table come from the same reserve as any fault's.
        bool tablesOk = !kernel.Zone.MustStall(kernel.Zone.Buddy.NrFreePages, needsFrame: false);
        int head = tablesOk ? thp.AllocFolio() : -1;
        if (head < 0 && tablesOk && Compaction.Compaction.ThpDirectCompaction(kernel.Options.Thp.Defrag, flags))
            head = kernel.Compaction.DirectCompact(HugeMemory.HugeMemory.PmdOrder, thp.AllocFolio);
        if (head >= 0)
        {
            env.Counters.Increment(kernel.C.ThpFaultAlloc);
            kernel.Zone.ReserveTables(ref rec.TablesReserved);
            rec.Pfn = head;
            kernel.Zone.PinFrame(head);
            kernel.Events?.Alloc(rec);
            FaultPaths.FrameGranted(kernel, env, ref rec);
            return true;
        }
        env.Counters.Increment(kernel.C.ThpFaultFallback);
        if (tablesOk && thp.WakesKswapdOnFallback(flags))
        {
            kernel.Kcompactd.NoteKswapdOrder(HugeMemory.HugeMemory.PmdOrder); // wakeup_kswapd(order 9)
            WakeupKswapd(env);
        }
        if (rec.OrigPte != 0)
        {
            thp.SplitPmd(mm, rec.Va);
            rec.Class = FaultClass.CowCopy;
            rec.SourcePfn = kernel.Zone.ZeroPfn;
            kernel.Zone.PinFrame(rec.SourcePfn);
            rec.OrigPte = mm.Tables.Lookup(rec.Va);
        }
        else
        {
            rec.Class = FaultClass.AnonNew;
        }
        return false;
    }

    /// <summary>wakeup_kswapd: asks kswapd (Vmscan/) to run; it ignores the request while it is awake already.</summary>
    private static void WakeupKswapd(SimEnvironment env) => env.Work<KswapdWakeup>().Add(default);
}
