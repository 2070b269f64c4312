using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Timing;
using PagingMode = EcsMem.Components.PagingMode;
using TlbConfig = EcsMem.Systems.Tlb.TlbConfig;

namespace EcsMem.Systems.Kernel;

/// <summary>
/// The settings a <see cref="Machine.Machine"/> runs with: what a scenario's <c>machine:</c> section sets, in the
/// runtime's types. It has no defaults of its own: every value a scenario can set defaults to the scenario
/// model's (<see cref="MachineConfig.Default"/>), so <c>new KernelOptions { RamBytes = ..., Policy = "fifo" }</c>
/// is the default scenario's machine with those two changed. <c>ScenarioLoader.Options</c> is the one mapping
/// from a scenario onto these settings. Only <see cref="UseZeroPage"/> and <see cref="SwapClusterMax"/>, which
/// no scenario key reaches, keep a literal here.
/// </summary>
public sealed record KernelOptions
{
    private static MachineConfig D => MachineConfig.Default;

    /// <summary>Physical memory in bytes, a whole number of pages (<c>machine.ram</c>).</summary>
    public long RamBytes { get; init; } = D.RamBytes;

    /// <summary>Swap area size in bytes; 0 means no swap (<c>machine.swap</c>).</summary>
    public long SwapBytes { get; init; } = D.SwapBytes;

    /// <summary>The swap area is a block device (<c>machine.swap_type: partition</c>): THPs are swapped out whole (THP_SWAP).</summary>
    public bool SwapBlockDevice { get; init; } = D.SwapBlockDevice;

    /// <summary>Page-table format (<c>machine.paging</c>).</summary>
    public PagingMode Paging { get; init; } = PagingOf(D.Paging);

    /// <summary>Replacement policy name, see PolicyRegistry (<c>machine.policy</c>).</summary>
    public string Policy { get; init; } = D.Policy.Name;

    /// <summary>vm.min_free_kbytes override; null derives it from RAM as Linux does (<c>machine.min_free_kbytes</c>).</summary>
    public long? MinFreeKbytes { get; init; } = D.MinFreeKbytes;

    /// <summary>vm.swappiness (<c>machine.swappiness</c>, 0–200): get_scan_count's anon/file balance with the <c>linux</c> policy; ignored by the simple policies.</summary>
    public int Swappiness { get; init; } = D.Swappiness;

    /// <summary>vm.watermark_boost_factor (<c>machine.watermark_boost_factor</c>, 0 = off; default 15000): boost_watermark's cap in 1/10000 of the high mark.</summary>
    public int WatermarkBoostFactor { get; init; } = D.WatermarkBoostFactor;

    /// <summary>vm.compaction_proactiveness (<c>machine.compaction_proactiveness</c>, 0–100): kcompactd's proactive compaction (Compaction/Kcompactd.cs).</summary>
    public int CompactionProactiveness { get; init; } = D.CompactionProactiveness;

    /// <summary>Swap-outs written by I/O requests completing in simulated time, PG_writeback meanwhile (<c>machine.writeback: async</c>).</summary>
    public bool WritebackAsync { get; init; } = D.WritebackAsync;

    /// <summary>vm.dirty_background_ratio / _bytes, vm.dirty_ratio / _bytes, vm.dirty_expire_centisecs, vm.dirty_writeback_centisecs (<c>machine.dirty_*</c>): the flusher and balance_dirty_pages, with <see cref="WritebackAsync"/>.</summary>
    public int DirtyBackgroundRatio { get; init; } = D.DirtyBackgroundRatio;

    public long DirtyBackgroundBytes { get; init; } = D.DirtyBackgroundBytes;
    public int DirtyRatio { get; init; } = D.DirtyRatio;
    public long DirtyBytes { get; init; } = D.DirtyBytes;
    public long DirtyExpireCentisecs { get; init; } = D.DirtyExpireCentisecs;
    public long DirtyWritebackCentisecs { get; init; } = D.DirtyWritebackCentisecs;

    /// <summary>The memory cgroup hierarchy's version, 1 or 2 (<c>machine.cgroup_version</c>).</summary>
    public int CgroupVersion { get; init; } = D.CgroupVersion;

    /// <summary>The swap device's max_segments (<c>machine.disk_max_segments</c>): the most pages one write request carries.</summary>
    public int DiskMaxSegments { get; init; } = D.DiskMaxSegments;

    /// <summary>Write requests the swap device serves at once (<c>machine.disk_queue_depth</c>).</summary>
    public int DiskQueueDepth { get; init; } = D.DiskQueueDepth;

