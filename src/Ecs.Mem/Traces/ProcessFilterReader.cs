namespace EcsMem.Traces;

/// <summary>
/// Passes on only the accesses of one process id from a multi-process trace (e.g. a binary trace), all its
/// threads, or only one of them when <paramref name="thread"/> is given (<see cref="ThreadFilterReader"/>).
/// </summary>
public class ProcessFilterReader(ITraceReader inner, int process, int thread = -1) : ITraceReader
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
                if (_scratch[i].Process == process && (thread < 0 || _scratch[i].Thread == thread))
                    buffer[kept++] = _scratch[i];
            if (kept > 0)
                return kept;
        }
    }

    public void Dispose() => inner.Dispose();
}
