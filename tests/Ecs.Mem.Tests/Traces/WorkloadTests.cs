using EcsMem.Diagnostics;
using EcsMem.Traces;
using EcsMem.Traces.Synthetic;

namespace EcsMem.Tests.Traces;

public class WorkloadTests
{
    private static List<MemoryAccess> Gen(string spec, int batch = 1000)
    {
        using var r = WorkloadSpec.Parse(spec).Create();
        return TraceTestFiles.ReadAll(r, batch);
    }

    /// <summary>|observed - expected| within 5 binomial standard deviations (false-failure chance below 1e-6).</summary>
    private static void AssertBinomial(long hits, long trials, double p, string what)
    {
        double mean = trials * p;
        double sd = Math.Sqrt(trials * p * (1 - p));
        Assert.That(hits, Is.InRange(mean - 5 * sd, mean + 5 * sd), $"{what}: expected {mean:F1} ± {5 * sd:F1}");
    }

    [Test]
    public void SplitMix64MatchesItsPublishedSequence()
    {
        // The reference sequence of SplitMix64 seeded with 0.
        ulong x = 0;
        Assert.That(Xoshiro256StarStar.SplitMix64(ref x), Is.EqualTo(0xE220A8397B1DCDAFUL));
        Assert.That(Xoshiro256StarStar.SplitMix64(ref x), Is.EqualTo(0x6E789E6AA1B965F4UL));
        Assert.That(Xoshiro256StarStar.SplitMix64(ref x), Is.EqualTo(0x06C45D188009454FUL));
    }

    [Test]
    public void XoshiroMatchesAnIndependentArrayImplementation()
    {
        // xoshiro256** written from its definition with a state array, seeded like ours through SplitMix64.
        ulong sm = 42;
        var s = new ulong[4];
        for (int i = 0; i < 4; i++) s[i] = Xoshiro256StarStar.SplitMix64(ref sm);
        static ulong Rotl(ulong v, int k) => (v << k) | (v >> (64 - k));
        var rng = new Xoshiro256StarStar(42);
        for (int n = 0; n < 1000; n++)
        {
            ulong expected = Rotl(s[1] * 5, 7) * 9;
            ulong t = s[1] << 17;
            s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = Rotl(s[3], 45);
            Assert.That(rng.NextUInt64(), Is.EqualTo(expected), $"output {n}");
        }
    }

    [Test]
    public void NextBelowIsInRangeAndUniform()
    {
        var rng = new Xoshiro256StarStar(7);
        var counts = new int[6];
        for (int i = 0; i < 60_000; i++)
        {
            ulong v = rng.NextBelow(6);
            Assert.That(v, Is.LessThan(6UL));
            counts[v]++;
        }
        for (int k = 0; k < 6; k++) AssertBinomial(counts[k], 60_000, 1.0 / 6, $"value {k}");
    }

    [TestCase("seq:count=5000,seed=3,writes=0.5")]
    [TestCase("uniform:count=5000,seed=3,writes=0.5")]
    [TestCase("zipf:count=5000,pages=5000,alpha=0.9,seed=1")]
    [TestCase("loop:count=5000,pages=100")]
    [TestCase("phase:count=5000,pages=1000,ws=50,phaselen=500")]
    [TestCase("scanhot:count=5000,pages=1000,hot=10,hotfrac=0.3")]
    [TestCase("matmul:n=8,count=5000")]
    [TestCase("chase:count=5000,region=1M")]
    public void SameSeedSameTraceAndBatchingDoesNotMatter(string spec)
    {
        var a = Gen(spec, 1000);
        var b = Gen(spec, 7);
        Assert.That(a, Has.Count.EqualTo(5000));
        Assert.That(b, Is.EqualTo(a));
    }

    [TestCase("uniform:count=1000")]
    [TestCase("zipf:count=1000,pages=1000")]
    [TestCase("phase:count=1000,pages=1000")]
    [TestCase("scanhot:count=1000,pages=1000")]
    [TestCase("chase:count=1000,pages=1000")]
    public void DifferentSeedDifferentTrace(string spec)
    {
        Assert.That(Gen(spec + ",seed=2"), Is.Not.EqualTo(Gen(spec + ",seed=3")));
    }

    [Test]
    public void SequentialIsBasePlusIndexTimesElement()
    {
        var a = Gen("seq:count=1000,base=0x1000,elem=16,size=4,pid=3");
        for (int i = 0; i < a.Count; i++)
            Assert.That(a[i], Is.EqualTo(new MemoryAccess(0x1000 + (ulong)i * 16, 3, 4, AccessKind.Load)));
    }

