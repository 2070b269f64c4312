using EcsMem.Simulation;

namespace EcsMem.Systems.Kernel;

/// <summary>
/// The event counters the kernel systems increment, under their /proc/vmstat names where Linux has one
/// (so a report reads like the real file) and an <c>ecsmem_</c> prefix where it does not.
/// </summary>
public sealed class KernelCounters
{
    public KernelCounters(CounterRegistry r)
    {
        PgFault = r.Register("pgfault");
        PgMajFault = r.Register("pgmajfault");
        PgAllocNormal = r.Register("pgalloc_normal");
        PgFree = r.Register("pgfree");
        PgPgIn = r.Register("pgpgin");
        PgPgOut = r.Register("pgpgout");
        PswpIn = r.Register("pswpin");
        PswpOut = r.Register("pswpout");
        SwapRa = r.Register("swap_ra");
        SwapRaHit = r.Register("swap_ra_hit");
        SwpinZero = r.Register("swpin_zero");
        SwpoutZero = r.Register("swpout_zero");
        PgScanKswapd = r.Register("pgscan_kswapd");
        PgScanDirect = r.Register("pgscan_direct");
        PgStealKswapd = r.Register("pgsteal_kswapd");
        PgStealDirect = r.Register("pgsteal_direct");
        PgStealAnon = r.Register("pgsteal_anon");
        PgStealFile = r.Register("pgsteal_file");
        PgScanAnon = r.Register("pgscan_anon");
        PgScanFile = r.Register("pgscan_file");
        PgActivate = r.Register("pgactivate");
        PgDeactivate = r.Register("pgdeactivate");
        PgRefill = r.Register("pgrefill");
        PgRotated = r.Register("pgrotated");
        PgLazyFree = r.Register("pglazyfree");
        PgLazyFreed = r.Register("pglazyfreed");
        WorkingsetRefaultAnon = r.Register("workingset_refault_anon");
        WorkingsetRefaultFile = r.Register("workingset_refault_file");
        WorkingsetActivateAnon = r.Register("workingset_activate_anon");
        WorkingsetActivateFile = r.Register("workingset_activate_file");
        WorkingsetRestoreAnon = r.Register("workingset_restore_anon");
        WorkingsetRestoreFile = r.Register("workingset_restore_file");
        AllocStall = r.Register("allocstall_normal");
        PageOutRun = r.Register("pageoutrun");
        KswapdWakeups = r.Register("ecsmem_kswapd_wakeups");
        OomKill = r.Register("oom_kill");
        Segv = r.Register("ecsmem_sigsegv");
        CowCopy = r.Register("ecsmem_cow_copy");
        CowReuse = r.Register("ecsmem_cow_reuse");
        ZeroPageMap = r.Register("ecsmem_zero_page_map");
        StackGrowth = r.Register("ecsmem_stack_growth");
        PageCacheHit = r.Register("ecsmem_pagecache_hit");
        PageCacheMiss = r.Register("ecsmem_pagecache_miss");
        SwapCacheHit = r.Register("ecsmem_swapcache_hit");
        FileWriteback = r.Register("ecsmem_file_writeback");
        Referenced = r.Register("ecsmem_reclaim_referenced");
        PageTablePages = r.Register("ecsmem_pgtable_alloc");
        ContextSwitches = r.Register("ecsmem_context_switches");
        ReadaheadPages = r.Register("ecsmem_readahead_pages");
        FaultAroundPages = r.Register("ecsmem_fault_around_pages");
        PgMigrateSuccess = r.Register("pgmigrate_success");
        PgMigrateFail = r.Register("pgmigrate_fail");
        CompactMigrateScanned = r.Register("compact_migrate_scanned");
        CompactFreeScanned = r.Register("compact_free_scanned");
        CompactIsolated = r.Register("compact_isolated");
        CompactStall = r.Register("compact_stall");
        CompactFail = r.Register("compact_fail");
        CompactSuccess = r.Register("compact_success");
        CompactDaemonWake = r.Register("compact_daemon_wake");
        CompactDaemonMigrateScanned = r.Register("compact_daemon_migrate_scanned");
        CompactDaemonFreeScanned = r.Register("compact_daemon_free_scanned");
        Extfrag = r.Register("ecsmem_extfrag");
        ThpFaultAlloc = r.Register("thp_fault_alloc");
        ThpFaultFallback = r.Register("thp_fault_fallback");
        ThpFaultFallbackCharge = r.Register("thp_fault_fallback_charge");
        ThpCollapseAlloc = r.Register("thp_collapse_alloc");
        ThpCollapseAllocFailed = r.Register("thp_collapse_alloc_failed");
        ThpSplitPage = r.Register("thp_split_page");
        ThpDeferredSplitPage = r.Register("thp_deferred_split_page");
        ThpSplitPmd = r.Register("thp_split_pmd");
        ThpScanExceedNonePte = r.Register("thp_scan_exceed_none_pte");
        ThpScanExceedSwapPte = r.Register("thp_scan_exceed_swap_pte");
        ThpScanExceedSharePte = r.Register("thp_scan_exceed_share_pte");
        ThpZeroPageAlloc = r.Register("thp_zero_page_alloc");
        ThpZeroPageAllocFailed = r.Register("thp_zero_page_alloc_failed");
        ThpSwpout = r.Register("thp_swpout");
        ThpSwpoutFallback = r.Register("thp_swpout_fallback");
    }

