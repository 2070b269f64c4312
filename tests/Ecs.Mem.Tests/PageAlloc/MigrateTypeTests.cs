using EcsMem.Components;
using EcsMem.Systems.Compaction;

namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// Grouping by mobility on tiny zones, every expected free list and pageblock type worked out by hand from Linux
/// 6.18's rules (mm/page_alloc.c: __rmqueue_smallest, __rmqueue_claim / try_to_claim_block, __rmqueue_steal,
/// fallbacks[], __free_one_page), the derivation in the comments.
/// </summary>
public class MigrateTypeTests
{
    private static int[] List(BuddyAllocator a, int order, MigrateType mt)
    {
        var buffer = new int[64];
        int n = a.CopyFreeList(order, mt, buffer);
        return buffer[..n];
    }

    private static long[] Row(BuddyAllocator a, MigrateType mt)
    {
        var row = new long[BuddyAllocator.NrOrders];
        for (int o = 0; o < row.Length; o++)
            row[o] = a.NrFreeOfType(o, mt);
        return row;
    }

    private static long[] Blocks(BuddyAllocator a)
    {
        var b = new long[BuddyAllocator.NrTypes];
        a.CountBlocks(b);
        return b;
    }

    [Test]
    public void BootLeavesEveryPageblockMovable()
    {
        // memmap_init: 2048 pages = 4 pageblocks, all MOVABLE; the two order-10 blocks on the Movable list.
        var a = new BuddyAllocator(2048);
        Assert.That(Blocks(a), Is.EqualTo(new long[] { 0, 4, 0 }));
        Assert.That(List(a, 10, MigrateType.Movable), Is.EqualTo(new[] { 0, 1024 }));
        Assert.That(a.NrFreeOfType(10, MigrateType.Unmovable), Is.Zero);
    }

