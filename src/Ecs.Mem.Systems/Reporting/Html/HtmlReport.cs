using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Components;
using EcsMem.Systems.Events;

namespace EcsMem.Systems.Reporting.Html;

/// <summary>Everything the HTML page shows, gathered by the run.</summary>
public sealed record HtmlReportData
{
    /// <summary>The finished run's report (embedded whole, as <c>run --json</c> writes it).</summary>
    public required SimulationReport Report { get; init; }
    /// <summary>The snapshots drawn: the user's <c>--snapshot</c>s, or the default set (<see cref="EvenSnapshotRecorder"/>), each with page tables.</summary>
    public required IReadOnlyList<Snapshot> Snapshots { get; init; }
    /// <summary>True when the snapshots are the default set rather than the user's.</summary>
    public required bool DefaultSnapshots { get; init; }
    /// <summary>The timeline samples (<see cref="IntervalSampler"/>).</summary>
    public required IReadOnlyList<IntervalSample> Samples { get; init; }
    /// <summary>Accesses between samples at the end of the run.</summary>
    public required long SampleInterval { get; init; }
    /// <summary>The machine's paging geometry.</summary>
    public required PagingMode Paging { get; init; }
    /// <summary>The frame of the shared zero page.</summary>
    public required int ZeroPfn { get; init; }
    /// <summary>The cap on embedded PTE-level entries per process and snapshot.</summary>
    public required int PageTableEntryCap { get; init; }
    /// <summary>The run's first events (the event stream's lines), or null.</summary>
    public HtmlEventSink? Events { get; init; }
}

/// <summary>
/// <c>ecsmem run --html FILE.html</c>: one self-contained page (inline style, script and data; nothing fetched) that
/// draws each process's address space as the seed's figure does, the mm_struct table at each snapshot, the page-table
/// walk of an address the reader types, the seed's mechanism diagram with arrows ①–⑧ lit by a timeline that plays and
/// steps, and the timeline plots. The data is one JSON object in a <c>&lt;script type="application/json"&gt;</c> block;
/// the renderer (vanilla JS, CSS, SVG) is embedded in the assembly. docs/report.md describes the page.
/// </summary>
public static class HtmlReport
{
    /// <summary>Version of the embedded data object.</summary>
    public const int DataSchema = 1;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The whole page.</summary>
    public static string Write(HtmlReportData d)
    {
        string template = Resource("page.html");
        string page = template
            .Replace("/*@STYLE@*/", Resource("page.css"), StringComparison.Ordinal)
            .Replace("/*@SCRIPT@*/", Resource("page.js"), StringComparison.Ordinal)
            .Replace("@TITLE@", EscapeHtml("EcsMem: " + d.Report.Source), StringComparison.Ordinal);
        // The data goes in last, so nothing in it is ever taken for a placeholder.
        return page.Replace("/*@DATA@*/", DataJson(d), StringComparison.Ordinal);
    }

    /// <summary>
    /// The data object as it sits in the page: JSON with every '&lt;', '&gt;' and '&amp;' written as a \u escape, so no
    /// string in it (a process name, a file path) can close the script element or open a comment: in JSON these
    /// characters only ever occur inside strings, where the escape means the same character.
    /// </summary>
    public static string DataJson(HtmlReportData d)
    {
        var ms = new MemoryStream();
        // The default encoder already escapes <, >, & and non-ASCII; the replacements below keep the guarantee
        // even if the encoder is ever relaxed.
        using (var w = new Utf8JsonWriter(ms))
            WriteData(w, d);
        return Encoding.UTF8.GetString(ms.ToArray())
            .Replace("<", "\\u003c", StringComparison.Ordinal)
            .Replace(">", "\\u003e", StringComparison.Ordinal)
            .Replace("&", "\\u0026", StringComparison.Ordinal);
    }

