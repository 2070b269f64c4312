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

    /// <summary>The text of a <see cref="ConfigValueKind.List"/> value the scenario left out (JSON null).</summary>
    public const string NoList = "none";

    /// <summary>Every value, in the order of the scenario's <c>machine:</c> keys (docs/scenarios.md).</summary>
    public static IReadOnlyList<ConfigValue> Read(Kernel.Kernel k)
    {
        KernelOptions o = k.Options;
        TimingModel t = k.Timing;
        TlbConfig tlb = o.Tlb;
        CacheHierarchyConfig c = o.Caches;
        var list = new List<ConfigValue>(128);
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
        Num("swap_ra_hits", o.SwapRaHits, "swapin_readahead_hits at the start");
        Num("swap_ra_window", o.SwapRaWindow, "last_readahead_pages at the start");
        Num("swap_ra_prev_offset", o.SwapRaPrevOffset, "swapin_nr_pages' prev_offset at the start");
        Bool("swap_ra_clear_reclaim", o.SwapRaClearReclaim, o.SwapRaClearReclaim ? "a swap-cache hit clears PG_reclaim: no rotation at the write's end" : "");
        Text("swap_readahead", o.SwapVmaReadahead ? "vma" : "cluster");
        Text("swap_type", o.SwapBlockDevice ? "partition" : "file");
        // Read back: the writeback queue exists only when writes complete in simulated time.
        Text("writeback", k.Writeback is not null ? "async" : "sync", k.Writeback is null ? "writes complete inside reclaim; the disk_* and dirty_* values are unused" : "");
        Num("disk_max_segments", o.DiskMaxSegments);
        Num("disk_queue_depth", o.DiskQueueDepth);
        long[] costs = o.ReclaimCost.Values;
        for (int i = 0; i < costs.Length; i++)
            Num("reclaim_cost." + Scenarios.ReclaimCostConfig.Keys[i], costs[i]);
        Num("cgroup_version", o.CgroupVersion);
        Num("dirty_background_ratio", o.DirtyBackgroundRatio, o.DirtyBackgroundBytes != 0 ? "0: dirty_background_bytes is set" : "");
        Num("dirty_background_bytes", o.DirtyBackgroundBytes, o.DirtyBackgroundBytes == 0 ? "0: the ratio applies" : "");
        Num("dirty_ratio", o.DirtyRatio, o.DirtyBytes != 0 ? "0: dirty_bytes is set" : "");
        Num("dirty_bytes", o.DirtyBytes, o.DirtyBytes == 0 ? "0: the ratio applies" : "");
        Num("dirty_expire_centisecs", o.DirtyExpireCentisecs);
        Num("dirty_writeback_centisecs", o.DirtyWritebackCentisecs, o.DirtyWritebackCentisecs == 0 ? "the flusher's periodic pass off" : "");
        Num("fault_around_bytes", o.FaultAroundBytes);
        Num("read_ahead_kb", o.ReadAheadKb);
        Bool("large_folios", o.LargeFolios && k.Lruvec is not null && !o.LruGen.Enabled, o.LargeFolios ? "" : "a filesystem without large folios");
        Bool("readahead_requests", o.ReadaheadRequests, o.ReadaheadRequests ? "" : "256-folio bios");
        Bool("readahead_queue", o.ReadaheadQueue, o.ReadaheadQueue && !o.ReadaheadRequests ? "unused without readahead_requests" : "");
        // Read back: the zone has per-CPU lists only when they are on.
        Bool("per_cpu_pages", k.Zone.Pcp is not null);
        Bool("pcp_high_tuning", o.PcpHighTuning, k.Zone.Pcp is null ? "unused without per_cpu_pages" : "");
        Bool("pcp_high_order", o.PcpHighOrder, k.Zone.Pcp is null ? "unused without per_cpu_pages" : "");
        Bool("swapin_fault_in_window", o.SwapinFaultInWindow, o.SwapinFaultInWindow ? "" : "the faulting page after the window's drain");
        Bool("swap_ra_plug_flush", o.SwapRaPlugFlush, k.Memcg is null ? "unused without memory cgroups" : o.SwapRaPlugFlush ? "" : "a plugged swap-in's reclaim holds its writes to its end");
        Bool("charge_after_alloc", o.ChargeAfterAlloc, k.Memcg is null ? "unused without memory cgroups" : o.ChargeAfterAlloc ? "" : "charged before the allocation");
        Bool("reclaim_free_batch", o.ReclaimFreeBatch, k.Lruvec is null ? "unused without policy linux" : "");
        // One word, as every value of the section (a YAML flow list all the same); a JSON array.
        if (o.FreeArea is { } area)
            list.Add(new ConfigValue("free_area", "[" + string.Join(",", area.Blocks.Select(b => b.ToString(Inv))) + "]", ConfigValueKind.List,
                $"{k.Zone.HeldPages} other pages held, pinned"));
        else
            list.Add(new ConfigValue("free_area", NoList, ConfigValueKind.List, "a fresh boot"));
        Num("free_area_cache.inactive_file", o.FreeArea?.InactiveFile ?? 0, o.FreeArea is { CachePages: not 0 } ? "clean page cache of a file no process has open" : "");
        Num("free_area_cache.active_file", o.FreeArea?.ActiveFile ?? 0);
        Num("overcommit_memory", o.OvercommitMemory, o.OvercommitMemory switch { 0 => "heuristic", 1 => "always", _ => "never (strict)" });
        // Both, as the sysctls read: writing one zeroes the other (overcommit_*_handler), kbytes wins when non-zero.
        Num("overcommit_ratio", o.OvercommitRatio, o.OvercommitKbytes != 0 ? "unused: overcommit_kbytes is set" : "");
        Num("overcommit_kbytes", o.OvercommitKbytes, o.OvercommitKbytes == 0 ? "0: the ratio applies" : "");
        Num("admin_reserve_kbytes", (long)k.Commit.AdminReserveKbytes, o.AdminReserveKbytes is null ? "derived from free ram at boot" : "");
        Num("user_reserve_kbytes", (long)k.Commit.UserReserveKbytes, o.UserReserveKbytes is null ? "derived from free ram at boot" : "");
        Text("thp.enabled", Scenarios.ThpConfig.EnabledNames[(int)o.Thp.Enabled]);
        Text("thp.defrag", Scenarios.ThpConfig.DefragNames[(int)o.Thp.Defrag], "one direct compaction where it allows (no direct reclaim); kswapd woken on a fallback");
        Bool("thp.use_zero_page", o.Thp.UseZeroPage);
        Num("thp.khugepaged.pages_to_scan", o.Thp.Khugepaged.PagesToScan);
        Num("thp.khugepaged.scan_sleep_millisecs", o.Thp.Khugepaged.ScanSleepMillisecs);
        Num("thp.khugepaged.alloc_sleep_millisecs", o.Thp.Khugepaged.AllocSleepMillisecs);
        Num("thp.khugepaged.max_ptes_none", o.Thp.Khugepaged.MaxPtesNone);
        Num("thp.khugepaged.max_ptes_swap", o.Thp.Khugepaged.MaxPtesSwap);
        Num("thp.khugepaged.max_ptes_shared", o.Thp.Khugepaged.MaxPtesShared);
        for (int i = 0; i < Scenarios.ThpConfig.SizeNames.Length; i++)
            Text("thp.sizes." + Scenarios.ThpConfig.SizeNames[i], MthpMode(o.Thp, i + Scenarios.ThpConfig.MinAnonOrder));
        // Read back: the pool the boot allocation got, which an aged or small machine may leave short of the request.
        Num("hugetlb.nr_hugepages", k.Hugetlb.NrHugePages,
            k.Hugetlb.NrHugePages != o.Hugetlb.NrHugepages ? FormattableString.Invariant($"asked {o.Hugetlb.NrHugepages}; the pool got what the free blocks allowed") : "");
        Num("hugetlb.nr_overcommit_hugepages", k.Hugetlb.NrOvercommitHugePages);
        Text("lru_gen.enabled", o.LruGen.EnabledText, o.LruGen.Enabled ? "" : "the classic active/inactive lists");
        Num("lru_gen.min_ttl_ms", o.LruGen.MinTtlMs, o.LruGen.MinTtlMs == 0 ? "off" : "");
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

        // hugepages-<size>kB/enabled: the mask that holds the order's bit (none: never).
        static string MthpMode(Scenarios.ThpConfig thp, int order)
        {
            int bit = 1 << order;
            return (thp.AnonOrdersAlways & bit) != 0 ? "always"
                : (thp.AnonOrdersInherit & bit) != 0 ? "inherit"
                : (thp.AnonOrdersMadvise & bit) != 0 ? "madvise"
                : "never";
        }

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
