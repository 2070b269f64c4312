using System.Globalization;
using System.Text.Json;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.Reporting;

namespace EcsMem.Tests.Report;

/// <summary>
/// The report's "effective configuration" section, read back from the running machine, must print exactly what
/// the scenario asked for, key by key (parsed from the text; the JSON must say the same).
/// </summary>
public class EffectiveConfigurationTests
{
    /// <summary>Every scenario key set to a value other than its default (<c>cpu: host</c> excluded: it cannot go with <c>caches</c>).</summary>
    private const string AllKeysChanged = """
        machine:
          cpus: 4
          ram: 32M
          swap: 16M
          paging: x86-64-la57
          caches:
            l1i: {size: 16K, ways: 4, line: 128, inclusion: inclusive, shared: true}
            l1d: {size: 64K, ways: 16, line: 128, inclusion: inclusive, shared: true}
            l2:  {size: 1M, ways: 8, line: 128, inclusion: inclusive, shared: true}
            l3:  {size: 4M, ways: 16, line: 128, inclusion: non-inclusive, shared: false}
          tlb:
            dtlb: {entries: 32, ways: 2}
            itlb: {entries: 64, ways: 4}
            stlb: {entries: 1024, ways: 8}
            dtlb_2m: {entries: 16, ways: 2}
            itlb_2m: {entries: 4, ways: 2}
          latency:
            l1: 5
            l2: 13
            l3: 41
            memory: 201
            stlb: 8
            walk_level: 21
            minor_fault: 1001
            major_fault: 123457
            disk_page: 7001
            swap_write: 7
            shootdown: 2001
            context_switch: 5001
            clear_huge_page: 540001
          policy: fifo
          min_free_kbytes: 1000
          swappiness: 10
          compaction_proactiveness: 35
          watermark_boost_factor: 7000
          page_cluster: 5
          swap_readahead: vma
          fault_around_bytes: 32768
          read_ahead_kb: 512
          overcommit_memory: 2
          overcommit_ratio: 80
          admin_reserve_kbytes: 4096
          user_reserve_kbytes: 65536
          thp: {enabled: always, defrag: defer, use_zero_page: false, khugepaged: {pages_to_scan: 1024, scan_sleep_millisecs: 500, alloc_sleep_millisecs: 7000, max_ptes_none: 100, max_ptes_swap: 3, max_ptes_shared: 9}}
          pcid: off
          quantum: 777
          smp_epoch: 4321
          batch: 33
          seed: 99
        processes:
          - name: p
            workload: {generator: "zipf:count=10,pages=4,alpha=0.8,seed=1"}
        """;

    [Test]
    public void DefaultScenarioPrintsWhatItAskedFor() => AssertPrintsWhatItAskedFor(DefaultScenario.Load());

    [Test]
    public void AScenarioChangingEveryKeyPrintsWhatItAskedFor()
    {
        Scenario s = ScenarioParser.Parse(new StringReader(AllKeysChanged), "all-keys.yaml");
        // Guard the premise: every value differs from its default.
        foreach (var (key, value) in Expected(s.Machine))
            if (key != "page_size")
                Assert.That(value, Is.Not.EqualTo(Expected(MachineConfig.Default)[key]), key);
        AssertPrintsWhatItAskedFor(s);
    }

    [Test]
    public void EverySampleScenarioThatLoadsPrintsWhatItAskedFor()
    {
        int loaded = 0;
        foreach (string path in Directory.GetFiles(Path.Combine(Scenarios.ScenarioTestFiles.RepoRoot(), "samples", "scenarios"), "*.yaml").Order(StringComparer.Ordinal))
        {
            Scenario s;
            try
            {
                s = ScenarioParser.ParseFile(path);
                ScenarioLoader.Build(s).Dispose();
            }
            catch (InputException)
            {
                continue; // a sample the machine cannot build yet (e.g. it names files that are not committed)
            }
            AssertPrintsWhatItAskedFor(s);
            loaded++;
        }
        Assert.That(loaded, Is.GreaterThanOrEqualTo(1), "lackey-sort.yaml at least");
    }

