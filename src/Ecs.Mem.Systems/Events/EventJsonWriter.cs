using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EcsMem.Systems.Events;

/// <summary>
/// Writes events as JSON Lines (one object per line, keys in a fixed order, snake_case) with a
/// <see cref="Utf8JsonWriter"/>: no reflection, so NativeAOT-safe. Common keys first — <c>time</c>, <c>cpu</c>,
/// <c>pid</c>, <c>kind</c>, <c>mechanism</c>, <c>arrow</c> — then the kind's own (docs/report.md, docs/events.schema.json).
/// Addresses are hexadecimal strings ("0x7f0000001000"): 64-bit values do not all fit a JSON number readers keep exactly.
/// </summary>
public sealed class EventJsonWriter : IEventSink, IDisposable
{
    private static readonly JsonWriterOptions Options = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Stream? _out;
    private readonly TextWriter? _text;
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly Utf8JsonWriter _w;
    private char[] _chars = new char[256];

    /// <summary>Writes UTF-8 lines to <paramref name="output"/>.</summary>
    public EventJsonWriter(Stream output)
    {
        _out = output;
        _w = new Utf8JsonWriter(_buffer, Options);
    }

    /// <summary>Writes the lines to <paramref name="output"/> (standard output with <c>--events -</c>).</summary>
    public EventJsonWriter(TextWriter output)
    {
        _text = output;
        _w = new Utf8JsonWriter(_buffer, Options);
    }

    /// <summary>Lines written so far.</summary>
    public long Lines { get; private set; }

    public void Write(in MemEvent e)
    {
        _buffer.Clear();
        _w.Reset(_buffer);
        WriteObject(_w, e);
        _w.Flush();
        if (_out is not null)
        {
            _out.Write(_buffer.WrittenSpan);
            _out.WriteByte((byte)'\n');
        }
        else
        {
            var utf8 = System.Text.Encoding.UTF8;
            int n = utf8.GetMaxCharCount(_buffer.WrittenCount);
            if (_chars.Length < n)
                _chars = new char[Math.Max(n, _chars.Length * 2)];
            int len = utf8.GetChars(_buffer.WrittenSpan, _chars);
            _text!.Write(_chars, 0, len);
            _text.Write('\n');
        }
        Lines++;
    }

