using EcsMem.Systems.Timing;

namespace EcsMem.Systems.Cpu;

/// <summary>
/// One simulated CPU: its own time (CPUs run in parallel, so each reaches a given instant separately), the
/// task it runs and what is left of that task's quantum (the runqueue's curr and time slice), the address
/// space loaded in its MMU (cpu_tlbstate.loaded_mm, kept while idle: lazy TLB mode), and whether a fault of
/// its task waits in the current fault window.
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

    /// <summary>The address space loaded in this CPU's MMU; stays loaded while the CPU idles (lazy TLB).</summary>
    public MmState? LoadedMm { get; internal set; }

    /// <summary>True while the CPU idles with <see cref="LoadedMm"/> still loaded (cpu_tlbstate_shared.is_lazy).</summary>
    public bool Lazy { get; internal set; }

    /// <summary>Set while this CPU's task has a fault in the open fault window (the CPU is in the fault handler).</summary>
    internal bool InFault { get; set; }

    /// <summary>Cycles this CPU idled with nothing runnable.</summary>
    public long IdleCycles { get; internal set; }
}
