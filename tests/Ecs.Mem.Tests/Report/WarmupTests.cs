using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Reporting;
using EcsMem.Systems.Timing;
using EcsMem.Tests.Reliability;
using static EcsMem.Tests.Smp.SmpKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Report;

/// <summary>
/// <c>ecsmem run --warmup N</c>: every statistic is reset, in one place, at the tick boundary where the accesses of
/// all processes together first reach N, so a summed counter of a warm-up run is the full run's value minus its
/// value at N; the point does not depend on the batch size; the cycle table's identity holds from the reset;
/// without the option nothing changes.
/// </summary>
public class WarmupTests
{
    /// <summary>Two processes competing for 256 KiB of RAM with swap (6000 accesses): faults, reclaim and swap-ins happen after the warm-up too.</summary>
    private const string Contended = """
        machine: {ram: 256K, swap: 1M, seed: 5, cpus: CPUS}
        processes:
          - name: zipf
            layout: {exec: {heap: 512K}}
            workload: {generator: "zipf:count=3000,pages=100,alpha=0.8,writes=0.5,seed=3"}
          - name: uniform
            layout: {exec: {heap: 512K}}
            workload: {generator: "uniform:count=3000,pages=80,writes=0.3,seed=4"}
        """;

    private const long Total = 6000;

    private static Scenario Load(int cpus) =>
        ScenarioParser.Parse(new StringReader(Contended.Replace("CPUS", cpus.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)), "contended.yaml");

