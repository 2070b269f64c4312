using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EcsMem.Ecs;

/// <summary>
/// The ECS world: entities, their archetypes and chunks. Follows Arch's conventions (Create, Destroy,
/// Add/Remove, ref Get, Set, Has, TryGet, IsAlive, queries with struct callbacks) and adds what a simulator
/// needs: every handle is version-checked, structural changes are refused while a query runs (use a
/// <see cref="CommandBuffer"/>), and iteration order is deterministic (archetype creation order, then
/// chunk and row order).
/// </summary>
public sealed partial class World
{
    private struct EntityRecord
    {
        public object?[]? Slots; // the chunk's Slots ([0] the chunk, [id + 1] columns); null when not live
        public int Row;
        public int Version;  // version of the live entity, or the version the id will get when recycled

        /// <summary>The chunk holding the entity (structural changes); null when not live.</summary>
        public readonly Chunk? Chunk => Slots is null ? null : Unsafe.As<Chunk>(Slots[0]);
    }

    private EntityRecord[] _records = new EntityRecord[256];
    private int _nextId;
    private int[] _freeIds = new int[64];
    private int _freeCount;
    private readonly Dictionary<Signature, Archetype> _archetypeBySignature = new();
    private readonly List<Archetype> _archetypes = new();
    private int _iterating;

    /// <summary>
    /// Count of row-level structural operations (entity created, destroyed or moved between archetypes).
    /// Internal diagnostics: lets tests check that a CommandBuffer playback does one operation per command.
    /// </summary>
    internal long StructuralOperations;

    public World()
    {
        EmptyArchetype = GetOrCreateArchetype(Signature.Empty);
    }

    /// <summary>Number of live entities.</summary>
    public int Size { get; private set; }

    /// <summary>Archetypes in creation order.</summary>
    public IReadOnlyList<Archetype> Archetypes => _archetypes;

    internal Archetype EmptyArchetype { get; }

    /// <summary>True while a query of this world is iterating (structural changes are refused then).</summary>
    public bool IsIterating => _iterating > 0;

    /// <summary>The archetype with exactly the components in <paramref name="signature"/>, created if new.</summary>
    public Archetype GetOrCreateArchetype(Signature signature)
    {
        if (_archetypeBySignature.TryGetValue(signature, out var a))
            return a;
        a = new Archetype(this, _archetypes.Count, signature);
        _archetypeBySignature.Add(signature, a);
        _archetypes.Add(a);
        return a;
    }

    /// <summary>True when <paramref name="entity"/> was created by this world and not destroyed since.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsAlive(Entity entity)
    {
        // The same two tests as Live: only a placed, current record is alive.
        EntityRecord[] records = _records;
        return (uint)entity.Id < (uint)records.Length && records[entity.Id].Version == entity.Version
            && records[entity.Id].Slots is not null;
    }

    /// <summary>Record of a live entity; throws <see cref="StaleEntityException"/> for any other handle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref EntityRecord Live(Entity entity)
    {
        // Two tests cover every bad handle: an id the array cannot hold, and a record that is not this
        // handle's live entity. A record without a chunk is never live (ids never handed out, destroyed
        // entities, an id reserved but not yet placed), so the chunk test also rejects the null entity and
        // ids at or past _nextId; the chunk is loaded next anyway. Every instruction counts here: a random
        // Get is bound by how many of them the core keeps in flight.
        EntityRecord[] records = _records;
        if ((uint)entity.Id >= (uint)records.Length)
            ThrowStale(entity, 0);
        ref EntityRecord rec = ref records[entity.Id];
        if (rec.Version != entity.Version || rec.Slots is null)
            ThrowStale(entity, rec.Version);
        return ref rec;
    }

    // Not [NoInlining]: the JIT looks into a throw-only helper when it considers inlining it, learns that the
    // call never returns, and moves it out of the caller's hot path. Marked NoInlining, the calls stayed in
    // line inside every Get loop, with spills around them: 40 instructions per Get instead of 24, which
    // halved how many random Gets the core overlaps (62 vs 35 ns on 1M shuffled entities).
    [DoesNotReturn]
    private static void ThrowStale(Entity entity, int currentVersion) => throw new StaleEntityException(entity, currentVersion);

    [DoesNotReturn]
    private static void ThrowMissing(Entity entity, Type t) =>
        throw new ComponentMismatchException($"{entity} has no component {t.Name}");

