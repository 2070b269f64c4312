using System.Globalization;
using System.Text;

namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// The /proc/buddyinfo line of one zone, byte for byte as mm/vmstat.c frag_show_print() prints it:
/// <c>"Node %d, zone %8s "</c>, then <c>"%6lu "</c> per order 0..10, then a newline (so every line ends in a space
/// before the newline, as on a real system).
/// </summary>
public static class BuddyInfo
{
    /// <summary>Formats one zone's line from its per-order free block counts (free_area[order].nr_free).</summary>
    public static string Format(ReadOnlySpan<long> nrFree, int node = 0, string zone = "Normal")
    {
        var sb = new StringBuilder(16 + 8 + 7 * nrFree.Length + 1);
        Append(sb, nrFree, node, zone);
        return sb.ToString();
    }

    /// <summary>Appends one zone's line, newline included.</summary>
    public static void Append(StringBuilder sb, ReadOnlySpan<long> nrFree, int node = 0, string zone = "Normal")
    {
        AppendZonePrefix(sb, node, zone);
        foreach (long count in nrFree)
        {
            // %6lu: right-aligned in 6 columns, wider numbers are never truncated.
            sb.Append(count.ToString(CultureInfo.InvariantCulture).PadLeft(6)).Append(' ');
        }
        sb.Append('\n');
    }

    /// <summary>The <c>"Node %d, zone %8s "</c> prefix shared by buddyinfo, unusable_index and extfrag_index.</summary>
    internal static void AppendZonePrefix(StringBuilder sb, int node, string zone)
    {
        sb.Append("Node ").Append(node.ToString(CultureInfo.InvariantCulture)).Append(", zone ")
          .Append(zone.PadLeft(8)).Append(' ');
    }
}
