using System.Numerics;
using EcsMem.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace EcsMem.Scenarios;

/// <summary>Reads and validates the <c>machine:</c> section of a scenario.</summary>
internal sealed class MachineConfigParser(YamlValues values)
{
    private static readonly string[] MachineKeys =
    [
        "cpu", "cpus", "ram", "swap", "page_size", "paging", "caches", "tlb", "latency", "policy",
        "min_free_kbytes", "swappiness", "page_cluster", "swap_readahead", "swap_ra_hits", "swap_ra_window", "swap_ra_prev_offset", "swap_ra_clear_reclaim", "fault_around_bytes", "read_ahead_kb", "large_folios", "readahead_requests", "per_cpu_pages", "pcp_high_tuning", "pcp_high_order", "swapin_fault_in_window", "swap_ra_plug_flush", "reclaim_free_batch", "charge_after_alloc", "thp", "hugetlb", "pcid", "quantum",
        "smp_epoch", "batch", "seed",
        "readahead_queue", "overcommit_memory", "overcommit_ratio", "overcommit_kbytes", "admin_reserve_kbytes", "user_reserve_kbytes",
        "writeback", "cgroup_version",
        "disk_max_segments", "disk_queue_depth",
        "reclaim_cost",
        "dirty_background_ratio", "dirty_background_bytes", "dirty_ratio", "dirty_bytes", "dirty_expire_centisecs", "dirty_writeback_centisecs",
        "lru_gen",
        "swap_type",
        "compaction_proactiveness",
        "watermark_boost_factor",
        "free_area",
        "free_area_cache",
    ];

    private static readonly string[] CacheLevels = ["l1i", "l1d", "l2", "l3"];
    private static readonly string[] CacheKeys = ["size", "ways", "line", "inclusion", "shared"];
    private static readonly string[] TlbNames = ["dtlb", "itlb", "stlb", "dtlb_2m", "itlb_2m", "psc"];
    private static readonly string[] TlbKeys = ["entries", "ways"];
    private static readonly string[] ThpKeys = ["enabled", "defrag", "use_zero_page", "khugepaged", "sizes"];
    private static readonly string[] HugetlbKeys = ["nr_hugepages", "nr_overcommit_hugepages"];
    private static readonly string[] LruGenKeys = ["enabled", "min_ttl_ms"];
    private static readonly string[] FreeAreaCacheKeys = ["inactive_file", "active_file"];

    private static readonly string[] LatencyKeys =
    [
        "l1", "l2", "l3", "memory", "stlb", "walk_level", "minor_fault", "major_fault", "disk_page", "disk_us", "cpu_ghz",
        "swap_write", "shootdown", "context_switch", "clear_huge_page",
    ];

    private string Source => values.Source;

    /// <summary>
    /// Every value the <c>machine:</c> section accepts, as a dotted path below it (<c>ram</c>, <c>caches.l2.ways</c>,
    /// <c>tlb.psc.pde</c>, <c>thp.sizes.64K</c>), from the same key lists the parser checks a scenario against, so a key
    /// added to the parser is here too. <c>policy</c> is one value (its <c>options</c> are the policy's own).
    /// </summary>
    internal static IEnumerable<string> AcceptedKeys()
    {
        foreach (string key in MachineKeys)
        {
            switch (key)
            {
                case "caches":
                    foreach (string level in CacheLevels)
                        foreach (string k in CacheKeys)
                            yield return $"caches.{level}.{k}";
                    break;
                case "tlb":
                    foreach (string tlb in TlbNames)
                    {
                        if (tlb == "psc")
                            foreach (string level in PscConfig.Keys)
                                yield return "tlb.psc." + level;
                        else
                            foreach (string k in TlbKeys)
                                yield return $"tlb.{tlb}.{k}";
                    }
                    break;
                case "latency":
                    foreach (string k in LatencyKeys)
                        yield return "latency." + k;
                    break;
                case "reclaim_cost":
                    foreach (string k in ReclaimCostConfig.Keys)
                        yield return "reclaim_cost." + k;
                    break;
                case "thp":
                    foreach (string k in ThpKeys)
                    {
                        if (k == "khugepaged")
                            foreach (string kk in KhugepagedConfig.Keys)
                                yield return "thp.khugepaged." + kk;
                        else if (k == "sizes")
                            foreach (string size in ThpConfig.SizeNames)
                                yield return "thp.sizes." + size;
                        else
                            yield return "thp." + k;
                    }
                    break;
                case "hugetlb":
                    foreach (string k in HugetlbKeys)
                        yield return "hugetlb." + k;
                    break;
                case "lru_gen":
                    foreach (string k in LruGenKeys)
                        yield return "lru_gen." + k;
                    break;
                case "free_area_cache":
                    foreach (string k in FreeAreaCacheKeys)
                        yield return "free_area_cache." + k;
                    break;
                default:
                    yield return key;
                    break;
            }
        }
    }