    // The checks stay inline and tiny; their messages are built in throw helpers the JIT knows never return.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EnsureMovable(Chunk chunk, Entity entity)
    {
        if (chunk.Archetype.IsTable)
            ThrowInTable(chunk.Archetype, entity);
    }

    [DoesNotReturn]
    private static void ThrowInTable(Archetype table, Entity entity) =>
        throw new InvalidOperationException(
            $"{entity} lives in a fixed table ({table.Signature}); its rows never move, so it cannot be destroyed or gain/lose components alone");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureNotIterating()
    {
        if (_iterating > 0)
            ThrowIterating();
    }

    [DoesNotReturn]
    private static void ThrowIterating() =>
        throw new InvalidOperationException(
            "structural change (create, destroy, add, remove) while a query is iterating: record it in a CommandBuffer and play it back after the query");

    /// <summary>The archetype of a live entity.</summary>
    public Archetype GetArchetype(Entity entity) => Live(entity).Chunk!.Archetype;

    /// <summary>Component types of a live entity, in id order.</summary>
    public ComponentType[] GetComponentTypes(Entity entity) => Live(entity).Chunk!.Archetype.Types;

    // ---------------------------------------------------------------- component access

    /// <summary>Reference to the <typeparamref name="T"/> of a live entity (writes go to the world).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T Get<T>(Entity entity) where T : struct
    {
        ref EntityRecord rec = ref Live(entity);
        object?[] slots = rec.Slots!;
        int slot = Component<T>.Id + 1;
        if ((uint)slot >= (uint)slots.Length || slots[slot] is not { } col)
            ThrowMissing(entity, typeof(T));
        else
            return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Unsafe.As<T[]>(col)), rec.Row);
        return ref Unsafe.NullRef<T>();
    }

    /// <summary>Overwrites the <typeparamref name="T"/> of a live entity that has one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set<T>(Entity entity, in T value) where T : struct => Get<T>(entity) = value;

    /// <summary>True when the live entity has <typeparamref name="T"/>.</summary>
    public bool Has<T>(Entity entity) where T : struct
    {
        object?[] slots = Live(entity).Slots!;
        int slot = Component<T>.Id + 1;
        return (uint)slot < (uint)slots.Length && slots[slot] is not null;
    }

    /// <summary>
    /// Reads <typeparamref name="T"/> if <paramref name="entity"/> is alive and has it. Unlike Get, a stale
    /// handle is not an error here: this is the "maybe" form.
    /// </summary>
    public bool TryGet<T>(Entity entity, out T value) where T : struct
    {
        if (IsAlive(entity))
        {
            ref EntityRecord rec = ref _records[entity.Id];
            object?[] slots = rec.Slots!;
            int slot = Component<T>.Id + 1;
            if ((uint)slot < (uint)slots.Length && slots[slot] is { } col)
            {
                value = Unsafe.As<T[]>(col)[rec.Row];
                return true;
            }
        }
        value = default;
        return false;
    }

    // ---------------------------------------------------------------- entity ids

    private Entity NewHandle()
    {
        int id;
        if (_freeCount > 0)
        {
            id = _freeIds[--_freeCount];
        }
        else
        {
            id = _nextId++;
            if (id == _records.Length)
                Array.Resize(ref _records, _records.Length * 2);
            _records[id].Version = 1;
        }
        return new Entity(id, _records[id].Version);
    }

    private void Place(Entity e, Chunk chunk, int row)
    {
        ref EntityRecord rec = ref _records[e.Id];
        rec.Slots = chunk.Slots;
        rec.Row = row;
    }

    /// <summary>Destroys a live entity; its handle (and every copy) becomes stale.</summary>
    public void Destroy(Entity entity)
    {
        EnsureNotIterating();
        ref EntityRecord rec = ref Live(entity);
        Chunk chunk = rec.Chunk!;
        EnsureMovable(chunk, entity);
        Entity moved = chunk.Archetype.RemoveRow(chunk, rec.Row);
        if (!moved.IsNull)
            Place(moved, chunk, rec.Row);
        Release(ref rec, entity.Id);
    }

    /// <summary>Marks an id free: bumps its version so every handle to it goes stale, and recycles the id.</summary>
    private void Release(ref EntityRecord rec, int id)
    {
        rec.Slots = null;
        // Version 0 is reserved for the null entity, so skip it when the counter wraps.
        rec.Version = rec.Version == int.MaxValue ? 1 : rec.Version + 1;
        if (_freeCount == _freeIds.Length)
            Array.Resize(ref _freeIds, _freeIds.Length * 2);
        _freeIds[_freeCount++] = id;
        Size--;
        StructuralOperations++;
    }

    /// <summary>Destroys every live entity (handles become stale; chunks are kept for reuse).</summary>
    public void DestroyAll()
    {
        EnsureNotIterating();
        foreach (var arch in _archetypes)
        {
            if (arch.IsTable)
            {
                DestroyTableRows(arch);
                continue;
            }
            while (arch.ChunkCount > 0)
            {
                Chunk c = arch.GetChunk(arch.ChunkCount - 1);
                Destroy(c.Entities[c.Count - 1]);
            }
        }
    }

    // ---------------------------------------------------------------- add / remove

    /// <summary>Adds <typeparamref name="T"/> to a live entity that lacks it, moving it to the next archetype.</summary>
    public void Add<T>(Entity entity, in T value) where T : struct
    {
        EnsureNotIterating();
        ref EntityRecord rec = ref Live(entity);
        int id = Component<T>.Id;
        Archetype src = rec.Chunk!.Archetype;
        Chunk to = Move(entity, ref rec, src.AddEdge(id) ?? CreateAddEdge(src, entity, id, typeof(T)));
        Unsafe.As<T[]>(to.ColumnById(id))[rec.Row] = value;
    }

    /// <summary>Removes <typeparamref name="T"/> from a live entity that has it.</summary>
    public void Remove<T>(Entity entity) where T : struct
    {
        EnsureNotIterating();
        ref EntityRecord rec = ref Live(entity);
        int id = Component<T>.Id;
        Archetype src = rec.Chunk!.Archetype;
        Move(entity, ref rec, src.RemoveEdge(id) ?? CreateRemoveEdge(src, entity, id, typeof(T)));
    }

    /// <summary>Adds a component by its run-time type, with its default value.</summary>
    public void Add(Entity entity, ComponentType type)
    {
        EnsureNotIterating();
        ref EntityRecord rec = ref Live(entity);
        Archetype src = rec.Chunk!.Archetype;
        Chunk to = Move(entity, ref rec, src.AddEdge(type.Id) ?? CreateAddEdge(src, entity, type.Id, type.Type));
        type.Ops.ZeroRow(to.ColumnById(type.Id), rec.Row);
    }

    // The slow path of Add/Remove, once per archetype and component: checks what the fast path leaves out
    // (a table's rows never move; the component must be absent, or present) and caches the edge both ways.
    private Transition CreateAddEdge(Archetype src, Entity entity, int id, Type t) => CreateEdge(src, entity, id, t, adding: true);

    private Transition CreateRemoveEdge(Archetype src, Entity entity, int id, Type t) => CreateEdge(src, entity, id, t, adding: false);

    private Transition CreateEdge(Archetype src, Entity entity, int id, Type t, bool adding)
    {
        if (src.IsTable)
            ThrowInTable(src, entity);
        if (src.Signature.Contains(id) == adding)
        {
            throw new ComponentMismatchException(adding
                ? $"an entity of {src.Signature} already has component {t.Name}"
                : $"an entity of {src.Signature} has no component {t.Name} to remove");
        }
        Archetype dst = GetOrCreateArchetype(adding ? src.Signature.With(id) : src.Signature.Without(id));
        var edge = new Transition(src, dst);
        var back = new Transition(dst, src);
        if (adding)
        {
            src.SetAddEdge(id, edge);
            dst.SetRemoveEdge(id, back);
        }
        else
        {
            src.SetRemoveEdge(id, edge);
            dst.SetAddEdge(id, back);
        }
        return edge;
    }

    /// <summary>Moves a row along <paramref name="edge"/>, copying the components both archetypes share.</summary>
    private Chunk Move(Entity entity, ref EntityRecord rec, Transition edge)
    {
        // The edge holds the copy plan, worked out once: no merge of component lists and, for columns without
        // references, no virtual call per column.
        Chunk from = Unsafe.As<Chunk>(rec.Slots![0]!);
        int fromRow = rec.Row;
        Chunk to = edge.Destination.AddRow(entity, out int toRow);
        RowCopy.Row(from.Columns, fromRow, to.Columns, toRow, edge.Plain, edge.Managed);
        Archetype source = from.Archetype;
        Entity moved = source.RemoveRow(from, fromRow);
        if (!moved.IsNull)
            Place(moved, from, fromRow);
        rec.Slots = to.Slots;
        rec.Row = toRow;
        StructuralOperations++;
        return to;
    }
}
