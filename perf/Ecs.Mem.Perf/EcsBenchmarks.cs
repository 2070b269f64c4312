using BenchmarkDotNet.Attributes;
using EcsMem.Ecs;
using static EcsMem.Perf.EcsBenchShape;

namespace EcsMem.Perf;

/// <summary>
/// The ECS core on one million entities with three components of 16, 8 and 4 bytes. Every benchmark sets
/// OperationsPerInvoke to the number of entities (or changes) it touches, so the Mean column is
/// ns per entity (per change for add/remove). Run:
/// <c>dotnet run -c Release --project perf/Ecs.Mem.Perf -- --filter '*EcsBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class EcsBenchmarks
{
    public const int Entities = EcsBenchShape.Entities;
    public const int Changes = EcsBenchShape.Changes;

    private World _world = null!;        // populated once: queries, gets, add/remove
    private Entity[] _shuffled = null!;  // the same handles in a seeded random order
    private Entity[] _changed = null!;   // the first Changes entries of _shuffled
    private Entity[] _buffer = null!;
    private World _scratch = null!;      // rebuilt per iteration for create / destroy
    private CommandBuffer _commands = null!;

    [GlobalSetup]
    public void Setup()
    {
        _world = new World();
        _buffer = new Entity[Entities];
        _world.CreateMany(_buffer, new C16(1, 2), new C8(3), new C4(4));
        _shuffled = (Entity[])_buffer.Clone();
        SeededShuffle.Shuffle(_shuffled, EcsBenchShape.ShuffleSeed);
        _changed = _shuffled.AsSpan(0, Changes).ToArray();
        _commands = new CommandBuffer(_world);
        // Warm the add/remove transitions and the command buffer's storage.
        AddRemove();
        AddRemovePrefetched();
        AddRemoveBatch();
        CommandBufferAddRemove();
    }

    [IterationSetup(Targets = [nameof(BulkCreate), nameof(SingleCreate)])]
    public void FreshWorld() => _scratch = new World();

    [IterationSetup(Target = nameof(DestroyAll))]
    public void FullWorld()
    {
        _scratch = new World();
        _scratch.CreateMany(new Entity[Entities], new C16(1, 2), new C8(3), new C4(4));
    }

    [Benchmark(OperationsPerInvoke = Entities)]
    public void BulkCreate() => _scratch.CreateMany(_buffer, new C16(1, 2), new C8(3), new C4(4));

    [Benchmark(OperationsPerInvoke = Entities)]
    public void SingleCreate()
    {
        World w = _scratch;
        for (int i = 0; i < Entities; i++)
            w.Create(new C16(i, 2), new C8(3), new C4(4));
    }

    private struct ReadWrite : IForEach<C16, C8>
    {
        public void Update(ref C16 p, ref C8 v) => v.V = (long)(p.X + p.Y);
    }

    [Benchmark(OperationsPerInvoke = Entities)]
    public void QueryReadOneWriteOne()
    {
        var it = new ReadWrite();
        _world.InlineQuery<ReadWrite, C16, C8>(new QueryDescription().WithAll<C16, C8>(), ref it);
    }

    [Benchmark(OperationsPerInvoke = Entities)]
    public double ShuffledGet()
    {
        World w = _world;
        double sum = 0;
        foreach (Entity e in _shuffled)
            sum += w.Get<C16>(e).X; // version-checked
        return sum;
    }

    /// <summary>Adds then removes a component on 100k random entities: 200k changes.</summary>
    [Benchmark(OperationsPerInvoke = 2 * Changes)]
    public void AddRemove()
    {
        World w = _world;
        foreach (Entity e in _changed)
            w.Add(e, new Extra(1));
        foreach (Entity e in _changed)
            w.Remove<Extra>(e);
    }

    /// <summary>
    /// The same loop of single calls, passing lookahead: <see cref="World.Prefetch"/> of the entity eight ahead
    /// before each call (the form for loops the span forms do not fit, e.g. a different value per entity).
    /// </summary>
    [Benchmark(OperationsPerInvoke = 2 * Changes)]
    public void AddRemovePrefetched()
    {
        World w = _world;
        Entity[] es = _changed;
        for (int i = 0; i < es.Length; i++)
        {
            if (i + 8 < es.Length) w.Prefetch(es[i + 8]);
            w.Add(es[i], new Extra(1));
        }
        for (int i = 0; i < es.Length; i++)
        {
            if (i + 8 < es.Length) w.Prefetch(es[i + 8]);
            w.Remove<Extra>(es[i]);
        }
    }

    /// <summary>
    /// The same 200k changes through the span forms, which load each entity's record a few entities ahead.
    /// A loop of single calls cannot: each call needs its record before it can do anything else.
    /// </summary>
    [Benchmark(OperationsPerInvoke = 2 * Changes)]
    public void AddRemoveBatch()
    {
        World w = _world;
        w.Add(_changed, new Extra(1));
        w.Remove<Extra>(_changed);
    }

    /// <summary>The same 200k changes recorded in a reused CommandBuffer and played back.</summary>
    [Benchmark(OperationsPerInvoke = 2 * Changes)]
    public void CommandBufferAddRemove()
    {
        CommandBuffer cb = _commands;
        foreach (Entity e in _changed)
            cb.Add(e, new Extra(1));
        cb.Playback();
        foreach (Entity e in _changed)
            cb.Remove<Extra>(e);
        cb.Playback();
    }

    [Benchmark(OperationsPerInvoke = Entities)]
    public void DestroyAll() => _scratch.DestroyAll();
}
