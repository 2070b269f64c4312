using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EcsMem.Ecs;

/// <summary>
/// A fixed-capacity block of rows of one archetype, stored as structure-of-arrays: one array per component
/// plus one of entity handles. Rows 0..Count-1 are live; removal swaps the archetype's last row into the
/// hole, so chunks stay dense and iteration is a straight walk over spans.
/// </summary>
public sealed class Chunk
{
    internal Chunk(Archetype archetype, int index, int capacity, ComponentType[] types, int maxId)
    {
        Archetype = archetype;
        Index = index;
        Capacity = capacity;
        // Slot 0 is this chunk, slot id + 1 the column of component id. An entity's record points at this
        // array rather than at the chunk, so Get<T> goes record -> slots -> column -> row with no hop
        // through the chunk object (one dependent load less on a random access); structural changes find
        // the chunk in slot 0.
        Slots = new object?[maxId + 2];
        Slots[0] = this;
        Columns = new Array[types.Length];
        Entities = new Entity[capacity];
        for (int i = 0; i < types.Length; i++)
        {
            Columns[i] = types[i].Ops.NewColumn(capacity);
            Slots[types[i].Id + 1] = Columns[i];
        }
    }

    public Archetype Archetype { get; }

    /// <summary>Position of this chunk in its archetype's chunk list.</summary>
    public int Index { get; }

    public int Capacity { get; }

    /// <summary>Number of live rows.</summary>
    public int Count { get; internal set; }

    /// <summary>[0] = this chunk; [id + 1] = the column of component id, or null.</summary>
    internal readonly object?[] Slots;

    /// <summary>The column of component <paramref name="id"/>, which this chunk must have.</summary>
    internal Array ColumnById(int id) => Unsafe.As<Array>(Slots[id + 1]!);
    internal readonly Array[] Columns;
    internal readonly Entity[] Entities;

    /// <summary>The live entity handles of this chunk, row by row.</summary>
    public ReadOnlySpan<Entity> EntitySpan => new(Entities, 0, Count);

    /// <summary>True when the chunk's archetype has component <typeparamref name="T"/>.</summary>
    public bool Has<T>() where T : struct
    {
        int slot = Component<T>.Id + 1;
        return (uint)slot < (uint)Slots.Length && Slots[slot] is not null;
    }

    /// <summary>The live rows of column <typeparamref name="T"/>; writes go straight to the world's storage.</summary>
    public Span<T> GetSpan<T>() where T : struct => new(Column<T>(), 0, Count);

    /// <summary>The whole column array (Capacity long). Internal: systems use <see cref="GetSpan{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal T[] Column<T>() where T : struct
    {
        int slot = Component<T>.Id + 1;
        var slots = Slots;
        if ((uint)slot >= (uint)slots.Length || slots[slot] is not { } col)
            throw new ComponentMismatchException($"archetype {Archetype.Signature} has no component {typeof(T).Name}");
        return Unsafe.As<T[]>(col);
    }

    /// <summary>Reference to the first element of a column, for bounds-check-free walks over Count rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref T FirstRef<T>() where T : struct => ref MemoryMarshal.GetArrayDataReference(Column<T>());
}
