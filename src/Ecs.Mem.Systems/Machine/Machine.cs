using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.Machine;

/// <summary>
/// A whole simulated machine: the environment, the kernel state and the systems in their fixed order —
/// address-space operations, the access stage (CPU, TLB, page walk, caches), then the slow path in the
/// order of the design card: fault handling → allocator → page-cache insert → swap-out → TLB fill →
/// page-table rewrite → fault install.
/// </summary>
public sealed class Machine : IDisposable
{
    private readonly List<(Entity Process, long After, AddressSpaceOp Op)> _triggers = new();

    public Machine(KernelOptions options, string source = "configuration")
    {
        Env = new SimEnvironment();
        Kernel = new Kernel.Kernel(Env, options, source);
        AddressSpace = new AddressSpaceOpsSystem(Kernel, Env);
        Access = new AccessStage(Kernel, Env);
        Faults = new FaultHandlingSystem(Kernel);
        Allocator = new AllocatorSystem(Kernel);
        PageCacheInsert = new PageCacheInsertSystem(Kernel, Env);
        SwapOut = new SwapOutSystem(Kernel, Env);
        TlbFill = new TlbFillSystem(Kernel);
        PageTableRewrite = new PageTableRewriteSystem(Kernel);
        Kernel.PageTableRewrite = PageTableRewrite;
        FaultInstall = new FaultInstallSystem(Kernel);
        // A fork child's access-count triggers work without further wiring (a scenario loader may replace this).
        AddressSpace.ChildCreated = (child, _) => AttachTriggers(child);
        AddressSpace.ScheduleChildStart = (child, at) => Access.ScheduleStart(Env, child, at);
        AddressSpace.Populate = Access.Populate;
        Env.Pipeline
            .Add(AddressSpace)
            .Add(Access)
            .Add(Faults)
            .Add(Allocator)
            .Add(PageCacheInsert)
            .Add(SwapOut)
            .Add(TlbFill)
            .Add(PageTableRewrite)
            .Add(FaultInstall);
        // The flusher's kworker (wb_workfn), with async writeback only.
        if (Kernel.Flusher is { } flusher)
            Env.Pipeline.Add(flusher);
        Env.Pipeline
            .Add(Kernel.Khugepaged)
            .Add(Kernel.Kcompactd)
            .Add(new SmpSyncSystem(Kernel.Smp, Access));
    }

    public SimEnvironment Env { get; }
    public Kernel.Kernel Kernel { get; }
    public AddressSpaceOpsSystem AddressSpace { get; }
    public AccessStage Access { get; }
    public FaultHandlingSystem Faults { get; }
    public AllocatorSystem Allocator { get; }
    public PageCacheInsertSystem PageCacheInsert { get; }
    public SwapOutSystem SwapOut { get; }
    public TlbFillSystem TlbFill { get; }
    public PageTableRewriteSystem PageTableRewrite { get; }
    public FaultInstallSystem FaultInstall { get; }

    /// <summary>True when every process has finished and no event is pending.</summary>
    public bool Finished => Access.Finished;

    /// <summary>Set when <see cref="Run"/> stopped early (a stop request such as Ctrl-C).</summary>
    public bool Partial { get; private set; }

    /// <summary>
    /// Creates a process: a new address space laid out by <paramref name="layout"/>, the workload, and a start
    /// at <paramref name="start"/> cycles. Nothing is resident: pages arrive at their first touch.
    /// </summary>
    public Entity AddProcess(string name, Action<MmState> layout, Workload workload, ulong start = 0)
    {
        MmState mm = Kernel.Tasks.CreateMm();
        layout(mm);
        mm.NoteHiwaterVm();
        Entity p = Kernel.Tasks.CreateProcess(name, mm, 0, start, ProcessState.NotStarted);
        Kernel.World.Add(p, new ProcessWorkload { Source = workload });
        if (workload is not null)
            workload.MarkReached = OnMark;
        Access.ScheduleStart(Env, p, start);
        return p;
    }