    [Test]
    public void CommandLineOverridesArriveThroughTheSameMapping()
    {
        using var files = new ReportTestFiles();
        string trace = files.StoresToDistinctPages("t.lackey", 3);
        var (code, text, err) = ReportTestFiles.Run("run", "--trace", trace, "--trace-format", "lackey", "--mem", "8M", "--swap", "4M",
            "--policy", "fifo", "--paging", "x86", "--quantum", "123", "--seed", "5", "--batch", "7");
        Assert.That(code, Is.Zero, err);
        var printed = Parse(text);
        // 8M = 8388608 bytes, 4M = 4194304; min_free_kbytes derived from 8192 kB: isqrt(8192 x 16) = isqrt(131072) = 362.
        Assert.That(printed["ram"], Is.EqualTo("8388608"));
        Assert.That(printed["swap"], Is.EqualTo("4194304"));
        Assert.That(printed["policy"], Is.EqualTo("fifo"));
        Assert.That(printed["paging"], Is.EqualTo("x86"));
        Assert.That(printed["quantum"], Is.EqualTo("123"));
        Assert.That(printed["seed"], Is.EqualTo("5"));
        Assert.That(printed["batch"], Is.EqualTo("7"));
        Assert.That(printed["min_free_kbytes"], Is.EqualTo("362"));
        // What no option overrides stays the scenario default.
        Assert.That(printed["latency.l3"], Is.EqualTo("40"));
    }

    private static void AssertPrintsWhatItAskedFor(Scenario s)
    {
        using var m = ScenarioLoader.Build(s);
        SimulationReport report = SimulationReport.Build(m, s.SourceName);
        var printed = Parse(ReportTextWriter.Write(report));
        var expected = Expected(s.Machine);
        var scenarioKeys = printed.Keys.Where(k => !k.StartsWith("fixed.", StringComparison.Ordinal)).ToArray();
        Assert.That(scenarioKeys, Is.EquivalentTo(expected.Keys), "the section lists every scenario machine key but cpu, and nothing else");
        foreach (var (key, value) in expected)
            Assert.That(printed[key], Is.EqualTo(value), $"{s.SourceName}: {key}");

        using var json = JsonDocument.Parse(ReportJsonWriter.Write(report));
        var section = json.RootElement.GetProperty("effective_configuration");
        Assert.That(section.EnumerateObject().Select(p => p.Name), Is.EqualTo(printed.Keys), "JSON keys, in the text's order");
        foreach (var p in section.EnumerateObject())
        {
            string v = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            Assert.That(v, Is.EqualTo(printed[p.Name]), $"JSON {p.Name}");
        }
    }

