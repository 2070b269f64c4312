namespace EcsMem.Scenarios;

/// <summary>fork(2): create a child that shares the process's pages copy-on-write.</summary>
/// <param name="Child">Name of the new process (unique in the scenario; later events may refer to it).</param>
/// <param name="Workload">What the child runs; null = it only holds its copy of the address space until it exits.</param>
public sealed record ForkOp(string Child, Workload? Workload) : TimelineOp
{
    /// <summary><c>wait: true</c>: the parent then waits for the child to exit (fork followed by waitpid).</summary>
    public bool Wait { get; init; }
}
