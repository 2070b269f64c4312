using EcsMem.Traces;

namespace EcsMem.Perf;

/// <summary>The <see cref="PerfWorkload"/> stream as an endless trace reader (for steady-state benchmarks).</summary>
public sealed class PerfWorkloadReader(ulong seed) : ITraceReader
{
    private PerfWorkload.Generator _gen = new(seed);

    public string SourceName => "perf-mixed";

    public int Read(Span<MemoryAccess> buffer)
    {
        _gen.Fill(buffer);
        return buffer.Length;
    }

    public void Dispose() { }
}
