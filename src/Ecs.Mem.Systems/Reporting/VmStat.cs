using System.Globalization;
using System.Text;
using EcsMem.Simulation;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// /proc/vmstat: the page-count gauges first (in the order Linux lists its zone and node items), then
/// every event counter the systems registered, in registration order. Printed as the file is
/// (mm/vmstat.c vmstat_show): <c>name value</c>, one per line.
/// </summary>
public static class VmStat
{
    /// <summary>The gauges under their /proc/vmstat names, in pages.</summary>
    public static List<NamedValue> Gauges(in MemoryGauges g) =>
    [
        new("nr_free_pages", g.FreePages),
        new("nr_mlock", g.Mlocked),
        new("nr_inactive_anon", g.InactiveAnon),
        new("nr_active_anon", g.ActiveAnon),
        new("nr_inactive_file", g.InactiveFile),
        new("nr_active_file", g.ActiveFile),
        new("nr_unevictable", g.Unevictable),
        new("nr_anon_pages", g.AnonMapped),
        new("nr_mapped", g.FileMapped),
        new("nr_file_pages", g.FilePages),
        new("nr_dirty", g.Dirty),
        new("nr_writeback", g.Writeback),
        new("nr_shmem", g.ShmemPages),
        new("nr_anon_transparent_hugepages", g.AnonThps),
        new("nr_page_table_pages", g.PageTablePages),
        new("nr_swapcached", g.SwapCachePages),
    ];

    /// <summary>Gauges then every counter of <paramref name="counters"/>.</summary>
    public static List<NamedValue> Build(in MemoryGauges g, CounterRegistry counters)
    {
        var list = Gauges(g);
        foreach (var kv in counters.All())
            list.Add(new NamedValue(kv.Key, kv.Value));
        return list;
    }

    /// <summary>Appends the lines: <c>name value\n</c>.</summary>
    public static void AppendTo(StringBuilder sb, IReadOnlyList<NamedValue> values)
    {
        foreach (var v in values)
            sb.Append(v.Name).Append(' ').Append(v.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }
}
