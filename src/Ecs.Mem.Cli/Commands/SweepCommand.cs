using System.Diagnostics;
using System.Globalization;
using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;
using EcsMem.Systems.Reporting;
using EcsMem.Traces;

namespace EcsMem.Cli.Commands;

/// <summary>
/// <c>ecsmem sweep</c>: ideal-mode replays over traces × policies × frame counts, in parallel on all cores,
/// printed as one table (and optionally written as CSV and as a miss-ratio-curve plot). Output is identical
/// for any thread count; the timing line goes to stderr.
/// </summary>
public sealed class SweepCommand : ICommand
{
    public string Name => "sweep";
    public string Summary => "ideal-mode policy sweep: traces x policies x frame counts, in parallel";

    public string Usage =>
        "Usage: ecsmem sweep TRACE... --frames LIST [--policies LIST] [--trace-format F] [--seed S]\n" +
        "                    [--threads N] [--csv FILE] [--plot FILE.png] [--no-stack-distance]\n\n" +
        "Replays every trace under every policy at every frame count (ideal mode: N frames, global\n" +
        "replacement, see 'ecsmem run --help'). Runs are independent and use all cores; rows come out in\n" +
        "the order given (trace, policy, frames) whatever the thread count. LRU is computed for all frame\n" +
        "counts from one stack-distance pass per trace (Mattson), identical to separate LRU runs.\n\n" +
        "  TRACE...             trace files (any format; a page list by default)\n" +
        "  --frames LIST        frame counts: N, or FIRST:LAST:STEP, comma-separated (e.g. 500,1000:8000:1000)\n" +
        "  --policies LIST      comma-separated policy names (default lru,fifo,clock,linux,arc,opt)\n" +
        "                       known: " + string.Join(", ", PolicyRegistry.Names) + "\n" +
        "  --trace-format F     format of the traces (default: detected from the file, else pages);\n" +
        "                       non-page formats use address >> 12 as the page number\n" +
        "  --seed S             seed for randomised policies (default 1)\n" +
        "  --threads N          most runs at once (default: all cores)\n" +
        "  --csv FILE           also write the table as CSV\n" +
        "  --plot FILE.png      also plot faults vs frames, one line per policy (a miss-ratio curve)\n" +
        "  --no-stack-distance  run LRU once per frame count instead of one stack-distance pass\n\n" +
        "Ctrl-C or SIGTERM stops the sweep: the finished runs' rows are printed (and written), marked partial,\n" +
        "exit 130 or 143.\n";

    /// <summary>The policies swept when --policies is not given (the six the documentation compares).</summary>
    public static readonly IReadOnlyList<string> DefaultPolicies = ["lru", "fifo", "clock", "linux", "arc", "opt"];

    /// <summary>Largest frame count accepted (as for 'run --ideal').</summary>
    public const int MaxFrames = 1 << 26;

