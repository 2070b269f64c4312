namespace EcsMem.Ecs;

public sealed partial class World
{
    private Archetype?[] _archetypeByKey = new Archetype?[16];

    /// <summary>
    /// The archetype of a typed Create/CreateMany call. <paramref name="arity"/> is the number of type
    /// arguments: a signature with fewer ids means a type was listed twice (Create&lt;A, A&gt;), which is
    /// refused here rather than in SignatureOf's static initializer, where the exception would surface as a
    /// TypeInitializationException and poison that generic instantiation for the rest of the process.
    /// Duplicate lists never get cached, so the check costs nothing on the fast path.
    /// </summary>
    private Archetype ArchetypeFor(int key, in Signature signature, int arity)
    {
        if (key >= _archetypeByKey.Length)
            Array.Resize(ref _archetypeByKey, Math.Max(key + 1, _archetypeByKey.Length * 2));
        return _archetypeByKey[key] ?? CacheArchetypeFor(key, signature, arity);
    }

    private Archetype CacheArchetypeFor(int key, in Signature signature, int arity)
    {
        if (signature.Count != arity)
            throw new ArgumentException($"the same component type is listed twice in a typed Create (distinct types: {signature})");
        return _archetypeByKey[key] = GetOrCreateArchetype(signature);
    }

    /// <summary>Creates one entity in <paramref name="archetype"/>; returns its chunk and row for the caller to fill.</summary>
    private Entity CreateIn(Archetype archetype, out Chunk chunk, out int row)
    {
        EnsureNotIterating();
        Entity e = NewHandle();
        chunk = archetype.AddRow(e, out row);
        Place(e, chunk, row);
        Size++;
        StructuralOperations++;
        return e;
    }

    /// <summary>Creates an entity with no components.</summary>
    public Entity Create() => CreateIn(EmptyArchetype, out _, out _);

    /// <summary>Creates an entity with the given component types, each at its default value.</summary>
    public Entity Create(params ReadOnlySpan<ComponentType> types)
    {
        var sig = SignatureKeys.Build(types);
        return CreateDefault(GetOrCreateArchetype(sig));
    }

    /// <summary>Creates one entity in <paramref name="archetype"/> with every component zeroed (no signature work).</summary>
    internal Entity CreateDefault(Archetype archetype)
    {
        Entity e = CreateIn(archetype, out Chunk chunk, out int row);
        // A recycled row may still hold the bytes of an entity that lived there before.
        foreach (var t in archetype.Types)
            t.Ops.ZeroRow(chunk.ColumnById(t.Id), row);
        return e;
    }

    public Entity Create<T1>(in T1 c1) where T1 : struct
    {
        Entity e = CreateIn(ArchetypeFor(SignatureOf<T1>.Key, SignatureOf<T1>.Value, 1), out Chunk chunk, out int row);
        chunk.Column<T1>()[row] = c1;
        return e;
    }

    public Entity Create<T1, T2>(in T1 c1, in T2 c2) where T1 : struct where T2 : struct
    {
        Entity e = CreateIn(ArchetypeFor(SignatureOf<T1, T2>.Key, SignatureOf<T1, T2>.Value, 2), out Chunk chunk, out int row);
        chunk.Column<T1>()[row] = c1;
        chunk.Column<T2>()[row] = c2;
        return e;
    }

    public Entity Create<T1, T2, T3>(in T1 c1, in T2 c2, in T3 c3) where T1 : struct where T2 : struct where T3 : struct
    {
        Entity e = CreateIn(ArchetypeFor(SignatureOf<T1, T2, T3>.Key, SignatureOf<T1, T2, T3>.Value, 3), out Chunk chunk, out int row);
        chunk.Column<T1>()[row] = c1;
        chunk.Column<T2>()[row] = c2;
        chunk.Column<T3>()[row] = c3;
        return e;
    }

    public Entity Create<T1, T2, T3, T4>(in T1 c1, in T2 c2, in T3 c3, in T4 c4)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct
    {
        Entity e = CreateIn(ArchetypeFor(SignatureOf<T1, T2, T3, T4>.Key, SignatureOf<T1, T2, T3, T4>.Value, 4), out Chunk chunk, out int row);
        chunk.Column<T1>()[row] = c1;
        chunk.Column<T2>()[row] = c2;
        chunk.Column<T3>()[row] = c3;
        chunk.Column<T4>()[row] = c4;
        return e;
    }

    // ---------------------------------------------------------------- bulk creation

