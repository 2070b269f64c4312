namespace EcsMem.Systems.Reporting;

/// <summary>One line of the cycles-per-access breakdown: where simulated cycles went.</summary>
/// <param name="Name">translation, memory, fault, reclaim, switch, idle or total.</param>
/// <param name="Cycles">Cycles charged to it.</param>
/// <param name="PerAccess">Cycles divided by all accesses.</param>
public readonly record struct CycleRow(string Name, long Cycles, double PerAccess);
