namespace EcsMem.Systems.Reporting;

/// <summary>
/// One CPU's per-CPU page list at the end of the run: the "pagesets" lines /proc/zoneinfo prints for each CPU
/// (mm/vmstat.c zoneinfo_show_print).
/// </summary>
/// <param name="Cpu">The CPU.</param>
/// <param name="Count">pcp-&gt;count: free pages on its list (not in MemFree, not in /proc/buddyinfo).</param>
/// <param name="High">pcp-&gt;high (Linux 6.7+: this CPU's tuned value, 0 until its list is first used).</param>
/// <param name="Batch">pcp-&gt;batch.</param>
/// <param name="HighMin">pcp-&gt;high_min (Linux 6.7+; -1 for the 6.6 model, whose zoneinfo has no such line).</param>
/// <param name="HighMax">pcp-&gt;high_max (Linux 6.7+; -1 for the 6.6 model).</param>
public readonly record struct PagesetRow(int Cpu, int Count, int High, int Batch, int HighMin = -1, int HighMax = -1)
{
    /// <summary>The row of <paramref name="cpu"/>'s list now: 6.7+'s five values, or 6.6's three.</summary>
    public static PagesetRow Of(PageAlloc.PerCpuPageSet pcp, int cpu) => pcp.HighTuning
        ? new PagesetRow(cpu, pcp.Count(cpu), pcp.HighOf(cpu), pcp.Batch, pcp.HighMin, pcp.HighMax)
        : new PagesetRow(cpu, pcp.Count(cpu), pcp.High, pcp.Batch);

    /// <summary>Whether the row carries high_min and high_max (Linux 6.7+'s zoneinfo lines).</summary>
    public bool Tuned => HighMin >= 0;
}
