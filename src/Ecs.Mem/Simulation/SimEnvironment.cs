using EcsMem.Ecs;
using Microsoft.Extensions.ObjectPool;

namespace EcsMem.Simulation;

/// <summary>
/// The explicit simulation environment, in the style of SimPy/SimSharp: a clock, an event queue, the
/// World holding all state, the ordered system pipeline and the counters. A tick dispatches every event
/// due at the current time, then runs the pipeline once over the work those events (and the access
/// stage) produced; then the tick's batches go back to their pools.
/// </summary>
public sealed class SimEnvironment
{
    private readonly DefaultObjectPoolProvider _poolProvider = new() { MaximumRetained = 64 };
    private object?[] _pools = new object?[8];
    private object?[] _batches = new object?[8];
    private Action?[] _returnActions = new Action?[8];
    private Action[] _returns = new Action[8];
    private int _returnCount;
    private IEventHandler?[] _handlers = new IEventHandler?[8];
    private readonly List<string> _eventKindNames = new();
    private readonly List<IDeferrableTimer> _deferrable = new();
    private bool[] _deferrableKind = new bool[8];
    private readonly Func<SimEvent, bool> _notDeferrable;

    public SimEnvironment(World? world = null)
    {
        World = world ?? new World();
        _notDeferrable = ev => (uint)ev.Kind >= (uint)_deferrableKind.Length || !_deferrableKind[ev.Kind];
    }

    public World World { get; }
    public SimClock Clock { get; } = new();
    public EventQueue<SimEvent> Events { get; } = new();
    public SystemPipeline Pipeline { get; } = new();
    public CounterRegistry Counters { get; } = new();

    /// <summary>Current simulated time in cycles.</summary>
    public ulong Now => Clock.Now;

    /// <summary>Number of ticks run so far.</summary>
    public long Ticks { get; private set; }

    // ---------------------------------------------------------------- events

    /// <summary>Registers a handler for a new event kind and returns the kind's number.</summary>
    public int RegisterEventKind(string name, IEventHandler handler)
    {
        if (_eventKindNames.Contains(name))
            throw new ArgumentException($"event kind '{name}' is already registered");
        int kind = _eventKindNames.Count;
        _eventKindNames.Add(name);
        if (kind == _handlers.Length)
            Array.Resize(ref _handlers, kind * 2);
        _handlers[kind] = handler;
        return kind;
    }

    /// <summary>
    /// Marks <paramref name="kind"/>'s events as the wakes of <paramref name="timer"/>, a periodic timer that
    /// <see cref="DeferIdleTimers"/> may move while the machine idles.
    /// </summary>
    public void RegisterDeferrableTimer(int kind, IDeferrableTimer timer)
    {
        if ((uint)kind >= (uint)_eventKindNames.Count)
            throw new ArgumentException($"event kind {kind} is not registered");
        if (kind >= _deferrableKind.Length)
            Array.Resize(ref _deferrableKind, Math.Max(kind + 1, _deferrableKind.Length * 2));
        _deferrableKind[kind] = true;
        _deferrable.Add(timer);
    }

    /// <summary>
    /// Whether <see cref="DeferIdleTimers"/> moves timers (default on). Off, every period wakes one tick at a time: the
    /// reference the differential tests compare the deferred runs with. Not a scenario key.
    /// </summary>
    public bool DeferTimersWhenIdle { get; set; } = DeferTimersByDefault;

    /// <summary>
    /// <see cref="DeferTimersWhenIdle"/> of the environments made from now on: the differential tests turn it off around
    /// a whole in-process CLI run.
    /// </summary>
    internal static bool DeferTimersByDefault { get; set; } = true;

    /// <summary>Timer wakes <see cref="DeferIdleTimers"/> skipped so far (for tests; no report shows it).</summary>
    public ulong DeferredWakes { get; private set; }

