using EcsMem.Ecs;
using EcsMem.Systems.Caches;

namespace EcsMem.Tests.Caches;

public class SetAssociativeCacheTests
{
    // 64 bytes, 2 ways, 16-byte lines: 2 sets; line n goes to set n & 1.
    private static readonly CacheGeometry TwoSetsTwoWays = CacheGeometry.Create(64, 2, 16, "test", 0, "c");

    /// <summary>A demand access followed by the fill a hierarchy would do on a miss.</summary>
    private static bool Touch<T>(SetAssociativeCache<T> c, ulong line, bool write = false) where T : struct, ISetReplacement
    {
        if (c.Access(line, write))
            return true;
        c.Fill(line, write, out _, out _);
        return false;
    }

    [Test]
    public void ConflictMissesInATwoWaySetFollowLruOrder()
    {
        var c = new SetAssociativeCache<LruReplacement>(new World(), "c", TwoSetsTwoWays, default);
        // Lines 0, 2, 4 all map to set 0 (even). Working:
        //   0 miss {0}    2 miss {0,2}    0 hit (0 now most recent)
        //   4 miss, evicts LRU 2 -> {0,4}   2 miss, evicts LRU 0 -> {4,2}   0 miss, evicts 4 -> {2,0}
        bool[] hits = [Touch(c, 0), Touch(c, 2), Touch(c, 0), Touch(c, 4), Touch(c, 2), Touch(c, 0)];
        Assert.That(hits, Is.EqualTo(new[] { false, false, true, false, false, false }));
        Assert.That(c.Counters.ReadMisses, Is.EqualTo(5));
        Assert.That(c.Counters.Hits, Is.EqualTo(1));
        Assert.That(c.Contains(2) && c.Contains(0) && !c.Contains(4), Is.True);
        // Set 1 is untouched by the conflicts in set 0: line 1 misses once and then hits.
        Assert.That(new[] { Touch(c, 1), Touch(c, 1) }, Is.EqualTo(new[] { false, true }));
    }

    [Test]
    public void FifoIgnoresHitsWhenChoosingTheVictim()
    {
        var c = new SetAssociativeCache<FifoReplacement>(new World(), "c", TwoSetsTwoWays, default);
        // Same sequence as the LRU test. FIFO keeps fill order:
        //   0 miss {0}  2 miss {0,2}  0 hit (order unchanged)  4 miss evicts oldest fill 0 -> {2,4}
        //   2 hit  0 miss evicts 2 (filled before 4) -> {4,0}
        bool[] hits = [Touch(c, 0), Touch(c, 2), Touch(c, 0), Touch(c, 4), Touch(c, 2), Touch(c, 0)];
        Assert.That(hits, Is.EqualTo(new[] { false, false, true, false, true, false }));
        Assert.That(c.Contains(4) && c.Contains(0) && !c.Contains(2), Is.True);
    }

    [Test]
    public void RandomReplacementIsReproducibleFromItsSeed()
    {
        static string Run(ulong seed)
        {
            var c = new SetAssociativeCache<RandomReplacement>(new World(), "c", CacheGeometry.Create(256, 4, 16, "t", 0, "c"), new RandomReplacement(seed));
            var s = new System.Text.StringBuilder();
            for (ulong i = 0; i < 400; i++)
                s.Append(Touch(c, (i * 7919) % 23) ? 'h' : 'm');
            return s.ToString();
        }
        string first = Run(5);
        Assert.That(Run(5), Is.EqualTo(first));
        Assert.That(Run(5), Is.Not.EqualTo(Run(6)));
    }

    [Test]
    public void DirtyVictimIsReportedAndCountedAsAWriteBack()
    {
        var c = new SetAssociativeCache<LruReplacement>(new World(), "c", TwoSetsTwoWays, default);
        Touch(c, 0, write: true);   // set 0 {0*}  (* = dirty)
        Touch(c, 2);                // set 0 {0*,2}
        Assert.That(c.IsDirty(0), Is.True);
        Assert.That(c.Access(4, false), Is.False);
        // Set 0 is full: LRU victim is line 0, dirty -> one write-back.
        bool evicted = c.Fill(4, false, out ulong victim, out bool dirty);
        Assert.That((evicted, victim, dirty), Is.EqualTo((true, 0UL, true)));
        Assert.That(c.Counters.WriteBacks, Is.EqualTo(1));
        // Evicting clean line 2 next is not a write-back.
        c.Access(6, false);
        c.Fill(6, false, out victim, out dirty);
        Assert.That((victim, dirty, c.Counters.WriteBacks), Is.EqualTo((2UL, false, 1L)));
    }

    [Test]
    public void LruMatchesTheStackDistanceDefinition()
    {
        // Reference by definition: an access to line x hits iff x was used before and fewer than
        // `ways` distinct lines of the same set were used since x's last use.
        var g = CacheGeometry.Create(1024, 4, 16, "t", 0, "c");   // 16 sets, 4 ways
        var c = new SetAssociativeCache<LruReplacement>(new World(), "c", g, default);
        var history = new List<ulong>();
        var rng = new SplitMix64(99);
        for (int i = 0; i < 20000; i++)
        {
            ulong line = rng.Next() % 150;
            bool expected = false;
            var distinct = new HashSet<ulong>();
            for (int j = history.Count - 1; j >= 0; j--)
            {
                if (history[j] == line) { expected = distinct.Count < g.Ways; break; }
                if ((history[j] & 15) == (line & 15)) distinct.Add(history[j]);
            }
            Assert.That(Touch(c, line), Is.EqualTo(expected), $"access {i} to line {line}");
            history.Add(line);
        }
    }
}
