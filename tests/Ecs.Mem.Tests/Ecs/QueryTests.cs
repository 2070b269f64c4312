using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

public class QueryTests
{
    private static Entity CreateRandom(World w, ref TestRng rng, List<(Entity, HashSet<Type>)> model)
    {
        var chosen = new List<Kind>();
        foreach (var k in Kind.All)
            if (rng.Below(2) == 0)
                chosen.Add(k);
        Entity e = w.Create(chosen.Select(k => k.ComponentType).ToArray());
        model.Add((e, chosen.Select(k => k.Type).ToHashSet()));
        return e;
    }

    private static List<Entity> Visit(Query q)
    {
        var list = new List<Entity>();
        foreach (Chunk c in q)
            foreach (var e in c.EntitySpan)
                list.Add(e);
        return list;
    }

    [TestCase(11UL)]
    [TestCase(12UL)]
    [TestCase(13UL)]
    public void RandomFilterCombinationsMatchBruteForce(ulong seed)
    {
        var rng = new TestRng(seed);
        var w = new World();
        var model = new List<(Entity, HashSet<Type>)>();
        for (int i = 0; i < 600; i++)
            CreateRandom(w, ref rng, model);

        for (int trial = 0; trial < 300; trial++)
        {
            // Each type goes to All, Any, None or nowhere.
            var all = new List<Type>(); var any = new List<Type>(); var none = new List<Type>();
            foreach (var k in Kind.All)
            {
                switch (rng.Below(5))
                {
                    case 0: all.Add(k.Type); break;
                    case 1: any.Add(k.Type); break;
                    case 2: none.Add(k.Type); break;
                }
            }
            var f = (all.ToArray(), any.ToArray(), none.ToArray());
            var d = WorldModelTests.Describe(f);
            var expected = model.Where(x => WorldModelTests.BruteMatch(f, x.Item2)).Select(x => x.Item1).ToHashSet();
            var got = Visit(w.GetQuery(d));
            Assert.That(got, Is.EquivalentTo(expected), d.ToString());
            Assert.That(w.CountEntities(d), Is.EqualTo(expected.Count));
            foreach (var a in w.Archetypes)
                Assert.That(d.Matches(a.Signature), Is.EqualTo(WorldModelTests.BruteMatch(f, a.Types.Select(t => t.Type).ToHashSet())));
        }
    }

    [Test]
    public void QueriesAreCachedAndSeeArchetypesCreatedLater()
    {
        var w = new World();
        var d = new QueryDescription().WithAll<Vel>().WithNone<Flag>();
        Query q = w.GetQuery(d);
        Assert.That(w.GetQuery(new QueryDescription().WithNone<Flag>().WithAll<Vel>()), Is.SameAs(q), "equal descriptions share one query");
        Assert.That(q.Count(), Is.EqualTo(0));

        Entity a = w.Create(new Vel(1));
        Assert.That(q.Count(), Is.EqualTo(1));
        Entity b = w.Create(new Vel(2), new Tag(2)); // a new archetype, after the query was built
        w.Create(new Vel(3), new Flag(3));           // excluded
        w.Add(a, new Pos(0, 0));                      // moves a into yet another new archetype
        Assert.That(Visit(q), Is.EquivalentTo(new[] { a, b }));
        Assert.That(w.GetQuery(d), Is.SameAs(q));
    }

