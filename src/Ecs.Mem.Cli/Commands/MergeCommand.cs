using System.Globalization;
using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;
using EcsMem.Traces;

namespace EcsMem.Cli.Commands;

/// <summary>
/// <c>ecsmem merge PART… -o PREFIX</c>: puts the parts of a sharded sweep back together. The parts must describe
/// one grid (same traces, policies, frames, seed, method and ecsmem version, and the same content for each trace
/// as far as their digests show) and cover every cell exactly once; then the table, CSV, JSON and plot are those
/// of the unsharded sweep, byte for byte.
/// </summary>
public sealed class MergeCommand : ICommand
{
    public string Name => "merge";
    public string Summary => "merge the parts of a sharded sweep into its table, CSV, JSON and plot";

    public string Usage =>
        "Usage: ecsmem merge PART... [-o PREFIX | --csv FILE --json FILE --plot FILE.png]\n\n" +
        "Reads the parts written by 'ecsmem sweep ... --shard I/N --part FILE' (or by the tasks of\n" +
        "'ecsmem sweep --slurm'), checks that they belong to one sweep and cover its cells exactly once, prints\n" +
        "the sweep's table and writes its outputs, identical to those of the same sweep run unsharded.\n\n" +
        "Missing or duplicated cells, or parts of different sweeps, end in one line naming the cells (with the\n" +
        "shard that should have computed them) or the files, and exit 2; nothing is written then.\n";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("--output", "PREFIX", "write PREFIX.csv, PREFIX.json and PREFIX.png", "-o"),
        OptionSpec.Value("--csv", "FILE", "write the table as CSV"),
        OptionSpec.Value("--json", "FILE", "write the grid and the rows as JSON (docs/schemas/sweep.schema.json)"),
        OptionSpec.Value("--plot", "FILE.png|.svg", "write the miss-ratio-curve plot (PNG or SVG)"),
    ];

    public ArgumentSpec? Arguments { get; } = new("PART...", "part files, in any order", ShardSpec.MaxCount);

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem merge parts/*.json -o sweep", "the sweep's table on stdout, sweep.csv, sweep.json and sweep.png"),
    ];

    public int Execute(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        if (cl.Positionals.Count == 0)
            throw new InputException("command line", 0, "merge", "'merge' needs at least one PART file");
        var (csv, json, plot) = SweepCommand.OutputsOf(cl);
        var outputs = new List<(string, string)>();
        if (csv is not null) outputs.Add(("--csv", csv));
        if (json is not null) outputs.Add(("--json", json));
        if (plot is not null) outputs.Add(("--plot", plot));
        OutputPaths.Check(outputs, cl.Positionals.Select(p => ("part", p)));

        var parts = new List<(string Path, SweepPart Part)>();
        foreach (string path in cl.Positionals)
            parts.Add((path, SweepPart.Read(path)));
        IReadOnlyList<SweepRow> rows = Combine(parts);
        SweepGrid grid = parts[0].Part.Grid;
        stdout.Write(SweepCommand.Table(rows));
        SweepOutputs.Write(grid, rows, false, csv, json, plot);
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"merge: {parts.Count} part(s), {rows.Count} results"));
        return 0;
    }

    /// <summary>
    /// The rows of the whole grid from <paramref name="parts"/>, in cell order; an <see cref="InputException"/>
    /// naming the files when the parts are of different sweeps, and naming the cells when some are missing or
    /// covered twice.
    /// </summary>
    public static IReadOnlyList<SweepRow> Combine(IReadOnlyList<(string Path, SweepPart Part)> parts)
    {
        var (path0, first) = parts[0];
        SweepGrid grid = first.Grid;
        var digests = new Dictionary<int, (long References, ulong Digest, string Path)>();
        foreach (var (path, part) in parts)
        {
            if (grid.Difference(part.Grid) is { } field)
                throw new InputException(path, 0, field, $"this part is of a different sweep than '{path0}': its grid's {field} differ");
            if (part.Program != first.Program)
                throw new InputException(path, 0, part.Program, $"this part was computed by ecsmem {part.Program}, '{path0}' by {first.Program}: parts of one ecsmem version only");
            foreach (var (t, refs, digest) in part.TraceDigests)
            {
                if (!digests.TryGetValue(t, out var seen))
                    digests[t] = (refs, digest, path);
                else if (seen.References != refs || seen.Digest != digest)
                    throw new InputException(path, 0, grid.Traces[t], $"this part read different contents for the trace than '{seen.Path}' did (its references or digest differ)");
            }
        }
        // Cell -> the part that holds it; a cell held twice is reported with both files.
        var owner = new int[grid.Cells];
        Array.Fill(owner, -1);
        var duplicates = new List<(long Cell, int A, int B)>();
        for (int i = 0; i < parts.Count; i++)
        {
            SweepPart part = parts[i].Part;
            for (long c = part.FirstCell; c < part.EndCell; c++)
            {
                if (owner[c] >= 0) duplicates.Add((c, owner[c], i));
                else owner[c] = i;
            }
        }
        var missing = new List<long>();
        for (long c = 0; c < grid.Cells; c++)
        {
            if (owner[c] < 0) missing.Add(c);
        }
        if (missing.Count > 0 || duplicates.Count > 0)
        {
            var problems = new List<string>();
            if (missing.Count > 0)
            {
                // The shard that should have computed a range, by the split the first part used.
                int n = first.Shard.Count;
                string Shards(long a, long b)
                {
                    int sa = ShardOf(grid, a, n), sb = ShardOf(grid, b, n);
                    string which = sa == sb ? $"shard {sa}/{n}" : $"shards {sa}-{sb} of {n}";
                    return $"{which}: {Describe(grid, a)}{(a == b ? "" : " .. " + Describe(grid, b))}";
                }
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{missing.Count} missing cell(s): {SweepOutputs.Ranges(missing, 6, Shards)}"));
            }
            if (duplicates.Count > 0)
            {
                var byPair = duplicates.GroupBy(d => (d.A, d.B)).Take(4).Select(g =>
                    $"{SweepOutputs.Ranges(g.Select(d => d.Cell).ToList(), 3)} in both '{parts[g.Key.A].Path}' and '{parts[g.Key.B].Path}'");
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{duplicates.Count} duplicate cell(s): {string.Join("; ", byPair)}"));
            }
            throw new InputException("merge", 0, string.Create(CultureInfo.InvariantCulture, $"{parts.Count} part(s)"),
                string.Create(CultureInfo.InvariantCulture, $"the parts do not cover the grid's {grid.Cells} cells exactly once: ") + string.Join("; ", problems));
        }
        var rows = new SweepRow[grid.Cells];
        foreach (var (_, part) in parts)
        {
            for (int i = 0; i < part.Rows.Count; i++)
                rows[part.FirstCell + i] = part.Rows[i];
        }
        return rows;
    }

    private static int ShardOf(SweepGrid grid, long cell, int count)
    {
        // The shard I with ShardRange(I).First <= cell < ShardRange(I).End (ranges grow with I).
        int lo = 0, hi = count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (grid.ShardRange(mid, count).First <= cell) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    private static string Describe(SweepGrid grid, long cell)
    {
        var (t, p, f) = grid.Locate(cell);
        return string.Create(CultureInfo.InvariantCulture, $"{grid.Traces[t]} {grid.Policies[p]} {grid.Frames[f]}");
    }
}
