using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Reads the text printed by Intel Pin's example tool pinatrace: one line per data access,
/// <c>IP: R ADDRESS</c> or <c>IP: W ADDRESS</c>, addresses as glibc's <c>%p</c> prints them
/// (<c>0x7ffd1234</c>, or <c>(nil)</c> for zero), ending with a <c>#eof</c> trailer.
/// An optional fourth field gives the access size in decimal bytes (EcsMem's pinatrace writer adds it;
/// the Pin tool does not); without it every access has <see cref="DefaultSize"/> bytes.
/// Other lines starting with <c>#</c> and blank lines are skipped; data after <c>#eof</c> is an error.
/// The instruction pointer is checked but not kept (<see cref="MemoryAccess"/> has no field for it).
/// </summary>
public sealed class PinatraceReader : ITraceReader
{
    /// <summary>Size given to accesses without a size field: one byte, so no access straddles a cache line.</summary>
    public const ushort DefaultSize = 1;

    private const string Shape = "expected 'IP: R|W ADDRESS [SIZE]'";

    private readonly TextLineReader _lines;
    private readonly int _process;
    private bool _sawEof;

    /// <summary>Reads <paramref name="stream"/> (named <paramref name="sourceName"/> in errors); every access gets <paramref name="process"/> as its process id (pinatrace traces one process).</summary>
    public PinatraceReader(Stream stream, string sourceName, int process = 0)
    {
        _lines = new TextLineReader(stream, sourceName);
        SourceName = sourceName;
        _process = process;
    }

    public string SourceName { get; }

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = 0;
        while (n < buffer.Length && _lines.TryReadLine(out var line))
        {
            if (TextFields.IsEmpty(line)) continue;
            if (line[0] == (byte)'#')
            {
                if (line.SequenceEqual("#eof"u8)) _sawEof = true;
                continue;
            }
            if (_sawEof)
                throw Error(line, "data after the #eof trailer");
            buffer[n++] = ParseLine(line);
        }
        return n;
    }

    private MemoryAccess ParseLine(ReadOnlySpan<byte> line)
    {
        var rest = line;
        var ip = TextFields.Next(ref rest);
        var kind = TextFields.Next(ref rest);
        var addr = TextFields.Next(ref rest);
        var size = TextFields.Next(ref rest);
        if (addr.IsEmpty || !TextFields.IsEmpty(rest))
            throw Error(line, Shape);
        if (ip.Length < 2 || ip[^1] != (byte)':' || !TryParsePointer(ip[..^1], out _))
            throw Error(ip, "bad instruction address (expected hex such as 0x401234:)");
        AccessKind k = kind.Length == 1 && kind[0] == (byte)'R' ? AccessKind.Load
            : kind.Length == 1 && kind[0] == (byte)'W' ? AccessKind.Store
            : throw Error(kind, "unknown access kind (expected R or W)");
        if (!TryParsePointer(addr, out ulong address))
            throw Error(addr, "bad hex address");
        ushort bytes = DefaultSize;
        if (!size.IsEmpty)
        {
            if (!TextFields.TryParseDecimal(size, ushort.MaxValue, out ulong s) || s == 0)
                throw Error(size, "bad access size (expected decimal 1-65535)");
            bytes = (ushort)s;
        }
        return new MemoryAccess(address, _process, bytes, k);
    }

    private static bool TryParsePointer(ReadOnlySpan<byte> s, out ulong value)
    {
        if (s.SequenceEqual("(nil)"u8))
        {
            value = 0;
            return true;
        }
        return TextFields.TryParseHex(s, out value);
    }

    private InputException Error(ReadOnlySpan<byte> text, string problem) =>
        new(SourceName, _lines.LineNumber, TextFields.Text(text), problem);

    public void Dispose() => _lines.Dispose();
}
