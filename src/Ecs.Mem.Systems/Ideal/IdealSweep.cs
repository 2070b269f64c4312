using EcsMem.Diagnostics;
using EcsMem.Systems.Policies;
using EcsMem.Traces;

namespace EcsMem.Systems.Ideal;

/// <summary>One row of a sweep: which trace, and the ideal-mode result of one policy at one frame count.</summary>
/// <param name="Trace">Trace name as given.</param>
/// <param name="Result">The replay's counts (its Policy and Frames say which run it was).</param>
public sealed record SweepRow(string Trace, IdealResult Result);

/// <summary>
/// Independent ideal-mode simulations over traces × policies × frame counts, run in parallel. Every run is a
/// pure function of (reference string, policy, frames, seed), so runs share nothing but the read-only
/// reference strings and the rows come back in a fixed order (trace, then policy, then frames, as given)
/// whatever the thread count or scheduling. LRU uses one stack-distance pass per trace for all frame counts
/// (<see cref="StackDistance"/>) unless <c>stackDistance</c> is false, or one SHARDS pass (<see cref="Shards"/>,
/// rows named lru-shards) when <c>shards</c> is given.
/// </summary>
public static class IdealSweep
{
    /// <summary>
    /// Runs the sweep. <paramref name="traces"/> are (name, page numbers); <paramref name="threads"/> is the
    /// most runs executed at once (1 = sequential).
    /// </summary>
    public static IReadOnlyList<SweepRow> Run(
        IReadOnlyList<(string Name, ulong[] Pages)> traces,
        IReadOnlyList<string> policies,
        IReadOnlyList<int> frames,
        ulong seed,
        int threads,
        bool stackDistance = true) => Run(traces, policies, frames, seed, threads, stackDistance, CancellationToken.None);

    /// <summary>
    /// <see cref="Run(IReadOnlyList{ValueTuple{string, ulong[]}}, IReadOnlyList{string}, IReadOnlyList{int}, ulong, int, bool)"/>
    /// that stops once <paramref name="cancel"/> is cancelled (Ctrl-C): no run starts after that, a run under way
    /// stops and is dropped, and only the rows of finished runs come back, still in the fixed order.
    /// </summary>
    public static IReadOnlyList<SweepRow> Run(
        IReadOnlyList<(string Name, ulong[] Pages)> traces,
        IReadOnlyList<string> policies,
        IReadOnlyList<int> frames,
        ulong seed,
        int threads,
        bool stackDistance,
        CancellationToken cancel,
        ShardsSettings? shards = null)
    {
        var names = traces.Select(t => t.Name).ToArray();
        var pages = traces.Select(t => (ulong[]?)t.Pages).ToArray();
        return RunCells(names, pages, policies, frames, seed, threads, stackDistance, 0, (long)traces.Count * policies.Count * frames.Count, cancel, shards);
    }

    /// <summary>
    /// Runs only the cells <paramref name="first"/> (inclusive) to <paramref name="end"/> (exclusive) of the grid
    /// traces × policies × frames, numbered in row order (cell = (trace · policies + policy) · frames + frame).
    /// <paramref name="pages"/> needs the reference strings only of the traces those cells touch (others may be
    /// null). Each cell's result is the one the whole sweep gives it: a cell depends on its (trace, policy, frames,
    /// seed) only, and LRU's stack-distance pass gives every frame count the same counts as a separate run.
    /// </summary>
    public static IReadOnlyList<SweepRow> RunCells(
        IReadOnlyList<string> traceNames,
        IReadOnlyList<ulong[]?> pages,
        IReadOnlyList<string> policies,
        IReadOnlyList<int> frames,
        ulong seed,
        int threads,
        bool stackDistance,
        long first,
        long end,
        CancellationToken cancel,
        ShardsSettings? shards = null,
        Func<int, ITraceReader>? openTrace = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        long total = (long)traceNames.Count * policies.Count * frames.Count;
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, total);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(first, end);
        int perCurve = frames.Count;
        var rows = new SweepRow[end - first];
        // A job fills a known set of row slots, so completion order never shows in the output.
        // (curve = trace · policies + policy; FrameIndex -1: the curve's frames in range via stack distance)
        var jobs = new List<(int Trace, int Policy, int FrameIndex)>();
        for (long curve = first / perCurve; curve * perCurve < end; curve++)
        {
            int t = (int)(curve / policies.Count), p = (int)(curve % policies.Count);
            int f0 = (int)Math.Max(0, first - curve * perCurve), f1 = (int)Math.Min(perCurve, end - curve * perCurve);
            if ((stackDistance || shards is not null) && IsLru(policies[p], seed))
            {
                jobs.Add((t, p, -1));
                continue;
            }
            for (int f = f0; f < f1; f++)
                jobs.Add((t, p, f));
        }
        // Stack-distance jobs first: each covers a whole curve, so starting them early shortens the tail.
        jobs.Sort((a, b) => (a.FrameIndex < 0 ? 0 : 1).CompareTo(b.FrameIndex < 0 ? 0 : 1));

