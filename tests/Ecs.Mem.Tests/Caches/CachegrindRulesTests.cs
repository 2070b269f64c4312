using System.Text;
using EcsMem.Ecs;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;
using EcsMem.Traces;

namespace EcsMem.Tests.Caches;

public class CachegrindRulesTests
{
    // I1 and D1: 256 B, 2 ways, 16 B lines -> 8 sets (set = line & 7, set stride 128 B).
    // LL: 1024 B, 4 ways, 16 B lines -> 16 sets (set stride 256 B).
    private static readonly CachegrindConfig Small = new(
        CacheGeometry.Create(256, 2, 16, "t", 0, "I1"),
        CacheGeometry.Create(256, 2, 16, "t", 0, "D1"),
        CacheGeometry.Create(1024, 4, 16, "t", 0, "LL"));

    private static CachegrindCounts Run(string lackey, CachegrindConfig? cfg = null)
    {
        var sim = new CachegrindSimulator(new World(), cfg ?? Small);
        using var r = new LackeyReader(new MemoryStream(Encoding.ASCII.GetBytes(lackey)), "snippet");
        var buf = new MemoryAccess[64];
        int n;
        while ((n = r.Read(buf)) > 0)
            sim.Run(buf.AsSpan(0, n));
        return sim.Counts;
    }

    [Test]
    public void AStraddlingReferenceCountsOnceAndMissesIfEitherLineMisses()
    {
        var c = Run(
            " L 0000000c,8\n" +   // lines 0 and 1, both miss: 1 ref, 1 D1 miss, LL also misses (once)
            " L 00000010,4\n" +   // line 1: brought in by the straddle -> hit
            " L 0000001c,8\n");   // lines 1 (hit) and 2 (miss) -> 1 miss; LL: line 1 hit, line 2 miss -> miss
        Assert.That((c.Dr, c.D1mr, c.DLmr), Is.EqualTo((3L, 2L, 2L)));
        // The first two alone: the straddle brought line 1 into D1 (and LL), so the second hits.
        var firstTwo = Run(" L 0000000c,8\n L 00000010,4\n");
        Assert.That((firstTwo.Dr, firstTwo.D1mr, firstTwo.DLmr), Is.EqualTo((2L, 1L, 1L)));
    }

    [Test]
    public void AModifyIsOneDataReadAndNoWrite()
    {
        var c = Run(" M 00000100,4\n M 00000100,4\n S 00000104,4\n");
        // M, M -> 2 Dr (first misses); S to the same line -> 1 Dw, hit.
        Assert.That((c.Dr, c.D1mr, c.Dw, c.D1mw), Is.EqualTo((2L, 1L, 1L, 0L)));
    }

    [Test]
    public void LastLevelIsConsultedOnlyOnAFirstLevelMiss()
    {
        var c = Run(
            " L 00000000,4\n" +   // D1 set 0 {0}; LL miss
            " L 00000080,4\n" +   // D1 set 0 {0,0x80}; LL miss
            " L 00000100,4\n" +   // D1 set 0 evicts 0; LL miss (LL set 0 now {0,0x100}, set 8 {0x80})
            " L 00000000,4\n" +   // D1 miss, LL hit -> LLd misses unchanged
            " L 00000000,4\n");   // D1 hit: LL not consulted, so nothing changes in LL either
        Assert.That((c.Dr, c.D1mr, c.DLmr), Is.EqualTo((5L, 4L, 3L)));
        Assert.That(c.LLrefs, Is.EqualTo(4));
    }

    [Test]
    public void InstructionsAndDataShareTheLastLevel()
    {
        var c = Run(
            "I  00002000,4\n" +   // I1 miss, LL miss
            " L 00002008,4\n" +   // same 16 B line: D1 miss, LL hit
            "I  0000200e,4\n");   // straddles lines 0x200 and 0x201 of I1: one ref, line 0x201 misses -> miss
        Assert.That((c.Ir, c.I1mr, c.ILmr), Is.EqualTo((2L, 2L, 2L)));
        Assert.That((c.Dr, c.D1mr, c.DLmr), Is.EqualTo((1L, 1L, 0L)));
    }

