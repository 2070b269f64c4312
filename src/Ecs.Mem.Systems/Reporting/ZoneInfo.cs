using System.Globalization;
using System.Text;
using EcsMem.Systems.PageAlloc;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// The simulator's one zone as /proc/zoneinfo shows it: the values EcsMem keeps, in the file's order.
/// </summary>
/// <param name="Node">pgdat-&gt;node_id (always 0).</param>
/// <param name="Zone">zone-&gt;name.</param>
/// <param name="PerNode">The "per-node stats" items EcsMem has (pages).</param>
/// <param name="Free">pages free (NR_FREE_PAGES).</param>
/// <param name="Min">WMARK_MIN.</param>
/// <param name="Low">WMARK_LOW.</param>
/// <param name="High">WMARK_HIGH.</param>
/// <param name="Spanned">spanned_pages.</param>
/// <param name="Present">present_pages.</param>
/// <param name="Managed">zone_managed_pages().</param>
/// <param name="ZoneStats">The zone stat items EcsMem has (pages).</param>
/// <param name="Pagesets">Each CPU's pcp count, high and batch (null when the per-CPU lists are off).</param>
/// <param name="StartPfn">zone_start_pfn.</param>
/// <param name="NodeUnreclaimable">node_unreclaimable: pgdat-&gt;kswapd_failures &gt;= MAX_RECLAIM_RETRIES (kswapd gave up on the node).</param>
/// <param name="Boost">zone-&gt;watermark_boost (pages); min, low and high include it, as Linux prints them.</param>
public sealed record ZoneInfoSnapshot(int Node, string Zone, IReadOnlyList<NamedValue> PerNode, long Free, long Min, long Low,
    long High, long Spanned, long Present, long Managed, IReadOnlyList<NamedValue> ZoneStats,
    IReadOnlyList<PagesetRow>? Pagesets, long StartPfn, bool NodeUnreclaimable = false, long Boost = 0);

/// <summary>
/// /proc/zoneinfo for the zone, printed as mm/vmstat.c zoneinfo_show_print does, keeping only the lines EcsMem
/// has a value for (docs/report.md lists the ones left out: promo, cma, protection, the items of
/// unmodelled subsystems, the pcp high_min/high_max and vm stats threshold).
/// </summary>
public static class ZoneInfo
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The zone of <paramref name="k"/> now.</summary>
    public static ZoneInfoSnapshot Build(Kernel.Kernel k, in MemoryGauges g)
    {
        Zone z = k.Zone;
        BuddyAllocator b = z.Buddy;
        // The first populated zone of the node carries the per-node stats: here the only zone.
        // nr_mlock is a zone item (listed with the zone's own below), not a node one.
        List<NamedValue> perNode = VmStat.Gauges(g).Where(v => v.Name is not ("nr_free_pages" or "nr_mlock")).ToList();
        List<NamedValue> zoneStats =
        [
            new("nr_free_pages", g.FreePages),
            new("nr_free_pages_blocks", FreePagesBlocks(b.NrFree, PageblockOrder(k))),
            new("nr_zone_inactive_anon", g.InactiveAnon),
            new("nr_zone_active_anon", g.ActiveAnon),
            new("nr_zone_inactive_file", g.InactiveFile),
            new("nr_zone_active_file", g.ActiveFile),
            new("nr_zone_unevictable", g.Unevictable),
            new("nr_mlock", g.Mlocked),
        ];
        List<PagesetRow>? pagesets = null;
        if (z.Pcp is { } pcp)
        {
            pagesets = new List<PagesetRow>(pcp.Cpus);
            for (int cpu = 0; cpu < pcp.Cpus; cpu++)
                pagesets.Add(PagesetRow.Of(pcp, cpu));
        }
        long pages = k.Options.PageCount;
        return new ZoneInfoSnapshot(0, "Normal", perNode, b.NrFreePages, z.Watermarks.Min, z.Watermarks.Low, z.Watermarks.High,
            pages, pages, b.ManagedPages, zoneStats, pagesets, b.StartPfn,
            k.Lruvec is { } lv && lv.KswapdFailures >= Vmscan.SwapOutSystem.MaxReclaimRetries, z.Watermarks.Boost);
    }

    /// <summary>
    /// pageblock_order: the huge-page order of the paging mode (HPAGE_PMD_ORDER: 9 with 2 MiB PMDs; 10 with the
    /// 4 MiB pages of two-level 32-bit paging), at most MAX_PAGE_ORDER.
    /// </summary>
    public static int PageblockOrder(Kernel.Kernel k) =>
        Math.Min(k.Options.Paging.Levels == 2 ? 10 : 9, BuddyAllocator.MaxOrder);

    /// <summary>NR_FREE_PAGES_BLOCKS: the free pages in blocks of at least pageblock_order.</summary>
    public static long FreePagesBlocks(ReadOnlySpan<long> nrFree, int pageblockOrder)
    {
        long n = 0;
        for (int order = pageblockOrder; order < nrFree.Length; order++)
            n += nrFree[order] << order;
        return n;
    }

    /// <summary>Appends the zone's lines.</summary>
    public static void AppendTo(StringBuilder sb, ZoneInfoSnapshot z)
    {
        sb.Append(Inv, $"Node {z.Node}, zone {z.Zone,8}");
        sb.Append("\n  per-node stats");
        foreach (NamedValue v in z.PerNode)
            Item(sb, v);
        sb.Append(Inv, $"\n  pages free     {z.Free}");
        sb.Append(Inv, $"\n        boost    {z.Boost}");
        sb.Append(Inv, $"\n        min      {z.Min}");
        sb.Append(Inv, $"\n        low      {z.Low}");
        sb.Append(Inv, $"\n        high     {z.High}");
        sb.Append(Inv, $"\n        spanned  {z.Spanned}");
        sb.Append(Inv, $"\n        present  {z.Present}");
        sb.Append(Inv, $"\n        managed  {z.Managed}");
        foreach (NamedValue v in z.ZoneStats)
            Item(sb, v);
        if (z.Pagesets is { } sets)
        {
            sb.Append("\n  pagesets");
            foreach (PagesetRow p in sets)
            {
                sb.Append(Inv, $"\n    cpu: {p.Cpu}");
                sb.Append(Inv, $"\n              count:    {p.Count}");
                sb.Append(Inv, $"\n              high:     {p.High}");
                sb.Append(Inv, $"\n              batch:    {p.Batch}");
                if (p.Tuned)
                {
                    // zoneinfo_show_print, Linux 6.7+: "\n              high_min: %i" and "high_max: %i".
                    sb.Append(Inv, $"\n              high_min: {p.HighMin}");
                    sb.Append(Inv, $"\n              high_max: {p.HighMax}");
                }
            }
        }
        sb.Append(Inv, $"\n  node_unreclaimable:  {(z.NodeUnreclaimable ? 1 : 0)}");
        sb.Append(Inv, $"\n  start_pfn:           {z.StartPfn}");
        sb.Append('\n');
    }

    // "\n      %-12s %lu"
    private static void Item(StringBuilder sb, NamedValue v) =>
        sb.Append(Inv, $"\n      {v.Name,-12} {v.Value}");
}
