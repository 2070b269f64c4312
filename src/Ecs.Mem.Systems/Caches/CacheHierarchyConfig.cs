using EcsMem.Diagnostics;

namespace EcsMem.Systems.Caches;

/// <summary>
/// Geometry of the four-cache hierarchy: split L1 (instruction, data), unified L2 and unified L3.
/// All levels share one line size (checked), as on every x86 part the lecture discusses.
/// </summary>
public sealed record CacheHierarchyConfig(
    CacheGeometry L1i, CacheGeometry L1d, CacheGeometry L2, CacheGeometry L3, InclusionPolicy Inclusion)
{
    /// <summary>
    /// The seed lecture's machine (its lscpu: L1d 32K, L1i 32K, L2 256K, L3 3072K) with 64-byte lines.
    /// lscpu does not print associativity; 8, 8, 4 and 12 ways are the values of the Intel
    /// Sandy/Ivy Bridge client parts that had exactly these sizes (e.g. Core i3/i5 with a 3 MB L3).
    /// </summary>
    public static CacheHierarchyConfig Seed { get; } = new(
        CacheGeometry.Create(32 * 1024, 8, 64, "defaults", 0, "L1i"),
        CacheGeometry.Create(32 * 1024, 8, 64, "defaults", 0, "L1d"),
        CacheGeometry.Create(256 * 1024, 4, 64, "defaults", 0, "L2"),
        CacheGeometry.Create(3072 * 1024, 12, 64, "defaults", 0, "L3"),
        InclusionPolicy.Inclusive);

    /// <summary>Number of CPUs: a private level has one instance per CPU, a shared level one for all.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>Whether L1i, L1d, L2 and L3 are shared by all CPUs (default: L1 and L2 private, L3 shared, as on x86 client parts).</summary>
    public bool L1iShared { get; init; }

    /// <inheritdoc cref="L1iShared"/>
    public bool L1dShared { get; init; }

    /// <inheritdoc cref="L1iShared"/>
    public bool L2Shared { get; init; }

    /// <inheritdoc cref="L1iShared"/>
    public bool L3Shared { get; init; } = true;

    /// <summary>Throws when the levels' line sizes differ (the hierarchy moves whole lines between levels).</summary>
    public void Validate(string source)
    {
        int line = L1d.LineBytes;
        if (L1i.LineBytes != line || L2.LineBytes != line || L3.LineBytes != line)
            throw new InputException(source, 0, $"{L1i.LineBytes},{L1d.LineBytes},{L2.LineBytes},{L3.LineBytes}",
                "all cache levels must have the same line size");
    }
}