    /// <summary>
    /// Creates a thread of <paramref name="leader"/> (clone with CLONE_VM | CLONE_THREAD): a task sharing its
    /// address space, running <paramref name="workload"/> from <paramref name="start"/> cycles.
    /// </summary>
    public Entity AddThread(Entity leader, string name, Workload workload, ulong start)
    {
        Entity t = Kernel.Tasks.CreateThread(leader, name, start);
        Kernel.World.Add(t, new ProcessWorkload { Source = workload });
        workload.MarkReached = OnMark;
        Access.ScheduleStart(Env, t, start);
        return t;
    }

    /// <summary>Sets (or replaces) a process's workload before the run starts.</summary>
    public void SetWorkload(Entity process, Workload workload)
    {
        workload.MarkReached = OnMark;
        Kernel.World.Get<ProcessWorkload>(process).Source = workload;
        // Marks registered before the workload was replaced belong to the new one now.
        long next = -1;
        foreach (var (proc, after, _) in _triggers)
            if (proc == process && after > workload.Completed && (next < 0 || after < next))
                next = after;
        workload.NextMark = next;
    }

    /// <summary>Lets a process created during the run (a fork child) fire access-count triggers.</summary>
    public void AttachTriggers(Entity process) =>
        Kernel.World.Get<ProcessWorkload>(process).Source.MarkReached = OnMark;

    /// <summary>Schedules an address-space operation at simulated time <paramref name="at"/>.</summary>
    public void ScheduleAt(ulong at, AddressSpaceOp op) => AddressSpace.Schedule(Env, at, op);

    /// <summary>Schedules an operation for when <paramref name="op"/>'s process has completed <paramref name="after"/> accesses.</summary>
    public void ScheduleAfterAccesses(long after, AddressSpaceOp op)
    {
        _triggers.Add((op.Process, after, op));
        Workload? w = Kernel.World.Get<ProcessWorkload>(op.Process).Source;
        if (w is null)
            return; // SetWorkload picks the mark up
        if (after <= w.Completed)
            // Already due: at once, but not before the process starts (an op on a process that has not
            // started yet would be skipped).
            ScheduleAt(Math.Max(Env.Now, Kernel.World.Get<Process>(op.Process).StartTime), op);
        else if (w.NextMark < 0 || after < w.NextMark)
            w.NextMark = after;
    }

    /// <summary>A workload reached a mark: schedule the operations due at this access count, in the order given.</summary>
    private void OnMark(Workload w)
    {
        long next = -1;
        foreach (var (proc, after, op) in _triggers)
        {
            if (!ReferenceEquals(Kernel.World.Get<ProcessWorkload>(proc).Source, w))
                continue;
            if (after == w.Completed)
                ScheduleAt(Env.Now, op);
            else if (after > w.Completed && (next < 0 || after < next))
                next = after;
        }
        w.NextMark = next;
    }

    /// <summary>
    /// The warm-up: the statistics are reset (<see cref="ResetStatistics"/>) at the end of the tick in which the
    /// accesses completed by all processes together first reach <see cref="WarmupAccesses"/>; the access stage
    /// ends that tick exactly there, so the point does not depend on the batch size. A run that ends before
    /// reaching it is reset at its end (everything excluded). Null: no warm-up. Set before <see cref="Run"/>.
    /// </summary>
    public long? WarmupAccesses
    {
        get => _warmup;
        set
        {
            if (value < 0)
                throw new ArgumentOutOfRangeException(nameof(value), value, "the warm-up is a number of accesses, at least 0");
            _warmup = value;
            Access.AccessLimit = value ?? long.MaxValue;
        }
    }

    private long? _warmup;

    /// <summary>The accesses completed (all processes) when the statistics were last reset; 0 if never.</summary>
    public long AccessesAtReset { get; private set; }