    /// <summary>Reclaim's CPU time per step (<c>machine.reclaim_cost</c>), measured on 6.18.</summary>
    public ReclaimCostConfig ReclaimCost { get; init; } = D.ReclaimCost;

    /// <summary>vm.page-cluster (<c>machine.page_cluster</c>): swap readahead reads up to 2^this pages per swap-in.</summary>
    public int PageCluster { get; init; } = D.PageCluster;

    /// <summary>Swap readahead by virtual address (swap_vma_readahead) rather than by swap offset (<c>machine.swap_readahead</c>).</summary>
    public bool SwapVmaReadahead { get; init; } = D.SwapVmaReadahead;

    /// <summary>swapin_readahead_hits when the run starts (<c>machine.swap_ra_hits</c>; 4 at boot).</summary>
    public int SwapRaHits { get; init; } = D.SwapRaHits;

    /// <summary>swapin_nr_pages' last_readahead_pages when the run starts (<c>machine.swap_ra_window</c>; 0 at boot).</summary>
    public int SwapRaWindow { get; init; } = D.SwapRaWindow;

    /// <summary>swapin_nr_pages' prev_offset when the run starts (<c>machine.swap_ra_prev_offset</c>; 0 at boot).</summary>
    public long SwapRaPrevOffset { get; init; } = D.SwapRaPrevOffset;

    /// <summary>
    /// Whether a swap-cache hit on a page under reclaim's writeback clears its PG_reclaim (<c>machine.swap_ra_clear_reclaim</c>,
    /// default true; Linux: PG_readahead is PG_reclaim), so the write's end does not rotate it (<see cref="Swap.SwapReadahead"/>).
    /// </summary>
    public bool SwapRaClearReclaim { get; init; } = D.SwapRaClearReclaim;

    /// <summary>fault_around_bytes (<c>machine.fault_around_bytes</c>): the window do_fault_around maps from the page cache.</summary>
    public long FaultAroundBytes { get; init; } = D.FaultAroundBytes;

    /// <summary>The disk's read_ahead_kb (<c>machine.read_ahead_kb</c>): the readahead window's maximum.</summary>
    public long ReadAheadKb { get; init; } = D.ReadAheadKb;

    /// <summary>
    /// mapping_large_folio_support of the simulated filesystem (<c>machine.large_folios</c>): readahead builds large
    /// page-cache folios. They are built only under the classic <c>linux</c> lruvec (not with lru_gen or the simple
    /// policies, where every page-cache page stays a single page: a simplification, docs/kernel.md).
    /// </summary>
    public bool LargeFolios { get; init; } = D.LargeFolios;

    /// <summary>
    /// Whether readahead's read_pages submits as the block layer forms requests (<c>machine.readahead_requests</c>):
    /// physically contiguous pages share a bvec, bios split at the data disk's queue limits and back-merge into the
    /// plug's requests, a bio's pages unlocking with the request that holds its last part. On by default, as Linux
    /// does; off is the older model, a bio of 256 folios as the unit (docs/kernel.md).
    /// </summary>
    public bool ReadaheadRequests { get; init; } = D.ReadaheadRequests;

    /// <summary>vm.overcommit_memory (<c>machine.overcommit_memory</c>): 0 heuristic, 1 always, 2 never.</summary>
    public int OvercommitMemory { get; init; } = D.OvercommitMemory;

    /// <summary>
    /// Whether readahead's requests queue on the data disk across windows (<c>machine.readahead_queue</c>, with
    /// <see cref="ReadaheadRequests"/>): mq-deadline's choice and a device serving one request at a time
    /// (<see cref="Filemap.MqDeadline"/>). Off (the default): each window's requests follow one another from its own
    /// submission, windows overlapping.
    /// </summary>
    public bool ReadaheadQueue { get; init; } = D.ReadaheadQueue;

    /// <summary>vm.overcommit_ratio (<c>machine.overcommit_ratio</c>): percent of RAM in CommitLimit.</summary>
    public long OvercommitRatio { get; init; } = D.OvercommitRatio;

    /// <summary>vm.overcommit_kbytes (<c>machine.overcommit_kbytes</c>): replaces the ratio when non-zero.</summary>
    public long OvercommitKbytes { get; init; } = D.OvercommitKbytes;

    /// <summary>vm.admin_reserve_kbytes override (<c>machine.admin_reserve_kbytes</c>); null derives it at boot.</summary>
    public long? AdminReserveKbytes { get; init; } = D.AdminReserveKbytes;

