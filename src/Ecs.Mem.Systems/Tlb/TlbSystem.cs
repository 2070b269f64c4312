using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Traces;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// The machine's TLBs and the Linux x86 code that manages them (arch/x86/mm/tlb.c): per-CPU TLB
/// hierarchies and ASID state, context switches (<see cref="SwitchMm"/>) and the flush API
/// (<see cref="FlushTlbPage"/>, <see cref="FlushTlbRange"/>, <see cref="FlushTlbMm"/>, <see cref="FlushAll"/>).
/// Operations act on <see cref="CurrentCpu"/> (smp_processor_id()); remote CPUs that have the mm loaded
/// receive a shootdown.
/// </summary>
public sealed partial class TlbSystem
{
    /// <summary>The "whole address space" end of a range flush (Linux TLB_FLUSH_ALL).</summary>
    public const ulong TlbFlushAll = ulong.MaxValue;

    private const int PageShift = 12;

    private readonly CpuTlbState[] _cpus;
    private readonly CounterRegistry _counters;
    private readonly TlbCounters _ids;
    private ulong _lastCtxId;
    private readonly SimClock? _clock;
    private readonly ulong _second;
    private int _currentCpu;

    /// <summary>
    /// Builds <paramref name="cpuCount"/> CPUs' TLBs (tables in <paramref name="world"/>) and registers the
    /// counters in <paramref name="counters"/>. Throws <see cref="InputException"/> for an invalid config.
    /// </summary>
    public TlbSystem(World world, TlbConfig config, CounterRegistry counters, int cpuCount = 1, SimClock? clock = null, ulong cyclesPerSecond = 3_000_000_000)
    {
        _clock = clock;
        _second = cyclesPerSecond;
        config.Validate();
        if (cpuCount < 1 || cpuCount > 64)
            throw new InputException("TLB config", 0, $"cpus={cpuCount}", "CPU count must be between 1 and 64");
        Config = config;
        _counters = counters;
        _ids = new TlbCounters(counters);
        _cpus = new CpuTlbState[cpuCount];
        for (int i = 0; i < cpuCount; i++)
            _cpus[i] = new CpuTlbState(i, new TlbHierarchy(world, config, counters), config.DynamicAsids);
    }

    public TlbConfig Config { get; }

    public int CpuCount => _cpus.Length;

    /// <summary>The CPU that runs the next operation (smp_processor_id()); the scheduler sets it.</summary>
    public int CurrentCpu
    {
        get => _currentCpu;
        set
        {
            if ((uint)value >= (uint)_cpus.Length)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"CPU must be in 0..{_cpus.Length - 1}");
            _currentCpu = value;
        }
    }

    /// <summary>State of CPU <paramref name="cpu"/>.</summary>
    public CpuTlbState Cpu(int cpu) => _cpus[cpu];

    /// <summary>The TLBs of the current CPU (the per-access path goes straight to them).</summary>
    public TlbHierarchy Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _cpus[_currentCpu].Tlb;
    }

    /// <summary>init_new_context: a new mm context with a never-used ctx_id, tlb_gen 1 and its cpumask trim a second away.</summary>
    public MmContext CreateMm() => new(++_lastCtxId, Now + _second);

    private ulong Now => _clock?.Now ?? 0;

    /// <summary>
    /// Called for every IPI a shootdown sends: the target CPU and the cycles its flush_tlb_func cost it
    /// (the SMP layer charges them to that CPU's time). The initiator's wait is <see cref="InitiatorWait"/>.
    /// </summary>
    public Action<int, ulong>? ChargeRemote { get; set; }

    /// <summary>Called once per shootdown that sent IPIs, with the cycles the initiating CPU waited (IPI send and acknowledgements).</summary>
    public Action<ulong>? InitiatorWait { get; set; }

    /// <summary>Cycles the initiator of a shootdown waits (IPI send and acknowledgements).</summary>
    public ulong ShootdownCycles { get; set; } = 2000;

    /// <summary>Cycles of one INVLPG (or of a CR3 reload for a full flush) on the receiving CPU.</summary>
    public ulong FlushOneCycles { get; set; } = 300;

    /// <summary>enter_lazy_tlb: the current CPU idles and keeps its mm loaded.</summary>
    public void EnterLazyTlb()
    {
        CpuTlbState cpu = _cpus[_currentCpu];
        if (cpu.LoadedMm is not null)
            cpu.IsLazy = true;
    }

    /// <summary>Looks <paramref name="va"/> up in the current CPU's TLBs (see <see cref="TlbHierarchy.Lookup"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TlbOutcome Lookup(ulong va, AccessKind kind, out TlbEntry entry) => _cpus[_currentCpu].Tlb.Lookup(va, kind, out entry);

    /// <summary>After a page walk: installs the translation in the current CPU's STLB and matching L1.</summary>
    public void Fill(ulong va, ulong pfn, TlbFlags flags, AccessKind kind, PageSizeClass size = PageSizeClass.Base4K) =>
        _cpus[_currentCpu].Tlb.Fill(va, pfn, flags, kind, size);

    /// <summary>Hardware PCID for dynamic ASID <paramref name="asid"/> (Linux kern_pcid: asid + 1; PCID 0 means "no PCID").</summary>
    private ushort PcidOf(int asid) => Config.UsePcid ? (ushort)(asid + 1) : (ushort)0;
}
