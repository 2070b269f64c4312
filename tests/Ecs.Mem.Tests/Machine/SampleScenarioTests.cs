using EcsMem.Components;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Machine;

/// <summary>The committed samples run through the whole machine.</summary>
public class SampleScenarioTests
{
    // Not [CallerFilePath]: a CI build maps source paths to /_/ (ContinuousIntegrationBuild), so the
    // repository is found from the test binaries instead.
    private static string Samples() => Path.Combine(Scenarios.ScenarioTestFiles.RepoRoot(), "samples");

    [Test]
    public void RealLackeyTraceRunsThroughTheWholeMachine()
    {
        var scenario = ScenarioParser.ParseFile(Path.Combine(Samples(), "scenarios", "lackey-sort.yaml"));
        using var m = ScenarioLoader.Build(scenario);
        m.Run();
        Assert.That(m.Finished, Is.True);

        // Cachegrind on the same program counted I refs 1,915,683, D refs 349,522 rd + 254,103 wr
        // (samples/cachegrind/sort.seed.cachegrind.txt); Lackey writes one line per I ref and one per
        // data ref (a modify is one " M " line counted in Dr), so each instance issues exactly
        // 1,915,683 + 349,522 + 254,103 = 2,519,308 accesses.
        const long perInstance = 1_915_683 + 349_522 + 254_103;
        foreach (var p in m.Kernel.Tasks.Processes)
        {
            var proc = m.Kernel.World.Get<Process>(p);
            var stats = m.Kernel.World.Get<ProcessStats>(p);
            Assert.That(proc.State, Is.EqualTo(ProcessState.Exited), m.Kernel.Tasks.ProcessName(proc));
            Assert.That(stats.Accesses, Is.EqualTo(perInstance), m.Kernel.Tasks.ProcessName(proc));
            Assert.That(stats.InstrFetches, Is.EqualTo(1_915_683));
            // Inferred layout: no spurious SIGSEGV, and every touched page faulted in at least once.
            Assert.That(proc.ExitSignal, Is.EqualTo(0));
            Assert.That(stats.MinFlt + stats.MajFlt, Is.GreaterThan(0));
        }
        Assert.That(m.Env.Counters.Get("ecsmem_sigsegv"), Is.EqualTo(0));
    }

    [Test]
    public void AProcessLaidOutFromAMapsFileShowsThatFileAsItsMaps()
    {
        // The sample ends with [vsyscall], the gate area: kept aside from the VMAs, yet printed last.
        string maps = Path.Combine(Samples(), "maps", "dotnet-sdk.maps");
        string yaml = $$"""
            machine: {ram: 4M, swap: 0}
            processes:
              - name: p
                layout: {maps: {{maps}}}
                workload: {generator: "seq:count=1"}
            """;
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "maps.yaml"));
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm;
        string expected = Systems.AddressSpace.ProcMaps.Format(Systems.AddressSpace.ProcMaps.ParseFile(maps, new FileTable()));
        Assert.That(Systems.AddressSpace.ProcMaps.Format(mm), Is.EqualTo(expected));
        Assert.That(expected.TrimEnd().Split('\n')[^1], Does.EndWith("[vsyscall]"));
    }
}
