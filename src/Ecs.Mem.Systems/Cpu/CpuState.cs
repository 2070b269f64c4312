using EcsMem.Systems.Timing;

namespace EcsMem.Systems.Cpu;

/// <summary>
/// One simulated CPU: its own time (CPUs run in parallel, so each reaches a given instant separately), the
/// task it runs and what is left of that task's quantum (the runqueue's curr and time slice), its active_mm
/// (kept while idle: lazy TLB mode), and whether a fault of its task waits in the current fault window. The
/// TLB side of the same CPU (loaded mm, ASIDs, is_lazy) is <see cref="Tlb.CpuTlbState"/>.
/// </summary>
public sealed class CpuState(int id)
{
    public int Id { get; } = id;

    /// <summary>This CPU's simulated time in cycles.</summary>
    public ulong Now { get; internal set; }

    /// <summary>Index (pid − 1) of the task on this CPU, or −1 when it is idle.</summary>
    public int Task { get; internal set; } = -1;

    /// <summary>Accesses left of the running task's quantum.</summary>
    internal int QuantumLeft { get; set; }

    /// <summary>
    /// active_mm of the running task: its own mm, or while the CPU idles the mm it last ran, which the idle
    /// task borrows (lazy TLB mode: the MMU keeps it loaded, and it holds a reference in mm_count).
    /// </summary>
    public MmState? ActiveMm { get; internal set; }

    /// <summary>True while the idle CPU holds a lazy reference on <see cref="ActiveMm"/> (mmgrab_lazy_tlb).</summary>
    public bool HoldsLazyMm { get; internal set; }

    /// <summary>The last task this CPU ran (−1 before the first), to tell a thread switch from resuming after idle.</summary>
    internal int LastTask { get; set; } = -1;

    /// <summary>Set while this CPU's task has a fault in the open fault window (the CPU is in the fault handler).</summary>
    internal bool InFault { get; set; }

    /// <summary>Cycles this CPU idled with nothing runnable.</summary>
    public long IdleCycles { get; internal set; }
}
