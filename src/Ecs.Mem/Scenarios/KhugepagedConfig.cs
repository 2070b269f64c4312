namespace EcsMem.Scenarios;

/// <summary>
/// The <c>machine.thp.khugepaged</c> section: /sys/kernel/mm/transparent_hugepage/khugepaged/, the knobs of the
/// kernel thread that collapses 4 KiB-mapped anonymous ranges into PMD-mapped huge pages (mm/khugepaged.c).
/// </summary>
/// <param name="PagesToScan">pages_to_scan: PTEs (and skipped VMAs) scanned per wake, HPAGE_PMD_NR * 8 = 4096.</param>
/// <param name="ScanSleepMillisecs">scan_sleep_millisecs: the sleep between two wakes while there is work (10 s).</param>
/// <param name="AllocSleepMillisecs">alloc_sleep_millisecs: the sleep after a failed order-9 allocation (60 s).</param>
/// <param name="MaxPtesNone">max_ptes_none: empty or zero-page PTEs a collapse may fill (HPAGE_PMD_NR - 1 = 511).</param>
/// <param name="MaxPtesSwap">max_ptes_swap: swap PTEs a collapse may read back in (HPAGE_PMD_NR / 8 = 64).</param>
/// <param name="MaxPtesShared">max_ptes_shared: PTEs of pages mapped more than once a collapse may copy (HPAGE_PMD_NR / 2 = 256).</param>
public readonly record struct KhugepagedConfig(int PagesToScan, long ScanSleepMillisecs, long AllocSleepMillisecs,
    int MaxPtesNone, int MaxPtesSwap, int MaxPtesShared)
{
    /// <summary>khugepaged_init's values (and the file's static initialisers) on x86-64.</summary>
    public static readonly KhugepagedConfig Default = new(4096, 10_000, 60_000, 511, 64, 256);

    /// <summary>The keys of the section, as the sysfs files are named.</summary>
    public static readonly string[] Keys =
        ["pages_to_scan", "scan_sleep_millisecs", "alloc_sleep_millisecs", "max_ptes_none", "max_ptes_swap", "max_ptes_shared"];
}
