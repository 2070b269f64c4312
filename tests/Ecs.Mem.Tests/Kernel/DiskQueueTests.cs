using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using NUnit.Framework;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The swap device's write requests (PageWriteback/Writeback.cs): a plug longer than the queue's max_segments goes to
/// the disk as several requests, and a reclaim invocation that holds the plug (a shmem swap-in's, inside swap
/// readahead's blk_start_plug) submits nothing until it ends. The counts are worked out by hand next to each assertion.
/// </summary>
public class DiskQueueTests
{
    private const string Yaml = """
        machine: {ram: 4M, swap: 32M, seed: 5, writeback: async}
        processes:
          - name: p
            layout: {exec: {}}
            workload: {generator: "uniform:count=10,pages=4,writes=0.5,seed=2,base=0x7f0000000000"}
        """;

    private static Systems.Machine.Machine Build(string yaml) => ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "disk.yaml"));

    /// <summary>Frames taken from the allocator (not on any LRU), so a completion only clears their flags.</summary>
    /// <summary>
    /// <paramref name="n"/> frames standing for pages written to consecutive swap slots (page_private), as reclaim's
    /// are: in one plug they merge into requests of up to max_segments (blk_add_rq_to_plug's early flush counts requests).
    /// </summary>
    private static int[] Frames(Systems.Machine.Machine m, int n)
    {
        int[] frames = Enumerable.Range(0, n).Select(_ => m.Kernel.Zone.AllocFrame(0)).ToArray();
        for (int i = 0; i < n; i++)
            m.Kernel.Zone.Frames[frames[i]].Index = 100 + i;
        return frames;
    }

    [Test]
    public void APlugLongerThanMaxSegmentsIsSplitIntoRequestsOfAtMostThatMany()
    {
        using var m = Build(Yaml);
        var wb = m.Kernel.Writeback!;
        Assert.That(wb.MaxSegments, Is.EqualTo(254), "virtio-blk's max_segments, the default");
        foreach (int pfn in Frames(m, 600))
            wb.StartWriteback(pfn);
        wb.Unplug();
        // 600 = 254 + 254 + 92: three requests.
        Assert.That((wb.InFlight, wb.NrWriteback), Is.EqualTo((3, 600)));
    }

    [Test]
    public void TheScenarioKeySetsMaxSegments()
    {
        using var m = Build(Yaml.Replace("writeback: async}", "writeback: async, disk_max_segments: 8}", StringComparison.Ordinal));
        var wb = m.Kernel.Writeback!;
        foreach (int pfn in Frames(m, 20))
            wb.StartWriteback(pfn);
        wb.Unplug();
        // 20 = 8 + 8 + 4.
        Assert.That(wb.InFlight, Is.EqualTo(3));
    }

    [Test]
    public void AHeldPlugSubmitsNothingUntilTheOutermostRelease()
    {
        using var m = Build(Yaml);
        var wb = m.Kernel.Writeback!;
        int[] pages = Frames(m, 40);
        wb.HoldPlug();
        wb.HoldPlug();
        foreach (int pfn in pages)
            wb.StartWriteback(pfn);
        wb.Unplug(); // shrink_inactive_list's unplug inside the held plug: nothing goes
        Assert.That((wb.InFlight, wb.NrWriteback), Is.EqualTo((0, 40)));
        wb.ReleasePlug(); // the inner release: still held
        Assert.That(wb.InFlight, Is.EqualTo(0));
        wb.ReleasePlug();
        // 40 pages ≤ 254: one request.
        Assert.That((wb.InFlight, wb.NrWriteback), Is.EqualTo((1, 40)));
    }

    /// <summary>Frames written to consecutive swap slots from <paramref name="slot"/> on.</summary>
    private static int[] FramesAt(Systems.Machine.Machine m, int n, int slot)
    {
        int[] frames = Frames(m, n);
        for (int i = 0; i < n; i++)
            m.Kernel.Zone.Frames[frames[i]].Index = slot + i;
        return frames;
    }

    /// <summary>
    /// A held plug (<paramref name="readHeads"/>: swap readahead's read first in it) taking runs of pages written to
    /// consecutive slots, each run (count, first slot) a request of its own; returns the writeback for more checks.
    /// </summary>
    private static Systems.PageWriteback.Writeback HeldPlug(Systems.Machine.Machine m, bool readHeads, params (int Pages, int Slot)[] runs)
    {
        var wb = m.Kernel.Writeback!;
        wb.HoldPlug(readHeads);
        Write(m, runs);
        return wb;
    }

    private static void Write(Systems.Machine.Machine m, params (int Pages, int Slot)[] runs)
    {
        foreach ((int pages, int slot) in runs)
            foreach (int pfn in FramesAt(m, pages, slot))
                m.Kernel.Writeback!.StartWriteback(pfn);
    }

    // blk_add_rq_to_plug compares the plug's first request with BLK_PLUG_FLUSH_SIZE (128 KiB = 32 pages). Measured on
    // 6.18 (oracle/experiments/sw60-rounds, results/session29.txt): a reclaim inside swap readahead's plug with no read
    // ahead of its writes issues its first 183 or 254 pages while it still runs.

    [Test]
    public void AHeldPlugHeadedByAWriteOfUnder128KiBIsNotFlushedByLaterRequests()
    {
        using var m = Build(Yaml);
        // Three requests: 20 pages at slot 100, 20 at slot 300, 5 at slot 500. The first holds 20 pages (< 32) when the
        // second and the third start: the size test looks at the first request only, so nothing goes.
        var wb = HeldPlug(m, readHeads: false, (20, 100), (20, 300), (5, 500));
        Assert.That(wb.InFlight, Is.EqualTo(0));
        wb.ReleasePlug();
        // The release sends the 45 pages, in requests of at most max_segments (254) pages: one.
        Assert.That((wb.InFlight, wb.NrWriteback), Is.EqualTo((1, 45)));
    }

    [Test]
    public void AHeldPlugHeadedByAWriteFlushesWhenThatRequestHolds128KiBAndAnotherStarts()
    {
        using var m = Build(Yaml);
        var wb = HeldPlug(m, readHeads: false, (40, 100));
        Assert.That(wb.InFlight, Is.EqualTo(0), "40 pages merge into one request: no new request, no flush");
        Write(m, (5, 500));
        // Slot 500 starts a request while the first holds 40 ≥ 32 pages: the 40 go to the disk, the 5 stay plugged.
        Assert.That((wb.InFlight, wb.NrWriteback), Is.EqualTo((1, 45)));
        wb.ReleasePlug();
        Assert.That(wb.InFlight, Is.EqualTo(2));
    }

    [Test]
    public void AHeldPlugHeadedBySwapReadaheadsReadKeepsItsWritesUntilTheRelease()
    {
        // The read (a few pages) is the plug's first request: the size test never fires though each write request
        // holds 10 pages; 31 write requests with the read make 32 requests, BLK_MAX_REQUEST_COUNT, which the next
        // request's arrival flushes first.
        using var m = Build(Yaml);
        var wb = HeldPlug(m, readHeads: true, [.. Enumerable.Range(0, 31).Select(r => (10, 1000 + 100 * r))]);
        Assert.That((wb.InFlight, wb.NrWriteback), Is.EqualTo((0, 310)), "31 write requests of 10 pages behind the read: not yet flushed");
        Write(m, (10, 9000));
        // The 32nd write request finds 32 requests (the read and 31 writes) in the plug: they are flushed first, the
        // read with them: the 310 pages go to the disk as requests of at most 254 pages (two), and the new request
        // heads the plug.
        Assert.That((wb.InFlight, wb.NrWriteback), Is.EqualTo((2, 320)));
        wb.ReleasePlug();
        Assert.That(wb.InFlight, Is.EqualTo(3));
    }

    [Test]
    public void WaitingOnAPluggedPageFlushesThePlugFirst()
    {
        using var m = Build(Yaml);
        var wb = m.Kernel.Writeback!;
        int[] pages = Frames(m, 10);
        wb.HoldPlug();
        foreach (int pfn in pages)
            wb.StartWriteback(pfn);
        ulong before = m.Env.Now;
        // io_schedule flushes the sleeper's plug: the ten pages become one request, which the waiter sees complete.
        Assert.That(wb.WaitOnWriteback(pages[3]), Is.True);
        Assert.That((wb.InFlight, wb.NrWriteback), Is.EqualTo((0, 0)));
        // The waiter's clock is at the request's end: swap_write + 9 × disk_page.
        var t = m.Kernel.Timing;
        Assert.That(m.Env.Now - before, Is.GreaterThanOrEqualTo((ulong)(t.SwapOutCycles + 9 * t.DiskPageCycles)));
        wb.ReleasePlug();
        Assert.That(wb.InFlight, Is.EqualTo(0), "nothing was left in the plug");
    }

    [Test]
    public void AMaxSegmentsBelowOneIsRefusedNamingTheKey()
    {
        var e = Assert.Throws<InputException>(() => Build(Yaml.Replace("writeback: async}", "writeback: async, disk_max_segments: 0}", StringComparison.Ordinal)));
        Assert.That(e!.Message, Does.Contain("machine.disk_max_segments"));
    }

    [Test]
    public void WithAQueueDepthOfFourSmallRequestsOverlapTheirLatency()
    {
        foreach ((int depth, int waits) in new[] { (1, 4), (4, 1) })
        {
            using var m = Build(Yaml.Replace("writeback: async}", $"writeback: async, disk_queue_depth: {depth}}}", StringComparison.Ordinal));
            var wb = m.Kernel.Writeback!;
            Assert.That(wb.QueueDepth, Is.EqualTo(depth));
            int[] pages = Frames(m, 4);
            ulong before = m.Env.Now;
            foreach (int pfn in pages)
            {
                wb.StartWriteback(pfn);
                wb.Unplug(); // four one-page requests
            }
            Assert.That(wb.InFlight, Is.EqualTo(4));
            Assert.That(wb.WaitOnWriteback(pages[3]), Is.True);
            // One page each: swap_write. One at a time the last ends after four of them; four at once, after one (their
            // four pages cross the channel in 4 × disk_page, well inside it).
            Assert.That(m.Env.Now - before, Is.EqualTo((ulong)(waits * m.Kernel.Timing.SwapOutCycles)), $"depth {depth}");
        }
    }

    [Test]
    public void RequestsInFlightTogetherShareTheChannelsBandwidth()
    {
        using var m = Build(Yaml.Replace("writeback: async}", "writeback: async, disk_queue_depth: 4}", StringComparison.Ordinal));
        var wb = m.Kernel.Writeback!;
        var t = m.Kernel.Timing;
        int[] pages = Frames(m, 508);
        ulong before = m.Env.Now;
        foreach (int pfn in pages)
            wb.StartWriteback(pfn);
        wb.Unplug(); // two 254-page requests, started together
        Assert.That(wb.InFlight, Is.EqualTo(2));
        Assert.That(wb.WaitOnWriteback(pages[507]), Is.True);
        // The second's pages follow the first's over the channel: 508 × disk_page, more than one request alone takes
        // (swap_write + 253 × disk_page) since 255 × disk_page > swap_write.
        Assert.That(255 * t.DiskPageCycles, Is.GreaterThan(t.SwapOutCycles));
        Assert.That(m.Env.Now - before, Is.EqualTo((ulong)(508 * t.DiskPageCycles)));
    }
}
