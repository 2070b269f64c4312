using EcsMem.Simulation;

namespace EcsMem.Systems.Cpu;

/// <summary>
/// The machine's CPUs and smp_processor_id(). Each CPU keeps its own time; the environment's clock shows the
/// time of the CPU whose work is being simulated (<see cref="Enter"/>), so costs charged with
/// <c>Clock.Advance</c> land on that CPU and events scheduled "now" are scheduled at its time. Between ticks
/// the clock shows the machine's time (<see cref="Sync"/>): the earliest time of a CPU that has work, which is
/// where due events are dispatched. With one CPU every switch is a no-op: the clock is that CPU's time.
/// </summary>
public sealed class Smp
{
    private readonly SimClock _clock;
    private readonly Tlb.TlbSystem _tlb;
    private readonly Caches.ICacheHierarchy _caches;
    private readonly CpuState[] _cpus;
    private int _current;

    internal Smp(int cpus, SimClock clock, Tlb.TlbSystem tlb, Caches.ICacheHierarchy caches)
    {
        _clock = clock;
        _tlb = tlb;
        _caches = caches;
        _cpus = new CpuState[cpus];
        for (int i = 0; i < cpus; i++)
            _cpus[i] = new CpuState(i);
    }

    public int Count => _cpus.Length;

    /// <summary>State of CPU <paramref name="cpu"/>.</summary>
    public CpuState this[int cpu] => _cpus[cpu];

    /// <summary>CPU <paramref name="cpu"/>'s time: the clock for the CPU being simulated, its saved time for the others.</summary>
    public ulong Time(int cpu) => cpu == _current ? _clock.Now : _cpus[cpu].Now;

    /// <summary>The CPU being simulated (smp_processor_id()), or −1 between ticks (machine time).</summary>
    public int Current => _current;

    /// <summary>
    /// Switches the simulation to <paramref name="cpu"/>: the clock shows its time, the TLB and cache
    /// operations act on its TLBs and private caches. The previous CPU keeps the time its work reached.
    /// </summary>
    public void Enter(int cpu)
    {
        if (cpu == _current)
            return;
        if (_current >= 0)
            _cpus[_current].Now = _clock.Now;
        _current = cpu;
        _clock.SwitchTo(_cpus[cpu].Now);
        _tlb.CurrentCpu = cpu;
        _caches.SelectCpu(cpu);
    }

    /// <summary>
    /// End of a tick: the clock goes to the machine's time <paramref name="machineTime"/> (where the next tick
    /// dispatches its due events), held below <paramref name="holdBelow"/> while the CPUs' fault window is open,
    /// so no event is dispatched before the window's faults are handled (as with one CPU, where a fault is
    /// handled before any event its access ran past).
    /// </summary>
    public void Sync(ulong machineTime, ulong holdBelow = ulong.MaxValue)
    {
        if (_cpus.Length == 1)
            return; // one CPU: its time is the machine's
        if (_current >= 0)
            _cpus[_current].Now = _clock.Now;
        ulong g = machineTime;
        if (g >= holdBelow && holdBelow > 0)
            g = holdBelow - 1;
        _current = -1;
        _clock.SwitchTo(g);
    }

    /// <summary>
    /// Work that cannot start before <paramref name="time"/> (an I/O completion's install, a kswapd run, a
    /// system call due then) runs on the current CPU: a CPU still behind that time idled until it.
    /// </summary>
    public void CatchUp(ulong time)
    {
        if (_clock.Now >= time || _current < 0)
            return;
        _cpus[_current].IdleCycles += (long)(time - _clock.Now);
        _clock.AdvanceTo(time);
    }

    /// <summary>Cycles every CPU idled, summed.</summary>
    public long IdleCycles
    {
        get
        {
            long n = 0;
            foreach (CpuState c in _cpus) n += c.IdleCycles;
            return n;
        }
    }

    /// <summary>Sets every CPU's idle count back to zero (statistics reset; the CPUs' clocks run on).</summary>
    public void ResetIdleCycles()
    {
        foreach (CpuState c in _cpus) c.IdleCycles = 0;
    }

    /// <summary>Charges <paramref name="cycles"/> to <paramref name="cpu"/>, which is not the one being simulated (a remote TLB flush).</summary>
    public void ChargeRemote(int cpu, ulong cycles)
    {
        if (cpu == _current)
            _clock.Advance(cycles);
        else
            _cpus[cpu].Now += cycles;
    }
}
