using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.Reporting;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Simulation;

/// <summary>
/// khugepaged's wakes through a long idle stretch, skipped by arithmetic (Khugepaged's <see cref="IDeferrableTimer"/>:
/// a dry run of the scan finds the cursor's period, the skip adds whole periods). A fork child of a registered mm holds
/// its address space for 2e12 cycles (666 s) while the thread scans it every scan_sleep_millisecs. Each scenario runs
/// with the skip on and off (every wake run one tick at a time, the reference) and the text and JSON reports must be
/// the same byte for byte, and so must the state no report shows at the stretch's end: the scan cursor (mm and
/// address), wakes, full_scans, the last wake's time and result, kcompactd's pending timeout and every CPU's idle time.
/// </summary>
[NonParallelizable]
public class KhugepagedSkipTests
{
    private const ulong Late = 2_000_000_000_000;

    private sealed record Variant(
        string Thp = "enabled: madvise",
        int SleepMs = 1000,
        int PagesToScan = 4096,
        int MaxPtesNone = 0,
        string Machine = "",
        string Process = "",
        string Cgroups = "",
        int Children = 1,
        long ScanPteCycles = 0);

    /// <summary>
    /// The parent maps 8 MiB (four PMD ranges), writes 3,000 random pages of it with 4 KiB faults, MADV_HUGEPAGE
    /// registers its mm, then it forks (the child is registered too, khugepaged_fork) and exits; the child starts 666 s
    /// later. With max_ptes_none 0 every range of the sparse region stops the scan at its first empty entry
    /// (thp_scan_exceed_none_pte, a few entries examined); with 511 the first wakes collapse the ranges and the later
    /// ones find them PMD-mapped.
    /// </summary>
    private static string Yaml(Variant v) => $$$"""
        machine:
          ram: 64M
          swap: 16M
          seed: 3
          {{{v.Machine}}}
          thp: {{{Thp(v)}}}
        {{{v.Cgroups}}}
        processes:
          - name: parent
            {{{v.Process}}}
            layout: {exec: {heap: 1M}}
            workload: {generator: "uniform:count=3000,pages=2048,writes=0.8,base=0x7f0000000000,seed=4"}
            children: {count: {{{v.Children}}}, after: 2995, start_delay: {{{Late}}}}
        timeline:
          - at: 0
            process: parent
            mmap: {addr: 0x7f0000000000, length: 8M, prot: rw-, flags: private, fixed: true}
          - after: 2990
            process: parent
            madvise: {addr: 0x7f0000000000, length: 8M, advice: hugepage}
        """;

    private static string Thp(Variant v) =>
        $"{{{v.Thp}, khugepaged: {{scan_sleep_millisecs: {v.SleepMs}, pages_to_scan: {v.PagesToScan}, max_ptes_none: {v.MaxPtesNone}}}}}";

