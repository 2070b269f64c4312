using EcsMem.Systems.Caches;

namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// The free lists of a machine that has been up for a while (<c>machine.free_area</c>): exactly the given number of
/// free blocks of each order, as /proc/buddyinfo's columns show them, at seeded random places in the zone, every
/// other page held by the machine's other users. A fresh boot (memblock_free_all) leaves every page in the largest
/// aligned blocks, so order-0 allocations come off one block in pfn order; on a long-running kernel they come from
/// the low-order fragments scattered over the zone (__rmqueue_smallest takes the smallest order that has a block),
/// which decides how readahead's pages merge into bvecs (bvec_try_merge_page) and so when its bios unlock them.
/// </summary>
/// <remarks>
/// <para>Construction: orders from the largest down, each block at a uniformly chosen aligned place that is still
/// unassigned; a block below the top order must not merge with its buddy (__free_one_page merges two free buddies
/// of one order), so its buddy must hold an allocated page: when the buddy is all unassigned, one of its pages, at
/// a seeded random offset, is held. Smaller blocks may then sit in the rest of that buddy, as on a real machine.
/// Placing the largest blocks first keeps the unassigned space a union of aligned blocks of the order being
/// placed, so the counts fit whenever <see cref="Fits"/> says so. After the last order every unassigned page is
/// held too. Each order's list holds its blocks in the order they were placed (a random order), as a machine's
/// history of frees leaves them.</para>
/// <para>Not modelled: the pageblocks' migrate types (every block is MOVABLE, where a real zone has some unmovable
/// and reclaimable pageblocks). The held pages are never mapped, freed or reclaimed, and compaction moves them, as
/// the movable page cache and anonymous memory they mostly stand for, except the ones <see cref="ChooseCache"/>
/// makes page cache (<c>machine.free_area_cache</c>), which reclaim takes as any clean file page.</para>
/// </remarks>
public sealed class AgedFreeArea
{
    private AgedFreeArea(int[] blockPfn, sbyte[] blockOrder, bool[] held, int heldPages)
    {
        BlockPfn = blockPfn;
        BlockOrder = blockOrder;
        Held = held;
        HeldPages = heldPages;
    }

    /// <summary>The free blocks' first pfns, in the order they go on their lists (tail first to last).</summary>
    public int[] BlockPfn { get; }

    /// <summary>The order of each block of <see cref="BlockPfn"/>.</summary>
    public sbyte[] BlockOrder { get; }

    /// <summary>Per page (index pfn − start): held by the machine's other users, never free.</summary>
    public bool[] Held { get; }

    /// <summary>Number of held pages.</summary>
    public int HeldPages { get; }

    /// <summary>
    /// Whether <paramref name="counts"/> (free blocks per order, index = order) can always be placed in a zone of
    /// <paramref name="pages"/> pages starting at pfn 0: each block below the top order with its whole buddy
    /// (2^(k+1) pages) plus each top-order block must fit in the zone's whole top-order blocks. A sufficient
    /// condition (a buddy's other pages may hold smaller blocks), so a scenario that passes it always loads.
    /// </summary>
    public static bool Fits(int pages, ReadOnlySpan<long> counts, out long needed, out long capacity)
    {
        capacity = (long)(pages >> BuddyAllocator.MaxOrder) << BuddyAllocator.MaxOrder;
        needed = 0;
        for (int k = 0; k < counts.Length && k <= BuddyAllocator.MaxOrder; k++)
            needed += counts[k] * (k == BuddyAllocator.MaxOrder ? 1L << k : 2L << k);
        return needed <= capacity;
    }

