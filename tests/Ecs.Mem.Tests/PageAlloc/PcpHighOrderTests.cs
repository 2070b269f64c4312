using EcsMem.Components;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// The per-CPU lists of orders 1..PAGE_ALLOC_COSTLY_ORDER (Linux 6.18 mm/page_alloc.c: order_to_pindex,
/// __rmqueue_pcplist, rmqueue_bulk, free_frozen_page_commit, free_pcppages_bulk, nr_pcp_alloc/high/free). Every
/// expected value is derived by hand in the comments from those rules and the buddy allocator's expand() and
/// __free_one_page() on a fresh 1,024-page zone (one order-10 block at pfn 0): __rmqueue_smallest of order 2 splits it
/// into 512 (o9), 256 (o8), 128 (o7), 64 (o6), 32 (o5), 16 (o4), 8 (o3), 4 (o2) and hands out 0.
/// </summary>
public class PcpHighOrderTests
{
    [Test]
    public void PindexesFollowOrderToPindex()
    {
        // order_to_pindex: MIGRATE_PCPTYPES (3) * order + migratetype; pindex_to_order: pindex / 3; 4 orders x 3 types.
        Assert.That(PerCpuPageSet.OrderToPindex(MigrateType.Movable, 0), Is.EqualTo(1));
        Assert.That(PerCpuPageSet.OrderToPindex(MigrateType.Movable, 2), Is.EqualTo(7));
        Assert.That(PerCpuPageSet.OrderToPindex(MigrateType.Reclaimable, 3), Is.EqualTo(11));
        Assert.That(PerCpuPageSet.PindexToOrder(7), Is.EqualTo(2));
        Assert.That(PerCpuPageSet.NrPcpLists, Is.EqualTo(12));
        Assert.That((PerCpuPageSet.PcpAllowedOrder(3), PerCpuPageSet.PcpAllowedOrder(4)), Is.EqualTo((true, false)));
    }

    [Test]
    public void AnOrderTwoFreeThenAllocOnTheSameCpuReturnsTheSameFrame()
    {
        // 6.6 lists, batch 4, high 100 (never reached). An empty order-2 list is refilled with max(4 >> 2, 2) = 2
        // blocks, 0 then 4 (expand left 4 on the order-2 free list), queued at the tail: [0, 4].
        var buddy = new BuddyAllocator(1024);
        var pcp = new PerCpuPageSet(buddy, cpus: 1, batch: 4, high: 100);
        Assert.That(pcp.Alloc(0, MigrateType.Movable, 2), Is.EqualTo(0));
        Assert.That(pcp.Count(0), Is.EqualTo(4), "pcp->count is in pages: block 4 waits on the list");
        Assert.That(pcp.Alloc(0, MigrateType.Movable, 2), Is.EqualTo(4));
        Assert.That(buddy.NrFreePages, Is.EqualTo(1016));
        // Frees go to the head: 0, then 4, so the list is [4, 0] and the next allocations take 4, then 0 (LIFO);
        // the buddy allocator sees none of it (the blocks stay allocated in its books, NR_FREE_PAGES unchanged).
        Assert.That(pcp.Free(0, 0, reclaimActive: false, order: 2), Is.EqualTo(0));
        Assert.That(pcp.Free(4, 0, reclaimActive: false, order: 2), Is.EqualTo(0));
        Assert.That((pcp.Count(0), pcp.Count(0, MigrateType.Movable, 2), buddy.NrFreePages), Is.EqualTo((8, 8, 1016L)));
        var pages = new int[8];
        Assert.That(pcp.CopyList(0, pages), Is.EqualTo(8));
        Assert.That(pages, Is.EqualTo(new[] { 4, 5, 6, 7, 0, 1, 2, 3 }));
        Assert.That(pcp.BlockOf(6, out int order), Is.EqualTo(4));
        Assert.That(order, Is.EqualTo(2));
        Assert.That(pcp.Alloc(0, MigrateType.Movable, 2), Is.EqualTo(4));
        Assert.That(pcp.Alloc(0, MigrateType.Movable, 2), Is.EqualTo(0));
        Assert.That(pcp.Count(0), Is.EqualTo(0));
    }

