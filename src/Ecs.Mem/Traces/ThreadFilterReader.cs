namespace EcsMem.Traces;

/// <summary>
/// Passes on only the accesses of one thread of one process from a multi-threaded trace (e.g. a version-2 binary
/// trace); <see cref="ProcessFilterReader"/> without a thread keeps all threads of a process. Thread 0 is the main
/// thread, which is also what formats without thread ids report for every access.
/// </summary>
public sealed class ThreadFilterReader(ITraceReader inner, int process, byte thread) : ProcessFilterReader(inner, process, thread);
