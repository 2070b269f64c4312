
namespace EcsMem.Tests.Physical;

/// <summary>/proc/buddyinfo text: "Node %d, zone %8s " then "%6lu " per order, newline (mm/vmstat.c frag_show_print).</summary>
public class BuddyInfoTests
{
    [Test]
    public void OneGibZoneIs256MaxOrderBlocks()
    {
        // 1 GiB / 4 KiB = 262144 pages = 256 blocks of 1024 pages.
        var a = new BuddyAllocator(262144);
        Assert.That(a.FormatBuddyInfo(),
            Is.EqualTo("Node 0, zone   Normal      0      0      0      0      0      0      0      0      0      0    256 \n"));
    }

    [Test]
    public void ColumnsAreRightAlignedInSixAndNeverTruncated()
    {
        long[] counts = [1, 22, 333, 4444, 55555, 666666, 7777777, 0, 0, 0, 12];
        Assert.That(BuddyInfo.Format(counts, node: 1, zone: "DMA32"),
            Is.EqualTo("Node 1, zone    DMA32      1     22    333   4444  55555 666666 7777777      0      0      0     12 \n"));
        // A zone name longer than 8 characters is printed whole, like %8s does.
        Assert.That(BuddyInfo.Format(new long[11], zone: "LongZoneName"),
            Does.StartWith("Node 0, zone LongZoneName      0 "));
    }

    [Test]
    public void TextFollowsTheAllocatorAfterASplit()
    {
        // 2048 pages = two o10 blocks; an order-3 request splits the first: one block each at o3..o9 remains.
        var a = new BuddyAllocator(2048);
        Assert.That(a.AllocPages(3), Is.EqualTo(0));
        Assert.That(a.FormatBuddyInfo(),
            Is.EqualTo("Node 0, zone   Normal      0      0      0      1      1      1      1      1      1      1      1 \n"));
    }
}