    /// <summary>
    /// Creates <c>created.Length</c> entities in <paramref name="archetype"/>, filling whole chunk ranges at
    /// once; calls <paramref name="fill"/> once per chunk range so the caller can write component values
    /// as spans. Components the callback does not write are zero.
    /// </summary>
    public void CreateMany<TFill>(Archetype archetype, Span<Entity> created, ref TFill fill) where TFill : struct, IChunkRangeFill
    {
        EnsureNotIterating();
        if (archetype.World != this)
            throw new ArgumentException($"archetype {archetype.Signature} belongs to another world", nameof(archetype));
        int done = 0;
        while (done < created.Length)
        {
            Chunk chunk = archetype.ChunkWithRoom();
            int start = chunk.Count;
            int k = Math.Min(created.Length - done, chunk.Capacity - start);
            for (int i = 0; i < k; i++)
            {
                Entity e = NewHandle();
                chunk.Entities[start + i] = e;
                ref EntityRecord rec = ref _records[e.Id];
                rec.Slots = chunk.Slots;
                rec.Row = start + i;
                created[done + i] = e;
            }
            foreach (var col in chunk.Columns)
                Array.Clear(col, start, k);
            archetype.CommitRows(chunk, k);
            // Counted before the callback runs: if it throws, the rows already committed are live
            // entities (zeroed where unwritten) and Size must include them.
            Size += k;
            StructuralOperations += k;
            fill.Fill(chunk, start, k, done);
            done += k;
        }
    }

    /// <summary>Creates <c>created.Length</c> entities with the given types at their default values.</summary>
    public void CreateMany(Span<Entity> created, params ReadOnlySpan<ComponentType> types)
    {
        var none = default(NoFill);
        CreateMany(GetOrCreateArchetype(SignatureKeys.Build(types)), created, ref none);
    }

    /// <summary>Creates <c>created.Length</c> entities, all with the same component values.</summary>
    public void CreateMany<T1>(Span<Entity> created, in T1 c1) where T1 : struct
    {
        var f = new Fill1<T1>(c1);
        CreateMany(ArchetypeFor(SignatureOf<T1>.Key, SignatureOf<T1>.Value, 1), created, ref f);
    }

    /// <summary>Creates <c>created.Length</c> entities, all with the same component values.</summary>
    public void CreateMany<T1, T2>(Span<Entity> created, in T1 c1, in T2 c2) where T1 : struct where T2 : struct
    {
        var f = new Fill2<T1, T2>(c1, c2);
        CreateMany(ArchetypeFor(SignatureOf<T1, T2>.Key, SignatureOf<T1, T2>.Value, 2), created, ref f);
    }

    /// <summary>Creates <c>created.Length</c> entities, all with the same component values.</summary>
    public void CreateMany<T1, T2, T3>(Span<Entity> created, in T1 c1, in T2 c2, in T3 c3)
        where T1 : struct where T2 : struct where T3 : struct
    {
        var f = new Fill3<T1, T2, T3>(c1, c2, c3);
        CreateMany(ArchetypeFor(SignatureOf<T1, T2, T3>.Key, SignatureOf<T1, T2, T3>.Value, 3), created, ref f);
    }

    private struct NoFill : IChunkRangeFill
    {
        public void Fill(Chunk chunk, int start, int count, int firstIndex)
        {
        }
    }

    private readonly struct Fill1<T1>(T1 c1) : IChunkRangeFill where T1 : struct
    {
        public void Fill(Chunk chunk, int start, int count, int firstIndex) =>
            chunk.Column<T1>().AsSpan(start, count).Fill(c1);
    }

    private readonly struct Fill2<T1, T2>(T1 c1, T2 c2) : IChunkRangeFill where T1 : struct where T2 : struct
    {
        public void Fill(Chunk chunk, int start, int count, int firstIndex)
        {
            chunk.Column<T1>().AsSpan(start, count).Fill(c1);
            chunk.Column<T2>().AsSpan(start, count).Fill(c2);
        }
    }

    private readonly struct Fill3<T1, T2, T3>(T1 c1, T2 c2, T3 c3) : IChunkRangeFill where T1 : struct where T2 : struct where T3 : struct
    {
        public void Fill(Chunk chunk, int start, int count, int firstIndex)
        {
            chunk.Column<T1>().AsSpan(start, count).Fill(c1);
            chunk.Column<T2>().AsSpan(start, count).Fill(c2);
            chunk.Column<T3>().AsSpan(start, count).Fill(c3);
        }
    }
}

/// <summary>
/// Writes component values of a freshly created range of rows (<see cref="World.CreateMany{TFill}(Archetype, Span{Entity}, ref TFill)"/>):
/// rows <c>start..start+count-1</c> of <c>chunk</c> correspond to <c>created[firstIndex..]</c>.
/// </summary>
public interface IChunkRangeFill
{
    void Fill(Chunk chunk, int start, int count, int firstIndex);
}
