namespace EcsMem.Ecs;

// Struct callbacks for World.InlineQuery: the query is generic over the callback type, so the JIT
// specialises the loop for each struct and inlines Update — no delegate, no allocation, no virtual call.

public interface IForEach<T1>
{
    void Update(ref T1 c1);
}

public interface IForEach<T1, T2>
{
    void Update(ref T1 c1, ref T2 c2);
}

public interface IForEach<T1, T2, T3>
{
    void Update(ref T1 c1, ref T2 c2, ref T3 c3);
}

public interface IForEachWithEntity<T1>
{
    void Update(Entity entity, ref T1 c1);
}

public interface IForEachWithEntity<T1, T2>
{
    void Update(Entity entity, ref T1 c1, ref T2 c2);
}

public interface IForEachWithEntity<T1, T2, T3>
{
    void Update(Entity entity, ref T1 c1, ref T2 c2, ref T3 c3);
}

/// <summary>A struct callback over whole chunks, for systems that work on spans directly.</summary>
public interface IChunkForEach
{
    void Execute(Chunk chunk);
}

/// <summary>Delegate form of a one-component query (convenient; allocates if the lambda captures).</summary>
public delegate void ForEach<T1>(ref T1 c1);

/// <summary>Delegate form of a two-component query.</summary>
public delegate void ForEach<T1, T2>(ref T1 c1, ref T2 c2);

/// <summary>Delegate form of a one-component query with the entity.</summary>
public delegate void ForEachWithEntity<T1>(Entity entity, ref T1 c1);
