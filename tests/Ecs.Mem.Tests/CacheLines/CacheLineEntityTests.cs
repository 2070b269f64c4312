using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;
using EcsMem.Traces;

namespace EcsMem.Tests.CacheLines;

/// <summary>Cache lines are entities: world queries see them and read the same state the caches use.</summary>
public class CacheLineEntityTests
{
    private static CacheGeometry G(long size, int ways, int line) => CacheGeometry.Create(size, ways, line, "test", 0, "c");

    private static MemoryAccess Load(ulong a) => new(a, 0, 4, AccessKind.Load);
    private static MemoryAccess Store(ulong a) => new(a, 0, 4, AccessKind.Store);

    /// <summary>Counts dirty lines through a world query (the ECS path, not the cache's own code).</summary>
    private struct DirtyCounter : IForEach<CacheLineState>
    {
        public int Count;

        public void Update(ref CacheLineState s)
        {
            if ((s.Flags & CacheLineFlags.Dirty) != 0)
                Count++;
        }
    }

    /// <summary>Counts lines holding a valid tag.</summary>
    private struct ValidCounter : IForEach<CacheLineTag>
    {
        public int Count;

        public void Update(ref CacheLineTag t)
        {
            if (t.Line != CacheLineTag.Invalid)
                Count++;
        }
    }

    private static int DirtyByQuery<TLevel>(World world) where TLevel : struct
    {
        var counter = new DirtyCounter();
        world.InlineQuery<DirtyCounter, CacheLineState>(new QueryDescription().WithAll<CacheLineState, TLevel>(), ref counter);
        return counter.Count;
    }

    private static int ValidByQuery(World world, QueryDescription q)
    {
        var counter = new ValidCounter();
        world.InlineQuery<ValidCounter, CacheLineTag>(q, ref counter);
        return counter.Count;
    }

    [Test]
    public void EveryLevelIsSetsTimesWaysEntities()
    {
        var world = new World();
        CacheHierarchyFactory.Create(world, CacheHierarchyConfig.Seed);
        // Lines per level = size / line size (= sets * ways): 32 KiB/64 = 512, 256 KiB/64 = 4096, 3 MiB/64 = 49152.
        Assert.That(world.CountEntities(new QueryDescription().WithAll<CacheLineTag, L1iLine>()), Is.EqualTo(512));
        Assert.That(world.CountEntities(new QueryDescription().WithAll<CacheLineTag, L1dLine>()), Is.EqualTo(512));
        Assert.That(world.CountEntities(new QueryDescription().WithAll<CacheLineTag, L2Line>()), Is.EqualTo(4096));
        Assert.That(world.CountEntities(new QueryDescription().WithAll<CacheLineTag, L3Line>()), Is.EqualTo(49152));
        var all = new QueryDescription().WithAll<CacheLineTag, CacheLineStamp, CacheLineState>();
        Assert.That(world.CountEntities(all), Is.EqualTo(512 + 512 + 4096 + 49152));
        // A fresh hierarchy holds nothing: every way carries the invalid tag.
        Assert.That(ValidByQuery(world, all), Is.EqualTo(0));
    }

    [Test]
    public void RowIsSetTimesWaysPlusWayAndTheColumnIsTheCache()
    {
        var world = new World();
        // 4 sets of 2 ways, 16-byte lines: line n goes to set n % 4, rows 2*(n%4) and 2*(n%4)+1.
        var c = new SetAssociativeCache<LruReplacement>(world, "c", G(128, 2, 16), default, ComponentType.Of<L1dLine>());
        c.Fill(9, dirty: true, out _, out _);   // set 1, first empty way 0 -> row 2
        c.Fill(13, dirty: false, out _, out _); // set 1, way 1 -> row 3
        c.Fill(6, dirty: false, out _, out _);  // set 2, way 0 -> row 4
        Assert.That(c.Table.Count, Is.EqualTo(8));
        Assert.That(world.Get<CacheLineTag>(c.Table[2]).Line, Is.EqualTo(9));
        Assert.That(world.Get<CacheLineState>(c.Table[2]).IsDirty, Is.True);
        Assert.That(world.Get<CacheLineTag>(c.Table[3]).Line, Is.EqualTo(13));
        Assert.That(world.Get<CacheLineTag>(c.Table[4]).Line, Is.EqualTo(6));
        Assert.That(world.Has<L1dLine>(c.Table[4]), Is.True);
        Assert.That(world.Get<CacheLineTag>(c.Table[0]).IsValid, Is.False);
        // Writing a line's components through the world is seen by the cache: the column is its storage.
        world.Get<CacheLineTag>(c.Table[4]).Line = 10;   // still set 2
        Assert.That(c.Contains(10), Is.True);
        Assert.That(c.Contains(6), Is.False);
    }

