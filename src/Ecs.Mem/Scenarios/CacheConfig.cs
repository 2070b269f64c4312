namespace EcsMem.Scenarios;

/// <summary>Geometry of one set-associative cache level, as lscpu and /sys/devices/system/cpu/cpu0/cache describe it.</summary>
/// <param name="SizeBytes">Total capacity in bytes.</param>
/// <param name="Ways">Associativity (lines per set). Need not be a power of two (L3 3072K is 12-way).</param>
/// <param name="LineBytes">Line size in bytes, a power of two.</param>
/// <param name="Inclusion">Relation to the upper levels.</param>
public sealed record CacheConfig(long SizeBytes, int Ways, int LineBytes, CacheInclusion Inclusion)
{
    /// <summary>
    /// Whether one instance of this level serves all CPUs (true, as an L3 usually does) or each CPU has its own
    /// (false, as L1 and L2 usually are). Meaningless with one CPU. <see cref="MachineConfig"/>'s defaults set it per level.
    /// </summary>
    public bool Shared { get; init; }

    /// <summary>Number of sets: size / (ways × line). The parser guarantees it is a power of two.</summary>
    public long Sets => SizeBytes / ((long)Ways * LineBytes);
}
