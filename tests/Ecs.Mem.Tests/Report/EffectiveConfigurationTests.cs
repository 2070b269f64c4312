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
    /// <summary>
    /// Every scenario key set to a value other than its default (<c>cpu: host</c> excluded: it cannot go with <c>caches</c>;
    /// <c>writeback: async</c> and <c>lru_gen.enabled</c> need the linux policy, which this scenario changes: see
    /// <see cref="LinuxOnlyKeys"/>). The exclusive pairs are given by their bytes/kbytes side, which zeroes the ratio.
    /// </summary>
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
            psc: {pde: 32, pdpte: {entries: 4, ways: 4}, pml4e: 2, pml5e: 1}
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
          swap_ra_hits: 2
          swap_ra_window: 8
          swap_ra_prev_offset: 100
          swap_ra_clear_reclaim: false
          swap_readahead: vma
          swap_type: partition
          writeback: sync
          disk_max_segments: 64
          disk_queue_depth: 2
          reclaim_cost: {call_ns: 1, batch_ns: 2, isolate_ns: 3, active_ns: 4, keep_ns: 5, free_ns: 6, write_ns: 7, shmem_write_ns: 8}
          cgroup_version: 1
          dirty_background_bytes: 1M
          dirty_bytes: 2M
          dirty_expire_centisecs: 1000
          dirty_writeback_centisecs: 200
          fault_around_bytes: 32768
          read_ahead_kb: 512
          readahead_requests: false
          readahead_queue: true
          per_cpu_pages: false
          pcp_high_tuning: false
          pcp_high_order: false
          swapin_fault_in_window: true
          swap_ra_plug_flush: true
          charge_after_alloc: false
          reclaim_free_batch: false
          free_area: [8, 4, 2, 1, 0, 0, 0, 0, 0, 2, 1]
          free_area_cache: {inactive_file: 300, active_file: 200}
          overcommit_memory: 2
          overcommit_kbytes: 65536
          admin_reserve_kbytes: 4096
          user_reserve_kbytes: 65536
          thp: {enabled: always, defrag: defer, use_zero_page: false, khugepaged: {pages_to_scan: 1024, scan_sleep_millisecs: 500, alloc_sleep_millisecs: 7000, max_ptes_none: 100, max_ptes_swap: 3, max_ptes_shared: 9}, sizes: {16K: always, 32K: inherit, 64K: madvise, 128K: always, 256K: inherit, 512K: madvise, 1M: always}}
          hugetlb: {nr_hugepages: 2, nr_overcommit_hugepages: 1}
          lru_gen: {enabled: n, min_ttl_ms: 1000}
          pcid: off
          quantum: 777
          smp_epoch: 4321
          batch: 33
          seed: 99
        processes:
          - name: p
            workload: {generator: "zipf:count=10,pages=4,alpha=0.8,seed=1"}
        """;

    /// <summary>The values only the linux policy takes away from their defaults, changed here (and policy kept linux).</summary>
    private const string LinuxOnlyKeys = """
        machine:
          ram: 32M
          swap: 16M
          writeback: async
          lru_gen: {enabled: y}
          cgroup_version: 1
          dirty_ratio: 30
          dirty_background_ratio: 5
        processes:
          - name: p
            workload: {generator: "zipf:count=10,pages=4,alpha=0.8,seed=1"}
        """;

    /// <summary>
    /// The keys the effective configuration does not show, and why; every other key the parser accepts must be there.
    /// </summary>
    private static readonly Dictionary<string, string> NotShown = new(StringComparer.Ordinal)
    {
        ["cpu"] = "it chooses where the cache geometry comes from (this file or sysfs); the caches.* lines show the geometry",
        ["latency.disk_us"] = "with latency.cpu_ghz another way to give latency.major_fault, which is shown",
        ["latency.cpu_ghz"] = "with latency.disk_us another way to give latency.major_fault, which is shown",
    };

    [Test]
    public void DefaultScenarioPrintsWhatItAskedFor() => AssertPrintsWhatItAskedFor(DefaultScenario.Load());

    [Test]
    public void AScenarioChangingEveryKeyPrintsWhatItAskedFor()
    {
        Scenario s = ScenarioParser.Parse(new StringReader(AllKeysChanged), "all-keys.yaml");
        // Guard the premise: every value differs from its default (a key the default does not print, such as a
        // paging-structure cache, differs by being there), but page_size (only 4096 exists) and the two that need the
        // linux policy, which LinuxOnlyKeys changes.
        var defaults = Expected(MachineConfig.Default);
        string[] same = ["page_size", "writeback", "lru_gen.enabled"];
        foreach (var (key, value) in Expected(s.Machine))
            if (!same.Contains(key) && defaults.TryGetValue(key, out string? d))
                Assert.That(value, Is.Not.EqualTo(d), key);
        AssertPrintsWhatItAskedFor(s);
    }

    [Test]
    public void TheLinuxOnlyValuesPrintWhatTheyAskedFor()
    {
        Scenario s = ScenarioParser.Parse(new StringReader(LinuxOnlyKeys), "linux-only.yaml");
        var defaults = Expected(MachineConfig.Default);
        var expected = Expected(s.Machine);
        foreach (string key in new[] { "writeback", "lru_gen.enabled", "cgroup_version", "dirty_ratio", "dirty_background_ratio" })
            Assert.That(expected[key], Is.Not.EqualTo(defaults[key]), key);
        AssertPrintsWhatItAskedFor(s);
    }

    /// <summary>
    /// The section's completeness derived from the parser, not from this file's list: every value the
    /// <c>machine:</c> section accepts (<c>MachineConfigParser.AcceptedKeys</c>, built from the key lists the parser checks
    /// scenarios against) is printed under its own dotted path, or as the prefix of its parts (<c>tlb.psc.pde</c> →
    /// <c>.entries</c>, <c>.ways</c>), but the few in <see cref="NotShown"/>; and every printed key but <c>fixed.</c> is
    /// one the parser accepts. So a machine key added later without being shown fails here.
    /// </summary>
    [Test]
    public void EveryMachineKeyTheParserAcceptsIsShown()
    {
        string[] accepted = MachineConfigParser.AcceptedKeys().ToArray();
        // Premise: the nested key lists are walked (5 caches x 4 levels alone are 20 paths), and no path twice.
        Assert.That(accepted, Does.Contain("caches.l3.shared").And.Contain("thp.sizes.1M").And.Contain("reclaim_cost.shmem_write_ns").And.Contain("free_area"));
        Assert.That(accepted, Is.Unique);
        Assert.That(NotShown.Keys, Is.SubsetOf(accepted), "an exemption names a key the parser still accepts");

        Scenario s = ScenarioParser.Parse(new StringReader(AllKeysChanged), "all-keys.yaml");
        using var m = ScenarioLoader.Build(s);
        string[] printed = Parse(ReportTextWriter.Write(SimulationReport.Build(m, s.SourceName))).Keys.ToArray();
        static bool Covers(string path, string key) => key == path || key.StartsWith(path + ".", StringComparison.Ordinal);
        string[] missing = accepted.Where(a => !NotShown.ContainsKey(a) && !printed.Any(p => Covers(a, p))).ToArray();
        Assert.That(missing, Is.Empty, "machine keys the effective configuration leaves out");
        string[] unknown = printed.Where(p => !p.StartsWith("fixed.", StringComparison.Ordinal) && !accepted.Any(a => Covers(a, p))).ToArray();
        Assert.That(unknown, Is.Empty, "printed keys that are no scenario key");
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
            // A list is a JSON array of integers (printed [a,b,...]), null when the scenario leaves it out (printed none).
            string v = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Null => "none",
                JsonValueKind.Array => "[" + string.Join(",", p.Value.EnumerateArray().Select(x => x.GetInt64().ToString(CultureInfo.InvariantCulture))) + "]",
                _ => p.Value.GetRawText(),
            };
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
        // The paging-structure caches the scenario gives (a bare number n is n entries, fully associative: n ways).
        foreach (var (name, psc) in new[] { ("pde", c.Psc?.Pde), ("pdpte", c.Psc?.Pdpte), ("pml4e", c.Psc?.Pml4e), ("pml5e", c.Psc?.Pml5e) })
        {
            if (psc is null)
                continue;
            e[$"tlb.psc.{name}.entries"] = N(psc.Entries);
            e[$"tlb.psc.{name}.ways"] = N(psc.Ways);
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
        e["swap_ra_hits"] = N(c.SwapRaHits);
        e["swap_ra_window"] = N(c.SwapRaWindow);
        e["swap_ra_prev_offset"] = N(c.SwapRaPrevOffset);
        e["swap_ra_clear_reclaim"] = B(c.SwapRaClearReclaim);
        e["swap_readahead"] = c.SwapVmaReadahead ? "vma" : "cluster";
        e["swap_type"] = c.SwapBlockDevice ? "partition" : "file";
        e["writeback"] = c.WritebackAsync ? "async" : "sync";
        e["disk_max_segments"] = N(c.DiskMaxSegments);
        e["disk_queue_depth"] = N(c.DiskQueueDepth);
        ReclaimCostConfig rc = c.ReclaimCost;
        e["reclaim_cost.call_ns"] = N(rc.CallNs);
        e["reclaim_cost.batch_ns"] = N(rc.BatchNs);
        e["reclaim_cost.isolate_ns"] = N(rc.IsolateNs);
        e["reclaim_cost.active_ns"] = N(rc.ActiveNs);
        e["reclaim_cost.keep_ns"] = N(rc.KeepNs);
        e["reclaim_cost.free_ns"] = N(rc.FreeNs);
        e["reclaim_cost.write_ns"] = N(rc.WriteNs);
        e["reclaim_cost.shmem_write_ns"] = N(rc.ShmemWriteNs);
        e["cgroup_version"] = N(c.CgroupVersion);
        // A bytes value zeroes its ratio (the parser, as Linux's dirty_*_handler), so both are printed as the sysctls read.
        e["dirty_background_ratio"] = N(c.DirtyBackgroundRatio);
        e["dirty_background_bytes"] = N(c.DirtyBackgroundBytes);
        e["dirty_ratio"] = N(c.DirtyRatio);
        e["dirty_bytes"] = N(c.DirtyBytes);
        e["dirty_expire_centisecs"] = N(c.DirtyExpireCentisecs);
        e["dirty_writeback_centisecs"] = N(c.DirtyWritebackCentisecs);
        e["fault_around_bytes"] = N(c.FaultAroundBytes);
        e["read_ahead_kb"] = N(c.ReadAheadKb);
        // Large page-cache folios are built with the classic linux lruvec only (not lru_gen, not the simple policies).
        e["large_folios"] = c.LargeFolios && c.Policy.Name == "linux" && !c.LruGen.Enabled ? "true" : "false";
        e["readahead_requests"] = B(c.ReadaheadRequests);
        e["readahead_queue"] = B(c.ReadaheadQueue);
        e["per_cpu_pages"] = B(c.PerCpuPages);
        e["pcp_high_tuning"] = B(c.PcpHighTuning);
        e["pcp_high_order"] = B(c.PcpHighOrder);
        e["swapin_fault_in_window"] = B(c.SwapinFaultInWindow);
        e["swap_ra_plug_flush"] = B(c.SwapRaPlugFlush);
        e["charge_after_alloc"] = B(c.ChargeAfterAlloc);
        e["reclaim_free_batch"] = B(c.ReclaimFreeBatch);
        e["free_area"] = c.FreeArea is { } fa ? "[" + string.Join(",", fa.Blocks.Select(N)) + "]" : "none";
        e["free_area_cache.inactive_file"] = N(c.FreeArea?.InactiveFile ?? 0);
        e["free_area_cache.active_file"] = N(c.FreeArea?.ActiveFile ?? 0);
        e["overcommit_memory"] = N(c.OvercommitMemory);
        e["overcommit_ratio"] = N(c.OvercommitRatio);
        e["overcommit_kbytes"] = N(c.OvercommitKbytes);
        // init_admin_reserve / init_user_reserve: min(free KiB at boot / 32, cap); free at boot is every page but
        // the shared zero page.
        e["admin_reserve_kbytes"] = N(c.AdminReserveKbytes ?? Math.Min((ramKb - 4) / 32, 8192));
        e["user_reserve_kbytes"] = N(c.UserReserveKbytes ?? Math.Min((ramKb - 4) / 32, 131072));
        e["thp.enabled"] = ThpConfig.EnabledNames[(int)c.Thp.Enabled];
        e["thp.defrag"] = ThpConfig.DefragNames[(int)c.Thp.Defrag];
        e["thp.use_zero_page"] = B(c.Thp.UseZeroPage);
        e["thp.khugepaged.pages_to_scan"] = N(c.Thp.Khugepaged.PagesToScan);
        e["thp.khugepaged.scan_sleep_millisecs"] = N(c.Thp.Khugepaged.ScanSleepMillisecs);
        e["thp.khugepaged.alloc_sleep_millisecs"] = N(c.Thp.Khugepaged.AllocSleepMillisecs);
        e["thp.khugepaged.max_ptes_none"] = N(c.Thp.Khugepaged.MaxPtesNone);
        e["thp.khugepaged.max_ptes_swap"] = N(c.Thp.Khugepaged.MaxPtesSwap);
        e["thp.khugepaged.max_ptes_shared"] = N(c.Thp.Khugepaged.MaxPtesShared);
        // hugepages-<size>kB/enabled: 16K is order 2, each size one order up; an order in no mask is never.
        string[] sizes = ["16K", "32K", "64K", "128K", "256K", "512K", "1M"];
        for (int i = 0; i < sizes.Length; i++)
        {
            int bit = 1 << (i + 2);
            e["thp.sizes." + sizes[i]] = (c.Thp.AnonOrdersAlways & bit) != 0 ? "always"
                : (c.Thp.AnonOrdersInherit & bit) != 0 ? "inherit"
                : (c.Thp.AnonOrdersMadvise & bit) != 0 ? "madvise" : "never";
        }
        e["hugetlb.nr_hugepages"] = N(c.Hugetlb.NrHugepages);
        e["hugetlb.nr_overcommit_hugepages"] = N(c.Hugetlb.NrOvercommitHugepages);
        e["lru_gen.enabled"] = "0x" + c.LruGen.Caps.ToString("x4", CultureInfo.InvariantCulture);
        e["lru_gen.min_ttl_ms"] = N(c.LruGen.MinTtlMs);
        e["pcid"] = B(c.Pcid);
        e["quantum"] = N(c.Quantum);
        e["smp_epoch"] = N(c.SmpEpoch);
        e["batch"] = N(c.BatchSize);
        e["seed"] = c.Seed.ToString(CultureInfo.InvariantCulture);
        return e;
    }
}
