using EcsMem.Scenarios;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Timing;
using ScenarioPaging = EcsMem.Scenarios.PagingMode;
using SystemsTlbConfig = EcsMem.Systems.Tlb.TlbConfig;

namespace EcsMem.Tests.Machine;

/// <summary>
/// The machine has one set of defaults, the scenario model's (<see cref="MachineConfig.Default"/>): every runtime
/// default (<see cref="KernelOptions"/>, <see cref="TimingModel"/>, the TLB and cache configurations) must equal
/// the scenario default of the same quantity, and a scenario that sets nothing must map onto exactly
/// <c>new KernelOptions()</c>.
/// </summary>
public class SingleConfigurationModelTests
{
    /// <summary>(scenario key, scenario default, runtime default) for every quantity both models carry.</summary>
    private static IEnumerable<TestCaseData> Pairs()
    {
        MachineConfig s = MachineConfig.Default;
        LatencyConfig l = s.Latency;
        var k = new KernelOptions();
        TimingModel t = TimingModel.Default;
        SystemsTlbConfig tlb = SystemsTlbConfig.Default;
        CacheHierarchyConfig c = CacheHierarchyConfig.Seed;
        TestCaseData P(string key, object scenario, object runtime) => new TestCaseData(scenario, runtime).SetName("default of " + key);

        yield return P("ram", s.RamBytes, k.RamBytes);
        yield return P("swap", s.SwapBytes, k.SwapBytes);
        yield return P("paging", s.Paging.Name(), k.Paging.Name);
        yield return P("paging (walk levels)", s.Paging.Levels(), t.PageWalkLevels);
        yield return P("cpus", s.Cpus, k.Cpus);
        yield return P("policy", s.Policy.Name, k.Policy);
        yield return P("min_free_kbytes", s.MinFreeKbytes ?? -1, k.MinFreeKbytes ?? -1);
        yield return P("swappiness", s.Swappiness, k.Swappiness);
        yield return P("page_cluster", s.PageCluster, k.PageCluster);
        yield return P("swap_readahead", s.SwapVmaReadahead, k.SwapVmaReadahead);
        yield return P("swap_ra_hits", s.SwapRaHits, k.SwapRaHits);
        yield return P("swap_ra_window", s.SwapRaWindow, k.SwapRaWindow);
        yield return P("swap_ra_prev_offset", s.SwapRaPrevOffset, k.SwapRaPrevOffset);
        yield return P("swap_ra_clear_reclaim", s.SwapRaClearReclaim, k.SwapRaClearReclaim);
        yield return P("pcid", s.Pcid, tlb.UsePcid);
        yield return P("quantum", s.Quantum, (long)k.Quantum);
        yield return P("smp_epoch", s.SmpEpoch, (long)k.SmpEpochCycles);
        yield return P("batch", s.BatchSize, k.BatchSize);
        yield return P("seed", s.Seed, k.Seed);
        foreach (var (name, sc, rt, inclusion, shared) in new[]
        {
            ("l1i", s.L1i, c.L1i, c.L1iInclusion, c.L1iShared),
            ("l1d", s.L1d, c.L1d, c.L1dInclusion, c.L1dShared),
            ("l2", s.L2, c.L2, c.L2Inclusion, c.L2Shared),
            ("l3", s.L3, c.L3, c.Inclusion, c.L3Shared),
        })
        {
            yield return P($"caches.{name}.size", sc.SizeBytes, rt.SizeBytes);
            yield return P($"caches.{name}.ways", sc.Ways, rt.Ways);
            yield return P($"caches.{name}.line", sc.LineBytes, rt.LineBytes);
            yield return P($"caches.{name}.inclusion", sc.Inclusion == CacheInclusion.Inclusive, inclusion == InclusionPolicy.Inclusive);
            yield return P($"caches.{name}.shared", sc.Shared, shared);
        }
        yield return P("tlb.dtlb.entries", s.Dtlb.Entries, tlb.Dtlb.Entries);
        yield return P("tlb.dtlb.ways", s.Dtlb.Ways, tlb.Dtlb.Ways);
        yield return P("tlb.itlb.entries", s.Itlb.Entries, tlb.Itlb.Entries);
        yield return P("tlb.itlb.ways", s.Itlb.Ways, tlb.Itlb.Ways);
        yield return P("tlb.stlb.entries", s.Stlb.Entries, tlb.Stlb.Entries);
        yield return P("tlb.stlb.ways", s.Stlb.Ways, tlb.Stlb.Ways);
        yield return P("latency.l1", l.L1, t.L1HitCycles);
        yield return P("latency.l2", l.L2, t.L2HitCycles);
        yield return P("latency.l3", l.L3, t.L3HitCycles);
        yield return P("latency.memory", l.Memory, t.MemoryCycles);
        yield return P("latency.stlb", l.Stlb, t.StlbHitCycles);
        yield return P("latency.walk_level", l.WalkLevel, t.PageWalkLevelCycles);
        yield return P("latency.minor_fault", l.MinorFault, t.MinorFaultCycles);
        yield return P("latency.major_fault", l.MajorFault, t.MajorFaultReadCycles);
        yield return P("latency.swap_write", l.SwapWrite, t.SwapOutCycles);
        yield return P("latency.shootdown", l.Shootdown, t.TlbShootdownCycles);
        yield return P("latency.context_switch", l.ContextSwitch, t.ContextSwitchCycles);
        yield return P("latency.clear_huge_page", l.ClearHugePage, t.ClearHugePageCycles);
        // The defaults hand-built machines get through KernelOptions are the same objects.
        yield return P("KernelOptions.Timing", t, k.Timing);
        yield return P("KernelOptions.Tlb", tlb, k.Tlb);
        yield return P("KernelOptions.Caches", c, k.Caches);
    }