    public CounterId PgFault, PgMajFault, PgAllocNormal, PgFree, PgPgIn, PgPgOut, PswpIn, PswpOut, SwapRa, SwapRaHit;

    /// <summary>SWPIN_ZERO / SWPOUT_ZERO (6.12+): pages swapped in from, and out to, the swap area's zeromap without I/O.</summary>
    public CounterId SwpinZero, SwpoutZero;
    public CounterId PgScanKswapd, PgScanDirect, PgStealKswapd, PgStealDirect, PgStealAnon, PgStealFile;
    /// <summary>The Linux 6.x LRU's events (mm/vmscan.c, mm/swap.c, mm/workingset.c); the simple policies count only pgscan/pgsteal.</summary>
    public CounterId PgScanAnon, PgScanFile, PgActivate, PgDeactivate, PgRefill, PgRotated, PgLazyFree, PgLazyFreed;

    /// <summary>mm/workingset.c: refaults seen, and those activated (refault distance within the workingset) or restored (active before eviction).</summary>
    public CounterId WorkingsetRefaultAnon, WorkingsetRefaultFile, WorkingsetActivateAnon, WorkingsetActivateFile,
        WorkingsetRestoreAnon, WorkingsetRestoreFile;

    public CounterId AllocStall, PageOutRun, KswapdWakeups, OomKill;
    public CounterId Segv, CowCopy, CowReuse, ZeroPageMap, StackGrowth, PageCacheHit, PageCacheMiss, SwapCacheHit;
    public CounterId FileWriteback, Referenced, PageTablePages, ContextSwitches;

    /// <summary>Pages read into the page cache by readahead beyond the page a fault or call asked for (Linux counts none).</summary>
    public CounterId ReadaheadPages;

    /// <summary>Neighbouring pages mapped by fault-around (do_fault_around) without a fault of their own (Linux counts none).</summary>
    public CounterId FaultAroundPages;

    /// <summary>Transparent huge pages (HugeMemory/), under Linux's vmstat names and in its order.</summary>
    public CounterId ThpFaultAlloc, ThpFaultFallback, ThpSplitPage, ThpDeferredSplitPage, ThpSplitPmd, ThpZeroPageAlloc, ThpZeroPageAllocFailed;

    /// <summary>Page migration and direct compaction (Compaction/, mm/migrate.c and mm/compaction.c), in Linux's order.</summary>
    public CounterId PgMigrateSuccess, PgMigrateFail, CompactMigrateScanned, CompactFreeScanned, CompactIsolated, CompactStall, CompactFail, CompactSuccess;

    /// <summary>kcompactd (Compaction/Kcompactd.cs): wakes for an order (not proactive runs), and the pages its runs of either kind scanned.</summary>
    public CounterId CompactDaemonWake, CompactDaemonMigrateScanned, CompactDaemonFreeScanned;

    /// <summary>Allocations that fell back to another migrate type's free lists (the mm_page_alloc_extfrag tracepoint; Linux counts none).</summary>
    public CounterId Extfrag;

    /// <summary>khugepaged (HugeMemory/Khugepaged.cs): its order-9 allocations and the scans a max_ptes_* limit stopped.</summary>
    public CounterId ThpCollapseAlloc, ThpCollapseAllocFailed, ThpScanExceedNonePte, ThpScanExceedSwapPte, ThpScanExceedSharePte;

    /// <summary>THP_SWAP (Vmscan/ReclaimHost.cs): PMD-sized folios swapped out whole, and those split first because no order-9 swap entry was had.</summary>
    public CounterId ThpSwpout, ThpSwpoutFallback;

    /// <summary>THP faults whose folio the memcg would not take (mem_cgroup_charge failed after its reclaim): they fall back.</summary>
    public CounterId ThpFaultFallbackCharge;
}
