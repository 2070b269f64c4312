namespace EcsMem.Traces;

/// <summary>
/// A trace reader that can also yield page numbers straight from its records, as the ideal mode numbers pages (a
/// page list's numbers, address &gt;&gt; 12 for an address trace), with no <see cref="MemoryAccess"/> built per
/// reference: the page-number passes (<c>ecsmem run --ideal</c>, sweeps, stack distances) read a trace this way
/// when its reader offers it. Both ways give the same references in the same order and the same errors.
/// </summary>
public interface IPageReader
{
    /// <summary>
    /// Fills <paramref name="pages"/> with the next references' page numbers and returns how many were written;
    /// 0 means the trace is exhausted. Malformed input throws as <see cref="ITraceReader.Read"/> does.
    /// </summary>
    int ReadPages(Span<ulong> pages);
}
