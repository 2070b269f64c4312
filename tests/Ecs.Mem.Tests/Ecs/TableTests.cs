using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

public class TableTests
{
    private record struct Line(ulong Tag, uint Stamp);
    private record struct Dirty(bool Value);

    [Test]
    public void RowsAreStableIndexesIntoContiguousColumns()
    {
        var world = new World();
        var table = world.CreateTable(1000, ComponentType.Of<Line>());
        Assert.That(table.Count, Is.EqualTo(1000));
        var col = table.Column<Line>();
        for (int i = 0; i < col.Length; i++) col[i] = new Line((ulong)i * 3, 0);
        // Each row's entity sees the value written through the column at the same index.
        for (int i = 0; i < 1000; i += 97)
            Assert.That(world.Get<Line>(table[i]).Tag, Is.EqualTo((ulong)i * 3));
        // Queries over the component visit table rows too, in row order.
        var seen = new List<ulong>();
        world.Query(new QueryDescription().WithAll<Line>(), (ref Line l) => seen.Add(l.Tag));
        Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 1000).Select(i => (ulong)i * 3)));
    }

    [Test]
    public void TableRowsCannotMoveAlone()
    {
        var world = new World();
        var table = world.CreateTable(4, ComponentType.Of<Line>());
        Assert.That(() => world.Destroy(table[1]), Throws.InvalidOperationException.With.Message.Contains("fixed table"));
        Assert.That(() => world.Add(table[1], new Dirty(true)), Throws.InvalidOperationException);
        Assert.That(() => world.Remove<Line>(table[1]), Throws.InvalidOperationException);
        // Ordinary entities with the same components live in a different (movable) archetype.
        var e = world.Create(new Line(1, 2));
        Assert.That(world.GetArchetype(e), Is.Not.SameAs(table.Archetype));
        world.Add(e, new Dirty(true));
        Assert.That(world.Get<Line>(e), Is.EqualTo(new Line(1, 2)));
    }

    [Test]
    public void DestroyTableMakesEveryRowStale()
    {
        var world = new World();
        var table = world.CreateTable(3, ComponentType.Of<Line>(), ComponentType.Of<Dirty>());
        var first = table[0];
        world.DestroyTable(table);
        Assert.That(world.Size, Is.EqualTo(0));
        Assert.That(world.IsAlive(first), Is.False);
        Assert.That(() => world.Get<Line>(first), Throws.TypeOf<StaleEntityException>());
        Assert.That(table.IsAlive, Is.False);
    }
}
