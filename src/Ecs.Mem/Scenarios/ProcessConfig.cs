namespace EcsMem.Scenarios;

/// <summary>One simulated process: its name, when it starts, how its address space is laid out and what it accesses.</summary>
/// <param name="Name">Unique name (also used for its children and in timeline events).</param>
/// <param name="StartCycle">Simulated cycle at which it becomes runnable.</param>
/// <param name="Layout">Initial address space.</param>
/// <param name="Workload">Source of its accesses.</param>
/// <param name="Children">Forked children, or null.</param>
/// <param name="Line">1-based line of the process entry.</param>
public sealed record ProcessConfig(
    string Name, ulong StartCycle, ProcessLayout Layout, Workload Workload, ForkChildrenConfig? Children, int Line);