    [Test]
    public void PcpCountInPagesDrainsAtHighAndFreeHighEmptiesTheLists()
    {
        // 6.6 lists, batch 4, high 12. Allocations: refill [0, 4] -> 0, then 4; refill from the order-3 block 8 (split
        // into 8 and 12) [8, 12] -> 8; the list keeps 12 (count 4).
        var buddy = new BuddyAllocator(1024);
        var pcp = new PerCpuPageSet(buddy, cpus: 1, batch: 4, high: 12);
        Assert.That(new[] { pcp.Alloc(0, MigrateType.Movable, 2), pcp.Alloc(0, MigrateType.Movable, 2), pcp.Alloc(0, MigrateType.Movable, 2) },
            Is.EqualTo(new[] { 0, 4, 8 }));
        Assert.That(pcp.Count(0), Is.EqualTo(4));
        // Free 0: count 8 < 12. Free 4: count 12 >= high; free_factor is 0, so not free_high, and nr_pcp_free gives
        // clamp(4 << 0, 4, 12 - 4) = 4 (free_factor becomes 1): free_pcppages_bulk from the order-2 list's tail, the
        // refilled block 12, whose buddy 8 is allocated: it stays a free order-2 block.
        Assert.That(pcp.Free(0, 0, false, 2), Is.EqualTo(0));
        Assert.That(pcp.Free(4, 0, false, 2), Is.EqualTo(4));
        Assert.That((pcp.Count(0), pcp.FreeFactor(0), buddy.FreeBlockOrderAt(12)), Is.EqualTo((8, 1, 2)));
        // Free 8 with free_factor 1: 6.6's free_high (free_factor && order in 1..3): high 0, and the whole count, 12
        // pages, goes: tail first 0, 4 (merging into order 3 at 0), then 8, which merges with 12, then with 0, and on
        // up to the order-10 block: the zone is whole again.
        Assert.That(pcp.Free(8, 0, false, 2), Is.EqualTo(12));
        Assert.That((pcp.Count(0), buddy.NrFreePages, buddy.FreeBlockOrderAt(0)), Is.EqualTo((0, 1024L, 10)));
    }

    [Test]
    public void BulkFreeGoesRoundRobinOverThePindexesCountingPages()
    {
        // 6.6 lists, batch 4, high 13. Order-2 blocks 0, 4, 8, 12 allocated (refills [0, 4] and [8, 12]); then one
        // order-0 refill of 4 pages: __rmqueue of order 0 splits the order-4 block 16 (expand: 24 o3, 20 o2, 18 o1,
        // 17 o0) and gives 16, 17, then 18 (splitting 18 o1: 19 to o0) and 19; all four are allocated.
        var buddy = new BuddyAllocator(1024);
        var pcp = new PerCpuPageSet(buddy, cpus: 1, batch: 4, high: 13);
        for (int i = 0; i < 4; i++)
            Assert.That(pcp.Alloc(0, MigrateType.Movable, 2), Is.EqualTo(4 * i));
        for (int p = 16; p < 20; p++)
            Assert.That(pcp.Alloc(0, MigrateType.Movable), Is.EqualTo(p));
        Assert.That(buddy.NrFreePages, Is.EqualTo(1004));
        // Blocks 0, 4, 8 freed: the order-2 list [8, 4, 0], count 12 < 13.
        foreach (int head in new[] { 0, 4, 8 })
            Assert.That(pcp.Free(head, 0, false, 2), Is.EqualTo(0));
        // Page 16 freed (pindex 1): count 13 >= 13, nr_pcp_free = clamp(4, 4, 13 - 4) = 4 pages. free_pcppages_bulk
        // starts at pindex 1: page 16 (3 to go), then pindexes 2-6 are empty, pindex 7's tail is block 0: 4 pages, the
        // count goes below zero and the bulk stops: 5 pages freed, 8 left (blocks 8 and 4). Neither freed block merges
        // (17 and 4 are allocated or on the list).
        Assert.That(pcp.Free(16, 0), Is.EqualTo(5));
        Assert.That((pcp.Count(0), buddy.NrFreePages, buddy.FreeBlockOrderAt(16), buddy.FreeBlockOrderAt(0)), Is.EqualTo((8, 1009L, 0, 2)));
        var pages = new int[8];
        pcp.CopyList(0, MigrateType.Movable, 2, pages);
        Assert.That(pages, Is.EqualTo(new[] { 8, 9, 10, 11, 4, 5, 6, 7 }));
    }

