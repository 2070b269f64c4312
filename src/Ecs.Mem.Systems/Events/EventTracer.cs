using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;

namespace EcsMem.Systems.Events;

/// <summary>
/// Turns what the systems do into <see cref="MemEvent"/>s for a sink. The kernel holds one only while a sink is
/// attached (<see cref="Kernel.Kernel.AttachEvents"/>); every emission point is <c>if (k.Events is { } ev) ev.X(...)</c>,
/// so with no sink the cost is one null check and nothing is built. Events reach the sink in the order the
/// pipeline does the work, which does not depend on the batch size or the host's threads.
/// </summary>
public sealed class EventTracer
{
    private readonly Kernel.Kernel _k;
    private readonly Dictionary<int, int> _pidOfMm = new();
    private readonly Dictionary<MmContext, int> _pidOfCtx = new(ReferenceEqualityComparer.Instance);
    // The page reclaim last unmapped from each frame (pid, address), until a fault gets that frame: the fault's victim.
    private readonly Dictionary<int, (int Pid, ulong Va)> _evicted = new();
    // Each task's fault in flight (a task waits in its fault, so it has at most one): the exact address, when it
    // was raised and the levels its walk read. Kept here, not in the fault's records, so that with no sink the
    // records the pipeline copies stay as small as before.
    private readonly Dictionary<int, (ulong Address, ulong At, int Levels)> _raised = new();

    /// <summary>The access stage raised a fault for <paramref name="pid"/> at <paramref name="address"/>.</summary>
    public void FaultRaised(int pid, ulong address, ulong at, int walkLevels) => _raised[pid] = (address, at, walkLevels);

    internal EventTracer(Kernel.Kernel kernel, IEventSink sink)
    {
        _k = kernel;
        Sink = sink;
    }

    public IEventSink Sink { get; }

    private MemEvent New(MemEventKind kind, int cpu, int pid) => new(kind, _k.Env.Now, cpu, pid);

    private int PidOf(Entity process) => _k.World.IsAlive(process) ? _k.World.Get<Process>(process).Pid : 0;

    /// <summary>The thread-group id of the tasks using mm <paramref name="mmId"/> (0 when none is known).</summary>
    public int PidOfMm(int mmId)
    {
        if (_pidOfMm.TryGetValue(mmId, out int pid))
            return pid;
        MmState? mm = _k.Tasks.MmById(mmId);
        pid = mm is null ? 0 : PidOfMmEntity(mm.Entity);
        if (pid != 0)
            _pidOfMm[mmId] = pid;
        return pid;
    }

    private int PidOfMmEntity(Entity mm)
    {
        foreach (Entity e in _k.Tasks.Processes)
        {
            ref Process p = ref _k.World.Get<Process>(e);
            if (p.Mm == mm)
                return p.Tgid;
        }
        return 0;
    }

    private int PidOfCtx(MmContext ctx)
    {
        if (_pidOfCtx.TryGetValue(ctx, out int pid))
            return pid;
        foreach (MmState mm in _k.Tasks.LiveMms)
        {
            if (ReferenceEquals(mm.Tlb, ctx))
            {
                pid = PidOfMmEntity(mm.Entity);
                break;
            }
        }
        if (pid != 0)
            _pidOfCtx[ctx] = pid;
        return pid;
    }

    /// <summary>handle_mm_fault ended for <paramref name="rec"/>: installed, retried (pte_same failed) or dropped.</summary>
    public void Fault(in FaultRecord rec, FaultOutcome outcome)
    {
        var e = New(MemEventKind.Fault, rec.Cpu, PidOf(rec.Process));
        SetRaised(ref e, rec.Va);
        e.Access = rec.Kind;
        e.Class = rec.Class;
        e.Outcome = outcome;
        e.Major = rec.Major;
        e.Pfn = outcome == FaultOutcome.Installed ? rec.Pfn : -1;
        if (_k.Tasks.MmById(rec.MmId) is { } mm)
            SetVma(ref e, mm, rec.Va);
        if (e.Pfn >= 0 && _evicted.Remove(e.Pfn, out var victim))
        {
            e.VictimPid = victim.Pid;
            e.VictimAddress = victim.Va;
        }
        Sink.Write(e);
    }

