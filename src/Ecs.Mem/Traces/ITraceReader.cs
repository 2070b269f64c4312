namespace EcsMem.Traces;

/// <summary>
/// A streaming source of accesses. Readers never hold the whole trace in memory: callers pull
/// batches into a buffer they own, so the steady state allocates nothing.
/// </summary>
public interface ITraceReader : IDisposable
{
    /// <summary>Name of the source (file path, or a generator's description), used in error messages.</summary>
    string SourceName { get; }

    /// <summary>
    /// Fills <paramref name="buffer"/> with the next accesses and returns how many were written;
    /// 0 means the trace is exhausted. Malformed input throws <see cref="EcsMem.Diagnostics.InputException"/>
    /// naming the source, the line (or record) and the offending text.
    /// </summary>
    int Read(Span<MemoryAccess> buffer);
}
