using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

/// <summary>The struct-callback queries must not allocate once warm (allocation is counted, not timed).</summary>
public class AllocationTests
{
    // Warm-up passes before measuring: the first calls JIT the specialised loops, and crossing the tiering
    // call-count threshold can make the runtime allocate its own bookkeeping on the calling thread.
    private const int Warm = 40;

    // Each steady-state check takes the least of several windows: a JIT tier-up on the test thread can allocate
    // once inside one window, while a real per-call allocation shows in every one.
    private const int Windows = 4;

    private struct Step : IForEach<Pos, Vel>
    {
        public void Update(ref Pos p, ref Vel v) => p.X += v.V;
    }

    private struct Count3 : IForEach<Pos, Vel, Tag>
    {
        public int N;
        public void Update(ref Pos p, ref Vel v, ref Tag t) => N++;
    }

    private struct EntitySum : IForEachWithEntity<Tag>
    {
        public long Sum;
        public void Update(Entity e, ref Tag t) => Sum += e.Id + t.V;
    }

    private struct ChunkSum : IChunkForEach
    {
        public long Sum;
        public void Execute(Chunk chunk)
        {
            foreach (ref var v in chunk.GetSpan<Vel>())
                Sum += v.V;
        }
    }

    private static World Populate()
    {
        var w = new World();
        var a = new Entity[5000];
        w.CreateMany(a, new Pos(0, 0), new Vel(1), new Tag(2));
        var b = new Entity[3000];
        w.CreateMany(b, new Pos(0, 0), new Vel(2));
        return w;
    }

    [Test]
    public void InlineQueryDoesNotAllocate()
    {
        var w = Populate();
        var d = new QueryDescription().WithAll<Pos, Vel>();
        var step = new Step();
        for (int i = 0; i < Warm; i++)
            w.InlineQuery<Step, Pos, Vel>(d, ref step); // JIT tiers, query cache
        long least = long.MaxValue;
        for (int window = 0; window < Windows; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            w.InlineQuery<Step, Pos, Vel>(d, ref step);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.That(least, Is.EqualTo(0));

        var d3 = new QueryDescription().WithAll<Pos, Vel, Tag>();
        var c = new Count3();
        for (int i = 0; i < Warm; i++)
            w.InlineQuery<Count3, Pos, Vel, Tag>(d3, ref c);
        c.N = 0;
        least = long.MaxValue;
        for (int window = 0; window < Windows; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            w.InlineQuery<Count3, Pos, Vel, Tag>(d3, ref c);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.That(least, Is.EqualTo(0));
        Assert.That(c.N, Is.EqualTo(Windows * 5000));
        Assert.That(w.Get<Pos>(new Entity(0, 1)).X, Is.EqualTo(Warm + Windows), "each pass of Step added Vel 1");
    }

    [Test]
    public void InlineEntityQueryDoesNotAllocate()
    {
        var w = Populate();
        var d = new QueryDescription().WithAll<Tag>();
        var it = new EntitySum();
        for (int i = 0; i < Warm; i++)
            w.InlineEntityQuery<EntitySum, Tag>(d, ref it);
        it.Sum = 0;
        long least = long.MaxValue;
        for (int window = 0; window < Windows; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            w.InlineEntityQuery<EntitySum, Tag>(d, ref it);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.That(least, Is.EqualTo(0));
        // Ids 0..4999 carry Tag(2): sum of ids + 2 per entity, once per window.
        Assert.That(it.Sum, Is.EqualTo(Windows * ((4999L * 5000 / 2) + (2 * 5000))));
    }

    [Test]
    public void InlineChunkQueryAndTheChunkEnumeratorDoNotAllocate()
    {
        var w = Populate();
        var d = new QueryDescription().WithAll<Vel>();
        var job = new ChunkSum();
        for (int i = 0; i < Warm; i++)
            w.InlineChunkQuery(d, ref job);
        job.Sum = 0;
        long least = long.MaxValue;
        for (int window = 0; window < Windows; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            w.InlineChunkQuery(d, ref job);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.That(least, Is.EqualTo(0));
        Assert.That(job.Sum, Is.EqualTo(Windows * ((5000 * 1) + (3000 * 2))));

        Query q = w.GetQuery(d);
        long rows = 0;
        for (int i = 0; i < Warm; i++)
            foreach (Chunk c in q)
                rows += c.Count;
        rows = 0;
        least = long.MaxValue;
        for (int window = 0; window < Windows; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (Chunk c in q)
                rows += c.Count;
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.That(least, Is.EqualTo(0));
        Assert.That(rows, Is.EqualTo(Windows * 8000));
    }
}
