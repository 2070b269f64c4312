using System.Runtime.CompilerServices;

namespace EcsMem.Ecs;

public sealed partial class World
{
    private readonly Dictionary<QueryDescription, Query> _queries = new();

    /// <summary>The cached query for <paramref name="description"/> (created on first use).</summary>
    public Query GetQuery(in QueryDescription description)
    {
        if (!_queries.TryGetValue(description, out var q))
        {
            q = new Query(this, description);
            _queries.Add(description, q);
        }
        return q;
    }

    /// <summary>Number of live entities matching <paramref name="description"/>.</summary>
    public int CountEntities(in QueryDescription description) => GetQuery(description).Count();

    /// <summary>
    /// Marks the world as iterating for the duration of a using block, so structural changes made by
    /// mistake inside a hand-written chunk loop throw instead of corrupting the walk.
    /// </summary>
    public IterationScope BeginIteration()
    {
        _iterating++;
        return new IterationScope(this);
    }

    /// <summary>Ends an iteration started by <see cref="BeginIteration"/>.</summary>
    public readonly struct IterationScope(World world) : IDisposable
    {
        public void Dispose() => world._iterating--;
    }

    /// <summary>Calls <paramref name="job"/> once per non-empty matching chunk.</summary>
    public void InlineChunkQuery<TJob>(in QueryDescription description, ref TJob job) where TJob : struct, IChunkForEach
    {
        var matches = GetQuery(description).Matches;
        _iterating++;
        try
        {
            foreach (Archetype a in matches)
            {
                var chunks = a.RawChunks;
                for (int c = 0, n = a.ChunkCount; c < n; c++)
                    job.Execute(chunks[c]);
            }
        }
        finally
        {
            _iterating--;
        }
    }

    /// <summary>Calls <c>iter.Update(ref c1)</c> for every matching entity.</summary>
    public void InlineQuery<TIter, T1>(in QueryDescription description, ref TIter iter)
        where TIter : struct, IForEach<T1> where T1 : struct
    {
        var matches = GetQuery(description).Matches;
        _iterating++;
        try
        {
            foreach (Archetype a in matches)
            {
                var chunks = a.RawChunks;
                for (int c = 0, n = a.ChunkCount; c < n; c++)
                {
                    Chunk ch = chunks[c];
                    ref T1 r1 = ref ch.FirstRef<T1>();
                    for (int i = 0, count = ch.Count; i < count; i++)
                        iter.Update(ref Unsafe.Add(ref r1, i));
                }
            }
        }
        finally
        {
            _iterating--;
        }
    }

    /// <summary>Calls <c>iter.Update(ref c1, ref c2)</c> for every matching entity.</summary>
    public void InlineQuery<TIter, T1, T2>(in QueryDescription description, ref TIter iter)
        where TIter : struct, IForEach<T1, T2> where T1 : struct where T2 : struct
    {
        var matches = GetQuery(description).Matches;
        _iterating++;
        try
        {
            foreach (Archetype a in matches)
            {
                var chunks = a.RawChunks;
                for (int c = 0, n = a.ChunkCount; c < n; c++)
                {
                    Chunk ch = chunks[c];
                    ref T1 r1 = ref ch.FirstRef<T1>();
                    ref T2 r2 = ref ch.FirstRef<T2>();
                    for (int i = 0, count = ch.Count; i < count; i++)
                        iter.Update(ref Unsafe.Add(ref r1, i), ref Unsafe.Add(ref r2, i));
                }
            }
        }
        finally
        {
            _iterating--;
        }
    }

    /// <summary>Calls <c>iter.Update(ref c1, ref c2, ref c3)</c> for every matching entity.</summary>
    public void InlineQuery<TIter, T1, T2, T3>(in QueryDescription description, ref TIter iter)
        where TIter : struct, IForEach<T1, T2, T3> where T1 : struct where T2 : struct where T3 : struct
    {
        var matches = GetQuery(description).Matches;
        _iterating++;
        try
        {
            foreach (Archetype a in matches)
            {
                var chunks = a.RawChunks;
                for (int c = 0, n = a.ChunkCount; c < n; c++)
                {
                    Chunk ch = chunks[c];
                    ref T1 r1 = ref ch.FirstRef<T1>();
                    ref T2 r2 = ref ch.FirstRef<T2>();
                    ref T3 r3 = ref ch.FirstRef<T3>();
                    for (int i = 0, count = ch.Count; i < count; i++)
                        iter.Update(ref Unsafe.Add(ref r1, i), ref Unsafe.Add(ref r2, i), ref Unsafe.Add(ref r3, i));
                }
            }
        }
        finally
        {
            _iterating--;
        }
    }

