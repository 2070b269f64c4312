using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

public class WorldTests
{
    private static readonly QueryDescription Everything = new();

    [Test]
    public void CreateWithZeroToFourComponentsStoresEachValue()
    {
        var w = new World();
        Entity e0 = w.Create();
        Entity e1 = w.Create(new Pos(1, 2));
        Entity e2 = w.Create(new Pos(3, 4), new Vel(5));
        Entity e3 = w.Create(new Pos(6, 7), new Vel(8), new Tag(9));
        Entity e4 = w.Create(new Pos(10, 11), new Vel(12), new Tag(13), new Named("x", 14));

        Assert.That(w.Size, Is.EqualTo(5));
        Assert.That(w.GetComponentTypes(e0), Is.Empty);
        Assert.That(w.Get<Pos>(e1), Is.EqualTo(new Pos(1, 2)));
        Assert.That(w.GetComponentTypes(e1).Select(t => t.Type), Is.EquivalentTo(new[] { typeof(Pos) }));
        Assert.That((w.Get<Pos>(e2), w.Get<Vel>(e2)), Is.EqualTo((new Pos(3, 4), new Vel(5))));
        Assert.That((w.Get<Pos>(e3), w.Get<Vel>(e3), w.Get<Tag>(e3)), Is.EqualTo((new Pos(6, 7), new Vel(8), new Tag(9))));
        Assert.That((w.Get<Pos>(e4), w.Get<Vel>(e4), w.Get<Tag>(e4), w.Get<Named>(e4)),
            Is.EqualTo((new Pos(10, 11), new Vel(12), new Tag(13), new Named("x", 14))));
        Assert.That(w.GetComponentTypes(e4).Select(t => t.Type), Is.EquivalentTo(new[] { typeof(Pos), typeof(Vel), typeof(Tag), typeof(Named) }));
        // Distinct component sets are distinct archetypes; the same set in another order is the same one.
        Entity e2b = w.Create(new Vel(1), new Pos(0, 0));
        Assert.That(w.GetArchetype(e2b), Is.SameAs(w.GetArchetype(e2)));
        Assert.That(w.GetArchetype(e1), Is.Not.SameAs(w.GetArchetype(e2)));
    }

    [Test]
    public void UntypedCreateZeroesRowsThatARecycledEntityHadFilled()
    {
        var w = new World();
        // The last row of an archetype is not copied over on destroy, so its bytes stay in the column.
        Entity old = w.Create(new Pos(7, 8), new Vel(9), new Named("old", 3));
        w.Destroy(old);
        Entity e = w.Create(Component<Pos>.Type, Component<Vel>.Type, Component<Named>.Type);
        Assert.That(e.Id, Is.EqualTo(old.Id), "the id is recycled");
        Assert.That(w.Get<Pos>(e), Is.EqualTo(default(Pos)));
        Assert.That(w.Get<Vel>(e), Is.EqualTo(default(Vel)));
        Assert.That(w.Get<Named>(e), Is.EqualTo(default(Named)));

        // Same for Add by ComponentType: the destination row previously held Tag(99).
        Entity t = w.Create(new Pos(1, 1), new Tag(99));
        w.Destroy(t);
        Entity p = w.Create(new Pos(2, 2));
        w.Add(p, Component<Tag>.Type);
        Assert.That(w.Get<Tag>(p), Is.EqualTo(default(Tag)));
        Assert.That(w.Get<Pos>(p), Is.EqualTo(new Pos(2, 2)));
    }

    [Test]
    public void CreateWithEmptyTypeListMakesAComponentlessEntity()
    {
        var w = new World();
        Entity e = w.Create(ReadOnlySpan<ComponentType>.Empty);
        Assert.That(w.IsAlive(e), Is.True);
        Assert.That(w.GetComponentTypes(e), Is.Empty);
        Assert.That(w.Has<Pos>(e), Is.False);
    }

    [Test]
    public void CreateWithADuplicateTypeThrowsEveryTime()
    {
        var w = new World();
        Assert.That(() => w.Create(new Pos(1, 1), new Pos(2, 2)), Throws.ArgumentException);
        // A second call must give the same clear error (not a poisoned type initializer).
        Assert.That(() => w.Create(new Pos(1, 1), new Pos(2, 2)), Throws.ArgumentException);
        Assert.That(() => w.Create(new Tag(1), new Vel(1), new Tag(2)), Throws.ArgumentException);
        Assert.That(() => w.Create(Component<Vel>.Type, Component<Vel>.Type), Throws.ArgumentException);
        Assert.That(() => w.CreateMany(new Entity[3], new Tag(1), new Tag(2)), Throws.ArgumentException);
        Assert.That(w.Size, Is.EqualTo(0));
    }

