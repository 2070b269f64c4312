namespace EcsMem.Scenarios;

/// <summary>
/// A process that forks <see cref="Count"/> children after it has made <see cref="AfterAccesses"/> accesses,
/// like a pre-forking server. The children are named <c>&lt;parent&gt;-1</c> … <c>&lt;parent&gt;-N</c>; they share the
/// parent's pages copy-on-write.
/// </summary>
/// <param name="Count">Number of children (1 or more).</param>
/// <param name="AfterAccesses">Parent accesses before the forks (0 = at the parent's start).</param>
/// <param name="Workload">What each child runs; null = the child only holds its copy of the address space until it exits.</param>
/// <param name="Line">1-based line where the <c>children:</c> section's content starts.</param>
public sealed record ForkChildrenConfig(int Count, ulong AfterAccesses, Workload? Workload, int Line)
{
    /// <summary>Cycles after its fork at which each child becomes runnable (<c>start_delay</c>; 0 = at once).</summary>
    public ulong StartDelay { get; init; }

    /// <summary>
    /// One workload per child (<c>workloads:</c>, child i runs element i − 1), overriding <see cref="Workload"/>;
    /// null = every child runs <see cref="Workload"/>. When set it has exactly <see cref="Count"/> elements.
    /// </summary>
    public IReadOnlyList<Workload>? Workloads { get; init; }

    /// <summary>What child <paramref name="index"/> (1-based) runs: its own entry of <see cref="Workloads"/>, else <see cref="Workload"/>.</summary>
    public Workload? WorkloadOf(int index) => Workloads is { } list ? list[index - 1] : Workload;

    public bool Equals(ForkChildrenConfig? other) =>
        other is not null && Count == other.Count && AfterAccesses == other.AfterAccesses && Equals(Workload, other.Workload)
        && Line == other.Line && StartDelay == other.StartDelay
        && (Workloads is null ? other.Workloads is null : other.Workloads is not null && Workloads.SequenceEqual(other.Workloads));

    public override int GetHashCode() => HashCode.Combine(Count, AfterAccesses, Workload, Line, StartDelay, Workloads?.Count ?? -1);

    /// <summary>Name of child <paramref name="index"/> (1-based) of <paramref name="parent"/>.</summary>
    public static string ChildName(string parent, int index) => parent + "-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