    [Test]
    public void DirtyLinesByQueryMatchAHandTrace()
    {
        var world = new World();
        // 16-byte lines. L1i 1 line; L1d and L2: one set of 4 ways; L3: one set of 2 ways. Non-inclusive.
        var h = new CacheHierarchy<LruReplacement>(world,
            new CacheHierarchyConfig(G(16, 1, 16), G(64, 4, 16), G(64, 4, 16), G(32, 2, 16), InclusionPolicy.NonInclusive), default);
        // Lines A..E = 0..4 (addresses 0x00..0x40). By hand (LRU, every level fills on a miss):
        //   store A: L3 {A}   L2 {A}       L1d {A*}
        //   store B: L3 {A,B} L2 {A,B}     L1d {A*,B*}
        //   load C:  L3 {B,C} L2 {A,B,C}   L1d {A*,B*,C}
        //   store D: L3 {C,D} L2 {A,B,C,D} L1d {A*,B*,C,D*}
        //   store E: L3 {D,E}; L2 evicts its LRU A (clean) for E; L1d evicts its LRU A, which is dirty,
        //            so A is written back to L2, which no longer has it: L2 installs A* in place of B.
        //            L2 {A*,C,D,E}  L1d {B*,C,D*,E*}
        // Dirty: L1d 3 (B, D, E), L2 1 (A), L3 0, L1i 0.
        h.Run([Store(0x00), Store(0x10), Load(0x20), Store(0x30), Store(0x40)]);
        Assert.That(DirtyByQuery<L1dLine>(world), Is.EqualTo(3));
        Assert.That(DirtyByQuery<L2Line>(world), Is.EqualTo(1));
        Assert.That(DirtyByQuery<L3Line>(world), Is.EqualTo(0));
        Assert.That(DirtyByQuery<L1iLine>(world), Is.EqualTo(0));
        Assert.That(h.L1d.DirtyLineCount(), Is.EqualTo(3));
        Assert.That(h.L2.DirtyLineCount(), Is.EqualTo(1));
        Assert.That(new[] { 1UL, 3UL, 4UL }.All(h.L1d.IsDirty), Is.True);
        Assert.That(h.L2.IsDirty(0), Is.True);
        Assert.That(ValidByQuery(world, new QueryDescription().WithAll<CacheLineTag, L2Line>()), Is.EqualTo(4));
        Assert.That(ValidByQuery(world, new QueryDescription().WithAll<CacheLineTag, L3Line>()), Is.EqualTo(2));
    }