    private static string YamlFile(ReportTestFiles f, int cpus) =>
        f.Write("c.yaml", Contended.Replace("CPUS", cpus.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

    [Test]
    public void WithoutWarmupTheReportHasNoTraceOfIt()
    {
        using var f = new ReportTestFiles();
        string yaml = YamlFile(f, 1);
        var text = ReportTestFiles.Run("run", yaml);
        var json = ReportTestFiles.Run("run", yaml, "--json");
        Assert.That(text.Code, Is.EqualTo(0), text.Err);
        Assert.That(json.Code, Is.EqualTo(0), json.Err);
        Assert.That(text.Out, Does.Not.Contain("warm-up"));
        Assert.That(json.Out, Does.Not.Contain("warmup"));

        // A machine whose warm-up was never set reports exactly what one with the option cleared does.
        Scenario s = Load(1);
        using var plain = ScenarioLoader.Build(s);
        plain.Run();
        using var cleared = ScenarioLoader.Build(s);
        cleared.WarmupAccesses = null;
        cleared.Run();
        Assert.That(TextReport(cleared, s.SourceName), Is.EqualTo(TextReport(plain, s.SourceName)));
    }

    /// <summary>
    /// With --warmup the report has the same lines in the same places (only values differ), plus exactly the added
    /// header line (text) and key (JSON). (Even --warmup 0 changes values: it resets what building the machine
    /// counted, such as the page-table pages its exec layouts allocated.)
    /// </summary>
    [Test]
    public void WarmupOnlyAddsTheLine()
    {
        using var f = new ReportTestFiles();
        string yaml = YamlFile(f, 1);
        var text = ReportTestFiles.Run("run", yaml);
        var textW = ReportTestFiles.Run("run", yaml, "--warmup", "2000");
        var json = ReportTestFiles.Run("run", yaml, "--json");
        var jsonW = ReportTestFiles.Run("run", yaml, "--json", "--warmup", "2000");
        Assert.That(textW.Code, Is.EqualTo(0), textW.Err);
        Assert.That(jsonW.Code, Is.EqualTo(0), jsonW.Err);

        const string line = "warm-up:         2000 accesses excluded";
        string[] t = text.Out.Split('\n'), tw = textW.Out.Split('\n');
        Assert.That(tw[9], Is.EqualTo(line), "after the seed line");
        Assert.That(tw.Count(l => l == line), Is.EqualTo(1));
        // The cycle table's `kernel` and `compaction` rows are printed only when some cycles were charged to them, which
        // a warm-up may leave out (this scenario's 18,000 kernel cycles all come before access 500): left out of both
        // reports, here and in the JSON below.
        static bool Conditional(string l) => l.StartsWith("  kernel ", StringComparison.Ordinal) || l.StartsWith("  compaction ", StringComparison.Ordinal);
        t = t.Where(l => !Conditional(l)).ToArray();
        string[] rest = tw.Where(l => l != line && !Conditional(l)).ToArray();
        Assert.That(rest, Has.Length.EqualTo(t.Length));
        // Labels and section titles are where they were (the numbers after them differ).
        static string Label(string l) => new string(l.TakeWhile(ch => !char.IsDigit(ch)).ToArray()).TrimEnd();
        Assert.That(rest.Select(Label), Is.EqualTo(t.Select(Label)));

        const string key = "  \"warmup_accesses\": 2000,";
        string[] j = json.Out.Split('\n'), jw = jsonW.Out.Split('\n');
        Assert.That(jw.Count(l => l == key), Is.EqualTo(1));
        Assert.That(jw[Array.IndexOf(jw, key) - 1], Does.StartWith("  \"seed\": "));
        static string Key(string l) => l.Contains(':', StringComparison.Ordinal) ? l[..l.IndexOf(':', StringComparison.Ordinal)] : l.TrimEnd(',');
        string[] jrest = WithoutConditionalCycles(jw.Where(l => l != key).ToArray());
        Assert.That(jrest.Select(Key), Is.EqualTo(WithoutConditionalCycles(j).Select(Key)));
    }

    /// <summary>The JSON report's lines less the cycle objects <c>"kernel": {...}</c> and <c>"compaction": {...}</c> (present only when charged).</summary>
    private static string[] WithoutConditionalCycles(string[] lines)
    {
        var kept = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            string l = lines[i].TrimStart();
            if (l is "\"kernel\": {" or "\"compaction\": {")
            {
                string indent = lines[i][..(lines[i].Length - l.Length)];
                while (i < lines.Length && lines[i] != indent + "}" && lines[i] != indent + "},")
                    i++;
                continue;
            }
            kept.Add(lines[i]);
        }
        return [.. kept];
    }

    /// <summary>The statistics a run has gathered, read the way the report reads them.</summary>
    private static Dictionary<string, long> Summed(SimMachine m)
    {
        var v = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string c in (string[])["pgfault", "pgmajfault", "pswpin", "pswpout", "pgpgin", "pgscan_kswapd", "pgsteal_kswapd",
                     "dtlb_hit", "dtlb_miss", "stlb_hit", "stlb_miss", "ecsmem_context_switches", "nr_tlb_local_flush_one"])
            v[c] = m.Env.Counters.Get(c);
        foreach (var level in m.Kernel.Caches.Levels)
        {
            v[level.Name + ".accesses"] = level.Counters.Accesses;
            v[level.Name + ".misses"] = level.Counters.Misses;
            v[level.Name + ".writebacks"] = level.Counters.WriteBacks;
        }
        v["memory.reads"] = m.Kernel.Caches.MemoryReads;
        foreach (CycleCategory cat in Enum.GetValues<CycleCategory>())
            v["cycles." + cat] = m.Kernel.Cycles[cat];
        v["cycles.accesses"] = m.Kernel.Cycles.Accesses;
        v["idle"] = m.Access.IdleCycles;
        var batches = m.Access.FaultBatchSizes;
        for (int n = 1; n < batches.Length; n++)
            v["faultbatch." + n] = batches[n];
        foreach (var p in m.Kernel.Tasks.Processes)
        {
            string name = m.Kernel.Tasks.ProcessName(m.Kernel.World.Get<Process>(p));
            ProcessStats st = m.Kernel.World.Get<ProcessStats>(p);
            v[name + ".accesses"] = st.Accesses;
            v[name + ".stores"] = st.Stores;
            v[name + ".minflt"] = st.MinFlt;
            v[name + ".majflt"] = st.MajFlt;
            v[name + ".swapins"] = st.SwapIns;
            v[name + ".tlbmisses"] = st.TlbMisses;
            v[name + ".l1misses"] = st.L1Misses;
            v[name + ".cpucycles"] = st.CpuCycles;
            v[name + ".iowait"] = st.IoWaitCycles;
        }
        return v;
    }