    [Test]
    public void CreateManyTypedFormsFillEveryEntityAcrossSeveralChunks()
    {
        var w = new World();
        // Capacity of the {Pos, Vel, Tag} archetype: 16 KiB / (8 handle + 16 + 8 + 4 bytes) = 455 rows.
        var probe = w.GetOrCreateArchetype(Signature.Of(Component<Pos>.Type, Component<Vel>.Type, Component<Tag>.Type));
        Assert.That(probe.ChunkCapacity, Is.EqualTo(16384 / 36));
        int n = probe.ChunkCapacity * 3 + 17;

        w.Create(new Pos(-1, -1), new Vel(-1), new Tag(-1)); // a partly full first chunk
        var three = new Entity[n];
        w.CreateMany(three, new Pos(1, 2), new Vel(3), new Tag(4));
        var one = new Entity[50];
        w.CreateMany(one, new Vel(7));
        var two = new Entity[20];
        w.CreateMany(two, new Vel(8), new Named("n", 1));
        var untyped = new Entity[30];
        w.CreateMany(untyped, Component<Tag>.Type, Component<Flag>.Type);

        Assert.That(w.Size, Is.EqualTo(1 + n + 50 + 20 + 30));
        foreach (var e in three)
            Assert.That((w.Get<Pos>(e), w.Get<Vel>(e), w.Get<Tag>(e)), Is.EqualTo((new Pos(1, 2), new Vel(3), new Tag(4))));
        Assert.That(probe.EntityCount, Is.EqualTo(n + 1));
        Assert.That(probe.ChunkCount, Is.EqualTo((n + 1 + probe.ChunkCapacity - 1) / probe.ChunkCapacity));
        foreach (var e in one)
            Assert.That(w.Get<Vel>(e), Is.EqualTo(new Vel(7)));
        foreach (var e in two)
            Assert.That((w.Get<Vel>(e), w.Get<Named>(e)), Is.EqualTo((new Vel(8), new Named("n", 1))));
        foreach (var e in untyped)
            Assert.That((w.Get<Tag>(e), w.Get<Flag>(e)), Is.EqualTo((default(Tag), default(Flag))));

        var all = three.Concat(one).Concat(two).Concat(untyped).ToList();
        Assert.That(all.Select(e => e.Id).Distinct().Count(), Is.EqualTo(all.Count), "ids unique");
        Assert.That(all.All(w.IsAlive), Is.True);
    }

    private struct IndexFill : IChunkRangeFill
    {
        public void Fill(Chunk chunk, int start, int count, int firstIndex)
        {
            var tags = chunk.GetSpan<Tag>();
            for (int i = 0; i < count; i++)
                tags[start + i] = new Tag(firstIndex + i);
        }
    }

    [Test]
    public void CreateManyWithAFillCallbackSeesEachRangeAndZeroesUnwrittenColumns()
    {
        var w = new World();
        Archetype a = w.GetOrCreateArchetype(Signature.Of(Component<Tag>.Type, Component<Big>.Type));
        // Leave garbage in recycled rows: fill a chunk, then destroy from the end (no swaps, bytes stay).
        var first = new Entity[a.ChunkCapacity + 5];
        w.CreateMany(first, new Tag(-5), new Big(1, 2, 3, 4));
        for (int i = first.Length - 1; i >= 0; i--)
            w.Destroy(first[i]);

        int n = a.ChunkCapacity * 2 + 3;
        var created = new Entity[n];
        var fill = new IndexFill();
        w.CreateMany(a, created, ref fill);
        for (int i = 0; i < n; i++)
        {
            Assert.That(w.Get<Tag>(created[i]), Is.EqualTo(new Tag(i)), $"entity {i}");
            Assert.That(w.Get<Big>(created[i]), Is.EqualTo(default(Big)), $"entity {i} Big must be zero");
        }
        Assert.That(created.Select(e => e.Id).Distinct().Count(), Is.EqualTo(n));
    }

