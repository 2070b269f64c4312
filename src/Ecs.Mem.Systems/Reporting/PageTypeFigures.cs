using EcsMem.Systems.PageAlloc;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// The numbers of /proc/pagetypeinfo for the JSON report: <see cref="Free"/>[type][order] free blocks on each
/// migrate type's list (types as <see cref="PageTypeInfo.TypeNames"/>, HighAtomic and Isolate always 0) and
/// <see cref="Blocks"/>[type] pageblocks of each type.
/// </summary>
public sealed record PageTypeFigures(long[][] Free, long[] Blocks)
{
    /// <summary>Reads the zone's free lists and pageblock types now.</summary>
    public static PageTypeFigures Read(BuddyAllocator buddy)
    {
        int types = PageTypeInfo.TypeNames.Length;
        var free = new long[types][];
        for (int mt = 0; mt < types; mt++)
        {
            free[mt] = new long[BuddyAllocator.NrOrders];
            if (mt < BuddyAllocator.NrTypes)
                for (int order = 0; order < BuddyAllocator.NrOrders; order++)
                    free[mt][order] = buddy.NrFreeOfType(order, (MigrateType)mt);
        }
        var blocks = new long[types];
        buddy.CountBlocks(blocks.AsSpan(0, BuddyAllocator.NrTypes));
        return new PageTypeFigures(free, blocks);
    }
}
