using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

/// <summary>
/// The span forms of Add, Remove and Destroy only load records ahead; the world they leave must be the one a
/// loop of single calls leaves: same entities, same archetypes, same row order, same values.
/// </summary>
public class WorldBatchTests
{
    /// <summary>Two identical worlds (same seeded history), so their entity handles are equal too.</summary>
    private static (World, World, List<Entity>) Twins(ulong seed)
    {
        World Build(out List<Entity> live)
        {
            var w = new World();
            var rng = new TestRng(seed);
            live = new List<Entity>();
            for (int i = 0; i < 3000; i++)
            {
                Entity e = (rng.Below(4)) switch
                {
                    0 => w.Create(new Pos(i, 1)),
                    1 => w.Create(new Pos(i, 2), new Vel(i)),
                    2 => w.Create(new Tag(i), new Named("e" + i, i)),
                    _ => w.Create(new Pos(i, 3), new Tag(-i), new Named(null, i)),
                };
                live.Add(e);
            }
            // Free some ids, so later creates in either world recycle the same ones.
            for (int i = 0; i < 500; i++)
            {
                int k = rng.Below(live.Count);
                w.Destroy(live[k]);
                live.RemoveAt(k);
            }
            return w;
        }
        var a = Build(out var live);
        var b = Build(out _);
        return (a, b, live);
    }

    /// <summary>Every entity in storage order, with its archetype and every component value.</summary>
    private static List<string> Dump(World w)
    {
        var rows = new List<string>();
        foreach (Archetype arch in w.Archetypes)
            for (int c = 0; c < arch.ChunkCount; c++)
                foreach (Entity e in arch.GetChunk(c).EntitySpan)
                    rows.Add($"{arch.Signature} {e} " + string.Join(" ", Kind.All.Where(k => k.Has(w, e)).Select(k => k.Get(w, e))));
        return rows;
    }

    private static List<Entity> Pick(List<Entity> from, Func<Entity, bool> keep, ulong seed)
    {
        var rng = new TestRng(seed);
        var picked = from.Where(keep).ToList();
        for (int i = picked.Count - 1; i > 0; i--)
        {
            int j = rng.Below(i + 1);
            (picked[i], picked[j]) = (picked[j], picked[i]);
        }
        return picked.Take(picked.Count * 2 / 3).ToList();
    }

    [Test]
    public void SpanFormsLeaveTheWorldALoopOfSingleCallsLeaves()
    {
        var (batched, looped, live) = Twins(7);
        Assert.That(Dump(batched), Is.EqualTo(Dump(looped)), "twins differ before the test starts");

        var adds = Pick(live, e => !batched.Has<Big>(e), 1);
        batched.Add(adds.ToArray(), new Big(1, 2, 3, 4));
        foreach (Entity e in adds)
            looped.Add(e, new Big(1, 2, 3, 4));
        Assert.That(Dump(batched), Is.EqualTo(Dump(looped)), "after Add");
        Assert.That(adds.All(e => batched.Get<Big>(e) == new Big(1, 2, 3, 4)));

        var removes = Pick(live, e => batched.Has<Pos>(e), 2);
        batched.Remove<Pos>(removes.ToArray());
        foreach (Entity e in removes)
            looped.Remove<Pos>(e);
        Assert.That(Dump(batched), Is.EqualTo(Dump(looped)), "after Remove");
        Assert.That(removes.Any(e => batched.Has<Pos>(e)), Is.False);

        var destroys = Pick(live, _ => true, 3);
        batched.Destroy(destroys.ToArray());
        foreach (Entity e in destroys)
            looped.Destroy(e);
        Assert.That(Dump(batched), Is.EqualTo(Dump(looped)), "after Destroy");
        Assert.That(batched.Size, Is.EqualTo(live.Count - destroys.Count));
        Assert.That(destroys.Any(batched.IsAlive), Is.False);
    }

    [Test]
    public void ABadEntityStopsTheSpanWhereALoopWouldStop()
    {
        var (batched, looped, live) = Twins(11);
        var targets = Pick(live, e => !batched.Has<Flag>(e), 4).Take(40).ToList();
        Entity stale = targets[25];
        batched.Destroy(stale);
        looped.Destroy(stale);

        var thrown = Assert.Throws<StaleEntityException>(() => batched.Add(targets.ToArray(), new Flag(9)));
        Assert.That(thrown!.Entity, Is.EqualTo(stale));
        foreach (Entity e in targets.Take(25))
            looped.Add(e, new Flag(9));
        Assert.That(Dump(batched), Is.EqualTo(Dump(looped)), "the 25 before the stale handle changed, none after");
        Assert.That(targets.Skip(26).Any(e => batched.Has<Flag>(e)), Is.False);
    }

    [Test]
    public void ALoopOfSingleCallsWithPublicLookaheadLeavesTheSameWorld()
    {
        // World.Prefetch is the caller's lookahead for loops the span forms do not fit (a value per entity):
        // the world it leaves must be the one the same loop leaves without it.
        var (hinted, plain, live) = Twins(13);
        var adds = Pick(live, e => !hinted.Has<Vel>(e), 5);
        for (int i = 0; i < adds.Count; i++)
        {
            if (i + 8 < adds.Count) hinted.Prefetch(adds[i + 8]);
            hinted.Add(adds[i], new Vel(i));
            plain.Add(adds[i], new Vel(i));
        }
        var removes = Pick(live, e => hinted.Has<Pos>(e), 6);
        for (int i = 0; i < removes.Count; i++)
        {
            if (i + 3 < removes.Count) hinted.Prefetch(removes[i + 3]);
            hinted.Remove<Pos>(removes[i]);
            plain.Remove<Pos>(removes[i]);
        }
        Assert.That(Dump(hinted), Is.EqualTo(Dump(plain)));
        Assert.That(adds.Select((e, i) => hinted.Get<Vel>(e) == new Vel(i)).All(x => x), Is.True);
    }

    [Test]
    public void PrefetchingAnyHandleIsHarmless()
    {
        var w = new World();
        Entity e = w.Create(new Tag(1));
        // Out of range, negative (a CommandBuffer's deferred handle), null, stale: ignored or only warms a line.
        foreach (var h in new[] { new Entity(int.MaxValue, 1), new Entity(-3, -1), Entity.Null, e, new Entity(e.Id, e.Version + 5) })
        {
            w.PrefetchRecord(h);
            w.Prefetch(h);
        }
        Assert.That((w.Size, w.Get<Tag>(e)), Is.EqualTo((1, new Tag(1))));
    }
}