    /// <summary>do_user_addr_fault refused the access (no VMA, or the VMA forbids it): SIGSEGV.</summary>
    public void Segv(in FaultRequest req)
    {
        var e = New(MemEventKind.Fault, req.Cpu, PidOf(req.Process));
        SetRaised(ref e, req.Va);
        e.Address = req.Va;
        e.Access = req.Kind;
        e.Outcome = FaultOutcome.Sigsegv;
        if (_k.World.IsAlive(req.Process))
            SetVma(ref e, _k.Tasks.MmOf(req.Process), req.Va);
        Sink.Write(e);
    }

    /// <summary>The address, walk levels and latency of the pid's fault in flight (consumed: the fault ends here).</summary>
    private void SetRaised(ref MemEvent e, ulong va)
    {
        e.Address = va;
        if (_raised.Remove(e.Pid, out var r))
        {
            e.Address = r.Address;
            e.WalkLevels = r.Levels;
            e.Latency = _k.Env.Now - Math.Min(_k.Env.Now, r.At);
        }
    }

    private void SetVma(ref MemEvent e, MmState mm, ulong va)
    {
        int i = mm.Mm.Vmas.FindVma(va);
        if (i < 0 || mm.Mm.Vmas[i].Start > va)
            return;
        ref readonly Vma v = ref mm.Mm.Vmas[i];
        e.VmaStart = v.Start;
        e.VmaEnd = v.End;
        e.Name = ProcMaps.NameOf(v, _k.Files);
    }

    /// <summary>A timeline system call, as strace prints it.</summary>
    public void Syscall(int pid, int cpu, string call, long result, string strace)
    {
        var e = New(MemEventKind.Syscall, cpu, pid);
        e.Name = call;
        e.Result = result;
        e.Text = strace;
        Sink.Write(e);
    }

    /// <summary>One shrink_inactive_list pass.</summary>
    public void Reclaim(bool direct, int cpu, Entity forProcess, long scanned, long reclaimed)
    {
        var e = New(MemEventKind.Reclaim, cpu, direct ? PidOf(forProcess) : 0);
        e.Direct = direct;
        e.Scanned = scanned;
        e.Reclaimed = reclaimed;
        Sink.Write(e);
    }

    /// <summary>
    /// Whether each shrink_inactive_list / shrink_active_list call is an event (lru_shrink_inactive, lru_shrink_active):
    /// off unless asked for by name (`--events-kind`), since a reclaim makes ten or more; the other events are the
    /// same either way.
    /// </summary>
    public bool VmscanCalls { get; set; }

    /// <summary>
    /// One shrink_*_list call on <paramref name="cpu"/> (trace_mm_vmscan_lru_shrink_inactive / _active): direct reclaim's
    /// for <paramref name="forProcess"/>, kswapd's with pid 0.
    /// </summary>
    public void LruShrink(bool active, bool file, int priority, long scanned, long moved, bool direct, int cpu, Entity forProcess)
    {
        var e = New(active ? MemEventKind.LruShrinkActive : MemEventKind.LruShrinkInactive, cpu, direct ? PidOf(forProcess) : 0);
        e.Direct = direct;
        e.File = file;
        e.Priority = priority;
        e.Scanned = scanned;
        e.Reclaimed = moved;
        Sink.Write(e);
    }

    /// <summary>kswapd woken (by an allocation) or going back to sleep.</summary>
    public void Kswapd(bool wake, int cpu) => Sink.Write(New(wake ? MemEventKind.KswapdWake : MemEventKind.KswapdSleep, cpu, 0));

    /// <summary>A fault's allocation stalled and enters direct reclaim.</summary>
    public void AllocStall(in FaultRecord rec)
    {
        var e = New(MemEventKind.AllocStall, rec.Cpu, PidOf(rec.Process));
        e.Address = rec.Va;
        Sink.Write(e);
    }

    /// <summary>A readahead allocation that waits for direct reclaim (no fault of its own: the address is unknown, 0).</summary>
    public void AllocStall(int pid, int cpu)
    {
        var e = New(MemEventKind.AllocStall, cpu, pid);
        Sink.Write(e);
    }

    /// <summary>A frame granted to a fault.</summary>
    public void Alloc(in FaultRecord rec)
    {
        var e = New(MemEventKind.Alloc, rec.Cpu, PidOf(rec.Process));
        e.Address = rec.Va;
        e.Pfn = rec.Pfn;
        Sink.Write(e);
    }

