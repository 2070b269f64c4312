using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace EcsMem.Ecs;

public sealed partial class World
{
    /// <summary>
    /// How many entities ahead the batch forms start loading a record. A random entity's record is a DRAM
    /// miss (one million entities have 16 MB of records), and a single call cannot overlap it with
    /// anything: the rest of the call needs it. Started this far ahead, it has arrived when its turn comes.
    /// </summary>
    internal const int PrefetchDistance = 8;

    /// <summary>
    /// Adds <typeparamref name="T"/> (the same value) to each entity, in order: the same result as calling
    /// <see cref="Add{T}(Entity, in T)"/> for each, including where a bad entity stops it (the ones before it
    /// keep the component), but the entities' records are loaded ahead, so their cache misses overlap.
    /// </summary>
    public void Add<T>(ReadOnlySpan<Entity> entities, in T value) where T : struct
    {
        for (int i = 0; i < entities.Length; i++)
        {
            if (i + PrefetchDistance < entities.Length)
                PrefetchRecord(entities[i + PrefetchDistance]);
            Add(entities[i], in value);
        }
    }

    /// <summary>Removes <typeparamref name="T"/> from each entity, in order; see <see cref="Add{T}(ReadOnlySpan{Entity}, in T)"/>.</summary>
    public void Remove<T>(ReadOnlySpan<Entity> entities) where T : struct
    {
        for (int i = 0; i < entities.Length; i++)
        {
            if (i + PrefetchDistance < entities.Length)
                PrefetchRecord(entities[i + PrefetchDistance]);
            Remove<T>(entities[i]);
        }
    }

    /// <summary>Destroys each entity, in order; see <see cref="Add{T}(ReadOnlySpan{Entity}, in T)"/>.</summary>
    public void Destroy(ReadOnlySpan<Entity> entities)
    {
        for (int i = 0; i < entities.Length; i++)
        {
            if (i + PrefetchDistance < entities.Length)
                PrefetchRecord(entities[i + PrefetchDistance]);
            Destroy(entities[i]);
        }
    }

    /// <summary>
    /// Lookahead for a loop of single calls: starts loading <paramref name="entity"/>'s record into the cache
    /// and returns at once, so that a later <see cref="Add{T}(Entity, in T)"/>, <see cref="Remove{T}(Entity)"/>,
    /// <see cref="Get{T}(Entity)"/> or <see cref="Destroy(Entity)"/> of it finds the record there. A single call
    /// cannot hide that load itself (everything else in it needs the record: on a large world it is a DRAM miss,
    /// most of an Add's time), but a caller that knows which entities come next can start it early, typically
    /// eight entities ahead:
    /// <code>
    /// for (int i = 0; i &lt; es.Length; i++)
    /// {
    ///     if (i + 8 &lt; es.Length) world.Prefetch(es[i + 8]);
    ///     world.Add(es[i], new Velocity(v[i]));   // a value per entity: no span form fits
    /// }
    /// </code>
    /// A hint only, like the span forms' own lookahead: any handle is accepted (a stale, null or foreign one is
    /// ignored or warms a harmless line), nothing is checked or changed, and results are the same with or without it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(Entity entity) => PrefetchRecord(entity);

    /// <summary>
    /// Starts loading <paramref name="entity"/>'s record into the cache without waiting for it. Any handle
    /// is accepted: one out of range is ignored, and a prefetch never faults or changes anything.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal unsafe void PrefetchRecord(Entity entity)
    {
        EntityRecord[] records = _records;
        // The array is not pinned, which is harmless here: a prefetch of a stale address only warms a line.
        if (Sse.IsSupported && (uint)entity.Id < (uint)records.Length)
            Sse.Prefetch0(Unsafe.AsPointer(ref records[entity.Id]));
    }
}
