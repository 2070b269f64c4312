using System.Runtime.CompilerServices;

namespace EcsMem.Ecs;

/// <summary>
/// A fixed-size block of entities that share one archetype chunk and never move: row i is always the same
/// entity, so each component column is one contiguous array indexed by a stable number. Physical frames
/// (row = pfn), cache lines (row = set × ways + way) and TLB slots are tables: they are real entities, visible
/// to queries, yet a system reaches one by index with no lookup at all.
/// </summary>
public sealed class Table
{
    internal Table(World world, Archetype archetype, Chunk chunk)
    {
        World = world;
        Archetype = archetype;
        Chunk = chunk;
    }

    public World World { get; }
    public Archetype Archetype { get; }
    public Chunk Chunk { get; }

    /// <summary>Number of rows (entities).</summary>
    public int Count => Chunk.Count;

    /// <summary>True until <see cref="World.DestroyTable"/> destroys the table's entities.</summary>
    public bool IsAlive => Chunk.Count > 0;

    /// <summary>The entity in row <paramref name="row"/>.</summary>
    public Entity this[int row] => Chunk.Entities[row];

    /// <summary>Column <typeparamref name="T"/>: element i belongs to the entity in row i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> Column<T>() where T : struct => Chunk.GetSpan<T>();

    /// <summary>The raw column array (Count long) for the hottest loops; same storage as <see cref="Column{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T[] ColumnArray<T>() where T : struct => Chunk.Column<T>();
}
