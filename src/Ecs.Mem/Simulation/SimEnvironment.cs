using System.Runtime.CompilerServices;
using EcsMem.Ecs;

namespace EcsMem.Simulation;

/// <summary>
/// The explicit simulation environment, in the style of SimPy/SimSharp: a clock, an event queue, the
/// World holding all state, the ordered system pipeline and the counters. A tick dispatches every event
/// due at the current time, then runs the pipeline once over the work those events (and the access
/// stage) produced; then the tick's batches go back to their pools.
/// </summary>
public sealed class SimEnvironment
{
    // Per batch type (its WorkBatchSlot index): this tick's batch and the one kept for the next tick. A struct array,
    // so storing a batch is a plain reference store (an object[] store goes through the covariance-checking helper).
    private BatchSlot[] _slots = new BatchSlot[8];
    // The slots rented this tick, in the order rented (EndTick returns them in that order).
    private int[] _rented = new int[8];
    private int _rentedCount;
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
        for (int i = 0; i < _rentedCount; i++)
            Return(_rented[i]);
        _rentedCount = 0;
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
        if (slot >= _slots.Length)
            GrowSlots(slot);
        // The late-work guard: a producer running after the batch's last consumer adds work no one will read.
        int running = _running;
        if (running > _lastConsumer[slot])
            LateAdd<T>(slot);
        _lastProducer[slot] = running;
        ref BatchSlot s = ref _slots[slot];
        // The slot only ever holds a WorkBatch<T> (one slot per T), so the unchecked cast is safe.
        if (s.Rented is { } rented)
            return Unsafe.As<WorkBatch<T>>(rented);
        return Rent<T>(ref s, slot);
    }

    /// <summary>
    /// The first <see cref="Work{T}"/> of the tick: takes the slot's kept batch (allocated on the type's first use
    /// only: at most one batch per type is out at a time, so one kept batch is all a pool would hold) and notes the
    /// slot for <see cref="EndTick"/>.
    /// </summary>
    private WorkBatch<T> Rent<T>(ref BatchSlot s, int slot) where T : struct
    {
        WorkBatch<T> b = s.Spare is { } spare ? Unsafe.As<WorkBatch<T>>(spare) : new WorkBatch<T>();
        s.Spare = null;
        s.Rented = b;
        if (_rentedCount == _rented.Length)
            Array.Resize(ref _rented, _rentedCount * 2);
        _rented[_rentedCount++] = slot;
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
        BatchSlot[] slots = _slots;
        if ((uint)slot < (uint)slots.Length && slots[slot].Rented is { } b)
        {
            batch = Unsafe.As<WorkBatch<T>>(b);
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
    public bool HasPendingWork => _rentedCount > 0;

    /// <summary>
    /// Takes back the batch rented in <paramref name="slot"/>: reports items its last consumer did not read, empties it
    /// (keeping its memory) and keeps it for the slot's next rent. Not generic, so EndTick calls it directly (no
    /// delegate per batch type).
    /// </summary>
    private void Return(int slot)
    {
        ref BatchSlot s = ref _slots[slot];
        WorkBatch b = s.Rented!;
        int count = b.Count;
        if (count > _readCount[slot] && _lastConsumer[slot] != NoConsumer)
            Unread(slot, b, count - _readCount[slot]);
        _readCount[slot] = 0;
        s.Rented = null;
        b.Clear();
        s.Spare = b;
    }

    /// <summary>A batch type's batches: the one rented this tick (null when none) and the one kept between ticks.</summary>
    private struct BatchSlot
    {
        public WorkBatch? Rented;
        public WorkBatch? Spare;
    }

    private void GrowSlots(int slot)
    {
        int n = Math.Max(slot + 1, _slots.Length * 2);
        int old = _slots.Length;
        Array.Resize(ref _slots, n);
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
        if (slot >= _slots.Length)
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
    private void Unread(int slot, WorkBatch batch, int items) =>
        Report($"late work: {items} item(s) of {batch.ItemType.Name} unread at the end of tick {Ticks} (t={Now}): added after its last consumer {SystemName(_lastConsumer[slot])} read the batch (last producer {SystemName(_lastProducer[slot])})");

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
