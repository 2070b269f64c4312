using System.Globalization;
using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.Timing;
using TlbConfig = EcsMem.Systems.Tlb.TlbConfig;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// The machine values a run used, read back from the running kernel (its <see cref="KernelOptions"/>, timing
/// model, TLB and cache configurations and watermarks), not from the scenario: so the report shows what the
/// one mapping (<c>ScenarioLoader.Options</c>) actually delivered, under the scenario's key names and units
/// (sizes in bytes, costs in cycles). Values no scenario key sets follow under <c>fixed.</c>.
/// </summary>
public static class EffectiveConfiguration
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Every value, in the order of the scenario's <c>machine:</c> keys (docs/scenarios.md).</summary>
    public static IReadOnlyList<ConfigValue> Read(Kernel.Kernel k)
    {
        KernelOptions o = k.Options;
        TimingModel t = k.Timing;
        TlbConfig tlb = o.Tlb;
        CacheHierarchyConfig c = o.Caches;
        var list = new List<ConfigValue>(64);
        void Num(string key, long v, string note = "") => list.Add(new ConfigValue(key, v.ToString(Inv), ConfigValueKind.Number, note));
        void Bool(string key, bool v, string note = "") => list.Add(new ConfigValue(key, v ? "true" : "false", ConfigValueKind.Bool, note));
        void Text(string key, string v, string note = "") => list.Add(new ConfigValue(key, v, ConfigValueKind.Text, note));

        Num("cpus", o.Cpus);
        Num("ram", o.RamBytes);
        Num("swap", o.SwapBytes);
        Num("page_size", (long)Pte.PageSize);
        Text("paging", KernelOptions.ScenarioPagingOf(o.Paging).Name());
        const string notModelled = "recorded; L2 is modelled non-inclusive of L1";
        Cache("l1i", c.L1i, c.L1iInclusion, c.L1iShared, notModelled);
        Cache("l1d", c.L1d, c.L1dInclusion, c.L1dShared, notModelled);
        Cache("l2", c.L2, c.L2Inclusion, c.L2Shared, notModelled);
        Cache("l3", c.L3, c.Inclusion, c.L3Shared, "");
        Num("tlb.dtlb.entries", tlb.Dtlb.Entries);
        Num("tlb.dtlb.ways", tlb.Dtlb.Ways);
        Num("tlb.itlb.entries", tlb.Itlb.Entries);
        Num("tlb.itlb.ways", tlb.Itlb.Ways);
        Num("tlb.stlb.entries", tlb.Stlb.Entries);
        Num("tlb.stlb.ways", tlb.Stlb.Ways);
        Num("tlb.dtlb_2m.entries", tlb.Dtlb2M.Entries);
        Num("tlb.dtlb_2m.ways", tlb.Dtlb2M.Ways);
        Num("tlb.itlb_2m.entries", tlb.Itlb2M.Entries);
        Num("tlb.itlb_2m.ways", tlb.Itlb2M.Ways);
        for (int level = 1; tlb.Psc is not null && level <= Scenarios.PscConfig.Keys.Length; level++)
        {
            if (tlb.Psc.At(level) is { } psc)
            {
                Num($"tlb.psc.{Scenarios.PscConfig.Keys[level - 1]}.entries", psc.Entries);
                Num($"tlb.psc.{Scenarios.PscConfig.Keys[level - 1]}.ways", psc.Ways);
            }
        }
        Num("latency.l1", t.L1HitCycles);
        Num("latency.l2", t.L2HitCycles);
        Num("latency.l3", t.L3HitCycles);
        Num("latency.memory", t.MemoryCycles);
        Num("latency.stlb", t.StlbHitCycles);
        Num("latency.walk_level", t.PageWalkLevelCycles);
        Num("latency.minor_fault", t.MinorFaultCycles);
        Num("latency.major_fault", t.MajorFaultReadCycles);
        Num("latency.disk_page", t.DiskPageCycles);
        Num("latency.swap_write", t.SwapOutCycles);
        Num("latency.shootdown", t.TlbShootdownCycles);
        Num("latency.context_switch", t.ContextSwitchCycles);
        Num("latency.clear_huge_page", t.ClearHugePageCycles);
        Text("policy", o.Policy);
        Num("min_free_kbytes", k.Zone.Watermarks.MinFreeKbytes, o.MinFreeKbytes is null ? "derived from ram" : "");
        Num("swappiness", o.Swappiness, k.Lruvec is null ? "recorded; this policy does not balance anon and file by it" : "");
        Num("watermark_boost_factor", o.WatermarkBoostFactor, o.WatermarkBoostFactor == 0 ? "watermark boosting off" : "");
        Num("compaction_proactiveness", o.CompactionProactiveness, o.CompactionProactiveness == 0 ? "kcompactd's proactive compaction off" : "");
        Num("page_cluster", o.PageCluster, o.PageCluster == 0 ? "swap readahead off" : "");
        Text("swap_readahead", o.SwapVmaReadahead ? "vma" : "cluster");
        Num("fault_around_bytes", o.FaultAroundBytes);
        Num("read_ahead_kb", o.ReadAheadKb);
        Bool("large_folios", o.LargeFolios && k.Lruvec is not null && !o.LruGen.Enabled, o.LargeFolios ? "" : "a filesystem without large folios");
        Num("overcommit_memory", o.OvercommitMemory, o.OvercommitMemory switch { 0 => "heuristic", 1 => "always", _ => "never (strict)" });
        if (o.OvercommitKbytes != 0)
            Num("overcommit_kbytes", o.OvercommitKbytes);
        else
            Num("overcommit_ratio", o.OvercommitRatio);
        Num("admin_reserve_kbytes", (long)k.Commit.AdminReserveKbytes, o.AdminReserveKbytes is null ? "derived from free ram at boot" : "");
        Num("user_reserve_kbytes", (long)k.Commit.UserReserveKbytes, o.UserReserveKbytes is null ? "derived from free ram at boot" : "");
        // One word, as every value of the section (a YAML flow list all the same).
        if (o.FreeArea is { } fa)
        {
            Text("free_area", "[" + string.Join(",", fa.Blocks.Select(b => b.ToString(Inv))) + "]", $"{k.Zone.HeldPages} other pages held, pinned");
            if (fa.CachePages != 0)
            {
                Num("free_area_cache.inactive_file", fa.InactiveFile, "clean page cache of a file no process has open");
                Num("free_area_cache.active_file", fa.ActiveFile);
            }
        }
        Text("thp.enabled", Scenarios.ThpConfig.EnabledNames[(int)o.Thp.Enabled]);
        if (o.LruGen != Scenarios.LruGenConfig.Default)
        {
            Text("lru_gen.enabled", o.LruGen.EnabledText);
            Num("lru_gen.min_ttl_ms", o.LruGen.MinTtlMs, o.LruGen.MinTtlMs == 0 ? "off" : "");
        }
        Text("thp.defrag", Scenarios.ThpConfig.DefragNames[(int)o.Thp.Defrag], "one direct compaction where it allows (no direct reclaim); kswapd woken on a fallback");
        Bool("thp.use_zero_page", o.Thp.UseZeroPage);
        Num("thp.khugepaged.pages_to_scan", o.Thp.Khugepaged.PagesToScan);
        Num("thp.khugepaged.scan_sleep_millisecs", o.Thp.Khugepaged.ScanSleepMillisecs);
        Num("thp.khugepaged.alloc_sleep_millisecs", o.Thp.Khugepaged.AllocSleepMillisecs);
        Num("thp.khugepaged.max_ptes_none", o.Thp.Khugepaged.MaxPtesNone);
        Num("thp.khugepaged.max_ptes_swap", o.Thp.Khugepaged.MaxPtesSwap);
        Num("thp.khugepaged.max_ptes_shared", o.Thp.Khugepaged.MaxPtesShared);
        Bool("pcid", tlb.UsePcid);
        Num("quantum", o.Quantum);
        Num("smp_epoch", o.SmpEpochCycles, o.Cpus == 1 ? "unused with one CPU" : "");
        Num("batch", o.BatchSize);
        list.Add(new ConfigValue("seed", o.Seed.ToString(Inv), ConfigValueKind.Number));

        list.Add(new ConfigValue("fixed.clock_ghz", t.ClockGHz.ToString("0.0##", Inv), ConfigValueKind.Number, "turns cycles into seconds"));
        Num("fixed.latency.l1_tlb", t.L1TlbHitCycles);
        Num("fixed.latency.tlb_flush_one", t.TlbFlushOneCycles);
        Num("fixed.tlb.asids", tlb.DynamicAsids);
        Num("fixed.tlb.flush_ceiling", tlb.SinglePageFlushCeiling);
        Num("fixed.swap_cluster_max", o.SwapClusterMax);
        Bool("fixed.zero_page", o.UseZeroPage);
        return list;

        void Cache(string level, CacheGeometry g, InclusionPolicy inclusion, bool shared, string inclusionNote)
        {
            string p = "caches." + level + ".";
            Num(p + "size", g.SizeBytes);
            Num(p + "ways", g.Ways);
            Num(p + "line", g.LineBytes);
            Text(p + "inclusion", inclusion == InclusionPolicy.Inclusive ? "inclusive" : "non-inclusive", inclusionNote);
            Bool(p + "shared", shared);
        }
    }
}
