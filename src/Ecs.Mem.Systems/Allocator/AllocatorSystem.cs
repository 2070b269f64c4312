using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Kernel;

namespace EcsMem.Systems.Allocator;

/// <summary>
/// ② The page allocator (__alloc_pages): grants frames to this tick's faults. The fast path needs free pages
/// above the low watermark; below it kswapd is woken; the slow path may go down to the min watermark; below
/// min the faulting task stalls in direct reclaim (allocstall) and its request is retried next tick, after
/// the swap-out system has freed pages. Each request also keeps enough frames back for the page-table
/// pages its mapping may need.
/// </summary>
public sealed class AllocatorSystem(Kernel.Kernel kernel) : ISystem
{
    private readonly List<AllocRequest> _deferred = new();
    private readonly List<AllocRequest> _stillDeferred = new();
    private int _kswapdKind = -1;

    public string Name => "allocator";

    /// <summary>Requests waiting for reclaim to free memory (retried each tick, oldest first).</summary>
    public int Deferred => _deferred.Count;

    /// <summary>Registers the event that runs kswapd; the kernel builder calls it once.</summary>
    public void RegisterKswapd(int kind) => _kswapdKind = kind;

    public void Update(SimEnvironment env)
    {
        // Requests stalled in earlier ticks go first, so a retry never overtakes an older one.
        _stillDeferred.Clear();
        foreach (var r in _deferred)
            Serve(env, r);
        _deferred.Clear();
        _deferred.AddRange(_stillDeferred);
        _stillDeferred.Clear();
        foreach (ref readonly AllocRequest r in env.WorkItems<AllocRequest>())
            Serve(env, r);
        _deferred.AddRange(_stillDeferred);
        kernel.AllocationsDeferred = _deferred.Count > 0;
    }

    private void Serve(SimEnvironment env, in AllocRequest req)
    {
        FaultRecord rec = req.Fault;
        var world = kernel.World;
        if (!world.IsAlive(rec.Process) || world.Get<Process>(rec.Process).State != ProcessState.Faulting)
        {
            Abandon(rec);
            return;
        }
        // The watermarks compare the zone's free pages as Linux does (__zone_watermark_ok): the fast path
        // needs free > low, else kswapd is woken and the slow path needs free > min, else direct reclaim.
        long free = kernel.Buddy.NrFreePages;
        if (req.NeedsFrame && kernel.Watermarks.BelowLow(free))
            WakeupKswapd(env);
        if (kernel.MustStall(free, req.NeedsFrame))
        {
            // __alloc_pages_direct_reclaim: this task reclaims, then retries.
            if (req.NeedsFrame)
                env.Counters.Increment(kernel.C.AllocStall);
            env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, kernel.Options.SwapClusterMax, rec.Process));
            _stillDeferred.Add(req);
            return;
        }

        kernel.ReserveTables(ref rec);
        if (!req.NeedsFrame)
        {
            env.Work<PteInstall>().Add(new PteInstall(rec));
            return;
        }
        int pfn = kernel.AllocFrame();
        rec.Pfn = pfn;
        kernel.PinFrame(pfn);
        ref Frame f = ref kernel.Frames[pfn];
        switch (rec.Class)
        {
            case FaultClass.AnonNew:
            case FaultClass.CowCopy:
                f.Flags |= FrameFlags.Anon | FrameFlags.SwapBacked;
                f.Mapping = rec.MmId;
                f.Index = (long)(rec.Va >> Pte.PageShift);
                // A new anonymous page starts zero-filled (fresh content); a COW copy carries its source's content.
                f.ContentToken = rec.Class == FaultClass.AnonNew || rec.SourcePfn == kernel.ZeroPfn
                    ? kernel.NextContentToken()
                    : kernel.Frames[rec.SourcePfn].ContentToken;
                kernel.LruAdd(pfn, Kernel.Kernel.AnonKey(rec.MmId, rec.Va));
                env.Work<PteInstall>().Add(new PteInstall(rec));
                break;
            case FaultClass.FileRead:
            case FaultClass.SwapRead:
                env.Work<PageCacheInsertRequest>().Add(new PageCacheInsertRequest(rec));
                break;
            default:
                throw new InvalidOperationException($"fault class {rec.Class} does not allocate");
        }
    }

    /// <summary>The process died while its fault waited: release what the fault pinned.</summary>
    private void Abandon(in FaultRecord rec)
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

    /// <summary>wakeup_kswapd: schedules a kswapd run now unless one is already pending.</summary>
    private void WakeupKswapd(SimEnvironment env)
    {
        if (kernel.KswapdAwake || _kswapdKind < 0)
            return;
        kernel.KswapdAwake = true;
        env.Counters.Increment(kernel.C.KswapdWakeups);
        env.Schedule(0, new SimEvent(_kswapdKind, Entity.Null));
    }
}