    /// <summary>The machine described by <paramref name="node"/>, or the defaults when the section is absent (null).</summary>
    public MachineConfig Parse(YamlNode? node)
    {
        var m = new MachineConfig();
        if (node is null)
            return m;
        var s = new YamlSection(Source, node, "machine", MachineKeys);

        if (s.Get("page_size") is { } ps)
        {
            long size = values.Integer(ps, "machine.page_size", 1, int.MaxValue);
            if (size != MachineConfig.SupportedPageSize)
                throw values.Error(ps, "machine.page_size: only 4096-byte pages are supported");
        }
        if (s.Get("paging") is { } pg)
        {
            int i = values.Choice(pg, "machine.paging", "x86", "x86-64", "x86-64-la57");
            m = m with { Paging = i switch { 0 => PagingMode.X86, 1 => PagingMode.X86_64, _ => PagingMode.X86_64La57 } };
        }
        if (s.Get("ram") is { } ram)
            m = m with { RamBytes = PageMultiple(ram, "machine.ram", allowZero: false) };
        if (m.RamBytes > m.Paging.MaxPhysicalBytes())
            throw values.Error(s.Get("ram") ?? s.Node, $"machine.ram exceeds what {m.Paging.Name()} paging can address (4G)");
        if (s.Get("swap") is { } swap)
        {
            m = m with { SwapBytes = PageMultiple(swap, "machine.swap", allowZero: true) };
            if (m.SwapBytes > MachineConfig.MaxSwapBytes)
                throw values.Error(swap, "machine.swap: " + MachineConfig.MaxSwapReason);
        }

        if (s.Get("cpu") is { } cpu)
        {
            int i = values.Choice(cpu, "machine.cpu", "default", "host");
            m = m with { Cpu = i == 1 ? CpuGeometrySource.Host : CpuGeometrySource.Configured };
            if (i == 1 && s.Get("caches") is { } c)
                throw new InputException(Source, s.KeyLine("caches"), "caches",
                    "machine.caches cannot be combined with cpu: host (the host's caches are read from sysfs)");
        }
        if (s.Get("cpus") is { } cpus)
            m = m with { Cpus = (int)values.Integer(cpus, "machine.cpus", MachineConfig.MinCpus, MachineConfig.MaxCpus) };
        if (s.Get("caches") is { } caches)
        {
            var cs = new YamlSection(Source, caches, "machine.caches", CacheLevels);
            m = m with
            {
                L1i = Cache(cs, "l1i", m.L1i),
                L1d = Cache(cs, "l1d", m.L1d),
                L2 = Cache(cs, "l2", m.L2),
                L3 = Cache(cs, "l3", m.L3),
            };
        }
        if (s.Get("tlb") is { } tlb)
        {
            var ts = new YamlSection(Source, tlb, "machine.tlb", TlbNames);
            m = m with { Dtlb = Tlb(ts, "dtlb", m.Dtlb), Itlb = Tlb(ts, "itlb", m.Itlb), Stlb = Tlb(ts, "stlb", m.Stlb) };
            m = m with { Dtlb2M = Tlb(ts, "dtlb_2m", m.Dtlb2M), Itlb2M = Tlb(ts, "itlb_2m", m.Itlb2M) };
            if (ts.Get("psc") is { } psc)
                m = m with { Psc = Psc(new YamlSection(Source, psc, "machine.tlb.psc", PscConfig.Keys)) };
        }
        if (s.Get("latency") is { } lat)
            m = m with { Latency = Latency(lat) };
        if (s.Get("policy") is { } pol)
            m = m with { Policy = Policy(pol) };
        if (s.Get("min_free_kbytes") is { } mfk)
        {
            long ramKb = m.RamBytes / 1024;
            long v = values.Integer(mfk, "machine.min_free_kbytes", 0, long.MaxValue);
            if (v >= ramKb)
                throw values.Error(mfk, $"machine.min_free_kbytes must be less than the RAM size ({ramKb} KiB)");
            m = m with { MinFreeKbytes = v };
        }
        if (s.Get("swappiness") is { } sw)
            m = m with { Swappiness = (int)values.Integer(sw, "machine.swappiness", 0, 200) };
        if (s.Get("watermark_boost_factor") is { } wbf)
            m = m with { WatermarkBoostFactor = (int)values.Integer(wbf, "machine.watermark_boost_factor", 0, int.MaxValue) };
        if (s.Get("compaction_proactiveness") is { } cp)
            m = m with { CompactionProactiveness = (int)values.Integer(cp, "machine.compaction_proactiveness", 0, 100) };
        if (s.Get("page_cluster") is { } pc)
            m = m with { PageCluster = (int)values.Integer(pc, "machine.page_cluster", 0, MachineConfig.MaxPageCluster) };
        if (s.Get("swap_ra_hits") is { } srh)
            m = m with { SwapRaHits = (int)values.Integer(srh, "machine.swap_ra_hits", 0, int.MaxValue) };
        if (s.Get("swap_ra_window") is { } srw)
            m = m with { SwapRaWindow = (int)values.Integer(srw, "machine.swap_ra_window", 0, 1 << MachineConfig.MaxPageCluster) };
        if (s.Get("swap_ra_prev_offset") is { } srp)
            m = m with { SwapRaPrevOffset = values.Integer(srp, "machine.swap_ra_prev_offset", 0, long.MaxValue) };
        if (s.Get("swap_ra_clear_reclaim") is { } srcr)
            m = m with { SwapRaClearReclaim = values.Bool(srcr, "machine.swap_ra_clear_reclaim") };
        if (s.Get("swap_readahead") is { } sra)
            m = m with { SwapVmaReadahead = values.Choice(sra, "machine.swap_readahead", "cluster", "vma") == 1 };
        if (s.Get("swap_type") is { } st)
            m = m with { SwapBlockDevice = values.Choice(st, "machine.swap_type", "file", "partition") == 1 };
        if (s.Get("writeback") is { } wb)
        {
            m = m with { WritebackAsync = values.Choice(wb, "machine.writeback", "sync", "async") == 1 };
            // Only the linux policy's lruvec keeps a page under PG_writeback until folio_end_writeback (the kernel builds
            // the writeback queue and the flusher with it alone); a simple policy would silently write inside reclaim.
            if (m.WritebackAsync && m.Policy.Name != ReplacementPolicyConfig.DefaultName)
                throw values.Error(wb, ReplacementPolicyConfig.WritebackNeedsLinux(m.Policy.Name));
        }
        if (s.Get("disk_max_segments") is { } dms)
            m = m with { DiskMaxSegments = (int)values.Integer(dms, "machine.disk_max_segments", 1, 1 << 20) };
        if (s.Get("disk_queue_depth") is { } dqd)
            m = m with { DiskQueueDepth = (int)values.Integer(dqd, "machine.disk_queue_depth", 1, 4096) };
        if (s.Get("reclaim_cost") is { } rc)
            m = m with { ReclaimCost = ReclaimCost(new YamlSection(Source, rc, "machine.reclaim_cost", ReclaimCostConfig.Keys)) };
        if (s.Get("dirty_background_ratio") is { } dbr)
            m = m with { DirtyBackgroundRatio = (int)values.Integer(dbr, "machine.dirty_background_ratio", 0, 100) };
        if (s.Get("dirty_background_bytes") is { } dbb)
        {
            if (s.Get("dirty_background_ratio") is not null)
                throw values.Error(dbb, "machine.dirty_background_bytes and machine.dirty_background_ratio exclude each other (Linux zeroes one when the other is written)");
            long v = values.Size(dbb, "machine.dirty_background_bytes");
            if (v < 1)
                throw values.Error(dbb, "machine.dirty_background_bytes must be at least 1 byte");
            m = m with { DirtyBackgroundBytes = v, DirtyBackgroundRatio = 0 };
        }
        if (s.Get("dirty_ratio") is { } dr)
            m = m with { DirtyRatio = (int)values.Integer(dr, "machine.dirty_ratio", 0, 100) };
        if (s.Get("dirty_bytes") is { } db)
        {
            if (s.Get("dirty_ratio") is not null)
                throw values.Error(db, "machine.dirty_bytes and machine.dirty_ratio exclude each other (Linux zeroes one when the other is written)");
            // dirty_bytes_handler refuses less than two pages.
            long v = values.Size(db, "machine.dirty_bytes");
            if (v < 2 * MachineConfig.SupportedPageSize)
                throw values.Error(db, $"machine.dirty_bytes must be at least two pages ({2 * MachineConfig.SupportedPageSize} bytes), as vm.dirty_bytes");
            m = m with { DirtyBytes = v, DirtyRatio = 0 };
        }
        if (s.Get("dirty_expire_centisecs") is { } dec)
            m = m with { DirtyExpireCentisecs = values.Integer(dec, "machine.dirty_expire_centisecs", 0, int.MaxValue) };
        if (s.Get("dirty_writeback_centisecs") is { } dwc)
            m = m with { DirtyWritebackCentisecs = values.Integer(dwc, "machine.dirty_writeback_centisecs", 0, int.MaxValue) };
        if (s.Get("cgroup_version") is { } cgv)
            m = m with { CgroupVersion = (int)values.Integer(cgv, "machine.cgroup_version", 1, 2) };
        if (s.Get("fault_around_bytes") is { } fab)
            m = m with { FaultAroundBytes = values.Integer(fab, "machine.fault_around_bytes", 0, MachineConfig.MaxFaultAroundBytes) };
        if (s.Get("read_ahead_kb") is { } rak)
            m = m with { ReadAheadKb = values.Integer(rak, "machine.read_ahead_kb", 0, MachineConfig.MaxReadAheadKb) };
        if (s.Get("large_folios") is { } lf)
            m = m with { LargeFolios = values.Bool(lf, "machine.large_folios") };
        if (s.Get("readahead_requests") is { } rar)
            m = m with { ReadaheadRequests = values.Bool(rar, "machine.readahead_requests") };
        if (s.Get("per_cpu_pages") is { } pcp)
            m = m with { PerCpuPages = values.Bool(pcp, "machine.per_cpu_pages") };
        if (s.Get("pcp_high_tuning") is { } tuning)
            m = m with { PcpHighTuning = values.Bool(tuning, "machine.pcp_high_tuning") };
        if (s.Get("pcp_high_order") is { } highOrder)
            m = m with { PcpHighOrder = values.Bool(highOrder, "machine.pcp_high_order") };
        if (s.Get("swapin_fault_in_window") is { } swapinFault)
            m = m with { SwapinFaultInWindow = values.Bool(swapinFault, "machine.swapin_fault_in_window") };
        if (s.Get("swap_ra_plug_flush") is { } plugFlush)
            m = m with { SwapRaPlugFlush = values.Bool(plugFlush, "machine.swap_ra_plug_flush") };
        if (s.Get("charge_after_alloc") is { } chargeAfter)
            m = m with { ChargeAfterAlloc = values.Bool(chargeAfter, "machine.charge_after_alloc") };
        if (s.Get("reclaim_free_batch") is { } freeBatch)
            m = m with { ReclaimFreeBatch = values.Bool(freeBatch, "machine.reclaim_free_batch") };
        if (s.Get("overcommit_memory") is { } ocm)
            m = m with { OvercommitMemory = (int)values.Integer(ocm, "machine.overcommit_memory", 0, 2) };
        if (s.Get("readahead_queue") is { } raq)
            m = m with { ReadaheadQueue = values.Bool(raq, "machine.readahead_queue") };
        if (s.Get("overcommit_ratio") is { } ocr)
            m = m with { OvercommitRatio = values.Integer(ocr, "machine.overcommit_ratio", 0, int.MaxValue) };
        if (s.Get("overcommit_kbytes") is { } ock)
        {
            // Linux keeps one of the two: writing either sysctl zeroes the other (overcommit_*_handler).
            if (s.Get("overcommit_ratio") is not null)
                throw values.Error(ock, "machine.overcommit_kbytes and machine.overcommit_ratio exclude each other (Linux zeroes one when the other is written)");
            m = m with { OvercommitKbytes = values.Integer(ock, "machine.overcommit_kbytes", 0, long.MaxValue / 1024), OvercommitRatio = 0 };
        }
        if (s.Get("admin_reserve_kbytes") is { } ark)
            m = m with { AdminReserveKbytes = values.Integer(ark, "machine.admin_reserve_kbytes", 0, long.MaxValue / 1024) };
        if (s.Get("user_reserve_kbytes") is { } urk)
            m = m with { UserReserveKbytes = values.Integer(urk, "machine.user_reserve_kbytes", 0, long.MaxValue / 1024) };
        if (s.Get("thp") is { } thp)
            m = m with { Thp = Thp(new YamlSection(Source, thp, "machine.thp", ThpKeys)) };
        if (s.Get("hugetlb") is { } htlb)
        {
            var hs = new YamlSection(Source, htlb, "machine.hugetlb", HugetlbKeys);
            var h = m.Hugetlb;
            if (hs.Get("nr_hugepages") is { } nr)
                h = h with { NrHugepages = values.Integer(nr, "machine.hugetlb.nr_hugepages", 0, 1 << 24) };
            if (hs.Get("nr_overcommit_hugepages") is { } oc)
                h = h with { NrOvercommitHugepages = values.Integer(oc, "machine.hugetlb.nr_overcommit_hugepages", 0, 1 << 24) };
            m = m with { Hugetlb = h };
        }
        if (s.Get("free_area") is { } fa)
            m = m with { FreeArea = FreeArea(fa, m) };
        if (s.Get("free_area_cache") is { } fac)
            m = m with { FreeArea = FreeAreaCache(fac, m) };
        if (s.Get("lru_gen") is { } lg)
            m = m with { LruGen = LruGen(new YamlSection(Source, lg, "machine.lru_gen", LruGenKeys), m) };
        if (s.Get("pcid") is { } pcid)
            m = m with { Pcid = values.Bool(pcid, "machine.pcid") };
        if (s.Get("quantum") is { } q)
            m = m with { Quantum = values.Integer(q, "machine.quantum", 1, long.MaxValue) };
        if (s.Get("smp_epoch") is { } epoch)
            m = m with { SmpEpoch = values.Integer(epoch, "machine.smp_epoch", 1, 1_000_000_000) };
        if (s.Get("batch") is { } b)
            m = m with { BatchSize = (int)values.Integer(b, "machine.batch", 1, 1 << 20) };
        if (s.Get("seed") is { } seed)
            m = m with { Seed = values.Unsigned(seed, "machine.seed") };
        return m;
    }

