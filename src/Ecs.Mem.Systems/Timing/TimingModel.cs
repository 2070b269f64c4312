using EcsMem.Diagnostics;
using EcsMem.Scenarios;

namespace EcsMem.Systems.Timing;

/// <summary>
/// Latencies, in core cycles, that turn simulated events into time. Plain data plus arithmetic: the
/// machine decides what happened (which cache level hit, whether the TLB missed, whether a fault was
/// major) and asks this model what it cost. Every cost a scenario can set (<c>machine.latency</c>) takes its
/// default from <see cref="MachineConfig.Default"/> (<see cref="LatencyConfig"/>), the one place machine
/// defaults live; only the costs no scenario key reaches (<see cref="ClockGHz"/>, <see cref="L1TlbHitCycles"/>,
/// <see cref="TlbFlushOneCycles"/>) have their own. Every field can be overridden with <c>with { ... }</c>,
/// then <see cref="Validate"/>. All costs are cycles; microsecond figures are only derived views.
/// </summary>
public sealed record TimingModel
{
    private static LatencyConfig Defaults => MachineConfig.Default.Latency;

    /// <summary>
    /// Core clock in GHz: turns simulated cycles into the seconds the report prints, and the cycle costs into
    /// the microsecond views below. Default 3.0 (no scenario key sets it; <c>latency.cpu_ghz</c> only converts
    /// <c>disk_us</c> into <c>major_fault</c> cycles when the scenario is read).
    /// </summary>
    public double ClockGHz { get; init; } = 3.0;

    /// <summary>L1 load-to-use latency (<c>latency.l1</c>).</summary>
    public long L1HitCycles { get; init; } = Defaults.L1;

    /// <summary>L2 hit latency (<c>latency.l2</c>).</summary>
    public long L2HitCycles { get; init; } = Defaults.L2;

    /// <summary>L3 hit latency (<c>latency.l3</c>).</summary>
    public long L3HitCycles { get; init; } = Defaults.L3;

    /// <summary>DRAM latency, L3 miss to data (<c>latency.memory</c>).</summary>
    public long MemoryCycles { get; init; } = Defaults.Memory;

    /// <summary>
    /// Extra cycles for an L1 TLB hit. Default 0: the L1 TLBs are probed in parallel with the VIPT L1 cache,
    /// so their latency is already inside <see cref="L1HitCycles"/>. Not a scenario key.
    /// </summary>
    public long L1TlbHitCycles { get; init; } = 0;

    /// <summary>L1 TLB miss that hits the STLB (<c>latency.stlb</c>).</summary>
    public long StlbHitCycles { get; init; } = Defaults.Stlb;

    /// <summary>Levels of the page-table walk: those of the default paging mode (x86-64: 4; 5 with LA57).</summary>
    public int PageWalkLevels { get; init; } = MachineConfig.Default.Paging.Levels();

    /// <summary>Cost of one page-table level read during a walk (<c>latency.walk_level</c>).</summary>
    public long PageWalkLevelCycles { get; init; } = Defaults.WalkLevel;

    /// <summary>Minor page fault: exception entry, handle_mm_fault, mapping, return (<c>latency.minor_fault</c>).</summary>
    public long MinorFaultCycles { get; init; } = Defaults.MinorFault;

    /// <summary>
    /// Device read of a major fault (swap-in or file read), in cycles (<c>latency.major_fault</c>): the time the
    /// faulting process sleeps. A major fault costs minor-fault work plus this wait (<see cref="MajorFaultCycles"/>).
    /// </summary>
    public long MajorFaultReadCycles { get; init; } = Defaults.MajorFault;

    /// <summary>
    /// Each page of a disk read beyond its first (<c>latency.disk_page</c>): a readahead batch of n pages is one
    /// request taking <see cref="MajorFaultReadCycles"/> + (n - 1) × this.
    /// </summary>
    public long DiskPageCycles { get; init; } = Defaults.DiskPage;

    /// <summary>Cycles one disk request reading <paramref name="pages"/> contiguous pages takes (at least one page).</summary>
    public long DiskReadCycles(int pages) => MajorFaultReadCycles + (Math.Max(pages, 1) - 1) * DiskPageCycles;

    /// <summary>
    /// Writing one page out during reclaim (swap-out or dirty file page), in cycles (<c>latency.swap_write</c>);
    /// also the gap between two kswapd batches.
    /// </summary>
    public long SwapOutCycles { get; init; } = Defaults.SwapWrite;

    /// <summary>
    /// folio_zero_user of a THP fault's order-9 folio (<c>latency.clear_huge_page</c>): the 512 pages are cleared after
    /// the memcg charge (and the reclaim it may make) and before the PMD is mapped, so this is time between one THP
    /// charge and the next that the faulting task spends on the CPU. 0 turns it off.
    /// </summary>
    public long ClearHugePageCycles { get; init; } = Defaults.ClearHugePage;

    /// <summary>
    /// Cycles one disk request writing <paramref name="pages"/> pages takes (at least one page): a batch of writes is
    /// one request, as a readahead batch is, taking <see cref="SwapOutCycles"/> + (n - 1) × <see cref="DiskPageCycles"/>.
    /// </summary>
    public long DiskWriteCycles(int pages) => SwapOutCycles + (Math.Max(pages, 1) - 1) * DiskPageCycles;