    /// <summary>
    /// Places <paramref name="counts"/>[k] free blocks of order k in a zone of <paramref name="pages"/> pages starting
    /// at pfn 0, with <paramref name="seed"/>'s random choices (SplitMix64, so the same seed gives the same machine on
    /// every host). Throws <see cref="ArgumentException"/> when the counts do not fit (<see cref="Fits"/>).
    /// </summary>
    public static AgedFreeArea Place(int pages, ReadOnlySpan<long> counts, ulong seed)
    {
        if (counts.Length != BuddyAllocator.NrOrders)
            throw new ArgumentException($"free_area needs {BuddyAllocator.NrOrders} counts (orders 0..{BuddyAllocator.MaxOrder}), got {counts.Length}", nameof(counts));
        if (!Fits(pages, counts, out long needed, out long capacity))
            throw new ArgumentException($"free_area's blocks and their buddies need {needed} pages, the zone's whole 4 MiB blocks hold {capacity}", nameof(counts));

        // 0: unassigned, 1: in a free block, 2: held.
        var state = new byte[pages];
        long total = 0;
        foreach (long c in counts)
            total += c;
        var blockPfn = new int[total];
        var blockOrder = new sbyte[total];
        int n = 0;
        var rng = new SplitMix64(seed ^ 0x6672656561726561UL); // "freearea": its own stream of machine.seed
        var candidates = new List<int>();
        // Only whole top-order blocks take free blocks: a zone's tail smaller than 4 MiB is held, as Fits counts it.
        int usable = (pages >> BuddyAllocator.MaxOrder) << BuddyAllocator.MaxOrder;
        for (int order = BuddyAllocator.MaxOrder; order >= 0; order--)
        {
            long want = counts[order];
            if (want == 0)
                continue;
            int size = 1 << order;
            candidates.Clear();
            for (int p = 0; p < usable; p += size)
                if (Clean(state, p, size))
                    candidates.Add(p);
            // Fisher-Yates with the seeded stream: a uniformly random order of the clean places.
            for (int i = candidates.Count - 1; i > 0; i--)
            {
                int j = (int)(rng.Next() % (ulong)(i + 1));
                (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
            }
            long placed = 0;
            foreach (int p in candidates)
            {
                if (placed == want)
                    break;
                if (!Clean(state, p, size))
                    continue; // a buddy's held page of this order's earlier blocks landed here
                // The buddy is in the same top-order block, so inside the zone; a held page in it keeps the two apart.
                if (order < BuddyAllocator.MaxOrder && Clean(state, p ^ size, size))
                    state[(p ^ size) + (int)(rng.Next() % (ulong)size)] = 2;
                state.AsSpan(p, size).Fill(1);
                blockPfn[n] = p;
                blockOrder[n] = (sbyte)order;
                n++;
                placed++;
            }
            if (placed < want)
                throw new InvalidOperationException($"free_area: placed {placed} of {want} order-{order} blocks although the counts fit (a bug)");
        }

        var held = new bool[pages];
        int heldPages = 0;
        for (int p = 0; p < pages; p++)
        {
            if (state[p] != 1)
            {
                held[p] = true;
                heldPages++;
            }
        }
        return new AgedFreeArea(blockPfn, blockOrder, held, heldPages);
    }

    /// <summary>
    /// The <paramref name="count"/> held pages that become page cache (<c>machine.free_area_cache</c>), in the order a
    /// partial Fisher-Yates shuffle of the held pages (in pfn order, <paramref name="zeroPfn"/> left out) draws them with
    /// <paramref name="seed"/>'s own stream: element i becomes page i of the boot-time file, so the file's pages lie at
    /// random places, as a file read long after boot lies on a fragmented machine, and their LRU order is unrelated
    /// to their pfns. Throws <see cref="ArgumentException"/> when fewer pages are held.
    /// </summary>
    public int[] ChooseCache(int zeroPfn, long count, ulong seed)
    {
        if (count == 0)
            return [];
        var held = new List<int>(HeldPages);
        for (int p = 0; p < Held.Length; p++)
            if (Held[p] && p != zeroPfn)
                held.Add(p);
        if (count > held.Count)
            throw new ArgumentException($"free_area_cache asks for {count} pages of page cache; free_area leaves {held.Count} pages held", nameof(count));
        var rng = new SplitMix64(seed ^ 0x68656c6463616368UL); // "heldcach": its own stream of machine.seed
        var chosen = new int[count];
        for (int i = 0; i < chosen.Length; i++)
        {
            int j = i + (int)(rng.Next() % (ulong)(held.Count - i));
            (held[i], held[j]) = (held[j], held[i]);
            chosen[i] = held[i];
        }
        return chosen;
    }

    private static bool Clean(byte[] state, int start, int size) => !state.AsSpan(start, size).ContainsAnyExcept((byte)0);
}