    private static void WriteData(Utf8JsonWriter w, HtmlReportData d)
    {
        PagingMode mode = d.Paging;
        w.WriteStartObject();
        JsonContract.WriteHeader(w, DataSchema);
        w.WriteString("title", d.Report.Source);

        w.WriteStartObject("paging");
        w.WriteString("name", mode.Levels == 2 ? "x86" : mode.Name);
        w.WriteNumber("levels", mode.Levels);
        w.WriteNumber("bits_per_level", mode.BitsPerLevel);
        w.WriteNumber("va_bits", mode.PointerSize == 4 ? 32 : mode.VirtualAddressBits);
        w.WriteString("task_size", Hex(mode.TaskSize));
        w.WriteBoolean("has_nx", mode.HasNx);
        w.WriteStartArray("level_names");
        for (int l = 0; l < mode.Levels; l++)
            w.WriteStringValue(AddressSpace.AddressSplit.LevelName(mode, l));
        w.WriteEndArray();
        w.WriteEndObject();

        // The entry layout, from the simulator's own constants, so the page decodes entries as the kernel does.
        w.WriteStartObject("pte_bits");
        w.WriteString("present", Hex(Pte.PresentBit));
        w.WriteString("rw", Hex(Pte.RwBit));
        w.WriteString("user", Hex(Pte.UserBit));
        w.WriteString("pwt", Hex(Pte.PwtBit));
        w.WriteString("pcd", Hex(Pte.PcdBit));
        w.WriteString("accessed", Hex(Pte.AccessedBit));
        w.WriteString("dirty", Hex(Pte.DirtyBit));
        w.WriteString("pse", Hex(Pte.PseBit));
        w.WriteString("global", Hex(Pte.GlobalBit));
        w.WriteString("protnone", Hex(Pte.ProtNoneBit));
        w.WriteString("special", Hex(Pte.SpecialBit));
        w.WriteString("cow", Hex(Pte.CowBit));
        w.WriteString("soft_dirty", Hex(Pte.SoftDirtyBit));
        w.WriteString("nx", Hex(Pte.NxBit));
        w.WriteString("pfn_mask", Hex(Pte.PfnMask));
        w.WriteNumber("swap_type_bits", SwapEntry.TypeBits);
        w.WriteNumber("swap_offset_first_bit", SwapEntry.OffsetFirstBit);
        w.WriteNumber("swap_offset_bits", SwapEntry.OffsetBits);
        w.WriteEndObject();
        w.WriteNumber("zero_pfn", d.ZeroPfn);

        w.WriteStartObject("caps");
        w.WriteNumber("page_table_entries", d.PageTableEntryCap);
        w.WriteNumber("timeline_samples", IntervalSampler.MaxSamples);
        w.WriteBoolean("default_snapshots", d.DefaultSnapshots);
        w.WriteEndObject();

        w.WritePropertyName("report");
        ReportJsonWriter.Write(w, d.Report);

        w.WriteStartArray("snapshots");
        foreach (Snapshot s in d.Snapshots)
            WriteSnapshot(w, s);
        w.WriteEndArray();

        w.WriteStartObject("timeline");
        w.WriteNumber("interval", d.SampleInterval);
        w.WriteStartArray("processes");
        foreach (ProcessReport p in d.Report.Processes)
        {
            w.WriteStartObject();
            w.WriteNumber("pid", p.Pid);
            w.WriteString("name", p.Name);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("counters");
        foreach (string c in IntervalSampler.CounterNames)
            w.WriteStringValue(c);
        w.WriteEndArray();
        w.WriteStartArray("columns");
        foreach (string c in new[] { "cycles", "accesses", "free_pages", "swap_used_pages", "pagecache_pages", "rss_pages", "counter_deltas" })
            w.WriteStringValue(c);
        w.WriteEndArray();
        w.WriteStartArray("samples");
        foreach (IntervalSample s in d.Samples)
        {
            w.WriteStartArray();
            w.WriteNumberValue(s.Cycles);
            w.WriteNumberValue(s.Accesses);
            w.WriteNumberValue(s.FreePages);
            w.WriteNumberValue(s.SwapUsedPages);
            w.WriteNumberValue(s.PageCachePages);
            w.WriteStartArray();
            foreach (ulong r in s.Rss)
                w.WriteNumberValue(r);
            w.WriteEndArray();
            w.WriteStartArray();
            foreach (long x in s.Deltas)
                w.WriteNumberValue(x);
            w.WriteEndArray();
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();

        if (d.Events is { } ev)
        {
            // The event stream's own lines (EventJsonWriter), so the page shows what --events writes.
            w.WriteStartObject("events");
            w.WriteNumber("cap", ev.Cap);
            w.WriteNumber("total", ev.Total);
            w.WriteStartObject("by_kind");
            for (int k = 0; k < EventNames.Kinds.Length; k++)
                w.WriteNumber(EventNames.Kinds[k], ev.ByKind[k]);
            w.WriteEndObject();
            w.WriteStartArray("list");
            foreach (MemEvent e in ev.Kept)
                w.WriteRawValue(EventJsonWriter.ToJson(e), skipInputValidation: false);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("events");
        }
        w.WriteEndObject();
    }

    private static void WriteSnapshot(Utf8JsonWriter w, Snapshot s)
    {
        w.WriteStartObject();
        w.WriteString("when", s.When);
        w.WriteBoolean("reached", s.Reached);
        w.WriteNumber("cycles", s.Cycles);
        w.WriteNumber("accesses", s.Accesses);
        w.WriteStartArray("processes");
        foreach (ProcessSnapshot p in s.Processes)
        {
            w.WriteStartObject();
            w.WriteNumber("pid", p.Pid);
            w.WriteString("name", p.Name);
            w.WriteString("state", p.State);
            // [field, as printed by the text report, the value in hex or null]
            w.WriteStartArray("mm_struct");
            foreach (var (field, text, value) in SnapshotFormat.MmFields(p.Mm))
            {
                w.WriteStartArray();
                w.WriteStringValue(field);
                w.WriteStringValue(text);
                if (value is ulong v)
                    w.WriteStringValue(Hex(v));
                else
                    w.WriteNullValue();
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteStartArray("vmas");
            foreach (VmaSnapshot v in p.Vmas)
            {
                w.WriteStartObject();
                w.WriteString("start", Hex(v.Start));
                w.WriteString("end", Hex(v.End));
                w.WriteString("maps", v.MapsLine);
                w.WriteString("vm_ops", v.KindName);
                w.WriteString("vm_flags", Hex((ulong)v.Flags));
                w.WriteString("vm_flag_names", v.FlagNames);
                w.WriteString("vm_pgoff", Hex(v.PgOff));
                w.WriteNumber("rss", v.Rss);
                w.WriteNumber("swap", v.Swap);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (p.PageTables is { } pt)
            {
                w.WriteStartObject("page_tables");
                w.WriteNumber("root", pt.Root);
                w.WriteNumber("omitted_tables", pt.OmittedTables);
                w.WriteNumber("omitted_entries", pt.OmittedEntries);
                w.WriteStartArray("tables");
                foreach (PageTablePageSnapshot t in pt.Tables)
                {
                    w.WriteStartObject();
                    w.WriteNumber("id", t.Id);
                    w.WriteNumber("level", t.Level);
                    w.WriteNumber("frame", t.Frame);
                    // Flat pairs: index, entry in hex (64-bit entries do not fit a JavaScript number).
                    w.WriteStartArray("entries");
                    for (int i = 0; i < t.Index.Length; i++)
                    {
                        w.WriteNumberValue(t.Index[i]);
                        w.WriteStringValue(t.Entry[i].ToString("x", Inv));
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        ReportJsonWriter.Counters(w, "meminfo", s.MemInfo);
        w.WriteString("buddyinfo", s.BuddyInfo);
        w.WriteEndObject();
    }

    private static string Hex(ulong v) => "0x" + v.ToString("x", Inv);

    /// <summary>Text for an HTML element or attribute.</summary>
    public static string EscapeHtml(string s) => s
        .Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal)
        .Replace("\"", "&quot;", StringComparison.Ordinal)
        .Replace("'", "&#39;", StringComparison.Ordinal);

    /// <summary>An embedded part of the page (Reporting/Html/page.*).</summary>
    private static string Resource(string name)
    {
        using Stream s = typeof(HtmlReport).Assembly.GetManifestResourceStream("EcsMem.Reporting.Html." + name)
            ?? throw new InvalidOperationException("embedded resource missing: " + name);
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }
}
