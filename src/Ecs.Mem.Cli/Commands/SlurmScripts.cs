using System.Diagnostics;
using System.Globalization;
using System.Text;
using EcsMem.Diagnostics;

namespace EcsMem.Cli.Commands;

/// <summary>
/// <c>ecsmem sweep … --slurm DIR --shards N</c>: writes a Slurm job array (one task per shard, each running
/// <c>sweep … --shard auto --part DIR/parts/part-TASK.json</c>) and a merge job to run after every task succeeded
/// (<c>sbatch --dependency=afterok:ARRAY</c>); with <c>--submit</c> submits both and prints their job ids.
/// </summary>
public static class SlurmScripts
{
    /// <summary>Most array tasks accepted (Slurm's default MaxArraySize is 1001; sites raise it).</summary>
    public const int MaxShards = 1_000_000;

    public static int Generate(CommandLine cl, SweepGrid grid, string? csv, string? json, string? plot, TextWriter stdout, TextWriter stderr)
    {
        if (cl.Has("--shard") || cl.Has("--part"))
            throw new InputException("command line", 0, "--slurm", "--slurm writes the job scripts, whose tasks pick their shards: give no --shard or --part");
        string dir = Path.GetFullPath(cl.Get("--slurm")!);
        string cwd = Directory.GetCurrentDirectory();
        foreach (string p in new[] { dir, cwd })
        {
            if (p.Any(c => char.IsWhiteSpace(c) || c is '%' or '"' or '\'' or '\\'))
                throw new InputException("command line", 0, p, "--slurm: the directory's path holds white space, a quote, '\\' or '%', which #SBATCH lines cannot carry");
        }
        int shards = (int)cl.GetInt64("--shards", 0, 1, MaxShards);
        if (shards == 0)
            throw new InputException("command line", 0, "--slurm", "--slurm needs --shards N (the number of array tasks)");
        if (shards > grid.Cells)
            throw new InputException("command line", 0, shards.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"--shards: more shards than the grid's {grid.Cells} cells"));
        int cpus = (int)cl.GetInt64("--cpus", 1, 1, 1024);
        foreach (string opt in new[] { "--partition", "--time", "--mem" })
        {
            if (cl.Get(opt) is { } v && (v.Length == 0 || v.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'')))
                throw new InputException("command line", 0, v, "option " + opt + " needs one word (as sbatch takes it)");
        }
        foreach (string trace in grid.Traces)
        {
            if (!File.Exists(trace))
                throw new InputException("command line", 0, trace, "trace file not found");
        }
        if (csv is null && json is null && plot is null)
            (csv, json, plot) = SweepOutputs.FromPrefix(Path.Combine(dir, "sweep"));
        if (!Directory.Exists(Path.GetDirectoryName(dir)))
            throw new InputException("command line", 0, dir, "--slurm: the parent directory does not exist");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "parts"));
            Directory.CreateDirectory(Path.Combine(dir, "logs")); // sbatch does not create the --output directory
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException("command line", 0, dir, "--slurm: cannot create the directory: " + e.Message);
        }
        bool needsRuntime = false;
        string ecsmem = cl.Get("--ecsmem") ?? DefaultCommand(out needsRuntime);
        if (needsRuntime)
            stderr.WriteLine("ecsmem: note: the scripts start ecsmem through 'dotnet', so every node needs the .NET runtime; " +
                "publish the NativeAOT binary (README: A native build) and give --ecsmem PATH to avoid that");

        var outputs = new List<(string, string)>();
        if (csv is not null) outputs.Add(("--csv", csv));
        if (json is not null) outputs.Add(("--json", json));
        if (plot is not null) outputs.Add(("--plot", plot));
        Traces.OutputPaths.Check(outputs, grid.Traces.Select(t => ("input trace", t)));

        var sweepArgs = new List<string>();
        sweepArgs.AddRange(grid.Traces);
        sweepArgs.AddRange(["--frames", cl.Get("--frames")!]);
        if (cl.Get("--policies") is { } pl) sweepArgs.AddRange(["--policies", pl]);
        if (grid.TraceFormat is { } tf) sweepArgs.AddRange(["--trace-format", tf]);
        sweepArgs.AddRange(["--seed", grid.Seed.ToString(CultureInfo.InvariantCulture)]);
        if (!grid.StackDistance) sweepArgs.Add("--no-stack-distance");

        string resources = Resources(cl);
        string parts = Path.Combine(dir, "parts");
        var sweep = new StringBuilder();
        sweep.Append("#!/bin/bash\n");
        sweep.Append("# Written by 'ecsmem sweep --slurm': a job array of ").Append(shards.ToString(CultureInfo.InvariantCulture))
            .Append(" tasks; task I runs shard I of the sweep's ").Append(grid.Cells.ToString(CultureInfo.InvariantCulture))
            .Append(" cells and writes its part atomically.\n# The task id is the shard index, so failed shards rerun as they are: sbatch --array=7,42 sweep.sbatch\n");
        sweep.Append("# Submit: id=$(sbatch --parsable sweep.sbatch) && sbatch --dependency=afterok:${id%;*} merge.sbatch\n");
        sweep.Append("#SBATCH --job-name=ecsmem-sweep\n");
        sweep.Append(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{shards - 1}\n");
        sweep.Append("#SBATCH --chdir=").Append(cwd).Append('\n');
        sweep.Append("#SBATCH --output=").Append(Path.Combine(dir, "logs", "shard-%a.out")).Append('\n');
        sweep.Append(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={cpus}\n");
        sweep.Append(resources);
        sweep.Append("set -eu\n");
        // exec: ecsmem is the task's process, so scancel's SIGTERM reaches it (it then writes no part).
        sweep.Append("exec ").Append(ecsmem).Append(" sweep ").Append(string.Join(" ", sweepArgs.Select(Quote)))
            .Append(" --threads \"${SLURM_CPUS_PER_TASK:-1}\" --shard \"$SLURM_ARRAY_TASK_ID\"/")
            .Append(shards.ToString(CultureInfo.InvariantCulture)).Append(" --part ")
            .Append(Quote(parts)).Append("/part-\"$SLURM_ARRAY_TASK_ID\".json\n");

        var merge = new StringBuilder();
        merge.Append("#!/bin/bash\n");
        merge.Append("# Written by 'ecsmem sweep --slurm': merges the parts of sweep.sbatch's tasks (submit it with\n");
        merge.Append("# --dependency=afterok:ARRAY_JOB_ID); merge fails, naming them, if any cells are missing or duplicated.\n");
        merge.Append("#SBATCH --job-name=ecsmem-merge\n");
        merge.Append("#SBATCH --chdir=").Append(cwd).Append('\n');
        merge.Append("#SBATCH --output=").Append(Path.Combine(dir, "logs", "merge.out")).Append('\n');
        merge.Append("#SBATCH --cpus-per-task=1\n");
        merge.Append(resources);
        merge.Append("set -eu\n");
        merge.Append("exec ").Append(ecsmem).Append(" merge ").Append(Quote(parts)).Append("/part-*.json");
        if (csv is not null) merge.Append(" --csv ").Append(Quote(csv));
        if (json is not null) merge.Append(" --json ").Append(Quote(json));
        if (plot is not null) merge.Append(" --plot ").Append(Quote(plot));
        merge.Append('\n');

        string sweepScript = Path.Combine(dir, "sweep.sbatch"), mergeScript = Path.Combine(dir, "merge.sbatch");
        Systems.Reporting.ReportOutputFile.WriteText(sweepScript, sweep.ToString());
        Systems.Reporting.ReportOutputFile.WriteText(mergeScript, merge.ToString());
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {sweepScript} (job array of {shards} shards over {grid.Cells} cells) and {mergeScript}"));
        stdout.WriteLine("outputs after the merge: " + string.Join(", ", new[] { csv, json, plot }.Where(o => o is not null)));
        if (!cl.Has("--submit"))
        {
            stdout.WriteLine($"submit with: id=$(sbatch --parsable {sweepScript}) && sbatch --dependency=afterok:${{id%;*}} {mergeScript}");
            return 0;
        }
        string arrayId = Sbatch(sweepScript, []);
        string mergeId = Sbatch(mergeScript, ["--dependency=afterok:" + arrayId]);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sweep job: {arrayId} (array 0-{shards - 1})"));
        stdout.WriteLine($"merge job: {mergeId} (afterok:{arrayId})");
        return 0;
    }

    /// <summary>The #SBATCH lines of --partition, --time and --mem.</summary>
    private static string Resources(CommandLine cl)
    {
        var sb = new StringBuilder();
        if (cl.Get("--partition") is { } p) sb.Append("#SBATCH --partition=").Append(p).Append('\n');
        if (cl.Get("--time") is { } t) sb.Append("#SBATCH --time=").Append(t).Append('\n');
        if (cl.Get("--mem") is { } m) sb.Append("#SBATCH --mem=").Append(m).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// This ecsmem as a shell command: the NativeAOT binary itself, or 'dotnet ecsmem.dll' when running on the
    /// .NET runtime (then <paramref name="needsRuntime"/>).
    /// </summary>
    private static string DefaultCommand(out bool needsRuntime)
    {
        string? host = Environment.ProcessPath;
        string dll = Path.Combine(AppContext.BaseDirectory, "ecsmem.dll");
        needsRuntime = host is null || Path.GetFileNameWithoutExtension(host) is "dotnet" or "testhost" || File.Exists(dll);
        if (!needsRuntime)
            return Quote(host!);
        string dotnet = host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        return Quote(dotnet) + " " + Quote(dll);
    }

    /// <summary>One shell word: single-quoted unless it is plainly safe.</summary>
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ',' or ':' or '=' or '+')
            ? s
            : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Runs sbatch --parsable and returns the job id (the part before ';cluster').</summary>
    private static string Sbatch(string script, IReadOnlyList<string> extra)
    {
        var psi = new ProcessStartInfo("sbatch") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--parsable");
        foreach (string e in extra) psi.ArgumentList.Add(e);
        psi.ArgumentList.Add(script);
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InputException("sbatch", 0, script, "cannot start sbatch");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InputException("sbatch", 0, script, "cannot start sbatch (is Slurm installed here?): " + e.Message);
        }
        using (p)
        {
            Task<string> err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            string id = output.Trim().Split(';')[0];
            if (p.ExitCode != 0 || id.Length == 0 || !id.All(char.IsAsciiDigit))
            {
                string why = err.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "no job id";
                throw new InputException("sbatch", 0, script, string.Create(CultureInfo.InvariantCulture, $"sbatch failed (exit {p.ExitCode}): {why}"));
            }
            return id;
        }
    }
}