    [Test]
    public void IterationOrderIsArchetypeCreationThenChunkThenRow()
    {
        var w = new World();
        var expectedByArchetype = new SortedDictionary<int, List<Entity>>();
        var rng = new TestRng(5);
        // Enough entities that {Tag} spills over several chunks; archetypes interleaved at creation.
        for (int i = 0; i < 3000; i++)
        {
            Entity e = rng.Below(3) switch
            {
                0 => w.Create(new Tag(i)),
                1 => w.Create(new Tag(i), new Vel(i)),
                _ => w.Create(new Tag(i), new Named("x", i)),
            };
            int ai = w.GetArchetype(e).Index;
            if (!expectedByArchetype.TryGetValue(ai, out var list))
                expectedByArchetype[ai] = list = new List<Entity>();
            list.Add(e);
        }
        var expected = expectedByArchetype.Values.SelectMany(x => x).ToList();
        var d = new QueryDescription().WithAll<Tag>();
        Assert.That(Visit(w.GetQuery(d)), Is.EqualTo(expected));

        var viaCallback = new List<Entity>();
        w.Query(d, (Entity e, ref Tag t) => viaCallback.Add(e));
        Assert.That(viaCallback, Is.EqualTo(expected));

        // Same operations on another world give the same order, also after swap-removes.
        var w2 = new World();
        var rng2 = new TestRng(5);
        for (int i = 0; i < 3000; i++)
            _ = rng2.Below(3) switch
            {
                0 => w2.Create(new Tag(i)),
                1 => w2.Create(new Tag(i), new Vel(i)),
                _ => w2.Create(new Tag(i), new Named("x", i)),
            };
        for (int i = 0; i < 3000; i += 7)
        {
            w.Destroy(new Entity(i, 1));
            w2.Destroy(new Entity(i, 1));
        }
        var order1 = new List<int>();
        var order2 = new List<int>();
        w.Query(d, (ref Tag t) => order1.Add(t.V));
        w2.Query(d, (ref Tag t) => order2.Add(t.V));
        Assert.That(order2, Is.EqualTo(order1));
        Assert.That(order1, Has.Count.EqualTo(3000 - (3000 + 6) / 7));
    }

    private struct SumAndStep : IForEach<Pos, Vel>
    {
        public double Sum;
        public void Update(ref Pos p, ref Vel v)
        {
            p.X += v.V;
            Sum += p.X;
        }
    }

    private struct CollectEntities : IForEachWithEntity<Tag, Vel, Pos>
    {
        public List<(Entity, int, long, double)> Seen;
        public void Update(Entity e, ref Tag t, ref Vel v, ref Pos p) => Seen.Add((e, t.V, v.V, p.X));
    }

    private struct CountRows : IChunkForEach
    {
        public int Rows;
        public int Chunks;
        public long VelSum;
        public void Execute(Chunk chunk)
        {
            Chunks++;
            Rows += chunk.Count;
            foreach (var v in chunk.GetSpan<Vel>())
                VelSum += v.V;
        }
    }

    [Test]
    public void InlineQueriesVisitEveryMatchingEntityAndWritesPersist()
    {
        var w = new World();
        var ents = new List<Entity>();
        for (int i = 0; i < 1000; i++)
            ents.Add(i % 2 == 0 ? w.Create(new Pos(i, 0), new Vel(1)) : w.Create(new Pos(i, 0), new Vel(2), new Tag(i)));
        w.Create(new Pos(-1, 0)); // no Vel: not visited

        var step = new SumAndStep();
        w.InlineQuery<SumAndStep, Pos, Vel>(new QueryDescription().WithAll<Pos, Vel>(), ref step);
        // Sum of (i + v) for i in 0..999 with v = 1 for even i and 2 for odd: 499500 + 500*1 + 500*2.
        Assert.That(step.Sum, Is.EqualTo(499500 + 500 + 1000));
        for (int i = 0; i < 1000; i++)
            Assert.That(w.Get<Pos>(ents[i]).X, Is.EqualTo(i + (i % 2 == 0 ? 1 : 2)));

        var collect = new CollectEntities { Seen = new() };
        w.InlineEntityQuery<CollectEntities, Tag, Vel, Pos>(new QueryDescription().WithAll<Tag, Vel, Pos>(), ref collect);
        Assert.That(collect.Seen, Has.Count.EqualTo(500));
        Assert.That(collect.Seen.All(s => s.Item2 % 2 == 1 && s.Item3 == 2 && s.Item4 == s.Item2 + 2 && w.Get<Tag>(s.Item1).V == s.Item2), Is.True);

        var rows = new CountRows();
        w.InlineChunkQuery(new QueryDescription().WithAll<Vel>(), ref rows);
        Assert.That(rows.Rows, Is.EqualTo(1000));
        Assert.That(rows.VelSum, Is.EqualTo(500 * 1 + 500 * 2));
        Assert.That(rows.Chunks, Is.EqualTo(w.Archetypes.Where(a => a.Signature.Contains(Component<Vel>.Id)).Sum(a => a.ChunkCount)));
    }
}