    /// <summary>machine.thp: the three transparent_hugepage files.</summary>
    private ThpConfig Thp(YamlSection s)
    {
        var t = ThpConfig.Default;
        if (s.Get("enabled") is { } e)
            t = t with { Enabled = (ThpEnabled)values.Choice(e, "machine.thp.enabled", ThpConfig.EnabledNames) };
        if (s.Get("defrag") is { } d)
            t = t with { Defrag = (ThpDefrag)values.Choice(d, "machine.thp.defrag", ThpConfig.DefragNames) };
        if (s.Get("use_zero_page") is { } z)
            t = t with { UseZeroPage = values.Bool(z, "machine.thp.use_zero_page") };
        if (s.Get("khugepaged") is { } k)
            t = t with { Khugepaged = Khugepaged(new YamlSection(Source, k, "machine.thp.khugepaged", KhugepagedConfig.Keys)) };
        if (s.Get("sizes") is { } sz)
            t = MthpSizes(new YamlSection(Source, sz, "machine.thp.sizes", ThpConfig.SizeNames), t);
        return t;
    }

    /// <summary>machine.thp.sizes: hugepages-&lt;size&gt;kB/enabled per sub-PMD size (16K … 1M): always, inherit, madvise or never.</summary>
    private ThpConfig MthpSizes(YamlSection s, ThpConfig t)
    {
        ushort always = 0, madvise = 0, inherit = 0;
        for (int i = 0; i < ThpConfig.SizeNames.Length; i++)
        {
            if (s.Get(ThpConfig.SizeNames[i]) is not { } v)
                continue;
            ushort bit = (ushort)(1 << (i + ThpConfig.MinAnonOrder));
            switch (values.Choice(v, "machine.thp.sizes." + ThpConfig.SizeNames[i], ThpConfig.SizeModeNames))
            {
                case 0: always |= bit; break;
                case 1: inherit |= bit; break;
                case 2: madvise |= bit; break;
            }
        }
        return t with { AnonOrdersAlways = always, AnonOrdersMadvise = madvise, AnonOrdersInherit = inherit };
    }

