using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EcsMem.Ecs;

/// <summary>
/// All entities with exactly one set of components. Rows live in chunks of a fixed capacity chosen so a
/// chunk's data is about <see cref="ChunkBytes"/>; chunks are kept when they empty, so an archetype that
/// shrinks and grows again does not allocate.
/// </summary>
public sealed class Archetype
{
    /// <summary>Target bytes of component data per chunk (rows × row size), like Arch's 16 KiB chunks.</summary>
    public const int ChunkBytes = 16 * 1024;

    private Chunk[] _chunks = new Chunk[4];
    private Chunk? _tail; // _chunks[ChunkCount - 1], or null: the chunk rows are appended to and taken from
    private int _allocatedChunks;
    private Transition?[] _addEdges = [];
    private Transition?[] _removeEdges = [];

    internal Archetype(World world, int index, Signature signature, int fixedCapacity = 0)
    {
        IsTable = fixedCapacity > 0;
        World = world;
        Index = index;
        Signature = signature;
        ComponentIds = signature.ToIds();
        Types = ComponentIds.Select(ComponentRegistry.Get).ToArray();
        MaxId = ComponentIds.Length == 0 ? -1 : ComponentIds[^1];
        int rowBytes = 8 + Types.Sum(t => t.Size);
        (SwapPlain, SwapManaged) = RowCopy.Plan(Types.Select((t, i) => (i, i, t)));
        ChunkCapacity = IsTable ? fixedCapacity : Math.Clamp(ChunkBytes / rowBytes, 16, ChunkBytes);
    }

    /// <summary>
    /// True for the archetype of a <see cref="Table"/>: one chunk whose rows never move, so a row number is a
    /// stable index (a pfn, a cache line, a TLB slot). Its entities cannot be destroyed or change components
    /// one by one.
    /// </summary>
    public bool IsTable { get; }

    public World World { get; }

    /// <summary>Creation order of this archetype in its world (queries visit archetypes in this order).</summary>
    public int Index { get; }

    public Signature Signature { get; }

    /// <summary>Component ids in increasing order; column i of every chunk holds <c>Types[i]</c>.</summary>
    public int[] ComponentIds { get; }

    public ComponentType[] Types { get; }

    /// <summary>How the swap that fills a removed row copies the last row, column by column.</summary>
    internal ColumnCopy[] SwapPlain { get; }

    /// <inheritdoc cref="SwapPlain"/>
    internal ManagedColumnCopy[] SwapManaged { get; }

    internal int MaxId { get; }

    public int ChunkCapacity { get; }

    /// <summary>Chunks holding at least one row (all full but the last).</summary>
    public int ChunkCount { get; private set; }

    /// <summary>Live entities in this archetype.</summary>
    public int EntityCount { get; private set; }

    public Chunk GetChunk(int index) => (uint)index < (uint)ChunkCount ? _chunks[index] : throw new ArgumentOutOfRangeException(nameof(index));

    internal Chunk[] RawChunks => _chunks;

    /// <summary>Appends a row for <paramref name="entity"/> and returns its chunk; <paramref name="row"/> receives the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Chunk AddRow(Entity entity, out int row)
    {
        Chunk? chunk = _tail;
        if (chunk is null || chunk.Count == chunk.Capacity)
            chunk = NextChunk();
        row = chunk.Count++;
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunk.Entities), row) = entity;
        EntityCount++;
        return chunk;
    }

    /// <summary>The last chunk if it has room, else the next (reused or new) chunk.</summary>
    internal Chunk ChunkWithRoom()
    {
        Chunk? chunk = _tail;
        return chunk is not null && chunk.Count < chunk.Capacity ? chunk : NextChunk();
    }

    /// <summary>Opens the chunk after the last one (reused if an earlier shrink left it, else new).</summary>
    private Chunk NextChunk()
    {
        if (ChunkCount == _allocatedChunks)
        {
            if (_allocatedChunks == _chunks.Length)
                Array.Resize(ref _chunks, _chunks.Length * 2);
            _chunks[_allocatedChunks] = new Chunk(this, _allocatedChunks, ChunkCapacity, Types, MaxId);
            _allocatedChunks++;
        }
        return _tail = _chunks[ChunkCount++];
    }

    /// <summary>Reserves <paramref name="count"/> more rows in the current chunk (caller fills them).</summary>
    internal void CommitRows(Chunk chunk, int count)
    {
        chunk.Count += count;
        EntityCount += count;
    }

    /// <summary>
    /// Removes a row by moving the archetype's last row into it. Returns the entity that moved
    /// (its location is now <paramref name="chunk"/>/<paramref name="row"/>), or <see cref="Entity.Null"/>
    /// when the removed row was the last one.
    /// </summary>
    internal Entity RemoveRow(Chunk chunk, int row)
    {
        // No bounds checks: rows below Count and the archetype's own column layout are this class's invariants.
        Chunk last = _tail!;
        int lastRow = last.Count - 1;
        ref Entity lastEntity = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(last.Entities), lastRow);
        Entity moved = Entity.Null;
        if (!ReferenceEquals(last, chunk) || lastRow != row)
        {
            moved = lastEntity;
            Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunk.Entities), row) = moved;
            RowCopy.Row(last.Columns, lastRow, chunk.Columns, row, SwapPlain, SwapManaged);
        }
        // Only columns holding references need clearing, so the GC can collect what the vacated row held.
        foreach (ref readonly ManagedColumnCopy c in SwapManaged.AsSpan())
            c.Ops.ClearRow(last.Columns[c.From], lastRow);
        lastEntity = Entity.Null;
        if (--last.Count == 0)
            _tail = --ChunkCount > 0 ? _chunks[ChunkCount - 1] : null;
        EntityCount--;
        return moved;
    }

    // A table's archetype never gets an edge: its rows cannot move, so the only way to one is the slow path,
    // which refuses it. That keeps the table check off the add/remove fast path.
    internal Transition? AddEdge(int componentId) =>
        componentId < _addEdges.Length ? _addEdges[componentId] : null;

    internal Transition? RemoveEdge(int componentId) =>
        componentId < _removeEdges.Length ? _removeEdges[componentId] : null;

    internal void SetAddEdge(int componentId, Transition to) => SetEdge(ref _addEdges, componentId, to);

    internal void SetRemoveEdge(int componentId, Transition to) => SetEdge(ref _removeEdges, componentId, to);

    private static void SetEdge(ref Transition?[] edges, int id, Transition to)
    {
        if (id >= edges.Length)
            Array.Resize(ref edges, Math.Max(id + 1, edges.Length * 2));
        edges[id] = to;
    }

    public override string ToString() => $"Archetype{Signature} ({EntityCount} entities in {ChunkCount} chunks)";
}
