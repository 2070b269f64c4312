using EcsMem.Traces;

namespace EcsMem.Systems.Caches;

/// <summary>
/// A cache hierarchy whatever its replacement policy, for callers that choose the policy at run
/// time (one interface call per batch; the per-access path inside is specialised).
/// </summary>
public interface ICacheHierarchy
{
    CacheHierarchyConfig Config { get; }

    void Run(ReadOnlySpan<MemoryAccess> accesses);

    IReadOnlyList<CacheLevelReport> Levels { get; }

    long MemoryReads { get; }

    long MemoryWrites { get; }
}
