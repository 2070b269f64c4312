namespace EcsMem.Systems.Reporting;

/// <summary>
/// One CPU's per-CPU page list at the end of the run: the "pagesets" lines /proc/zoneinfo prints for each CPU
/// (mm/vmstat.c zoneinfo_show_print).
/// </summary>
/// <param name="Cpu">The CPU.</param>
/// <param name="Count">pcp-&gt;count: free pages on its list (not in MemFree, not in /proc/buddyinfo).</param>
/// <param name="High">pcp-&gt;high.</param>
/// <param name="Batch">pcp-&gt;batch.</param>
public readonly record struct PagesetRow(int Cpu, int Count, int High, int Batch);