    /// <summary>
    /// The machine goes idle until its next event (no task can run, nothing waits on the slow path, no work is pending
    /// in this tick): each deferrable timer whose wakes would do nothing is moved to its last period before the
    /// horizon — the earliest of <paramref name="notAfter"/> (a time an observer wants to see the machine at), the next
    /// event that is not a deferrable timer's, and the first wake of any deferrable timer that may do something. The
    /// wakes skipped would each have found nothing to do, so the run is the same as waking every period
    /// (<see cref="IDeferrableTimer"/>). Nothing moves when nothing bounds the idle stretch.
    /// </summary>
    public void DeferIdleTimers(ulong notAfter = ulong.MaxValue)
    {
        if (!DeferTimersWhenIdle || _deferrable.Count == 0 || Events.Count == 0)
            return;
        // The first event due is not a timer's: the horizon is at or before it, so at or before every timer's pending
        // wake (a queued event), and no wake lies before it to skip. Most idle stretches (up to an I/O completion, a
        // kswapd run) end so, without the O(n) scan of the queue below.
        if (_notDeferrable(Events.PeekEvent))
            return;
        ulong horizon = Math.Min(notAfter, Events.EarliestTime(_notDeferrable));
        foreach (IDeferrableTimer t in _deferrable)
            horizon = Math.Min(horizon, t.FirstEffectiveWake(horizon));
        if (horizon == ulong.MaxValue)
            return;
        foreach (IDeferrableTimer t in _deferrable)
            DeferredWakes += t.DeferBefore(horizon);
    }

    /// <summary>Schedules <paramref name="ev"/> <paramref name="delay"/> cycles from now.</summary>
    public void Schedule(ulong delay, in SimEvent ev) => ScheduleAt(Clock.Now + delay, ev);

    /// <summary>
    /// Schedules <paramref name="ev"/> at absolute time <paramref name="time"/> (not in the past); returns its sequence
    /// number, which <see cref="EventQueue{TEvent}.Cancel"/> takes.
    /// </summary>
    public ulong ScheduleAt(ulong time, in SimEvent ev)
    {
        if (time < Clock.Now)
            throw new InvalidOperationException($"cannot schedule '{KindName(ev.Kind)}' at {time}: now is {Clock.Now}");
        if ((uint)ev.Kind >= (uint)_eventKindNames.Count)
            throw new ArgumentException($"event kind {ev.Kind} is not registered");
        return Events.Schedule(time, ev);
    }

    public string KindName(int kind) => (uint)kind < (uint)_eventKindNames.Count ? _eventKindNames[kind] : $"#{kind}";

    /// <summary>
    /// The time the event being handled was scheduled for (during <see cref="DispatchDueEvents"/>). The clock
    /// may be past it: events are dispatched at the start of the tick in which time reaches them.
    /// </summary>
    public ulong EventTime { get; private set; }

    /// <summary>Dispatches every event due at or before now, in (time, schedule order).</summary>
    public int DispatchDueEvents()
    {
        int n = 0;
        while (Events.Count > 0 && Events.PeekTime <= Clock.Now)
        {
            Events.TryDequeue(out ulong time, out var ev);
            EventTime = time;
            _handlers[ev.Kind]!.Handle(this, ev);
            n++;
        }
        return n;
    }

    // ---------------------------------------------------------------- ticks

    /// <summary>Dispatches due events, runs the pipeline once, then recycles this tick's batches.</summary>
    public void RunTick()
    {
        DispatchDueEvents();
        if (_consumersVersion != Pipeline.Version)
            ResolveConsumers();
        Pipeline.Run(this);
        EndTick();
    }

    /// <summary>
    /// Runs ticks until no event remains or the next one is after <paramref name="until"/>: each tick
    /// jumps the clock to the next event's time (simulated time only ever moves by events or by systems).
    /// </summary>
    public void RunUntilIdle(ulong until = ulong.MaxValue)
    {
        while (Events.Count > 0 && Events.PeekTime <= until)
        {
            if (Events.PeekTime > Clock.Now)
                Clock.AdvanceTo(Events.PeekTime);
            RunTick();
        }
    }

    /// <summary>
    /// Returns this tick's batches to their pools (systems must not keep them). A batch holding items its last consumer
    /// did not read is late work (<see cref="LateWork"/>): they would be dropped here.
    /// </summary>
    public void EndTick()
    {
        for (int i = 0; i < _returnCount; i++)
            _returns[i]();
        _returnCount = 0;
        _running = BetweenTicks;
        Ticks++;
    }