    [TestCase("lru")]
    [TestCase("fifo")]
    [TestCase("random")]
    public void DirtyLinesByQueryEqualTheCachesOwnCountOnARandomStream(string policy)
    {
        var world = new World();
        var config = new CacheHierarchyConfig(G(1024, 2, 64), G(2048, 4, 64), G(8192, 4, 64), G(32768, 8, 64), InclusionPolicy.Inclusive);
        var h = CacheHierarchyFactory.Create(world, config, policy, seed: 5);
        var rng = new SplitMix64(99);
        var touched = new HashSet<ulong>();
        var batch = new MemoryAccess[20000];
        for (int i = 0; i < batch.Length; i++)
        {
            ulong r = rng.Next();
            ulong address = (r >> 8) % (64 * 1024);   // 1024 lines: many more than L3 holds
            touched.Add(address >> 6);
            batch[i] = new MemoryAccess(address & ~3UL, 0, 4, (r & 3) switch { 0 => AccessKind.Store, 1 => AccessKind.Modify, _ => AccessKind.Load });
        }
        h.Run(batch);

        // Three independent counts of the same thing: the world query, a scan of the cache's column, and
        // per-line lookups (IsDirty goes through the tag search) over every line the stream touched.
        var levels = policy switch
        {
            "lru" => Levels((CacheHierarchy<LruReplacement>)h),
            "fifo" => Levels((CacheHierarchy<FifoReplacement>)h),
            _ => Levels((CacheHierarchy<RandomReplacement>)h),
        };
        int[] byQuery = [DirtyByQuery<L1iLine>(world), DirtyByQuery<L1dLine>(world), DirtyByQuery<L2Line>(world), DirtyByQuery<L3Line>(world)];
        for (int l = 0; l < 4; l++)
        {
            Assert.That(byQuery[l], Is.EqualTo(levels[l].Own), $"level {l}");
            Assert.That(byQuery[l], Is.EqualTo(touched.Count(levels[l].IsDirty)), $"level {l}");
        }
        Assert.That(byQuery[1], Is.GreaterThan(0));
        Assert.That(byQuery[0], Is.EqualTo(0));   // instruction fetches never write
    }

    private static (int Own, Func<ulong, bool> IsDirty)[] Levels<T>(CacheHierarchy<T> h) where T : struct, ISetReplacement =>
        [(h.L1i.DirtyLineCount(), h.L1i.IsDirty), (h.L1d.DirtyLineCount(), h.L1d.IsDirty),
         (h.L2.DirtyLineCount(), h.L2.IsDirty), (h.L3.DirtyLineCount(), h.L3.IsDirty)];

    [Test]
    public void CachegrindLinesAreEntitiesWithoutState()
    {
        var world = new World();
        var sim = new CachegrindSimulator(world, CachegrindConfig.Seed);
        // Cachegrind keeps no dirty bits, so its lines are the ones without CacheLineState.
        var ll = new QueryDescription().WithAll<CacheLineTag, L3Line>().WithNone<CacheLineState>();
        Assert.That(world.CountEntities(ll), Is.EqualTo(3145728 / 64));
        // One instruction straddling two 64-byte lines (0x3e..0x41) and one load: I1 holds 2 lines,
        // D1 1, and LL all 3 (both first-level misses go on to LL).
        sim.Run([new MemoryAccess(0x3e, 0, 4, AccessKind.Instr), new MemoryAccess(0x1000, 0, 8, AccessKind.Load)]);
        Assert.That(ValidByQuery(world, new QueryDescription().WithAll<CacheLineTag, L1iLine>()), Is.EqualTo(2));
        Assert.That(ValidByQuery(world, new QueryDescription().WithAll<CacheLineTag, L1dLine>()), Is.EqualTo(1));
        Assert.That(ValidByQuery(world, ll), Is.EqualTo(3));
        Assert.That(sim.LL.Table.Count, Is.EqualTo(49152));
    }

    [Test]
    public void TheMachinesCacheLinesLiveInTheKernelWorld()
    {
        using var m = ScenarioLoader.Build(DefaultScenario.Load());
        m.Run();
        World world = m.Kernel.World;
        var h = (CacheHierarchy<LruReplacement>)m.Kernel.Caches;
        var cfg = m.Kernel.Caches.Config;
        Assert.That(world.CountEntities(new QueryDescription().WithAll<CacheLineState, L3Line>()), Is.EqualTo(cfg.L3.Sets * cfg.L3.Ways));
        Assert.That(DirtyByQuery<L1dLine>(world), Is.EqualTo(h.L1d.DirtyLineCount()));
        Assert.That(DirtyByQuery<L2Line>(world), Is.EqualTo(h.L2.DirtyLineCount()));
        Assert.That(DirtyByQuery<L3Line>(world), Is.EqualTo(h.L3.DirtyLineCount()));
        Assert.That(h.L1d.Counters.WriteAccesses, Is.GreaterThan(0));
        Assert.That(DirtyByQuery<L1dLine>(world), Is.GreaterThan(0));
    }
}
