namespace EcsMem.Systems.Reporting;

/// <summary>One line of the cycles-per-access breakdown: where simulated cycles went.</summary>
/// <param name="Name">translation, memory, fault, reclaim, switch, idle or total.</param>
/// <param name="Cycles">Cycles charged to it.</param>
/// <param name="PerAccess">Cycles divided by all accesses.</param>
public readonly record struct CycleRow(string Name, long Cycles, double PerAccess)
{
    /// <summary>
    /// True for cycles charged without advancing any CPU's clock (reclaim's page write-out: device time that
    /// overlaps the CPUs' time); false for cycles on a CPU's path, which sum with idle to the CPUs' time.
    /// </summary>
    public bool OffCpu { get; init; }
}
