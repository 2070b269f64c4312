using EcsMem.Components;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Timing;

namespace EcsMem.Systems.Kernel;

/// <summary>The simulated machine and kernel settings (what a scenario's <c>machine:</c> section sets).</summary>
public sealed record KernelOptions
{
    /// <summary>Physical memory in bytes (a whole number of pages).</summary>
    public long RamBytes { get; init; } = 64L << 20;

    /// <summary>Swap area size in bytes; 0 means no swap.</summary>
    public long SwapBytes { get; init; } = 64L << 20;

    public PagingMode Paging { get; init; } = PagingMode.X86_64;

    /// <summary>Replacement policy name (see PolicyRegistry).</summary>
    public string Policy { get; init; } = "linux";

    /// <summary>vm.min_free_kbytes override; null derives it as Linux does.</summary>
    public long? MinFreeKbytes { get; init; }

    /// <summary>Map the shared zero page on read faults of never-written anonymous memory (as Linux does).</summary>
    public bool UseZeroPage { get; init; } = true;

    /// <summary>Number of CPUs (1..64): each has its own TLBs, L1/L2 caches, running task and quantum.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>
    /// Per-CPU page lists (struct per_cpu_pages) in front of the buddy allocator for order-0 pages, as Linux has
    /// them: true on, false off, null (the default) on when <see cref="Cpus"/> &gt; 1 and off with one CPU. Linux
    /// always has them; the one-CPU default is off as a deliberate compatibility choice, so that every existing
    /// one-CPU scenario and report stays byte-identical to what it was before the lists were modelled.
    /// </summary>
    public bool? PerCpuPages { get; init; }

    /// <summary>Whether the per-CPU page lists are in use (<see cref="PerCpuPages"/> resolved against <see cref="Cpus"/>).</summary>
    public bool PerCpuPagesEnabled => PerCpuPages ?? Cpus > 1;

    /// <summary>Scheduler quantum in accesses (a model parameter: it changes results).</summary>
    public int Quantum { get; init; } = 10_000;

    /// <summary>Most accesses the access stage issues in one tick (a performance knob: it never changes results).</summary>
    public int BatchSize { get; init; } = 4096;

    public ulong Seed { get; init; } = 1;

    public TimingModel Timing { get; init; } = TimingModel.Default;

    public TlbConfig Tlb { get; init; } = TlbConfig.Default;

    public CacheHierarchyConfig Caches { get; init; } = CacheHierarchyConfig.Seed;

    /// <summary>Pages reclaimed per reclaim pass (SWAP_CLUSTER_MAX).</summary>
    public int SwapClusterMax { get; init; } = 32;

    public long PageCount => RamBytes / (long)Pte.PageSize;
    public int SwapSlots => SwapBytes == 0 ? 0 : (int)(SwapBytes / (long)Pte.PageSize);
}