    private struct ThrowOnSecondRange : IChunkRangeFill
    {
        public int Calls;
        public void Fill(Chunk chunk, int start, int count, int firstIndex)
        {
            if (++Calls == 2)
                throw new FormatException("fill failed");
            chunk.GetSpan<Tag>().Slice(start, count).Fill(new Tag(1));
        }
    }

    [Test]
    public void CreateManyWhoseFillThrowsLeavesACountConsistentWorld()
    {
        var w = new World();
        Archetype a = w.GetOrCreateArchetype(Signature.Of(Component<Tag>.Type));
        var created = new Entity[a.ChunkCapacity * 3];
        var fill = new ThrowOnSecondRange();
        Assert.That(() => w.CreateMany(a, created, ref fill), Throws.TypeOf<FormatException>());
        // Ranges one and two were committed before their callbacks ran; range three never started.
        int alive = created.Count(w.IsAlive);
        Assert.That(alive, Is.EqualTo(2 * a.ChunkCapacity));
        Assert.That(w.Size, Is.EqualTo(alive));
        Assert.That(w.CountEntities(new QueryDescription()), Is.EqualTo(alive));
        Assert.That(created.Take(a.ChunkCapacity).All(e => w.Get<Tag>(e).V == 1), Is.True);
        Assert.That(created.Skip(a.ChunkCapacity).Take(a.ChunkCapacity).All(e => w.Get<Tag>(e).V == 0), Is.True);
    }

    [Test]
    public void CreateManyRefusesAnArchetypeOfAnotherWorld()
    {
        var w = new World();
        var other = new World();
        Archetype foreign = other.GetOrCreateArchetype(Signature.Of(Component<Tag>.Type));
        var fill = new IndexFill();
        Assert.That(() => w.CreateMany(foreign, new Entity[3], ref fill), Throws.ArgumentException.With.Message.Contain("another world"));
        Assert.That((w.Size, other.Size, foreign.EntityCount), Is.EqualTo((0, 0, 0)));
    }

    [Test]
    public void DestroySwapRemoveKeepsEverySurvivorsData()
    {
        var w = new World();
        var rng = new TestRng(42);
        var expected = new Dictionary<Entity, (Pos, Vel, Named)>();
        var order = new List<Entity>();
        for (int i = 0; i < 2000; i++)
        {
            var v = (new Pos(i, -i), new Vel(i * 3L), new Named("e" + i, i));
            Entity e = w.Create(v.Item1, v.Item2, v.Item3);
            expected[e] = v;
            order.Add(e);
        }
        // Destroy ~60% in random order: most destroys hit a middle row and pull the last row into it.
        for (int i = 0; i < 1200; i++)
        {
            int k = rng.Below(order.Count);
            Entity e = order[k];
            order[k] = order[^1];
            order.RemoveAt(order.Count - 1);
            w.Destroy(e);
            expected.Remove(e);
        }
        Assert.That(w.Size, Is.EqualTo(800));
        foreach (var (e, v) in expected)
            Assert.That((w.Get<Pos>(e), w.Get<Vel>(e), w.Get<Named>(e)), Is.EqualTo(v), e.ToString());
        Assert.That(w.CountEntities(Everything), Is.EqualTo(800));
    }

    [Test]
    public void AddAndRemovePreserveValuesAndReuseCachedTransitions()
    {
        var w = new World();
        Entity a = w.Create(new Pos(1, 2), new Tag(3));
        Entity b = w.Create(new Pos(4, 5), new Tag(6));
        Archetype start = w.GetArchetype(a);

        w.Add(a, new Vel(7));
        Archetype withVel = w.GetArchetype(a);
        Assert.That(withVel, Is.Not.SameAs(start));
        Assert.That((w.Get<Pos>(a), w.Get<Tag>(a), w.Get<Vel>(a)), Is.EqualTo((new Pos(1, 2), new Tag(3), new Vel(7))));
        // b was swapped into a's old row: still intact.
        Assert.That((w.Get<Pos>(b), w.Get<Tag>(b)), Is.EqualTo((new Pos(4, 5), new Tag(6))));

        int archetypesBefore = w.Archetypes.Count;
        w.Add(b, new Vel(8));
        Assert.That(w.GetArchetype(b), Is.SameAs(withVel), "same transition, same archetype object");
        Assert.That(w.Archetypes, Has.Count.EqualTo(archetypesBefore));

        w.Remove<Tag>(a);
        Assert.That((w.Get<Pos>(a), w.Get<Vel>(a)), Is.EqualTo((new Pos(1, 2), new Vel(7))));
        Assert.That(w.Has<Tag>(a), Is.False);
        w.Remove<Vel>(b);
        Assert.That(w.GetArchetype(b), Is.SameAs(start), "remove edge leads back to the original archetype");
        Assert.That((w.Get<Pos>(b), w.Get<Tag>(b)), Is.EqualTo((new Pos(4, 5), new Tag(6))));

        // Add/remove round trip of a reference component.
        w.Add(b, new Named("keep", 1));
        w.Remove<Pos>(b);
        Assert.That((w.Get<Tag>(b), w.Get<Named>(b)), Is.EqualTo((new Tag(6), new Named("keep", 1))));
        w.Add(b, new Pos(9, 9));
        Assert.That(w.Get<Named>(b), Is.EqualTo(new Named("keep", 1)));
    }

