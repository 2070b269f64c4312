namespace EcsMem.Traces;

/// <summary>
/// A streaming sink of accesses in one file format. Output goes to a temporary file next to the
/// destination; <see cref="Complete"/> renames it into place. Disposing without completing deletes
/// it, so a failed conversion never leaves a half-written output behind.
/// </summary>
public interface ITraceWriter : IDisposable
{
    /// <summary>The final output path.</summary>
    string DestinationName { get; }

    /// <summary>Appends accesses in order.</summary>
    void Write(ReadOnlySpan<MemoryAccess> accesses);

    /// <summary>Flushes, finalises headers/trailers and atomically renames the output into place.</summary>
    void Complete();
}
