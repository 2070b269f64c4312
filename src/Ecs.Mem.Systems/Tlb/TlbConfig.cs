using EcsMem.Diagnostics;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// TLB hierarchy and ASID policy of one simulated machine.
/// <para>
/// Geometry and PCID defaults are the scenario model's (<see cref="Scenarios.MachineConfig.Default"/>:
/// <c>machine.tlb.*</c>, <c>machine.pcid</c>), which are Intel Skylake client's for 4 KiB pages (Intel 64 and
/// IA-32 Architectures Optimization Reference Manual, 248966-045, Table 2-15: L1 ITLB 128 entries 8-way, L1 DTLB
/// 64 entries 4-way, STLB 1536 entries 12-way, 128 sets).
/// </para>
/// <para>
/// ASID defaults are Linux x86 (arch/x86/mm/tlb.c): TLB_NR_DYN_ASIDS = 6 dynamic ASIDs per CPU and
/// tlb_single_page_flush_ceiling = 33 pages.
/// </para>
/// </summary>
public sealed record TlbConfig
{
    /// <summary>Level-1 data TLB (<c>tlb.dtlb</c>).</summary>
    public TlbGeometry Dtlb { get; init; } = TlbGeometry.From(Scenarios.MachineConfig.Default.Dtlb);

    /// <summary>Level-1 instruction TLB (<c>tlb.itlb</c>).</summary>
    public TlbGeometry Itlb { get; init; } = TlbGeometry.From(Scenarios.MachineConfig.Default.Itlb);

    /// <summary>Second-level TLB (<c>tlb.stlb</c>).</summary>
    public TlbGeometry Stlb { get; init; } = TlbGeometry.From(Scenarios.MachineConfig.Default.Stlb);

    /// <summary>Level-1 data TLB for 2 MiB pages (<c>tlb.dtlb_2m</c>; Skylake: 32 entries, 4-way).</summary>
    public TlbGeometry Dtlb2M { get; init; } = TlbGeometry.From(Scenarios.MachineConfig.Default.Dtlb2M);

    /// <summary>Level-1 instruction TLB for 2 MiB pages (<c>tlb.itlb_2m</c>; Skylake: 8 entries, fully associative).</summary>
    public TlbGeometry Itlb2M { get; init; } = TlbGeometry.From(Scenarios.MachineConfig.Default.Itlb2M);

    /// <summary>Paging-structure caches per CPU (<c>tlb.psc</c>); null (the default): none.</summary>
    public Scenarios.PscConfig? Psc { get; init; }

    /// <summary>
    /// True: PCID mode (X86_FEATURE_PCID): entries are tagged and a context switch flushes only when
    /// choose_new_asid says so. False: the <c>nopcid</c> boot option: every switch to another mm writes CR3
    /// and loses every non-global entry. Default: <c>machine.pcid</c>'s.
    /// </summary>
    public bool UsePcid { get; init; } = Scenarios.MachineConfig.Default.Pcid;

    /// <summary>Dynamic ASID slots per CPU (Linux TLB_NR_DYN_ASIDS).</summary>
    public int DynamicAsids { get; init; } = 6;

    /// <summary>
    /// Largest range, in pages, flushed page by page (Linux tlb_single_page_flush_ceiling); larger ranges
    /// flush the whole ASID.
    /// </summary>
    public int SinglePageFlushCeiling { get; init; } = 33;

    /// <summary>The default configuration (Skylake geometry, PCID on).</summary>
    public static TlbConfig Default { get; } = new();

    /// <summary>Throws <see cref="InputException"/> (from <paramref name="source"/>) for an impossible value.</summary>
    public void Validate(string source = "TLB config")
    {
        Dtlb.Validate(source, "dtlb");
        Itlb.Validate(source, "itlb");
        Stlb.Validate(source, "stlb");
        Dtlb2M.Validate(source, "dtlb_2m");
        Itlb2M.Validate(source, "itlb_2m");
        for (int level = 1; Psc is not null && level <= 4; level++)
            if (Psc.At(level) is { } c)
                TlbGeometry.From(c).Validate(source, "psc." + Scenarios.PscConfig.Keys[level - 1]);
        // kern_pcid(asid) = asid + 1 must fit the 12-bit PCID with bit 11 kept free (Linux keeps it for the
        // PTI user half), so at most 2047 - 1 dynamic ASIDs.
        if (DynamicAsids < 1 || DynamicAsids > 2046)
            throw new InputException(source, 0, $"asids={DynamicAsids}", "dynamic ASIDs must be between 1 and 2046");
        if (SinglePageFlushCeiling < 0)
            throw new InputException(source, 0, $"flush-ceiling={SinglePageFlushCeiling}", "the single-page flush ceiling cannot be negative");
    }
}