    /// <summary>The section's key → value (first word after the key), in printed order.</summary>
    private static Dictionary<string, string> Parse(string text)
    {
        const string header = "== effective configuration ==\n";
        int at = text.IndexOf(header, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), "the report has the section");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text[(at + header.Length)..].Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith("==", StringComparison.Ordinal))
                break;
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            result.Add(words[0], words[1]);
        }
        return result;
    }

    /// <summary>
    /// What the scenario asked for, in the section's units, straight from the parsed model. A scenario without
    /// min_free_kbytes gets Linux's derivation from RAM (isqrt(ram kB x 16), clamped to 128..262144), worked out here
    /// rather than read from the machine.
    /// </summary>
    private static Dictionary<string, string> Expected(MachineConfig c)
    {
        string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        string B(bool v) => v ? "true" : "false";
        long ramKb = c.RamBytes / 1024;
        long derived = Math.Clamp((long)Math.Sqrt(ramKb * 16.0), 128, 262144);
        var e = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["cpus"] = N(c.Cpus),
            ["ram"] = N(c.RamBytes),
            ["swap"] = N(c.SwapBytes),
            ["page_size"] = N(c.PageSize),
            ["paging"] = c.Paging.Name(),
        };
        foreach (var (name, cache) in new[] { ("l1i", c.L1i), ("l1d", c.L1d), ("l2", c.L2), ("l3", c.L3) })
        {
            e[$"caches.{name}.size"] = N(cache.SizeBytes);
            e[$"caches.{name}.ways"] = N(cache.Ways);
            e[$"caches.{name}.line"] = N(cache.LineBytes);
            e[$"caches.{name}.inclusion"] = cache.Inclusion == CacheInclusion.Inclusive ? "inclusive" : "non-inclusive";
            e[$"caches.{name}.shared"] = B(cache.Shared);
        }
        foreach (var (name, tlb) in new[] { ("dtlb", c.Dtlb), ("itlb", c.Itlb), ("stlb", c.Stlb), ("dtlb_2m", c.Dtlb2M), ("itlb_2m", c.Itlb2M) })
        {
            e[$"tlb.{name}.entries"] = N(tlb.Entries);
            e[$"tlb.{name}.ways"] = N(tlb.Ways);
        }
        LatencyConfig l = c.Latency;
        e["latency.l1"] = N(l.L1);
        e["latency.l2"] = N(l.L2);
        e["latency.l3"] = N(l.L3);
        e["latency.memory"] = N(l.Memory);
        e["latency.stlb"] = N(l.Stlb);
        e["latency.walk_level"] = N(l.WalkLevel);
        e["latency.minor_fault"] = N(l.MinorFault);
        e["latency.major_fault"] = N(l.MajorFault);
        e["latency.disk_page"] = N(l.DiskPage);
        e["latency.swap_write"] = N(l.SwapWrite);
        e["latency.shootdown"] = N(l.Shootdown);
        e["latency.context_switch"] = N(l.ContextSwitch);
        e["latency.clear_huge_page"] = N(l.ClearHugePage);
        e["policy"] = c.Policy.Name;
        e["min_free_kbytes"] = N(c.MinFreeKbytes ?? derived);
        e["swappiness"] = N(c.Swappiness);
        e["compaction_proactiveness"] = N(c.CompactionProactiveness);
        e["watermark_boost_factor"] = N(c.WatermarkBoostFactor);
        e["page_cluster"] = N(c.PageCluster);
        e["swap_readahead"] = c.SwapVmaReadahead ? "vma" : "cluster";
        e["fault_around_bytes"] = N(c.FaultAroundBytes);
        e["read_ahead_kb"] = N(c.ReadAheadKb);
        // Large page-cache folios are built with the classic linux lruvec only (not lru_gen, not the simple policies).
        e["large_folios"] = c.LargeFolios && c.Policy.Name == "linux" && !c.LruGen.Enabled ? "true" : "false";
        e["overcommit_memory"] = N(c.OvercommitMemory);
        if (c.OvercommitKbytes != 0)
            e["overcommit_kbytes"] = N(c.OvercommitKbytes);
        else
            e["overcommit_ratio"] = N(c.OvercommitRatio);
        // init_admin_reserve / init_user_reserve: min(free KiB at boot / 32, cap); free at boot is every page but
        // the shared zero page.
        e["admin_reserve_kbytes"] = N(c.AdminReserveKbytes ?? Math.Min((ramKb - 4) / 32, 8192));
        e["user_reserve_kbytes"] = N(c.UserReserveKbytes ?? Math.Min((ramKb - 4) / 32, 131072));
        if (c.FreeArea is { } fa)
        {
            e["free_area"] = "[" + string.Join(",", fa.Blocks.Select(N)) + "]";
            if (fa.CachePages != 0)
            {
                e["free_area_cache.inactive_file"] = N(fa.InactiveFile);
                e["free_area_cache.active_file"] = N(fa.ActiveFile);
            }
        }
        e["thp.enabled"] = ThpConfig.EnabledNames[(int)c.Thp.Enabled];
        e["thp.defrag"] = ThpConfig.DefragNames[(int)c.Thp.Defrag];
        e["thp.use_zero_page"] = B(c.Thp.UseZeroPage);
        e["thp.khugepaged.pages_to_scan"] = N(c.Thp.Khugepaged.PagesToScan);
        e["thp.khugepaged.scan_sleep_millisecs"] = N(c.Thp.Khugepaged.ScanSleepMillisecs);
        e["thp.khugepaged.alloc_sleep_millisecs"] = N(c.Thp.Khugepaged.AllocSleepMillisecs);
        e["thp.khugepaged.max_ptes_none"] = N(c.Thp.Khugepaged.MaxPtesNone);
        e["thp.khugepaged.max_ptes_swap"] = N(c.Thp.Khugepaged.MaxPtesSwap);
        e["thp.khugepaged.max_ptes_shared"] = N(c.Thp.Khugepaged.MaxPtesShared);
        e["pcid"] = B(c.Pcid);
        e["quantum"] = N(c.Quantum);
        e["smp_epoch"] = N(c.SmpEpoch);
        e["batch"] = N(c.BatchSize);
        e["seed"] = c.Seed.ToString(CultureInfo.InvariantCulture);
        return e;
    }
}
