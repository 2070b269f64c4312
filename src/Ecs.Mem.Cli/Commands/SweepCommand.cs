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
        "                    [--threads N] [--csv FILE] [--json FILE] [--plot FILE.png|.svg] [-o PREFIX]\n" +
        "                    [--no-stack-distance] [--shards-rate R] [--shards-size N] [--log-x]\n" +
        "       ecsmem sweep ... --shard I/N|auto|auto/N --part FILE      (one shard of the grid; see 'ecsmem merge')\n" +
        "       ecsmem sweep ... --slurm DIR --shards N [--partition P] [--time T] [--mem M] [--cpus C]\n" +
        "                    [--ecsmem CMD] [--submit]                    (a Slurm job array and its merge job)\n\n" +
        "Replays every trace under every policy at every frame count (ideal mode: N frames, global\n" +
        "replacement, see 'ecsmem run --help'). Runs are independent and use all cores; rows come out in\n" +
        "the order given (trace, policy, frames) whatever the thread count. LRU is computed for all frame\n" +
        "counts from one stack-distance pass per trace (Mattson), identical to separate LRU runs.\n\n" +
        "Ctrl-C or SIGTERM stops the sweep: the finished runs' rows are printed (and written), marked partial,\n" +
        "exit 130 or 143.\n\n" +
        "Scale-out. The grid's cells are numbered in row order and cut into N contiguous slices: --shard I/N runs\n" +
        "slice I (0-based) only and writes it as a part (grid, shard, cells) to --part; 'ecsmem merge' puts the\n" +
        "parts together. --slurm DIR writes a Slurm job array (one task per shard) and its merge job.\n";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("--frames", "LIST", "frame counts: N, or FIRST:LAST:STEP, comma-separated (e.g. 500,1000:8000:1000); a size with a unit is bytes of 4 KiB frames (16M = 4096)"),
        OptionSpec.Value("--policies", "LIST", "comma-separated policy names (default lru,fifo,clock,linux,arc,opt); known: " + string.Join(", ", PolicyRegistry.Names)),
        OptionSpec.Value("--trace-format", "F", "format of the traces (default: detected from the file, else pages); non-page formats use address >> 12 as the page number"),
        OptionSpec.Value("--seed", "S", "seed for randomised policies (default 1)"),
        OptionSpec.Value("--threads", "N", "most runs at once (default: all cores)"),
        OptionSpec.Value("--csv", "FILE", "also write the table as CSV"),
        OptionSpec.Value("--json", "FILE", "also write the grid and the rows as JSON (docs/schemas/sweep.schema.json)"),
        OptionSpec.Value("--plot", "FILE.png|.svg", "also plot the miss-ratio curves: miss ratio vs memory (MiB, frames on a second axis), colour by policy, line style by trace"),
        OptionSpec.Flag("--log-x", "plot memory on a logarithmic axis"),
        OptionSpec.Value("--output", "PREFIX", "all three: PREFIX.csv, PREFIX.json, PREFIX.png", "-o"),
        OptionSpec.Flag("--no-stack-distance", "run LRU once per frame count instead of one stack-distance pass"),
        OptionSpec.Value("--shards-rate", "R", "estimate LRU by SHARDS sampling at rate R in (0,1] (rows lru-shards)"),
        OptionSpec.Value("--shards-size", "N", "SHARDS with at most N sampled pages, lowering the rate as needed (starts at --shards-rate, default 1)"),
        OptionSpec.Value("--shard", "I/N|auto|auto/N", "run slice I of N only (auto: I and N from a Slurm job array, SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, or I from a Kubernetes Indexed Job, JOB_COMPLETION_INDEX, and N from auto/N)"),
        OptionSpec.Value("--part", "FILE", "the shard's part, written atomically (an interrupted shard writes none); --part without --shard means --shard auto"),
        OptionSpec.Value("--slurm", "DIR", "write DIR/sweep.sbatch (a job array, parts in DIR/parts) and DIR/merge.sbatch (ecsmem merge, afterok the array; outputs: -o/--csv/--json/--plot, default -o DIR/sweep); logs in DIR/logs"),
        OptionSpec.Value("--shards", "N", "number of array tasks (shards), with --slurm"),
        OptionSpec.Value("--partition", "P", "the jobs' #SBATCH partition, with --slurm"),
        OptionSpec.Value("--time", "T", "the jobs' #SBATCH time limit, with --slurm"),
        OptionSpec.Value("--mem", "M", "the jobs' #SBATCH memory, with --slurm"),
        OptionSpec.Value("--cpus", "C", "threads per shard (#SBATCH cpus-per-task, default 1), with --slurm"),
        OptionSpec.Value("--ecsmem", "CMD", "how the nodes start ecsmem (default: this binary; use the NativeAOT build so nodes need no .NET runtime)"),
        OptionSpec.Flag("--submit", "submit both jobs with sbatch and print the job ids"),
    ];

    public ArgumentSpec? Arguments { get; } = new("TRACE...", "trace files (any format; a page list by default)", 256);

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem sweep zipf.bin loop.bin --frames 1M:64M:1M --policies lru,clock,arc -o mrc", "miss-ratio curves from 1 to 64 MiB of frames: table, mrc.csv, mrc.json, mrc.png"),
        new("ecsmem sweep big.bin --frames 1:40000:1 --slurm job --shards 16 --submit", "the same as a Slurm job array of 16 shards and a merge job"),
    ];

    /// <summary>The policies swept when --policies is not given (the six the documentation compares).</summary>
    public static readonly IReadOnlyList<string> DefaultPolicies = ["lru", "fifo", "clock", "linux", "arc", "opt"];

    /// <summary>Largest frame count accepted (as for 'run --ideal').</summary>
    public const int MaxFrames = 1 << 26;

    public int Execute(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        if (cl.Positionals.Count == 0)
            throw new InputException("command line", 0, "sweep", "'sweep' needs at least one TRACE file");
        IReadOnlyList<int> frames = ParseFrames(cl.Require("--frames"));
        IReadOnlyList<string> policies = cl.Get("--policies") is { } pl ? ParsePolicies(pl) : DefaultPolicies;
        ulong seed = (ulong)cl.GetInt64("--seed", 1);
        int threads = (int)cl.GetInt64("--threads", Environment.ProcessorCount, 1, 1024);
        var grid = new SweepGrid(cl.Positionals, cl.Get("--trace-format"), policies, frames, seed, !cl.Has("--no-stack-distance"));
        var (csv, json, plot) = OutputsOf(cl);
        ShardsSettings? shards = ShardsOf(cl);
        foreach (string p in policies)
            PolicyRegistry.Create(p, new PolicyOptions(seed)); // unknown names fail here, before any work
        if (shards is not null && (cl.Has("--slurm") || cl.Has("--shard") || cl.Has("--part")))
            throw new InputException("command line", 0, cl.Has("--shards-rate") ? "--shards-rate" : "--shards-size", "SHARDS sampling runs in one process: it cannot be combined with --shard, --part or --slurm");
        if (cl.Has("--slurm"))
            return SlurmScripts.Generate(cl, grid, csv, json, plot, stdout, stderr);
        foreach (string slurmOnly in new[] { "--shards", "--partition", "--time", "--mem", "--cpus", "--ecsmem", "--submit" })
        {
            if (cl.Has(slurmOnly))
                throw new InputException("command line", 0, slurmOnly, "option " + slurmOnly + " belongs to --slurm DIR");
        }
        if (cl.Has("--shard") || cl.Has("--part"))
            return RunShard(cl, grid, threads, csv ?? json ?? plot, stdout, stderr);

        var outputs = new List<(string, string)>();
        if (csv is not null) outputs.Add(("--csv", csv));
        if (json is not null) outputs.Add(("--json", json));
        if (plot is not null) outputs.Add(("--plot", plot));
        OutputPaths.Check(outputs, cl.Positionals.Select(t => ("input trace", t)));

        // Ctrl-C or SIGTERM while loading: nothing is replayed; while replaying: the finished runs' rows only.
        CancellationToken cancel = RunModes.InterruptSignal.Token;
        // Only a sweep with a cell that replays the reference string per frame count holds the traces in memory;
        // LRU curves alone (one stack-distance or SHARDS pass per trace) stream each trace from its file.
        bool load = IdealSweep.NeedsReferenceStrings(policies, seed, grid.StackDistance, shards) || cl.Positionals.Contains("-");
        var names = cl.Positionals.ToArray();
        var pages = new ulong[]?[names.Length];
        for (int t = 0; t < names.Length; t++)
        {
            if (cancel.IsCancellationRequested)
                break;
            if (load)
                pages[t] = Load(names[t], cl.Get("--trace-format"), cancel);
            else if (!File.Exists(names[t]))
                throw new InputException("command line", 0, names[t], "trace file not found");
        }

        var wall = Stopwatch.StartNew();
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        IReadOnlyList<SweepRow> rows = cancel.IsCancellationRequested
            ? []
            : IdealSweep.RunCells(names, pages, policies, frames, seed, threads, grid.StackDistance, 0, (long)names.Length * policies.Count * frames.Count,
                cancel, shards, load ? null : t => Open(names[t], cl.Get("--trace-format")));
        wall.Stop();
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;

        bool partial = RunModes.InterruptSignal.Requested;
        int planned = cl.Positionals.Count * policies.Count * frames.Count;
        string note = string.Create(CultureInfo.InvariantCulture,
            $"partial: interrupted by {RunModes.InterruptSignal.SignalName}: {rows.Count} of {planned} results");
        stdout.Write(Table(rows));
        if (partial)
            stdout.WriteLine(note);
        SweepOutputs.Write(grid, rows, partial, csv, json, plot, cl.Has("--log-x"), shards);
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sweep: {rows.Count} results, {threads} thread(s), wall {wall.Elapsed.TotalSeconds:F3} s, cpu {cpu.TotalSeconds:F3} s"));
        if (partial)
        {
            stderr.WriteLine("ecsmem: " + note);
            return RunModes.InterruptSignal.ExitCode;
        }
        return 0;
    }

    /// <summary>The --csv, --json and --plot files, and those of -o PREFIX (PREFIX.csv, .json, .png).</summary>
    internal static (string? Csv, string? Json, string? Plot) OutputsOf(CommandLine cl)
    {
        string? csv = cl.Get("--csv"), json = cl.Get("--json"), plot = cl.Get("--plot");
        if (cl.Get("--output") is { } prefix)
        {
            if (csv is not null || json is not null || plot is not null)
                throw new InputException("command line", 0, prefix, "-o PREFIX names all three outputs: give it or --csv/--json/--plot, not both");
            if (prefix.Length == 0 || prefix.EndsWith('/'))
                throw new InputException("command line", 0, prefix, "-o needs a file name prefix (PREFIX.csv, PREFIX.json and PREFIX.png are written)");
            (csv, json, plot) = SweepOutputs.FromPrefix(prefix);
        }
        if (plot is not null && !SweepPlot.IsPlotFile(plot))
            throw new InputException("command line", 0, plot, "option --plot writes a PNG or SVG image: give a FILE.png or FILE.svg");
        return (csv, json, plot);
    }

    /// <summary>--shards-rate R and --shards-size N, or null when neither is given.</summary>
    internal static ShardsSettings? ShardsOf(CommandLine cl)
    {
        string? rateText = cl.Get("--shards-rate"), sizeText = cl.Get("--shards-size");
        if (rateText is null && sizeText is null)
            return null;
        double rate = 1;
        if (rateText is not null &&
            (!double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out rate) || !(rate > 0 && rate <= 1) || rate * Shards.Modulus < 1))
            throw new InputException("command line", 0, rateText, $"option --shards-rate needs a rate R with 1/{Shards.Modulus} <= R <= 1");
        int size = 0;
        if (sizeText is not null)
            size = (int)cl.GetInt64("--shards-size", 0, 1, int.MaxValue);
        return new ShardsSettings(rate, size);
    }

    /// <summary>
    /// --shard I/N --part FILE: runs the shard's cells only (loading only the traces they use) and writes them,
    /// with the grid and the shard, as one part, atomically. An interrupted shard writes no part at all, so a part
    /// on disk is always whole and complete; merge reports the shard's cells as missing.
    /// </summary>
    private static int RunShard(CommandLine cl, SweepGrid grid, int threads, string? output, TextWriter stdout, TextWriter stderr)
    {
        if (output is not null)
            throw new InputException("command line", 0, output, "a shard writes a part (--part FILE); 'ecsmem merge' writes the CSV, JSON and plot");
        string part = cl.Get("--part") ?? throw new InputException("command line", 0, "--shard", "option --shard needs --part FILE (where the shard's results go)");
        ShardSpec shard = ShardSpec.Parse(cl.Get("--shard") ?? "auto", Environment.GetEnvironmentVariable);
        OutputPaths.Check([("--part", part)], grid.Traces.Select(t => ("input trace", t)));
        var (first, end) = grid.ShardRange(shard.Index, shard.Count);
        var needed = new SortedSet<int>();
        for (long curve = first / grid.Frames.Count; curve * grid.Frames.Count < end; curve++)
            needed.Add((int)(curve / grid.Policies.Count));
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sweep: shard {shard.Index}/{shard.Count}: cells {first}..{end - 1} of {grid.Cells}, {needed.Count} trace(s)"));

        CancellationToken cancel = RunModes.InterruptSignal.Token;
        var pages = new ulong[]?[grid.Traces.Count];
        var digests = new List<(int, long, ulong)>();
        foreach (int t in needed)
        {
            if (cancel.IsCancellationRequested)
                break;
            pages[t] = Load(grid.Traces[t], grid.TraceFormat, cancel);
            digests.Add((t, pages[t]!.LongLength, SweepPart.Digest(pages[t]!)));
        }
        var wall = Stopwatch.StartNew();
        IReadOnlyList<SweepRow> rows = cancel.IsCancellationRequested
            ? []
            : IdealSweep.RunCells(grid.Traces, pages, grid.Policies, grid.Frames, grid.Seed, threads, grid.StackDistance, first, end, cancel);
        wall.Stop();
        if (RunModes.InterruptSignal.Requested)
        {
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ecsmem: interrupted by {RunModes.InterruptSignal.SignalName}: shard {shard.Index}/{shard.Count} stopped after {rows.Count} of {end - first} cells; no part written ({part})"));
            return RunModes.InterruptSignal.ExitCode;
        }
        var result = new SweepPart
        {
            Grid = grid,
            Shard = shard,
            FirstCell = first,
            EndCell = end,
            Program = Cli.Program.Version,
            TraceDigests = digests,
            Rows = rows,
        };
        Systems.Reporting.ReportOutputFile.WriteBytes(part, result.ToJson());
        stdout.Write(Table(rows));
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sweep: shard {shard.Index}/{shard.Count}: {rows.Count} results, {threads} thread(s), wall {wall.Elapsed.TotalSeconds:F3} s; wrote {part}"));
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
        long v;
        try
        {
            v = CommandLine.Frames(s, "--frames");
        }
        catch (InputException)
        {
            v = -1;
        }
        if (v < 1 || v > MaxFrames)
            throw new InputException("command line", 0, item, $"option --frames needs integers from 1 to {MaxFrames}");
        return (int)v;
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

    /// <summary>A reader over the trace at <paramref name="path"/>, for a sweep that streams it (an LRU curve).</summary>
    private static ITraceReader Open(string path, string? format)
    {
        try
        {
            return TraceFormats.OpenReader(format ?? TraceFormats.Detect(path) ?? "pages", path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(path, 0, path, "cannot read the trace: " + e.Message);
        }
    }

    private static ulong[] Load(string path, string? format, CancellationToken cancel)
    {
        if (path != "-" && !File.Exists(path))
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
