using BenchmarkDotNet.Attributes;

namespace EcsMem.Perf;

/// <summary>
/// Reclaim-heavy end to end (<see cref="PerfReclaim"/>): time and allocation per access of a run in which most
/// faults reclaim a page first. Per reclaimed page: divide by the run's pgsteal (printed by
/// <c>AB_WORKLOAD=Ecs.Mem.AbReclaim perf/ab.sh</c>, which reports both).
/// </summary>
[MemoryDiagnoser]
public class PerfReclaimBenchmarks
{
    [Benchmark(OperationsPerInvoke = (int)PerfReclaim.Accesses)]
    public long Reclaim() => PerfReclaim.Run().Reclaimed;

    /// <summary>The same run with the multi-gen LRU (machine.lru_gen.enabled: y).</summary>
    [Benchmark(OperationsPerInvoke = (int)PerfReclaim.Accesses)]
    public long ReclaimMglru() => PerfReclaim.Run(lruGen: true).Reclaimed;
}
