using System.Globalization;

namespace EcsMem.Traces;

/// <summary>
/// Writes the CSV layout <see cref="CsvTraceLayout.Default"/>: <c>obj_id,obj_size,op</c> per access, no header,
/// with obj_id = the page (address / 4096), obj_size = 4096 and op <c>read</c> for fetches and loads, <c>write</c>
/// for stores and modifies (a modify is one reference that dirties the page). libCacheSim reads it with
/// <c>-t csv -t-params "obj-id-col=1,obj-size-col=2,has-header=false"</c>. Lost: offsets within the page, sizes,
/// the read of a modify, fetch versus load, process and thread ids.
/// </summary>
public sealed class CsvTraceWriter : ITraceWriter
{
    private const int MaxLine = 48;
    private readonly TextOutput _out;

    public CsvTraceWriter(string path) => _out = new TextOutput(path);

    public string DestinationName => _out.Path;

    public void Write(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
        {
            Span<byte> s = _out.Reserve(MaxLine);
            (a.Address >> 12).TryFormat(s, out int n, default, CultureInfo.InvariantCulture);
            var tail = a.Writes ? ",4096,write\n"u8 : ",4096,read\n"u8;
            tail.CopyTo(s[n..]);
            _out.Advance(n + tail.Length);
        }
    }

    public void Complete() => _out.Commit();

    public void Dispose() => _out.Dispose();
}