    [Test]
    public void AnEdgeCopiesExactlyTheSharedColumnsWithTheRightCopier()
    {
        var w = new World();
        Entity e = w.Create(new Pos(1, 2), new Named("n", 3), new Flag(4));
        Archetype from = w.GetArchetype(e);
        w.Add(e, new Big(5, 6, 7, 8));
        Archetype to = w.GetArchetype(e);
        var edge = new Transition(from, to);

        // Worked out from the two column lists (each sorted by component id): every column of the smaller
        // archetype, at its position in each; Big (the new one) is not copied. Named holds a string, so the
        // GC must see its copy: it goes to the typed plan, the others are copied as bytes.
        int Col(Archetype a, ComponentType t) => Array.IndexOf(a.Types, t);
        ComponentType[] plain = [Component<Pos>.Type, Component<Flag>.Type];
        var expectedPlain = plain.OrderBy(t => t.Id).Select(t => (Col(from, t), Col(to, t), t.Size)).ToArray();
        Assert.That(edge.Plain.Select(c => (c.From, c.To, c.Size)).ToArray(), Is.EqualTo(expectedPlain));
        var named = Component<Named>.Type;
        Assert.That(edge.Managed.Select(c => (c.From, c.To)).ToArray(), Is.EqualTo(new[] { (Col(from, named), Col(to, named)) }));
        Assert.That(new Transition(w.GetArchetype(w.Create(new Pos(0, 0), new Flag(1))), to).Managed, Is.Empty);

        // The reference survives both moves (through the typed copier), and so do the byte-copied sizes 16 and 1.
        w.Remove<Big>(e);
        Assert.That((w.Get<Pos>(e), w.Get<Named>(e), w.Get<Flag>(e)), Is.EqualTo((new Pos(1, 2), new Named("n", 3), new Flag(4))));
    }

    [Test]
    public void AVacatedRowDropsItsReferencesSoTheGcCanCollectThem()
    {
        var w = new World();
        Entity a = w.Create(new Tag(1), new Named("a", 1));
        Entity b = w.Create(new Tag(2), new Named("b", 2));
        Entity c = w.Create(new Tag(3), new Named("c", 3));
        Chunk chunk = w.GetArchetype(a).GetChunk(0);
        Named[] names = chunk.Column<Named>();

        // Destroying b moves c (the last row) into row 1; row 2 is vacated and must no longer hold "c".
        w.Destroy(b);
        Assert.That(chunk.Count, Is.EqualTo(2));
        Assert.That(names[1], Is.EqualTo(new Named("c", 3)));
        Assert.That(names[2], Is.EqualTo(default(Named)));

        // Moving c to another archetype vacates row 1 the same way.
        w.Add(c, new Vel(9));
        Assert.That(names[1], Is.EqualTo(default(Named)));
        Assert.That(w.Get<Named>(c), Is.EqualTo(new Named("c", 3)));
        Assert.That(w.Get<Named>(a), Is.EqualTo(new Named("a", 1)));
    }

