using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;
using EcsMem.Traces;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// <c>ecsmem run --ideal</c>: replays a page-reference trace against N frames under one replacement policy
/// (see docs/policies.md). The trace may be in any format, plain, gzip or zstd
/// (<see cref="TraceFormats.OpenReader"/>): the pages format gives page numbers directly, every other format
/// gives addresses, whose page is address &gt;&gt; 12. Everything is validated and the whole replay done before anything is written,
/// so an error never leaves a half-written report.
/// </summary>
public sealed class IdealRunMode : IRunMode
{
    public string? SelectorFlag => "--ideal";

    public string Summary => "page-replacement study: N frames, global replacement, one victim per fault";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("--trace", "FILE", "the reference trace (plain, gzip, zstd or xz; a binary trace is recognised by its header; - for standard input); may also be given as the argument"),
        OptionSpec.Value("--trace-format", "F", "pages, lackey, pinatrace, binary, champsim, cloudsuite, oracleGeneral, csv:... or auto (default: detected, else pages); non-page formats use address >> 12"),
        OptionSpec.Value("--refs", "LIST", "the reference string inline (page numbers separated by commas), instead of --trace"),
        OptionSpec.Value("--frames", "N", "frames of memory: a count, or a size (16M = 4096 frames of 4 KiB)"),
        OptionSpec.Value("--policy", "NAME", "replacement policy: " + string.Join(", ", PolicyRegistry.Names)) with { Completions = PolicyRegistry.Names.ToArray() },
        OptionSpec.Value("--seed", "S", "seed for randomised policies (default 1)"),
        OptionSpec.Flag("--steps", $"the exercise table: each reference, every frame after it, fault (F) or hit (-), the victim (at most {MaxStepReferences} references and {MaxStepFrames} frames; with --json: a \"steps\" array)"),
        OptionSpec.Flag("--json", "the result as JSON (docs/schemas/ideal.schema.json)"),
    ];

    public string Usage =>
        "Usage: ecsmem run --ideal (--trace FILE | --refs LIST) --frames N --policy NAME [options]\n\n" +
        "Replays a page-reference string against N frames under one replacement policy (docs/policies.md).\n" +
        "Ctrl-C or SIGTERM: the counts so far, marked partial (exit 130 or 143).\n";

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem run --ideal --refs 1,2,3,4,1,2,5,1,2,3,4,5 --frames 3 --policy fifo --steps", "Belady's string under FIFO, step by step"),
        new("ecsmem run --ideal --trace zipf.bin --frames 16M --policy lru --json", "a trace on 16 MiB of frames (4096), as JSON"),
    ];

    public int Run(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        string? refsText = cl.Get("--refs");
        string? traceOption = cl.Get("--trace");
        if (traceOption is not null && cl.Positionals.Count > 0)
            throw new InputException("command line", 0, cl.Positionals[0], "unexpected argument (the trace is already given by --trace)");
        string? traceFile = traceOption ?? (cl.Positionals.Count == 1 ? cl.Positionals[0] : null);
        if (refsText is not null && traceFile is not null)
            throw new InputException("command line", 0, "--refs", "give the reference string by --trace FILE or by --refs LIST, not both");
        if (refsText is null && traceFile is null)
            throw new InputException("command line", 0, "--trace", "'run --ideal' needs option --trace FILE (or --refs LIST)");
        string? givenFormat = cl.Get("--trace-format")?.ToLowerInvariant();
        if (givenFormat is not null)
        {
            if (refsText is not null)
                throw new InputException("command line", 0, "--trace-format", "option --trace-format goes with --trace; --refs is a list of page numbers");
            TraceFormats.Get(givenFormat); // an unknown name is reported before anything else is read
        }
        ulong[]? refs = refsText is null ? null : ParseRefs(refsText);
        string framesText = cl.Get("--frames") ?? throw new InputException("command line", 0, "--frames", "'run --ideal' needs option --frames N");
        long framesCount = CommandLine.Frames(framesText, "--frames");
        if (framesCount < 1 || framesCount > MaxFrames)
            throw new InputException("command line", 0, framesText, $"option --frames needs an integer from 1 to {MaxFrames}");
        int frames = (int)framesCount;
        bool steps = cl.Has("--steps");
        if (steps && frames > MaxStepFrames)
            throw new InputException("command line", 0, framesText, $"--steps draws one row per frame: at most {MaxStepFrames} frames (run without --steps for the totals)");
        if (steps && refs is not null && refs.Length > MaxStepReferences)
            throw new InputException("command line", 0, "--refs", StepsTooLong(refs.Length.ToString(CultureInfo.InvariantCulture)));
        string policyName = cl.Require("--policy");
        ulong seed = (ulong)cl.GetInt64("--seed", 1);
        IReplacementPolicy policy = PolicyRegistry.Create(policyName, new PolicyOptions(seed));
        if (traceFile is not null && traceFile != "-" && !File.Exists(traceFile))
            throw new InputException("command line", 0, traceFile, "trace file not found");
        string trace = traceFile ?? "--refs";
        string format = traceFile is null ? "inline" : givenFormat ?? TraceFormats.Detect(traceFile) ?? "pages";

        IdealResult result;
        var recorder = steps ? new IdealStepRecorder() : null;
        var sim = new IdealSimulator(frames, policy) { StepRecorder = recorder };
        if (refs is not null)
        {
            sim.Run(refs, InterruptSignal.Token);
        }
        else
        {
            try
            {
                using var reader = TraceFormats.OpenReader(format, trace);
                if (steps)
                {
                    // A teaching view: read at most one reference past the limit, never a whole long trace.
                    ulong[] pages = IdealSimulator.ReadAll(reader, InterruptSignal.Token, MaxStepReferences);
                    if (pages.Length > MaxStepReferences)
                        throw new InputException(trace, 0, "--steps", StepsTooLong("more than " + MaxStepReferences.ToString(CultureInfo.InvariantCulture)));
                    if (!InterruptSignal.Requested)
                        sim.Run(pages, InterruptSignal.Token);
                }
                else
                {
                    sim.Run(reader, InterruptSignal.Token);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ZstdSharp.ZstdException)
            {
                throw new InputException(trace, 0, trace, "cannot read the trace: " + e.Message);
            }
        }
        result = sim.Result;

        string name = policyName.ToLowerInvariant();
        // Ctrl-C or SIGTERM: the counts of the references replayed so far, marked partial.
        bool partial = InterruptSignal.Requested;
        IReadOnlyList<IdealStep>? table = recorder?.Steps;
        stdout.Write(cl.Has("--json") ? Json(result, name, trace, format, seed, partial, table)
            : table is not null ? StepsText(result, name, trace, format, seed, partial, table)
            : Text(result, name, trace, format, seed, partial));
        if (partial)
        {
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ecsmem: partial: interrupted by {InterruptSignal.SignalName} after {result.References} references"));
            return InterruptSignal.ExitCode;
        }
        return 0;
    }

    /// <summary>Version of the --json layout (docs/schemas/ideal.schema.json).</summary>
    public const int JsonSchema = 1;

    /// <summary>Frames are int-indexed arrays; 2^26 frames of 4 KiB is 256 GiB, far beyond any study.</summary>
    public const int MaxFrames = 1 << 26;

    /// <summary>--steps is a teaching view: longer reference strings are refused.</summary>
    public const int MaxStepReferences = 10_000;

    /// <summary>--steps draws one row per frame.</summary>
    public const int MaxStepFrames = 64;

    /// <summary>Width the exercise table aims to fit (a terminal's 80 columns); blocks hold at most 30 references.</summary>
    private const int TableWidth = 80;
    private const int MaxReferencesPerBlock = 30;

    private static string StepsTooLong(string count) =>
        $"--steps is a teaching view of at most {MaxStepReferences} references; this string has {count} (run without --steps for the totals)";

    /// <summary>Parses <c>--refs 1,2,3</c>: page numbers separated by commas (spaces around them allowed).</summary>
    private static ulong[] ParseRefs(string text)
    {
        string[] items = text.Split(',');
        var pages = new ulong[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            string item = items[i].Trim();
            if (!ulong.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out pages[i]))
                throw new InputException("command line", 0, item,
                    $"option --refs needs page numbers (integers from 0) separated by commas, e.g. 1,2,3 (item {i + 1} of '{text}')");
        }
        return pages;
    }

    private static string Text(IdealResult r, string policy, string trace, string format, ulong seed, bool partial)
    {
        var sb = new StringBuilder();
        sb.Append("ideal-mode page replacement\n");
        Header(sb, r, policy, trace, format, seed);
        Totals(sb, r, partial);
        return sb.ToString();
    }

    private static void Header(StringBuilder sb, IdealResult r, string policy, string trace, string format, ulong seed)
    {
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"trace:           {trace} ({format})\n");
        sb.Append(ci, $"policy:          {policy}\n");
        sb.Append(ci, $"frames:          {r.Frames}\n");
        sb.Append(ci, $"seed:            {seed}\n");
    }

    private static void Totals(StringBuilder sb, IdealResult r, bool partial)
    {
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"references:      {r.References}\n");
        sb.Append(ci, $"hits:            {r.Hits}\n");
        sb.Append(ci, $"faults:          {r.Faults}\n");
        sb.Append(ci, $"  cold:          {r.ColdFaults}\n");
        sb.Append(ci, $"  capacity:      {r.CapacityFaults}\n");
        sb.Append(ci, $"evictions:       {r.Evictions}\n");
        sb.Append(ci, $"fault ratio:     {r.FaultRatio:F6}\n");
        if (partial)
            sb.Append(ci, $"status:          partial: interrupted by {InterruptSignal.SignalName} after {r.References} references\n");
    }

    /// <summary>
    /// The exam-style table: references across the top, one row per frame (a page stays in the frame it was
    /// loaded into; blank = empty frame), then the fault row (F = fault, - = hit) and the victim row, in blocks
    /// of at most 30 references that fit 80 columns; then the totals.
    /// </summary>
    internal static string StepsText(IdealResult r, string policy, string trace, string format, ulong seed, bool partial, IReadOnlyList<IdealStep> steps)
    {
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("ideal-mode page replacement, step by step\n");
        Header(sb, r, policy, trace, format, seed);
        sb.Append('\n');
        int width = 1;
        foreach (var s in steps) width = Math.Max(width, s.Page.ToString(ci).Length);
        string[] labels = new string[r.Frames + 3];
        labels[0] = "reference";
        for (int f = 0; f < r.Frames; f++) labels[f + 1] = "frame " + f.ToString(ci);
        labels[^2] = "fault";
        labels[^1] = "victim";
        int labelWidth = labels.Max(l => l.Length);
        int perBlock = Math.Clamp((TableWidth - labelWidth - 2) / (width + 1), 1, MaxReferencesPerBlock);
        var line = new StringBuilder();
        for (int start = 0; start < steps.Count; start += perBlock)
        {
            int end = Math.Min(steps.Count, start + perBlock);
            if (steps.Count > perBlock)
            {
                if (end == start + 1)
                    sb.Append(ci, $"reference {end} of {steps.Count}\n");
                else
                    sb.Append(ci, $"references {start + 1}-{end} of {steps.Count}\n");
            }
            for (int row = 0; row < labels.Length; row++)
            {
                line.Clear();
                line.Append(labels[row].PadRight(labelWidth)).Append(" |");
                for (int i = start; i < end; i++)
                {
                    IdealStep s = steps[i];
                    string cell = row == 0 ? s.Page.ToString(ci)
                        : row == labels.Length - 2 ? (s.Fault ? "F" : "-")
                        : row == labels.Length - 1 ? s.Victim?.ToString(ci) ?? ""
                        : s.Frames[row - 1]?.ToString(ci) ?? "";
                    line.Append(' ').Append(cell.PadLeft(width));
                }
                sb.Append(line.ToString().TrimEnd()).Append('\n');
                if (row == 0)
                    sb.Append('-', labelWidth + 1).Append('+').Append('-', (end - start) * (width + 1)).Append('\n');
            }
            sb.Append('\n');
        }
        sb.Append("F = page fault, - = hit, victim = the page the fault replaced;\n");
        sb.Append("a page stays in the frame it was loaded into (blank = empty frame)\n\n");
        Totals(sb, r, partial);
        return sb.ToString();
    }

    private static string Json(IdealResult r, string policy, string trace, string format, ulong seed, bool partial, IReadOnlyList<IdealStep>? steps)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            Systems.Reporting.JsonContract.WriteHeader(w, JsonSchema);
            w.WriteString("mode", "ideal");
            w.WriteString("trace", trace);
            w.WriteString("trace_format", format);
            w.WriteString("policy", policy);
            w.WriteNumber("frames", r.Frames);
            w.WriteNumber("seed", seed);
            w.WriteNumber("references", r.References);
            w.WriteNumber("hits", r.Hits);
            w.WriteNumber("faults", r.Faults);
            w.WriteNumber("cold_faults", r.ColdFaults);
            w.WriteNumber("capacity_faults", r.CapacityFaults);
            w.WriteNumber("evictions", r.Evictions);
            w.WriteNumber("fault_ratio", Math.Round(r.FaultRatio, 9));
            if (steps is not null)
            {
                // Only with --steps, so the report without it is unchanged.
                w.WriteStartArray("steps");
                foreach (IdealStep s in steps)
                {
                    w.WriteStartObject();
                    w.WriteNumber("ref", s.Page);
                    w.WriteStartArray("frames");
                    foreach (ulong? p in s.Frames)
                    {
                        if (p is { } page) w.WriteNumberValue(page);
                        else w.WriteNullValue();
                    }
                    w.WriteEndArray();
                    w.WriteBoolean("fault", s.Fault);
                    if (s.Victim is { } victim) w.WriteNumber("victim", victim);
                    else w.WriteNull("victim");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (partial)
                w.WriteBoolean("partial", true); // only when interrupted, so a complete report is unchanged
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()).Replace("\r\n", "\n") + "\n";
    }
}
