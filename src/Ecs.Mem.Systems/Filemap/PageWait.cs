using EcsMem.Components;
using EcsMem.Simulation;

namespace EcsMem.Systems.Filemap;

/// <summary>The page wait queues of mm/filemap.c: faults sleeping until a locked page's read completes.</summary>
public sealed class PageWaitQueue(Kernel.Kernel kernel)
{
    private readonly Dictionary<int, List<AllocRequest>> _pageWaiters = new();

    /// <summary>
    /// folio_wait_locked for a fault that found its page in the page cache or swap cache while another
    /// process's read of it is still in flight (PG_locked): the faulting process sleeps until that read
    /// completes, then its fault goes on as a cache hit (a minor fault that waited, as in filemap_fault).
    /// The page stays pinned by the fault meanwhile.
    /// </summary>
    public void WaitOnPageLocked(int pfn, in AllocRequest req)
    {
        if (!_pageWaiters.TryGetValue(pfn, out var list))
            _pageWaiters[pfn] = list = new List<AllocRequest>();
        FaultRecord rec = req.Fault;
        rec.IoStart = kernel.Env.Now;
        list.Add(req with { Fault = rec });
        kernel.World.Get<Process>(rec.Process).State = ProcessState.SleepingIo;
        Task.Rseq.RseqPreempt(kernel, rec.Process); // the sleep is a switch (prepare_task_switch → rseq_preempt)
    }

    /// <summary>
    /// The end of a readahead window's loop that faults waited for (<paramref name="key"/>, do_async_mmap_readahead run
    /// inside filemap_fault): each fault goes on to filemap_fault's folio lock, so one whose cached page is still locked
    /// (its read in flight) sleeps on that page now, else it resumes.
    /// </summary>
    public void WakeUpWindowWaiters(SimEnvironment env, int key)
    {
        if (!_pageWaiters.Remove(key, out var list))
            return;
        foreach (AllocRequest req in list)
        {
            FaultRecord rec = req.Fault;
            int pfn = rec.Class == FaultClass.CowCopy ? rec.SourcePfn : rec.Pfn;
            if (pfn >= 0 && kernel.Tasks.IsIn(rec.Process, ProcessState.SleepingIo) && (kernel.Zone.Frames[pfn].Flags & FrameFlags.Locked) != 0)
            {
                kernel.World.Get<ProcessStats>(rec.Process).IoWaitCycles += (long)(env.Now - rec.IoStart);
                WaitOnPageLocked(pfn, req);
                continue;
            }
            Resume(env, req);
        }
    }

    /// <summary>folio_unlock's wake-up: the processes waiting for <paramref name="pfn"/> resume their faults.</summary>
    public void WakeUpPageWaiters(SimEnvironment env, int pfn)
    {
        if (!_pageWaiters.Remove(pfn, out var list))
            return;
        foreach (AllocRequest req in list)
            Resume(env, req);
    }

    /// <summary>A woken fault goes on (or, killed while it slept, drops what it pinned).</summary>
    private void Resume(SimEnvironment env, AllocRequest req)
    {
        FaultRecord rec = req.Fault;
        if (!kernel.Tasks.IsIn(rec.Process, ProcessState.SleepingIo))
        {
            // Killed while it waited: drop what the fault pinned.
            kernel.Events?.Fault(rec, Events.FaultOutcome.Dropped);
            rec.Drop(kernel);
            return;
        }
        kernel.World.Get<Process>(rec.Process).State = ProcessState.Faulting;
        rec.NotBefore = env.EventTime;
        kernel.World.Get<ProcessStats>(rec.Process).IoWaitCycles += (long)(env.Now - rec.IoStart);
        env.Work<AllocRequest>().Add(req with { Fault = rec });
    }
}
