using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

public class CommandBufferTests
{
    private static List<Entity> All(World w, QueryDescription d)
    {
        var list = new List<Entity>();
        foreach (Chunk c in w.GetQuery(d))
            foreach (var e in c.EntitySpan)
                list.Add(e);
        return list;
    }

    [Test]
    public void PlaybackAppliesCommandsInRecordedOrder()
    {
        var w = new World();
        Entity e = w.Create(new Tag(1));
        var cb = new CommandBuffer(w);
        cb.Add(e, new Vel(1));
        cb.Remove<Vel>(e);
        cb.Add(e, new Vel(2));
        cb.Set(e, new Tag(10));
        cb.Set(e, new Tag(20));
        Assert.That(cb.Count, Is.EqualTo(5));
        Assert.That(w.Has<Vel>(e), Is.False, "nothing happens before playback");
        cb.Playback();
        // Add(1), Remove, Add(2): present with the last added value; the later Set wins.
        Assert.That(w.Get<Vel>(e), Is.EqualTo(new Vel(2)));
        Assert.That(w.Get<Tag>(e), Is.EqualTo(new Tag(20)));

        // Remove then Add in the other order ends without the component.
        cb.Remove<Vel>(e);
        cb.Add(e, new Vel(3));
        cb.Remove<Vel>(e);
        cb.Playback();
        Assert.That(w.Has<Vel>(e), Is.False);
    }

    [Test]
    public void DestroyThenCreateRecyclesTheIdWithANewVersion()
    {
        var w = new World();
        Entity victim = w.Create(new Tag(1));
        var cb = new CommandBuffer(w);
        cb.Destroy(victim);
        Entity h = cb.Create(Component<Tag>.Type, Component<Pos>.Type);
        cb.Set(h, new Pos(4, 5));
        cb.Playback();
        Assert.That(w.IsAlive(victim), Is.False);
        var created = All(w, new QueryDescription().WithAll<Pos>());
        Assert.That(created, Has.Count.EqualTo(1));
        Entity real = created[0];
        Assert.That((real.Id, real.Version), Is.EqualTo((victim.Id, victim.Version + 1)), "the destroyed id came back, one version later");
        Assert.That((w.Get<Tag>(real), w.Get<Pos>(real)), Is.EqualTo((default(Tag), new Pos(4, 5))));
    }

    [Test]
    public void DeferredCreateHandlesWorkForLaterCommandsAndExpireAfterPlayback()
    {
        var w = new World();
        var cb = new CommandBuffer(w);
        Entity a = cb.Create(Component<Tag>.Type);
        Entity b = cb.Create(Component<Tag>.Type);
        Assert.That(w.IsAlive(a), Is.False, "a deferred handle is not a world entity");
        Assert.That(() => w.Get<Tag>(a), Throws.TypeOf<StaleEntityException>());
        cb.Set(a, new Tag(1));
        cb.Add(a, new Vel(10));
        cb.Set(b, new Tag(2));
        cb.Add(b, new Named("b", 2));
        cb.Remove<Tag>(b);
        cb.Playback();

        var withVel = All(w, new QueryDescription().WithAll<Vel>());
        var withNamed = All(w, new QueryDescription().WithAll<Named>());
        Assert.That((withVel.Count, withNamed.Count, w.Size), Is.EqualTo((1, 1, 2)));
        Assert.That((w.Get<Tag>(withVel[0]), w.Get<Vel>(withVel[0])), Is.EqualTo((new Tag(1), new Vel(10))));
        Assert.That(w.GetComponentTypes(withNamed[0]).Select(t => t.Type), Is.EqualTo(new[] { typeof(Named) }));
        Assert.That(w.Get<Named>(withNamed[0]), Is.EqualTo(new Named("b", 2)));

        // A handle from the finished recording must not resolve to the next recording's first creation.
        cb.Create(Component<Tag>.Type);
        cb.Set(a, new Tag(99));
        Assert.That(() => cb.Playback(), Throws.TypeOf<StaleEntityException>());
        Assert.That(w.Get<Tag>(withVel[0]), Is.EqualTo(new Tag(1)));
        Assert.That(All(w, new QueryDescription().WithAll<Tag>()).Select(e => w.Get<Tag>(e).V), Has.None.EqualTo(99));
    }

    [Test]
    public void AFailingCommandStopsPlaybackKeepsEarlierEffectsAndClearsTheBuffer()
    {
        var w = new World();
        Entity e = w.Create(new Tag(1));
        Entity f = w.Create(new Tag(2));
        var cb = new CommandBuffer(w);
        cb.Set(e, new Tag(5));          // applied
        cb.Add(e, new Tag(6));          // fails: e already has Tag
        cb.Set(f, new Tag(7));          // never applied
        Assert.That(() => cb.Playback(), Throws.TypeOf<ComponentMismatchException>());
        Assert.That((w.Get<Tag>(e), w.Get<Tag>(f)), Is.EqualTo((new Tag(5), new Tag(2))));
        Assert.That(cb.Count, Is.EqualTo(0));
        cb.Playback(); // nothing left to apply
        Assert.That(w.Get<Tag>(f), Is.EqualTo(new Tag(2)));

        // A command on an entity destroyed earlier in the same buffer fails as stale.
        cb.Destroy(f);
        cb.Set(f, new Tag(8));
        Assert.That(() => cb.Playback(), Throws.TypeOf<StaleEntityException>());
        Assert.That(w.IsAlive(f), Is.False);
    }

