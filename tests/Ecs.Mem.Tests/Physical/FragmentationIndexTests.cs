
namespace EcsMem.Tests.Physical;

/// <summary>unusable_index / extfrag_index on hand-built free lists, worked out with the kernel's integer math.</summary>
public class FragmentationIndexTests
{
    // 8 free order-0 blocks, 4 order-1, 1 order-3: free_pages = 8 + 8 + 8 = 24, free_blocks_total = 13.
    private static readonly long[] Mixed = [8, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0];

    [Test]
    public void UnusableIndexByHand()
    {
        // suitable(order) counts order-sized blocks obtainable: (24 - suitable<<order) * 1000 / 24
        // order 0: suitable 24          -> (24-24)*1000/24 = 0
        // order 1: suitable 4 + 1*4 = 8 -> (24-16)*1000/24 = 333
        // order 2: suitable 1*2 = 2     -> (24- 8)*1000/24 = 666
        // order 3: suitable 1           -> (24- 8)*1000/24 = 666
        // order 4+: suitable 0          -> 1000
        int[] expected = [0, 333, 666, 666, 1000, 1000, 1000, 1000, 1000, 1000, 1000];
        for (int order = 0; order < expected.Length; order++)
            Assert.That(FragmentationIndex.Unusable(Mixed, order), Is.EqualTo(expected[order]), $"order {order}");
        Assert.That(FragmentationIndex.Unusable(new long[11], 0), Is.EqualTo(1000), "nothing free: all unusable");
    }

    [Test]
    public void FragmentationIndexByHand()
    {
        // Orders 0..3 have a suitable block -> -1000. Otherwise 1000 - (1000 + 24000/2^order) / 13:
        // o4: 24000/16=1500 -> 2500/13=192 -> 808     o5: 750 -> 1750/13=134 -> 866
        // o6: 375 -> 1375/13=105 -> 895               o7: 187 -> 1187/13=91 -> 909
        // o8: 93 -> 1093/13=84 -> 916                 o9: 46 -> 1046/13=80 -> 920
        // o10: 23 -> 1023/13=78 -> 922
        int[] expected = [-1000, -1000, -1000, -1000, 808, 866, 895, 909, 916, 920, 922];
        for (int order = 0; order < expected.Length; order++)
            Assert.That(FragmentationIndex.Fragmentation(Mixed, order), Is.EqualTo(expected[order]), $"order {order}");

        Assert.That(FragmentationIndex.Fragmentation(new long[11], 3), Is.EqualTo(0), "no free blocks at all");
        // Three scattered free pages, order 1: 1000 - (1000 + 1500)/3 = 1000 - 833 = 167 (mostly lack of memory).
        Assert.That(FragmentationIndex.Fragmentation([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1), Is.EqualTo(167));
        // One free page, order 1: 1000 - (1000 + 500)/1 = -500 (the kernel's formula goes negative too).
        Assert.That(FragmentationIndex.Fragmentation([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1), Is.EqualTo(-500));
    }

    [Test]
    public void DebugfsLinesUseTheKernelFormats()
    {
        Assert.That(FragmentationIndex.FormatUnusable(Mixed),
            Is.EqualTo("Node 0, zone   Normal 0.000 0.333 0.666 0.666 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n"));
        Assert.That(FragmentationIndex.FormatFragmentation(Mixed),
            Is.EqualTo("Node 0, zone   Normal -1.000 -1.000 -1.000 -1.000  0.808  0.866  0.895  0.909  0.916  0.920  0.922 \n"));
        // -500 / 1000 = 0 and -500 % 1000 = -500 in C, so "%2d.%03d" prints " 0.-500".
        Assert.That(FragmentationIndex.FormatFragmentation([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Does.StartWith("Node 0, zone   Normal -1.000  0.-500 "));
    }

    [Test]
    public void IndicesOfALiveAllocatorMatchItsCounts()
    {
        // 16 pages, allocate pfn 0 only: free 1 (o0), 2 (o1), 4 (o2), 8 (o3) = 15 pages in 4 blocks.
        var a = new BuddyAllocator(16);
        a.AllocPages(0);
        // order 3: suitable 1 block of 8 -> (15-8)*1000/15 = 466; order 4: fails, 1000 - (1000+15000/16=937)/4
        // = 1000 - 1937/4 = 1000 - 484 = 516.
        Assert.That(FragmentationIndex.Unusable(a.NrFree, 3), Is.EqualTo(466));
        Assert.That(FragmentationIndex.Fragmentation(a.NrFree, 4), Is.EqualTo(516));
    }
}
