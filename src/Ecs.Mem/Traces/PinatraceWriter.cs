using System.Globalization;

namespace EcsMem.Traces;

/// <summary>
/// Writes pinatrace text: <c>0x0: R 0x7ffd1234 8</c> per data access and the <c>#eof</c> trailer.
/// Lossy by nature of the format: the instruction pointer is unknown and written as <c>0x0</c>;
/// the size is written as a fourth field (the Pin tool prints none; <see cref="PinatraceReader"/>
/// reads both); a modify becomes an R line then a W line (as pinatrace records a read-write
/// operand); instruction fetches are dropped (pinatrace traces data only); process ids are dropped.
/// </summary>
public sealed class PinatraceWriter : ITraceWriter
{
    private const int MaxLine = 64;
    private readonly TextOutput _out;

    public PinatraceWriter(string path) => _out = new TextOutput(path);

    public string DestinationName => _out.Path;

    public void Write(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
        {
            switch (a.Kind)
            {
                case AccessKind.Load:
                    Line('R', a);
                    break;
                case AccessKind.Store:
                    Line('W', a);
                    break;
                case AccessKind.Modify:
                    Line('R', a);
                    Line('W', a);
                    break;
            }
        }
    }

    private void Line(char kind, in MemoryAccess a)
    {
        Span<byte> s = _out.Reserve(MaxLine);
        "0x0: "u8.CopyTo(s);
        int n = 5;
        s[n++] = (byte)kind;
        s[n++] = (byte)' ';
        s[n++] = (byte)'0';
        s[n++] = (byte)'x';
        a.Address.TryFormat(s[n..], out int w, "x", CultureInfo.InvariantCulture);
        n += w;
        s[n++] = (byte)' ';
        a.Size.TryFormat(s[n..], out w, default, CultureInfo.InvariantCulture);
        n += w;
        s[n++] = (byte)'\n';
        _out.Advance(n);
    }

    public void Complete()
    {
        _out.Append("#eof\n"u8);
        _out.Commit();
    }

    public void Dispose() => _out.Dispose();
}
