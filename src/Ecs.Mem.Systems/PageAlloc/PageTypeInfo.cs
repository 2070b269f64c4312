using System.Globalization;
using System.Text;

namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// /proc/pagetypeinfo, byte for byte as mm/vmstat.c pagetypeinfo_show prints it on an x86-64 kernel without CMA
/// (this machine's 6.18: five types, Unmovable, Movable, Reclaimable, HighAtomic, Isolate): the pageblock order and
/// size, the free blocks per order of every type's list (pagetypeinfo_showfree, each list counted up to 100,000 and
/// printed "&gt;100000" from there), and the pageblocks of each type (pagetypeinfo_showblockcount). EcsMem's
/// HighAtomic and Isolate rows are always 0 (those types are never used).
/// </summary>
public static class PageTypeInfo
{
    /// <summary>migratetype_names[] without CONFIG_CMA.</summary>
    public static readonly string[] TypeNames = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"];

    /// <summary>The whole file for one node holding the zone <paramref name="zone"/>.</summary>
    public static string Format(BuddyAllocator buddy, int node = 0, string zone = "Normal")
    {
        var sb = new StringBuilder(2048);
        Append(sb, buddy, node, zone);
        return sb.ToString();
    }

    /// <summary>Appends the whole file (see <see cref="Format"/>).</summary>
    public static void Append(StringBuilder sb, BuddyAllocator buddy, int node = 0, string zone = "Normal")
    {
        var inv = CultureInfo.InvariantCulture;
        sb.Append("Page block order: ").Append(BuddyAllocator.PageblockOrder.ToString(inv)).Append('\n');
        sb.Append("Pages per block:  ").Append(BuddyAllocator.PageblockPages.ToString(inv)).Append('\n');
        sb.Append('\n');
        // pagetypeinfo_showfree: "%-43s " then "%6d " per order.
        sb.Append("Free pages count per migrate type at order".PadRight(43)).Append(' ');
        for (int order = 0; order < BuddyAllocator.NrOrders; order++)
            sb.Append(order.ToString(inv).PadLeft(6)).Append(' ');
        sb.Append('\n');
        for (int mt = 0; mt < TypeNames.Length; mt++)
        {
            // "Node %4d, zone %8s, type %12s " then "%s%6lu " per order.
            sb.Append("Node ").Append(node.ToString(inv).PadLeft(4)).Append(", zone ").Append(zone.PadLeft(8))
              .Append(", type ").Append(TypeNames[mt].PadLeft(12)).Append(' ');
            for (int order = 0; order < BuddyAllocator.NrOrders; order++)
            {
                long n = mt < BuddyAllocator.NrTypes ? buddy.NrFreeOfType(order, (MigrateType)mt) : 0;
                // The walk stops when its count reaches 100,000 (and then prints ">" before it).
                bool overflow = n >= 100_000;
                if (overflow)
                    n = 100_000;
                sb.Append(overflow ? ">" : "").Append(n.ToString(inv).PadLeft(6)).Append(' ');
            }
            sb.Append('\n');
        }
        // pagetypeinfo_showblockcount: "\n%-23s" then "%12s " per type; rows "Node %d, zone %8s " then "%12lu ".
        sb.Append('\n').Append("Number of blocks type ".PadRight(23));
        foreach (string name in TypeNames)
            sb.Append(name.PadLeft(12)).Append(' ');
        sb.Append('\n');
        Span<long> counts = stackalloc long[TypeNames.Length];
        buddy.CountBlocks(counts[..BuddyAllocator.NrTypes]);
        BuddyInfo.AppendZonePrefix(sb, node, zone);
        foreach (long c in counts)
            sb.Append(c.ToString(inv).PadLeft(12)).Append(' ');
        sb.Append('\n');
    }
}
