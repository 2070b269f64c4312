namespace EcsMem.Scenarios;

/// <summary>
/// Costs, in CPU cycles, charged by the simulator. Defaults are round figures for a ~3 GHz desktop core
/// of the lscpu in the seed lecture (Sandy/Ivy Bridge class) with an SSD as swap device.
/// </summary>
public sealed record LatencyConfig
{
    /// <summary>L1 hit (load-to-use).</summary>
    public long L1 { get; init; } = 4;

    /// <summary>L2 hit.</summary>
    public long L2 { get; init; } = 12;

    /// <summary>L3 hit.</summary>
    public long L3 { get; init; } = 40;

    /// <summary>DRAM access after missing every cache level.</summary>
    public long Memory { get; init; } = 200;

    /// <summary>Second-level TLB hit after an L1 TLB miss.</summary>
    public long Stlb { get; init; } = 7;

    /// <summary>Each page-table level read by the hardware walker (added per level on a TLB miss).</summary>
    public long WalkLevel { get; init; } = 20;

    /// <summary>Minor fault: the page is in memory (or zero-filled); only the PTE is set up.</summary>
    public long MinorFault { get; init; } = 1_000;

    /// <summary>Major fault: the page is read from swap or a file. Default = 100 µs at 3 GHz.</summary>
    public long MajorFault { get; init; } = 300_000;

    /// <summary>
    /// Each further page of a multi-page disk read (a readahead batch is one request: <see cref="MajorFault"/> for
    /// the request plus this per extra page). Default = 2 µs at 3 GHz, 4 KiB at about 2 GB/s.
    /// </summary>
    public long DiskPage { get; init; } = 6_000;

    /// <summary>
    /// folio_zero_user of the order-9 folio a THP fault maps (do_huge_pmd_anonymous_page → vma_alloc_anon_folio_pmd:
    /// 512 pages cleared after the charge, before the PMD is set). Default = 180 µs at 3 GHz, measured on Linux 6.18
    /// (oracle/experiments/thp-swap-memcg, gap.awk: 172–253 µs from a THP charge to the next THP fault, 511 stores
    /// included; a user-space probe's first store to a 2 MiB block, 137–277 µs).
    /// </summary>
    public long ClearHugePage { get; init; } = 540_000;

    /// <summary>Writing one dirty page to swap during reclaim.</summary>
    public long SwapWrite { get; init; } = 300_000;

    /// <summary>A TLB shootdown (IPI to the other CPUs and waiting for their acknowledgement).</summary>
    public long Shootdown { get; init; } = 2_000;

    /// <summary>A context switch between simulated processes (excluding the TLB refill it causes).</summary>
    public long ContextSwitch { get; init; } = 5_000;
}
