using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.Rcu;

/// <summary>
/// call_rcu (kernel/rcu/tree.c) in simulated time: a callback runs once a grace period has passed, i.e. once every CPU
/// has gone through a quiescent state after the call. Linux starts the grace period at the calling CPU's next tick
/// (rcu_sched_clock_irq → rcu_core → rcu_start_this_gp wakes the grace-period kthread), each CPU notes it and reports its
/// quiescent state at a later tick (an idle CPU is reported by the kthread's force-quiescent-state scan,
/// jiffies_till_first_fqs after the start), and the calling CPU invokes its ready callbacks from RCU_SOFTIRQ at the
/// tick after the grace period's end (rcu_do_batch): a few ticks in all, which the caller gives as the grace period's
/// length (measured: oracle/experiments/exec-chain-gp). Each callback runs as an event at its due time; callbacks are
/// invoked in (due time, call order), as rcu_do_batch takes a CPU's ready list in order.
/// </summary>
/// <remarks>
/// Nothing in the kernel calls it by itself: the event kind is registered at the first <see cref="CallRcu"/>, so a
/// machine that never defers a free runs exactly as before (the default scenario's output is unchanged).
/// </remarks>
public sealed class RcuCallbacks : IEventHandler
{
    private readonly SimEnvironment _env;
    private readonly Dictionary<long, Action> _pending = new();
    private long _nextId;
    private int _kind = -1;

    public RcuCallbacks(SimEnvironment env) => _env = env;

    /// <summary>Callbacks queued and not yet invoked.</summary>
    public int Pending => _pending.Count;

    /// <summary>Callbacks invoked so far.</summary>
    public long Invoked { get; private set; }

    /// <summary>
    /// call_rcu: <paramref name="callback"/> runs <paramref name="gracePeriodCycles"/> cycles from now (the grace period
    /// and the tick that invokes it); returns the simulated time it is due at.
    /// </summary>
    public ulong CallRcu(ulong gracePeriodCycles, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (_kind < 0)
            _kind = _env.RegisterEventKind("rcu_callback", this);
        long id = _nextId++;
        _pending.Add(id, callback);
        ulong at = _env.Now + gracePeriodCycles;
        _env.ScheduleAt(at, new SimEvent(_kind, Entity.Null, id));
        return at;
    }

    /// <summary>rcu_do_batch: the callback whose grace period has ended.</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        if (!_pending.Remove(ev.Arg0, out Action? cb))
            return;
        Invoked++;
        cb();
    }
}
