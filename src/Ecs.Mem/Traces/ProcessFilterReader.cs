namespace EcsMem.Traces;

/// <summary>Passes on only the accesses of one process id (all its threads) from a multi-process trace (e.g. a binary trace); see <see cref="ThreadFilterReader"/> for one thread.</summary>
public sealed class ProcessFilterReader(ITraceReader inner, int process) : ITraceReader
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
                if (_scratch[i].Process == process)
                    buffer[kept++] = _scratch[i];
            if (kept > 0)
                return kept;
        }
    }

    public void Dispose() => inner.Dispose();
}
