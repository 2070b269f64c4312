namespace EcsMem.Ecs;

public sealed partial class World
{
    /// <summary>
    /// Creates a <see cref="Table"/> of <paramref name="count"/> entities with the given component types
    /// (zeroed). The table gets its own archetype (same component set as ordinary entities may have, but a
    /// separate, pinned archetype), so queries over those components see table rows too.
    /// </summary>
    public Table CreateTable(int count, params ReadOnlySpan<ComponentType> types)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), count, "a table needs at least one row");
        EnsureNotIterating();
        var signature = SignatureKeys.Build(types);
        var archetype = new Archetype(this, _archetypes.Count, signature, fixedCapacity: count);
        _archetypes.Add(archetype);
        var none = new TableNoFill();
        Span<Entity> created = count <= 1024 ? stackalloc Entity[count] : new Entity[count];
        CreateMany(archetype, created, ref none);
        return new Table(this, archetype, archetype.GetChunk(0));
    }

    /// <summary>Destroys every entity of a table at once (their handles become stale).</summary>
    public void DestroyTable(Table table)
    {
        EnsureNotIterating();
        DestroyTableRows(table.Archetype);
    }

    private void DestroyTableRows(Archetype archetype)
    {
        if (archetype.ChunkCount == 0) return;
        Chunk chunk = archetype.GetChunk(0);
        for (int row = chunk.Count - 1; row >= 0; row--)
        {
            Entity e = chunk.Entities[row];
            ref EntityRecord rec = ref _records[e.Id];
            // Rows are removed from the end, so nothing moves: the table's order stays intact to the last.
            archetype.RemoveRow(chunk, row);
            Release(ref rec, e.Id);
        }
    }

    private struct TableNoFill : IChunkRangeFill
    {
        public void Fill(Chunk chunk, int start, int count, int firstIndex)
        {
        }
    }
}