        void RunJob(int j)
        {
            if (cancel.IsCancellationRequested)
                return;
            var (t, p, f) = jobs[j];
            string name = traceNames[t];
            ulong[]? loaded = pages[t];
            if (loaded is null && (f >= 0 || openTrace is null))
                throw new ArgumentException($"trace {t} ('{name}') is needed by the cells but was not loaded", nameof(pages));
            long baseCell = ((long)t * policies.Count + p) * perCurve;
            if (f < 0 && shards is not null)
            {
                // SHARDS replaces the exact LRU curve by its sampled estimate, rows named lru-shards.
                var sh = new Shards(shards);
                if (loaded is not null)
                    sh.Run(loaded, cancel);
                else
                    Stream(name, openTrace!(t), cancel, batch => sh.Run(batch));
                if (cancel.IsCancellationRequested)
                    return;
                for (int i = 0; i < perCurve; i++)
                {
                    long cell = baseCell + i;
                    if (cell >= first && cell < end)
                        rows[cell - first] = new SweepRow(name, sh.ResultFor(frames[i]));
                }
                return;
            }
            if (f < 0)
            {
                var sd = new StackDistance();
                if (loaded is not null)
                    sd.Run(loaded, cancel);
                else
                    Stream(name, openTrace!(t), cancel, batch => sd.Run(batch));
                if (cancel.IsCancellationRequested)
                    return;
                string policyName = PolicyRegistry.Create(policies[p], new PolicyOptions(seed)).Name;
                for (int i = 0; i < perCurve; i++)
                {
                    long cell = baseCell + i;
                    if (cell >= first && cell < end)
                        rows[cell - first] = new SweepRow(name, sd.ResultFor(frames[i], policyName));
                }
                return;
            }
            var sim = new IdealSimulator(frames[f], PolicyRegistry.Create(policies[p], new PolicyOptions(seed)));
            sim.Run(loaded!, cancel);
            if (!cancel.IsCancellationRequested)
                rows[baseCell + f - first] = new SweepRow(name, sim.Result);
        }

        if (threads == 1)
        {
            for (int j = 0; j < jobs.Count; j++) RunJob(j);
        }
        else
        {
            try
            {
                Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, RunJob);
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // A streamed trace reports a bad record from inside a job: rethrow it as itself (one clear line
                // naming file, record and value), as a sequential sweep or a loaded trace would.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            }
        }
        if (cancel.IsCancellationRequested)
            return rows.Where(r => r is not null).ToArray();
        return rows;
    }

    /// <summary>
    /// True when some cell of a sweep over <paramref name="policies"/> replays the whole reference string per frame
    /// count, so the traces must be loaded into memory; false when every policy is LRU computed by one pass
    /// (stack distance, or SHARDS when <paramref name="shards"/> is given), which
    /// <see cref="RunCells(IReadOnlyList{string}, IReadOnlyList{ulong[]}, IReadOnlyList{string}, IReadOnlyList{int}, ulong, int, bool, long, long, CancellationToken, ShardsSettings?, Func{int, ITraceReader}?)"/>
    /// can stream from the file instead (its <c>openTrace</c>): a whole LRU curve then needs no more memory than one run.
    /// </summary>
    public static bool NeedsReferenceStrings(IReadOnlyList<string> policies, ulong seed, bool stackDistance, ShardsSettings? shards) =>
        policies.Any(p => !((stackDistance || shards is not null) && IsLru(p, seed)));

    /// <summary>
    /// Feeds a trace to a one-pass analysis batch by batch, stopping between batches once <paramref name="cancel"/>
    /// is cancelled. A read error becomes the one-line input error a loaded trace gives.
    /// </summary>
    private static void Stream(string name, ITraceReader reader, CancellationToken cancel, PagesSink sink)
    {
        try
        {
            using (reader)
            {
                var stream = new PageStream(reader);
                ReadOnlySpan<ulong> batch;
                while (!cancel.IsCancellationRequested && !(batch = stream.Next()).IsEmpty)
                    sink(batch);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new InputException(name, 0, name, "cannot read the trace: " + e.Message);
        }
    }

    /// <summary>Takes one batch of page numbers (valid during the call only).</summary>
    private delegate void PagesSink(ReadOnlySpan<ulong> pages);

    // By type, not by name: a study may register its own policy under the name "lru".
    private static bool IsLru(string policy, ulong seed) => PolicyRegistry.Create(policy, new PolicyOptions(seed)) is LruPolicy;
}
