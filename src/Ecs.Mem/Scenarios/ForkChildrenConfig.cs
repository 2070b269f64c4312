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
    /// <summary>Name of child <paramref name="index"/> (1-based) of <paramref name="parent"/>.</summary>
    public static string ChildName(string parent, int index) => parent + "-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