    [TestCaseSource(nameof(Pairs))]
    public void RuntimeDefaultEqualsTheScenarioDefault(object scenario, object runtime) =>
        Assert.That(runtime, Is.EqualTo(scenario));

    [Test]
    public void AScenarioThatSetsNothingMapsOntoTheDefaultKernelOptions()
    {
        var process = new ProcessConfig("p", 0, new EcsMem.Scenarios.InferredLayout(0), new GeneratorWorkload("zipf:count=1,pages=1,alpha=0.8,seed=1", 0), null, 0);
        var s = new Scenario("t.yaml", null, new MachineConfig(), [process], []);
        Assert.That(ScenarioLoader.Options(s), Is.EqualTo(new KernelOptions()));
    }

    [Test]
    public void CostsStayInCyclesWithNoMicrosecondRoundTrip()
    {
        // 123457 cycles is 41.152333... µs at 3 GHz: a trip through µs and back could round it; cycles cannot.
        var process = new ProcessConfig("p", 0, new EcsMem.Scenarios.InferredLayout(0), new GeneratorWorkload("zipf:count=1,pages=1,alpha=0.8,seed=1", 0), null, 0);
        var m = new MachineConfig { Latency = new LatencyConfig { MajorFault = 123_457, SwapWrite = 7 } };
        KernelOptions o = ScenarioLoader.Options(new Scenario("t.yaml", null, m, [process], []));
        Assert.That(o.Timing.MajorFaultReadCycles, Is.EqualTo(123_457));
        Assert.That(o.Timing.SwapOutCycles, Is.EqualTo(7));
        // The µs views are derived: 123457 / 3000 µs and 7 / 3000 µs.
        Assert.That(o.Timing.MajorFaultMicroseconds, Is.EqualTo(123_457 / 3000.0));
        Assert.That(o.Timing.SwapOutMicroseconds, Is.EqualTo(7 / 3000.0));
    }

    [Test]
    public void PagingConversionsAreInverse()
    {
        foreach (ScenarioPaging p in Enum.GetValues<ScenarioPaging>())
            Assert.That(KernelOptions.ScenarioPagingOf(KernelOptions.PagingOf(p)), Is.EqualTo(p));
    }
}