    [Test]
    public void TunedFreeHighNeedsConsecutiveHighOrderFreesAndABatchOnTheList()
    {
        // 6.7+ lists, batch 4, high_min 8, high_max 40, PCPF_FREE_HIGH_BATCH set. nr_pcp_alloc for order 2: high
        // clamp(0, 8, 40) = 8, plus the plain batch 4 -> 12, max(4 >> 2, 2) = 2 blocks: [0, 4]; the second refill
        // [8, 12] lifts high to 16. Each allocation halves free_count (0).
        var buddy = new BuddyAllocator(1024);
        var pcp = new PerCpuPageSet(buddy, cpus: 1, batch: 4, highMin: 8, highMax: 40, frames: null, tuning: true);
        for (int i = 0; i < 4; i++)
            Assert.That(pcp.Alloc(0, MigrateType.Movable, 2), Is.EqualTo(4 * i));
        Assert.That(pcp.HighOf(0), Is.EqualTo(16));
        // Free 0: no earlier high-order free, free_count 0 -> 4; count 4 < high 16. Free 4: free_count 4 < batch +
        // high_min / 2 = 8, so not free_high; free_count 8, count 8. Free 8: free_count 8 >= 8, the previous free was
        // high-order and count 12 >= batch: free_high. high drops to max(16 - (4 << 5), 8) = 8, nr_pcp_high answers 0,
        // and nr_pcp_free min(12, 4 << 5) = 12: blocks 0, 4 (merging into order 3 at 0) and 8 (its buddy 12 is
        // allocated) go back.
        Assert.That(pcp.Free(0, 0, false, 2), Is.EqualTo(0));
        Assert.That(pcp.Free(4, 0, false, 2), Is.EqualTo(0));
        Assert.That(pcp.FreeCount(0), Is.EqualTo(8));
        Assert.That(pcp.Free(8, 0, false, 2), Is.EqualTo(12));
        Assert.That((pcp.Count(0), pcp.HighOf(0), buddy.FreeBlockOrderAt(0), buddy.FreeBlockOrderAt(8)), Is.EqualTo((0, 8, 3, 2)));
    }