    public int Execute(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var cl = CommandLine.Parse(Name, args,
            ["--frames", "--policies", "--trace-format", "--seed", "--threads", "--csv", "--plot"],
            ["--no-stack-distance"], maxPositionals: 256);
        if (cl.Positionals.Count == 0)
            throw new InputException("command line", 0, "sweep", "'sweep' needs at least one TRACE file");
        IReadOnlyList<int> frames = ParseFrames(cl.Require("--frames"));
        IReadOnlyList<string> policies = cl.Get("--policies") is { } pl ? ParsePolicies(pl) : DefaultPolicies;
        ulong seed = (ulong)cl.GetInt64("--seed", 1);
        int threads = (int)cl.GetInt64("--threads", Environment.ProcessorCount, 1, 1024);
        string? csv = cl.Get("--csv");
        string? plot = cl.Get("--plot");
        if (plot is not null && !plot.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            throw new InputException("command line", 0, plot, "option --plot writes a PNG image: give a FILE.png");
        foreach (string p in policies)
            PolicyRegistry.Create(p, new PolicyOptions(seed)); // unknown names fail here, before any work
        var outputs = new List<(string, string)>();
        if (csv is not null) outputs.Add(("--csv", csv));
        if (plot is not null) outputs.Add(("--plot", plot));
        OutputPaths.Check(outputs, cl.Positionals.Select(t => ("input trace", t)));

        // Ctrl-C or SIGTERM while loading: nothing is replayed; while replaying: the finished runs' rows only.
        CancellationToken cancel = RunModes.InterruptSignal.Token;
        var traces = new List<(string Name, ulong[] Pages)>();
        foreach (string path in cl.Positionals)
        {
            if (cancel.IsCancellationRequested)
                break;
            traces.Add((path, Load(path, cl.Get("--trace-format"), cancel)));
        }

        var wall = Stopwatch.StartNew();
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        IReadOnlyList<SweepRow> rows = cancel.IsCancellationRequested
            ? []
            : IdealSweep.Run(traces, policies, frames, seed, threads, !cl.Has("--no-stack-distance"), cancel);
        wall.Stop();
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;

        bool partial = RunModes.InterruptSignal.Requested;
        int planned = cl.Positionals.Count * policies.Count * frames.Count;
        string note = string.Create(CultureInfo.InvariantCulture,
            $"partial: interrupted by {RunModes.InterruptSignal.SignalName}: {rows.Count} of {planned} results");
        stdout.Write(Table(rows));
        if (partial)
            stdout.WriteLine(note);
        if (csv is not null)
            Systems.Reporting.ReportOutputFile.WriteText(csv, Csv(rows));
        if (plot is not null)
            SweepPlot.Write(plot, rows, traces.Count > 1);
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sweep: {rows.Count} results, {threads} thread(s), wall {wall.Elapsed.TotalSeconds:F3} s, cpu {cpu.TotalSeconds:F3} s"));
        if (partial)
        {
            stderr.WriteLine("ecsmem: " + note);
            return RunModes.InterruptSignal.ExitCode;
        }
        return 0;
    }

    /// <summary>Frame counts from "N", "FIRST:LAST:STEP" items separated by commas, in the order given.</summary>
    public static IReadOnlyList<int> ParseFrames(string text)
    {
        var list = new List<int>();
        foreach (string raw in text.Split(','))
        {
            string item = raw.Trim();
            string[] parts = item.Split(':');
            if (parts.Length == 1)
            {
                list.Add(FrameCount(parts[0], item));
            }
            else if (parts.Length == 3)
            {
                int first = FrameCount(parts[0], item), last = FrameCount(parts[1], item), step = FrameCount(parts[2], item);
                if (last < first)
                    throw new InputException("command line", 0, item, "option --frames: a range FIRST:LAST:STEP needs LAST >= FIRST");
                if ((long)(last - first) / step >= 100_000)
                    throw new InputException("command line", 0, item, "option --frames: a range may hold at most 100000 frame counts");
                for (long f = first; f <= last; f += step) list.Add((int)f);
            }
            else
            {
                throw new InputException("command line", 0, item, "option --frames takes N or FIRST:LAST:STEP items separated by commas");
            }
        }
        return list;
    }

    private static int FrameCount(string s, string item)
    {
        if (!int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < 1 || v > MaxFrames)
            throw new InputException("command line", 0, item, $"option --frames needs integers from 1 to {MaxFrames}");
        return v;
    }

    private static IReadOnlyList<string> ParsePolicies(string text)
    {
        var list = new List<string>();
        foreach (string raw in text.Split(','))
        {
            string p = raw.Trim();
            if (p.Length == 0)
                throw new InputException("command line", 0, text, "option --policies: empty policy name");
            list.Add(p);
        }
        return list;
    }

    private static ulong[] Load(string path, string? format, CancellationToken cancel)
    {
        if (!File.Exists(path))
            throw new InputException("command line", 0, path, "trace file not found");
        try
        {
            string fmt = format ?? TraceFormats.Detect(path) ?? "pages";
            using ITraceReader reader = TraceFormats.OpenReader(fmt, path);
            return IdealSimulator.ReadAll(reader, cancel);
        }
        catch (IOException e)
        {
            throw new InputException(path, 0, path, "cannot read the trace: " + e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InputException(path, 0, path, "cannot read the trace: " + e.Message);
        }
    }

    /// <summary>The combined table: one row per (trace, policy, frames).</summary>
    public static string Table(IReadOnlyList<SweepRow> rows)
    {
        var ci = CultureInfo.InvariantCulture;
        int traceWidth = Math.Max(5, rows.Count == 0 ? 0 : rows.Max(r => r.Trace.Length));
        int policyWidth = Math.Max(6, rows.Count == 0 ? 0 : rows.Max(r => r.Result.Policy.Length));
        var sb = new StringBuilder();
        sb.Append(ci, $"{"trace".PadRight(traceWidth)}  {"policy".PadRight(policyWidth)}  {"frames",9}  {"references",12}  {"hits",12}  {"faults",12}  {"cold",10}  {"capacity",12}  {"evictions",12}  {"fault ratio",11}\n");
        foreach (SweepRow row in rows)
        {
            IdealResult r = row.Result;
            sb.Append(ci, $"{row.Trace.PadRight(traceWidth)}  {r.Policy.PadRight(policyWidth)}  {r.Frames,9}  {r.References,12}  {r.Hits,12}  {r.Faults,12}  {r.ColdFaults,10}  {r.CapacityFaults,12}  {r.Evictions,12}  {r.FaultRatio,11:F6}\n");
        }
        return sb.ToString();
    }

    /// <summary>The same rows as CSV (RFC 4180 quoting of the trace name).</summary>
    public static string Csv(IReadOnlyList<SweepRow> rows)
    {
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("trace,policy,frames,references,hits,faults,cold_faults,capacity_faults,evictions,fault_ratio\n");
        foreach (SweepRow row in rows)
        {
            IdealResult r = row.Result;
            sb.Append(Quote(row.Trace)).Append(',').Append(Quote(r.Policy));
            sb.Append(ci, $",{r.Frames},{r.References},{r.Hits},{r.Faults},{r.ColdFaults},{r.CapacityFaults},{r.Evictions},{r.FaultRatio:F9}\n");
        }
        return sb.ToString();
    }

    private static string Quote(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}