    /// <summary>Calls <c>iter.Update(entity, ref c1)</c> for every matching entity.</summary>
    public void InlineEntityQuery<TIter, T1>(in QueryDescription description, ref TIter iter)
        where TIter : struct, IForEachWithEntity<T1> where T1 : struct
    {
        var matches = GetQuery(description).Matches;
        _iterating++;
        try
        {
            foreach (Archetype a in matches)
            {
                var chunks = a.RawChunks;
                for (int c = 0, n = a.ChunkCount; c < n; c++)
                {
                    Chunk ch = chunks[c];
                    ref T1 r1 = ref ch.FirstRef<T1>();
                    var entities = ch.Entities;
                    for (int i = 0, count = ch.Count; i < count; i++)
                        iter.Update(entities[i], ref Unsafe.Add(ref r1, i));
                }
            }
        }
        finally
        {
            _iterating--;
        }
    }

    /// <summary>Calls <c>iter.Update(entity, ref c1, ref c2)</c> for every matching entity.</summary>
    public void InlineEntityQuery<TIter, T1, T2>(in QueryDescription description, ref TIter iter)
        where TIter : struct, IForEachWithEntity<T1, T2> where T1 : struct where T2 : struct
    {
        var matches = GetQuery(description).Matches;
        _iterating++;
        try
        {
            foreach (Archetype a in matches)
            {
                var chunks = a.RawChunks;
                for (int c = 0, n = a.ChunkCount; c < n; c++)
                {
                    Chunk ch = chunks[c];
                    ref T1 r1 = ref ch.FirstRef<T1>();
                    ref T2 r2 = ref ch.FirstRef<T2>();
                    var entities = ch.Entities;
                    for (int i = 0, count = ch.Count; i < count; i++)
                        iter.Update(entities[i], ref Unsafe.Add(ref r1, i), ref Unsafe.Add(ref r2, i));
                }
            }
        }
        finally
        {
            _iterating--;
        }
    }

    /// <summary>Calls <c>iter.Update(entity, ref c1, ref c2, ref c3)</c> for every matching entity.</summary>
    public void InlineEntityQuery<TIter, T1, T2, T3>(in QueryDescription description, ref TIter iter)
        where TIter : struct, IForEachWithEntity<T1, T2, T3> where T1 : struct where T2 : struct where T3 : struct
    {
        var matches = GetQuery(description).Matches;
        _iterating++;
        try
        {
            foreach (Archetype a in matches)
            {
                var chunks = a.RawChunks;
                for (int c = 0, n = a.ChunkCount; c < n; c++)
                {
                    Chunk ch = chunks[c];
                    ref T1 r1 = ref ch.FirstRef<T1>();
                    ref T2 r2 = ref ch.FirstRef<T2>();
                    ref T3 r3 = ref ch.FirstRef<T3>();
                    var entities = ch.Entities;
                    for (int i = 0, count = ch.Count; i < count; i++)
                        iter.Update(entities[i], ref Unsafe.Add(ref r1, i), ref Unsafe.Add(ref r2, i), ref Unsafe.Add(ref r3, i));
                }
            }
        }
        finally
        {
            _iterating--;
        }
    }

    // Delegate forms, for tests and tools where convenience beats the last nanosecond.

    public void Query<T1>(in QueryDescription description, ForEach<T1> action) where T1 : struct
    {
        var d = new DelegateIter<T1>(action);
        InlineQuery<DelegateIter<T1>, T1>(description, ref d);
    }

    public void Query<T1, T2>(in QueryDescription description, ForEach<T1, T2> action) where T1 : struct where T2 : struct
    {
        var d = new DelegateIter2<T1, T2>(action);
        InlineQuery<DelegateIter2<T1, T2>, T1, T2>(description, ref d);
    }

    public void Query<T1>(in QueryDescription description, ForEachWithEntity<T1> action) where T1 : struct
    {
        var d = new DelegateEntityIter<T1>(action);
        InlineEntityQuery<DelegateEntityIter<T1>, T1>(description, ref d);
    }

    private readonly struct DelegateIter<T1>(ForEach<T1> action) : IForEach<T1>
    {
        public void Update(ref T1 c1) => action(ref c1);
    }

    private readonly struct DelegateIter2<T1, T2>(ForEach<T1, T2> action) : IForEach<T1, T2>
    {
        public void Update(ref T1 c1, ref T2 c2) => action(ref c1, ref c2);
    }

    private readonly struct DelegateEntityIter<T1>(ForEachWithEntity<T1> action) : IForEachWithEntity<T1>
    {
        public void Update(Entity entity, ref T1 c1) => action(entity, ref c1);
    }
}
