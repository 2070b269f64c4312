using EcsMem.Components;
using EcsMem.Simulation;

namespace EcsMem.Systems.Kernel;

public sealed partial class Kernel
{
    private readonly Dictionary<int, List<AllocRequest>> _pageWaiters = new();

    /// <summary>
    /// folio_wait_locked for a fault that found its page in the page cache or swap cache while another
    /// process's read of it is still in flight (PG_locked): the faulting process sleeps until that read
    /// completes, then its fault goes on as a cache hit (a minor fault that waited, as in filemap_fault).
    /// The page stays pinned by the fault meanwhile.
    /// </summary>
    internal void WaitOnPageLocked(int pfn, in AllocRequest req)
    {
        if (!_pageWaiters.TryGetValue(pfn, out var list))
            _pageWaiters[pfn] = list = new List<AllocRequest>();
        FaultRecord rec = req.Fault;
        rec.IoStart = Env.Now;
        list.Add(req with { Fault = rec });
        World.Get<Process>(rec.Process).State = ProcessState.SleepingIo;
    }

    /// <summary>folio_unlock's wake-up: the processes waiting for <paramref name="pfn"/> resume their faults.</summary>
    internal void WakeUpPageWaiters(SimEnvironment env, int pfn)
    {
        if (!_pageWaiters.Remove(pfn, out var list))
            return;
        foreach (AllocRequest req in list)
        {
            FaultRecord rec = req.Fault;
            if (!World.IsAlive(rec.Process) || World.Get<Process>(rec.Process).State != ProcessState.SleepingIo)
            {
                // Killed while it waited: drop what the fault pinned.
                if (rec.Pfn >= 0) { UnpinFrame(rec.Pfn); ReleaseIfUnused(rec.Pfn); }
                if (rec.SourcePfn >= 0) { UnpinFrame(rec.SourcePfn); ReleaseIfUnused(rec.SourcePfn); }
                continue;
            }
            World.Get<Process>(rec.Process).State = ProcessState.Faulting;
            World.Get<ProcessStats>(rec.Process).IoWaitCycles += (long)(env.Now - rec.IoStart);
            env.Work<AllocRequest>().Add(req);
            EventWorkPending = true;
        }
    }
}
