using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Task;
using EcsMem.Systems.Timing;
using EcsMem.Traces;

namespace EcsMem.Systems.Cpu;

/// <summary>
/// The CPUs: each runs its task's accesses through its TLBs (⑧), the page walk on a TLB miss and the cache
/// hierarchy, advancing its own time by each access's latency; a round-robin scheduler gives every CPU the
/// next runnable task in pid order every quantum and whenever its task blocks.
/// <para>
/// CPUs interleave in simulated-time order: the CPU with the earliest time (the lower number on a tie) runs
/// until it passes the next CPU's time, so accesses reach the shared caches, page tables and TLB state in the
/// order their times say, whatever the batch size. A CPU stops at the first access that needs the slow path
/// (a fault ①) or a queued TLB fill, and when an event falls due. A fault opens a <i>fault window</i>: the
/// faulting CPU is in the fault handler until one minor-fault cost after the fault, and the other CPUs run
/// on to the end of that window (or fault too); then all the window's faults go to the fault handler as one
/// batch, which the allocator, page-cache, reclaim and install systems process together. With one CPU the
/// window closes at once: one fault per tick, as before.
/// </para>
/// <para>
/// Batch-size independence: the reference semantics is one access per tick. Issuing more accesses in one
/// tick gives the same results only while the systems after this one would do nothing between them, so a
/// tick goes on past its first access only while (a) no work batch has been produced this tick, (b) nothing
/// waits on the slow path across ticks (a process in the Faulting state outside the window, or an allocation
/// the allocator retries every tick: Zone.HasStalledAllocations; a readahead window waiting for its direct
/// reclaim: Readahead.HasPending) and (c) no event is due; a tick whose events
/// produced slow-path work (a work batch rented before this stage runs) issues no access at all. Under the
/// same conditions a TLB miss whose walk finds a usable PTE fills the TLB at once instead of ending the tick:
/// the tlb-fill step would be the only thing the rest of the pipeline does. The fault window is held here
/// across ticks, so it closes at the same simulated point whatever the batch size.
/// </para>
/// </summary>
public sealed class AccessStage : ISystem, IEventHandler
{
    private readonly Kernel.Kernel _k;
    private readonly Smp _smp;
    private readonly int _startKind;
    // The kernel's caches are LRU hierarchies: keep the concrete (sealed, struct-generic) type so the per-access
    // call is direct and inlinable; any other hierarchy goes through the interface.
    private readonly CacheHierarchy<LruReplacement>? _lru;
    // Timing constants read once (the model is immutable): no property calls per access.
    private readonly long _l1TlbCycles, _stlbCycles, _walkLevelCycles;
    private readonly long _l1Cycles, _l2Cycles, _l3Cycles, _memoryCycles;
    private readonly long[] _levelCycles;       // the four above, by MemoryLevel
    private readonly ulong _windowCycles;
    private readonly ulong _epoch;
    private MmState? _mm;                       // the running CPU's address space, for the per-access walk
    private readonly List<FaultRequest> _window = new();
    private ulong _windowEnd = ulong.MaxValue;  // end of the open fault window (MaxValue: none open)
    private long[] _batchSizes = new long[8];   // fault batches by size (index = faults in the batch)

    public AccessStage(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _smp = kernel.Smp;
        _startKind = env.RegisterEventKind("process-start", this);
        _lru = kernel.Caches as CacheHierarchy<LruReplacement>;
        TimingModel t = kernel.Timing;
        _l1TlbCycles = t.L1TlbHitCycles;
        _stlbCycles = t.StlbHitCycles;
        _walkLevelCycles = t.PageWalkLevelCycles;
        _l1Cycles = t.L1HitCycles;
        _l2Cycles = t.L2HitCycles;
        _l3Cycles = t.L3HitCycles;
        _memoryCycles = t.MemoryCycles;
        _levelCycles = [_l1Cycles, _l2Cycles, _l3Cycles, _memoryCycles];
        _windowCycles = (ulong)t.MinorFaultCycles;
        _epoch = (ulong)kernel.Options.SmpEpochCycles;
    }

    public string Name => "access";

    /// <summary>True once every process has exited and no event is left.</summary>
    public bool Finished { get; private set; }

    /// <summary>Cycles the CPUs sat idle with nothing runnable (summed over CPUs).</summary>
    public long IdleCycles => _smp.IdleCycles;

    /// <summary>
    /// The machine's time between ticks: the earliest time at which some CPU still has something to do — run
    /// its task, take a waiting task, or go idle (a CPU in the fault window waits for the window instead). An
    /// event is dispatched once this time reaches it, which is exactly when the CPUs, run in time order, stop
    /// before it, so where ticks end never moves an event. When every CPU idles it is their latest time.
    /// </summary>
    public ulong MachineTime()
    {
        ulong min = ulong.MaxValue, max = 0;
        for (int c = 0; c < _smp.Count; c++)
        {
            CpuState s = _smp[c];
            ulong t = _smp.Time(c);
            if (t > max) max = t;
            if (!s.InFault && (!Settled(s) || CouldRun(s)) && t < min)
                min = t;
        }
        return min != ulong.MaxValue ? min : max;
    }

    /// <summary>True while faults wait in the open fault window.</summary>
    public bool WindowOpen => _window.Count > 0;

    /// <summary>Fault batches handed to the fault handler, by size: element n counts the batches of n faults.</summary>
    public ReadOnlySpan<long> FaultBatchSizes => _batchSizes;

    /// <summary>Accesses completed by all CPUs since the machine was built (never reset, unlike the statistics).</summary>
    public long CompletedAccesses { get; private set; }

    /// <summary>
    /// A tick ends as soon as <see cref="CompletedAccesses"/> reaches this count, and no access is issued past it,
    /// whatever the batch size (the warm-up reset point); <see cref="long.MaxValue"/>: no limit. Whoever sets it
    /// raises or clears it once it is reached.
    /// </summary>
    public long AccessLimit { get; set; } = long.MaxValue;

