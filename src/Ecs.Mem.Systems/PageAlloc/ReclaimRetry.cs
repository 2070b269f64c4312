using EcsMem.Components;
using EcsMem.Simulation;

namespace EcsMem.Systems.PageAlloc;

/// <summary>What __alloc_pages_slowpath does after an attempt that followed direct reclaim still failed.</summary>
internal enum SlowPathStep
{
    /// <summary>goto retry: wake kswapd, try the freelists, reclaim again (the request stays stalled).</summary>
    Retry,

    /// <summary>__alloc_pages_may_oom's last attempt at the high watermark succeeds: allocate.</summary>
    Allocate,
}

public sealed partial class AllocatorSystem
{
    // The tick of the last OOM kill: out_of_memory holds oom_lock and the victim is still exiting for the rest of the
    // tick, so another allocation that gives up in the same tick finds the lock (or the victim) and retries instead of
    // killing a second task (__alloc_pages_may_oom: mutex_trylock fails, or oom_evaluate_task aborts on a victim that
    // has not released its memory yet: did_some_progress = 1).
    private long _oomTick = -1;

    /// <summary>
    /// The end of one round of __alloc_pages_slowpath for a stalled allocation whose attempt after direct reclaim failed
    /// (the simulator's retry of the stalled request is __alloc_pages_direct_reclaim's get_page_from_freelist and the
    /// next round's attempt at <c>retry:</c>, which come with no time between them): should_reclaim_retry decides
    /// whether to reclaim again; no order-0 allocation retries for compaction (should_compact_retry); then
    /// __alloc_pages_may_oom tries the freelists once more at the high watermark, and else calls the OOM killer
    /// (out_of_memory), after which the loop starts over with no_progress_loops 0 (did_some_progress = 1). Each retry
    /// costs the direct reclaim's simulated time on the task's CPU; kswapd runs meanwhile, as its events come due, and
    /// may take a watermark boost off (balance_pgdat) before the retries run out.
    /// </summary>
    private SlowPathStep AfterFailedAttempt(SimEnvironment env, ref FaultRecord rec, bool didSomeProgress)
    {
        if (ShouldReclaimRetry(ref rec, didSomeProgress))
            return SlowPathStep.Retry;
        return AllocPagesMayOom(env, ref rec);
    }

    /// <summary>
    /// should_reclaim_retry (mm/page_alloc.c) for an order-0 request: progress resets no_progress_loops (an order up to
    /// PAGE_ALLOC_COSTLY_ORDER), no progress counts one more; more than MAX_RECLAIM_RETRIES in a row give up (the OOM
    /// path; unreserve_highatomic_pageblock has nothing to give back: EcsMem keeps no MIGRATE_HIGHATOMIC reserve).
    /// Otherwise reclaim goes on while the zone would pass its min watermark (the boost included, as min_wmark_pages
    /// has it) if every reclaimable page were freed: zone_reclaimable_pages plus the free pages.
    /// </summary>
    private bool ShouldReclaimRetry(ref FaultRecord rec, bool didSomeProgress)
    {
        if (didSomeProgress)
            rec.NoProgressLoops = 0;
        else
            rec.NoProgressLoops++;
        if (rec.NoProgressLoops > Vmscan.SwapOutSystem.MaxReclaimRetries)
            return false;
        long available = Vmscan.ZoneReclaimable.Pages(kernel) + kernel.Zone.Buddy.NrFreePages;
        return Watermarks.WatermarkOk(available, kernel.Zone.Watermarks.Min);
    }

    /// <summary>
    /// __alloc_pages_may_oom: with oom_lock taken by an OOM kill earlier in this tick, back off and retry; else
    /// get_page_from_freelist at ALLOC_WMARK_HIGH (a racing free may have made room: the high watermark makes sure this
    /// is not a near miss that would OOM again at once), else out_of_memory, which kills (the faulting task may be the
    /// victim: its stalled request is dropped at its next attempt) and counts as progress: no_progress_loops 0.
    /// </summary>
    private SlowPathStep AllocPagesMayOom(SimEnvironment env, ref FaultRecord rec)
    {
        rec.NoProgressLoops = 0;
        if (_oomTick == env.Ticks)
            return SlowPathStep.Retry;
        if (Watermarks.WatermarkOk(kernel.Zone.Buddy.NrFreePages, kernel.Zone.Watermarks.High))
            return SlowPathStep.Allocate;
        _oomTick = env.Ticks;
        kernel.Oom.OutOfMemory(rec.Process);
        return SlowPathStep.Retry;
    }
}