    private static readonly Dictionary<string, Variant> Variants = new()
    {
        // One wake scans the child's whole mm: the period is one wake, one full scan.
        ["sparse"] = new(),
        // The ranges are collapsed by the first wakes (those run), then found PMD-mapped.
        ["collapse"] = new(MaxPtesNone: 511),
        // 600 PTEs a wake: a pass over the four ranges takes several wakes, the cursor's period is longer than one.
        ["multi-wake"] = new(PagesToScan: 600),
        // Two children: two mms on the list.
        ["two-mms"] = new(Children: 2),
        // THP always (registered at mmap), defrag always; the region's faults map THPs.
        ["thp-always"] = new(Thp: "enabled: always, defrag: always", MaxPtesNone: 511),
        ["two-cpus"] = new(Machine: "cpus: 2"),
        ["memcg"] = new(Cgroups: "cgroups:\n  - {name: g, memory.max: 32M}", Process: "cgroup: g"),
        // No proactive compaction: kcompactd has no timer to share CPU 0 with.
        ["no-proactive"] = new(Machine: "compaction_proactiveness: 0"),
        // A scan costs 5e6 cycles an entry: a wake's work (a few entries per range) often holds up one of kcompactd's
        // 500 ms timeouts, which then re-arms from the work's end. With 1,000 ms sleeps the next wake meets the
        // re-armed grid exactly and every wake after holds one up (the two lock together); with 1,300 ms they drift.
        ["busy-locked"] = new(ScanPteCycles: 5_000_000),
        ["busy-drifting"] = new(SleepMs: 1300, ScanPteCycles: 5_000_000),
        ["busy-multi-wake"] = new(PagesToScan: 600, SleepMs: 1300, ScanPteCycles: 3_000_000),
    };

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (string name in Variants.Keys)
            yield return new TestCaseData(name, null).SetName($"SkippingKhugepagedWakesChangesNothing({name})");
        yield return new TestCaseData("sparse", 1).SetName("SkippingKhugepagedWakesChangesNothing(sparse, batch 1)");
        yield return new TestCaseData("busy-drifting", 1).SetName("SkippingKhugepagedWakesChangesNothing(busy-drifting, batch 1)");
    }

    private sealed record Outcome(string Text, string Json, string Hidden, ulong Deferred, long Wakes, long FullScans, ulong KcompactdTimeout);

    /// <summary>The state at the first tick boundary at or past the stretch's end, which no report shows.</summary>
    private static string HiddenState(SimMachine m)
    {
        var k = m.Kernel.Khugepaged;
        m.Kernel.Kcompactd.PendingTimeout(out ulong timeout, out _);
        var idle = string.Join(",", Enumerable.Range(0, m.Kernel.Smp.Count).Select(c => m.Kernel.Smp[c].IdleCycles));
        return $"now {m.Env.Now} cursor {k.ScanMm}:{k.ScanAddress:x} wakes {k.Wakes} full_scans {k.FullScans} last {k.LastWakeAt} "
            + $"{k.LastResult} collapsed {k.PagesCollapsed} kcompactd {timeout} idle {idle} kernel {m.Kernel.Cycles[EcsMem.Systems.Timing.CycleCategory.Kernel]}";
    }

    private static Outcome Run(string name, int? batch, bool defer)
    {
        Variant v = Variants[name];
        Scenario s = ScenarioParser.Parse(new StringReader(Yaml(v)), name + ".yaml");
        using SimMachine m = Systems.Machine.ScenarioLoader.Build(s, batch);
        m.Env.DeferTimersWhenIdle = defer;
        if (v.ScanPteCycles > 0)
            m.Kernel.Khugepaged.ScanPteCycles = v.ScanPteCycles;
        while (!m.Finished && m.Env.Now < Late)
            m.Env.RunTick();
        string hidden = HiddenState(m);
        m.Kernel.Kcompactd.PendingTimeout(out ulong timeout, out _);
        m.Run();
        Assert.That(m.Finished, Is.True);
        SimulationReport r = SimulationReport.Build(m, name + ".yaml");
        return new(ReportTextWriter.Write(r), ReportJsonWriter.Write(r), hidden, m.Env.DeferredWakes,
            m.Kernel.Khugepaged.Wakes, m.Kernel.Khugepaged.FullScans, timeout);
    }

    [TestCaseSource(nameof(Cases))]
    public void SkippingKhugepagedWakesChangesNothing(string name, int? batch)
    {
        Outcome every = Run(name, batch, defer: false);
        Outcome skipped = Run(name, batch, defer: true);
        Assert.That(every.Deferred, Is.Zero);
        // 666 s of wakes every 1 or 1.3 s (plus their work): at least 500 of them, all but a few skipped.
        Assert.That(every.Wakes, Is.GreaterThan(500));
        Assert.That(skipped.Deferred, Is.GreaterThan(400UL), "the wakes were skipped");
        Assert.That(skipped.Hidden, Is.EqualTo(every.Hidden), "state at the stretch's end");
        Assert.That(skipped.Text, Is.EqualTo(every.Text), "text report");
        Assert.That(skipped.Json, Is.EqualTo(every.Json), "JSON report");
        if (name.StartsWith("busy", StringComparison.Ordinal))
        {
            // kcompactd's timeouts fall every 1.5e9 cycles from boot until one is held up by a wake's work: the grid
            // has moved, so some were (the case the skip must carry along).
            Assert.That(every.KcompactdTimeout % 1_500_000_000, Is.Not.Zero, "a timeout was held up");
        }
    }

    /// <summary>
    /// The sparse region by hand: each wake scans the child's one mm whole (1 + 4 × 512 progress &lt; 4096) and ends
    /// with the list passed through twice, so full_scans counts the wakes, and each of the four ranges stops at an
    /// empty entry (thp_scan_exceed_none_pte: four a wake). The wakes come every 1,000 ms plus their work from the
    /// registration to the stretch's end, the same count with the skip on.
    /// </summary>
    [Test]
    public void EachSkippedWakeIsOneFullScanAndFourExceededRanges()
    {
        Outcome skipped = Run("sparse", null, defer: true);
        Assert.That(skipped.FullScans, Is.EqualTo(skipped.Wakes));
        Assert.That(skipped.Text, Does.Contain($"thp_scan_exceed_none_pte {4 * skipped.Wakes}\n"));
        // 2e12 cycles / (3e9 + a wake's few hundred cycles): 666 wakes in the stretch, +1 at its end.
        Assert.That(skipped.Wakes, Is.InRange(666, 668));
    }
}