    /// <summary>One remote TLB shootdown: IPI, remote flush, acknowledgement (<c>latency.shootdown</c>).</summary>
    public long TlbShootdownCycles { get; init; } = Defaults.Shootdown;

    /// <summary>
    /// One INVLPG. Default 300: arch/x86/mm/tlb.c sizes tlb_single_page_flush_ceiling on "each single flush
    /// is about 100 ns" (300 cycles at 3 GHz). Not a scenario key.
    /// </summary>
    public long TlbFlushOneCycles { get; init; } = 300;

    /// <summary>
    /// Direct cost of a context switch without the refill misses, which the simulation counts itself
    /// (<c>latency.context_switch</c>).
    /// </summary>
    public long ContextSwitchCycles { get; init; } = Defaults.ContextSwitch;

    /// <summary>
    /// A page write(2) adds to a tmpfs file or memfd (generic_perform_write's step: shmem_write_begin allocating,
    /// charging and adding the page, copy_page_from_iter, shmem_write_end). Default 3,600 (1.2 µs at 3 GHz): the
    /// writer's system time per page of a 24 MiB pwrite into a fresh file, measured on 6.18 with no limit reached
    /// (oracle/experiments/shmem-write-cost: 1.09–1.47 µs in 19 of 20 passes, one 9.5; median 1.2). Not a scenario key.
    /// </summary>
    public long ShmemWriteNewPageCycles { get; init; } = 3_600;

    /// <summary>
    /// A page write(2) or read(2) of a tmpfs file or memfd finds in the page cache, or a hole a read copies zeroes from
    /// (the lookup and the 4 KiB copy). Default 1,290 (0.43 µs at 3 GHz): the same experiment's second pass over the
    /// written file (0.42–0.45 µs over 10 runs); read's copy_page_to_iter is taken to cost what the write's copy does
    /// (not measured). Not a scenario key.
    /// </summary>
    public long ShmemCopyPageCycles { get; init; } = 1_290;

    /// <summary>The default model.</summary>
    public static TimingModel Default { get; } = new();

    /// <summary>Cycles to serve an access from <paramref name="level"/>.</summary>
    public long CacheCycles(MemoryLevel level) => level switch
    {
        MemoryLevel.L1 => L1HitCycles,
        MemoryLevel.L2 => L2HitCycles,
        MemoryLevel.L3 => L3HitCycles,
        _ => MemoryCycles,
    };

    /// <summary>Cycles of a full page walk: <see cref="PageWalkLevels"/> × <see cref="PageWalkLevelCycles"/>.</summary>
    public long PageWalkCycles => PageWalkLevels * PageWalkLevelCycles;

    /// <summary>
    /// Translation cycles of one access: L1 hit → <see cref="L1TlbHitCycles"/>; STLB hit →
    /// <see cref="StlbHitCycles"/>; miss → the STLB probe plus a page walk.
    /// </summary>
    public long TranslationCycles(TlbOutcome outcome) => outcome switch
    {
        TlbOutcome.L1Hit => L1TlbHitCycles,
        TlbOutcome.StlbHit => StlbHitCycles,
        _ => StlbHitCycles + PageWalkCycles,
    };

    /// <summary>A major fault: the minor-fault work plus the device read.</summary>
    public long MajorFaultCycles => MinorFaultCycles + MajorFaultReadCycles;

    /// <summary>The device read of a major fault in µs at <see cref="ClockGHz"/> (a view; the model keeps cycles).</summary>
    public double MajorFaultMicroseconds => MajorFaultReadCycles / (ClockGHz * 1000.0);

    /// <summary>One page written out in µs at <see cref="ClockGHz"/> (a view; the model keeps cycles).</summary>
    public double SwapOutMicroseconds => SwapOutCycles / (ClockGHz * 1000.0);

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
        Positive(source, nameof(MajorFaultReadCycles), MajorFaultReadCycles);
        Positive(source, nameof(DiskPageCycles), DiskPageCycles);
        Positive(source, nameof(SwapOutCycles), SwapOutCycles);
        Positive(source, nameof(TlbShootdownCycles), TlbShootdownCycles);
        Positive(source, nameof(TlbFlushOneCycles), TlbFlushOneCycles);
        Positive(source, nameof(ContextSwitchCycles), ContextSwitchCycles);
        Positive(source, nameof(ShmemWriteNewPageCycles), ShmemWriteNewPageCycles);
        Positive(source, nameof(ShmemCopyPageCycles), ShmemCopyPageCycles);
        if (ClearHugePageCycles < 0)
            throw new InputException(source, 0, $"{nameof(ClearHugePageCycles)}={ClearHugePageCycles}", $"{nameof(ClearHugePageCycles)} cannot be negative");
    }

    private static void Positive(string source, string name, long value)
    {
        if (value <= 0)
            throw new InputException(source, 0, $"{name}={value}", $"{name} must be a positive number of cycles");
    }
}
