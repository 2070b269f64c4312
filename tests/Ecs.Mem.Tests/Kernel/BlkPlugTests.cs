using EcsMem.Components;
using NUnit.Framework;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// shrink_lruvec's blk_plug (mm/vmscan.c) and blk_add_rq_to_plug's early flush (block/blk-mq.c): the pages a reclaim
/// writes wait in the plug; a page whose swap slot follows the last one's joins its request (up to max_segments),
/// any other starts a request, before which a plug holding BLK_MAX_REQUEST_COUNT (32) requests, or whose first request
/// has reached BLK_PLUG_FLUSH_SIZE (128 KiB = 32 pages), goes to the disk. Each expected count of requests in flight is
/// worked out from those two rules.
/// </summary>
public class BlkPlugTests
{
    private static SimMachine Machine() => new(Options(ramPages: 4096, swapPages: 64) with { Policy = "linux", WritebackAsync = true, DiskMaxSegments = 254 });

    /// <summary>Starts the write of frame <paramref name="pfn"/> as swap slot <paramref name="slot"/>.</summary>
    private static void Write(SimMachine m, int pfn, long slot)
    {
        m.Kernel.Zone.Frames[pfn].Index = slot;
        m.Kernel.Writeback!.StartWriteback(pfn);
    }

    [Test]
    public void ContiguousWritesWaitUntilTheFirstRequestIsFullThenUntilTheLoopEnds()
    {
        using SimMachine m = Machine();
        var wb = m.Kernel.Writeback!;
        wb.BlkStartPlug();
        for (int i = 0; i < 254; i++)
            Write(m, 1000 + i, 100 + i);
        wb.Unplug(); // a shrink_folio_list batch's end: nothing goes under shrink_lruvec's plug
        Assert.That(wb.InFlight, Is.Zero, "one full request, still plugged");
        // The 255th page starts a second request; the first is 254 pages (>= 128 KiB): the plug is flushed first.
        Write(m, 1254, 354);
        Assert.That(wb.InFlight, Is.EqualTo(1));
        for (int i = 1; i < 10; i++)
            Write(m, 1254 + i, 354 + i);
        Assert.That(wb.InFlight, Is.EqualTo(1), "the new request's 10 pages wait for the loop's end");
        wb.BlkFinishPlug();
        Assert.That(wb.InFlight, Is.EqualTo(2));
    }

    [Test]
    public void ASmallFirstRequestHoldsThePlugUntilItHas32Requests()
    {
        using SimMachine m = Machine();
        var wb = m.Kernel.Writeback!;
        wb.BlkStartPlug();
        // Request 1: one page (4 KiB < 128 KiB); requests 2..32: 40 contiguous pages each, every one after a gap.
        Write(m, 1000, 10);
        int pfn = 1001;
        for (int r = 0; r < 31; r++)
            for (int i = 0; i < 40; i++)
                Write(m, pfn++, 1000 + (r * 100) + i);
        Assert.That(wb.InFlight, Is.Zero, "32 requests, the first small: no flush yet");
        // The 33rd request: the plug holds BLK_MAX_REQUEST_COUNT, it goes to the disk (1 + 31 × 40 pages, in requests
        // of at most 254 pages: 1,241 / 254 → 5) before the page joins it.
        Write(m, pfn, 9000);
        Assert.That(wb.InFlight, Is.EqualTo(5));
        wb.BlkFinishPlug();
        Assert.That(wb.InFlight, Is.EqualTo(6));
    }

    [Test]
    public void WithoutTheLoopsPlugEachBatchGoesAtItsEnd()
    {
        using SimMachine m = Machine();
        var wb = m.Kernel.Writeback!;
        for (int i = 0; i < 32; i++)
            Write(m, 1000 + i, 100 + i);
        wb.Unplug();
        Assert.That(wb.InFlight, Is.EqualTo(1));
    }
}