    /// <summary>machine.lru_gen: /sys/kernel/mm/lru_gen/enabled (n, y or a number of capability bits) and min_ttl_ms.</summary>
    private LruGenConfig LruGen(YamlSection s, MachineConfig m)
    {
        var g = LruGenConfig.Default;
        if (s.Get("enabled") is { } e)
        {
            // YAML reads a bare y/n/yes/no as a boolean; the sysfs file takes the first letter either way.
            string text = values.Text(e, "machine.lru_gen.enabled");
            text = text switch { "true" or "True" => "y", "false" or "False" => "n", _ => text };
            uint caps = LruGenConfig.ParseEnabled(text)
                ?? throw values.Error(e, "machine.lru_gen.enabled must be y, n or a number of capability bits (0x0001 core, 0x0002 mm walk, 0x0004 non-leaf young)");
            g = g with { Caps = caps };
            if (g.Enabled && m.Policy.Name != ReplacementPolicyConfig.DefaultName)
                throw values.Error(e, $"machine.lru_gen.enabled: the multi-gen LRU replaces the lists of the linux policy, not of {m.Policy.Name}");
        }
        if (s.Get("min_ttl_ms") is { } t)
            g = g with { MinTtlMs = (uint)values.Integer(t, "machine.lru_gen.min_ttl_ms", 0, uint.MaxValue) };
        return g;
    }

