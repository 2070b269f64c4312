using EcsMem.Ecs;

namespace EcsMem.Tests.Ecs;

public class SignatureTests
{
    private static ComponentType P => Component<Pos>.Type;
    private static ComponentType V => Component<Vel>.Type;
    private static ComponentType T => Component<Tag>.Type;
    private static ComponentType F => Component<Flag>.Type;

    [Test]
    public void EqualityIsExactSetEquality()
    {
        Assert.That(Signature.Of(P, V), Is.EqualTo(Signature.Of(V, P)), "order does not matter");
        Assert.That(Signature.Of(P, V) == Signature.Of(V, P), Is.True);
        Assert.That(Signature.Of(P, V), Is.Not.EqualTo(Signature.Of(P)));
        Assert.That(Signature.Of(P, V), Is.Not.EqualTo(Signature.Of(P, T)));
        Assert.That(Signature.Of(P, V) != Signature.Of(P, V, T), Is.True);
        Assert.That(Signature.Of(), Is.EqualTo(Signature.Empty));
        Assert.That(Signature.Of(P).Without(P.Id), Is.EqualTo(Signature.Empty), "removing the last id gives the empty set");
        Assert.That(Signature.Of(P, V).Without(V.Id), Is.EqualTo(Signature.Of(P)));
        Assert.That(Signature.Of(P).With(V.Id), Is.EqualTo(Signature.Of(V, P)));
        Assert.That(Signature.Of(P, V, T).Count, Is.EqualTo(3));
        Assert.That(Signature.Of(P, T).ToIds(), Is.EqualTo(new[] { P.Id, T.Id }.Order().ToArray()));
    }

    [Test]
    public void HighIdsBeyondTheFirstWordCompareExactly()
    {
        // Ids 3, 64+3 and 128+3 share their low six bits: a word-folding hash would confuse them.
        var a = Signature.Empty.With(3);
        var b = Signature.Empty.With(67);
        var c = Signature.Empty.With(131);
        var d = Signature.Empty.With(3).With(131).Without(131); // trailing word trimmed back
        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(b, Is.Not.EqualTo(c));
        Assert.That(a, Is.EqualTo(d));
        Assert.That(a.GetHashCode(), Is.EqualTo(d.GetHashCode()));
        Assert.That(c.Contains(131) && !c.Contains(3) && !c.Contains(67), Is.True);
        Assert.That(c.ContainsAll(Signature.Empty.With(131)), Is.True);
        Assert.That(a.ContainsAll(c), Is.False);
        Assert.That(Signature.Empty.With(3).With(131).Overlaps(c), Is.True);
        Assert.That(a.Overlaps(b), Is.False);
    }

    /// <summary>Forces every key into one bucket: only Equals can tell the sets apart.</summary>
    private sealed class ConstantHash : IEqualityComparer<Signature>
    {
        public bool Equals(Signature x, Signature y) => x.Equals(y);
        public int GetHashCode(Signature obj) => 7;
    }

    [Test]
    public void DifferentSetsStayApartEvenWhenEveryHashCollides()
    {
        // All 16 subsets of {P, V, T, F}: built independently, in two different insertion orders.
        var types = new[] { P, V, T, F };
        var map = new Dictionary<Signature, int>(new ConstantHash());
        for (int mask = 0; mask < 16; mask++)
            map.Add(Subset(types, mask, reverse: false), mask); // Add throws if an "equal" key exists
        Assert.That(map, Has.Count.EqualTo(16));
        for (int mask = 0; mask < 16; mask++)
            Assert.That(map[Subset(types, mask, reverse: true)], Is.EqualTo(mask));

        for (int x = 0; x < 16; x++)
            for (int y = 0; y < 16; y++)
                Assert.That(Subset(types, x, false).Equals(Subset(types, y, true)), Is.EqualTo(x == y), $"{x} vs {y}");
    }

    private static Signature Subset(ComponentType[] types, int mask, bool reverse)
    {
        var s = Signature.Empty;
        for (int i = 0; i < types.Length; i++)
        {
            int k = reverse ? types.Length - 1 - i : i;
            if ((mask & (1 << k)) != 0)
                s = s.With(types[k].Id);
        }
        return s;
    }

    [Test]
    public void WorldKeepsOneArchetypePerExactSet()
    {
        var w = new World();
        var types = new[] { P, V, T, F };
        var seen = new HashSet<Archetype>(ReferenceEqualityComparer.Instance);
        for (int mask = 0; mask < 16; mask++)
        {
            Archetype a = w.GetOrCreateArchetype(Subset(types, mask, false));
            Assert.That(w.GetOrCreateArchetype(Subset(types, mask, true)), Is.SameAs(a));
            Assert.That(seen.Add(a), Is.True, $"subset {mask} got a fresh archetype");
            Assert.That(a.Signature.Count, Is.EqualTo(int.PopCount(mask)));
        }
    }
}
