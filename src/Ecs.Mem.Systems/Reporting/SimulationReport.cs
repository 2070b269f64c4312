using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Timing;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Everything <c>ecsmem run</c> reports about a finished (or interrupted) machine: simulated time and
/// where the cycles went, TLB and cache statistics, faults by class, swap and reclaim, kills, the
/// address-space operation log, one row per process with its /proc/&lt;pid&gt;/status lines, and the
/// /proc/vmstat, /proc/meminfo and /proc/buddyinfo views of the end state, and the effective configuration
/// (every machine value the run used). Built once by <see cref="Build"/>;
/// the text and JSON writers only format it. Contains no wall-clock value, so the same scenario always
/// gives the same report.
/// </summary>
public sealed record SimulationReport
{
    /// <summary>Version of the JSON layout (bumped when a key changes meaning or disappears).</summary>
    public const int SchemaVersion = 1;

    public required string Source { get; init; }
    public required string Policy { get; init; }
    public required string Paging { get; init; }
    public required long RamBytes { get; init; }
    public required long SwapBytes { get; init; }
    public required ulong Seed { get; init; }
    public required int Quantum { get; init; }
    public required double ClockGHz { get; init; }

    /// <summary>True when the run was stopped before every process finished (Ctrl-C).</summary>
    public required bool Partial { get; init; }

    /// <summary>
    /// <c>--warmup N</c>: N, or null without a warm-up (the report is then exactly as before). The statistics were
    /// reset once N accesses had completed; time, cycles and every counter are measured from that point.
    /// </summary>
    public long? WarmupAccesses { get; init; }

    /// <summary>With a warm-up: the accesses completed when the statistics were reset (N, fewer if the run ended first), or null if it was stopped before.</summary>
    public long? WarmupResetAt { get; init; }

    /// <summary>With a warm-up: all accesses completed, the excluded ones included.</summary>
    public long TotalAccesses { get; init; }

    /// <summary>Simulated time at the end (from the warm-up reset, with a warm-up), in cycles.</summary>
    public required ulong Cycles { get; init; }

    /// <summary>Simulated time in seconds at <see cref="ClockGHz"/>.</summary>
    public double Seconds => Cycles / (ClockGHz * 1e9);

    /// <summary>Memory accesses completed by all processes.</summary>
    public required long Accesses { get; init; }

    /// <summary>Average memory access time: (translation + cache/memory cycles) / accesses.</summary>
    public required double Amat { get; init; }

    /// <summary>All charged cycles (faults, reclaim and switches included) / accesses.</summary>
    public required double EffectiveAccessTime { get; init; }

    /// <summary>translation, memory, fault, reclaim, switch, then idle (CPU waiting for I/O with nothing runnable).</summary>
    public required IReadOnlyList<CycleRow> Breakdown { get; init; }

    /// <summary>Number of CPUs (machine.cpus).</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>
    /// Each CPU's own time at the end, summed: every cycle by which a CPU's clock advanced (translation, memory,
    /// fault, switch, shootdown and idle, the on-CPU rows of <see cref="Breakdown"/>).
    /// </summary>
    public ulong CpuTimeCycles { get; init; }

    public required IReadOnlyList<TlbLevelStats> Tlb { get; init; }

    /// <summary>
    /// The TLBs' hits and misses per page size (dtlb_4k, dtlb_2m, itlb_4k, itlb_2m, stlb_4k, stlb_2m: of the accesses
    /// to pages of that size, which hit the level), present only when a 2 MiB entry was used; empty otherwise.
    /// </summary>
    public IReadOnlyList<TlbLevelStats> TlbBySize { get; init; } = [];

    /// <summary>
    /// The paging-structure caches' lookups by the page walker (pml5e, pml4e, pdpte, pde: their <c>psc_*_hit</c> and
    /// <c>psc_*_miss</c> counters summed over CPUs), present only when <c>machine.tlb.psc</c> gives the core some.
    /// </summary>
    public IReadOnlyList<TlbLevelStats> Psc { get; init; } = [];

    /// <summary>TLB flush and context-switch counters.</summary>
    public required IReadOnlyList<NamedValue> TlbEvents { get; init; }

    public required IReadOnlyList<CacheLevelStats> Caches { get; init; }
    public required IReadOnlyList<NamedValue> Faults { get; init; }
    public required IReadOnlyList<NamedValue> Swap { get; init; }
    public required IReadOnlyList<NamedValue> Reclaim { get; init; }
    public required long OomKills { get; init; }
    public required IReadOnlyList<string> OomLog { get; init; }
    public required IReadOnlyList<string> KillLog { get; init; }
    public required IReadOnlyList<string> AddressSpaceLog { get; init; }
    public required IReadOnlyList<ProcessReport> Processes { get; init; }