    /// <summary>
    /// machine.thp.khugepaged: the sysfs files' bounds as their store functions check them (pages_to_scan at least 1,
    /// each max_ptes_* at most HPAGE_PMD_NR - 1 = 511, the sleeps any unsigned int of milliseconds, except that
    /// scan_sleep_millisecs 0, which makes Linux's thread scan without pause, would never let simulated time move on).
    /// </summary>
    private KhugepagedConfig Khugepaged(YamlSection s)
    {
        var k = KhugepagedConfig.Default;
        const string P = "machine.thp.khugepaged.";
        if (s.Get("pages_to_scan") is { } n)
            k = k with { PagesToScan = (int)values.Integer(n, P + "pages_to_scan", 1, uint.MaxValue >> 1) };
        if (s.Get("scan_sleep_millisecs") is { } ss)
            k = k with { ScanSleepMillisecs = values.Integer(ss, P + "scan_sleep_millisecs", 1, uint.MaxValue) };
        if (s.Get("alloc_sleep_millisecs") is { } als)
            k = k with { AllocSleepMillisecs = values.Integer(als, P + "alloc_sleep_millisecs", 0, uint.MaxValue) };
        if (s.Get("max_ptes_none") is { } none)
            k = k with { MaxPtesNone = (int)values.Integer(none, P + "max_ptes_none", 0, 511) };
        if (s.Get("max_ptes_swap") is { } swap)
            k = k with { MaxPtesSwap = (int)values.Integer(swap, P + "max_ptes_swap", 0, 511) };
        if (s.Get("max_ptes_shared") is { } shared)
            k = k with { MaxPtesShared = (int)values.Integer(shared, P + "max_ptes_shared", 0, 511) };
        return k;
    }

