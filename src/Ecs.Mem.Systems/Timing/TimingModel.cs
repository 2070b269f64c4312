using EcsMem.Diagnostics;

namespace EcsMem.Systems.Timing;

/// <summary>
/// Latencies, in core cycles, that turn simulated events into time. Plain data plus arithmetic: the
/// machine decides what happened (which cache level hit, whether the TLB missed, whether a fault was
/// major) and asks this model what it cost. Defaults describe a ~3 GHz Intel Skylake client core with an
/// NVMe swap device; every field can be overridden with <c>with { ... }</c>, then <see cref="Validate"/>.
/// </summary>
public sealed record TimingModel
{
    /// <summary>Core clock in GHz, used to turn device latencies given in µs into cycles. Default 3.0.</summary>
    public double ClockGHz { get; init; } = 3.0;

    /// <summary>
    /// L1D load-to-use latency. Default 4: Intel Optimization Reference Manual (248966-045), Skylake client
    /// cache parameters table, L1D "fastest latency" 4 cycles (5 for complex addressing).
    /// </summary>
    public int L1HitCycles { get; init; } = 4;

    /// <summary>L2 hit latency. Default 12: same table, L2 256 KiB 4-way, 12 cycles.</summary>
    public int L2HitCycles { get; init; } = 12;

    /// <summary>
    /// L3 hit latency. Default 42: same table gives 44 cycles fastest for the shared L3; Intel's
    /// Nehalem-era Performance Analysis Guide (Levinthal) gives ~40 cycles for an unshared L3 line.
    /// </summary>
    public int L3HitCycles { get; init; } = 42;

    /// <summary>
    /// DRAM latency (L3 miss to data). Default 200: ~60–70 ns local DRAM (Levinthal's guide: ~60 ns) at
    /// 3 GHz, plus the L3 lookup.
    /// </summary>
    public int MemoryCycles { get; init; } = 200;

    /// <summary>
    /// Extra cycles for an L1 TLB hit. Default 0: the L1 TLBs are probed in parallel with the VIPT L1 cache,
    /// so their latency is already inside <see cref="L1HitCycles"/>.
    /// </summary>
    public int L1TlbHitCycles { get; init; } = 0;

    /// <summary>
    /// L1 TLB miss that hits the STLB. Default 9: the cost Intel's Top-down Microarchitecture Analysis
    /// metrics charge per STLB hit on Skylake (Mem_STLB_Hit_Cost; 7 on earlier cores).
    /// </summary>
    public int StlbHitCycles { get; init; } = 9;

    /// <summary>Levels of the page-table walk (x86-64: 4; 5 with LA57).</summary>
    public int PageWalkLevels { get; init; } = 4;

    /// <summary>
    /// Cost of one page-table level during a walk. Default 8: each level is one memory reference that
    /// usually hits L1/L2 (page-table lines are hot and the paging-structure caches skip upper levels), so
    /// 4 × 8 = 32 cycles per walk, the order measured for an STLB miss with warm page-structure caches.
    /// </summary>
    public int PageWalkLevelCycles { get; init; } = 8;

    /// <summary>
    /// Minor page fault (exception entry, handle_mm_fault, zeroing or mapping a page, return). Default 1500
    /// (~0.5 µs at 3 GHz; minor faults are commonly measured at 1000–2000 cycles on recent x86 Linux).
    /// </summary>
    public int MinorFaultCycles { get; init; } = 1500;

    /// <summary>
    /// Device read latency of a major fault (swap-in or file read), in µs. Default 100: a 4 KiB random read
    /// from an NVMe SSD takes ~80–100 µs. A major fault costs minor-fault work plus this wait.
    /// </summary>
    public double MajorFaultMicroseconds { get; init; } = 100;

    /// <summary>
    /// Device write latency of one page written out by reclaim (swap-out or dirty file page), in µs.
    /// Default 30: NVMe writes land in the drive's write cache and complete in tens of µs.
    /// </summary>
    public double SwapOutMicroseconds { get; init; } = 30;

    /// <summary>
    /// One remote TLB shootdown (IPI send, remote flush_tlb_func, acknowledgement). Default 2000 cycles:
    /// shootdowns are measured at a few thousand cycles per initiator (Amit, "Optimizing the TLB Shootdown
    /// Algorithm with Page-Table Access Tracking", USENIX ATC 2017).
    /// </summary>
    public int TlbShootdownCycles { get; init; } = 2000;

    /// <summary>
    /// One INVLPG. Default 300: arch/x86/mm/tlb.c sizes tlb_single_page_flush_ceiling on "each single flush
    /// is about 100 ns" (300 cycles at 3 GHz).
    /// </summary>
    public int TlbFlushOneCycles { get; init; } = 300;

