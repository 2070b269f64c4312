namespace EcsMem.Scenarios;

/// <summary>One simulated process: its name, when it starts, how its address space is laid out and what it accesses.</summary>
/// <param name="Name">Unique name (also used for its children and in timeline events).</param>
/// <param name="StartCycle">Simulated cycle at which it becomes runnable.</param>
/// <param name="Layout">Initial address space.</param>
/// <param name="Workload">Source of the accesses of its main thread (the thread-group leader).</param>
/// <param name="Children">Forked children, or null.</param>
/// <param name="Line">1-based line of the process entry.</param>
public sealed record ProcessConfig(
    string Name, ulong StartCycle, ProcessLayout Layout, Workload Workload, ForkChildrenConfig? Children, int Line)
{
    /// <summary>
    /// Extra threads sharing the process's address space, in file order (thread ids 1, 2, …; the main thread is 0);
    /// empty for a single-threaded process. Compared element by element by <see cref="Equals(ProcessConfig?)"/>.
    /// </summary>
    public IReadOnlyList<ThreadConfig> Threads { get; init; } = Array.Empty<ThreadConfig>();

    /// <summary>The memory cgroup the process starts in (its children inherit it); null: the root cgroup.</summary>
    public string? Cgroup { get; init; }

    /// <summary>
    /// Whether the process holds CAP_SYS_ADMIN (<c>cap_sys_admin</c>, default true: root): under
    /// vm.overcommit_memory 2 a process without it cannot commit into admin_reserve_kbytes. Its children inherit it.
    /// </summary>
    public bool CapSysAdmin { get; init; } = true;

    /// <summary>
    /// The address of the struct rseq the process registered with rseq(2) (<c>rseq</c>; glibc registers one in every
    /// thread's TLS by default), 0: none. The kernel reads and writes it on each return to user space after the task
    /// was scheduled out (__rseq_handle_notify_resume). Its children inherit it (rseq_fork).
    /// </summary>
    public ulong Rseq { get; init; }

    /// <summary>Value equality, with <see cref="Threads"/> compared element by element rather than by reference.</summary>
    public bool Equals(ProcessConfig? other) =>
        other is not null
        && Name == other.Name && StartCycle == other.StartCycle && Equals(Layout, other.Layout) && Equals(Workload, other.Workload)
        && Equals(Children, other.Children) && Line == other.Line && Threads.SequenceEqual(other.Threads)
        && CapSysAdmin == other.CapSysAdmin && Cgroup == other.Cgroup && Rseq == other.Rseq;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, StartCycle, Layout, Workload, Children, Line, Threads.Count);
}