    private long PageMultiple(YamlNode node, string path, bool allowZero)
    {
        long v = values.Size(node, path);
        if (v == 0 && allowZero)
            return 0;
        if (v < MachineConfig.SupportedPageSize)
            throw values.Error(node, $"{path} is smaller than one page ({MachineConfig.SupportedPageSize} bytes)");
        if (v % MachineConfig.SupportedPageSize != 0)
            throw values.Error(node, $"{path} must be a multiple of the page size ({MachineConfig.SupportedPageSize} bytes)");
        return v;
    }

    private CacheConfig Cache(YamlSection caches, string level, CacheConfig defaults)
    {
        if (caches.Get(level) is not { } node)
            return defaults;
        string path = caches.PathOf(level);
        var s = new YamlSection(Source, node, path, CacheKeys);
        long size = s.Get("size") is { } sz ? values.Size(sz, path + ".size") : defaults.SizeBytes;
        int ways = s.Get("ways") is { } w ? (int)values.Integer(w, path + ".ways", 1, 1 << 16) : defaults.Ways;
        int line = s.Get("line") is { } l ? (int)values.Integer(l, path + ".line", 1, 1 << 16) : defaults.LineBytes;
        var inclusion = s.Get("inclusion") is { } inc
            ? (CacheInclusion)values.Choice(inc, path + ".inclusion", "non-inclusive", "inclusive")
            : defaults.Inclusion;
        bool shared = s.Get("shared") is { } sh ? values.Bool(sh, path + ".shared") : defaults.Shared;
        if (!BitOperations.IsPow2(line))
            throw values.Error(s.Get("line")!, $"{path}.line must be a power of two");
        // The set index is taken from address bits, so only the number of sets must be a power of two;
        // ways need not be (a 3072K 12-way cache with 64-byte lines has 4096 sets).
        YamlNode blame = s.Get("size") ?? s.Get("ways") ?? node;
        long setBytes = (long)ways * line;
        if (size <= 0 || size % setBytes != 0)
            throw values.Error(blame, $"{path}: size {size} is not a whole number of sets of {ways} ways x {line}-byte lines");
        long sets = size / setBytes;
        if (!BitOperations.IsPow2(sets))
            throw values.Error(blame, $"{path}: {size} bytes / ({ways} ways x {line}-byte lines) = {sets} sets; sets must be a power of two");
        return new CacheConfig(size, ways, line, inclusion) { Shared = shared };
    }