    [Test]
    public void RecordingDuringAQueryAndPlayingBackAfterwardsWorks()
    {
        var w = new World();
        for (int i = 0; i < 100; i++)
            w.Create(new Tag(i));
        var cb = new CommandBuffer(w);
        w.Query(new QueryDescription().WithAll<Tag>(), (Entity e, ref Tag t) =>
        {
            if (t.V % 2 == 0) cb.Destroy(e);
            else cb.Add(e, new Vel(t.V));
        });
        Assert.That(w.Size, Is.EqualTo(100));
        // Playing back while iterating is a structural change too.
        w.Query(new QueryDescription().WithAll<Tag>(), (ref Tag t) =>
        {
            if (t.V == 0)
                Assert.That(() => cb.Playback(), Throws.InvalidOperationException);
        });
        Assert.That(w.Size, Is.EqualTo(100));
        // The failed playback dropped everything, so record again.
        w.Query(new QueryDescription().WithAll<Tag>(), (Entity e, ref Tag t) =>
        {
            if (t.V % 2 == 0) cb.Destroy(e);
            else cb.Add(e, new Vel(t.V));
        });
        cb.Playback();
        Assert.That(w.Size, Is.EqualTo(50));
        var vels = new List<long>();
        w.Query(new QueryDescription().WithAll<Tag, Vel>(), (ref Tag t, ref Vel v) =>
        {
            Assert.That(v.V, Is.EqualTo(t.V));
            vels.Add(v.V);
        });
        Assert.That(vels, Is.EquivalentTo(Enumerable.Range(0, 50).Select(i => 2L * i + 1)));
    }

    [Test]
    public void PlaybackDoesOneWorldOperationPerStructuralCommand()
    {
        // Linear time, counted rather than timed: for N entities, 4N structural commands must cost
        // exactly 4N row operations in the world (Set costs none), whatever N is.
        foreach (int n in new[] { 100, 1000, 10000 })
        {
            var w = new World();
            var ents = new Entity[n];
            w.CreateMany(ents, new Tag(0));
            var cb = new CommandBuffer(w);
            for (int i = 0; i < n; i++)
            {
                cb.Add(ents[i], new Vel(i));   // move
                cb.Set(ents[i], new Tag(i));   // no move
                cb.Remove<Vel>(ents[i]);       // move
                Entity h = cb.Create(Component<Pos>.Type); // create
                cb.Set(h, new Pos(i, i));
                cb.Destroy(h);                  // destroy
            }
            long before = w.StructuralOperations;
            cb.Playback();
            Assert.That(w.StructuralOperations - before, Is.EqualTo(4L * n), $"n = {n}");
            Assert.That(w.Size, Is.EqualTo(n));
            Assert.That(w.Get<Tag>(ents[n - 1]), Is.EqualTo(new Tag(n - 1)));
        }
    }

    [Test]
    public void ReusedBufferRecordsAndPlaysBackWithoutAllocating()
    {
        var w = new World();
        var ents = new Entity[500];
        w.CreateMany(ents, new Tag(0));
        var cb = new CommandBuffer(w);

        void Round(int salt)
        {
            for (int i = 0; i < ents.Length; i++)
            {
                cb.Add(ents[i], new Named("shared", i));
                cb.Set(ents[i], new Tag(i + salt));
                cb.Remove<Named>(ents[i]);
                Entity h = cb.Create(Component<Tag>.Type, Component<Pos>.Type);
                cb.Set(h, new Pos(i, salt));
                cb.Add(h, new Vel(i));
                cb.Destroy(h);
            }
            cb.Playback();
        }

        Round(0); // grows the buffers, archetypes, chunks and transitions
        Round(1);
        // The least of several windows: a JIT tier-up on this thread can allocate once inside one of them,
        // while a real per-round allocation shows in every window.
        long allocated = long.MaxValue;
        for (int salt = 2; salt <= 5; salt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Round(salt);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.That(allocated, Is.EqualTo(0), "bytes allocated by a warm record + playback");
        Assert.That(w.Get<Tag>(ents[7]), Is.EqualTo(new Tag(7 + 5)), "the last round's Set(i + salt)");
        Assert.That(w.Size, Is.EqualTo(500));
        Assert.That(cb.Count, Is.EqualTo(0));
    }
}