    [Test]
    public void LoopWrapsAtTheRegionEnd()
    {
        // pages=3: elements are pages 0, 1, 2 at 0, 4096, 8192; size defaults to 8.
        var a = Gen("loop:count=7,pages=3");
        Assert.That(a.Select(x => x.Address), Is.EqualTo(new ulong[] { 0, 4096, 8192, 0, 4096, 8192, 0 }));
        Assert.That(a.All(x => x.Size == 8 && x.Kind == AccessKind.Load && x.Process == 0), Is.True);
    }

    [Test]
    public void UniformStaysInRegionAndIsFlat()
    {
        // region 80 bytes / elem 8 = 10 elements; each should get 1/10 of the accesses.
        const int n = 100_000;
        var a = Gen($"uniform:count={n},base=0x2000,region=80,elem=8,seed=11");
        var counts = new long[10];
        foreach (var x in a)
        {
            Assert.That((x.Address - 0x2000) % 8, Is.EqualTo(0UL));
            counts[(x.Address - 0x2000) / 8]++;
        }
        for (int k = 0; k < 10; k++) AssertBinomial(counts[k], n, 0.1, $"element {k}");
    }

    [Test]
    public void ZipfRankFrequenciesFollowTheDefinition()
    {
        const int n = 200_000, pages = 1000;
        const double alpha = 0.9;
        // H(1000, 0.9) by direct summation; rank k has probability k^-alpha / H.
        double h = 0;
        for (int k = 1; k <= pages; k++) h += Math.Pow(k, -alpha);
        var counts = new long[pages];
        foreach (var x in Gen($"zipf:count={n},pages={pages},alpha=0.9,seed=5"))
            counts[x.Address / 4096]++;
        AssertBinomial(counts[0], n, 1 / h, "rank 1");
        AssertBinomial(counts[1], n, Math.Pow(2, -alpha) / h, "rank 2");
        AssertBinomial(counts[9], n, Math.Pow(10, -alpha) / h, "rank 10");
        AssertBinomial(counts.Skip(500).Sum(), n, Enumerable.Range(501, 500).Sum(k => Math.Pow(k, -alpha)) / h, "ranks 501-1000");
    }

    [TestCase(1, 0.5)]
    [TestCase(7, 2.0)]
    [TestCase(1000, 0.9)]
    [TestCase(4097, 1.3)]
    public void ZipfGuideTableGivesTheSameRanksAsALinearSearch(int n, double alpha)
    {
        // Reference: the cumulative sums summed in the same order, then the first rank whose sum exceeds d·H.
        var cdf = new double[n];
        double sum = 0;
        for (int k = 1; k <= n; k++) cdf[k - 1] = sum += Math.Pow(k, -alpha);
        var table = new ZipfTable(n, alpha);
        var rngTable = new Xoshiro256StarStar(99);
        var rngRef = new Xoshiro256StarStar(99);
        for (int i = 0; i < 20_000; i++)
        {
            double u = rngRef.NextDouble() * sum;
            int r = 0;
            while (r < n - 1 && cdf[r] <= u) r++;
            Assert.That(table.Sample(ref rngTable), Is.EqualTo(r + 1), $"draw {i}");
        }
    }

    [Test]
    public void ZipfTableHarmonicAndExtremes()
    {
        var t = new ZipfTable(3, 1.0);
        Assert.That(t.Harmonic, Is.EqualTo(1 + 0.5 + 1.0 / 3).Within(1e-12));
        // alpha = 0 is uniform: every rank equally likely.
        var u = new ZipfTable(4, 0);
        var rng = new Xoshiro256StarStar(1);
        var counts = new long[5];
        for (int i = 0; i < 40_000; i++) counts[u.Sample(ref rng)]++;
        Assert.That(counts[0], Is.EqualTo(0));
        for (int k = 1; k <= 4; k++) AssertBinomial(counts[k], 40_000, 0.25, $"rank {k}");
    }

    [Test]
    public void WritesFractionGivesThatShareOfStores()
    {
        const int n = 100_000;
        long stores = Gen($"uniform:count={n},writes=0.25,seed=9").Count(x => x.Kind == AccessKind.Store);
        AssertBinomial(stores, n, 0.25, "stores");
    }

