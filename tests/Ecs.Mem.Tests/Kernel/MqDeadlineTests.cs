using EcsMem.Systems.Filemap;
using NUnit.Framework;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The data disk's scheduler (Filemap/MqDeadline.cs: block/mq-deadline.c's read side in front of a device that serves
/// one request at a time, the next held on hctx->dispatch). Service time 100 + pages cycles; each expected order and
/// time is worked out by hand next to the test from __dd_dispatch_request's rules.
/// </summary>
public class MqDeadlineTests
{
    private sealed class Log : IBlkMqRequestOwner
    {
        public readonly List<(long Id, ulong Start, ulong Due)> Started = new();
        public readonly List<long> Completed = new();

        public void RequestStarted(long id, ulong start, ulong due) => Started.Add((id, start, due));

        public void RequestCompleted(long id) => Completed.Add(id);
    }

    private static ulong Service(int pages) => 100 + (ulong)pages;

    [Test]
    public void AHigherSectorInsertedLaterGoesBeforeALowerOneAndTheHeldRequestIsNotReconsidered()
    {
        // t=0: A (sector 100) and B (300), one plug. The idle device starts the lowest sector from latest_pos 0, A: 0 to
        // 110. blk-mq dispatches B at once (next above 100), the device is busy, B is held.
        // t=50: C (200) and D (400). B is already held, so nothing changes.
        // t=110: A completes, B starts (110 to 220); the scheduler's next from latest_pos 300 is D (400), not the older C.
        // t=220: B completes, D starts (220 to 330); nothing lies at or above 400, so a new batch takes the FIFO head, C.
        // t=330: D completes, C starts (330 to 440). FIFO order would have been A, B, C, D.
        var log = new Log();
        var dd = new MqDeadline(1_000_000, Service, log);
        long a = dd.Insert(100, 10, 0), b = dd.Insert(300, 10, 0);
        dd.RunHwQueue(0);
        Assert.That(log.Started, Is.EqualTo(new[] { (a, 0UL, 110UL) }));
        Assert.That(dd.Queued, Is.Zero, "B left the scheduler for hctx->dispatch");
        long c = dd.Insert(200, 10, 50), d = dd.Insert(400, 10, 50);
        dd.RunHwQueue(50);
        Assert.That(log.Started, Has.Count.EqualTo(1));
        dd.Advance(1_000);
        Assert.That(log.Started, Is.EqualTo(new[] { (a, 0UL, 110UL), (b, 110UL, 220UL), (d, 220UL, 330UL), (c, 330UL, 440UL) }));
        Assert.That(log.Completed, Is.EqualTo(new[] { a, b, d, c }));
        Assert.That(dd.Busy, Is.False);
    }

    [TestCase(1_000UL, 16)]
    [TestCase(1_000_000UL, 21)]
    public void AnExpiredReadIsTakenWhenItsBatchOfSixteenEnds(ulong readExpire, int lowPosition)
    {
        // H0 (sector 1000, 1 page: 101 cycles) starts alone at 0; at t=1 one plug inserts L (sector 5) and then H1..H20
        // (sectors 1001..1020). Each H_k starts at 101k. H0 was the batch's first dispatch, H1..H15 its 2nd..16th, each
        // held when the one before it starts. At 1515, when H15 starts, the batch is over (fifo_batch 16): with read_expire
        // 1,000 L's deadline (1 + 1,000) has passed, so L is next (start 1616), then H16..H20 from sector 5 upwards
        // (position 16 in the order). With a deadline far off the next in sector order, H16, goes on; L is taken when
        // nothing lies above the last position: after H20 (position 21, start 2121).
        var log = new Log();
        var dd = new MqDeadline(readExpire, Service, log);
        long h0 = dd.Insert(1000, 1, 0);
        dd.RunHwQueue(0);
        long low = dd.Insert(5, 1, 1);
        var high = new List<long> { h0 };
        for (int k = 1; k <= 20; k++)
            high.Add(dd.Insert(1000 + k, 1, 1));
        dd.RunHwQueue(1);
        dd.Advance(10_000);
        var order = log.Started.Select(s => s.Id).ToList();
        var expected = new List<long>(high);
        expected.Insert(lowPosition, low);
        Assert.That(order, Is.EqualTo(expected));
        for (int i = 0; i < 22; i++)
            Assert.That(log.Started[i].Start, Is.EqualTo(101UL * (ulong)i), $"request {i} starts when the one before it ends");
    }

    [Test]
    public void ADeviceIdleAtAnInsertStartsTheRequestThenAndRequestsFollowBackToBack()
    {
        // t=0: one 4-page request at sector 0 (0 to 104), alone. t=500: the device is idle again; one plug inserts
        // sectors 50 and 10, and from latest_pos 0 the batch goes up in sector order: 10 (500 to 604), then 50 (604 to
        // 708), back to back, though 50 was inserted first.
        var log = new Log();
        var dd = new MqDeadline(1_000_000, Service, log);
        long r0 = dd.Insert(0, 4, 0);
        dd.RunHwQueue(0);
        dd.Advance(499);
        long r50 = dd.Insert(50, 4, 500), r10 = dd.Insert(10, 4, 500);
        dd.RunHwQueue(500);
        dd.Advance(10_000);
        Assert.That(log.Started, Is.EqualTo(new[] { (r0, 0UL, 104UL), (r10, 500UL, 604UL), (r50, 604UL, 708UL) }));
    }
}
