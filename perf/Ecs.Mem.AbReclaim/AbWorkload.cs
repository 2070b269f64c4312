using System.Diagnostics;

namespace EcsMem.Perf.Ab;

/// <summary>
/// One round of <see cref="PerfReclaim"/> for the A/B host: host nanoseconds per reclaimed page, and per access.
/// </summary>
public static class AbWorkload
{
    public static string[] Figures => ["ns/reclaimed page", "ns/access"];

    public static double[] Round()
    {
        var sw = Stopwatch.StartNew();
        var (accesses, reclaimed) = PerfReclaim.Run();
        double ns = sw.Elapsed.TotalNanoseconds;
        if (accesses != PerfReclaim.Accesses || reclaimed == 0)
            throw new InvalidOperationException($"{accesses} accesses, {reclaimed} pages reclaimed");
        return [ns / reclaimed, ns / accesses];
    }
}
