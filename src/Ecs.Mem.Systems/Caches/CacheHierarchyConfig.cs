using EcsMem.Diagnostics;
using EcsMem.Scenarios;

namespace EcsMem.Systems.Caches;

/// <summary>
/// Geometry of the four-cache hierarchy: split L1 (instruction, data), unified L2 and unified L3.
/// All levels share one line size (checked), as on every x86 part the lecture discusses.
/// <see cref="Inclusion"/> is L3's relation to the levels above it, the one the hierarchy models (L2 is
/// non-inclusive of L1). The per-level <c>inclusion</c> of L1i, L1d and L2 and every level's <c>shared</c> flag
/// are carried from the scenario (<c>machine.caches.&lt;level&gt;</c>) so the run reports what it was given;
/// defaults come from <see cref="MachineConfig.Default"/>.
/// </summary>
public sealed record CacheHierarchyConfig(
    CacheGeometry L1i, CacheGeometry L1d, CacheGeometry L2, CacheGeometry L3, InclusionPolicy Inclusion)
{
    /// <summary>L1i's <c>inclusion</c> as configured (recorded; nothing lies above L1).</summary>
    public InclusionPolicy L1iInclusion { get; init; } = InclusionOf(MachineConfig.Default.L1i.Inclusion);

    /// <summary>L1d's <c>inclusion</c> as configured (recorded; nothing lies above L1).</summary>
    public InclusionPolicy L1dInclusion { get; init; } = InclusionOf(MachineConfig.Default.L1d.Inclusion);

    /// <summary>L2's <c>inclusion</c> as configured (recorded; the hierarchy keeps L2 non-inclusive of L1).</summary>
    public InclusionPolicy L2Inclusion { get; init; } = InclusionOf(MachineConfig.Default.L2.Inclusion);

    /// <summary>Whether one L1i serves all CPUs (<c>caches.l1i.shared</c>).</summary>
    public bool L1iShared { get; init; } = MachineConfig.Default.L1i.Shared;

    /// <summary>Whether one L1d serves all CPUs (<c>caches.l1d.shared</c>).</summary>
    public bool L1dShared { get; init; } = MachineConfig.Default.L1d.Shared;

    /// <summary>Whether one L2 serves all CPUs (<c>caches.l2.shared</c>).</summary>
    public bool L2Shared { get; init; } = MachineConfig.Default.L2.Shared;

    /// <summary>Whether one L3 serves all CPUs (<c>caches.l3.shared</c>).</summary>
    public bool L3Shared { get; init; } = MachineConfig.Default.L3.Shared;

    /// <summary>
    /// The default hierarchy: the scenario model's default caches (<see cref="MachineConfig.Default"/>), which are
    /// the seed lecture's machine (its lscpu: L1d 32K, L1i 32K, L2 256K, L3 3072K) with 64-byte lines and 8, 8, 4
    /// and 12 ways (the Intel Sandy/Ivy Bridge client parts that had exactly these sizes).
    /// </summary>
    public static CacheHierarchyConfig Seed { get; } = From(MachineConfig.Default, "defaults");

    /// <summary>The hierarchy a scenario's <c>machine.caches</c> describes; geometry errors name <paramref name="source"/>.</summary>
    public static CacheHierarchyConfig From(MachineConfig m, string source) =>
        new CacheHierarchyConfig(Geometry(m.L1i, source, "L1i"), Geometry(m.L1d, source, "L1d"), Geometry(m.L2, source, "L2"), Geometry(m.L3, source, "L3"),
            InclusionOf(m.L3.Inclusion))
        {
            L1iInclusion = InclusionOf(m.L1i.Inclusion),
            L1dInclusion = InclusionOf(m.L1d.Inclusion),
            L2Inclusion = InclusionOf(m.L2.Inclusion),
        }.WithSharing(m);

    /// <summary>This hierarchy with the scenario's per-level <c>shared</c> flags (also for <c>cpu: host</c> geometry).</summary>
    public CacheHierarchyConfig WithSharing(MachineConfig m) => this with
    {
        L1iShared = m.L1i.Shared,
        L1dShared = m.L1d.Shared,
        L2Shared = m.L2.Shared,
        L3Shared = m.L3.Shared,
    };

    /// <summary>The runtime form of a scenario's <c>inclusion</c> value.</summary>
    public static InclusionPolicy InclusionOf(CacheInclusion inclusion) =>
        inclusion == CacheInclusion.Inclusive ? InclusionPolicy.Inclusive : InclusionPolicy.NonInclusive;

    private static CacheGeometry Geometry(CacheConfig c, string source, string name) =>
        CacheGeometry.Create(c.SizeBytes, c.Ways, c.LineBytes, source, 0, name);

    /// <summary>Number of CPUs: a private level has one instance per CPU, a shared level one for all.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>Throws when the levels' line sizes differ (the hierarchy moves whole lines between levels).</summary>
    public void Validate(string source)
    {
        int line = L1d.LineBytes;
        if (L1i.LineBytes != line || L2.LineBytes != line || L3.LineBytes != line)
            throw new InputException(source, 0, $"{L1i.LineBytes},{L1d.LineBytes},{L2.LineBytes},{L3.LineBytes}",
                "all cache levels must have the same line size");
    }
}