    /// <summary>Whether <see cref="ResetStatistics"/> has run.</summary>
    public bool StatisticsReset { get; private set; }

    /// <summary>Simulated time at the last statistics reset (0: never reset).</summary>
    public ulong TimeAtReset { get; private set; }

    /// <summary>Each CPU's clock at the last statistics reset (all 0: never reset).</summary>
    public ReadOnlySpan<ulong> CpuTimeAtReset => _cpuTimeAtReset ??= new ulong[Kernel.Smp.Count];

    private ulong[]? _cpuTimeAtReset;

    /// <summary>
    /// Sets every statistic back to zero, in one place: the named counters (/proc/vmstat events, TLB, faults…),
    /// the cycle accounting and the CPUs' idle time, each process's counters (its peak RSS excepted: a
    /// high-water mark of the state), the caches' event counts and the fault-batch sizes; and records the
    /// simulated time and each CPU's clock, from which the report then measures time. State (memory, page
    /// tables, TLB and cache contents, free lists, RSS, the logs) is not touched.
    /// </summary>
    public void ResetStatistics()
    {
        Env.Counters.Reset();
        Kernel.Cycles.Reset();
        Kernel.Smp.ResetIdleCycles();
        Kernel.Caches.ResetCounters();
        Access.ResetStatistics();
        foreach (Entity p in Kernel.Tasks.Processes)
        {
            ref ProcessStats st = ref Kernel.World.Get<ProcessStats>(p);
            st = new ProcessStats { RssPeak = st.RssPeak };
        }
        var clocks = new ulong[Kernel.Smp.Count];
        for (int c = 0; c < clocks.Length; c++)
            clocks[c] = Kernel.Smp.Time(c);
        _cpuTimeAtReset = clocks;
        TimeAtReset = Env.Now;
        AccessesAtReset = Access.CompletedAccesses;
        StatisticsReset = true;
    }

    /// <summary>At a tick boundary: the warm-up reset once its access count is reached (or the run is over before it).</summary>
    private void WarmupCheck()
    {
        if (_warmup is not { } n || StatisticsReset)
            return;
        if (Access.CompletedAccesses >= n || Access.Finished)
        {
            ResetStatistics();
            Access.AccessLimit = long.MaxValue;
        }
    }

    /// <summary>
    /// Runs ticks until the machine is finished, or <paramref name="stop"/> returns true (checked every
    /// <paramref name="checkEvery"/> ticks; the run is then marked partial). <paramref name="progress"/> is
    /// called at the same points.
    /// </summary>
    public void Run(Func<bool>? stop = null, Action<Machine>? progress = null, int checkEvery = 256)
    {
        long ticks = 0;
        WarmupCheck();
        while (!Access.Finished)
        {
            Tick();
            if (++ticks % checkEvery == 0)
            {
                progress?.Invoke(this);
                if (stop?.Invoke() == true)
                {
                    Partial = true;
                    return;
                }
            }
        }
    }

    /// <summary>
    /// One tick and the warm-up check after it. A method of its own: <see cref="Run"/> is entered once per run, so its
    /// loop only ever runs as on-stack-replacement code; the tick body called from it is compiled at full tier like any
    /// method called often.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void Tick()
    {
        Env.RunTick();
        WarmupCheck();
    }

    /// <summary>Accesses completed by all processes so far.</summary>
    public long CompletedAccesses()
    {
        // Indexed, so progress callbacks can call it every tick without allocating an enumerator.
        long n = 0;
        var procs = Kernel.Tasks.Processes;
        for (int i = 0; i < procs.Count; i++)
            n += Kernel.World.Get<ProcessStats>(procs[i]).Accesses;
        return n;
    }

    public void Dispose()
    {
        // TryGet: a fork child whose workload failed to open (bad input) has no workload to dispose.
        foreach (Entity p in Kernel.Tasks.Processes)
            if (Kernel.World.TryGet(p, out ProcessWorkload w))
                w.Source?.Dispose();
    }
}