    /// <summary>/proc/vmstat lines (gauges in pages, then event counters).</summary>
    public required IReadOnlyList<NamedValue> VmStat { get; init; }

    /// <summary>/proc/meminfo lines (kB).</summary>
    public required IReadOnlyList<NamedValue> MemInfo { get; init; }

    /// <summary>Free blocks per order 0..10 (free_area[order].nr_free).</summary>
    public required IReadOnlyList<long> BuddyFree { get; init; }

    /// <summary>The /proc/buddyinfo line.</summary>
    public required string BuddyInfo { get; init; }

    /// <summary>/proc/pagetypeinfo (PageAlloc/PageTypeInfo.cs), or null in a report built without it.</summary>
    public string? PageTypeInfo { get; init; }

    /// <summary>pagetypeinfo's figures: free blocks per migrate type (Unmovable, Movable, Reclaimable) and order, then pageblocks per type.</summary>
    public PageTypeFigures? PageTypes { get; init; }

    /// <summary>Every machine value the run used, under its scenario key (<see cref="Reporting.EffectiveConfiguration"/>).</summary>
    public required IReadOnlyList<ConfigValue> EffectiveConfiguration { get; init; }

    /// <summary>
    /// Each CPU's per-CPU page list (count, high, batch), or null when the lists are off
    /// (<c>machine.per_cpu_pages: false</c>), so that such a report carries no trace of them.
    /// </summary>
    public IReadOnlyList<PagesetRow>? Pagesets { get; init; }

    /// <summary>
    /// /sys/kernel/mm/transparent_hugepage/khugepaged/{pages_collapsed,full_scans}, or null when khugepaged never woke
    /// (no mm was ever registered), so that a run without THP carries no trace of it.
    /// </summary>
    public IReadOnlyList<NamedValue>? Khugepaged { get; init; }

    /// <summary>
    /// /sys/kernel/mm/transparent_hugepage/hugepages-&lt;size&gt;kB/stats/ of every enabled anonymous size and of 2048kB
    /// (anon_fault_alloc, anon_fault_fallback, anon_fault_fallback_charge, swpout, swpout_fallback), named
    /// <c>hugepages-64kB/anon_fault_alloc</c>; null unless a sub-PMD size is enabled (<c>machine.thp.sizes</c>), so
    /// that a run without mTHP carries no trace of it.
    /// </summary>
    public IReadOnlyList<NamedValue>? Mthp { get; init; }

    /// <summary>
    /// With several CPUs, the fault batches the CPUs handed the fault handler, by size: (faults in the batch,
    /// number of such batches), smallest first. Null with one CPU, where every batch holds one fault.
    /// </summary>
    public IReadOnlyList<(int Size, long Count)>? FaultBatches { get; init; }

    /// <summary>The memory cgroups' files at the end of the run (only when the scenario declares cgroups).</summary>
    public IReadOnlyList<MemcgFile>? Cgroups { get; init; }

    /// <summary>/sys/kernel/debug/lru_gen at the end of the run when the multi-gen LRU is on (null otherwise).</summary>
    public IReadOnlyList<LruGenFile>? LruGen { get; init; }

    /// <summary>
    /// The run's counters grouped under the seed's mechanisms (<see cref="Reporting.Mechanisms"/>), read from this
    /// same report; empty until <see cref="Build"/> fills it.
    /// </summary>
    public IReadOnlyList<Mechanism> Mechanisms { get; init; } = [];

    /// <summary>The <c>--snapshot</c> pictures, in the order asked for (empty without the option: no section, no key).</summary>
    public IReadOnlyList<Snapshot> Snapshots { get; init; } = [];

