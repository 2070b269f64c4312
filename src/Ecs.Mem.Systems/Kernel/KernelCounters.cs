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
        PgScanKswapd = r.Register("pgscan_kswapd");
        PgScanDirect = r.Register("pgscan_direct");
        PgStealKswapd = r.Register("pgsteal_kswapd");
        PgStealDirect = r.Register("pgsteal_direct");
        PgStealAnon = r.Register("pgsteal_anon");
        PgStealFile = r.Register("pgsteal_file");
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
        PgDeactivate = r.Register("pgdeactivate");
        ThpFaultAlloc = r.Register("thp_fault_alloc");
        ThpFaultFallback = r.Register("thp_fault_fallback");
        ThpSplitPage = r.Register("thp_split_page");
        ThpDeferredSplitPage = r.Register("thp_deferred_split_page");
        ThpSplitPmd = r.Register("thp_split_pmd");
        ThpZeroPageAlloc = r.Register("thp_zero_page_alloc");
        ThpZeroPageAllocFailed = r.Register("thp_zero_page_alloc_failed");
    }

    public CounterId PgFault, PgMajFault, PgAllocNormal, PgFree, PgPgIn, PgPgOut, PswpIn, PswpOut, SwapRa, SwapRaHit;
    public CounterId PgScanKswapd, PgScanDirect, PgStealKswapd, PgStealDirect, PgStealAnon, PgStealFile;
    public CounterId AllocStall, PageOutRun, KswapdWakeups, OomKill;
    public CounterId Segv, CowCopy, CowReuse, ZeroPageMap, StackGrowth, PageCacheHit, PageCacheMiss, SwapCacheHit;
    public CounterId FileWriteback, Referenced, PageTablePages, ContextSwitches;

    /// <summary>Pages read into the page cache by readahead beyond the page a fault or call asked for (Linux counts none).</summary>
    public CounterId ReadaheadPages;

    /// <summary>Neighbouring pages mapped by fault-around (do_fault_around) without a fault of their own (Linux counts none).</summary>
    public CounterId FaultAroundPages;

    /// <summary>pgdeactivate: active pages moved to the inactive list (MADV_COLD's folio_deactivate).</summary>
    public CounterId PgDeactivate;
    /// <summary>Transparent huge pages (HugeMemory/), under Linux's vmstat names and in its order.</summary>
    public CounterId ThpFaultAlloc, ThpFaultFallback, ThpSplitPage, ThpDeferredSplitPage, ThpSplitPmd, ThpZeroPageAlloc, ThpZeroPageAllocFailed;
}
