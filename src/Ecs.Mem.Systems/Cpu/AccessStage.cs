using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Timing;
using EcsMem.Traces;

namespace EcsMem.Systems.Cpu;

/// <summary>
/// The CPU: runs the current process's accesses through the TLB (⑧), the page walk on a TLB miss and the
/// cache hierarchy, advancing simulated time by each access's latency. It stops the tick at the first access
/// that needs the slow path — a fault (①) or a TLB fill after a walk — so the systems after it see the same
/// sequence of work whatever the batch size; it also stops when an event falls due, so events interleave
/// with accesses exactly where their time says. A round-robin scheduler switches processes every quantum
/// and whenever the current one blocks.
/// <para>
/// Batch-size independence: the reference semantics is one access per tick. Issuing more accesses in one
/// tick gives the same results only while the systems after this one would do nothing between them, so a
/// tick goes on past its first access only while (a) no work batch has been produced this tick, (b) nothing
/// waits on the slow path across ticks (a process in the Faulting state, or an allocation request the
/// allocator retries every tick: Zone.HasStalledAllocations) and (c) no event is due; a tick whose events
/// produced slow-path work (a work batch rented before this stage runs) issues no access at all. Under the same conditions a TLB miss whose walk finds a usable PTE fills the TLB at once instead
/// of ending the tick: the tlb-fill step would be the only thing the rest of the pipeline does.
/// </para>
/// </summary>
public sealed class AccessStage : ISystem, IEventHandler
{
    private readonly Kernel.Kernel _k;
    private readonly int _startKind;
    // The kernel's caches are LRU hierarchies: keep the concrete (sealed, struct-generic) type so the per-access
    // call is direct and inlinable; any other hierarchy goes through the interface.
    private readonly CacheHierarchy<LruReplacement>? _lru;
    // Timing constants read once (the model is immutable): no property calls per access.
    private readonly long _l1TlbCycles, _stlbCycles, _walkLevelCycles;
    private readonly long _l1Cycles, _l2Cycles, _l3Cycles, _memoryCycles;
    private int _current = -1;          // index into Processes, -1 when none is on the CPU
    private int _quantumLeft;
    private MmState? _mm;

    public AccessStage(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
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
    }

    public string Name => "access";

    /// <summary>True once every process has exited and no event is left.</summary>
    public bool Finished { get; private set; }

    /// <summary>Cycles the CPU sat idle waiting for I/O with nothing runnable.</summary>
    public long IdleCycles { get; private set; }