    /// <summary>One event as one line of JSON (without the newline).</summary>
    public static string ToJson(in MemEvent e)
    {
        var buf = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buf, Options))
            WriteObject(w, e);
        return System.Text.Encoding.UTF8.GetString(buf.WrittenSpan);
    }

    /// <summary>Writes <paramref name="v"/> as a "0x…" string without allocating.</summary>
    private static void WriteHex(Utf8JsonWriter w, string name, ulong v)
    {
        Span<char> buf = stackalloc char[18];
        buf[0] = '0';
        buf[1] = 'x';
        v.TryFormat(buf[2..], out int n, "x", CultureInfo.InvariantCulture);
        w.WriteString(name, buf[..(n + 2)]);
    }

    private static void WriteObject(Utf8JsonWriter w, in MemEvent e)
    {
        w.WriteStartObject();
        w.WriteNumber("time", e.Time);
        w.WriteNumber("cpu", e.Cpu);
        w.WriteNumber("pid", e.Pid);
        w.WriteString("kind", EventNames.Kind(e.Kind));
        var (key, arrow) = EventNames.Mechanism(e.Kind);
        w.WriteString("mechanism", key);
        w.WriteString("arrow", arrow);
        switch (e.Kind)
        {
            case MemEventKind.Fault:
                WriteHex(w, "address", e.Address);
                w.WriteString("access", EventNames.Access(e.Access));
                if (e.VmaEnd == 0)
                {
                    w.WriteNull("vma_start");
                    w.WriteNull("vma_end");
                    w.WriteNull("vma");
                }
                else
                {
                    WriteHex(w, "vma_start", e.VmaStart);
                    WriteHex(w, "vma_end", e.VmaEnd);
                    w.WriteString("vma", e.Name ?? "");
                }
                if (e.Outcome == FaultOutcome.Sigsegv)
                    w.WriteNull("class");
                else
                    w.WriteString("class", EventNames.Class(e.Class));
                w.WriteString("outcome", EventNames.Outcome(e.Outcome));
                w.WriteBoolean("major", e.Major);
                w.WriteNumber("walk_levels", e.WalkLevels);
                Pfn(w, "pfn", e.Pfn);
                if (e.VictimPid < 0)
                {
                    w.WriteNull("victim_pid");
                    w.WriteNull("victim_address");
                }
                else
                {
                    w.WriteNumber("victim_pid", e.VictimPid);
                    WriteHex(w, "victim_address", e.VictimAddress);
                }
                w.WriteNumber("latency", e.Latency);
                break;
            case MemEventKind.Syscall:
                w.WriteString("call", e.Name ?? "");
                w.WriteNumber("result", e.Result);
                w.WriteString("strace", e.Text ?? "");
                break;
            case MemEventKind.Reclaim:
                w.WriteBoolean("direct", e.Direct);
                w.WriteNumber("scanned", e.Scanned);
                w.WriteNumber("reclaimed", e.Reclaimed);
                break;
            case MemEventKind.LruShrinkInactive:
            case MemEventKind.LruShrinkActive:
                // The tracepoints' fields: RECLAIM_WB_ANON / _FILE, priority, nr_scanned + nr_reclaimed (inactive) or
                // nr_taken + nr_deactivated (active).
                w.WriteBoolean("direct", e.Direct);
                w.WriteString("lru", e.File ? "file" : "anon");
                w.WriteNumber("priority", e.Priority);
                bool inactive = e.Kind == MemEventKind.LruShrinkInactive;
                w.WriteNumber(inactive ? "scanned" : "taken", e.Scanned);
                w.WriteNumber(inactive ? "reclaimed" : "deactivated", e.Reclaimed);
                break;
            case MemEventKind.AllocStall:
                WriteHex(w, "address", e.Address);
                break;
            case MemEventKind.Alloc:
                WriteHex(w, "address", e.Address);
                Pfn(w, "pfn", e.Pfn);
                break;
            case MemEventKind.SwapOut:
            case MemEventKind.SwapIn:
                WriteHex(w, "address", e.Address);
                Pfn(w, "pfn", e.Pfn);
                w.WriteNumber("slot", e.Slot);
                break;
            case MemEventKind.Unmap:
                WriteHex(w, "address", e.Address);
                Pfn(w, "pfn", e.Pfn);
                if (e.Slot > 0)
                    w.WriteNumber("slot", e.Slot);
                else
                    w.WriteNull("slot");
                break;
            case MemEventKind.FileRead:
                WriteHex(w, "address", e.Address);
                Pfn(w, "pfn", e.Pfn);
                w.WriteString("file", e.Name ?? "");
                w.WriteNumber("index", e.Slot);
                break;
            case MemEventKind.TlbFlush:
                bool full = e.End == ulong.MaxValue;
                w.WriteBoolean("full", full);
                if (full)
                {
                    w.WriteNull("start");
                    w.WriteNull("end");
                }
                else
                {
                    WriteHex(w, "start", e.Start);
                    WriteHex(w, "end", e.End);
                }
                w.WriteNumber("shootdowns", e.Reclaimed);
                break;
            case MemEventKind.OomKill:
                w.WriteString("message", e.Text ?? "");
                break;
            case MemEventKind.ProcessStart:
                w.WriteString("name", e.Name ?? "");
                break;
            case MemEventKind.ProcessExit:
                w.WriteString("name", e.Name ?? "");
                w.WriteString("how", e.Text ?? "");
                w.WriteNumber("signal", e.Result);
                break;
        }
        w.WriteEndObject();
    }

    private static void Pfn(Utf8JsonWriter w, string name, int pfn)
    {
        if (pfn < 0)
            w.WriteNull(name);
        else
            w.WriteNumber(name, pfn);
    }

    public void Dispose() => _w.Dispose();
}