    [Test]
    public void GetReturnsAReferenceIntoStorageAndSetHasTryGetAgree()
    {
        var w = new World();
        Entity e = w.Create(new Pos(1, 1), new Vel(2));
        ref Pos p = ref w.Get<Pos>(e);
        p.X = 42;
        Assert.That(w.Get<Pos>(e), Is.EqualTo(new Pos(42, 1)));
        w.Get<Vel>(e).V += 5;
        Assert.That(w.Get<Vel>(e).V, Is.EqualTo(7));

        w.Set(e, new Vel(100));
        Assert.That(w.Get<Vel>(e), Is.EqualTo(new Vel(100)));
        Assert.That(w.Has<Pos>(e), Is.True);
        Assert.That(w.Has<Tag>(e), Is.False);

        Assert.That(w.TryGet(e, out Vel v), Is.True);
        Assert.That(v, Is.EqualTo(new Vel(100)));
        Assert.That(w.TryGet(e, out Tag t), Is.False);
        Assert.That(t, Is.EqualTo(default(Tag)));

        w.Destroy(e);
        Assert.That(w.TryGet(e, out Vel stale), Is.False, "TryGet is false for a stale handle");
        Assert.That(stale, Is.EqualTo(default(Vel)));
        Assert.That(w.IsAlive(e), Is.False);
    }

    [Test]
    public void RecycledIdGetsANewVersionAndOldHandlesStayStale()
    {
        var w = new World();
        Entity a = w.Create(new Tag(1));
        w.Destroy(a);
        Entity b = w.Create(new Tag(2));
        Assert.That(b.Id, Is.EqualTo(a.Id));
        Assert.That(b.Version, Is.EqualTo(a.Version + 1));
        Assert.That(w.IsAlive(a), Is.False);
        Assert.That(w.IsAlive(b), Is.True);
        Assert.That(() => w.Get<Tag>(a), Throws.TypeOf<StaleEntityException>());
        w.Destroy(b);
        Entity c = w.Create(new Tag(3));
        Assert.That((c.Id, c.Version), Is.EqualTo((a.Id, a.Version + 2)));
        Assert.That(w.IsAlive(a) || w.IsAlive(b), Is.False);
        Assert.That(w.Get<Tag>(c), Is.EqualTo(new Tag(3)));
    }

    [Test]
    public void EveryUseOfAStaleHandleThrowsStaleEntityExceptionWithAClearMessage()
    {
        var w = new World();
        Entity e = w.Create(new Pos(1, 1), new Tag(1));
        Entity other = w.Create(new Pos(2, 2), new Tag(2));
        w.Destroy(e);
        Entity recycled = w.Create(new Pos(3, 3), new Tag(3));
        Assert.That(recycled.Id, Is.EqualTo(e.Id));

        var attempts = new (string, Action)[]
        {
            ("Get", () => w.Get<Pos>(e)),
            ("Set", () => w.Set(e, new Pos(0, 0))),
            ("Add", () => w.Add(e, new Vel(0))),
            ("Add untyped", () => w.Add(e, Component<Vel>.Type)),
            ("Remove", () => w.Remove<Tag>(e)),
            ("Destroy", () => w.Destroy(e)),
            ("Has", () => w.Has<Pos>(e)),
            ("GetArchetype", () => w.GetArchetype(e)),
        };
        foreach (var (name, act) in attempts)
        {
            var ex = Assert.Throws<StaleEntityException>(() => act(), name)!;
            Assert.That(ex.Entity, Is.EqualTo(e));
            Assert.That(ex.Message, Does.Contain($"Entity({e.Id}v{e.Version})").And.Contain("not alive")
                .And.Contain($"version {recycled.Version}"), name);
        }
        // Nothing was touched: the recycled entity and the other one keep their values.
        Assert.That((w.Get<Pos>(recycled), w.Get<Tag>(recycled)), Is.EqualTo((new Pos(3, 3), new Tag(3))));
        Assert.That(w.Get<Pos>(other), Is.EqualTo(new Pos(2, 2)));
        Assert.That(w.Size, Is.EqualTo(2));

        // Handles this world never made: null, an id beyond the table, a made-up version.
        Assert.That(() => w.Get<Pos>(Entity.Null), Throws.TypeOf<StaleEntityException>());
        var never = Assert.Throws<StaleEntityException>(() => w.Get<Pos>(new Entity(1000, 1)))!;
        Assert.That(never.Message, Does.Contain("never created"));
        Assert.That(() => w.Destroy(new Entity(other.Id, other.Version + 5)), Throws.TypeOf<StaleEntityException>());
        Assert.That(w.IsAlive(Entity.Null), Is.False);
    }

