using EcsMem.Diagnostics;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// TLB hierarchy and ASID policy of one simulated machine.
/// <para>
/// Geometry defaults are Intel Skylake client (also Skylake-SP, Kaby/Coffee Lake) for 4 KiB pages, from the
/// Intel 64 and IA-32 Architectures Optimization Reference Manual (order no. 248966-045, Feb 2022),
/// Table 2-15 "TLB Parameters of the Skylake Microarchitecture": L1 ITLB 128 entries 8-way, L1 DTLB
/// 64 entries 4-way, STLB 1536 entries 12-way shared by 4 KiB and 2 MiB pages (1536 / 12 = 128 sets).
/// The separate small L1 arrays for 2 MiB pages are folded into the same L1 arrays here.
/// </para>
/// <para>
/// ASID defaults are Linux x86 (arch/x86/mm/tlb.c): TLB_NR_DYN_ASIDS = 6 dynamic ASIDs per CPU and
/// tlb_single_page_flush_ceiling = 33 pages.
/// </para>
/// </summary>
public sealed record TlbConfig
{
    public TlbGeometry Dtlb { get; init; } = new(64, 4);
    public TlbGeometry Itlb { get; init; } = new(128, 8);
    public TlbGeometry Stlb { get; init; } = new(1536, 12);

    /// <summary>
    /// True: PCID mode (X86_FEATURE_PCID): entries are tagged and a context switch flushes only when
    /// choose_new_asid says so. False: the <c>nopcid</c> boot option: every switch to another mm writes CR3
    /// and loses every non-global entry.
    /// </summary>
    public bool UsePcid { get; init; } = true;

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
        // kern_pcid(asid) = asid + 1 must fit the 12-bit PCID with bit 11 kept free (Linux keeps it for the
        // PTI user half), so at most 2047 - 1 dynamic ASIDs.
        if (DynamicAsids < 1 || DynamicAsids > 2046)
            throw new InputException(source, 0, $"asids={DynamicAsids}", "dynamic ASIDs must be between 1 and 2046");
        if (SinglePageFlushCeiling < 0)
            throw new InputException(source, 0, $"flush-ceiling={SinglePageFlushCeiling}", "the single-page flush ceiling cannot be negative");
    }
}