    /// <summary>A run stopped at the tick boundary where <paramref name="n"/> accesses have completed, as a warm-up run resets there.</summary>
    private static SimMachine StoppedAt(Scenario s, long n, int batch)
    {
        var m = ScenarioLoader.Build(s, batch);
        m.Access.AccessLimit = n;
        m.Run(stop: () => m.Access.CompletedAccesses >= n, checkEvery: 1);
        Assert.That(m.Access.CompletedAccesses, Is.EqualTo(n), "stopped exactly at the warm-up point");
        return m;
    }

    [TestCase(1, 2500, 1)]
    [TestCase(1, 2500, 4096)]
    [TestCase(2, 3001, 4096)]
    public void WarmupValueIsFullRunMinusValueAtN(int cpus, long n, int batch)
    {
        Scenario s = Load(cpus);
        using var full = ScenarioLoader.Build(s, batch);
        full.Run();
        using var atN = StoppedAt(s, n, batch);
        using var warm = ScenarioLoader.Build(s, batch);
        warm.WarmupAccesses = n;
        warm.Run();
        Assert.That(warm.Finished, Is.True);
        Assert.That(warm.AccessesAtReset, Is.EqualTo(n));

        var vFull = Summed(full);
        var vAtN = Summed(atN);
        var vWarm = Summed(warm);
        Assert.That(vWarm.Keys, Is.EquivalentTo(vFull.Keys.Union(vAtN.Keys)));
        foreach (string key in vWarm.Keys)
            Assert.That(vWarm[key], Is.EqualTo(vFull[key] - vAtN.GetValueOrDefault(key)), key);
        // Not trivially: the counters moved on both sides of the warm-up point.
        foreach (string key in (string[])["pgfault", "pgmajfault", "pswpin", "dtlb_miss", "L1d.accesses", "zipf.accesses", "uniform.swapins"])
        {
            Assert.That(vAtN[key], Is.GreaterThan(0), key + " before N");
            Assert.That(vWarm[key], Is.GreaterThan(0), key + " after N");
        }
        Assert.That(vWarm["cycles.accesses"], Is.EqualTo(Total - n));

        SimulationReport r = SimulationReport.Build(warm, s.SourceName);
        Assert.That(r.Accesses, Is.EqualTo(Total - n));
        Assert.That(r.Cycles, Is.EqualTo(full.Env.Now - atN.Env.Now), "simulated time from the reset");
        Assert.That(r.Faults.Single(v => v.Name == "pgfault").Value, Is.EqualTo(vFull["pgfault"] - vAtN["pgfault"]));
        // Gauges are state: the same as the full run's at the end.
        SimulationReport rFull = SimulationReport.Build(full, s.SourceName);
        Assert.That(r.MemInfo, Is.EqualTo(rFull.MemInfo));
        Assert.That(r.BuddyInfo, Is.EqualTo(rFull.BuddyInfo));
        Assert.That(r.Processes.Select(p => p.Stats.RssPeak), Is.EqualTo(rFull.Processes.Select(p => p.Stats.RssPeak)));
    }