    /// <summary>An anonymous page written to swap slot <paramref name="slot"/>; (<paramref name="mmId"/>, <paramref name="va"/>) is one of its mappings (-1: none).</summary>
    public void SwapOut(int pfn, int slot, int cpu, int mmId, ulong va)
    {
        var e = New(MemEventKind.SwapOut, cpu, mmId < 0 ? 0 : PidOfMm(mmId));
        e.Pfn = pfn;
        e.Slot = slot;
        e.Address = va;
        Sink.Write(e);
    }

    /// <summary>try_to_unmap_one rewrote a PTE of an evicted frame (to a swap entry, or none).</summary>
    public void Unmap(int mmId, ulong va, int pfn, ulong newPte, int cpu)
    {
        int pid = PidOfMm(mmId);
        var e = New(MemEventKind.Unmap, cpu, pid);
        e.Address = va;
        e.Pfn = pfn;
        e.Slot = newPte == 0 ? 0 : (long)new Pte(newPte).ToSwapEntry().Offset;
        _evicted[pfn] = (pid, va);
        Sink.Write(e);
    }

    /// <summary>A disk read started for a fault: a swap-in (into the swap cache) or a file page (into the page cache).</summary>
    public void Read(in FaultRecord rec)
    {
        bool swap = rec.Class != FaultClass.FileRead;
        var e = New(swap ? MemEventKind.SwapIn : MemEventKind.FileRead, rec.Cpu, PidOf(rec.Process));
        e.Address = rec.Va;
        e.Pfn = rec.Pfn;
        if (swap)
        {
            e.Slot = rec.SwapSlot;
        }
        else
        {
            e.Slot = rec.FileIndex;
            e.Name = rec.File >= 0 && rec.File < _k.Files.Count ? _k.Files[rec.File].Path : "";
        }
        Sink.Write(e);
    }

    /// <summary>
    /// A read with no fault of its own (readahead: swap_vma_readahead / swap_cluster_readahead, page_cache_ra_*):
    /// a swap_in (<paramref name="fileId"/> &lt; 0, <paramref name="slotOrIndex"/> the swap slot) or a file_read
    /// (<paramref name="slotOrIndex"/> the page index in the file). <paramref name="va"/> is 0 when no address is known.
    /// </summary>
    public void ReadAhead(int pid, int cpu, ulong va, int pfn, int fileId, long slotOrIndex)
    {
        var e = New(fileId < 0 ? MemEventKind.SwapIn : MemEventKind.FileRead, cpu, pid);
        e.Address = va;
        e.Pfn = pfn;
        e.Slot = slotOrIndex;
        if (fileId >= 0)
            e.Name = fileId < _k.Files.Count ? _k.Files[fileId].Path : "";
        Sink.Write(e);
    }

    /// <summary>flush_tlb_mm_range on the current CPU: the range (a full flush: [0, ulong.MaxValue)) and the remote CPUs reached.</summary>
    public void TlbFlush(MmContext ctx, ulong start, ulong end, int shootdowns)
    {
        var e = New(MemEventKind.TlbFlush, _k.Tlb.CurrentCpu, PidOfCtx(ctx));
        e.Start = start;
        e.End = end;
        e.Reclaimed = shootdowns;
        Sink.Write(e);
    }

    /// <summary>The OOM killer's kill, with its kernel log line.</summary>
    public void OomKill(Entity victim, string message)
    {
        var e = New(MemEventKind.OomKill, _k.Tlb.CurrentCpu, PidOf(victim));
        e.Text = message;
        Sink.Write(e);
    }

    /// <summary>A task becomes runnable for the first time.</summary>
    public void ProcessStart(Entity task, ulong time)
    {
        ref Process p = ref _k.World.Get<Process>(task);
        var e = new MemEvent(MemEventKind.ProcessStart, time, Math.Max(0, p.LastCpu), p.Pid);
        e.Name = _k.Tasks.ProcessName(p);
        Sink.Write(e);
    }

    /// <summary>A task ends (do_exit): <paramref name="killed"/> with its signal, or exited.</summary>
    public void ProcessExit(Entity task, bool killed)
    {
        ref Process p = ref _k.World.Get<Process>(task);
        var e = New(MemEventKind.ProcessExit, _k.Tlb.CurrentCpu, p.Pid);
        e.Name = _k.Tasks.ProcessName(p);
        e.Text = killed ? "killed" : "exited";
        e.Result = p.ExitSignal;
        Sink.Write(e);
    }
}
