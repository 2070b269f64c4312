using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Policies;

public class PageMapTests
{
    [Test]
    public void AgreesWithDictionaryUnderRandomInsertsAndRemoves()
    {
        var rng = new TestRng(3);
        var map = new PageMap(4);
        var reference = new Dictionary<ulong, int>();
        for (int step = 0; step < 200_000; step++)
        {
            // Small key space so probe runs collide and wrap; some keys huge to exercise 64-bit hashing.
            ulong key = rng.Below(2000) * (step % 3 == 0 ? 0xFFFF_FFFF_0000_0001UL : 1UL);
            switch (rng.Below(3))
            {
                case 0:
                    int v = (int)rng.Below(1_000_000);
                    Assert.That(map.Set(key, v), Is.EqualTo(!reference.ContainsKey(key)));
                    reference[key] = v;
                    break;
                case 1:
                    Assert.That(map.Remove(key), Is.EqualTo(reference.Remove(key)));
                    break;
                default:
                    bool found = map.TryGetValue(key, out int got);
                    Assert.That(found, Is.EqualTo(reference.TryGetValue(key, out int want)));
                    if (found) Assert.That(got, Is.EqualTo(want));
                    break;
            }
        }
        Assert.That(map.Count, Is.EqualTo(reference.Count));
        foreach (var (k, v) in reference)
            Assert.That(map.TryGetValue(k, out int got) && got == v, Is.True, $"key {k}");
    }

    [Test]
    public void AcceptsTheWholeUlongRange()
    {
        var map = new PageMap(2);
        map.Set(ulong.MaxValue, 1);
        map.Set(0, 2);
        Assert.That(map.TryGetValue(ulong.MaxValue, out int a) ? a : -1, Is.EqualTo(1));
        Assert.That(map.TryGetValue(0, out int b) ? b : -1, Is.EqualTo(2));
    }

    [Test]
    public void UpdatingAnExistingKeyAtTheGrowthThresholdDoesNotMoveEntries()
    {
        var map = new PageMap(4); // 16 slots: the 9th insertion grows
        for (ulong k = 0; k < 8; k++) map.Set(k * 977, (int)k);
        ref int v = ref map.GetValueRefOrAdd(3 * 977, -5, out bool added);
        Assert.That(added, Is.False);
        Assert.That(v, Is.EqualTo(3));
        map.GetValueRefOrAdd(5 * 977, 0, out _) = 50; // existing key: must not grow and invalidate v
        v = 30;
        Assert.That(map.TryGetValue(3 * 977, out int three) ? three : -1, Is.EqualTo(30));
        Assert.That(map.TryGetValue(5 * 977, out int five) ? five : -1, Is.EqualTo(50));
        map.GetValueRefOrAdd(123_456, 9, out added);
        Assert.That(added, Is.True);
        Assert.That(map.Count, Is.EqualTo(9));
    }
}
