namespace EcsMem.Scenarios;

/// <summary>A complete simulation input: the machine, the processes and the scripted timeline.</summary>
/// <param name="SourceName">The file it was read from (used in every later error message).</param>
/// <param name="Description">Free text from the file's <c>description:</c>, or null.</param>
/// <param name="Machine">The simulated machine.</param>
/// <param name="Processes">Processes in file order (at least one).</param>
/// <param name="Timeline">Events in file order; the engine orders them by time, keeping file order for ties.</param>
public sealed record Scenario(
    string SourceName, string? Description, MachineConfig Machine, IReadOnlyList<ProcessConfig> Processes, IReadOnlyList<TimelineEvent> Timeline)
{
    /// <summary>The process named <paramref name="name"/>, or null.</summary>
    public ProcessConfig? FindProcess(string name)
    {
        foreach (var p in Processes)
            if (p.Name == name)
                return p;
        return null;
    }

    /// <summary>The memory cgroups (cgroup v2 hierarchy below the root), parents before children; empty: no cgroups.</summary>
    public IReadOnlyList<CgroupConfig> Cgroups { get; init; } = Array.Empty<CgroupConfig>();
}
