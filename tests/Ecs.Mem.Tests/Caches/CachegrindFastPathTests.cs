using System.IO.Compression;
using System.Text;
using EcsMem.Ecs;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;
using EcsMem.Traces;

namespace EcsMem.Tests.Caches;

/// <summary>
/// <see cref="CachegrindSimulator.Run"/> takes shortcuts (a reference to the line the previous reference to the same
/// first-level cache ended on is only counted; a single-line reference to its set's most recent line skips the
/// lookup; sets whose associativity is a multiple of four are searched and reordered four slots at a time). These
/// tests replay the same references through the plain path — <see cref="CachegrindSimulator.Access"/> one at a
/// time on caches that search slot by slot — and require every count and every set's recency order to be the same.
/// </summary>
public class CachegrindFastPathTests
{
    private static CacheGeometry G(int size, int ways, int line, string name) => CacheGeometry.Create(size, ways, line, "t", 0, name);

    /// <summary>Geometries with associativities the vector path takes (4, 8, 12, 16) and those it leaves to the loop
    /// (1, 2, 3, 6), line sizes that differ between the caches (so data references are clamped to the smallest).</summary>
    private static readonly CachegrindConfig[] Configs =
    [
        CachegrindConfig.Seed,
        new(G(256, 2, 16, "I1"), G(256, 2, 16, "D1"), G(1024, 4, 16, "LL")),
        new(G(1024, 4, 32, "I1"), G(2048, 8, 16, "D1"), G(16384, 16, 64, "LL")),
        new(G(512, 8, 64, "I1"), G(768, 3, 16, "D1"), G(12288, 12, 64, "LL")),
        new(G(64, 1, 16, "I1"), G(1536, 6, 16, "D1"), G(3072, 12, 32, "LL")),
        new(G(128, 8, 16, "I1"), G(128, 8, 16, "D1"), G(256, 16, 16, "LL")),   // one set each
    ];

    /// <summary>The plain path: every access through <see cref="CachegrindSimulator.Access"/>, slot-by-slot sets.</summary>
    private static CachegrindSimulator Plain(CachegrindConfig cfg, IEnumerable<MemoryAccess> trace)
    {
        var sim = new CachegrindSimulator(new World(), cfg, vectorWays: false);
        foreach (var a in trace)
            sim.Access(a);
        return sim;
    }

    /// <summary>The fast path: batches of <paramref name="batch"/> through <see cref="CachegrindSimulator.Run"/>.</summary>
    private static CachegrindSimulator Fast(CachegrindConfig cfg, MemoryAccess[] trace, int batch)
    {
        var sim = new CachegrindSimulator(new World(), cfg);
        for (int i = 0; i < trace.Length; i += batch)
            sim.Run(trace.AsSpan(i, Math.Min(batch, trace.Length - i)));
        return sim;
    }

    private static ulong[] Tags(CachegrindCache c) =>
        c.Table.ColumnArray<EcsMem.Components.CacheLineTag>().Take(c.Geometry.Sets * c.Geometry.Ways).Select(t => t.Line).ToArray();

    private static void AssertSame(CachegrindSimulator fast, CachegrindSimulator plain, string what)
    {
        Assert.That(fast.Counts, Is.EqualTo(plain.Counts), what + ": counts");
        Assert.That(Tags(fast.I1), Is.EqualTo(Tags(plain.I1)), what + ": I1 sets");
        Assert.That(Tags(fast.D1), Is.EqualTo(Tags(plain.D1)), what + ": D1 sets");
        Assert.That(Tags(fast.LL), Is.EqualTo(Tags(plain.LL)), what + ": LL sets");
    }

