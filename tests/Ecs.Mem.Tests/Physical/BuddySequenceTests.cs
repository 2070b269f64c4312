
namespace EcsMem.Tests.Physical;

/// <summary>Hand-worked split and coalesce sequences; the expected free lists are derived in the comments.</summary>
public class BuddySequenceTests
{
    private static long[] Counts(params long[] low)
    {
        var all = new long[BuddyAllocator.NrOrders];
        low.CopyTo(all, 0);
        return all;
    }

    private static int[] List(BuddyAllocator a, int order)
    {
        var buffer = new int[64];
        int n = a.CopyFreeList(order, buffer);
        return buffer[..n];
    }

    [Test]
    public void SixteenPageZoneSplitsAndCoalescesAsWorkedByHand()
    {
        // 16 pages from pfn 0: order 10 would overrun the zone, the largest fitting block is order 4.
        // buddyinfo:  0 0 0 0 1 0 0 0 0 0 0
        var a = new BuddyAllocator(16);
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(0, 0, 0, 0, 1)));

        // alloc order 0: take [0,16) o4, expand keeps the lower half each time:
        // 8 -> o3, 4 -> o2, 2 -> o1, 1 -> o0; returns 0. 4 splits.
        // buddyinfo:  1 1 1 1 0 ...
        Assert.That(a.AllocPages(0), Is.EqualTo(0));
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(1, 1, 1, 1, 0)));
        Assert.That(a.SplitCount, Is.EqualTo(4));
        Assert.That(a.FreeBlockOrderAt(8), Is.EqualTo(3));
        Assert.That(a.FreeBlockOrderAt(4), Is.EqualTo(2));
        Assert.That(a.FreeBlockOrderAt(2), Is.EqualTo(1));
        Assert.That(a.FreeBlockOrderAt(1), Is.EqualTo(0));

        // alloc order 0: pfn 1 straight from the o0 list.  buddyinfo: 0 1 1 1 0
        Assert.That(a.AllocPages(0), Is.EqualTo(1));
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(0, 1, 1, 1, 0)));

        // alloc order 1: pfn 2 from the o1 list.  buddyinfo: 0 0 1 1 0
        Assert.That(a.AllocPages(1), Is.EqualTo(2));
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(0, 0, 1, 1, 0)));

        // alloc order 0: o0, o1 empty; split [4,8) o2: 6 -> o1, 5 -> o0; returns 4.  buddyinfo: 1 1 0 1 0
        Assert.That(a.AllocPages(0), Is.EqualTo(4));
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(1, 1, 0, 1, 0)));
        Assert.That(a.SplitCount, Is.EqualTo(6));

        // free 0 o0: buddy 1 is allocated, no merge.  buddyinfo: 2 1 0 1 0
        a.FreePages(0, 0);
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(2, 1, 0, 1, 0)));
        Assert.That(a.MergeCount, Is.EqualTo(0));

        // free 1 o0: buddy 0 free o0 -> merge into [0,2) o1; its buddy [2,4) is allocated.  buddyinfo: 1 2 0 1 0
        a.FreePages(1, 0);
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(1, 2, 0, 1, 0)));
        Assert.That(a.MergeCount, Is.EqualTo(1));

        // free 2 o1: buddy [0,2) free o1 -> [0,4) o2; buddy [4,8) is not a free o2 block (4 allocated).
        // buddyinfo: 1 1 1 1 0
        a.FreePages(2, 1);
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(1, 1, 1, 1, 0)));
        Assert.That(a.MergeCount, Is.EqualTo(2));

        // free 4 o0: 5 (o0) -> [4,6) o1; 6 (o1) -> [4,8) o2; 0 (o2) -> [0,8) o3; 8 (o3) -> [0,16) o4;
        // the o4 buddy 16 is outside the zone.  buddyinfo: 0 0 0 0 1 -- back to the start.
        a.FreePages(4, 0);
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(0, 0, 0, 0, 1)));
        Assert.That(a.MergeCount, Is.EqualTo(6));
        Assert.That(a.NrFreePages, Is.EqualTo(16));
        Assert.That((a.AllocCount, a.FreeCount), Is.EqualTo((4L, 4L)));
    }

    [Test]
    public void BlockWhoseParentsBuddyIsFreeIsQueuedAtTheTail()
    {
        // Linux's buddy_merge_likely(): a freed block that cannot merge goes to the list tail when the buddy of
        // the block it would merge into is free, so it is less likely to be handed out before its own buddy returns.
        var a = new BuddyAllocator(16);
        Assert.That(a.AllocPages(0), Is.EqualTo(0)); // o0:[1] o1:[2] o2:[4] o3:[8]
        Assert.That(a.AllocPages(0), Is.EqualTo(1)); // o0:[]  o1:[2] o2:[4] o3:[8]
        Assert.That(a.AllocPages(0), Is.EqualTo(2)); // split [2,4): o0:[3] o1:[] o2:[4] o3:[8]
        Assert.That(a.AllocPages(0), Is.EqualTo(3)); // o0:[]  o1:[] o2:[4] o3:[8]
        Assert.That(a.AllocPages(0), Is.EqualTo(4)); // split [4,8): o0:[5] o1:[6] o2:[] o3:[8]

        // free 2: buddy 3 allocated; parent [2,4)'s buddy [0,2) not free -> head.  o0: [2, 5]
        a.FreePages(2, 0);
        Assert.That(List(a, 0), Is.EqualTo(new[] { 2, 5 }));
        // free 3: merges with 2 into [2,4) o1; [0,2) not free; [0,4)'s buddy [4,8) not free -> head. o1: [2, 6]
        a.FreePages(3, 0);
        Assert.That(List(a, 0), Is.EqualTo(new[] { 5 }));
        Assert.That(List(a, 1), Is.EqualTo(new[] { 2, 6 }));
        // free 0: buddy 1 allocated, but parent [0,2)'s buddy [2,4) is a free o1 block -> TAIL.  o0: [5, 0]
        a.FreePages(0, 0);
        Assert.That(List(a, 0), Is.EqualTo(new[] { 5, 0 }));
        // so the next order-0 allocation takes 5, not the just-freed 0.
        Assert.That(a.AllocPages(0), Is.EqualTo(5));
    }

    [Test]
    public void SplitReturnsTheLowerHalfAndQueuesEveryUpperHalf()
    {
        // One order-10 block [0,1024): an order-0 request leaves 512, 256, ..., 2, 1 free, one block per order.
        var a = new BuddyAllocator(1024);
        Assert.That(a.AllocPages(0), Is.EqualTo(0));
        for (int order = 0; order < BuddyAllocator.MaxOrder; order++)
            Assert.That(a.FreeBlockOrderAt(1 << order), Is.EqualTo(order), $"upper half at pfn {1 << order}");
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0)));
    }

    [Test]
    public void ZoneNotAMultipleOfMaxOrderIsCoveredByTheLargestAlignedBlocks()
    {
        // 1000 = 512 + 256 + 128 + 64 + 32 + 8: blocks at 0 (o9), 512 (o8), 768 (o7), 896 (o6), 960 (o5), 992 (o3).
        var a = new BuddyAllocator(1000);
        Assert.That(a.NrFree.ToArray(), Is.EqualTo(Counts(0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0)));
        Assert.That(a.FreeBlockOrderAt(992), Is.EqualTo(3));
        Assert.That(a.NrFreePages, Is.EqualTo(1000));
        Assert.That(a.AllocPages(10), Is.EqualTo(-1));
        Assert.That(a.AllocFailures[10], Is.EqualTo(1));

        // pfns 3..12 (10 pages, unaligned start): 3 (o0), [4,8) (o2), [8,12) (o2), 12 (o0).
        // [4,8) and [8,12) are not buddies (4's o2 buddy is 0, outside), so nothing merges.
        var b = new BuddyAllocator(10, startPfn: 3);
        Assert.That(b.NrFree.ToArray(), Is.EqualTo(Counts(2, 0, 2)));
        Assert.That(b.FreeBlockOrderAt(3), Is.EqualTo(0));
        Assert.That(b.FreeBlockOrderAt(4), Is.EqualTo(2));
        Assert.That(b.FreeBlockOrderAt(8), Is.EqualTo(2));
        Assert.That(b.FreeBlockOrderAt(12), Is.EqualTo(0));
        Assert.That(b.MergeCount, Is.EqualTo(0));
    }

    [Test]
    public void ExhaustingAndRefillingRestoresTheInitialBuddyinfo()
    {
        // 1536 pages = one o10 + one o9 block. Take every page singly, fail once, give them all back shuffled.
        var a = new BuddyAllocator(1536);
        string initial = a.FormatBuddyInfo();
        var pfns = new int[1536];
        for (int i = 0; i < pfns.Length; i++)
            pfns[i] = a.AllocPages(0);
        Assert.That(pfns.Distinct().Count(), Is.EqualTo(1536));
        Assert.That(a.NrFreePages, Is.EqualTo(0));
        Assert.That(a.AllocPages(0), Is.EqualTo(-1));
        Assert.That(a.AllocFailures[0], Is.EqualTo(1));

        var rng = new SplitMix64(7);
        for (int i = pfns.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (pfns[i], pfns[j]) = (pfns[j], pfns[i]);
        }
        foreach (int pfn in pfns)
            a.FreePages(pfn, 0);
        Assert.That(a.FormatBuddyInfo(), Is.EqualTo(initial));
        // Every page was split off once and merged back once: 1024-1 + 512-1 halvings each way.
        Assert.That(a.SplitCount, Is.EqualTo(1023 + 511));
        Assert.That(a.MergeCount, Is.EqualTo(1023 + 511));
    }

    [Test]
    public void BadFreesThrowClearExceptions()
    {
        var a = new BuddyAllocator(64);
        int p = a.AllocPages(2);
        Assert.That(p, Is.EqualTo(0));

        Assert.That(() => a.FreePages(p, 1), Throws.InvalidOperationException.With.Message.Contains("allocated with order 2 but freed with order 1"));
        Assert.That(() => a.FreePages(1, 0), Throws.InvalidOperationException.With.Message.Contains("was not allocated"));
        Assert.That(() => a.FreePages(64, 0), Throws.InvalidOperationException.With.Message.Contains("outside the zone"));
        a.FreePages(p, 2);
        Assert.That(() => a.FreePages(p, 2), Throws.InvalidOperationException.With.Message.Contains("double free"));
        Assert.That(() => a.AllocPages(11), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => a.AllocPages(-1), Throws.TypeOf<ArgumentOutOfRangeException>());
        // The failed frees changed nothing.
        Assert.That(a.NrFreePages, Is.EqualTo(64));
        Assert.That(a.FreeCount, Is.EqualTo(1));
    }
}
