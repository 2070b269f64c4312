using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;
using EcsMem.Traces;

namespace EcsMem.Perf;

/// <summary>
/// <c>ideal-loop TRACE FRAMES POLICY R [ANCHOR.so]</c>: reads a trace into page numbers, then times R ideal-mode
/// replays of it (a fresh simulator each) and prints each one's ns per reference and the counts. With the C
/// anchor built as a shared library (<c>perf/anchor-ideal/lru.c</c> with <c>-DANCHOR_LIB</c>), each round runs
/// the C replay and EcsMem's on the same array one right after the other (the order alternating), checks the
/// counts are equal and prints the ratio: the two loops alone, in one process, taken moments apart so the
/// shared VM's drift falls on both (<c>perf/anchor-ideal/run.sh loop</c>).
/// </summary>
internal static unsafe class IdealLoop
{
    public static void Run(string trace, int frames, string policy, int rounds, string? anchor)
    {
        ulong[] pages;
        using (var reader = TraceFormats.OpenReader(TraceFormats.Detect(trace) ?? "binary", trace))
            pages = IdealSimulator.ReadAll(reader);
        delegate* unmanaged<ulong*, long, int, long*, void> c = null;
        if (anchor is not null)
            c = (delegate* unmanaged<ulong*, long, int, long*, void>)NativeLibrary.GetExport(NativeLibrary.Load(anchor), "anchor_lru_replay");
        var ratios = new List<double>();
        string counts = "";
        for (int r = 1; r <= rounds; r++)
        {
            double cNs = 0, eNs;
            string cCounts = "";
            if (c != null && r % 2 == 1)
                (cNs, cCounts) = RunC(c, pages, frames);
            (eNs, counts) = RunEcsMem(pages, frames, policy);
            if (c != null && r % 2 == 0)
                (cNs, cCounts) = RunC(c, pages, frames);
            if (c == null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loop {r}: {eNs:F3} ns/ref"));
                continue;
            }
            if (cCounts != counts)
                throw new InvalidOperationException($"counts differ: C '{cCounts}', EcsMem '{counts}'");
            ratios.Add(eNs / cNs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {r}: C {cNs:F3}, EcsMem {eNs:F3} ns/ref, ratio {eNs / cNs:F3}"));
        }
        Console.WriteLine(counts);
        if (ratios.Count > 0)
        {
            ratios.Sort();
            double Q(double q) => ratios[(int)Math.Round(q * (ratios.Count - 1))];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loop: median ratio EcsMem/C {Q(0.5):F3} over {ratios.Count} rounds (min {ratios[0]:F3}, p25 {Q(0.25):F3}, p75 {Q(0.75):F3}, max {ratios[^1]:F3})"));
        }
    }

    private static (double Ns, string Counts) RunEcsMem(ulong[] pages, int frames, string policy)
    {
        var sim = new IdealSimulator(frames, PolicyRegistry.Create(policy, new PolicyOptions(1)));
        long t0 = Stopwatch.GetTimestamp();
        sim.Run(pages);
        double ns = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / pages.Length;
        IdealResult x = sim.Result;
        return (ns, Counts(x.References, x.Hits, x.ColdFaults, x.CapacityFaults, x.Evictions));
    }

    private static (double Ns, string Counts) RunC(delegate* unmanaged<ulong*, long, int, long*, void> c, ulong[] pages, int frames)
    {
        long* k = stackalloc long[5];
        long t0;
        double ns;
        fixed (ulong* p = pages)
        {
            t0 = Stopwatch.GetTimestamp();
            c(p, pages.Length, frames, k);
            ns = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / pages.Length;
        }
        return (ns, Counts(k[0], k[1], k[2], k[3], k[4]));
    }

    /// <summary>The counts in the C anchor's form.</summary>
    private static string Counts(long references, long hits, long cold, long capacity, long evictions) =>
        string.Create(CultureInfo.InvariantCulture,
            $"references {references} hits {hits} faults {cold + capacity} cold {cold} capacity {capacity} evictions {evictions}");
}
