using System.Diagnostics;

namespace EcsMem.Perf.Ab;

/// <summary>
/// One round of <see cref="PerfReclaim"/> for the A/B host: host nanoseconds per reclaimed page, and per access, and the
/// process's CPU time (user and system, all threads) per reclaimed page, which other processes sharing the CPUs sway less
/// than the wall time (the classic run only). With
/// AB_RECLAIM_MGLRU=1 each round also runs the same scenario with the multi-gen LRU right after the classic one and adds
/// its two figures and the within-round ratio of the costs per reclaimed page (MGLRU / classic); trees without lru_gen
/// cannot run those.
/// </summary>
public static class AbWorkload
{
    private static readonly bool Mglru = Environment.GetEnvironmentVariable("AB_RECLAIM_MGLRU") == "1";

    public static string[] Figures => Mglru
        ? ["ns/reclaimed page", "ns/access", "mglru ns/reclaimed page", "mglru ns/access", "mglru/classic per page"]
        : ["ns/reclaimed page", "ns/access", "cpu ns/reclaimed page"];

    public static double[] Round()
    {
        double[] classic = One(false);
        if (!Mglru)
            return classic;
        double[] mglru = One(true);
        return [classic[0], classic[1], mglru[0], mglru[1], mglru[0] / classic[0]];
    }

    private static double[] One(bool lruGen)
    {
        TimeSpan cpu = Environment.CpuUsage.TotalTime;
        var sw = Stopwatch.StartNew();
        var (accesses, reclaimed) = PerfReclaim.Run(lruGen);
        double ns = sw.Elapsed.TotalNanoseconds;
        double cpuNs = (Environment.CpuUsage.TotalTime - cpu).TotalNanoseconds;
        if (accesses != PerfReclaim.Accesses || reclaimed == 0)
            throw new InvalidOperationException($"{accesses} accesses, {reclaimed} pages reclaimed");
        return [ns / reclaimed, ns / accesses, cpuNs / reclaimed];
    }
}
