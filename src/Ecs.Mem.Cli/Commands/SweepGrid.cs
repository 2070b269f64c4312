using System.Globalization;
using EcsMem.Diagnostics;

namespace EcsMem.Cli.Commands;

/// <summary>
/// What a sweep computes: traces × policies × frame counts, with the seed and the LRU method. Its cells are
/// numbered in the order the rows come out, cell = (trace · policies + policy) · frames + frame, so a shard
/// is a range of cells and a merge puts rows back by number.
/// </summary>
/// <param name="Traces">Trace files as given on the command line (the rows' trace names).</param>
/// <param name="TraceFormat">--trace-format as given, or null (detected per file).</param>
/// <param name="Policies">Policy names as given.</param>
/// <param name="Frames">Frame counts, in the order given.</param>
/// <param name="Seed">Seed of the randomised policies.</param>
/// <param name="StackDistance">Whether LRU comes from one stack-distance pass (identical results either way).</param>
public sealed record SweepGrid(
    IReadOnlyList<string> Traces,
    string? TraceFormat,
    IReadOnlyList<string> Policies,
    IReadOnlyList<int> Frames,
    ulong Seed,
    bool StackDistance)
{
    /// <summary>Number of cells (rows of the whole sweep).</summary>
    public long Cells => (long)Traces.Count * Policies.Count * Frames.Count;

    /// <summary>The (trace, policy, frame) indices of <paramref name="cell"/>.</summary>
    public (int Trace, int Policy, int Frame) Locate(long cell)
    {
        int f = (int)(cell % Frames.Count);
        long curve = cell / Frames.Count;
        return ((int)(curve / Policies.Count), (int)(curve % Policies.Count), f);
    }

    /// <summary>
    /// The cells of shard <paramref name="index"/> of <paramref name="count"/>: the contiguous range
    /// [⌊index·C/count⌋, ⌊(index+1)·C/count⌋). Contiguous, so a shard loads only the one or few traces its cells
    /// use (a trace of 10^9 references is 8 GB in memory); the sizes differ by at most one cell.
    /// </summary>
    public (long First, long End) ShardRange(int index, int count)
    {
        long c = Cells;
        return ((long)(index * (System.Numerics.BigInteger)c / count), (long)((index + 1) * (System.Numerics.BigInteger)c / count));
    }

    /// <summary>The cell as "trace T policy P frames F", for messages.</summary>
    public string Name(long cell)
    {
        var (t, p, f) = Locate(cell);
        return string.Create(CultureInfo.InvariantCulture, $"{cell} ({Traces[t]} {Policies[p]} {Frames[f]})");
    }

    /// <summary>Whether two grids are the same sweep; otherwise the first field that differs.</summary>
    public string? Difference(SweepGrid other)
    {
        if (!Traces.SequenceEqual(other.Traces, StringComparer.Ordinal)) return "traces";
        if (!string.Equals(TraceFormat, other.TraceFormat, StringComparison.Ordinal)) return "traceFormat";
        if (!Policies.SequenceEqual(other.Policies, StringComparer.Ordinal)) return "policies";
        if (!Frames.SequenceEqual(other.Frames)) return "frames";
        if (Seed != other.Seed) return "seed";
        if (StackDistance != other.StackDistance) return "stackDistance";
        return null;
    }
}

/// <summary>Which shard of how many a sweep runs: <c>--shard I/N</c>, or taken from the job's environment.</summary>
/// <param name="Index">0-based shard number.</param>
/// <param name="Count">Number of shards.</param>
public readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>Most shards accepted (Slurm's MaxArraySize is at most 4000001).</summary>
    public const int MaxCount = 4_000_000;

    /// <summary>
    /// Parses <c>I/N</c> (0 ≤ I &lt; N), <c>auto</c> or <c>auto/N</c>. <c>auto</c> takes I from a Slurm job array
    /// (<c>(SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP</c>, so <c>--array=1-8</c> and
    /// <c>--array=0-14:2</c> work too) and N from <c>SLURM_ARRAY_TASK_COUNT</c>, or I from a Kubernetes Indexed
    /// Job's <c>JOB_COMPLETION_INDEX</c>; Kubernetes gives no count, so N then comes from <c>auto/N</c>.
    /// </summary>
    public static ShardSpec Parse(string text, Func<string, string?> env)
    {
        const string Source = "command line";
        string t = text.Trim();
        int slash = t.IndexOf('/');
        string left = slash < 0 ? t : t[..slash];
        string? right = slash < 0 ? null : t[(slash + 1)..];
        int? count = right is null ? null : Number(right, text, "option --shard: N in I/N or auto/N needs an integer from 1 to " + MaxCount, 1, MaxCount);
        int index;
        if (left == "auto")
        {
            if (env("SLURM_ARRAY_TASK_ID") is { } id)
            {
                int task = Number(id, id, "SLURM_ARRAY_TASK_ID is not a task number", 0, int.MaxValue);
                int min = env("SLURM_ARRAY_TASK_MIN") is { } m ? Number(m, m, "SLURM_ARRAY_TASK_MIN is not a task number", 0, int.MaxValue) : 0;
                int step = env("SLURM_ARRAY_TASK_STEP") is { } s ? Number(s, s, "SLURM_ARRAY_TASK_STEP is not a step", 1, int.MaxValue) : 1;
                if (task < min || (task - min) % step != 0)
                    throw new InputException(Source, 0, id, "SLURM_ARRAY_TASK_ID is not on the array's MIN + k·STEP grid");
                index = (task - min) / step;
                if (count is null)
                {
                    string n = env("SLURM_ARRAY_TASK_COUNT")
                        ?? throw new InputException(Source, 0, text, "option --shard auto: SLURM_ARRAY_TASK_COUNT is not set (give auto/N)");
                    count = Number(n, n, "SLURM_ARRAY_TASK_COUNT needs an integer from 1 to " + MaxCount, 1, MaxCount);
                }
            }
            else if (env("JOB_COMPLETION_INDEX") is { } k)
            {
                index = Number(k, k, "JOB_COMPLETION_INDEX is not an index", 0, int.MaxValue);
                if (count is null)
                    throw new InputException(Source, 0, text, "option --shard auto: a Kubernetes Indexed Job gives no shard count: give auto/N with N = completions");
            }
            else
            {
                throw new InputException(Source, 0, text,
                    "option --shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set: give --shard I/N");
            }
        }
        else
        {
            if (count is null)
                throw new InputException(Source, 0, text, "option --shard takes I/N (0 <= I < N), auto or auto/N");
            index = Number(left, text, "option --shard: I in I/N needs an integer from 0 to N-1", 0, MaxCount - 1);
        }
        if (index >= count)
            throw new InputException(Source, 0, text, string.Create(CultureInfo.InvariantCulture, $"shard index {index} is not below the shard count {count}"));
        return new ShardSpec(index, count.Value);
    }

    private static int Number(string s, string value, string problem, int min, int max)
    {
        if (!int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new InputException("command line", 0, value, problem);
        return v;
    }
}