    [Test]
    public void TunedOrderZeroFreeBetweenHighOrderFreesPreventsFreeHigh()
    {
        // As above, but an order-0 free between the high-order ones clears PCPF_PREV_FREE_HIGH_ORDER. Order-0 refill:
        // nr_pcp_alloc(order 0) after the two order-2 refills: high 16 -> min(16 + (4 << 0), 40) = 20, max_nr_alloc
        // max(20 - 0 - 4, 4) = 16 >= 4: alloc_factor 1, 4 pages: 16, 17, 18, 19 (the order-4 block 16 split).
        var buddy = new BuddyAllocator(1024);
        var pcp = new PerCpuPageSet(buddy, cpus: 1, batch: 4, highMin: 8, highMax: 40, frames: null, tuning: true);
        for (int i = 0; i < 4; i++)
            pcp.Alloc(0, MigrateType.Movable, 2);
        Assert.That(pcp.Alloc(0, MigrateType.Movable), Is.EqualTo(16));
        Assert.That(pcp.Count(0), Is.EqualTo(3));
        // Frees: 0 (o2; free_count 4, count 7), 4 (o2; free_count 8, count 11), page 16 (o0: clears the flag; 9,
        // count 12), 8 (o2: free_count 9 >= 8, count 16 >= 4, but the previous free was order 0: not free_high).
        // nr_pcp_high: high 20 (the order-0 refill), count 16 < 20: nothing goes back.
        Assert.That(pcp.Free(0, 0, false, 2), Is.EqualTo(0));
        Assert.That(pcp.Free(4, 0, false, 2), Is.EqualTo(0));
        Assert.That(pcp.Free(16, 0), Is.EqualTo(0));
        Assert.That(pcp.Free(8, 0, false, 2), Is.EqualTo(0));
        Assert.That((pcp.Count(0), pcp.FreeCount(0), pcp.HighOf(0)), Is.EqualTo((16, 13, 20)));
    }

    [Test]
    public void AZoneFreesALargeFolioWholeOntoItsOrdersListAndHandsItOutAgain()
    {
        using var m = new SimMachine(Options(16384, swapPages: 0) with { Cpus = 1, PcpHighOrder = true });
        Zone zone = m.Kernel.Zone;
        int head = zone.AllocPages(0, 2);
        Assert.That(zone.Buddy.IsAllocatedHead(head, 2), Is.True);
        zone.Buddy.SplitPage(head, 2); // as filemap_alloc_folio's caller does (FilemapAlloc)
        for (int p = head; p < head + 4; p++)
            zone.Frames[p] = Frame.Fresh(p) with { FolioOrder = 2 };
        int before = zone.Pcp!.Count(0, MigrateType.Movable, 2);
        Assert.That(zone.BeginFolioFree(head, 2), Is.True);
        Assert.Throws<InvalidOperationException>(() => zone.FreeFrame(head + 1, 0, pgpgout: false), "the folio's pages come in pfn order");
        for (int p = head; p < head + 4; p++)
            zone.FreeFrame(p, 0, pgpgout: p == head);
        // One order-2 block on CPU 0's order-2 list (its pages all tagged), none of it on the order-0 list.
        Assert.That(zone.Pcp.Count(0, MigrateType.Movable, 2), Is.EqualTo(before + 4));
        for (int p = head; p < head + 4; p++)
            Assert.That(zone.Frames[p].Flags, Is.EqualTo(FrameFlags.PcpList));
        Assert.That(zone.AllocPages(0, 2), Is.EqualTo(head), "last freed, first allocated");
        // Order 4 is above PAGE_ALLOC_COSTLY_ORDER: the buddy allocator's, never a list's.
        Assert.That(zone.BeginFolioFree(head & ~15, 4), Is.False);
    }

    [Test]
    public void WithoutPcpHighOrderLargeFoliosAreTheBuddyAllocatorsAlone()
    {
        // machine.pcp_high_order false (the default before session 26): an order-2 allocation is __rmqueue_smallest's, not a list's, so the
        // order-2 list stays empty and nothing is refilled; a folio free is not begun (its pages go back one by one).
        using var m = new SimMachine(Options(16384, swapPages: 0) with { Cpus = 1, PcpHighOrder = false });
        Zone zone = m.Kernel.Zone;
        Assert.That(zone.HighOrderPcp, Is.False);
        long free = zone.Buddy.NrFreePages;
        int head = zone.AllocPages(0, 2);
        Assert.That(zone.Buddy.IsAllocatedHead(head, 2), Is.True);
        Assert.That(zone.Pcp!.Count(0, MigrateType.Movable, 2), Is.EqualTo(0));
        Assert.That(zone.Buddy.NrFreePages, Is.EqualTo(free - 4), "exactly the block left the free lists: no refill batch");
        Assert.That(zone.BeginFolioFree(head, 2), Is.False);
    }
}