    /// <summary>
    /// A random trace with the shapes that matter: instruction runs through nearby addresses (many fetches on one
    /// line, some straddling two), data references to a small pool of lines that fill a few sets past their ways
    /// (hits at every recency position and evictions), repeats of the previous address, sizes 0 (read as 1),
    /// 1-64 and larger (clamped), and far addresses up to the top of the address space.
    /// </summary>
    private static MemoryAccess[] RandomTrace(int seed, int length)
    {
        var rng = new Random(seed);
        var trace = new MemoryAccess[length];
        ulong pc = 0x401000 + (ulong)rng.Next(4096);
        ulong[] pool = new ulong[rng.Next(4, 200)];
        for (int i = 0; i < pool.Length; i++)
            pool[i] = 0x1fff000000UL + (ulong)rng.Next(1 << 14);
        ulong lastData = pool[0];
        int[] dataSizes = [0, 1, 2, 4, 8, 8, 8, 16, 32, 64, 3, 100, 512, 65535];
        for (int i = 0; i < length; i++)
        {
            int r = rng.Next(100);
            if (r < 55)
            {
                if (rng.Next(20) == 0)
                    pc = 0x400000 + (ulong)rng.Next(1 << 16);   // a jump
                ushort size = (ushort)rng.Next(0, 16);
                trace[i] = new MemoryAccess(pc, 0, size, AccessKind.Instr);
                pc += Math.Max(size, (ushort)1);
            }
            else
            {
                ulong address = rng.Next(10) switch
                {
                    0 => lastData,
                    1 => rng.Next(50) == 0 ? ulong.MaxValue - (ulong)rng.Next(64) : (ulong)rng.NextInt64(),
                    _ => pool[rng.Next(pool.Length)] - 8 + (ulong)rng.Next(80),
                };
                lastData = address;
                var kind = (AccessKind)(1 + rng.Next(3));
                trace[i] = new MemoryAccess(address, 0, (ushort)dataSizes[rng.Next(dataSizes.Length)], kind);
            }
        }
        return trace;
    }

    [Test]
    public void RunEqualsThePlainPathOnRandomTraces([Range(0, 39)] int seed)
    {
        var trace = RandomTrace(seed, 20_000);
        foreach (var (cfg, k) in Configs.Select((c, k) => (c, k)))
        {
            var plain = Plain(cfg, trace);
            int batch = new[] { 1, 7, 4096 }[seed % 3];
            AssertSame(Fast(cfg, trace, batch), plain, $"seed {seed}, geometry {k}, batch {batch}");
        }
    }

    [Test]
    public void TheRandomTracesTakeEveryPath()
    {
        // Guards the test above against traces too tame to exercise the shortcuts: among the references of the
        // seed geometry, some repeat the previous line, some hit deeper in a set, some straddle, some miss.
        var trace = RandomTrace(1, 20_000);
        var sim = Plain(CachegrindConfig.Seed, trace);
        var c = sim.Counts;
        Assert.That(c.Ir, Is.GreaterThan(5_000));
        Assert.That(c.Dr + c.Dw, Is.GreaterThan(5_000));
        Assert.That(c.I1mr, Is.GreaterThan(50).And.LessThan(c.Ir / 2));
        Assert.That(c.D1mr + c.D1mw, Is.GreaterThan(50).And.LessThan((c.Dr + c.Dw) / 2));
        int straddles = trace.Count(a => a.Kind != AccessKind.Instr && a.Size > 1
            && (a.Address >> 6) != ((a.Address + Math.Min(a.Size, (ushort)64) - 1) >> 6));
        Assert.That(straddles, Is.GreaterThan(100));
    }

    /// <summary>
    /// Guards the differential tests above for the shortcuts that skip a lookup: in the random traces, some references
    /// straddle two lines that are both the most recent of their sets (counted without a lookup), some straddle lines
    /// that are not (the full lookup), and some have size 0 or a data size past the clamp (adjusted before the
    /// shortcuts). Counted by walking the plain path and asking its caches before each reference.
    /// </summary>
    [Test]
    public void TheRandomTracesStraddleMostRecentLinesAndOddSizes()
    {
        int bothRecent = 0, notBoth = 0, odd = 0;
        for (int seed = 0; seed < 8; seed++)
        {
            var sim = new CachegrindSimulator(new World(), CachegrindConfig.Seed, vectorWays: false);
            foreach (var a in RandomTrace(seed, 20_000))
            {
                bool instr = a.Kind == AccessKind.Instr;
                int size = a.Size == 0 ? 1 : instr ? a.Size : Math.Min(a.Size, (ushort)64);
                odd += a.Size == 0 || (!instr && a.Size > 64) ? 1 : 0;
                ulong first = a.Address >> 6, last = (a.Address + (ulong)size - 1) >> 6;
                var cache = instr ? sim.I1 : sim.D1;
                if (first != last)
                {
                    if (cache.IsMostRecent(first) && cache.IsMostRecent(last))
                        bothRecent++;
                    else
                        notBoth++;
                }
                sim.Access(a);
            }
        }
        Assert.That(bothRecent, Is.GreaterThan(200));
        Assert.That(notBoth, Is.GreaterThan(200));
        Assert.That(odd, Is.GreaterThan(200));
    }