    /// <summary>
    /// Direct cost of a context switch (scheduler, register state, CR3 load) without the refill misses,
    /// which the simulation counts itself. Default 3000 (~1 µs, the order lmbench lat_ctx reports on
    /// modern x86 Linux).
    /// </summary>
    public int ContextSwitchCycles { get; init; } = 3000;

    /// <summary>The default model.</summary>
    public static TimingModel Default { get; } = new();

    /// <summary>Cycles to serve an access from <paramref name="level"/>.</summary>
    public int CacheCycles(MemoryLevel level) => level switch
    {
        MemoryLevel.L1 => L1HitCycles,
        MemoryLevel.L2 => L2HitCycles,
        MemoryLevel.L3 => L3HitCycles,
        _ => MemoryCycles,
    };

    /// <summary>Cycles of a full page walk: <see cref="PageWalkLevels"/> × <see cref="PageWalkLevelCycles"/>.</summary>
    public int PageWalkCycles => PageWalkLevels * PageWalkLevelCycles;

    /// <summary>
    /// Translation cycles of one access: L1 hit → <see cref="L1TlbHitCycles"/>; STLB hit →
    /// <see cref="StlbHitCycles"/>; miss → the STLB probe plus a page walk.
    /// </summary>
    public int TranslationCycles(TlbOutcome outcome) => outcome switch
    {
        TlbOutcome.L1Hit => L1TlbHitCycles,
        TlbOutcome.StlbHit => StlbHitCycles,
        _ => StlbHitCycles + PageWalkCycles,
    };

    /// <summary>Cycles in <paramref name="microseconds"/> at <see cref="ClockGHz"/> (rounded to the nearest cycle).</summary>
    public long MicrosecondsToCycles(double microseconds) => (long)Math.Round(microseconds * ClockGHz * 1000.0);

    /// <summary>A major fault: the minor-fault work plus the device read.</summary>
    public long MajorFaultCycles => MinorFaultCycles + MicrosecondsToCycles(MajorFaultMicroseconds);

    /// <summary>Writing one page out during reclaim.</summary>
    public long SwapOutCycles => MicrosecondsToCycles(SwapOutMicroseconds);

    /// <summary>
    /// Throws <see cref="InputException"/> from <paramref name="source"/> naming the first impossible value:
    /// a non-positive clock or latency (only <see cref="L1TlbHitCycles"/> may be 0) or a walk depth outside 1..5.
    /// </summary>
    public void Validate(string source = "timing model")
    {
        if (!(ClockGHz > 0) || double.IsInfinity(ClockGHz))
            throw new InputException(source, 0, $"ClockGHz={ClockGHz}", "the clock frequency must be a positive number of GHz");
        Positive(source, nameof(L1HitCycles), L1HitCycles);
        Positive(source, nameof(L2HitCycles), L2HitCycles);
        Positive(source, nameof(L3HitCycles), L3HitCycles);
        Positive(source, nameof(MemoryCycles), MemoryCycles);
        if (L1TlbHitCycles < 0)
            throw new InputException(source, 0, $"{nameof(L1TlbHitCycles)}={L1TlbHitCycles}", $"{nameof(L1TlbHitCycles)} cannot be negative");
        Positive(source, nameof(StlbHitCycles), StlbHitCycles);
        if (PageWalkLevels < 1 || PageWalkLevels > 5)
            throw new InputException(source, 0, $"{nameof(PageWalkLevels)}={PageWalkLevels}", "page walk levels must be between 1 and 5");
        Positive(source, nameof(PageWalkLevelCycles), PageWalkLevelCycles);
        Positive(source, nameof(MinorFaultCycles), MinorFaultCycles);
        PositiveMicroseconds(source, nameof(MajorFaultMicroseconds), MajorFaultMicroseconds);
        PositiveMicroseconds(source, nameof(SwapOutMicroseconds), SwapOutMicroseconds);
        Positive(source, nameof(TlbShootdownCycles), TlbShootdownCycles);
        Positive(source, nameof(TlbFlushOneCycles), TlbFlushOneCycles);
        Positive(source, nameof(ContextSwitchCycles), ContextSwitchCycles);
    }

    private static void Positive(string source, string name, int value)
    {
        if (value <= 0)
            throw new InputException(source, 0, $"{name}={value}", $"{name} must be a positive number of cycles");
    }

    private static void PositiveMicroseconds(string source, string name, double value)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new InputException(source, 0, $"{name}={value}", $"{name} must be a positive number of microseconds");
    }
}