    [Test]
    public void LruCacheMatchesTheStackDistanceDefinition()
    {
        // As for the general cache: a line hits iff fewer than `ways` distinct lines of its set
        // were referenced since its last reference. Single-line references only.
        var g = CacheGeometry.Create(512, 4, 16, "t", 0, "c");   // 8 sets
        var cache = new CachegrindCache(new World(), g);
        var history = new List<ulong>();
        var rng = new SplitMix64(11);
        for (int i = 0; i < 20000; i++)
        {
            ulong line = rng.Next() % 90;
            bool hit = false;
            var distinct = new HashSet<ulong>();
            for (int j = history.Count - 1; j >= 0; j--)
            {
                if (history[j] == line) { hit = distinct.Count < g.Ways; break; }
                if ((history[j] & 7) == (line & 7)) distinct.Add(history[j]);
            }
            Assert.That(cache.IsMiss(line * 16 + 3, 4), Is.EqualTo(!hit), $"reference {i}");
            history.Add(line);
        }
    }

    [Test]
    public void ReportOfAnEmptyRunHasOneCharacterColumns()
    {
        // All counts 0: every column is width 1 ("0"); rates divide by 1 (Cachegrind's zero guard).
        string expected =
            "I   refs:      0\n" +
            "I1  misses:    0\n" +
            "LLi misses:    0\n" +
            "I1  miss rate: 0.00%\n" +
            "LLi miss rate: 0.00%\n" +
            "\n" +
            "D   refs:      0  (0 rd   + 0 wr)\n" +
            "D1  misses:    0  (0 rd   + 0 wr)\n" +
            "LLd misses:    0  (0 rd   + 0 wr)\n" +
            "D1  miss rate: 0.0% (0.0%     + 0.0%  )\n" +
            "LLd miss rate: 0.0% (0.0%     + 0.0%  )\n" +
            "\n" +
            "LL refs:       0  (0 rd   + 0 wr)\n" +
            "LL misses:     0  (0 rd   + 0 wr)\n" +
            "LL miss rate:  0.0% (0.0%     + 0.0%  )\n";
        Assert.That(CachegrindReport.Format(default), Is.EqualTo(expected));
    }

    [Test]
    public void ReportGroupsThousandsAndRoundsRates()
    {
        var c = new CachegrindCounts { Ir = 1234567, I1mr = 1000, ILmr = 5, Dr = 1000, D1mr = 125, Dw = 99, D1mw = 33, DLmw = 1 };
        string r = CachegrindReport.Format(c);
        // Widths: "1,234,567" = 9, "1,000" = 5, "99" = 2. I1 rate 1000/1234567 = 0.0810% -> "0.08".
        Assert.That(r, Does.Contain("I   refs:      1,234,567\n"));
        Assert.That(r, Does.Contain("I1  miss rate:      0.08%\n"));
        Assert.That(r, Does.Contain("D   refs:          1,099  (1,000 rd   + 99 wr)\n"));
        // D1: 158/1099 = 14.38% -> 14.4; rd 125/1000 = 12.5; wr 33/99 = 33.33 -> 33.3 (wider than 2: printf widens)
        Assert.That(r, Does.Contain("D1  miss rate:      14.4% ( 12.5%     + 33.3%  )\n"));
        // LL refs = 1000 + 125 + 33 = 1158 (rd 1125, wr 33)
        Assert.That(r, Does.Contain("LL refs:           1,158  (1,125 rd   + 33 wr)\n"));
    }

    [Test]
    public void RatesRoundExactHalvesDownLikeValgrindsPrintf()
    {
        // I1: 1/800 = 0.125 % -> scaled fraction 12.5, remainder exactly 0.5 is not > 0.5 -> "0.12".
        // D1 wr: 1/400 = 0.25 % -> 2.5 -> "0.2". D1 rd: 3/8 = 37.5 % -> 37.5 (one decimal, exact) -> "37.5".
        // D1 all: 4/408 = 0.98039.. % -> 9.8039 -> 9 + (0.80 > 0.5) = 10 = factor -> carries to "1.0".
        var c = new CachegrindCounts { Ir = 800, I1mr = 1, Dr = 8, D1mr = 3, Dw = 400, D1mw = 1 };
        string r = CachegrindReport.Format(c);
        Assert.That(r, Does.Contain("I1  miss rate: 0.12%\n"));
        Assert.That(r, Does.Contain("D1  miss rate: 1.0% (37.5%     + 0.2%  )\n"));
        Assert.That(CachegrindReport.ValgrindFixed(99.96, 1), Is.EqualTo("100.0"));
        Assert.That(CachegrindReport.ValgrindFixed(0.0, 2), Is.EqualTo("0.00"));
    }
}