    /// <summary>Event kind that makes a NotStarted process runnable (scheduled by the machine).</summary>
    public int StartEventKind => _startKind;

    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        ref Process p = ref _k.World.Get<Process>(ev.Target);
        if (p.State == ProcessState.NotStarted)
            p.State = ProcessState.Runnable;
    }

    public void Update(SimEnvironment env)
    {
        var world = _k.World;
        // Slow-path work this tick's events produced (an I/O completion's install, a kswapd batch) takes effect
        // before any further access, exactly as with a batch of one.
        // (The address-space system before this one never produces work, so pending work here came from events.)
        if (env.HasPendingWork)
            return;
        int budget = _k.Options.BatchSize;
        // A stalled fault can only appear after this stage (the allocator defers it), so one check per tick does.
        bool batching = budget > 1 && !_k.Zone.HasStalledAllocations && !AnyFaulting();
        int issued = 0;
        while (true)
        {
            if (issued > 0 && (!batching || issued >= budget || env.HasPendingWork))
                return; // the rest of the pipeline has something to do before the next access
            if (env.Events.Count > 0 && env.Events.PeekTime <= env.Now)
                return; // an event is due: the next tick dispatches it before any further access
            if (!EnsureRunning(env))
            {
                // A fault waiting for reclaim is retried by this very tick's allocator: no idling past it.
                if (_k.Zone.HasStalledAllocations)
                    return;
                if (env.Events.Count > 0)
                {
                    // Everybody sleeps on I/O: the CPU idles until the next event.
                    ulong next = env.Events.PeekTime;
                    IdleCycles += (long)(next - env.Now);
                    env.Clock.AdvanceTo(next);
                }
                else if (!AnyBlocked())
                {
                    Finished = true;
                }
                return;
            }
            Entity pe = _k.Tasks.Processes[_current];
            Workload wl = world.Get<ProcessWorkload>(pe).Source;
            ReadOnlySpan<MemoryAccess> available = wl.Available;
            if (available.IsEmpty)
            {
                _k.Tasks.ExitProcess(pe);
                _current = -1;
                continue;
            }
            bool alone = batching && !env.HasPendingWork;
            int max = alone ? budget - issued : 1;
            max = Math.Min(max, _quantumLeft);
            max = Math.Min(max, available.Length);
            max = Math.Min(max, wl.UntilMark);
            int done = RunSlice(env, pe, available[..max], alone, out Outcome outcome);
            _quantumLeft -= done;
            issued += done;
            wl.AdvanceBy(done); // may schedule a triggered operation at the current time
            if (outcome != Outcome.Done)
                return;
        }
    }

    private enum Outcome : byte
    {
        Done,
        DoneNeedsFill,
        Fault,
    }

    /// <summary>
    /// Issues the accesses of <paramref name="slice"/> for one process until one faults or queues a TLB fill, or
    /// an event falls due. Returns how many completed (a faulting access does not complete: it is retried).
    /// The process's stats are fetched once: nothing in the slice changes the World's structure.
    /// </summary>
    private int RunSlice(SimEnvironment env, Entity pe, ReadOnlySpan<MemoryAccess> slice, bool fillInline, out Outcome outcome)
    {
        ref ProcessStats st = ref _k.World.Get<ProcessStats>(pe);
        // Only a fault or a queued fill (both end the slice) can schedule events here, so the next event time is fixed.
        ulong nextEvent = env.Events.Count > 0 ? env.Events.PeekTime : ulong.MaxValue;
        SimClock clock = env.Clock;
        outcome = Outcome.Done;
        for (int i = 0; i < slice.Length; i++)
        {
            if (i > 0 && clock.Now >= nextEvent)
                return i; // the caller checked the first access
            Outcome o = Issue(env, pe, ref st, in slice[i], fillInline);
            if (o != Outcome.Done)
            {
                outcome = o;
                return o == Outcome.Fault ? i : i + 1;
            }
        }
        return slice.Length;
    }

    /// <summary>
    /// Picks the process to run: the current one while it is runnable and has quantum left, else the next
    /// runnable one in pid order after it (round robin), switching the TLB context (switch_mm).
    /// </summary>
    private bool EnsureRunning(SimEnvironment env)
    {
        var procs = _k.Tasks.Processes;
        var world = _k.World;
        if (_current >= 0 && _quantumLeft > 0 && world.Get<Process>(procs[_current]).State == ProcessState.Runnable)
            return true;
        int n = procs.Count;
        int start = _current < 0 ? 0 : _current + 1;
        for (int i = 0; i < n; i++)
        {
            int idx = (start + i) % n;
            if (world.Get<Process>(procs[idx]).State != ProcessState.Runnable)
                continue;
            if (idx != _current || _mm is null)
            {
                MmState next = _k.Tasks.MmOf(procs[idx]);
                if (!ReferenceEquals(next, _mm))
                {
                    _k.Tlb.SwitchMm(next.Tlb);
                    env.Counters.Increment(_k.C.ContextSwitches);
                    long cost = _k.Timing.ContextSwitchCycles;
                    _k.Cycles.Charge(CycleCategory.Switch, cost);
                    env.Clock.Advance((ulong)cost);
                }
                _mm = next;
            }
            _current = idx;
            _quantumLeft = _k.Options.Quantum;
            return true;
        }
        _current = -1;
        return false;
    }

    /// <summary>One access: translate (TLB, else page walk), then the caches; or raise a fault.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Outcome Issue(SimEnvironment env, Entity pe, ref ProcessStats st, in MemoryAccess a, bool fillInline)
    {
        var k = _k;
        bool write = a.Kind is AccessKind.Store or AccessKind.Modify;
        bool fetch = a.Kind == AccessKind.Instr;
        TlbOutcome tlb = k.Tlb.Lookup(a.Address, a.Kind, out TlbEntry entry);
        ulong pfn;
        bool fill = false;
        int walkLevels = 0;
        // A write through an entry whose dirty bit is not yet set needs a walk, as on x86 (the CPU sets D in the PTE).
        if (tlb != TlbOutcome.Miss && entry.Permits(write, fetch, userMode: true) && (!write || (entry.Flags & TlbFlags.DirtyAllowed) != 0))
        {
            pfn = entry.Pfn;
            if (tlb == TlbOutcome.L1Hit)
            {
                if (fetch) st.ItlbHits++;
                else st.DtlbHits++;
            }
            else
            {
                st.StlbHits++;
            }
        }
        else
        {
            // An address at or above TASK_SIZE has no user mapping; walking it would fold its high bits away.
            ref ulong pte = ref Unsafe.NullRef<ulong>();
            if (a.Address < _mm!.Mm.Struct.TaskSize)
                pte = ref _mm.Tables.Walk(a.Address, false, out walkLevels);
            st.PageWalkLevels += walkLevels;
            st.TlbMisses++;
            if (Unsafe.IsNullRef(ref pte) || !PteAllows(pte, write, fetch))
            {
                ref Process p = ref k.World.Get<Process>(pe);
                p.State = ProcessState.Faulting;
                env.Work<FaultRequest>().Add(new FaultRequest(pe, a.Address, a.Kind));
                long walkCost = walkLevels * _walkLevelCycles;
                k.Cycles.Charge(CycleCategory.Translation, walkCost);
                env.Clock.Advance((ulong)walkCost);
                st.CpuCycles += walkCost;
                return Outcome.Fault;
            }
            // The page walker sets the accessed bit, and the dirty bit on a write.
            pte |= Pte.AccessedBit | (write ? Pte.DirtyBit : 0);
            pfn = new Pte(pte).Pfn;
            if (fillInline)
                TlbFillSystem.Fill(k, a.Address, pte, a.Kind);
            else
                env.Work<TlbFillRequest>().Add(new TlbFillRequest(a.Address, pte, a.Kind));
            fill = true;
        }

        ulong pa = (pfn << Pte.PageShift) | (a.Address & (Pte.PageSize - 1));
        var physical = new MemoryAccess(pa, a.Process, a.Size, a.Kind);
        MemoryLevel level = _lru is not null ? _lru.Access(physical) : k.Caches.Access(physical);
        long translation = fill
            ? _stlbCycles + walkLevels * _walkLevelCycles
            : tlb == TlbOutcome.L1Hit ? _l1TlbCycles : _stlbCycles;
        long memory = level switch
        {
            MemoryLevel.L1 => _l1Cycles,
            MemoryLevel.L2 => _l2Cycles,
            MemoryLevel.L3 => _l3Cycles,
            _ => _memoryCycles,
        };
        k.Cycles.RecordAccess(translation, memory);
        long cycles = translation + memory;
        env.Clock.Advance((ulong)cycles);
        st.CpuCycles += cycles;
        st.Accesses++;
        switch (a.Kind)
        {
            case AccessKind.Instr: st.InstrFetches++; break;
            case AccessKind.Load: st.Loads++; break;
            case AccessKind.Store: st.Stores++; break;
            default: st.Modifies++; break;
        }
        switch (level)
        {
            case MemoryLevel.L2: st.L1Misses++; break;
            case MemoryLevel.L3: st.L1Misses++; st.L2Misses++; break;
            case MemoryLevel.Dram: st.L1Misses++; st.L2Misses++; st.L3Misses++; break;
        }
        return fill && !fillInline ? Outcome.DoneNeedsFill : Outcome.Done;
    }

    /// <summary>Whether a PTE lets this access through without a fault (present, writable for writes, executable for fetches).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool PteAllows(ulong pte, bool write, bool fetch) =>
        (pte & Pte.PresentBit) != 0
        && (!write || (pte & Pte.RwBit) != 0)
        && (!fetch || (pte & Pte.NxBit) == 0);

    /// <summary>True while some process's fault is still in the slow path (e.g. an allocation stalled for reclaim, retried every tick).</summary>
    private bool AnyFaulting()
    {
        IReadOnlyList<Entity> procs = _k.Tasks.Processes;
        for (int i = 0; i < procs.Count; i++)
            if (_k.World.Get<Process>(procs[i]).State == ProcessState.Faulting)
                return true;
        return false;
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