    /// <summary>
    /// The straddle shortcut by hand: D1 of 2 sets of 2 ways, 64-byte lines (line n in set n &amp; 1). A load of 8
    /// bytes at 0x3c covers lines 0 and 1 (sets 0 and 1): both miss, one D1 miss. The same load again finds both in
    /// front: a hit, nothing moves. Line 2 then goes in front of set 0 (a miss), so the straddle over lines 0 and 1
    /// must look line 0 up (a hit in slot 1, moved to the front) and counts no miss; set 0 ends as [0, 2], set 1 as
    /// [1, empty].
    /// </summary>
    [TestCase(1)]
    [TestCase(4096)]
    public void AStraddleOverTwoMostRecentLinesIsAHitThatMovesNothing(int batch)
    {
        var cfg = new CachegrindConfig(G(256, 2, 64, "I1"), G(256, 2, 64, "D1"), G(4096, 4, 64, "LL"));
        MemoryAccess[] trace =
        [
            new(0x3c, 0, 8, AccessKind.Load),
            new(0x3c, 0, 8, AccessKind.Load),
            new(0x80, 0, 4, AccessKind.Store),
            new(0x3c, 0, 8, AccessKind.Load),
        ];
        var fast = Fast(cfg, trace, batch);
        Assert.That((fast.Counts.Dr, fast.Counts.D1mr, fast.Counts.Dw, fast.Counts.D1mw), Is.EqualTo((3L, 1L, 1L, 1L)));
        Assert.That(Tags(fast.D1), Is.EqualTo(new[] { 0UL, 2UL, 1UL, CachegrindCache.EmptyTag }));
        AssertSame(fast, Plain(cfg, trace), $"batch {batch}");
    }

    /// <summary>The per-access path of <c>run --cachegrind</c> (the Lackey decoder and <see cref="CachegrindSimulator.Run"/>,
    /// vector paths included) allocates nothing once started: 200,000 more lines decode and simulate in 0 bytes.</summary>
    [Test]
    public void DecodingAndSimulatingAllocateNothingInSteadyState()
    {
        var trace = RandomTrace(7, 200_000);
        var text = new StringBuilder();
        foreach (var a in trace)
            text.Append(a.Kind switch { AccessKind.Instr => "I  ", AccessKind.Load => " L ", AccessKind.Store => " S ", _ => " M " })
                .Append(a.Address.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append(',')
                .Append(Math.Max(a.Size, (ushort)1)).Append('\n');
        byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
        var sim = new CachegrindSimulator(new World(), CachegrindConfig.Seed);
        var buf = new MemoryAccess[4096];
        using var reader = new LackeyReader(new MemoryStream(bytes), "t.lackey");
        for (int warm = 0; warm < 4; warm++)
            sim.Run(buf.AsSpan(0, reader.Read(buf)));
        // Windows of eight reads (32,768 lines): a per-line allocation would show in every window, while a one-off
        // (the JIT tiering a method up on this thread, which happens when the whole suite runs) lands in one; so the
        // steady state is the best window, as in SteadyStateAllocationTests.
        var windows = new List<long>();
        long lines = 0;
        int n = 1;
        while (n > 0)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int r = 0; r < 8 && (n = reader.Read(buf)) > 0; r++)
            {
                sim.Run(buf.AsSpan(0, n));
                lines += n;
            }
            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.That(lines, Is.EqualTo(trace.Length - 4 * 4096));
        Assert.That(windows, Has.Count.GreaterThanOrEqualTo(5));
        Assert.That(windows.Min(), Is.Zero, $"bytes allocated per window: {string.Join(", ", windows)}");
        Assert.That(sim.Counts.Ir + sim.Counts.Dr + sim.Counts.Dw, Is.EqualTo(trace.Length));
    }

    [TestCase("matmul")]
    [TestCase("sort")]
    [TestCase("hashlist")]
    public void RunEqualsThePlainPathOnRealTraces(string program)
    {
        string trace = Path.Combine(CachegrindAgreementTests.SamplesDir(), $"{program}.lackey.gz");
        var accesses = new List<MemoryAccess>();
        using (var reader = new LackeyReader(new GZipStream(File.OpenRead(trace), CompressionMode.Decompress), trace))
        {
            var buf = new MemoryAccess[4096];
            int n;
            while ((n = reader.Read(buf)) > 0)
                accesses.AddRange(buf.AsSpan(0, n).ToArray());
        }
        var all = accesses.ToArray();
        foreach (var (cfg, k) in Configs.Select((c, k) => (c, k)))
            AssertSame(Fast(cfg, all, 4096), Plain(cfg, all), $"{program}, geometry {k}");
    }
}