    [Test]
    public void MissingOrExistingComponentsThrowComponentMismatchWithoutChangingTheEntity()
    {
        var w = new World();
        Entity e = w.Create(new Pos(1, 2));
        Archetype before = w.GetArchetype(e);
        Assert.That(() => w.Get<Vel>(e), Throws.TypeOf<ComponentMismatchException>().With.Message.Contain("Vel"));
        Assert.That(() => w.Set(e, new Vel(1)), Throws.TypeOf<ComponentMismatchException>());
        Assert.That(() => w.Remove<Vel>(e), Throws.TypeOf<ComponentMismatchException>());
        Assert.That(() => w.Add(e, new Pos(5, 5)), Throws.TypeOf<ComponentMismatchException>().With.Message.Contain("already"));
        Assert.That(() => w.Add(e, Component<Pos>.Type), Throws.TypeOf<ComponentMismatchException>());
        // A component registered after this entity's archetype was built (id beyond its column table).
        Assert.That(() => w.Get<LateComponent>(e), Throws.TypeOf<ComponentMismatchException>());
        Assert.That(w.GetArchetype(e), Is.SameAs(before));
        Assert.That(w.Get<Pos>(e), Is.EqualTo(new Pos(1, 2)));
    }

    private record struct LateComponent(int X);

    [Test]
    public void DestroyAllMakesEveryHandleStaleAndTheWorldReusable()
    {
        var w = new World();
        var handles = new List<Entity>();
        for (int i = 0; i < 1000; i++)
            handles.Add(i % 3 == 0 ? w.Create(new Tag(i)) : i % 3 == 1 ? w.Create(new Tag(i), new Vel(i)) : w.Create());
        w.DestroyAll();
        Assert.That(w.Size, Is.EqualTo(0));
        Assert.That(handles.Any(w.IsAlive), Is.False);
        Assert.That(w.CountEntities(Everything), Is.EqualTo(0));
        Assert.That(w.Archetypes.Sum(a => a.EntityCount), Is.EqualTo(0));
        Assert.That(() => w.Get<Tag>(handles[0]), Throws.TypeOf<StaleEntityException>());

        Entity fresh = w.Create(new Tag(5), new Vel(6));
        Assert.That((w.Get<Tag>(fresh), w.Get<Vel>(fresh)), Is.EqualTo((new Tag(5), new Vel(6))));
        Assert.That(handles.Any(h => h == fresh), Is.False, "the recycled id carries a new version");
    }

    [Test]
    public void StructuralChangesDuringAQueryThrowAndSetIsAllowed()
    {
        var w = new World();
        Entity e = w.Create(new Tag(1));
        Entity victim = w.Create(new Tag(2));
        var q = new QueryDescription().WithAll<Tag>();
        var attempts = new (string, Action)[]
        {
            ("Create", () => w.Create(new Vel(1))),
            ("Create()", () => w.Create()),
            ("Create untyped", () => w.Create(Component<Vel>.Type)),
            ("CreateMany", () => w.CreateMany(new Entity[2], new Vel(1))),
            ("Destroy", () => w.Destroy(victim)),
            ("DestroyAll", () => w.DestroyAll()),
            ("Add", () => w.Add(victim, new Vel(1))),
            ("Add untyped", () => w.Add(victim, Component<Vel>.Type)),
            ("Remove", () => w.Remove<Tag>(victim)),
        };
        foreach (var (name, act) in attempts)
        {
            Exception? caught = null;
            w.Query(q, (ref Tag t) =>
            {
                try { act(); }
                catch (Exception ex) { caught ??= ex; }
            });
            Assert.That(caught, Is.TypeOf<InvalidOperationException>().With.Message.Contain("CommandBuffer"), name);
            Assert.That(w.IsIterating, Is.False);
        }
        Assert.That(w.Size, Is.EqualTo(2));
        Assert.That(w.GetComponentTypes(victim).Select(t => t.Type), Is.EquivalentTo(new[] { typeof(Tag) }));

        w.Query(q, (ref Tag t) => w.Set(e, new Tag(50)));
        Assert.That(w.Get<Tag>(e), Is.EqualTo(new Tag(50)));

        // An exception thrown by the callback ends the iteration too.
        Assert.That(() => w.Query(q, (ref Tag t) => throw new FormatException()), Throws.TypeOf<FormatException>());
        Assert.That(w.IsIterating, Is.False);
        w.Destroy(victim);

        // A manual chunk walk inside BeginIteration is guarded as well.
        using (w.BeginIteration())
            Assert.That(() => w.Create(new Tag(3)), Throws.InvalidOperationException);
        Assert.That(w.Create(new Tag(3)), Is.Not.EqualTo(Entity.Null));
    }
}
