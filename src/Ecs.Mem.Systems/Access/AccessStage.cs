using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.Timing;
using EcsMem.Systems.Tlb;
using EcsMem.Traces;

namespace EcsMem.Systems.Access;

/// <summary>
/// The CPU: runs the current process's accesses through the TLB (⑧), the page walk on a TLB miss and the
/// cache hierarchy, advancing simulated time by each access's latency. It stops the tick at the first access
/// that needs the slow path — a fault (①) or a TLB fill after a walk — so the systems after it see the same
/// sequence of work whatever the batch size; it also stops when an event falls due, so events interleave
/// with accesses exactly where their time says. A round-robin scheduler switches processes every quantum
/// and whenever the current one blocks.
/// </summary>
public sealed class AccessStage : ISystem, IEventHandler
{
    private readonly Kernel.Kernel _k;
    private readonly int _startKind;
    private int _current = -1;          // index into Processes, -1 when none is on the CPU
    private int _quantumLeft;
    private MmState? _mm;

    public AccessStage(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _startKind = env.RegisterEventKind("process-start", this);
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
        // before any further access, and while a fault waits for reclaim its retry comes after every access:
        // both exactly as with a batch of one, so the batch size never changes results.
        if (_k.EventWorkPending)
        {
            _k.EventWorkPending = false;
            return;
        }
        int budget = _k.AllocationsDeferred ? 1 : _k.Options.BatchSize;
        while (budget > 0)
        {
            if (env.Events.Count > 0 && env.Events.PeekTime <= env.Now)
                return; // an event is due: the next tick dispatches it before any further access
            if (!EnsureRunning(env))
            {
                // A fault waiting for reclaim is retried by this very tick's allocator: no idling past it.
                if (_k.AllocationsDeferred)
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
            Entity pe = _k.Processes[_current];
            ref ProcessWorkload wl = ref world.Get<ProcessWorkload>(pe);
            if (!wl.Source.TryPeek(out MemoryAccess a))
            {
                _k.ExitProcess(pe);
                _current = -1;
                continue;
            }
            switch (Issue(env, pe, a))
            {
                case Outcome.Done:
                    wl.Source.Advance();
                    budget--;
                    _quantumLeft--;
                    break;
                case Outcome.DoneNeedsFill:
                    wl.Source.Advance();
                    _quantumLeft--;
                    return;
                case Outcome.Fault:
                    return;
            }
        }
    }

    private enum Outcome : byte
    {
        Done,
        DoneNeedsFill,
        Fault,
    }

    /// <summary>
    /// Picks the process to run: the current one while it is runnable and has quantum left, else the next
    /// runnable one in pid order after it (round robin), switching the TLB context (switch_mm).
    /// </summary>
    private bool EnsureRunning(SimEnvironment env)
    {
        var procs = _k.Processes;
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
                MmState next = _k.MmOf(procs[idx]);
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
    private Outcome Issue(SimEnvironment env, Entity pe, in MemoryAccess a)
    {
        var k = _k;
        bool write = a.Kind is AccessKind.Store or AccessKind.Modify;
        bool fetch = a.Kind == AccessKind.Instr;
        ref ProcessStats st = ref k.World.Get<ProcessStats>(pe);
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
                long walkCost = (long)walkLevels * k.Timing.PageWalkLevelCycles;
                k.Cycles.Charge(CycleCategory.Translation, walkCost);
                env.Clock.Advance((ulong)walkCost);
                st.CpuCycles += walkCost;
                return Outcome.Fault;
            }
            // The page walker sets the accessed bit, and the dirty bit on a write.
            pte |= Pte.AccessedBit | (write ? Pte.DirtyBit : 0);
            pfn = new Pte(pte).Pfn;
            env.Work<TlbFillRequest>().Add(new TlbFillRequest(a.Address, pte, a.Kind));
            fill = true;
        }

        ulong pa = (pfn << Pte.PageShift) | (a.Address & (Pte.PageSize - 1));
        MemoryLevel level = k.Caches.Access(new MemoryAccess(pa, a.Process, a.Size, a.Kind));
        long translation = tlb switch
        {
            TlbOutcome.L1Hit when !fill => k.Timing.L1TlbHitCycles,
            TlbOutcome.StlbHit when !fill => k.Timing.StlbHitCycles,
            _ => k.Timing.StlbHitCycles + (long)walkLevels * k.Timing.PageWalkLevelCycles,
        };
        long memory = k.Timing.CacheCycles(level);
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
        return fill ? Outcome.DoneNeedsFill : Outcome.Done;
    }

    /// <summary>Whether a PTE lets this access through without a fault (present, writable for writes, executable for fetches).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool PteAllows(ulong pte, bool write, bool fetch) =>
        (pte & Pte.PresentBit) != 0
        && (!write || (pte & Pte.RwBit) != 0)
        && (!fetch || (pte & Pte.NxBit) == 0);

    /// <summary>True while some process waits on the slow path (its fault is being handled, or waits for reclaim).</summary>
    private bool AnyBlocked()
    {
        foreach (Entity p in _k.Processes)
            if (_k.World.Get<Process>(p).State is ProcessState.Faulting or ProcessState.SleepingIo)
                return true;
        return false;
    }

    /// <summary>Schedules <paramref name="process"/> to become runnable at its start time.</summary>
    public void ScheduleStart(SimEnvironment env, Entity process, ulong at) =>
        env.ScheduleAt(at, new SimEvent(_startKind, process));
}