    [TestCase(1)]
    [TestCase(2)]
    public void BatchSizeDoesNotMoveTheWarmupPoint(int cpus)
    {
        using var f = new ReportTestFiles();
        string yaml = YamlFile(f, cpus);
        foreach (string format in (string[])["--text", "--json"])
        {
            string[] extra = format == "--json" ? ["--json"] : [];
            var b1 = ReportTestFiles.Run(["run", yaml, "--warmup", "2777", "--batch", "1", .. extra]);
            var b4096 = ReportTestFiles.Run(["run", yaml, "--warmup", "2777", "--batch", "4096", .. extra]);
            Assert.That(b1.Code, Is.EqualTo(0), b1.Err);
            Assert.That(b4096.Code, Is.EqualTo(0), b4096.Err);
            string Strip(string report, int batch) => format == "--json"
                ? string.Join('\n', report.Split('\n').Where(l => !l.Contains("\"batch\"", StringComparison.Ordinal)))
                : ReportWithoutBatchLine(report, batch);
            Assert.That(Strip(b4096.Out, 4096), Is.EqualTo(Strip(b1.Out, 1)), format);
        }

        Scenario s = Load(cpus);
        using var m1 = ScenarioLoader.Build(s, 1);
        m1.WarmupAccesses = 2777;
        m1.Run();
        using var m2 = ScenarioLoader.Build(s, 4096);
        m2.WarmupAccesses = 2777;
        m2.Run();
        Assert.That(DeterminismTests.FirstDifference(MachineDump.Of(m2), MachineDump.Of(m1)), Is.Null);
    }

    [TestCase(1)]
    [TestCase(2)]
    public void CycleIdentityHoldsFromTheReset(int cpus)
    {
        Scenario s = Load(cpus);
        using var m = ScenarioLoader.Build(s);
        m.WarmupAccesses = 2500;
        m.Run();
        SimulationReport r = SimulationReport.Build(m, s.SourceName);

        ulong sinceReset = 0;
        for (int c = 0; c < cpus; c++)
            sinceReset += m.Kernel.Smp.Time(c) - m.CpuTimeAtReset[c];
        long onCpu = r.Breakdown.Where(row => !row.OffCpu).Sum(row => row.Cycles);
        Assert.That(r.CpuTimeCycles, Is.EqualTo(sinceReset));
        Assert.That((ulong)onCpu, Is.EqualTo(sinceReset), "on-CPU rows = Σ (CPU clock now − CPU clock at the reset)");
        Assert.That(r.Cycles, Is.EqualTo(m.Env.Now - m.TimeAtReset));
        if (cpus == 1)
            Assert.That((ulong)onCpu, Is.EqualTo(r.Cycles));

        string text = ReportTextWriter.Write(r);
        ulong total = (ulong)cpus * r.Cycles;
        Assert.That(text, Does.Contain($"  (on-CPU rows sum to cpus x simulated time: {total} = {cpus} x {r.Cycles})\n"));
        Assert.That(text, Does.Contain("warm-up:         2500 accesses excluded\n"));
    }

    [TestCase("-1")]
    [TestCase("x")]
    [TestCase("1.5")]
    [TestCase("")]
    public void BadValueIsOneErrorLine(string value)
    {
        var (code, stdout, stderr) = ReportTestFiles.Run("run", "--warmup", value);
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stdout, Is.Empty);
        string[] lines = stderr.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stderr);
        Assert.That(lines[0], Does.StartWith("ecsmem: error: command line: option --warmup needs an integer from 0"));
    }

    /// <summary>A warm-up of the whole run (or more) excludes everything; the header says how much was run.</summary>
    [TestCase(Total, "warm-up:         6000 accesses excluded\n")]
    [TestCase(Total + 1000, "warm-up:         7000 accesses excluded (the run ended after 6000: every statistic is excluded)\n")]
    public void WarmupOfTheWholeRunExcludesEverything(long n, string line)
    {
        using var f = new ReportTestFiles();
        var (code, stdout, stderr) = ReportTestFiles.Run("run", YamlFile(f, 1), "--warmup", n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain(line));
        Assert.That(ReportTestFiles.ValueAfter(stdout, "accesses:"), Is.EqualTo("0"));
        Assert.That(stdout, Does.Contain("\npgfault 0\n"));
    }
}
