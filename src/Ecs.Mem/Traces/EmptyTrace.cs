namespace EcsMem.Traces;

/// <summary>A trace with no accesses (a forked child that only holds its copy-on-write pages, then exits).</summary>
public sealed class EmptyTrace(string sourceName) : ITraceReader
{
    public string SourceName { get; } = sourceName;

    public int Read(Span<MemoryAccess> buffer) => 0;

    public void Dispose()
    {
    }
}