    /// <summary>
    /// This tick's batch of work items of type <typeparamref name="T"/>, rented from its pool on first use
    /// in the tick. Producers add to it; later systems in the pipeline read it.
    /// </summary>
    public WorkBatch<T> Work<T>() where T : struct
    {
        int slot = WorkBatchSlot<T>.Index;
        if (slot >= _batches.Length)
            GrowSlots(slot);
        // The late-work guard: a producer running after the batch's last consumer adds work no one will read.
        int running = _running;
        if (running > _lastConsumer[slot])
            LateAdd<T>(slot);
        _lastProducer[slot] = running;
        if (_batches[slot] is WorkBatch<T> b)
            return b;
        var pool = (ObjectPool<WorkBatch<T>>)(_pools[slot] ??= _poolProvider.Create<WorkBatch<T>>());
        b = pool.Get();
        _batches[slot] = b;
        if (_returnCount == _returns.Length)
            Array.Resize(ref _returns, _returnCount * 2);
        // One cached delegate per batch type and environment: renting allocates nothing after the first tick.
        _returns[_returnCount++] = _returnActions[slot] ??= MakeReturn<T>(slot);
        return b;
    }

    /// <summary>
    /// This tick's batch of <typeparamref name="T"/> if some system or event produced one, without renting:
    /// a consumer uses this (or <see cref="WorkItems{T}"/>) so an idle tick costs no pool traffic.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool TryGetWork<T>([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WorkBatch<T>? batch) where T : struct
    {
        int slot = WorkBatchSlot<T>.Index;
        object?[] batches = _batches;
        if ((uint)slot < (uint)batches.Length && batches[slot] is { } b)
        {
            batch = System.Runtime.CompilerServices.Unsafe.As<WorkBatch<T>>(b);
            // The batch's last consumer has read this much of it (the guard's end-of-tick check).
            if (_running == _lastConsumer[slot])
                _readCount[slot] = batch.Count;
            return true;
        }
        batch = null;
        return false;
    }

    /// <summary>This tick's items of <typeparamref name="T"/>; empty (and nothing rented) when none were produced.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public Span<T> WorkItems<T>() where T : struct => TryGetWork(out WorkBatch<T>? b) ? b.Items : Span<T>.Empty;

    /// <summary>Number of items of <typeparamref name="T"/> produced this tick (0 when none; nothing rented).</summary>
    public int WorkCount<T>() where T : struct => TryGetWork(out WorkBatch<T>? b) ? b.Count : 0;

    /// <summary>
    /// True when some work batch was rented this tick, i.e. a later system may have something to do. The
    /// access stage keeps issuing accesses within one tick only while this is false.
    /// </summary>
    public bool HasPendingWork => _returnCount > 0;

    // A separate method, so the closure capturing the slot is only allocated when the delegate is made
    // (a lambda inside Work<T> would hoist the captured local and allocate on every call).
    private Action MakeReturn<T>(int slot) where T : struct => () => Return<T>(slot);

    private void Return<T>(int slot) where T : struct
    {
        var b = (WorkBatch<T>)_batches[slot]!;
        if (b.Count > _readCount[slot] && _lastConsumer[slot] != NoConsumer)
            Unread<T>(slot, b.Count - _readCount[slot]);
        _readCount[slot] = 0;
        _batches[slot] = null;
        ((ObjectPool<WorkBatch<T>>)_pools[slot]!).Return(b);
    }

    private void GrowSlots(int slot)
    {
        int n = Math.Max(slot + 1, _batches.Length * 2);
        int old = _batches.Length;
        Array.Resize(ref _batches, n);
        Array.Resize(ref _pools, n);
        Array.Resize(ref _returnActions, n);
        Array.Resize(ref _lastConsumer, n);
        Array.Resize(ref _lastProducer, n);
        Array.Resize(ref _readCount, n);
        Array.Fill(_lastConsumer, NoConsumer, old, n - old);
    }

    // ---------------------------------------------------------------- the late-work guard

    // Work added to a batch after the last system that consumes it has run in the tick is dropped unread at EndTick,
    // without a trace (session 14: memory.high's reclaim, queued at fault-install after swap-out had run). Each system
    // declares the batches it consumes (ISystem.DeclareConsumes); the environment knows which system is running, so a
    // producer running after a batch's last consumer is caught at its Work<T>() call, and items that consumer did not
    // read (added after it read the batch, by itself or by a producer that kept the batch) at EndTick. Cheap enough to
    // be always on: a compare and a store per Work<T>(), one per consumer read, one per batch at EndTick.

    private const int NoConsumer = int.MaxValue;
    private const int BetweenTicks = -1;

    // The index in the pipeline of the system running now; BetweenTicks during event dispatch and between ticks, the
    // pipeline's length after its last system (so every declared consumer has run).
    private int _running = BetweenTicks;
    private int[] _lastConsumer = [NoConsumer, NoConsumer, NoConsumer, NoConsumer, NoConsumer, NoConsumer, NoConsumer, NoConsumer];
    private int[] _lastProducer = new int[8];
    private int[] _readCount = new int[8];
    private int _consumersVersion = -1;
    private ISystem[] _systems = [];

