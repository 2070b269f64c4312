using EcsMem.Diagnostics;
using EcsMem.Ecs;

namespace EcsMem.Systems.Caches;

/// <summary>
/// Builds a hierarchy for a replacement policy named at run time: lru (default), fifo, random. The cache
/// lines become entities of <c>world</c> (the kernel's world in a machine; a fresh <c>new World()</c> standalone).
/// </summary>
public static class CacheHierarchyFactory
{
    public static readonly IReadOnlyList<string> PolicyNames = ["lru", "fifo", "random"];

    public static ICacheHierarchy Create(World world, CacheHierarchyConfig config, string policy = "lru", ulong seed = 1, string source = "command line") =>
        policy switch
        {
            "lru" => new CacheHierarchy<LruReplacement>(world, config, default),
            "fifo" => new CacheHierarchy<FifoReplacement>(world, config, default),
            "random" => new CacheHierarchy<RandomReplacement>(world, config, new RandomReplacement(seed)),
            _ => throw new InputException(source, 0, policy, "unknown cache replacement policy (use lru, fifo or random)"),
        };
}