    /// <summary>
    /// Reads the report off <paramref name="machine"/>. <paramref name="statuses"/> supplies the at-exit
    /// status of processes that have exited (null: their torn-down figures are shown).
    /// </summary>
    public static SimulationReport Build(Machine.Machine machine, string source, ProcessStatusTracker? statuses = null)
    {
        Kernel.Kernel k = machine.Kernel;
        CounterRegistry c = machine.Env.Counters;
        CycleAccounting cyc = k.Cycles;
        long accesses = cyc.Accesses;
        double Per(long v) => accesses == 0 ? 0 : (double)v / accesses;
        var breakdown = new List<CycleRow>();
        foreach (CycleCategory cat in (ReadOnlySpan<CycleCategory>)[CycleCategory.Translation, CycleCategory.Memory, CycleCategory.Fault, CycleCategory.Reclaim, CycleCategory.Switch])
            breakdown.Add(new CycleRow(cat.ToString().ToLowerInvariant(), cyc[cat], cyc.CyclesPerAccess(cat)) { OffCpu = cat == CycleCategory.Reclaim });
        if (k.Options.Cpus > 1)
            breakdown.Add(new CycleRow("shootdown", cyc[CycleCategory.Shootdown], cyc.CyclesPerAccess(CycleCategory.Shootdown)));
        // Only when some was charged (async writeback's reclaim scan, khugepaged), so other reports keep their rows.
        if (cyc[CycleCategory.Kernel] > 0)
            breakdown.Add(new CycleRow("kernel", cyc[CycleCategory.Kernel], cyc.CyclesPerAccess(CycleCategory.Kernel)));
        if (cyc[CycleCategory.Compaction] > 0)
            breakdown.Add(new CycleRow("compaction", cyc[CycleCategory.Compaction], cyc.CyclesPerAccess(CycleCategory.Compaction)));
        breakdown.Add(new CycleRow("idle", machine.Access.IdleCycles, Per(machine.Access.IdleCycles)));

        // Measured from the statistics reset (all zero without one): the CPUs' own times and the simulated time.
        ReadOnlySpan<ulong> atReset = machine.CpuTimeAtReset;
        ulong cpuTime = 0;
        for (int cpu = 0; cpu < k.Smp.Count; cpu++)
            cpuTime += k.Smp.Time(cpu) - atReset[cpu];

        var caches = new List<CacheLevelStats>();
        foreach (var l in k.Caches.Levels)
            caches.Add(new CacheLevelStats(l.Name, l.Geometry.SizeBytes, l.Geometry.Ways, l.Geometry.LineBytes,
                l.Counters.Accesses, l.Counters.Misses, l.Counters.WriteBacks));

        var processes = new List<ProcessReport>();
        var world = k.World;
        for (int i = 0; i < k.Tasks.Processes.Count; i++)
        {
            Entity e = k.Tasks.Processes[i];
            ref Process p = ref world.Get<Process>(e);
            processes.Add(new ProcessReport
            {
                Pid = p.Pid,
                ParentPid = p.ParentPid,
                Name = k.Tasks.ProcessName(p),
                State = p.State,
                ExitSignal = p.ExitSignal,
                Stats = world.Get<ProcessStats>(e),
                Status = statuses?.StatusOf(k, e, i) ?? StatusNow(k, e),
            });
        }

        MemoryGauges gauges = MemoryGauges.Read(k);
        long[] buddy = k.Zone.Buddy.NrFree.ToArray();
        var report = new SimulationReport
        {
            Source = source,
            Policy = k.Options.Policy,
            Paging = k.Options.Paging.Name,
            RamBytes = k.Options.RamBytes,
            SwapBytes = k.Options.SwapBytes,
            Seed = k.Options.Seed,
            Quantum = k.Options.Quantum,
            ClockGHz = k.Timing.ClockGHz,
            Partial = !machine.Finished,
            Cycles = machine.Env.Now - machine.TimeAtReset,
            WarmupAccesses = machine.WarmupAccesses,
            WarmupResetAt = machine.WarmupAccesses is not null && machine.StatisticsReset ? machine.AccessesAtReset : null,
            TotalAccesses = machine.Access.CompletedAccesses,
            Accesses = accesses,
            Amat = cyc.Amat,
            EffectiveAccessTime = cyc.EffectiveAccessTime,
            Breakdown = breakdown,
            Cpus = k.Smp.Count,
            CpuTimeCycles = cpuTime,
            Tlb =
            [
                TlbLevel(c, "dtlb"), TlbLevel(c, "itlb"), TlbLevel(c, "stlb"),
            ],
            TlbBySize = TlbRowsBySize(c),
            Psc = PscRows(c),
            TlbEvents = Pick(c,
            [
                ("nr_tlb_local_flush_all", "full flushes of the current address space"),
                ("nr_tlb_local_flush_one", "single-page invalidations (INVLPG)"),
                ("nr_tlb_remote_flush", "shootdowns sent to other CPUs"),
                ("tlb_asid_switch_flush", "context switches that flushed the new PCID"),
                ("tlb_asid_switch_noflush", "context switches that kept the PCID's entries"),
                ("ecsmem_context_switches", "context switches"),
            ]),
            Caches = caches,
            Faults = Pick(c,
            [
                ("pgfault", "page faults handled"),
                ("pgmajfault", "major faults: waited for the disk (file read or swap-in)"),
                ("ecsmem_zero_page_map", "read of untouched anonymous memory: shared zero page mapped"),
                ("ecsmem_cow_copy", "write to a shared copy-on-write page: page copied"),
                ("ecsmem_cow_reuse", "write to a copy-on-write page nobody else maps: reused"),
                ("ecsmem_pagecache_hit", "file page found in the page cache (minor)"),
                ("ecsmem_pagecache_miss", "file page read from disk (major)"),
                ("ecsmem_readahead_pages", "pages read ahead into the page cache (readahead, WILLNEED)"),
                ("ecsmem_fault_around_pages", "cached neighbours mapped by fault-around (no fault of their own)"),
                ("ecsmem_swapcache_hit", "swapped-out page still in the swap cache (minor)"),
                ("pswpin", "swapped-out page read back from swap (major)"),
                ("ecsmem_stack_growth", "stack grown downwards by a fault"),
                ("ecsmem_sigsegv", "faults outside any VMA or against its protection: SIGSEGV"),
            ]),
            Swap = Pick(c,
            [
                ("pswpin", "pages read from swap"),
                ("pswpout", "pages written to swap"),
                ("pgpgin", "kB read from disk (swap and files)"),
                ("pgpgout", "kB written to disk (swap and files)"),
            ]),
            Reclaim = Pick(c,
            [
                ("pgscan_kswapd", "pages scanned by kswapd"),
                ("pgscan_direct", "pages scanned by direct reclaim"),
                ("pgsteal_kswapd", "pages reclaimed by kswapd"),
                ("pgsteal_direct", "pages reclaimed by direct reclaim"),
                ("pgsteal_anon", "anonymous pages reclaimed"),
                ("pgsteal_file", "file pages reclaimed"),
                ("pgscan_anon", "anonymous pages scanned on the inactive list (linux policy)"),
                ("pgscan_file", "file pages scanned on the inactive list (linux policy)"),
                ("pgrefill", "active pages scanned by shrink_active_list (linux policy)"),
                ("pgactivate", "pages moved to an active list (linux policy)"),
                ("pgdeactivate", "pages moved to an inactive list (linux policy)"),
                ("workingset_refault_anon", "anonymous pages read back over their shadow entry"),
                ("workingset_refault_file", "file pages read back over their shadow entry"),
                ("workingset_activate_anon", "anonymous refaults activated (distance within the workingset)"),
                ("workingset_activate_file", "file refaults activated (distance within the workingset)"),
                ("workingset_restore_anon", "anonymous refaults that were active before eviction"),
                ("workingset_restore_file", "file refaults that were active before eviction"),
                ("allocstall_normal", "allocations that stalled for direct reclaim"),
                ("pageoutrun", "kswapd runs (balance_pgdat)"),
                ("ecsmem_kswapd_wakeups", "kswapd wake-ups"),
                ("ecsmem_reclaim_referenced", "pages spared because they were referenced"),
                ("ecsmem_file_writeback", "dirty file pages written back by reclaim"),
            ]),
            OomKills = c.Get("oom_kill"),
            OomLog = k.Oom.Log.ToArray(),
            KillLog = k.Tasks.KillLog.ToArray(),
            AddressSpaceLog = machine.AddressSpace.Log.ToArray(),
            Processes = processes,
            VmStat = Reporting.VmStat.Build(gauges, c),
            MemInfo = Reporting.MemInfo.Build(gauges),
            BuddyFree = buddy,
            BuddyInfo = k.Zone.Buddy.FormatBuddyInfo(),
            PageTypeInfo = PageAlloc.PageTypeInfo.Format(k.Zone.Buddy),
            PageTypes = PageTypeFigures.Read(k.Zone.Buddy),
            Pagesets = ReadPagesets(k.Zone.Pcp),
            Khugepaged = k.Khugepaged.Wakes == 0 ? null : [new("pages_collapsed", k.Khugepaged.PagesCollapsed), new("full_scans", k.Khugepaged.FullScans)],
            Mthp = MthpStats(k),
            FaultBatches = k.Options.Cpus > 1 ? ReadBatches(machine.Access.FaultBatchSizes) : null,
            Cgroups = k.Memcg is null ? null : MemcgFiles.Read(k),
            LruGen = LruGenFiles.Read(k),
            EffectiveConfiguration = Reporting.EffectiveConfiguration.Read(k),
        };
        return report with { Mechanisms = Reporting.Mechanisms.Build(report) };
    }