    /// <summary>vm.user_reserve_kbytes override (<c>machine.user_reserve_kbytes</c>); null derives it at boot.</summary>
    public long? UserReserveKbytes { get; init; } = D.UserReserveKbytes;

    /// <summary>
    /// fault_around_pages as fault_around_bytes_set computes it: the bytes rounded down to a power of two, in pages,
    /// at least one (one page means no fault-around: should_fault_around is false).
    /// </summary>
    public int FaultAroundPages => FaultAroundBytes < (long)Pte.PageSize
        ? 1
        : (int)(System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)FaultAroundBytes + 1) / 2 / Pte.PageSize);

    /// <summary>bdi-&gt;ra_pages: the readahead window's maximum in pages (read_ahead_kb / 4 with 4 KiB pages).</summary>
    public int RaPages => (int)(ReadAheadKb * 1024 / (long)Pte.PageSize);

    /// <summary>Transparent huge pages (<c>machine.thp</c>): enabled, defrag, use_zero_page.</summary>
    public Scenarios.ThpConfig Thp { get; init; } = D.Thp;

    /// <summary>The hugetlb pool's sysctls (<c>machine.hugetlb</c>).</summary>
    public Scenarios.HugetlbConfig Hugetlb { get; init; } = D.Hugetlb;

    /// <summary>The free blocks per order the zone starts with (<c>machine.free_area</c>); null: a fresh boot's.</summary>
    public Scenarios.FreeAreaConfig? FreeArea { get; init; } = D.FreeArea;

    /// <summary>The multi-gen LRU's sysfs knobs (<c>machine.lru_gen</c>); its core bit needs the <c>linux</c> policy.</summary>
    public Scenarios.LruGenConfig LruGen { get; init; } = D.LruGen;

    /// <summary>Map the shared zero page on read faults of never-written anonymous memory (as Linux does).</summary>
    public bool UseZeroPage { get; init; } = true;

    /// <summary>
    /// With several CPUs (<c>machine.smp_epoch</c>), the length of the epochs in which they interleave (cycles): all CPUs finish an epoch,
    /// in CPU order, before any starts the next, so shared state sees their accesses in time order at this
    /// granularity (as bound-weave simulators such as ZSim do with their intervals).
    /// </summary>
    public int SmpEpochCycles { get; init; } = (int)D.SmpEpoch;

    /// <summary>Number of CPUs (1..64, <c>machine.cpus</c>): each has its own TLBs, L1/L2 caches, running task and quantum.</summary>
    public int Cpus { get; init; } = D.Cpus;

    /// <summary>
    /// Per-CPU page lists (struct per_cpu_pages) in front of the buddy allocator for order-0 pages
    /// (<c>machine.per_cpu_pages</c>): on by default at every CPU count, as Linux always has them (a uniprocessor
    /// kernel too: zone_pcp_init gives every zone its boot pageset). False is the older model, order-0 pages
    /// straight from the buddy free lists.
    /// </summary>
    public bool PerCpuPages { get; init; } = D.PerCpuPages;

    /// <summary>
    /// Linux 6.7+'s self-tuning per-CPU lists (<c>machine.pcp_high_tuning</c>, default true): each CPU's pcp-&gt;high
    /// moves between high_min and high_max with its allocations and frees and decays every second. False is Linux
    /// 6.6's fixed high and free_factor (<see cref="PageAlloc.PerCpuPageSet"/>).
    /// </summary>
    public bool PcpHighTuning { get; init; } = D.PcpHighTuning;

    /// <summary>
    /// Per-CPU lists for orders 1..3 too (<c>machine.pcp_high_order</c>, default true; Linux 5.13+'s order_to_pindex):
    /// large page-cache folios are allocated from and freed whole to their order's list (<see cref="PageAlloc.Zone.AllocPages"/>).
    /// </summary>
    public bool PcpHighOrder { get; init; } = D.PcpHighOrder;

    /// <summary>
    /// Whether a swap-in's faulting page joins the swap cache and the lru_add batch in slot order inside its readahead
    /// window's loop (<c>machine.swapin_fault_in_window</c>, default false: after the window's drain;
    /// <see cref="Swap.SwapReadahead"/>).
    /// </summary>
    public bool SwapinFaultInWindow { get; init; } = D.SwapinFaultInWindow;

    /// <summary>
    /// Whether a memory cgroup's charge comes after the page's allocation, as in Linux (<c>machine.charge_after_alloc</c>;
    /// the page is held through the reclaim a failed charge makes).
    /// </summary>
    public bool ChargeAfterAlloc { get; init; } = D.ChargeAfterAlloc;

    /// <summary>
    /// Whether a reclaim inside swap readahead's plug with no read heading it flushes its writes at BLK_PLUG_FLUSH_SIZE
    /// (<c>machine.swap_ra_plug_flush</c>, default false; <see cref="PageWriteback.Writeback.HoldPlug"/>).
    /// </summary>
    public bool SwapRaPlugFlush { get; init; } = D.SwapRaPlugFlush;

    /// <summary>
    /// Reclaim frees per shrink_folio_list folio_batch (<c>machine.reclaim_free_batch</c>, default true; see
    /// <see cref="Vmscan.ReclaimHost.FreeFolios"/>); false: at the tick's end.
    /// </summary>
    public bool ReclaimFreeBatch { get; init; } = D.ReclaimFreeBatch;

    /// <summary>Scheduler quantum in accesses (<c>machine.quantum</c>; a model parameter: it changes results).</summary>
    public int Quantum { get; init; } = QuantumOf(D.Quantum);

    /// <summary>Most accesses the access stage issues in one tick (<c>machine.batch</c>; a performance knob: it never changes results).</summary>
    public int BatchSize { get; init; } = D.BatchSize;

    /// <summary>Seed of every random choice (<c>machine.seed</c>).</summary>
    public ulong Seed { get; init; } = D.Seed;

    /// <summary>Costs in cycles (<c>machine.latency</c>).</summary>
    public TimingModel Timing { get; init; } = TimingModel.Default;

    /// <summary>TLB geometry and PCID (<c>machine.tlb</c>, <c>machine.pcid</c>).</summary>
    public TlbConfig Tlb { get; init; } = TlbConfig.Default;

    /// <summary>Cache hierarchy (<c>machine.caches</c>).</summary>
    public CacheHierarchyConfig Caches { get; init; } = CacheHierarchyConfig.Seed;

    /// <summary>Pages reclaimed per reclaim pass (SWAP_CLUSTER_MAX).</summary>
    public int SwapClusterMax { get; init; } = 32;

    /// <summary>The memory cgroups below the root (<c>cgroups:</c>), parents first; empty: no cgroups, the machine as without memcg.</summary>
    public IReadOnlyList<Scenarios.CgroupConfig> Cgroups { get; init; } = Array.Empty<Scenarios.CgroupConfig>();

    /// <summary>
    /// Largest swap area simulated: 64 GiB (16 Mi slots). The swap map is dense (per 4 KiB slot: a 4-byte swap_map
    /// count, a SWAP_HAS_CACHE flag, an 8-byte content token and a 4-byte swap-cache entry, 17 bytes), so 64 GiB of
    /// simulated swap costs 272 MiB of host memory whatever the run uses; 2 TiB would cost 8.5 GiB.
    /// </summary>
    public const long MaxSwapBytes = Scenarios.MachineConfig.MaxSwapBytes;

    /// <summary>Host bytes the swap map costs per simulated swap slot (see <see cref="MaxSwapBytes"/>).</summary>
    public const int SwapMapBytesPerSlot = 17;

    public long PageCount => RamBytes / (long)Pte.PageSize;
    public int SwapSlots => SwapBytes == 0 ? 0 : (int)(SwapBytes / (long)Pte.PageSize);

    /// <summary>The runtime paging mode for a scenario's <c>paging</c> value.</summary>
    public static PagingMode PagingOf(Scenarios.PagingMode mode) => mode switch
    {
        Scenarios.PagingMode.X86 => PagingMode.X86_32,
        Scenarios.PagingMode.X86_64La57 => PagingMode.X86_64_5Level,
        _ => PagingMode.X86_64,
    };

    /// <summary>The scenario's paging value for a runtime paging mode (the inverse of <see cref="PagingOf"/>).</summary>
    public static Scenarios.PagingMode ScenarioPagingOf(PagingMode mode) =>
        mode.Levels switch
        {
            2 => Scenarios.PagingMode.X86,
            5 => Scenarios.PagingMode.X86_64La57,
            _ => Scenarios.PagingMode.X86_64,
        };

    /// <summary>A scenario quantum as the scheduler's int (larger values saturate: no process runs that long).</summary>
    public static int QuantumOf(long quantum) => (int)Math.Min(quantum, int.MaxValue);
}