    [Test]
    public void AnUnmovablePageClaimsTheWholeLargestMovableBlock()
    {
        // Unmovable order 0 on a fresh 2048-page zone: no Unmovable block; __rmqueue_claim from order 10 down finds
        // the Movable list's head, pfn 0 (order 10 >= pageblock_order: taken whole). change_pageblock_range makes
        // pageblocks 0 and 1 Unmovable, expand() puts 512 (o9), 256 (o8), ..., 1 (o0) on the Unmovable lists.
        var a = new BuddyAllocator(2048);
        Assert.That(a.AllocPages(0, MigrateType.Unmovable), Is.EqualTo(0));
        Assert.That(Blocks(a), Is.EqualTo(new long[] { 2, 2, 0 }));
        Assert.That(Row(a, MigrateType.Unmovable), Is.EqualTo(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }));
        Assert.That(Row(a, MigrateType.Movable), Is.EqualTo(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }));
        Assert.That(a.Extfrag, Is.EqualTo(1));
        Assert.That(a.BlocksClaimed, Is.EqualTo(2));
        // A movable page now comes from the Movable order-10 block (1024), the next unmovable from the claimed one (1).
        Assert.That(a.AllocPages(0), Is.EqualTo(1024));
        Assert.That(a.AllocPages(0, MigrateType.Unmovable), Is.EqualTo(1));
        Assert.That(a.Extfrag, Is.EqualTo(1), "no fallback: each type had its own free pages");
    }

    [Test]
    public void AMovablePageStealsTheSmallestUnmovableBlockWithoutClaiming()
    {
        // 512 pages (one pageblock). Unmovable order 0 claims the order-9 block: Unmovable lists o0..o8 hold
        // 1, 2, 4, ..., 256. Unmovable allocations of orders 8, 7, 6, 5, 4 take 256, 128, 64, 32, 16: left free are
        // 1 (o0), 2 (o1), 4 (o2), 8 (o3), all Unmovable, 15 pages.
        var a = new BuddyAllocator(512);
        Assert.That(a.AllocPages(0, MigrateType.Unmovable), Is.EqualTo(0));
        int[] expected = [256, 128, 64, 32, 16];
        for (int i = 0; i < expected.Length; i++)
            Assert.That(a.AllocPages(8 - i, MigrateType.Unmovable), Is.EqualTo(expected[i]));
        Assert.That(Row(a, MigrateType.Unmovable), Is.EqualTo(new long[] { 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0 }));

        // Movable order 0. With ALLOC_NOFRAGMENT only blocks of order >= 9 may be claimed: none, the pass fails. Then
        // __rmqueue_claim: orders 10..4 have no free block; at order 3 should_try_claim_block says no for a movable
        // allocation (3 < pageblock_order / 2): -2, stop. __rmqueue_steal from order 0: Unmovable's pfn 1.
        Assert.That(a.AllocPages(0), Is.EqualTo(1));
        Assert.That(a.PageblockType(0), Is.EqualTo(MigrateType.Unmovable), "stolen, not claimed");
        // Again: order 0 is empty, the smallest fitting block is Unmovable's pfn 2 (o1): 2 is taken, 3 stays on the
        // Unmovable order-0 list (expand with the fallback's type).
        Assert.That(a.AllocPages(0), Is.EqualTo(2));
        Assert.That(List(a, 0, MigrateType.Unmovable), Is.EqualTo(new[] { 3 }));
        Assert.That(Row(a, MigrateType.Unmovable), Is.EqualTo(new long[] { 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0 }));
        Assert.That(Row(a, MigrateType.Movable), Is.EqualTo(new long[BuddyAllocator.NrOrders]));
        Assert.That(a.Extfrag, Is.EqualTo(3), "one claim, two steals");
        Assert.That(a.BlocksClaimed, Is.EqualTo(1));
    }

    /// <summary>A 512-page zone whose first 300 pages were handed out (upwards from pfn 0) as movable pages.</summary>
    private static BuddyAllocator ThreeHundredMovable()
    {
        var a = new BuddyAllocator(512);
        for (int i = 0; i < 300; i++)
            Assert.That(a.AllocPages(0), Is.EqualTo(i));
        // 300 = 256 + 32 + 8 + 4: the free blocks are 300 (o2), 304 (o4), 320 (o6), 384 (o7), 212 pages, all Movable.
        Assert.That(Row(a, MigrateType.Movable), Is.EqualTo(new long[] { 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0 }));
        return a;
    }

    [Test]
    public void AnUnmovablePageStealsFromABlockFullOfMovablePages()
    {
        // The 300 allocated pages are on the LRU (movable). Unmovable order 0: __rmqueue_claim tries 384 (o7), 320
        // (o6), 304 (o4), 300 (o2), all in pageblock 0: free 212, movable 300, alike = 512 - (212 + 300) = 0, and
        // 212 + 0 < 256: no claim. __rmqueue_steal: the smallest Movable block, 300 (o2): 300 is taken, 302 (o1) and
        // 301 (o0) stay Movable. The pageblock stays Movable.
        var a = ThreeHundredMovable();
        a.IsMovable = pfn => pfn < 300;
        Assert.That(a.AllocPages(0, MigrateType.Unmovable), Is.EqualTo(300));
        Assert.That(a.PageblockType(0), Is.EqualTo(MigrateType.Movable));
        Assert.That(List(a, 0, MigrateType.Movable), Is.EqualTo(new[] { 301 }));
        Assert.That(List(a, 1, MigrateType.Movable), Is.EqualTo(new[] { 302 }));
        Assert.That(a.Extfrag, Is.EqualTo(1));
        Assert.That(a.BlocksClaimed, Is.Zero);
    }

    [Test]
    public void AnUnmovablePageClaimsABlockWhoseUsedPagesAreUnmovable()
    {
        // The same zone, but its 300 allocated pages are not movable (not on an LRU): alike = 512 - (212 + 0) = 300,
        // 212 + 300 >= 256: try_to_claim_block claims pageblock 0 at the first try (384, o7), moving its four free
        // blocks to the Unmovable lists' tails, then __rmqueue_smallest(Unmovable) takes 300 (o2) and puts 302 (o1)
        // and 301 (o0) on the Unmovable lists.
        var a = ThreeHundredMovable();
        a.IsMovable = _ => false;
        Assert.That(a.AllocPages(0, MigrateType.Unmovable), Is.EqualTo(300));
        Assert.That(a.PageblockType(0), Is.EqualTo(MigrateType.Unmovable));
        Assert.That(Row(a, MigrateType.Unmovable), Is.EqualTo(new long[] { 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0 }));
        Assert.That(Row(a, MigrateType.Movable), Is.EqualTo(new long[BuddyAllocator.NrOrders]));
        Assert.That(a.BlocksClaimed, Is.EqualTo(1));
        // A movable page now has to fall back: claiming needs 256 free or movable pages in the block, and there are
        // 211 free (301, 302-303, 304-319, 320-383, 384-511) + 0 movable (the predicate says none) at orders 7, 6 and
        // 4; order 3 stops the claim (movable, below pageblock_order / 2); it steals the smallest block, 301 (o0).
        Assert.That(a.AllocPages(0), Is.EqualTo(301));
    }

    [Test]
    public void AMovableHugePageClaimsAWholeUnmovablePageblock()
    {
        // 1024 pages. Unmovable order 9 claims the order-10 block (both pageblocks Unmovable), 512 (o9) left on the
        // Unmovable list. Movable order 9 with ALLOC_NOFRAGMENT: order 9 >= pageblock_order, so 512 is claimed whole
        // and pageblock 1 becomes Movable.
        var a = new BuddyAllocator(1024);
        Assert.That(a.AllocPages(9, MigrateType.Unmovable), Is.EqualTo(0));
        Assert.That(a.AllocPages(9), Is.EqualTo(512));
        Assert.That(Blocks(a), Is.EqualTo(new long[] { 1, 1, 0 }));
        // Freeing: 512 goes to the Movable order-9 list (its pageblock's type). Then 0 (Unmovable): its buddy 512 is a
        // free order-9 block of another type; __free_one_page merges them (all three types are mergeable) and gives
        // the buddy's pageblock the freed block's type: one Unmovable order-10 block, both pageblocks Unmovable.
        a.FreePages(512, 9);
        Assert.That(List(a, 9, MigrateType.Movable), Is.EqualTo(new[] { 512 }));
        a.FreePages(0, 9);
        Assert.That(List(a, 10, MigrateType.Unmovable), Is.EqualTo(new[] { 0 }));
        Assert.That(Blocks(a), Is.EqualTo(new long[] { 2, 0, 0 }));
        Assert.That(a.NrFreePages, Is.EqualTo(1024));
    }

    [Test]
    public void FallbackOrderIsLinuxs()
    {
        // fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1] as mm/page_alloc.c lists it.
        Assert.That(BuddyAllocator.Fallback(MigrateType.Unmovable, 0), Is.EqualTo(MigrateType.Reclaimable));
        Assert.That(BuddyAllocator.Fallback(MigrateType.Unmovable, 1), Is.EqualTo(MigrateType.Movable));
        Assert.That(BuddyAllocator.Fallback(MigrateType.Movable, 0), Is.EqualTo(MigrateType.Reclaimable));
        Assert.That(BuddyAllocator.Fallback(MigrateType.Movable, 1), Is.EqualTo(MigrateType.Unmovable));
        Assert.That(BuddyAllocator.Fallback(MigrateType.Reclaimable, 0), Is.EqualTo(MigrateType.Unmovable));
        Assert.That(BuddyAllocator.Fallback(MigrateType.Reclaimable, 1), Is.EqualTo(MigrateType.Movable));
        // should_try_claim_block: from order 4 (pageblock_order / 2) for everyone; always for unmovable/reclaimable.
        Assert.That(BuddyAllocator.ShouldTryClaimBlock(3, MigrateType.Movable), Is.False);
        Assert.That(BuddyAllocator.ShouldTryClaimBlock(4, MigrateType.Movable), Is.True);
        Assert.That(BuddyAllocator.ShouldTryClaimBlock(0, MigrateType.Unmovable), Is.True);
        Assert.That(BuddyAllocator.ShouldTryClaimBlock(0, MigrateType.Reclaimable), Is.True);
    }

    [Test]
    public void PerCpuListsAreKeptPerMigrateType()
    {
        // 1024 pages, batch 4, high 100, one CPU. An unmovable refill claims the order-10 block (rmqueue_bulk: the
        // first __rmqueue claims, the next three come from the Unmovable lists): pages 0, 1, 2, 3 on the Unmovable
        // list, the head (0) handed out.
        var buddy = new BuddyAllocator(1024);
        var pcp = new PerCpuPageSet(buddy, cpus: 1, batch: 4, high: 100);
        Assert.That(pcp.Alloc(0, MigrateType.Unmovable), Is.EqualTo(0));
        Assert.That(pcp.Count(0, MigrateType.Unmovable), Is.EqualTo(3));
        Assert.That(pcp.Count(0, MigrateType.Movable), Is.Zero);
        // A movable page: its own list is empty; with ALLOC_NOFRAGMENT the refill may claim only whole pageblocks, and
        // the Unmovable order-9 block 512 is one: claimed (pageblock 1 Movable), pages 512..515 on the Movable list.
        Assert.That(pcp.Alloc(0), Is.EqualTo(512));
        Assert.That(buddy.PageblockType(512), Is.EqualTo(MigrateType.Movable));
        // A freed page goes to the list of its pageblock's type: 0 to Unmovable's head, 512 to Movable's.
        pcp.Free(0, 0);
        pcp.Free(512, 0);
        var u = new int[8];
        Assert.That(pcp.CopyList(0, MigrateType.Unmovable, u), Is.EqualTo(4));
        Assert.That(u[0], Is.EqualTo(0));
        var mv = new int[8];
        Assert.That(pcp.CopyList(0, MigrateType.Movable, mv), Is.EqualTo(4));
        Assert.That(mv[..4], Is.EqualTo(new[] { 512, 513, 514, 515 }));
        // A drain starts with the Unmovable list (pindex 0), tail first: 3, 2, 1, 0 rebuild block 0 (o9, Unmovable).
        // Then the Movable list: 515, 514, 513, 512 rebuild block 512 (o9, Movable), which merges with block 0 across
        // pageblocks and gives pageblock 0 its own type: one Movable order-10 block.
        Assert.That(pcp.DrainAll(), Is.EqualTo(8));
        Assert.That(buddy.NrFreePages, Is.EqualTo(1024));
        Assert.That(List(buddy, 10, MigrateType.Movable), Is.EqualTo(new[] { 0 }));
        Assert.That(Blocks(buddy), Is.EqualTo(new long[] { 0, 2, 0 }));
    }

    [Test]
    public void PageTypeInfoHasTheKernelsFormat()
    {
        // The header and column layout recorded from this machine's /proc/pagetypeinfo (Linux 6.18, x86-64, no CMA).
        var a = new BuddyAllocator(2048);
        a.AllocPages(0, MigrateType.Unmovable);
        string expected =
            "Page block order: 9\n" +
            "Pages per block:  512\n" +
            "\n" +
            "Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \n" +
            "Node    0, zone   Normal, type    Unmovable      1      1      1      1      1      1      1      1      1      1      0 \n" +
            "Node    0, zone   Normal, type      Movable      0      0      0      0      0      0      0      0      0      0      1 \n" +
            "Node    0, zone   Normal, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 \n" +
            "Node    0, zone   Normal, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 \n" +
            "Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 \n" +
            "\n" +
            "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate \n" +
            "Node 0, zone   Normal            2            2            0            0            0 \n";
        Assert.That(PageTypeInfo.Format(a), Is.EqualTo(expected));
    }

    [Test]
    public void FragmentationScoreAndMarksFollowTheirDefinitions()
    {
        // fragmentation_score_wmark: proactiveness 20 -> low 80, high 80 + min(10, 40) = 90; 0 -> 100/100; 100 -> 5/7.
        Assert.That(Kcompactd.FragmentationScoreWmark(20, low: true), Is.EqualTo(80));
        Assert.That(Kcompactd.FragmentationScoreWmark(20, low: false), Is.EqualTo(90));
        Assert.That(Kcompactd.FragmentationScoreWmark(0, low: true), Is.EqualTo(100));
        Assert.That(Kcompactd.FragmentationScoreWmark(0, low: false), Is.EqualTo(100));
        Assert.That(Kcompactd.FragmentationScoreWmark(100, low: true), Is.EqualTo(5));
        Assert.That(Kcompactd.FragmentationScoreWmark(100, low: false), Is.EqualTo(7));
        // extfrag_for_order(9): a fresh 2048-page zone has all its free pages in order-10 blocks: 0. One page out:
        // 2047 free, 512 + 1024 of them in blocks of order >= 9: (2047 - 1536) * 100 / 2047 = 24 (integer division).
        var a = new BuddyAllocator(2048);
        Assert.That(Kcompactd.FragmentationScore(a), Is.Zero);
        a.AllocPages(0);
        Assert.That(Kcompactd.FragmentationScore(a), Is.EqualTo(24));
    }
}
