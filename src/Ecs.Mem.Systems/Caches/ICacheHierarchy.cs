using EcsMem.Systems.Timing;
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

    /// <summary>One access (physical address); returns the level that served it (the deepest, for a straddling access).</summary>
    MemoryLevel Access(in MemoryAccess access);

    IReadOnlyList<CacheLevelReport> Levels { get; }

    /// <summary>The CPU whose accesses follow (its private cache instances serve them).</summary>
    void SelectCpu(int cpu);

    long MemoryReads { get; }

    long MemoryWrites { get; }

    /// <summary>Sets every level's event counts and the memory read/write counts back to zero (the cached lines stay).</summary>
    void ResetCounters();
}