    /// <summary>The mTHP stats files (<see cref="Mthp"/>), smallest size first, PMD size last.</summary>
    private static IReadOnlyList<NamedValue>? MthpStats(Kernel.Kernel k)
    {
        var t = k.Options.Thp;
        if (!t.AnyMthp)
            return null;
        int enabled = t.AnonOrdersAlways | t.AnonOrdersMadvise | t.AnonOrdersInherit | (1 << HugeMemory.HugeMemory.PmdOrder);
        var h = k.Thp;
        var rows = new List<NamedValue>();
        for (int order = Scenarios.ThpConfig.MinAnonOrder; order <= HugeMemory.HugeMemory.PmdOrder; order++)
        {
            if ((enabled & (1 << order)) == 0)
                continue;
            string dir = $"hugepages-{4 << order}kB/";
            rows.Add(new(dir + "anon_fault_alloc", h.AnonFaultAlloc[order]));
            rows.Add(new(dir + "anon_fault_fallback", h.AnonFaultFallback[order]));
            rows.Add(new(dir + "anon_fault_fallback_charge", h.AnonFaultFallbackCharge[order]));
            rows.Add(new(dir + "swpout", h.Swpout[order]));
            rows.Add(new(dir + "swpout_fallback", h.SwpoutFallback[order]));
        }
        return rows;
    }