    [Test]
    public void MatMulMatchesTheLoopNest()
    {
        const ulong n = 3, a = 0x1000, b = 0x2000, c = 0x3000;
        var got = Gen($"matmul:n={n},a=0x1000,b=0x2000,c=0x3000");
        // Reference: the loop nest written out, 8-byte row-major doubles.
        var expected = new List<MemoryAccess>();
        for (ulong i = 0; i < n; i++)
            for (ulong j = 0; j < n; j++)
                for (ulong k = 0; k < n; k++)
                {
                    expected.Add(new(a + 8 * (i * n + k), 0, 8, AccessKind.Load));
                    expected.Add(new(b + 8 * (k * n + j), 0, 8, AccessKind.Load));
                    expected.Add(new(c + 8 * (i * n + j), 0, 8, AccessKind.Load));
                    expected.Add(new(c + 8 * (i * n + j), 0, 8, AccessKind.Store));
                }
        Assert.That(got, Is.EqualTo(expected));
        // 3N³ = 81 loads and N³ = 27 stores for N = 3.
        Assert.That(got.Count(x => x.Kind == AccessKind.Load), Is.EqualTo(81));
        Assert.That(got.Count(x => x.Kind == AccessKind.Store), Is.EqualTo(27));
    }

    [Test]
    public void MatMulDefaultLayoutAndRestart()
    {
        // n=2: A at base, B at base + 8*4 = base + 32, C at base + 64; count 40 > 4*8 = 32 restarts the nest.
        var got = Gen("matmul:n=2,base=0x100,count=40");
        Assert.That(got[0].Address, Is.EqualTo(0x100UL));
        Assert.That(got[1].Address, Is.EqualTo(0x120UL));
        Assert.That(got[2].Address, Is.EqualTo(0x140UL));
        Assert.That(got.Skip(32), Is.EqualTo(got.Take(8)));
    }

    [Test]
    public void PointerChaseVisitsEveryNodeOnceThenRepeats()
    {
        // region 64K / elem 64 = 1024 nodes; one single cycle through all of them from node 0.
        var got = Gen("chase:count=2049,region=64K,base=0x8000,seed=4");
        var firstLap = got.Take(1024).Select(x => (x.Address - 0x8000) / 64).ToList();
        Assert.That(firstLap[0], Is.EqualTo(0UL));
        Assert.That(firstLap.Distinct().Count(), Is.EqualTo(1024));
        Assert.That(got.Skip(1024).Take(1025).Select(x => x.Address), Is.EqualTo(got.Take(1025).Select(x => x.Address)));
        Assert.That(got.All(x => x.Kind == AccessKind.Load && x.Size == 8 && (x.Address - 0x8000) % 64 == 0), Is.True);
    }

    [Test]
    public void PhaseStaysInItsShiftingWindow()
    {
        // 100 pages, windows of 10 pages moving by 30 each phase of 50 accesses: phase p uses pages
        // (30p mod 100) .. +9, wrapping past page 99 (phase 3 starts at 90: pages 90-99; phase 4 at 20).
        var got = Gen("phase:count=1000,pages=100,ws=10,phaselen=50,shift=30,seed=8");
        for (int i = 0; i < got.Count; i++)
        {
            ulong start = (ulong)(30 * (i / 50) % 100);
            ulong page = got[i].Address / 4096;
            ulong offset = (page + 100 - start) % 100;
            Assert.That(offset, Is.LessThan(10UL), $"access {i} page {page} phase start {start}");
        }
        // Each window is used fully: phase 0 covers pages 0-9 with 50 draws (chance a page is missed ≈ 10·0.9^50 ≈ 0.05%).
        Assert.That(got.Take(50).Select(x => x.Address / 4096).Distinct().Count(), Is.EqualTo(10));
    }

    [Test]
    public void ScanHotIsAScanWhenColdAndHotSetWhenHot()
    {
        var cold = Gen("scanhot:count=25,pages=10,hot=2,hotfrac=0");
        // Pure scan over pages 2..9 (8 cold pages), wrapping.
        Assert.That(cold.Select(x => x.Address / 4096), Is.EqualTo(Enumerable.Range(0, 25).Select(i => (ulong)(2 + i % 8))));
        var hot = Gen("scanhot:count=1000,pages=10,hot=2,hotfrac=1");
        Assert.That(hot.All(x => x.Address / 4096 < 2), Is.True);
        const int n = 50_000;
        long hits = Gen($"scanhot:count={n},pages=1000,hot=10,hotfrac=0.3,seed=2").Count(x => x.Address / 4096 < 10);
        AssertBinomial(hits, n, 0.3, "hot-set accesses");
    }

