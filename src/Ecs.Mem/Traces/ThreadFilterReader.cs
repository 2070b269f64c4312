namespace EcsMem.Traces;

/// <summary>
/// Passes on only the accesses of one thread of one process from a multi-threaded trace (e.g. a version-2 binary
/// trace); <see cref="ProcessFilterReader"/> keeps all threads of a process. Thread 0 is the main thread, which is
/// also what formats without thread ids report for every access.
/// </summary>
public sealed class ThreadFilterReader(ITraceReader inner, int process, byte thread) : ITraceReader
{
    private readonly MemoryAccess[] _scratch = new MemoryAccess[4096];

    public string SourceName => inner.SourceName;

    public int Read(Span<MemoryAccess> buffer)
    {
        while (true)
        {
            int n = inner.Read(_scratch.AsSpan(0, Math.Min(buffer.Length, _scratch.Length)));
            if (n == 0)
                return 0;
            int kept = 0;
            for (int i = 0; i < n; i++)
                if (_scratch[i].Process == process && _scratch[i].Thread == thread)
                    buffer[kept++] = _scratch[i];
            if (kept > 0)
                return kept;
        }
    }

    public void Dispose() => inner.Dispose();
}
