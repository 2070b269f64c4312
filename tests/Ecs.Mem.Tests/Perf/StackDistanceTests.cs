using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Perf;

public class StackDistanceTests
{
    // Silberschatz's reference string (Operating System Concepts, page replacement chapter).
    private static readonly ulong[] Textbook = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];

    [Test]
    public void TextbookDistancesByHand()
    {
        var sd = new StackDistance();
        sd.Run(Textbook);
        // Working the LRU stack by hand (most recent first; "dN" = found at depth N):
        //   7 0 1 2 cold → [2 1 0 7];  0 d3 → [0 2 1 7];  3 cold → [3 0 2 1 7];  0 d2 → [0 3 2 1 7];
        //   4 cold → [4 0 3 2 1 7];  2 d4 → [2 4 0 3 1 7];  3 d4 → [3 2 4 0 1 7];  0 d4 → [0 3 2 4 1 7];
        //   3 d2 → [3 0 2 4 1 7];  2 d3 → [2 3 0 4 1 7];  1 d5 → [1 2 3 0 4 7];  2 d2 → [2 1 3 0 4 7];
        //   0 d4 → [0 2 1 3 4 7];  1 d3 → [1 0 2 3 4 7];  7 d6 → [7 1 0 2 3 4];  0 d3 → [0 7 1 2 3 4];
        //   1 d3 → [1 0 7 2 3 4].
        // Histogram: d2 ×3, d3 ×5, d4 ×4, d5 ×1, d6 ×1 (14 = 20 references - 6 cold: 7, 0, 1, 2, 3, 4).
        Assert.That(sd.ColdFaults, Is.EqualTo(6));
        Assert.That(sd.CountAt(1), Is.EqualTo(0));
        Assert.That(sd.CountAt(2), Is.EqualTo(3));
        Assert.That(sd.CountAt(3), Is.EqualTo(5));
        Assert.That(sd.CountAt(4), Is.EqualTo(4));
        Assert.That(sd.CountAt(5), Is.EqualTo(1));
        Assert.That(sd.CountAt(6), Is.EqualTo(1));
        // The textbook's LRU figure for 3 frames: 6 cold + distances above 3 (4 + 1 + 1) = 12 faults.
        Assert.That(sd.ResultFor(3).Faults, Is.EqualTo(12));
        // With 4 frames: 6 cold + distances 5 and 6 = 8 faults.
        Assert.That(sd.ResultFor(4).Faults, Is.EqualTo(8));
    }

    [Test]
    public void TextbookMatchesIndividualLruRuns()
    {
        var sd = new StackDistance();
        sd.Run(Textbook);
        for (int frames = 1; frames <= 8; frames++)
            Assert.That(sd.ResultFor(frames), Is.EqualTo(LruRun(Textbook, frames)), $"frames {frames}");
    }

    [TestCase(1UL, 40, 2_000)]
    [TestCase(2UL, 300, 20_000)]
    [TestCase(3UL, 5, 500)]
    [TestCase(4UL, 1_000, 50_000)]
    public void RandomTracesMatchIndividualLruRunsExactly(ulong seed, int universe, int length)
    {
        ulong[] pages = RandomTrace(seed, universe, length);
        var sd = new StackDistance();
        sd.Run(pages);
        foreach (int frames in new[] { 1, 2, 3, universe / 4 + 1, universe / 2, universe - 1, universe, universe + 5 })
        {
            if (frames < 1) continue;
            Assert.That(sd.ResultFor(frames), Is.EqualTo(LruRun(pages, frames)), $"frames {frames}");
        }
    }

    [Test]
    public void HistogramMatchesNaiveStackAcrossTimeAxisCompaction()
    {
        // Far more references than the initial time axis (64Ki), so the marks are renumbered several times.
        ulong[] pages = RandomTrace(7, 700, 300_000);
        var sd = new StackDistance(expectedDistinctPages: 16);
        sd.Run(pages);
        var (cold, histogram) = NaiveDistances(pages);
        Assert.That(sd.ColdFaults, Is.EqualTo(cold));
        Assert.That(sd.References, Is.EqualTo(pages.Length));
        for (int d = 1; d < histogram.Length; d++)
            Assert.That(sd.CountAt(d), Is.EqualTo(histogram[d]), $"distance {d}");
        Assert.That(sd.ResultFor(350), Is.EqualTo(LruRun(pages, 350)));
    }

    [Test]
    public void EvictionsStartOnlyWhenFramesAreFull()
    {
        // 1 2 3 1 2 3 with 5 frames: 3 cold faults, nothing evicted; with 2 frames every reference faults
        // (LRU cycling), 6 faults, 4 evictions (the first two faults filled free frames).
        ulong[] pages = [1, 2, 3, 1, 2, 3];
        var sd = new StackDistance();
        sd.Run(pages);
        Assert.That(sd.ResultFor(5), Is.EqualTo(new IdealResult("lru", 5, 6, 3, 3, 0, 0)));
        Assert.That(sd.ResultFor(2), Is.EqualTo(new IdealResult("lru", 2, 6, 0, 3, 3, 4)));
    }

    private static IdealResult LruRun(ulong[] pages, int frames)
    {
        var sim = new IdealSimulator(frames, PolicyRegistry.Create("lru", new PolicyOptions(1)));
        sim.Run(pages);
        return sim.Result;
    }

    /// <summary>Reference algorithm: an explicit LRU stack as a list, distance = 1-based position.</summary>
    private static (long Cold, long[] Histogram) NaiveDistances(ulong[] pages)
    {
        var stack = new List<ulong>();
        var histogram = new long[pages.Length + 2];
        long cold = 0;
        foreach (ulong p in pages)
        {
            int i = stack.IndexOf(p);
            if (i < 0) cold++;
            else
            {
                histogram[i + 1]++;
                stack.RemoveAt(i);
            }
            stack.Insert(0, p);
        }
        return (cold, histogram);
    }

    /// <summary>A skewed random reference string: half the draws from a small hot set, so all distances occur.</summary>
    internal static ulong[] RandomTrace(ulong seed, int universe, int length)
    {
        var rng = new SplitMix(seed);
        var pages = new ulong[length];
        int hot = Math.Max(1, universe / 10);
        for (int i = 0; i < length; i++)
        {
            ulong r = rng.Next();
            int page = (r & 1) == 0 ? (int)((r >> 1) % (ulong)hot) : (int)((r >> 1) % (ulong)universe);
            pages[i] = (ulong)page * 4099 + 17; // spread the numbers: page ids need not be dense
        }
        return pages;
    }

    /// <summary>SplitMix64 (Steele, Lea, Flood 2014), the test's own generator.</summary>
    internal struct SplitMix(ulong state)
    {
        private ulong _s = state;

        public ulong Next()
        {
            ulong z = _s += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