    [TestCase("frob:count=1", "command line: unknown workload (known: seq, uniform, zipf, loop, phase, scanhot, matmul, chase) (got 'frob')")]
    [TestCase("zipf:count=10,colour=red", "command line: workload 'zipf': unknown parameter (known: count, seed, base, region, elem, pages, size, pid, writes, alpha) (got 'colour')")]
    [TestCase("zipf:count", "command line: workload 'zipf': expected key=value (got 'count')")]
    [TestCase("zipf:count=", "command line: workload 'zipf': expected key=value (got 'count=')")]
    [TestCase("zipf:count=5,count=6", "command line: workload 'zipf': parameter given twice (got 'count')")]
    [TestCase("zipf:count=-5", "command line: workload 'zipf': count must be an integer from 1 to 9223372036854775807 (got 'count=-5')")]
    [TestCase("zipf:count=0", "command line: workload 'zipf': count must be an integer from 1 to 9223372036854775807 (got 'count=0')")]
    [TestCase("zipf:alpha=abc", "command line: workload 'zipf': alpha must be a number from 0 to 100 (got 'alpha=abc')")]
    [TestCase("zipf:alpha=NaN", "command line: workload 'zipf': alpha must be a number from 0 to 100 (got 'alpha=NaN')")]
    [TestCase("uniform:writes=1.5", "command line: workload 'uniform': writes must be a number from 0 to 1 (got 'writes=1.5')")]
    [TestCase("uniform:base=0xZZ", "command line: workload 'uniform': base must be a decimal or 0x-prefixed hex number (got 'base=0xZZ')")]
    [TestCase("uniform:region=12Q", "command line: workload 'uniform': region must be a size such as 4096, 64K, 16M (got 'region=12Q')")]
    [TestCase("uniform:region=4,elem=8", "command line: workload 'uniform': region must hold at least one element of 8 bytes (got 'region=4')")]
    [TestCase("uniform:pages=10,region=1M", "command line: workload 'uniform': pages=P sets region and elem (P pages of 4096 bytes); give one or the other (got 'region=1M')")]
    [TestCase("uniform:size=70000", "command line: workload 'uniform': size must be an integer from 1 to 65535 (got 'size=70000')")]
    [TestCase("uniform:base=0xFFFFFFFFFFFFFF00,region=4096", "command line: workload 'uniform': base + region exceeds the 64-bit address space (got 'base=0xFFFFFFFFFFFFFF00')")]
    [TestCase("seq:count=11,pages=10", "command line: workload 'seq': a sequential pass of 11 accesses needs 11 elements but the region has 10 (use 'loop' to sweep repeatedly) (got 'count=11')")]
    [TestCase("matmul:pages=10", "command line: workload 'matmul': unknown parameter (known: count, seed, base, pid, n, a, b, c) (got 'pages')")]
    [TestCase("matmul:n=0", "command line: workload 'matmul': n must be an integer from 1 to 1048576 (got 'n=0')")]
    [TestCase("phase:pages=10,ws=11", "command line: workload 'phase': ws must be an integer from 1 to 10 (got 'ws=11')")]
    [TestCase("scanhot:pages=10,hot=10", "command line: workload 'scanhot': hot must be an integer from 1 to 9 (got 'hot=10')")]
    [TestCase("chase:writes=0.5", "command line: workload 'chase': it only loads (it follows pointers), so writes is not allowed (got 'writes=0.5')")]
    [TestCase("zipf:pages=100000000", "command line: workload 'zipf': zipf supports at most 16777216 elements (has 100000000) (got 'pages=100000000')")]
    public void BadSpecsAreInputErrors(string spec, string message)
    {
        Assert.That(() => WorkloadSpec.Parse(spec), Throws.TypeOf<InputException>().With.Message.EqualTo(message));
    }

    [Test]
    public void SpecErrorsNameTheScenarioFileAndLine()
    {
        Assert.That(() => WorkloadSpec.Parse("zipf:alpha=-1", "scenario.yaml", 12), Throws.TypeOf<InputException>()
            .With.Message.EqualTo("scenario.yaml:12: workload 'zipf': alpha must be a number from 0 to 100 (got 'alpha=-1')"));
    }

    [Test]
    public void ExampleSpecFromTheDocsParses()
    {
        var spec = WorkloadSpec.Parse("zipf:count=1000000,pages=50000,alpha=0.9,seed=1");
        Assert.That(spec.Kind, Is.EqualTo("zipf"));
        using var r = spec.Create();
        var buf = new MemoryAccess[4096];
        long total = 0;
        int n;
        while ((n = r.Read(buf)) > 0)
        {
            for (int i = 0; i < n; i++)
                if (buf[i].Address % 4096 != 0 || buf[i].Address >= 50000UL * 4096) Assert.Fail($"address {buf[i].Address:x}");
            total += n;
        }
        Assert.That(total, Is.EqualTo(1_000_000));
    }
}