    private static List<(int, long)> ReadBatches(ReadOnlySpan<long> sizes)
    {
        var rows = new List<(int, long)>();
        for (int n = 1; n < sizes.Length; n++)
            if (sizes[n] > 0)
                rows.Add((n, sizes[n]));
        return rows;
    }

    private static List<PagesetRow>? ReadPagesets(PerCpuPageSet? pcp)
    {
        if (pcp is null)
            return null;
        var rows = new List<PagesetRow>(pcp.Cpus);
        for (int cpu = 0; cpu < pcp.Cpus; cpu++)
            rows.Add(PagesetRow.Of(pcp, cpu));
        return rows;
    }

    private static ProcStatus StatusNow(Kernel.Kernel k, Entity e)
    {
        MmState mm = k.Tasks.MmOf(e);
        return ProcStatus.TaskMem(mm.Mm.Struct, mm.HiwaterVm, mm.HiwaterRss);
    }

    /// <summary>
    /// One TLB level's hits and misses. An L1 level is its 4 KiB array and the 2M array next to it: a hit in the 2M
    /// array was first a miss of the 4 KiB array (both are probed; the 4 KiB array counts every probe).
    /// </summary>
    private static TlbLevelStats TlbLevel(CounterRegistry c, string name)
    {
        long hugeHits = name == "stlb" ? 0 : c.Get(name + "_2m_hit");
        return new(name, c.Get(name + "_hit") + hugeHits, c.Get(name + "_miss") - hugeHits);
    }

    /// <summary>
    /// Hits and misses per page size, from the per-array counters (TlbHierarchy): a 2M row is its own counters; a 4K
    /// row is the level less the 2M row (so misses that ended in a fault, whose page size no walk established, count
    /// under 4K). Empty when no 2 MiB entry was ever looked up or filled, so 4 KiB-only reports are unchanged.
    /// </summary>
    private static List<TlbLevelStats> TlbRowsBySize(CounterRegistry c)
    {
        var list = new List<TlbLevelStats>(6);
        if (c.Get("dtlb_2m_hit") + c.Get("dtlb_2m_miss") + c.Get("itlb_2m_hit") + c.Get("itlb_2m_miss") + c.Get("stlb_2m_hit") + c.Get("stlb_2m_miss") == 0)
            return list;
        foreach (string name in (ReadOnlySpan<string>)["dtlb", "itlb", "stlb"])
        {
            TlbLevelStats level = TlbLevel(c, name);
            var huge = new TlbLevelStats(name + "_2m", c.Get(name + "_2m_hit"), c.Get(name + "_2m_miss"));
            list.Add(new TlbLevelStats(name + "_4k", level.Hits - huge.Hits, level.Misses - huge.Misses));
            list.Add(huge);
        }
        return list;
    }

    /// <summary>One row per paging-structure cache the machine has (registered), from the top level down.</summary>
    private static List<TlbLevelStats> PscRows(CounterRegistry c)
    {
        var list = new List<TlbLevelStats>(4);
        for (int level = Scenarios.PscConfig.Keys.Length; level >= 1; level--)
        {
            string name = Scenarios.PscConfig.Keys[level - 1];
            if (c.Contains("psc_" + name + "_hit"))
                list.Add(new TlbLevelStats(name, c.Get("psc_" + name + "_hit"), c.Get("psc_" + name + "_miss")));
        }
        return list;
    }

    private static List<NamedValue> Pick(CounterRegistry c, ReadOnlySpan<(string Name, string Description)> names)
    {
        var list = new List<NamedValue>(names.Length);
        foreach (var (name, description) in names)
            list.Add(new NamedValue(name, c.Get(name), description));
        return list;
    }
}
