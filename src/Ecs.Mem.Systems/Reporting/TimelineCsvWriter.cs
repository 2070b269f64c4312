using System.Globalization;
using System.Text;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Writes timeline rows as CSV (RFC 4180, '\n' line ends): cycles, accesses, free_pages, then one
/// <c>rss_pages:NAME</c> column per process in pid order (0 before the process exists and after it exits),
/// fault_rate, swap_used_pages, pagecache_pages.
/// </summary>
public static class TimelineCsvWriter
{
    public static string Write(IReadOnlyList<TimelineRow> rows, IReadOnlyList<string> processNames)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(64 + rows.Count * (48 + 8 * processNames.Count));
        sb.Append("cycles,accesses,free_pages");
        foreach (string n in processNames)
            sb.Append(',').Append(Quote("rss_pages:" + n));
        sb.Append(",fault_rate,swap_used_pages,pagecache_pages\n");
        foreach (var r in rows)
        {
            sb.Append(r.Cycles.ToString(inv)).Append(',').Append(r.Accesses.ToString(inv)).Append(',').Append(r.FreePages.ToString(inv));
            for (int i = 0; i < processNames.Count; i++)
                sb.Append(',').Append((i < r.RssPages.Length ? r.RssPages[i] : 0).ToString(inv));
            sb.Append(',').Append(r.FaultRate.ToString("0.#########", inv))
              .Append(',').Append(r.SwapUsedPages.ToString(inv))
              .Append(',').Append(r.PageCachePages.ToString(inv)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Quotes a field that holds a comma, a quote or a line break (RFC 4180).</summary>
    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