    /// <summary>
    /// Whether late work throws <see cref="LateWorkException"/> where it is found (default: on in Debug builds and in
    /// the tests, which set <see cref="ThrowOnLateWorkByDefault"/>); off, it is only recorded in <see cref="LateWork"/>
    /// and <see cref="LateWorkCount"/>, which the invariant checker reports.
    /// </summary>
    public bool ThrowOnLateWork { get; set; } = ThrowOnLateWorkByDefault;

    /// <summary><see cref="ThrowOnLateWork"/> of the environments made from now on.</summary>
    public static bool ThrowOnLateWorkByDefault { get; set; } =
#if DEBUG
        true;
#else
        false;
#endif

    /// <summary>The first late work found (batch, producer, tick, time), or null: work that would be dropped unread.</summary>
    public string? LateWork { get; private set; }

    /// <summary>How many times late work was found (each late Work&lt;T&gt;() call, each batch left with unread items).</summary>
    public long LateWorkCount { get; private set; }

    /// <summary>
    /// True when the last consumer of <typeparamref name="T"/>'s batch has already run in this tick: an item added now
    /// would be dropped unread, so a producer that can run this late hands its work to the next tick (an event at now).
    /// </summary>
    public bool ConsumersRan<T>() where T : struct
    {
        int slot = WorkBatchSlot<T>.Index;
        return slot < _lastConsumer.Length && _running > _lastConsumer[slot];
    }

    /// <summary>Called by the pipeline before each system (its index) and after the last (its length).</summary>
    internal void SetRunning(int index) => _running = index;

    /// <summary>The last consumer of every batch type, from the systems' declarations, in the pipeline's current order.</summary>
    private void ResolveConsumers()
    {
        _systems = [.. Pipeline.Systems];
        Array.Fill(_lastConsumer, NoConsumer);
        var declared = new WorkConsumers(this);
        for (int i = 0; i < _systems.Length; i++)
        {
            declared.System = i;
            _systems[i].DeclareConsumes(declared);
        }
        _consumersVersion = Pipeline.Version;
    }

    /// <summary>Records that the system <paramref name="index"/> consumes the batch in <paramref name="slot"/>.</summary>
    internal void DeclareConsumer(int slot, int index)
    {
        if (slot >= _batches.Length)
            GrowSlots(slot);
        _lastConsumer[slot] = _lastConsumer[slot] == NoConsumer ? index : Math.Max(_lastConsumer[slot], index);
    }

    private string SystemName(int index) => index switch
    {
        BetweenTicks => "an event handler",
        _ when index >= _systems.Length => "the end of the pipeline",
        _ => $"'{_systems[index].Name}'",
    };

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void LateAdd<T>(int slot) where T : struct =>
        Report($"late work: {typeof(T).Name} added by {SystemName(_running)} at tick {Ticks} (t={Now}), after its last consumer {SystemName(_lastConsumer[slot])} ran; it would be dropped unread at the end of the tick");

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void Unread<T>(int slot, int items) where T : struct =>
        Report($"late work: {items} item(s) of {typeof(T).Name} unread at the end of tick {Ticks} (t={Now}): added after its last consumer {SystemName(_lastConsumer[slot])} read the batch (last producer {SystemName(_lastProducer[slot])})");

    private void Report(string message)
    {
        LateWorkCount++;
        LateWork ??= message;
        if (ThrowOnLateWork)
            throw new LateWorkException(message);
    }
}

/// <summary>Work added to a batch whose consumers have already run in this tick: it would be dropped unread.</summary>
public sealed class LateWorkException(string message) : InvalidOperationException(message);

/// <summary>What a system declares in <see cref="ISystem.DeclareConsumes"/>: the work batches it reads and acts on.</summary>
public sealed class WorkConsumers
{
    private readonly SimEnvironment _env;

    internal WorkConsumers(SimEnvironment env) => _env = env;

    internal int System { get; set; }

    /// <summary>The declaring system consumes this tick's batch of <typeparamref name="T"/>.</summary>
    public WorkConsumers Of<T>() where T : struct
    {
        _env.DeclareConsumer(WorkBatchSlot<T>.Index, System);
        return this;
    }
}
