using System.Globalization;
using System.Text;
using EcsMem.Components;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// The /proc/meminfo lines the simulator can fill, in the file's order, printed as fs/proc/meminfo.c does
/// (show_val_kb): the name and colon padded to 16 columns, the value in kB right-aligned in 8, then " kB".
/// </summary>
public static class MemInfo
{
    private const int KbPerPage = (int)(Pte.PageSize / 1024);

    /// <summary>The lines, values in kB.</summary>
    public static List<NamedValue> Build(in MemoryGauges g) =>
    [
        new("MemTotal", g.TotalPages * KbPerPage),
        new("MemFree", g.FreePages * KbPerPage),
        // Cached excludes the swap cache (NR_FILE_PAGES - total_swapcache_pages - buffers; no buffers here).
        new("Cached", (g.PageCachePages + g.ShmemPages) * KbPerPage),
        new("SwapCached", g.SwapCachePages * KbPerPage),
        new("Active", (g.ActiveAnon + g.ActiveFile) * KbPerPage),
        new("Inactive", (g.InactiveAnon + g.InactiveFile) * KbPerPage),
        new("Active(anon)", g.ActiveAnon * KbPerPage),
        new("Inactive(anon)", g.InactiveAnon * KbPerPage),
        new("Active(file)", g.ActiveFile * KbPerPage),
        new("Inactive(file)", g.InactiveFile * KbPerPage),
        new("Unevictable", g.Unevictable * KbPerPage),
        new("Mlocked", g.Mlocked * KbPerPage),
        new("SwapTotal", g.SwapTotalPages * KbPerPage),
        new("SwapFree", g.SwapFreePages * KbPerPage),
        new("Dirty", g.Dirty * KbPerPage),
        new("Writeback", g.Writeback * KbPerPage),
        new("AnonPages", g.AnonMapped * KbPerPage),
        new("Mapped", g.FileMapped * KbPerPage),
        // NR_SHMEM: shmem pages (MAP_SHARED anonymous objects, memfds) not in the swap cache; part of Cached too.
        new("Shmem", g.ShmemPages * KbPerPage),
        new("PageTables", g.PageTablePages * KbPerPage),
        new("CommitLimit", g.CommitLimit * KbPerPage),
        new("Committed_AS", g.CommittedAs * KbPerPage),
        // The THP lines, in /proc/meminfo's order (no shmem or page-cache huge pages are modelled: 0).
        new("AnonHugePages", g.AnonThps * HugeMemory.HugeMemory.PmdPages * KbPerPage),
        new("ShmemHugePages", 0),
        new("ShmemPmdMapped", 0),
        new("FileHugePages", 0),
        new("FilePmdMapped", 0),
        // hugetlb_report_meminfo: counts of huge pages (no unit), then the default hstate's size and all pools' memory.
        new("HugePages_Total", g.HugePagesTotal),
        new("HugePages_Free", g.HugePagesFree),
        new("HugePages_Rsvd", g.HugePagesRsvd),
        new("HugePages_Surp", g.HugePagesSurp),
        new("Hugepagesize", (long)(Hugetlb.Hugetlb.Size >> 10)),
        new("Hugetlb", g.HugePagesTotal * (long)(Hugetlb.Hugetlb.Size >> 10)),
    ];

    /// <summary>Whether <paramref name="name"/> is one of the HugePages_* counts, printed without a unit.</summary>
    public static bool IsCount(string name) => name.StartsWith("HugePages_", StringComparison.Ordinal);

    /// <summary>Appends the lines, e.g. <c>"MemTotal:          16384 kB\n"</c>.</summary>
    public static void AppendTo(StringBuilder sb, IReadOnlyList<NamedValue> lines)
    {
        foreach (var l in lines)
        {
            if (IsCount(l.Name))
            {
                // "HugePages_Total:   %5lu\n": the label and its spaces fill 19 columns, the count 5 or more.
                sb.Append((l.Name + ":").PadRight(19)).Append(l.Value.ToString(CultureInfo.InvariantCulture).PadLeft(5)).Append('\n');
                continue;
            }
            sb.Append((l.Name + ":").PadRight(16))
              .Append(l.Value.ToString(CultureInfo.InvariantCulture).PadLeft(8))
              .Append(" kB\n");
        }
    }
}
