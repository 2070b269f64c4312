using EcsMem.Traces;

namespace EcsMem.Tests.Reliability;

/// <summary>A trace held in memory (a test's scripted accesses).</summary>
internal sealed class ArrayTraceReader(string name, MemoryAccess[] accesses) : ITraceReader
{
    private int _pos;

    public string SourceName => name;

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = Math.Min(buffer.Length, accesses.Length - _pos);
        accesses.AsSpan(_pos, n).CopyTo(buffer);
        _pos += n;
        return n;
    }

    public void Dispose()
    {
    }
}