/// <summary>
/// Every kit scenario, generated from oracle/programs as `-- gen` does (its YAML and Lackey trace, in a temporary
/// directory), run to its end by the CLI with the idle skip on and off: the same JSON report (every counter, snapshot and
/// per-process figure). The fork child's hold is lowered from the kit's 2^61 cycles to 2^43 (khugepaged then wakes ~290
/// times for a registered mm instead of 76,861,434), so the run without the skip fits the suite.
/// </summary>
[NonParallelizable]
public class KitScenariosRunTheSameTests
{
    private const string KitHold = "start_delay: 2305843009213693952";
    private const string SuiteHold = "start_delay: 8796093022208";

    private static string ProgramsDir() => Path.Combine(EcsMem.Oracle.Kit.OracleDir(TestContext.CurrentContext.TestDirectory), "programs");

    private static IEnumerable<string> Programs() =>
        EcsMem.Oracle.PhaseProgram.LoadAll(ProgramsDir()).Select(p => p.Name).Order(StringComparer.Ordinal);

    [TestCaseSource(nameof(Programs))]
    public void KitScenariosRunTheSameWithTheSkipOnAndOff(string name)
    {
        var program = EcsMem.Oracle.PhaseProgram.LoadAll(ProgramsDir()).Single(p => p.Name == name);
        var sc = EcsMem.Oracle.ScenarioGenerator.Generate(new EcsMem.Oracle.ProgramPlan(program));
        Assert.That(sc.Yaml.Contains("start_delay", StringComparison.Ordinal), Is.EqualTo(sc.Yaml.Contains(KitHold, StringComparison.Ordinal)),
            "a fork child's hold is the kit's 2^61");
        string dir = Directory.CreateTempSubdirectory("ecsmem-skip-").FullName;
        try
        {
            string yaml = Path.Combine(dir, name + ".yaml");
            File.WriteAllText(yaml, sc.Yaml.Replace(KitHold, SuiteHold, StringComparison.Ordinal));
            sc.WriteTraces(dir, name);
            string[] outputs = new string[2];
            for (int mode = 0; mode < 2; mode++)
            {
                SimEnvironment.DeferTimersByDefault = mode == 1;
                try
                {
                    var (code, json, err) = Report.ReportTestFiles.Run("run", "--json", yaml);
                    Assert.That(code, Is.Zero, err);
                    outputs[mode] = json;
                }
                finally
                {
                    SimEnvironment.DeferTimersByDefault = true;
                }
            }
            Assert.That(outputs[1], Is.EqualTo(outputs[0]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
