using EcsMem.Scenarios;
using EcsMem.Systems.Machine;

namespace EcsMem.Perf;

/// <summary>
/// A reclaim-heavy scenario shared by <see cref="PerfReclaimBenchmarks"/> and the A/B workload Ecs.Mem.AbReclaim:
/// two processes with zipf and uniform accesses over 24 MiB of anonymous memory (half the accesses writes) in 4 MiB
/// of RAM with 64 MiB of swap, so that most faults need a page reclaimed first.
/// Built from scenario text, the public entry point every source tree has.
/// </summary>
public static class PerfReclaim
{
    /// <summary>Accesses in the run.</summary>
    public const long Accesses = 400_000;

    private const string Yaml = """
        machine: {ram: 4M, swap: 64M, seed: 7}
        processes:
          - name: zipf
            layout: {exec: {heap: 16M}}
            workload: {generator: "zipf:count=200000,pages=4096,alpha=0.7,writes=0.5,seed=3"}
          - name: uniform
            layout: {exec: {heap: 8M}}
            workload: {generator: "uniform:count=200000,pages=2048,writes=0.5,seed=4"}
        """;

    /// <summary>Builds the machine (not run); <paramref name="lruGen"/> turns the multi-gen LRU on (<c>lru_gen: {enabled: y}</c>).</summary>
    public static Machine Build(bool lruGen = false) => ScenarioLoader.Build(ScenarioParser.Parse(
        new StringReader(lruGen ? Yaml.Replace("seed: 7}", "seed: 7, lru_gen: {enabled: y}}", StringComparison.Ordinal) : Yaml), "perf-reclaim.yaml"));

    /// <summary>Runs the scenario to the end (with MGLRU when <paramref name="lruGen"/>); returns (accesses, pages reclaimed).</summary>
    public static (long Accesses, long Reclaimed) Run(bool lruGen = false)
    {
        using Machine m = Build(lruGen);
        m.Run();
        return (m.CompletedAccesses(), m.Env.Counters.Get("pgsteal_kswapd") + m.Env.Counters.Get("pgsteal_direct"));
    }
}
