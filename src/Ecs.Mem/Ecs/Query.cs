namespace EcsMem.Ecs;

/// <summary>
/// A cached query: the archetypes matching one <see cref="QueryDescription"/>, in archetype creation
/// order. New archetypes are checked once, when the query is next used, so a query costs nothing per
/// call beyond walking its (short) archetype list.
/// </summary>
public sealed class Query
{
    private readonly World _world;
    private Archetype[] _matches = new Archetype[4];
    private int _matchCount;
    private int _seenArchetypes;

    internal Query(World world, in QueryDescription description)
    {
        _world = world;
        Description = description;
    }

    public QueryDescription Description { get; }

    /// <summary>Matching archetypes (refreshed against archetypes created since the last call).</summary>
    internal ReadOnlySpan<Archetype> Matches
    {
        get
        {
            var all = _world.Archetypes;
            while (_seenArchetypes < all.Count)
            {
                Archetype a = all[_seenArchetypes++];
                if (Description.Matches(a.Signature))
                {
                    if (_matchCount == _matches.Length)
                        Array.Resize(ref _matches, _matchCount * 2);
                    _matches[_matchCount++] = a;
                }
            }
            return new ReadOnlySpan<Archetype>(_matches, 0, _matchCount);
        }
    }

    /// <summary>Number of live entities the query visits.</summary>
    public int Count()
    {
        int n = 0;
        foreach (var a in Matches) n += a.EntityCount;
        return n;
    }

    /// <summary>Walks the non-empty chunks: <c>foreach (Chunk c in query) { var s = c.GetSpan&lt;T&gt;(); … }</c>.</summary>
    public ChunkEnumerator GetEnumerator() => new(Matches);

    /// <summary>Allocation-free enumerator over a query's chunks.</summary>
    public ref struct ChunkEnumerator
    {
        private readonly ReadOnlySpan<Archetype> _archetypes;
        private int _archetype;
        private int _chunk;

        internal ChunkEnumerator(ReadOnlySpan<Archetype> archetypes)
        {
            _archetypes = archetypes;
            _archetype = 0;
            _chunk = -1;
        }

        public bool MoveNext()
        {
            while (_archetype < _archetypes.Length)
            {
                if (++_chunk < _archetypes[_archetype].ChunkCount)
                    return true;
                _archetype++;
                _chunk = -1;
            }
            return false;
        }

        public readonly Chunk Current => _archetypes[_archetype].RawChunks[_chunk];
    }
}