    private TlbConfig Tlb(YamlSection tlbs, string name, TlbConfig defaults)
    {
        if (tlbs.Get(name) is not { } node)
            return defaults;
        string path = tlbs.PathOf(name);
        var s = new YamlSection(Source, node, path, TlbKeys);
        int entries = s.Get("entries") is { } e ? (int)values.Integer(e, path + ".entries", 1, 1 << 24) : defaults.Entries;
        int ways = s.Get("ways") is { } w ? (int)values.Integer(w, path + ".ways", 1, 1 << 24) : defaults.Ways;
        YamlNode blame = s.Get("entries") ?? s.Get("ways") ?? node;
        if (entries % ways != 0)
            throw values.Error(blame, $"{path}: {entries} entries is not a whole number of {ways}-way sets");
        if (!BitOperations.IsPow2(entries / ways))
            throw values.Error(blame, $"{path}: {entries} entries / {ways} ways = {entries / ways} sets; sets must be a power of two");
        return new TlbConfig(entries, ways);
    }

    /// <summary>
    /// <c>machine.tlb.psc</c>: each cache is either a number of entries (fully associative) or
    /// <c>{entries, ways}</c> as a TLB; 0 or absent is a cache the core does not have.
    /// </summary>
    private PscConfig Psc(YamlSection s)
    {
        TlbConfig? Level(string key)
        {
            if (s.Get(key) is not { } node)
                return null;
            if (node is YamlScalarNode)
            {
                int entries = (int)values.Integer(node, s.PathOf(key), 0, 1 << 16);
                return entries == 0 ? null : new TlbConfig(entries, entries);
            }
            return Tlb(s, key, new TlbConfig(1, 1));
        }
        return new PscConfig(Level("pde"), Level("pdpte"), Level("pml4e"), Level("pml5e"));
    }

    /// <summary><c>machine.reclaim_cost</c>: each step's nanoseconds (0 to 1 s); an absent key keeps its measured default.</summary>
    private ReclaimCostConfig ReclaimCost(YamlSection s)
    {
        long[] v = new ReclaimCostConfig().Values;
        for (int i = 0; i < v.Length; i++)
            if (s.Get(ReclaimCostConfig.Keys[i]) is { } node)
                v[i] = values.Integer(node, s.PathOf(ReclaimCostConfig.Keys[i]), 0, 1_000_000_000);
        return ReclaimCostConfig.FromValues(v);
    }

    private LatencyConfig Latency(YamlNode node)
    {
        var s = new YamlSection(Source, node, "machine.latency", LatencyKeys);
        var d = new LatencyConfig();
        long Cycles(string key, long def) =>
            s.Get(key) is { } n ? values.Integer(n, s.PathOf(key), 0, long.MaxValue) : def;

        long major = d.MajorFault;
        var disk = s.Get("disk_us");
        var ghz = s.Get("cpu_ghz");
        if (s.Get("major_fault") is { } mf)
        {
            if (disk is not null || ghz is not null)
                throw values.Error(disk ?? ghz!, "machine.latency: give either major_fault (cycles) or disk_us with cpu_ghz, not both");
            major = Cycles("major_fault", major);
        }
        else if (disk is not null || ghz is not null)
        {
            if (disk is null || ghz is null)
                throw values.Error(disk ?? ghz!, "machine.latency: disk_us and cpu_ghz must be given together");
            // µs × (10^3 cycles per µs per GHz) × GHz = cycles.
            double cycles = Math.Round(values.Positive(disk, "machine.latency.disk_us") * values.Positive(ghz, "machine.latency.cpu_ghz") * 1000.0);
            if (cycles >= long.MaxValue)
                throw values.Error(disk, "machine.latency.disk_us is too large");
            major = (long)cycles;
        }
        return new LatencyConfig
        {
            L1 = Cycles("l1", d.L1),
            L2 = Cycles("l2", d.L2),
            L3 = Cycles("l3", d.L3),
            Memory = Cycles("memory", d.Memory),
            Stlb = Cycles("stlb", d.Stlb),
            WalkLevel = Cycles("walk_level", d.WalkLevel),
            MinorFault = Cycles("minor_fault", d.MinorFault),
            MajorFault = major,
            DiskPage = Cycles("disk_page", d.DiskPage),
            SwapWrite = Cycles("swap_write", d.SwapWrite),
            Shootdown = Cycles("shootdown", d.Shootdown),
            ContextSwitch = Cycles("context_switch", d.ContextSwitch),
            ClearHugePage = Cycles("clear_huge_page", d.ClearHugePage),
        };
    }

