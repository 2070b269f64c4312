using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// vmstat_update (mm/vmstat.c), as far as the per-CPU lists see it: every sysctl_stat_interval (HZ, one second)
/// each CPU's refresh_cpu_vm_stats(true) calls decay_pcp_high on the zone's pageset
/// (<see cref="PerCpuPageSet.DecayPcpHigh"/>), so a list whose high grew in a burst gives its idle pages back over
/// the following seconds. Only with Linux 6.7+'s tuning (<c>machine.pcp_high_tuning</c>).
/// </summary>
/// <remarks>
/// One event a second at machine time (the wakes fall on whole seconds from boot, as round_jiffies_relative puts
/// them) decays every CPU's list at once: Linux runs one delayed work per CPU, each on its own CPU, at about the same
/// rounded second (simplification: no CPU time is charged; the kernel's cost is a few microseconds). The timer runs
/// only while some address space exists, as kcompactd's does (a pending wake would keep a finished machine running).
/// It is a deferrable timer (<see cref="IDeferrableTimer"/>, and vmstat_work is a deferrable work in Linux too): a wake
/// that would change no list (every high at high_min, no list above its high) is skipped while the machine idles.
/// </remarks>
public sealed class VmstatUpdate : IEventHandler, IDeferrableTimer
{
    private readonly Kernel.Kernel _k;
    private readonly PerCpuPageSet _pcp;
    private readonly int _kind;
    private readonly ulong _period;
    private long _pendingSeq = -1;
    private ulong _pendingAt;

    /// <summary>Registers the timer's event (not armed until an address space exists: <see cref="MmCreated"/>).</summary>
    public VmstatUpdate(Kernel.Kernel kernel, PerCpuPageSet pcp, SimEnvironment env)
    {
        _k = kernel;
        _pcp = pcp;
        _kind = env.RegisterEventKind("vmstat_update", this);
        env.RegisterDeferrableTimer(_kind, this);
        _period = Math.Max(1UL, (ulong)Math.Round(kernel.Options.Timing.ClockGHz * 1e9));
    }

    /// <summary>sysctl_stat_interval (HZ) in cycles.</summary>
    public ulong Period => _period;

    /// <summary>Wakes so far that ran decay_pcp_high on every CPU (skipped deferrable wakes are not counted).</summary>
    public long Runs { get; private set; }

    /// <summary>Pages decay_pcp_high gave back to the buddy allocator so far.</summary>
    public long PagesDrained { get; private set; }

    /// <summary>An address space was created: the timer runs (again) if it was not, at the next whole second.</summary>
    public void MmCreated()
    {
        if (_pendingSeq < 0)
            Arm(_k.Env.Now);
    }

    /// <summary>The last address space went away: the pending wake is dropped.</summary>
    public void MmGone()
    {
        if (_pendingSeq >= 0 && !_k.Tasks.AnyMmAlive())
        {
            _k.Env.Events.Cancel((ulong)_pendingSeq);
            _pendingSeq = -1;
        }
    }

    private void Arm(ulong now)
    {
        _pendingAt = (now / _period + 1) * _period;
        _pendingSeq = (long)_k.Env.ScheduleAt(_pendingAt, new SimEvent(_kind, Entity.Null));
    }

    /// <summary>
    /// The wake fell due: decay_pcp_high on every CPU's list, then the next wake a second later. Events are dispatched
    /// at the start of the tick in which time reaches them, so the clock may already be past the next whole second
    /// (a long tick): the wakes it passed run here, one decay each, in order.
    /// </summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        _pendingSeq = -1;
        ulong at = env.EventTime;
        while (true)
        {
            Runs++;
            for (int cpu = 0; cpu < _pcp.Cpus; cpu++)
                PagesDrained += _pcp.DecayPcpHigh(cpu);
            ulong next = (at / _period + 1) * _period;
            if (next > env.Now)
                break;
            at = next;
        }
        if (_k.Tasks.AnyMmAlive())
            Arm(at);
    }

    /// <inheritdoc/>
    public ulong FirstEffectiveWake(ulong before)
    {
        if (_pendingSeq < 0)
            return ulong.MaxValue;
        if (_pendingAt >= before)
            return _pendingAt;
        return _pcp.DecayPending() ? _pendingAt : ulong.MaxValue;
    }

    /// <inheritdoc/>
    public ulong DeferBefore(ulong horizon)
    {
        if (_pendingSeq < 0 || horizon <= _pendingAt)
            return 0;
        ulong skip = (horizon - 1 - _pendingAt) / _period;
        if (skip == 0)
            return 0;
        _k.Env.Events.Cancel((ulong)_pendingSeq);
        _pendingAt += skip * _period;
        _pendingSeq = (long)_k.Env.ScheduleAt(_pendingAt, new SimEvent(_kind, Entity.Null));
        return skip;
    }
}
