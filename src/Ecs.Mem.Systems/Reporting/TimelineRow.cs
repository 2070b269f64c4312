namespace EcsMem.Systems.Reporting;

/// <summary>
/// One sample of the machine during a run (a row of the <c>--timeline</c> CSV and a point of the plot).
/// </summary>
/// <param name="Cycles">Simulated time.</param>
/// <param name="Accesses">Accesses completed by all processes.</param>
/// <param name="FreePages">Free frames (nr_free_pages).</param>
/// <param name="RssPages">Resident pages per process, index = pid - 1 (processes created later are absent).</param>
/// <param name="FaultRate">Page faults per access since the previous row.</param>
/// <param name="SwapUsedPages">Swap slots in use.</param>
/// <param name="PageCachePages">Pages in the page cache.</param>
public sealed record TimelineRow(ulong Cycles, long Accesses, long FreePages, ulong[] RssPages, double FaultRate, long SwapUsedPages, long PageCachePages);
