namespace EcsMem.Scenarios;

/// <summary>
/// An extra thread of a process: created as by <c>clone(CLONE_VM | CLONE_THREAD ...)</c>, it shares the process's
/// address space (its mm) and runs its own workload. The process's own <see cref="ProcessConfig.Workload"/> is the main
/// thread (the thread-group leader, thread id 0); the thread at index <c>i</c> of <see cref="ProcessConfig.Threads"/>
/// has thread id <c>i + 1</c>.
/// </summary>
/// <param name="Name">Unique name; threads share the namespace of processes, so timeline events can name a thread.
/// Defaults to <c>&lt;process&gt;-t1</c>, <c>-t2</c>, … by position (<see cref="DefaultName"/>).</param>
/// <param name="StartCycle">Simulated cycle at which it becomes runnable; never before the process's start (its default).</param>
/// <param name="Workload">Source of its accesses.</param>
/// <param name="Line">1-based line of the thread entry.</param>
public sealed record ThreadConfig(string Name, ulong StartCycle, Workload Workload, int Line)
{
    /// <summary>
    /// Most extra threads a process may have: with the main thread that makes 256, so every thread id fits
    /// <c>MemoryAccess.Thread</c> (a byte) of the traces.
    /// </summary>
    public const int MaxPerProcess = 255;

    /// <summary>Default name of the thread at 1-based position <paramref name="index"/> of <paramref name="process"/>'s list.</summary>
    public static string DefaultName(string process, int index) =>
        process + "-t" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
