using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>Creates a reader over a (decompressed) stream; <paramref name="sourceName"/> is used in error messages.</summary>
public delegate ITraceReader TraceReaderFactory(Stream stream, string sourceName);

/// <summary>Creates a writer that will produce <paramref name="path"/> when completed.</summary>
public delegate ITraceWriter TraceWriterFactory(string path);

/// <summary>One named trace format; either side may be absent (e.g. a format that can only be read).</summary>
public sealed record TraceFormat(string Name, string Description, TraceReaderFactory? Reader, TraceWriterFactory? Writer);

/// <summary>
/// The trace formats known by name ("lackey", "pinatrace", "pages", "binary"), used by the CLI's
/// <c>--format</c>/<c>--from</c>/<c>--to</c> options and by scenario files.
/// </summary>
public static class TraceFormats
{
    private static readonly Dictionary<string, TraceFormat> ByName = new(StringComparer.OrdinalIgnoreCase);

    static TraceFormats()
    {
        // The registry, in the order help text lists it. A format whose reader lives elsewhere is
        // registered with Reader: null and gets its reader by editing its one line here.
        TraceFormat[] builtIn =
        [
            new("binary", "EcsMem binary trace (32-byte header, 16-byte records; 24-byte with thread ids in version 2)",
                (s, n) => new BinaryTraceReader(s, n), p => new BinaryTraceWriter(p)),
            new("pinatrace", "Intel Pin pinatrace text ('0x401234: R 0x7ffd1234')",
                (s, n) => new PinatraceReader(s, n), p => new PinatraceWriter(p)),
            new("lackey", "Valgrind Lackey --trace-mem=yes text ('I  0401ab70,3', ' L 1fff000648,8')",
                (s, n) => new LackeyReader(s, n), p => new LackeyWriter(p)),
            new("pages", "one decimal page number (address / 4096) per line",
                (s, n) => new PageListReader(s, n), p => new PageListWriter(p)),
            new("champsim", "ChampSim input_instr records (64 bytes: ip, branch, registers, 2 destination and 4 source memory operands; .xz as distributed)",
                (s, n) => new ChampSimTraceReader(s, n), p => new ChampSimTraceWriter(p)),
            new("cloudsuite", "ChampSim cloudsuite_instr records (96 bytes, with ASIDs)",
                (s, n) => new ChampSimTraceReader(s, n, cloudSuite: true), null),
            new("oracleGeneral", "libCacheSim oracleGeneral binary (24-byte records: u32 time, u64 obj_id, u32 size, i64 next access); object id = page",
                (s, n) => new OracleGeneralReader(s, n), p => new OracleGeneralWriter(p)),
            new("csv", "libCacheSim-style CSV, object id = page; columns as 'csv:obj-id-col=2,op-col=0,has-header=true,delimiter=,' (default obj_id,obj_size,op)",
                (s, n) => new CsvTraceReader(s, n), p => new CsvTraceWriter(p)),
            new("auto", "detect the format from the content (magic number, text shape, record plausibility)",
                TraceFormatDetector.Open, null),
        ];
        foreach (var f in builtIn)
            Register(f);
    }

    /// <summary>All formats, in registration order.</summary>
    public static IReadOnlyCollection<TraceFormat> All
    {
        get
        {
            lock (ByName) return ByName.Values.ToArray();
        }
    }

    /// <summary>Adds a format or replaces the one with the same name (so a reader can be supplied later).</summary>
    public static void Register(TraceFormat format)
    {
        lock (ByName) ByName[format.Name] = format;
    }

    /// <summary>Adds or replaces a format by its parts.</summary>
    public static void Register(string name, string description, TraceReaderFactory? reader, TraceWriterFactory? writer) =>
        Register(new TraceFormat(name, description, reader, writer));

    /// <summary>The format called <paramref name="name"/>; unknown names are bad input from <paramref name="source"/>.</summary>
    public static TraceFormat Get(string name, string source = "command line", long line = 0)
    {
        if (name.StartsWith("csv:", StringComparison.OrdinalIgnoreCase))
        {
            // CSV with libCacheSim-style column parameters: a reader configured for this layout.
            var layout = CsvTraceLayout.Parse(name[4..], source, line);
            var csv = Get("csv", source, line);
            return csv with { Name = name, Reader = (s, n) => new CsvTraceReader(s, n, layout) };
        }
        lock (ByName)
        {
            if (ByName.TryGetValue(name, out var f)) return f;
            throw new InputException(source, line, name, "unknown trace format (known: " + string.Join(", ", ByName.Keys) + ")");
        }
    }

    /// <summary>Opens <paramref name="path"/> (plain, gzip or zstd) with the reader of format <paramref name="name"/>.</summary>
    public static ITraceReader OpenReader(string name, string path, string source = "command line", long line = 0)
    {
        var f = Get(name, source, line);
        if (f.Reader is null)
            throw new InputException(source, line, name, $"trace format '{name}' can be written but not read");
        var stream = TraceFile.Open(path);
        try
        {
            return f.Reader(stream, path);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Creates a writer of format <paramref name="name"/> that will produce <paramref name="path"/>.</summary>
    public static ITraceWriter CreateWriter(string name, string path, string source = "command line", long line = 0)
    {
        var f = Get(name, source, line);
        if (f.Writer is null)
            throw new InputException(source, line, name, $"trace format '{name}' can be read but not written");
        return f.Writer(path);
    }

    /// <summary>
    /// Guesses the format of a file from its content: "binary" when it starts (after decompression)
    /// with the EcsMem magic number, else null (text formats are ambiguous). The <c>auto</c> format
    /// (<see cref="TraceFormatDetector"/>) goes further.
    /// </summary>
    public static string? Detect(string path)
    {
        // A FIFO, socket or device path is not sniffed: opening it to read its first bytes and closing it again loses
        // those bytes and leaves its writer with no reader (EPIPE: a `valgrind ... >fifo` dies of SIGPIPE) before the
        // trace is opened for real. Standard input ("-") is replayed (StandardInput), so it can be sniffed.
        if (!StandardInput.Is(path) && FileIdentity.KindOf(path) is FileKind.Fifo or FileKind.Socket or FileKind.CharDevice)
            return null;
        using var s = TraceFile.Open(path);
        Span<byte> head = stackalloc byte[8];
        int n = TraceFile.ReadChecked(s, head, path, 0);
        return BinaryTraceFormat.HasMagic(head[..n]) ? "binary" : null;
    }

    /// <summary>Copies every access from <paramref name="reader"/> to <paramref name="writer"/>; returns the count. Does not complete the writer.</summary>
    public static long Copy(ITraceReader reader, ITraceWriter writer) => Copy(reader, writer, CancellationToken.None);

    /// <summary>
    /// <see cref="Copy(ITraceReader, ITraceWriter)"/> that stops between batches once <paramref name="cancel"/> is
    /// cancelled (Ctrl-C); the caller then leaves the writer incomplete, so its output is not written.
    /// </summary>
    public static long Copy(ITraceReader reader, ITraceWriter writer, CancellationToken cancel)
    {
        var buffer = new MemoryAccess[4096];
        long total = 0;
        int n;
        while (!cancel.IsCancellationRequested && (n = reader.Read(buffer)) > 0)
        {
            writer.Write(buffer.AsSpan(0, n));
            total += n;
        }
        return total;
    }
}
