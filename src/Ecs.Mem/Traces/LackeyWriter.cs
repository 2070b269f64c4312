using System.Globalization;

namespace EcsMem.Traces;

/// <summary>
/// Writes accesses exactly as <c>valgrind --tool=lackey --trace-mem=yes</c> prints them:
/// <c>I  0401ab70,3</c> for a fetch and <c> L </c>/<c> S </c>/<c> M </c> before data accesses, the
/// address in lower-case hex padded to at least 8 digits, a comma, the size in decimal.
/// Process ids are dropped (Lackey traces one process); Valgrind's own <c>==pid==</c> banner lines are not written.
/// </summary>
public sealed class LackeyWriter : ITraceWriter
{
    private const int MaxLine = 48;
    private readonly TextOutput _out;

    public LackeyWriter(string path) => _out = new TextOutput(path);

    public string DestinationName => _out.Path;

    public void Write(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
        {
            Span<byte> s = _out.Reserve(MaxLine);
            ReadOnlySpan<byte> prefix = a.Kind switch
            {
                AccessKind.Instr => "I  "u8,
                AccessKind.Load => " L "u8,
                AccessKind.Store => " S "u8,
                _ => " M "u8,
            };
            prefix.CopyTo(s);
            int n = 3;
            a.Address.TryFormat(s[n..], out int w, "x8", CultureInfo.InvariantCulture);
            n += w;
            s[n++] = (byte)',';
            a.Size.TryFormat(s[n..], out w, default, CultureInfo.InvariantCulture);
            n += w;
            s[n++] = (byte)'\n';
            _out.Advance(n);
        }
    }

    public void Complete() => _out.Commit();

    public void Dispose() => _out.Dispose();
}
