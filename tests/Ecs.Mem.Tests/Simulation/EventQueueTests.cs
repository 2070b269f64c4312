using EcsMem.Simulation;

namespace EcsMem.Tests.Simulation;

public class EventQueueTests
{
    [Test]
    public void EqualTimesComeOutInInsertionOrder()
    {
        var q = new EventQueue<int>();
        q.Schedule(10, 1);
        q.Schedule(5, 2);
        q.Schedule(10, 3);
        q.Schedule(5, 4);
        q.Schedule(0, 5);
        q.Schedule(10, 6);
        var order = new List<(ulong, int)>();
        while (q.TryDequeue(out ulong t, out int e))
            order.Add((t, e));
        // By hand: time 0 → 5; time 5 → 2 then 4 (scheduled in that order); time 10 → 1, 3, 6.
        Assert.That(order, Is.EqualTo(new[] { (0UL, 5), (5UL, 2), (5UL, 4), (10UL, 1), (10UL, 3), (10UL, 6) }));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void MatchesAStableSortOnRandomInterleavedUse(int seed)
    {
        // Reference: a list kept in (time, sequence) order by a stable sort, a different algorithm from the heap.
        var rng = new Random(seed);
        var q = new EventQueue<int>();
        var reference = new List<(ulong Time, int Seq)>();
        int seq = 0;
        for (int step = 0; step < 20_000; step++)
        {
            if (rng.Next(3) > 0 || reference.Count == 0)
            {
                ulong t = (ulong)rng.Next(50); // few distinct times: many ties
                q.Schedule(t, seq);
                reference.Add((t, seq));
                seq++;
            }
            else
            {
                var expected = reference.OrderBy(r => r.Time).First(); // OrderBy is stable: first scheduled wins ties
                reference.Remove(expected);
                Assert.That(q.TryDequeue(out ulong t, out int e), Is.True);
                Assert.That((t, e), Is.EqualTo(expected));
            }
            Assert.That(q.Count, Is.EqualTo(reference.Count));
        }
    }

    [Test]
    public void EmptyQueueDequeuesNothing()
    {
        var q = new EventQueue<long>();
        Assert.That(q.TryDequeue(out _, out _), Is.False);
        Assert.That(() => q.PeekTime, Throws.InvalidOperationException);
    }
}