    private ReplacementPolicyConfig Policy(YamlNode node)
    {
        // Shorthand `policy: clock` or the full `policy: {name: clock, options: {...}}`.
        YamlNode nameNode;
        var options = new List<PolicyOption>();
        if (node is YamlScalarNode)
        {
            nameNode = node;
        }
        else
        {
            var s = new YamlSection(Source, node, "machine.policy", "name", "options");
            nameNode = s.Get("name") ?? throw new InputException(Source, s.Line, "", "machine.policy has no 'name'");
            if (s.Get("options") is { } opts)
            {
                var os = opts as YamlMappingNode ?? throw values.Error(opts, "machine.policy.options must be a mapping of keys to values");
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (k, v) in os.Children)
                {
                    string key = values.NonEmptyText(k, "a machine.policy.options key");
                    if (!seen.Add(key))
                        throw values.Error(k, "duplicate key in machine.policy.options");
                    options.Add(new PolicyOption(key, values.Text(v, "machine.policy.options." + key).Trim(), YamlValues.LineOf(v)));
                }
            }
        }
        string name = values.NonEmptyText(nameNode, "machine.policy.name");
        foreach (char c in name)
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.'))
                throw values.Error(nameNode, "machine.policy.name must be a registry name (lower-case letters, digits, '-', '_', '.')");
        return new ReplacementPolicyConfig(name, options, YamlValues.LineOf(nameNode));
    }

    /// <summary>
    /// machine.free_area: 11 free-block counts (orders 0..10, a /proc/buddyinfo line's columns) that fit in the RAM,
    /// each block below order 10 with its buddy, as <c>AgedFreeArea.Fits</c> checks (here in pages: 2^(k+1) per block).
    /// </summary>
    private FreeAreaConfig FreeArea(YamlNode node, MachineConfig m)
    {
        YamlSequenceNode seq = values.Sequence(node, "machine.free_area");
        if (seq.Children.Count != FreeAreaConfig.Orders)
            throw values.Error(node, $"machine.free_area must list {FreeAreaConfig.Orders} counts, the free blocks of orders 0..10 as /proc/buddyinfo gives them (it lists {seq.Children.Count})");
        var blocks = new long[FreeAreaConfig.Orders];
        long needed = 0;
        for (int k = 0; k < blocks.Length; k++)
        {
            blocks[k] = values.Integer(seq.Children[k], $"machine.free_area[{k}]", 0, 1L << 31);
            needed += blocks[k] * (k == FreeAreaConfig.Orders - 1 ? 1L << k : 2L << k);
        }
        long capacity = (m.RamPages >> 10) << 10;
        if (needed > capacity)
            throw values.Error(node, $"machine.free_area's blocks with their buddies need {needed} pages; machine.ram's whole 4 MiB blocks hold {capacity}");
        return new FreeAreaConfig(blocks);
    }

    /// <summary>
    /// machine.free_area_cache: <c>{inactive_file: N, active_file: M}</c>, how many of free_area's held pages start as
    /// clean page cache on each file LRU list. Needs machine.free_area; together at most the held pages (the RAM less
    /// the free blocks' pages and the zero page, the first held page).
    /// </summary>
    private FreeAreaConfig FreeAreaCache(YamlNode node, MachineConfig m)
    {
        var s = new YamlSection(Source, node, "machine.free_area_cache", FreeAreaCacheKeys);
        if (m.FreeArea is not { } fa)
            throw values.Error(node, "machine.free_area_cache needs machine.free_area (the cache is made of the pages its free blocks leave held)");
        long inactive = s.Get("inactive_file") is { } i ? values.Integer(i, "machine.free_area_cache.inactive_file", 0, 1L << 31) : 0;
        long active = s.Get("active_file") is { } a ? values.Integer(a, "machine.free_area_cache.active_file", 0, 1L << 31) : 0;
        long held = Math.Max(0, m.RamPages - fa.FreePages - 1); // a zone with nothing held takes its zero page from the free lists
        if (inactive + active > held)
            throw values.Error(node, $"machine.free_area_cache asks for {inactive + active} pages of page cache; machine.free_area leaves {held} pages held (the RAM's {m.RamPages} less {fa.FreePages} free and the zero page)");
        return fa with { InactiveFile = inactive, ActiveFile = active };
    }
}
