using EcsMem.Systems.Policies;

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
/// (<see cref="StackDistance"/>) unless <c>stackDistance</c> is false.
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
        CancellationToken cancel)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        int perTrace = policies.Count * frames.Count;
        var rows = new SweepRow[traces.Count * perTrace];
        // A job fills a known set of row slots, so completion order never shows in the output.
        var jobs = new List<(int Trace, int Policy, int FrameIndex)>(); // FrameIndex -1: all frames via stack distance
        for (int t = 0; t < traces.Count; t++)
        {
            for (int p = 0; p < policies.Count; p++)
            {
                if (stackDistance && IsLru(policies[p], seed))
                {
                    jobs.Add((t, p, -1));
                    continue;
                }
                for (int f = 0; f < frames.Count; f++)
                    jobs.Add((t, p, f));
            }
        }
        // Stack-distance jobs first: each covers a whole curve, so starting them early shortens the tail.
        jobs.Sort((a, b) => (a.FrameIndex < 0 ? 0 : 1).CompareTo(b.FrameIndex < 0 ? 0 : 1));

        void RunJob(int j)
        {
            if (cancel.IsCancellationRequested)
                return;
            var (t, p, f) = jobs[j];
            var (name, pages) = traces[t];
            int baseRow = (t * policies.Count + p) * frames.Count;
            if (f < 0)
            {
                var sd = new StackDistance();
                sd.Run(pages, cancel);
                if (cancel.IsCancellationRequested)
                    return;
                string policyName = PolicyRegistry.Create(policies[p], new PolicyOptions(seed)).Name;
                for (int i = 0; i < frames.Count; i++)
                    rows[baseRow + i] = new SweepRow(name, sd.ResultFor(frames[i], policyName));
                return;
            }
            var sim = new IdealSimulator(frames[f], PolicyRegistry.Create(policies[p], new PolicyOptions(seed)));
            sim.Run(pages, cancel);
            if (!cancel.IsCancellationRequested)
                rows[baseRow + f] = new SweepRow(name, sim.Result);
        }

        if (threads == 1)
        {
            for (int j = 0; j < jobs.Count; j++) RunJob(j);
        }
        else
        {
            Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, RunJob);
        }
        if (cancel.IsCancellationRequested)
            return rows.Where(r => r is not null).ToArray();
        return rows;
    }

    // By type, not by name: a study may register its own policy under the name "lru".
    private static bool IsLru(string policy, ulong seed) => PolicyRegistry.Create(policy, new PolicyOptions(seed)) is LruPolicy;
}
