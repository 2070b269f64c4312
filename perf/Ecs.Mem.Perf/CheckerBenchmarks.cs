using BenchmarkDotNet.Attributes;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;

namespace EcsMem.Perf;

/// <summary>
/// What <c>ecsmem run --check</c> costs: the embedded default scenario run plain, and run with the incremental
/// invariant checker (every tick's changes checked, the full check every <see cref="IncrementalChecker.DefaultFullEvery"/>
/// ticks and at the end). The ratio of the two means is the checker's overhead (issue 14 asks for at most 2×).
/// One op is one whole run, machine build included.
/// </summary>
[MemoryDiagnoser]
public class CheckerBenchmarks
{
    private Scenario _scenario = null!;

    [GlobalSetup]
    public void Setup() => _scenario = DefaultScenario.Load();

    [Benchmark(Baseline = true)]
    public long DefaultScenarioPlain()
    {
        using var m = ScenarioLoader.Build(_scenario);
        m.Run();
        return m.CompletedAccesses();
    }

    [Benchmark]
    public long DefaultScenarioChecked()
    {
        using var m = ScenarioLoader.Build(_scenario);
        m.RunIncrementallyChecked();
        return m.CompletedAccesses();
    }
}
