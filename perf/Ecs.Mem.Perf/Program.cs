using BenchmarkDotNet.Running;

namespace EcsMem.Perf;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project perf/Ecs.Mem.Perf -- --filter '*'</c>.
/// CI uses <c>--job dry</c> so every benchmark keeps compiling and running.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["thp-figures"])
        {
            // The simulated side of PerfThpBenchmarks (README, "Transparent huge pages").
            // Without and with the paging-structure caches (PerfThpBenchmarks.PscGeometry).
            foreach (bool psc in new[] { false, true })
            {
                foreach (bool thp in new[] { false, true })
                {
                    var o = PerfThpBenchmarks.Simulate(thp, psc);
                    Console.WriteLine(FormattableString.Invariant(
                        $"{(thp ? "THP" : "4K "),-4} PSC {(psc ? "on " : "off")} {o.CyclesPerAccess,10:F1} cycles/access  {o.Faults,7} faults  {o.TlbMisses,8} TLB misses of {o.Accesses}  {o.WalkLevelsPerMiss:F2} walk levels per miss"));
                    Console.WriteLine("     " + o.TlbBySize);
                    if (psc)
                        Console.WriteLine("     " + o.PscRates);
                }
            }
            return;
        }
        if (args is ["ideal-loop", var trace, var frames, var policy, var rounds, ..] && args.Length <= 6)
        {
            // The replay loop alone, against the C anchor when its library is given (perf/anchor-ideal/run.sh loop).
            IdealLoop.Run(trace, int.Parse(frames, System.Globalization.CultureInfo.InvariantCulture), policy,
                int.Parse(rounds, System.Globalization.CultureInfo.InvariantCulture), args.Length == 6 ? args[5] : null);
            return;
        }
        // Benchmark processes inherit the environment: the big benchmarks shrink their data for a dry run.
        if (PerfScale.IsDryCommandLine(args))
            Environment.SetEnvironmentVariable(PerfScale.DryVariable, "1");
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