    /// <summary>Forgets the fault-batch sizes counted so far (statistics reset).</summary>
    public void ResetStatistics() => Array.Clear(_batchSizes);

    /// <summary>
    /// A tick ends as soon as <see cref="CompletedAccesses"/> reaches this count (-1: no mark), so an observer
    /// between ticks sees the machine after exactly that many accesses whatever the batch size (ending a tick
    /// early is always allowed: it is what a batch of one does).
    /// </summary>
    public long AccessMark { get; set; } = -1;

    /// <summary>
    /// A tick ends once the CPUs reach this simulated time (MaxValue: no mark), as it would before an event due
    /// then, so an observer between ticks sees the first tick boundary at or after it whatever the batch size.
    /// Cleared by the first tick that starts with the machine's time at or past it.
    /// </summary>
    public ulong TimeMark { get; set; } = ulong.MaxValue;

    /// <summary>Event kind that makes a NotStarted process runnable (scheduled by the machine).</summary>
    public int StartEventKind => _startKind;

    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        ref Process p = ref _k.World.Get<Process>(ev.Target);
        if (p.State == ProcessState.NotStarted)
        {
            p.State = ProcessState.Runnable;
            p.ReadyTime = p.StartTime;
            _k.Events?.ProcessStart(ev.Target, p.StartTime);
        }
    }

    public void Update(SimEnvironment env)
    {
        // Slow-path work this tick's events produced (an I/O completion's install, a kswapd batch) takes effect
        // before any further access, exactly as with a batch of one.
        // (The address-space system before this one never produces work, so pending work here came from events.)
        // About a third of the ticks end here: they return before the issuing loop's large frame is set up.
        if (!env.HasPendingWork)
            IssueAccesses(env);
    }

    /// <summary>The CPUs' accesses of this tick (the tasks' user-space loads, stores and fetches), until work is pending.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void IssueAccesses(SimEnvironment env)
    {
        if (TimeMark != ulong.MaxValue && MachineTime() >= TimeMark)
            TimeMark = ulong.MaxValue;
        int budget = _k.Options.BatchSize;
        // A stalled fault can only appear after this stage (the allocator defers it), so one check per tick does. It is
        // made when a CPU first has a task to run: picking one changes no process's state, nor the window, the stalled
        // allocations or readahead, so the answer is the tick start's; a tick in which nothing runs (an idle or
        // event-only tick) skips the scan of every process.
        bool batching = false, batchingKnown = false;
        int issued = 0;
        bool ran = false; // some CPU ran a task (an access, a prefault, an exit) in this tick
        while (true)
        {
            if (issued > 0 && (!batching || issued >= budget || env.HasPendingWork))
                return; // the rest of the pipeline has something to do before the next access
            if (CompletedAccesses >= AccessLimit && _populate.Count == 0 && !_k.OpenFiles.CallsInProgress)
                return; // the access limit (warm-up point) ends the tick here, with any batch size
            ulong nextEvent = env.Events.Count > 0 ? env.Events.PeekTime : ulong.MaxValue;
            ulong limit = Math.Min(Math.Min(nextEvent, _windowEnd), TimeMark);
            CpuState? cpu = PickCpu(env, limit, out ulong stopAt);
            if (cpu is null)
            {
                if (_window.Count > 0)
                {
                    CloseWindow(env);
                    return;
                }
                if (AnyCpuAt(limit))
                    return; // an event is due: the next tick dispatches it before any further access
                // A fault waiting for reclaim is retried by this very tick's allocator: no idling past it.
                if (_k.Zone.HasStalledAllocations)
                    return;
                // Nor past a readahead window waiting for its reclaim round: the next tick goes on with it (its faulting
                // task may sleep on a read that window has not submitted yet).
                if (_k.Readahead.HasPending)
                    return;
                if (env.Events.Count > 0)
                {
                    // NOHZ idle: periodic timers whose wakes would do nothing jump to their last period before the
                    // next event that matters (or the time an observer asked to stop at). Only in a tick that does
                    // nothing but idle: this tick's later systems must have no work (they would do it at the idle's
                    // end), and a tick whose tasks ran (an observer sampling at an access count or an exit looks at
                    // its end) ends where waking every period puts it.
                    if (!ran && !env.HasPendingWork && !_k.Readahead.HasPending)
                        env.DeferIdleTimers(TimeMark);
                    IdleUntil(env, env.Events.PeekTime); // everybody sleeps on I/O: the CPUs idle until the next event
                }
                else if (!AnyBlocked())
                    Finished = true;
                return;
            }
            if (!batchingKnown)
            {
                batching = budget > 1 && !_k.Zone.HasStalledAllocations && !_k.Readahead.HasPending && !AnyFaultingOutsideWindow();
                batchingKnown = true;
            }
            ran = true;
            Entity pe = _k.Tasks.Processes[cpu.Task];
            // Back from a switch: the kernel reads and writes the task's rseq area before the task's next access.
            if (_k.World.Get<Process>(pe).RseqPending != Rseq.Idle)
            {
                if (RseqHandleNotifyResume(env, cpu, pe, batching && !env.HasPendingWork, stopAt, ref issued))
                    return;
                continue;
            }
            // A prefault the task's last call asked for (mm_populate) runs before its next access.
            if (_populate.Count > 0 && PopulateStep(env, cpu, pe))
                continue;
            // A write(2) or read(2) the task is inside goes on, one page a step (an access's worth of the batch), before
            // its next access; a step that must reclaim first leaves the request for this tick's reclaim and ends the tick.
            if (_k.OpenFiles.CallsInProgress && _k.OpenFiles.CallStep(env, pe, cpu.Id, ref _k.World.Get<ProcessStats>(pe)))
            {
                issued++;
                continue;
            }
            // A call made before the access limit finishes its prefault first (its faults belong before the point).
            if (CompletedAccesses >= AccessLimit)
                return;
            Workload wl = _k.World.Get<ProcessWorkload>(pe).Source;
            ReadOnlySpan<MemoryAccess> available = wl.Available;
            if (available.IsEmpty)
            {
                _k.Tasks.ExitProcess(pe);
                cpu.Task = -1;
                continue;
            }
            bool alone = batching && !env.HasPendingWork;
            int max = alone ? budget - issued : 1;
            max = Math.Min(max, cpu.QuantumLeft);
            max = Math.Min(max, available.Length);
            max = Math.Min(max, wl.UntilMark);
            max = (int)Math.Min(max, AccessLimit - CompletedAccesses);
            if (AccessMark > CompletedAccesses)
                max = (int)Math.Min(max, AccessMark - CompletedAccesses);
            int done = RunSlice(env, cpu, pe, available[..max], alone, stopAt, out Outcome outcome);
            cpu.QuantumLeft -= done;
            issued += done;
            CompletedAccesses += done;
            wl.AdvanceBy(done); // may schedule a triggered operation at the current time
            if (outcome == Outcome.DoneNeedsFill || (done > 0 && CompletedAccesses == AccessMark))
                return;
        }
    }

    /// <summary>
    /// The CPU to run next: of the CPUs not in a fault and below <paramref name="limit"/>, the one with the
    /// earliest time (lowest number on a tie) that has or finds a runnable task. <paramref name="stopAt"/> is
    /// where it must stop to let the next CPU go first.
    /// </summary>
    private CpuState? PickCpu(SimEnvironment env, ulong limit, out ulong stopAt)
    {
        stopAt = limit;
        int n = _smp.Count;
        if (n == 1)
        {
            CpuState only = _smp[0];
            if (only.InFault || _smp.Time(0) >= limit || !EnsureRunning(env, only))
                return null;
            return only;
        }
        Span<bool> skip = stackalloc bool[n];
        while (true)
        {
            // The CPU whose time is in the earliest epoch (the lowest-numbered one within an epoch) goes first.
            CpuState? best = null;
            ulong bestEpoch = ulong.MaxValue;
            for (int c = 0; c < n; c++)
            {
                CpuState s = _smp[c];
                ulong t = _smp.Time(c);
                if (skip[c] || s.InFault || t >= limit)
                    continue;
                ulong epoch = t / _epoch;
                if (epoch < bestEpoch)
                {
                    best = s;
                    bestEpoch = epoch;
                }
            }
            if (best is null)
                return null;
            int task = best.Task, quantum = best.QuantumLeft;
            ulong time = _smp.Time(best.Id);
            if (!EnsureRunning(env, best))
            {
                skip[best.Id] = true; // nothing to run there now: it idles
                continue;
            }
            if (best.Task != task || best.QuantumLeft != quantum || _smp.Time(best.Id) != time)
            {
                // It took a task (or began a new quantum): its time may have moved (a context switch, a wait for
                // the task), and the task it left may now be free for a CPU passed over above (whose previous CPU
                // this was). So every CPU is looked at again, in time order, as with one access per tick.
                skip.Clear();
                continue;
            }
            // It runs to the end of its epoch: every CPU that goes before it in this epoch has run (or had nothing to do).
            ulong epochEnd = (_smp.Time(best.Id) / _epoch + 1) * _epoch;
            if (epochEnd < stopAt)
                stopAt = epochEnd;
            return best;
        }
    }

    /// <summary>An idle CPU that has nothing left to do when visited: no task, its lazy mm (if any) already held.</summary>
    private static bool Settled(CpuState cpu) => cpu.Task < 0 && (cpu.ActiveMm is null || cpu.HoldsLazyMm);

    /// <summary>Whether a CPU has a task it can run (its own, or a runnable task nobody runs).</summary>
    private bool CouldRun(CpuState cpu)
    {
        if (cpu.Task >= 0 && _k.World.Get<Process>(_k.Tasks.Processes[cpu.Task]).State == ProcessState.Runnable)
            return true;
        return FindTask(cpu, -1) >= 0;
    }

    /// <summary>True if some CPU that has work stopped at <paramref name="limit"/> (an event or the window end is due).</summary>
    private bool AnyCpuAt(ulong limit)
    {
        for (int c = 0; c < _smp.Count; c++)
            if (limit != ulong.MaxValue && _smp.Time(c) >= limit)
                return true;
        return false;
    }

    /// <summary>Nothing can run anywhere: every CPU idles until <paramref name="time"/>.</summary>
    private void IdleUntil(SimEnvironment env, ulong time)
    {
        for (int c = 0; c < _smp.Count; c++)
        {
            if (_smp.Time(c) < time)
            {
                _smp.Enter(c);
                _smp[c].IdleCycles += (long)(time - env.Now);
                env.Clock.AdvanceTo(time);
            }
        }
    }

    /// <summary>Hands the window's faults to the fault handler as one batch and lets their CPUs go on.</summary>
    private void CloseWindow(SimEnvironment env)
    {
        var batch = env.Work<FaultRequest>();
        foreach (FaultRequest f in _window)
            batch.Add(f);
        int size = _window.Count;
        if (size >= _batchSizes.Length)
            Array.Resize(ref _batchSizes, Math.Max(size + 1, _batchSizes.Length * 2));
        _batchSizes[size]++;
        _window.Clear();
        _windowEnd = ulong.MaxValue;
        for (int c = 0; c < _smp.Count; c++)
            _smp[c].InFault = false;
    }

    private enum Outcome : byte
    {
        Done,
        DoneNeedsFill,
        Fault,
        /// <summary>Only from TranslateSlow: a usable hit in the L1's 2M/4M array (an L1 TLB hit, not an STLB one).</summary>
        DoneL1Huge,
    }

    /// <summary>
    /// Per-slice tallies of the per-access bookkeeping: the loop adds to these locals and <see cref="RunSlice"/>
    /// writes them to the process's stats and the cycle accounting once at its end (nothing reads those in between),
    /// instead of a dozen increments of shared state per access. Counts by kind and by level are indexed, so
    /// tallying costs no branch; the L1-miss counts and the memory cycles follow from the level counts.
    /// </summary>
    private struct SliceTally
    {
        public Quad Kinds;        // accesses by AccessKind
        public Quad Levels;       // accesses by the MemoryLevel that supplied them
        public long ItlbHits, DtlbHits, StlbHits;
        public long Translation;  // translation cycles of completed accesses beyond the L1 TLB hits'
    }

    [InlineArray(4)]
    private struct Quad
    {
        private long _e;
    }

    /// <summary>
    /// Issues the accesses of <paramref name="slice"/> for one process until one faults or queues a TLB fill, or
    /// an event falls due. Returns how many completed (a faulting access does not complete: it is retried).
    /// The process's stats are fetched once: nothing in the slice changes the World's structure.
    /// </summary>
    private int RunSlice(SimEnvironment env, CpuState cpu, Entity pe, ReadOnlySpan<MemoryAccess> slice, bool fillInline, ulong stopAt, out Outcome outcome)
    {
        ref ProcessStats st = ref _k.World.Get<ProcessStats>(pe);
        // Only a fault or a queued fill (both end the slice) can schedule events here, so the stop time is fixed:
        // the next event, the end of an open fault window, or the next CPU's turn.
        SimClock clock = env.Clock;
        // The running CPU's TLBs and caches stay the same for the whole slice (a fill changes entries, not these).
        TlbHierarchy tlbs = _k.Tlb.Current;
        CacheHierarchy<LruReplacement>? lru = _lru;
        SliceTally t = default;
        outcome = Outcome.Done;
        int i = 0;
        while (i < slice.Length)
        {
            if (lru is not null)
            {
                // The common case in a loop of its own (few live values); it stops at the first access it cannot serve.
                i = RunFast(slice, i, stopAt, clock, tlbs, lru, ref t, out bool stop);
                if (stop || i == slice.Length)
                    break;
            }
            else if (i > 0 && clock.Now >= stopAt)
            {
                break; // the caller checked the first access
            }
            Outcome o = Issue(env, cpu, pe, ref st, ref t, tlbs, in slice[i], fillInline);
            if (o != Outcome.Done)
            {
                outcome = o;
                if (o != Outcome.Fault)
                    i++;
                break;
            }
            i++;
        }
        Record(ref st, ref t);
        return i;
    }

    /// <summary>
    /// Runs accesses from <paramref name="i"/> on while each is an L1 TLB hit (4 KiB) whose entry permits it, with the
    /// LRU cache hierarchy: exactly what <see cref="Issue"/> does for them, in a tight loop. Returns the index of the
    /// first access it did not run: one that needs <see cref="Issue"/> (nothing of it counted or changed yet, so Issue
    /// looks it up afresh and finds the same), or the end; <paramref name="stop"/> when the next CPU's turn or an event
    /// came first (checked before every access but the slice's first, as the slice loop does).
    /// </summary>
    private int RunFast(ReadOnlySpan<MemoryAccess> slice, int i, ulong stopAt, SimClock clock, TlbHierarchy tlbs,
        CacheHierarchy<LruReplacement> lru, ref SliceTally t, out bool stop)
    {
        SetAssociativeTlb itlb = tlbs.Itlb, dtlb = tlbs.Dtlb;
        ushort pcid = tlbs.CurrentPcid;
        long l1Tlb = _l1TlbCycles;
        long[] levelCycles = _levelCycles;
        // The hit counts of the two L1 TLBs and the clock's advance are kept here and handed over once at the end:
        // nothing in this loop reads them.
        long itlbHits = 0, dtlbHits = 0;
        ulong advanced = 0;
        ulong now = clock.Now;
        stop = false;
        for (; i < slice.Length; i++)
        {
            if (i > 0 && now + advanced >= stopAt)
            {
                stop = true;
                break;
            }
            ref readonly MemoryAccess a = ref slice[i];
            AccessKind kind = a.Kind;
            bool fetch = kind == AccessKind.Instr;
            bool write = kind is AccessKind.Store or AccessKind.Modify;
            SetAssociativeTlb l1 = fetch ? itlb : dtlb;
            int row = l1.PeekRow(a.Address, pcid);
            if (row < 0 || !Usable(ref l1[row], write, fetch))
                break;
            l1.Touch(row);
            if (fetch) itlbHits++;
            else dtlbHits++;
            ulong pa = (l1[row].TranslatePfn(a.Address) << Pte.PageShift) | (a.Address & (Pte.PageSize - 1));
            MemoryLevel level = lru.Access(pa, a.Size, kind);
            t.Kinds[(int)kind]++;
            t.Levels[(int)level]++;
            advanced += (ulong)(l1Tlb + levelCycles[(int)level]);
        }
        clock.Advance(advanced); // throws on an overflow of the simulated clock, as the per-access advance did
        itlb.CountHits(itlbHits);
        dtlb.CountHits(dtlbHits);
        t.ItlbHits += itlbHits;
        t.DtlbHits += dtlbHits;
        return i;
    }

    /// <summary>Adds a slice's tallies to the process's stats and the cycle accounting.</summary>
    private void Record(ref ProcessStats st, ref SliceTally t)
    {
        long instr = t.Kinds[(int)AccessKind.Instr], loads = t.Kinds[(int)AccessKind.Load];
        long stores = t.Kinds[(int)AccessKind.Store], modifies = t.Kinds[(int)AccessKind.Modify];
        long accesses = instr + loads + stores + modifies;
        if (accesses == 0)
            return;
        long l2 = t.Levels[(int)MemoryLevel.L2], l3 = t.Levels[(int)MemoryLevel.L3], dram = t.Levels[(int)MemoryLevel.Dram];
        long l1 = t.Levels[(int)MemoryLevel.L1];
        long translation = t.Translation + (t.ItlbHits + t.DtlbHits) * _l1TlbCycles;
        long memory = l1 * _l1Cycles + l2 * _l2Cycles + l3 * _l3Cycles + dram * _memoryCycles;
        _k.Cycles.RecordAccesses(accesses, translation, memory);
        st.CpuCycles += translation + memory;
        st.Accesses += accesses;
        st.InstrFetches += instr;
        st.Loads += loads;
        st.Stores += stores;
        st.Modifies += modifies;
        st.ItlbHits += t.ItlbHits;
        st.DtlbHits += t.DtlbHits;
        st.StlbHits += t.StlbHits;
        st.L1Misses += l2 + l3 + dram;
        st.L2Misses += l3 + dram;
        st.L3Misses += dram;
    }

    /// <summary>
    /// Makes <paramref name="cpu"/> the simulated CPU and picks its task: the current one while it is runnable
    /// and has quantum left, else the next runnable task in pid order after it that no other CPU runs (round
    /// robin), switching the TLB context (switch_mm). A CPU left without a task idles in lazy TLB mode, its
    /// last address space still loaded.
    /// </summary>
    private bool EnsureRunning(SimEnvironment env, CpuState cpu)
    {
        var procs = _k.Tasks.Processes;
        var world = _k.World;
        _smp.Enter(cpu.Id);
        if (cpu.Task >= 0 && cpu.QuantumLeft > 0 && world.Get<Process>(procs[cpu.Task]).State == ProcessState.Runnable)
        {
            _mm = cpu.ActiveMm;
            return true;
        }
        if (cpu.Task >= 0 && world.Get<Process>(procs[cpu.Task]) is { State: ProcessState.Runnable })
            world.Get<Process>(procs[cpu.Task]).ReadyTime = env.Now; // preempted: another CPU may take it from now on
        int idx = FindTask(cpu, cpu.Task);
        if (idx < 0)
        {
            cpu.Task = -1;
            if (cpu.ActiveMm is not null && !cpu.HoldsLazyMm)
            {
                // The idle task borrows the last mm (enter_lazy_tlb, mmgrab_lazy_tlb): it stays loaded, and
                // referenced, until this CPU runs a task again.
                cpu.HoldsLazyMm = true;
                cpu.ActiveMm.Mm.Struct.MmCount++;
                _k.Tlb.EnterLazyTlb();
            }
            return false;
        }
        ulong ready = world.Get<Process>(procs[idx]).ReadyTime;
        if (env.Now < ready)
        {
            // This CPU was idle; the task could not run here before it became ready.
            cpu.IdleCycles += (long)(ready - env.Now);
            env.Clock.AdvanceTo(ready);
        }
        MmState next = _k.Tasks.MmOf(procs[idx]);
        bool otherMm = !ReferenceEquals(next.Tlb, _k.Tlb.Cpu(cpu.Id).LoadedMm);
        if (otherMm)
            _k.Tlb.SwitchMm(next.Tlb);
        else if (_k.Tlb.Cpu(cpu.Id).IsLazy)
            _k.Tlb.SwitchMm(next.Tlb); // leaving lazy mode on the same mm: catch up on the flushes it skipped (tlb_gen)
        // A switch between two threads of one mm is a task switch too, without the CR3 reload.
        if (otherMm || (cpu.LastTask >= 0 && cpu.LastTask != idx && ReferenceEquals(next, cpu.ActiveMm)))
        {
            env.Counters.Increment(_k.C.ContextSwitches);
            long cost = _k.Timing.ContextSwitchCycles;
            _k.Cycles.Charge(CycleCategory.Switch, cost);
            env.Clock.Advance((ulong)cost);
        }
        if (cpu.HoldsLazyMm)
        {
            cpu.HoldsLazyMm = false;
            cpu.ActiveMm!.Mm.Struct.MmCount--; // mmdrop_lazy_tlb in finish_task_switch
        }
        cpu.ActiveMm = next;
        cpu.Task = idx;
        cpu.LastTask = idx;
        world.Get<Process>(procs[idx]).LastCpu = cpu.Id;
        cpu.QuantumLeft = _k.Options.Quantum;
        _mm = next;
        return true;
    }

    /// <summary>
    /// The next runnable task in pid order after <paramref name="after"/> that no other CPU is running and that
    /// may run here, or −1. A task goes back to the CPU it last ran on when that CPU is free (its caches and TLB
    /// still hold its data, as select_idle_sibling prefers the previous CPU); it moves only when that CPU is busy
    /// with another task, or when it never ran.
    /// </summary>
    private int FindTask(CpuState cpu, int after)
    {
        var procs = _k.Tasks.Processes;
        int n = procs.Count;
        int start = after < 0 ? 0 : after + 1;
        for (int i = 0; i < n; i++)
        {
            int idx = (start + i) % n;
            ref Process p = ref _k.World.Get<Process>(procs[idx]);
            if (p.State != ProcessState.Runnable || RunningElsewhere(cpu, idx))
                continue;
            if (p.LastCpu >= 0 && p.LastCpu != cpu.Id && !Busy(_smp[p.LastCpu]))
                continue; // its previous CPU is free: it takes it back
            return idx;
        }
        return -1;
    }

    /// <summary>Whether a CPU is running a runnable task.</summary>
    private bool Busy(CpuState cpu) =>
        cpu.Task >= 0 && _k.World.Get<Process>(_k.Tasks.Processes[cpu.Task]).State == ProcessState.Runnable;

    private bool RunningElsewhere(CpuState cpu, int task)
    {
        for (int c = 0; c < _smp.Count; c++)
            if (c != cpu.Id && _smp[c].Task == task)
                return true;
        return false;
    }

    /// <summary>
    /// One access: translate (L1 TLB, else STLB, else page walk), then the caches; or raise a fault. The common case
    /// (an L1 TLB hit the entry permits, then an L1 lookup) is inlined into the slice loop with no copy of the
    /// entry; the walk and the fault are out of line.
    /// </summary>
    private Outcome Issue(SimEnvironment env, CpuState cpu, Entity pe, ref ProcessStats st, ref SliceTally t, TlbHierarchy tlbs,
        in MemoryAccess a, bool fillInline)
    {
        AccessKind kind = a.Kind;
        ulong va = a.Address;
        bool write = kind is AccessKind.Store or AccessKind.Modify;
        bool fetch = kind == AccessKind.Instr;
        SetAssociativeTlb l1 = fetch ? tlbs.Itlb : tlbs.Dtlb;
        ushort pcid = tlbs.CurrentPcid;
        int row = l1.Lookup(va, pcid);
        ulong pfn;
        long translation;
        bool walked = false;
        // A write through an entry whose dirty bit is not yet set needs a walk, as on x86 (the CPU sets D in the PTE).
        if (row >= 0 && Usable(ref l1[row], write, fetch))
        {
            pfn = l1[row].TranslatePfn(va);
            translation = _l1TlbCycles; // tallied per slice from the hit counts (SliceTally)
            if (fetch) t.ItlbHits++;
            else t.DtlbHits++;
        }
        else
        {
            Outcome o = TranslateSlow(env, cpu, pe, ref st, tlbs, l1, row, pcid, in a, fillInline, out pfn, out translation);
            if (o == Outcome.Fault)
                return o;
            if (o == Outcome.DoneL1Huge)
            {
                // A 2 MiB page the L1's large-page array held: an L1 hit, tallied per slice like a 4 KiB one.
                if (fetch) t.ItlbHits++;
                else t.DtlbHits++;
            }
            else
            {
                walked = o == Outcome.DoneNeedsFill;
                if (!walked)
                    t.StlbHits++; // an STLB hit the entry permits
                t.Translation += translation;
            }
        }

        ulong pa = (pfn << Pte.PageShift) | (va & (Pte.PageSize - 1));
        MemoryLevel level = _lru is not null ? _lru.Access(pa, a.Size, kind) : _k.Caches.Access(new MemoryAccess(pa, a.Process, a.Size, kind));
        t.Kinds[(int)kind]++;
        t.Levels[(int)level]++;
        long memory = level switch
        {
            MemoryLevel.L1 => _l1Cycles,
            MemoryLevel.L2 => _l2Cycles,
            MemoryLevel.L3 => _l3Cycles,
            _ => _memoryCycles,
        };
        env.Clock.Advance((ulong)(translation + memory));
        return walked && !fillInline ? Outcome.DoneNeedsFill : Outcome.Done;
    }

    /// <summary>Whether a cached translation serves this access without a walk (permissions, and D for a write).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Usable(ref TlbEntry e, bool write, bool fetch) =>
        e.Permits(write, fetch, userMode: true) && (!write || (e.Flags & TlbFlags.DirtyAllowed) != 0);

    /// <summary>
    /// The translation when the L1 TLB's 4 KiB array did not serve the access: on its miss the L1's 2M/4M array and
    /// the STLB (a hit fills the L1), else the page walk, which fills both TLBs or raises the fault. Returns
    /// <see cref="Outcome.DoneL1Huge"/> for a usable hit in the L1's 2M/4M array, <see cref="Outcome.Done"/> for a
    /// usable STLB hit, <see cref="Outcome.DoneNeedsFill"/> after a walk found the PTE (the fill was applied at once when
    /// <paramref name="fillInline"/>, else queued: the caller turns that into the slice's end), or
    /// <see cref="Outcome.Fault"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Outcome TranslateSlow(SimEnvironment env, CpuState cpu, Entity pe, ref ProcessStats st, TlbHierarchy tlbs,
        SetAssociativeTlb l1, int l1Row, ushort pcid, in MemoryAccess a, bool fillInline, out ulong pfn, out long translation)
    {
        var k = _k;
        bool write = a.Kind is AccessKind.Store or AccessKind.Modify;
        bool fetch = a.Kind == AccessKind.Instr;
        if (l1Row < 0)
        {
            // The L1's 2M/4M array (only while it holds an entry), then the STLB, which fills the L1 array of the
            // entry's size; an entry that does not permit the access (or a write before D) needs the walk.
            TlbOutcome hit = tlbs.LookupStlb(a.Address, a.Kind, l1, pcid, out TlbEntry entry);
            if (hit != TlbOutcome.Miss && Usable(ref entry, write, fetch))
            {
                pfn = entry.TranslatePfn(a.Address);
                if (hit == TlbOutcome.L1Hit)
                {
                    translation = _l1TlbCycles;
                    return Outcome.DoneL1Huge;
                }
                translation = _stlbCycles;
                return Outcome.Done;
            }
        }
        // An address at or above TASK_SIZE has no user mapping; walking it would fold its high bits away.
        ref ulong pte = ref Unsafe.NullRef<ulong>();
        int walkLevels = 0;
        if (a.Address < _mm!.Mm.Struct.TaskSize && tlbs.Psc is { } psc)
        {
            // The paging-structure caches give the walk's first table; it reads only the levels below it.
            pte = ref psc.Walk(_mm.Tables, a.Address, pcid, out walkLevels);
        }
        else if (a.Address < _mm.Mm.Struct.TaskSize)
        {
            pte = ref _mm.Tables.Walk(a.Address, out walkLevels);
            // A PMD leaf (huge mapping) ends the walk one level above the PTEs.
            if (!Unsafe.IsNullRef(ref pte) && Pte.IsPmdMapped(pte))
                walkLevels--;
        }
        st.PageWalkLevels += walkLevels;
        st.TlbMisses++;
        if (Unsafe.IsNullRef(ref pte) || !PteAllows(pte, write, fetch))
        {
            ref Process p = ref k.World.Get<Process>(pe);
            p.State = ProcessState.Faulting;
            long walkCost = walkLevels * _walkLevelCycles;
            k.Cycles.Charge(CycleCategory.Translation, walkCost);
            env.Clock.Advance((ulong)walkCost);
            st.CpuCycles += walkCost;
            // The fault joins the window (opening one): this CPU is in the fault handler until the window ends.
            _window.Add(new FaultRequest(pe, a.Address, a.Kind, cpu.Id));
            // The event stream's fault line needs the exact address, the walk and the time it began.
            k.Events?.FaultRaised(p.Pid, a.Address, env.Now, walkLevels);
            cpu.InFault = true;
            ulong end = env.Now + _windowCycles;
            if (end < _windowEnd)
                _windowEnd = end;
            pfn = 0;
            translation = 0;
            return Outcome.Fault;
        }
        // The page walker sets the accessed bit, and the dirty bit on a write.
        pte |= Pte.AccessedBit | (write ? Pte.DirtyBit : 0);
        pfn = new Pte(pte).Pfn;
        // A store to a zero-filled page (whose TLB entry never allows a write: TlbFillSystem) writes data into it.
        if (write && !Pte.IsPmdMapped(pte) && pfn < (ulong)k.Zone.Frames.Length)
            k.Zone.Frames[pfn].Flags &= ~FrameFlags.ZeroFilled;
        if (fillInline)
            TlbFillSystem.Fill(k, a.Address, pte, a.Kind);
        else
            env.Work<TlbFillRequest>().Add(new TlbFillRequest(a.Address, pte, a.Kind, cpu.Id));
        translation = _stlbCycles + walkLevels * _walkLevelCycles;
        return Outcome.DoneNeedsFill;
    }

    private readonly MemoryAccess[] _rseqAccess = new MemoryAccess[1];

    /// <summary>
    /// __rseq_handle_notify_resume's next user access for the running task (<see cref="Rseq"/>): the get_user of
    /// rseq_cs, then the stores of the CPU ids, each through the task's TLB and page tables like its own accesses (a
    /// fault there is the task's, and the task retries the step once it is installed), their time the task's, but not
    /// counted among its accesses. Returns true when the tick must end here (a TLB fill is queued).
    /// </summary>
    private bool RseqHandleNotifyResume(SimEnvironment env, CpuState cpu, Entity pe, bool fillInline, ulong stopAt, ref int issued)
    {
        ref Process p = ref _k.World.Get<Process>(pe);
        ulong area = _k.Tasks.MmOf(pe).Mm.RseqArea;
        _rseqAccess[0] = Rseq.NextAccess(area, p.Pid, p.RseqPending);
        int done = RunSlice(env, cpu, pe, _rseqAccess, fillInline, stopAt, out Outcome outcome);
        if (done == 0)
            return false; // faulted (the fault window holds the task) or its turn ended: the same step again
        issued++;
        // The kernel's access, not the workload's: its time and cache effects stay, the task's access counts do not
        // (ProcessStats.Accesses is how far the task's own trace has run: the oracle's phases end on it).
        ref ProcessStats st = ref _k.World.Get<ProcessStats>(pe);
        st.Accesses--;
        if (_rseqAccess[0].Kind == AccessKind.Load)
            st.Loads--;
        else
            st.Stores--;
        // A sleep in that fault set the flag again (rseq_preempt): the handler starts over; otherwise the next step.
        ref Process q = ref _k.World.Get<Process>(pe);
        if (q.RseqPending == Rseq.LoadRseqCs && _rseqAccess[0].Kind == AccessKind.Load)
            q.RseqPending = Rseq.StoreCpuId;
        else if (q.RseqPending == Rseq.StoreCpuId)
            q.RseqPending = Rseq.Idle;
        return outcome == Outcome.DoneNeedsFill;
    }

    /// <summary>
    /// mm_populate (mm/gup.c): [start, start + len) of <paramref name="process"/>'s address space is faulted in
    /// by the task itself before its next access, one handle_mm_fault per missing page, through the same fault
    /// window and slow path as an access's fault (so the same counters, minor faults and simulated time).
    /// </summary>
    public void Populate(Entity process, ulong start, ulong len)
    {
        if (len > 0)
            _populate.Add(new PopulateRange(process, start & Pte.PageMask, Mm.PageAlign(start + len)));
    }

    /// <summary>Whether a prefault is still pending (mm_populate not finished) for some task.</summary>
    public bool Populating
    {
        get
        {
            foreach (PopulateRange r in _populate)
                if (_k.World.Get<Process>(r.Process).State is not (ProcessState.Exited or ProcessState.Killed))
                    return true;
            return false;
        }
    }

    private record struct PopulateRange(Entity Process, ulong Next, ulong End);

    private readonly List<PopulateRange> _populate = new();

    /// <summary>
    /// __mm_populate → populate_vma_page_range → __get_user_pages for the running task's oldest pending range:
    /// VM_IO/VM_PFNMAP areas, PROT_NONE ones (their -EFAULT is ignored) and VM_LOCKONFAULT ones are skipped,
    /// holes are stepped over; in each area a page whose PTE already allows the access (follow_page_mask) is
    /// passed, the first that does not raises a fault (faultin_page): a write fault when the area is private
    /// and writable (FOLL_WRITE breaks COW and gives real pages, not the zero page), else a read fault. After the
    /// fault is installed the page is looked up again, as gup retries. Returns true when a fault was raised.
    /// </summary>
    private bool PopulateStep(SimEnvironment env, CpuState cpu, Entity pe)
    {
        // The task's ranges in call order: a finished one is dropped and the next taken before any access runs.
        for (int i = 0; i < _populate.Count;)
        {
            if (_populate[i].Process != pe)
                i++;
            else if (PopulateRangeStep(env, cpu, pe, i))
                return true;
            else
                _populate.RemoveAt(i);
        }
        return false;
    }

    /// <summary>One range of <see cref="PopulateStep"/>: true when a fault was raised, false when the range is done.</summary>
    private bool PopulateRangeStep(SimEnvironment env, CpuState cpu, Entity pe, int i)
    {
        PopulateRange r = _populate[i];
        MmState mm = _k.Tasks.MmOf(pe);
        VmaSet vmas = mm.Mm.Vmas;
        while (r.Next < r.End)
        {
            int vi = vmas.FindVma(r.Next);
            if (vi < 0 || vmas[vi].Start >= r.End)
                break;
            ref readonly Vma v = ref vmas[vi];
            ulong start = Math.Max(r.Next, v.Start), end = Math.Min(v.End, r.End);
            VmFlags f = v.Flags;
            bool accessible = (f & (VmFlags.Read | VmFlags.Write | VmFlags.Exec)) != 0;
            if ((f & (VmFlags.Io | VmFlags.PfnMap | VmFlags.LockOnFault)) != 0 || !accessible)
            {
                r.Next = end;
                continue;
            }
            bool write = (f & (VmFlags.Write | VmFlags.Shared)) == VmFlags.Write;
            AccessKind kind = write ? AccessKind.Store : AccessKind.Load;
            if (!FaultHandlingSystem.AccessPermitted(f, kind))
            {
                r.Next = end; // a write-only or exec-only area: FOLL_FORCE aside, nothing this model can read
                continue;
            }
            ulong va = start;
            for (ulong pte; va < end && PteAllows(pte = mm.Tables.Lookup(va), write, fetch: false); va += Pte.PageSize)
                FollowPageTouch(pte, f);
            r.Next = va;
            if (va == end)
                continue;
            if (v.FileId >= 0 && _k.OpenFiles.ShmemPastEof(v.FileId, (long)(v.PgOff + ((va - v.Start) >> Pte.PageShift))))
            {
                // The fault would be VM_FAULT_SIGBUS (a shmem page past i_size): gup's -EFAULT, which mm_populate
                // ignores, going on at the next area; the task is not signalled.
                r.Next = end;
                continue;
            }
            _populate[i] = r;
            ref Process p = ref _k.World.Get<Process>(pe);
            p.State = ProcessState.Faulting;
            _window.Add(new FaultRequest(pe, va, kind, cpu.Id));
            _k.Events?.FaultRaised(p.Pid, va, env.Now, 0);
            cpu.InFault = true;
            ulong windowEnd = env.Now + _windowCycles;
            if (windowEnd < _windowEnd)
                _windowEnd = windowEnd;
            return true;
        }
        return false;
    }

    /// <summary>
    /// follow_page_pte's FOLL_TOUCH (mm/gup.c), which populate_vma_page_range and faultin_page_range ask for: the page
    /// gup finds (already there, or just faulted in and looked up again) is marked accessed (folio_mark_accessed), so a
    /// page gup takes twice is activated. A PMD-mapped THP is only made young (follow_huge_pmd's touch_pmd), a
    /// hugetlb page and the zero page are on no LRU.
    /// </summary>
    private void FollowPageTouch(ulong pte, VmFlags vmaFlags)
    {
        if (Pte.IsPmdMapped(pte) || (pte & Pte.SpecialBit) != 0 || (vmaFlags & VmFlags.HugeTlb) != 0)
            return;
        int pfn = (int)((pte & Pte.PfnMask) >> Pte.PageShift);
        _k.LruvecOf(pfn)?.OnReferenced(pfn);
    }

    /// <summary>Whether a PTE lets this access through without a fault (present, writable for writes, executable for fetches).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool PteAllows(ulong pte, bool write, bool fetch) =>
        (pte & Pte.PresentBit) != 0
        && (!write || (pte & Pte.RwBit) != 0)
        && (!fetch || (pte & Pte.NxBit) == 0);

    /// <summary>
    /// True while some process's fault is in the slow path across ticks (e.g. an allocation stalled for reclaim,
    /// retried every tick), not counting the faults this stage holds in the open window.
    /// </summary>
    private bool AnyFaultingOutsideWindow()
    {
        IReadOnlyList<Entity> procs = _k.Tasks.Processes;
        int held = 0;
        for (int i = 0; i < procs.Count; i++)
            if (_k.World.Get<Process>(procs[i]).State == ProcessState.Faulting)
                held++;
        return held > _window.Count;
    }

    /// <summary>True while some process waits on the slow path (its fault is being handled, or waits for reclaim).</summary>
    private bool AnyBlocked()
    {
        // Indexed: foreach over the IReadOnlyList would box an enumerator on every call.
        var procs = _k.Tasks.Processes;
        for (int i = 0; i < procs.Count; i++)
            if (_k.World.Get<Process>(procs[i]).State is ProcessState.Faulting or ProcessState.SleepingIo)
                return true;
        return false;
    }

    /// <summary>Schedules <paramref name="process"/> to become runnable at its start time.</summary>
    public void ScheduleStart(SimEnvironment env, Entity process, ulong at) =>
        env.ScheduleAt(at, new SimEvent(_startKind, process));
}
