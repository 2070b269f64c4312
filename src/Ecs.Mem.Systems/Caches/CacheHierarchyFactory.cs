using EcsMem.Diagnostics;

namespace EcsMem.Systems.Caches;

/// <summary>Builds a hierarchy for a replacement policy named at run time: lru (default), fifo, random.</summary>
public static class CacheHierarchyFactory
{
    public static readonly IReadOnlyList<string> PolicyNames = ["lru", "fifo", "random"];

    public static ICacheHierarchy Create(CacheHierarchyConfig config, string policy = "lru", ulong seed = 1, string source = "command line") =>
        policy switch
        {
            "lru" => new CacheHierarchy<LruReplacement>(config, default),
            "fifo" => new CacheHierarchy<FifoReplacement>(config, default),
            "random" => new CacheHierarchy<RandomReplacement>(config, new RandomReplacement(seed)),
            _ => throw new InputException(source, 0, policy, "unknown cache replacement policy (use lru, fifo or random)"),
        };
}
