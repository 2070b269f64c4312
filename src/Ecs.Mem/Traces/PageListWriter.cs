using System.Globalization;

namespace EcsMem.Traces;

/// <summary>
/// Writes the "pages" format used by page-replacement studies: one decimal virtual page number
/// (address / 4096) per line, one line per access. Kind, size and process are dropped.
/// </summary>
public sealed class PageListWriter : ITraceWriter
{
    /// <summary>log2 of the 4 KiB base page size (Linux PAGE_SHIFT on x86-64).</summary>
    public const int PageShift = 12;

    private const int MaxLine = 24;
    private readonly TextOutput _out;

    public PageListWriter(string path) => _out = new TextOutput(path);

    public string DestinationName => _out.Path;

    public void Write(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
        {
            Span<byte> s = _out.Reserve(MaxLine);
            (a.Address >> PageShift).TryFormat(s, out int n, default, CultureInfo.InvariantCulture);
            s[n++] = (byte)'\n';
            _out.Advance(n);
        }
    }

    public void Complete() => _out.Commit();

    public void Dispose() => _out.Dispose();
}
