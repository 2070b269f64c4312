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
/// (rmqueue_pcplist), and a retry after a direct reclaim that made progress but still fails first drains every
/// CPU's list back to the buddy allocator and looks again (__alloc_pages_direct_reclaim's drain_all_pages). A retry
/// that still fails goes through should_reclaim_retry and __alloc_pages_may_oom (ReclaimRetry.cs).
/// </summary>
public sealed partial class AllocatorSystem(Kernel.Kernel kernel) : ISystem
{
    private readonly List<AllocRequest> _stillDeferred = new();

    public string Name => "allocator";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<AllocRequest>();

    /// <summary>Requests waiting for reclaim to free memory (retried each tick, oldest first).</summary>
    public int Deferred => kernel.Zone.Stalled.Count;

    public void Update(SimEnvironment env)
    {
        // Most ticks have neither a stalled request nor a new one: return before the serving loop's large frame is set up.
        if (kernel.Zone.Stalled.Count != 0 || env.WorkCount<AllocRequest>() != 0)
            ServeAll(env);
    }

    /// <summary>This tick's requests for __alloc_pages, the stalled ones (retried after reclaim) first.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ServeAll(SimEnvironment env)
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
            int served = ServeHuge(env, ref rec);
            if (served > 0)
                return;
            if (served < 0)
            {
                _stillDeferred.Add(new AllocRequest(rec, NeedsFrame: true)); // the group reclaims; the charge is tried again
                return;
            }
            req = new AllocRequest(rec, NeedsFrame: true); // fell back to a 4 KiB page: the order-0 path below
        }
        else if (rec.Class == FaultClass.AnonLarge)
        {
            if (ServeLarge(env, ref rec))
                return;
            req = new AllocRequest(rec, NeedsFrame: true);
        }
        if (rec.AwaitsCharge)
        {
            ChargeHeldFrame(env, req, ref rec); // its page is allocated: only the charge is retried
            return;
        }
        // The watermarks compare the zone's free pages as Linux does (__zone_watermark_ok): the fast path
        // needs free > low, else kswapd is woken and the slow path needs free > min, else direct reclaim.
        long free = kernel.Zone.Buddy.NrFreePages;
        if (req.NeedsFrame && kernel.Zone.Watermarks.BelowLow(free))
            WakeupKswapd(env);
        bool stall = kernel.Zone.MustStall(free, req.NeedsFrame);
        if (afterReclaim && stall)
        {
            // __alloc_pages_direct_reclaim: the allocation failed after a reclaim that made progress, perhaps because
            // the free pages sit on per-CPU lists, which NR_FREE_PAGES does not count: drain_all_pages, then try again
            // (a reclaim without progress skips both). Still failing, the slow path decides what comes next.
            bool progress = kernel.Zone.DirectReclaimProgress > 0;
            if (progress && kernel.Zone.DrainAllPages() > 0)
                stall = kernel.Zone.MustStall(kernel.Zone.Buddy.NrFreePages, req.NeedsFrame);
            if (stall)
                stall = AfterFailedAttempt(env, ref rec, progress) == SlowPathStep.Retry;
            if (stall && !kernel.Tasks.IsIn(rec.Process, ProcessState.Faulting))
            {
                // The OOM killer chose this very task: its fault ends here (the victim's allocation is not retried).
                kernel.Events?.Fault(rec, Events.FaultOutcome.Dropped);
                rec.Drop(kernel);
                return;
            }
        }
        if (stall)
        {
            // __alloc_pages_direct_reclaim: this task reclaims, then retries.
            if (req.NeedsFrame)
            {
                env.Counters.Increment(kernel.C.AllocStall);
                kernel.Events?.AllocStall(rec);
            }
            env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, kernel.Options.SwapClusterMax, rec.Process, rec.Cpu));
            _stillDeferred.Add(req with { Fault = rec }); // with its no_progress_loops
            return;
        }

        if (req.NeedsFrame && kernel.Memcg is not null && kernel.Options.ChargeAfterAlloc)
        {
            // Linux's order (folio_prealloc, alloc_swap_folio, __read_swap_cache_async): the page, then its charge.
            int page = kernel.Zone.AllocFrame(rec.Cpu);
            rec.Pfn = page;
            kernel.Zone.PinFrame(page);
            ChargeHeldFrame(env, req, ref rec);
            return;
        }
        Memcontrol.MemCgroup? memcg = null;
        if (req.NeedsFrame && kernel.Memcg is { } mc && !TryChargeFault(env, mc, rec, out memcg))
        {
            _stillDeferred.Add(req);
            return;
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
    /// mem_cgroup_charge → try_charge_memcg for a fault's order-0 page: a swap-in charges the group of the swap entry,
    /// any other page the faulting mm's (<paramref name="memcg"/>). Above some group's memory.max the task reclaims inside
    /// that group (a reclaim request) and the caller retries; after MAX_RECLAIM_RETRIES fruitless rounds the swap-out
    /// system calls the group's OOM killer. Returns whether the charge went through.
    /// </summary>
    private bool TryChargeFault(SimEnvironment env, Memcontrol.MemcgController mc, in FaultRecord rec, out Memcontrol.MemCgroup? memcg)
    {
        memcg = rec.Class == Fault.FaultClass.SwapRead ? mc.OfSlot(rec.SwapSlot) ?? mc.OfMm(rec.MmId) : mc.OfMm(rec.MmId);
        if (mc.TryCharge(memcg, 1, rec.Cpu, out long batch) is { } overLimit)
        {
            Memcontrol.MemcgController.MemoryEvent(overLimit, Memcontrol.MemcgEvent.Max);
            // A swap-in's page is allocated and charged inside swap readahead's plug (swap_vma_readahead,
            // shmem_swapin_cluster → swap_cluster_readahead) unless its window is one page.
            bool plugged = PluggedSwapIn(kernel, rec);
            // The loop runs upwards through the window: a read of a lower slot is in the plug before this charge.
            bool headRead = plugged && kernel.SwapReadahead.ReadPrecedesFault(rec);
            env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, kernel.Options.SwapClusterMax, rec.Process, rec.Cpu, 0, true, overLimit.Id, plugged, ChargePages: 1, PlugHeadRead: headRead));
            return false;
        }
        mc.Charged(rec.Process);
        mc.NoteOverHigh(rec.Process, memcg, batch);
        return true;
    }

    /// <summary>
    /// mem_cgroup_charge of the page <paramref name="rec"/> already holds (machine.charge_after_alloc): charged to the
    /// swap entry's group for a swap-in, else the faulting mm's; above some group's memory.max the fault keeps its page
    /// (uncharged, pinned, on no list) while the task reclaims inside that group, and comes back here to retry.
    /// </summary>
    private void ChargeHeldFrame(SimEnvironment env, AllocRequest req, ref FaultRecord rec)
    {
        var mc = kernel.Memcg!;
        rec.AwaitsCharge = !TryChargeFault(env, mc, rec, out Memcontrol.MemCgroup? memcg);
        if (rec.AwaitsCharge)
        {
            _stillDeferred.Add(req with { Fault = rec });
            return;
        }
        kernel.Zone.ReserveTables(ref rec.TablesReserved);
        mc.CommitCharge(rec.Pfn, memcg!);
        kernel.Events?.Alloc(rec);
        FaultPaths.FrameGranted(kernel, env, ref rec);
    }

    /// <summary>
    /// The order-9 allocation of a THP fault (HugeMemory.AllocFolio). On success the folio goes on like any granted
    /// frame; on failure the fault falls back (thp_fault_fallback) to what the same fault does with 4 KiB pages: a
    /// new anonymous page (do_anonymous_page), or, for a write to the huge zero page, the PMD split into 512 entries
    /// of the 4 KiB zero page and a copy of the faulting one (do_huge_pmd_wp_page's fallback, then do_wp_page).
    /// Under a memory cgroup the folio is charged first (<see cref="ChargeHuge"/>). Returns 1 when the folio is on its
    /// way, 0 when the fault fell back, -1 when the group reclaims before the charge is tried again.
    /// </summary>
    private int ServeHuge(SimEnvironment env, ref FaultRecord rec)
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
        if (head >= 0 && kernel.Memcg is { } mc && !ChargeHuge(env, mc, ref rec, head, flags))
        {
            for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
                kernel.Zone.FreeFrame(head + i, rec.Cpu);
            if (rec.ChargeRetries > 0)
                return -1;
            head = -1;
        }
        if (head >= 0)
        {
            env.Counters.Increment(kernel.C.ThpFaultAlloc);
            thp.AnonFaultAlloc[HugeMemory.HugeMemory.PmdOrder]++;
            kernel.Zone.ReserveTables(ref rec.TablesReserved);
            rec.Pfn = head;
            kernel.Zone.PinFrame(head);
            kernel.Events?.Alloc(rec);
            FaultPaths.FrameGranted(kernel, env, ref rec);
            return 1;
        }
        env.Counters.Increment(kernel.C.ThpFaultFallback);
        thp.AnonFaultFallback[HugeMemory.HugeMemory.PmdOrder]++;
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
        return 0;
    }

    /// <summary>
    /// mem_cgroup_charge of a new THP (__do_huge_pmd_anonymous_page) for its 512 pages at once. When the group (or an
    /// ancestor) would pass memory.max, try_charge_memcg reclaims in it if the fault's gfp allows direct reclaim
    /// (vma_thp_gfp_mask: defrag <c>always</c>, or <c>madvise</c>/<c>defer+madvise</c> in a VM_HUGEPAGE area): a
    /// reclaim of 512 pages in the group, then the charge again; the first reclaim that leaves no room is followed by
    /// drain_all_stock and one more try, then up to MAX_RECLAIM_RETRIES more (the <c>nr_retries</c> loop: 18 reclaims in
    /// all; __GFP_NORETRY, set for a non-madvised area under defrag <c>always</c>, stops after the drain's: 2);
    /// the memcg OOM killer is never called for it (an order above PAGE_ALLOC_COSTLY_ORDER is OOM_SKIPPED). When it still
    /// does not fit, the fault falls back (thp_fault_fallback_charge, then thp_fault_fallback). Returns whether it is
    /// charged; false with <see cref="FaultRecord.ChargeRetries"/> above zero when a retry was queued (the caller
    /// defers the fault until the reclaim ran). The folio is freed meanwhile and allocated afresh at the retry.
    /// </summary>
    private bool ChargeHuge(SimEnvironment env, Memcontrol.MemcgController mc, ref FaultRecord rec, int head, VmFlags flags)
    {
        Memcontrol.MemCgroup memcg = mc.OfMm(rec.MmId);
        if (rec.ChargeRetries == 0)
            mc.BeginCharge(rec.Process);
        if (mc.TryCharge(memcg, HugeMemory.HugeMemory.PmdPages, rec.Cpu, out long batch) is { } over)
        {
            bool mayReclaim = Compaction.Compaction.ThpDirectCompaction(kernel.Options.Thp.Defrag, flags);
            // The first reclaim that leaves no room drains the charge stocks and retries (drain_all_stock) before
            // __GFP_NORETRY gives up or nr_retries counts: 2 reclaims, or 2 + (MAX_RECLAIM_RETRIES - 1) = 18.
            int limit = kernel.Options.Thp.Defrag == Scenarios.ThpDefrag.Always && (flags & VmFlags.HugePage) == 0
                ? 2 : Memcontrol.MemcgController.MaxReclaimRetries + 2;
            if (mayReclaim && rec.ChargeRetries < limit)
            {
                rec.ChargeRetries++;
                Memcontrol.MemcgController.MemoryEvent(over, Memcontrol.MemcgEvent.Max);
                env.Work<Vmscan.ReclaimRequest>().Add(new Vmscan.ReclaimRequest(true, HugeMemory.HugeMemory.PmdPages, rec.Process, rec.Cpu, MayOom: false, Memcg: over.Id, ChargePages: HugeMemory.HugeMemory.PmdPages));
                return false;
            }
            rec.ChargeRetries = 0;
            env.Counters.Increment(kernel.C.ThpFaultFallbackCharge);
            kernel.Thp.AnonFaultFallbackCharge[HugeMemory.HugeMemory.PmdOrder]++;
            return false;
        }
        rec.ChargeRetries = 0;
        mc.Charged(rec.Process);
        mc.NoteOverHigh(rec.Process, memcg, batch);
        mc.CommitFolio(head, HugeMemory.HugeMemory.PmdPages, memcg);
        return true;
    }

    /// <summary>
    /// Whether a swap-in's charge is made inside swap readahead's blk_start_plug (swapin_readahead's
    /// swap_vma_readahead or swap_cluster_readahead, shmem_swapin_cluster's): the page is read from swap
    /// (an anonymous swap-in, or a shmem page with a swap slot) and the readahead window is more than one page.
    /// A memcg reclaim that charge enters nests its plug in that one and issues no write until it ends.
    /// </summary>
    private static bool PluggedSwapIn(Kernel.Kernel kernel, in FaultRecord rec) =>
        rec.SwapSlot > 0 && rec.Class is FaultClass.SwapRead or FaultClass.FileRead && kernel.SwapReadahead.WillPlug(rec);

    /// <summary>
    /// alloc_anon_folio's allocation loop: from the highest of the fault's orders down, an order-N block
    /// (<see cref="HugeMemory.HugeMemory.AllocAnonFolio"/>) charged to the mm's memcg for all its pages at once
    /// (mem_cgroup_charge; a failed charge counts anon_fault_fallback_charge and frees the block); each order that
    /// fails counts anon_fault_fallback, and when none is left the fault takes an order-0 page (the path below).
    /// Simplification: neither the allocation nor the charge reclaims or compacts (GFP_TRANSHUGE_LIGHT's behaviour;
    /// Linux lets a VM_HUGEPAGE area under defrag <c>madvise</c> reclaim, and the charge reclaim within its group).
    /// </summary>
    private bool ServeLarge(SimEnvironment env, ref FaultRecord rec)
    {
        var thp = kernel.Thp;
        bool tablesOk = !kernel.Zone.MustStall(kernel.Zone.Buddy.NrFreePages, needsFrame: false);
        Memcontrol.MemCgroup? memcg = kernel.Memcg?.OfMm(rec.MmId);
        // vma_thp_gfp_mask: whether the folio's gfp has __GFP_KSWAPD_RECLAIM (ALLOC_KSWAPD for a watermark boost).
        MmState mm = kernel.Tasks.MmById(rec.MmId)!;
        int vi = mm.Mm.Vmas.FindVma(rec.Va);
        bool kswapd = thp.WakesKswapdOnFallback(vi >= 0 ? mm.Mm.Vmas[vi].Flags : VmFlags.None);
        long chargedBatch = 0;
        for (int order = HugeMemory.HugeMemory.PmdOrder - 1; order >= Scenarios.ThpConfig.MinAnonOrder; order--)
        {
            if ((rec.Orders & (1 << order)) == 0)
                continue;
            int head = tablesOk ? thp.AllocAnonFolio(order, kswapd) : -1;
            if (head >= 0 && memcg is not null && kernel.Memcg!.TryCharge(memcg, 1 << order, rec.Cpu, out chargedBatch) is not null)
            {
                thp.AnonFaultFallbackCharge[order]++;
                for (int i = 0; i < 1 << order; i++)
                    kernel.Zone.FreeFrame(head + i, rec.Cpu);
                head = -1;
            }
            if (head < 0)
            {
                thp.AnonFaultFallback[order]++;
                continue;
            }
            if (memcg is not null)
            {
                kernel.Memcg!.Charged(rec.Process);
                kernel.Memcg.NoteOverHigh(rec.Process, memcg, chargedBatch);
                kernel.Memcg.CommitFolio(head, 1 << order, memcg);
            }
            thp.AnonFaultAlloc[order]++;
            kernel.Zone.ReserveTables(ref rec.TablesReserved);
            rec.Pfn = head;
            rec.Order = order;
            for (int i = 0; i < 1 << order; i++)
                kernel.Zone.PinFrame(head + i);
            kernel.Events?.Alloc(rec);
            FaultPaths.FrameGranted(kernel, env, ref rec);
            return true;
        }
        rec.Class = FaultClass.AnonNew;
        return false;
    }

    /// <summary>wakeup_kswapd: asks kswapd (Vmscan/) to run; it ignores the request while it is awake already.</summary>
    private static void WakeupKswapd(SimEnvironment env) => env.Work<KswapdWakeup>().Add(default);
}
