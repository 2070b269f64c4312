namespace EcsMem.Scenarios;

/// <summary>
/// The simulated machine: memory sizes, MMU, caches, TLBs, costs, reclaim tunables and engine knobs.
/// Every property has the default a scenario gets when it leaves the key out. These are the only defaults of
/// the machine: the runtime settings (<c>KernelOptions</c>, <c>TimingModel</c>, the TLB and cache
/// configurations in Ecs.Mem.Systems) take theirs from <see cref="Default"/>, so a machine built by hand and
/// one built from a scenario that sets nothing are the same machine.
/// </summary>
public sealed record MachineConfig
{
    /// <summary>The machine a scenario gets when it sets nothing: the single source of every machine default.</summary>
    public static MachineConfig Default { get; } = new();

    /// <summary>The only page size supported so far (x86 base pages).</summary>
    public const int SupportedPageSize = 4096;

    /// <summary>
    /// Largest simulated swap: 64 GiB. The swap map is dense, 17 bytes of host memory per 4 KiB slot whether used or
    /// not, so 64 GiB costs 272 MiB of host memory (2 TiB would cost 8.5 GiB).
    /// </summary>
    public const long MaxSwapBytes = 64L << 30;

    /// <summary>Why swap stops at <see cref="MaxSwapBytes"/>, for error messages.</summary>
    public const string MaxSwapReason =
        "swap larger than 64 GiB is not simulated: the swap map keeps 17 bytes of host memory per 4 KiB slot, used or not";

    /// <summary>Fewest CPUs a machine may have (<c>machine.cpus</c>).</summary>
    public const int MinCpus = 1;

    /// <summary>Most CPUs a machine may have (<c>machine.cpus</c>).</summary>
    public const int MaxCpus = 64;

    /// <summary>Configured cache geometry, or <c>cpu: host</c> (read sysfs at start; the cache records then hold the defaults).</summary>
    public CpuGeometrySource Cpu { get; init; } = CpuGeometrySource.Configured;

    /// <summary>
    /// Number of CPUs (<see cref="MinCpus"/>..<see cref="MaxCpus"/>), each with its own TLBs and its private cache levels
    /// (those whose <see cref="CacheConfig.Shared"/> is false); shared levels have one instance for all of them.
    /// </summary>
    public int Cpus { get; init; } = 1;

    /// <summary>Physical memory in bytes, a multiple of <see cref="PageSize"/>.</summary>
    public long RamBytes { get; init; } = 64L << 20;

    /// <summary>Swap space in bytes (0 = no swap), a multiple of <see cref="PageSize"/>.</summary>
    public long SwapBytes { get; init; }

    /// <summary>
    /// <c>machine.swap_type</c>: <c>partition</c> is a block device (SWP_BLKDEV), which takes order-9 swap entries, so
    /// reclaim swaps a THP out whole (THP_SWAP); <c>file</c> (the default, like the kit's swap file) is a swap file,
    /// which cluster_alloc_swap_entry refuses large entries, so a THP is split first (thp_swpout_fallback).
    /// </summary>
    public bool SwapBlockDevice { get; init; }

    /// <summary>Page size in bytes; always 4096 for now.</summary>
    public int PageSize { get; init; } = SupportedPageSize;

    /// <summary>Page-table format.</summary>
    public PagingMode Paging { get; init; } = PagingMode.X86_64;

    /// <summary>Level-1 instruction cache (32K 8-way 64-byte lines), private to each CPU.</summary>
    public CacheConfig L1i { get; init; } = new(32 << 10, 8, 64, CacheInclusion.NonInclusive) { Shared = false };

    /// <summary>Level-1 data cache (32K 8-way 64-byte lines), private to each CPU.</summary>
    public CacheConfig L1d { get; init; } = new(32 << 10, 8, 64, CacheInclusion.NonInclusive) { Shared = false };

    /// <summary>Unified level-2 cache (256K 4-way 64-byte lines), non-inclusive and private to each CPU as on Intel cores.</summary>
    public CacheConfig L2 { get; init; } = new(256 << 10, 4, 64, CacheInclusion.NonInclusive) { Shared = false };

    /// <summary>Level-3 cache (3072K 12-way 64-byte lines, 4096 sets), inclusive and shared by all CPUs as on Intel client parts.</summary>
    public CacheConfig L3 { get; init; } = new(3072 << 10, 12, 64, CacheInclusion.Inclusive) { Shared = true };

    /// <summary>Level-1 data TLB (64 entries, 4-way).</summary>
    public TlbConfig Dtlb { get; init; } = new(64, 4);

    /// <summary>Level-1 instruction TLB (128 entries, 8-way).</summary>
    public TlbConfig Itlb { get; init; } = new(128, 8);

    /// <summary>Second-level (shared) TLB (1536 entries, 12-way), holding 4 KiB and 2 MiB entries.</summary>
    public TlbConfig Stlb { get; init; } = new(1536, 12);

    /// <summary>Level-1 data TLB for 2M/4M pages (32 entries, 4-way), next to the 4 KiB one (Skylake).</summary>
    public TlbConfig Dtlb2M { get; init; } = new(32, 4);

    /// <summary>Level-1 instruction TLB for 2M/4M pages (8 entries, fully associative; Skylake has 8 per thread).</summary>
    public TlbConfig Itlb2M { get; init; } = new(8, 8);

    /// <summary>Paging-structure caches (<c>machine.tlb.psc</c>); null (the default): none, every walk reads all its levels.</summary>
    public PscConfig? Psc { get; init; }

    /// <summary>Costs in cycles.</summary>
    public LatencyConfig Latency { get; init; } = new();

    /// <summary>Page-replacement policy and its options.</summary>
    public ReplacementPolicyConfig Policy { get; init; } = ReplacementPolicyConfig.Default;

    /// <summary><c>vm.min_free_kbytes</c> override; null = let the simulator derive it from RAM as Linux does.</summary>
    public long? MinFreeKbytes { get; init; }

    /// <summary><c>vm.swappiness</c>, 0..200: relative preference for reclaiming anonymous vs file pages.</summary>
    public int Swappiness { get; init; } = 60;

    /// <summary><c>vm.compaction_proactiveness</c>, 0..100 (Linux's default 20): kcompactd's proactive compaction; 0 turns it off.</summary>
    public int CompactionProactiveness { get; init; } = 20;

    /// <summary><c>vm.watermark_boost_factor</c> (0 turns watermark boosting off; Linux's default 15000).</summary>
    public int WatermarkBoostFactor { get; init; } = 15000;

    /// <summary>
    /// <c>machine.writeback</c>: <c>async</c> (Linux) writes swap-outs by I/O requests that complete in simulated time,
    /// the pages staying resident under PG_writeback until then; <c>sync</c> completes the write inside reclaim (the
    /// model before writeback existed). Default sync, so runs recorded before keep their figures.
    /// </summary>
    public bool WritebackAsync { get; init; }

    /// <summary><c>vm.dirty_background_ratio</c> (<c>machine.dirty_background_ratio</c>, 0–100): percent of dirtyable memory above which the flusher writes in the background.</summary>
    public int DirtyBackgroundRatio { get; init; } = 10;

    /// <summary><c>vm.dirty_background_bytes</c>: replaces the ratio when non-zero (Linux zeroes one when the other is written).</summary>
    public long DirtyBackgroundBytes { get; init; }

    /// <summary><c>vm.dirty_ratio</c> (0–100): percent of dirtyable memory above which writers are throttled (balance_dirty_pages).</summary>
    public int DirtyRatio { get; init; } = 20;

    /// <summary><c>vm.dirty_bytes</c>: replaces the ratio when non-zero.</summary>
    public long DirtyBytes { get; init; }

    /// <summary><c>vm.dirty_expire_centisecs</c>: dirty data older than this is written by the flusher's periodic pass (default 30 s).</summary>
    public long DirtyExpireCentisecs { get; init; } = 3000;

    /// <summary><c>vm.dirty_writeback_centisecs</c>: the flusher's period (default 5 s; 0 turns the periodic pass off).</summary>
    public long DirtyWritebackCentisecs { get; init; } = 500;

    /// <summary>
    /// <c>machine.disk_max_segments</c>: the swap device queue's max_segments (/sys/block/DEV/queue/max_segments), the
    /// most pages one write request carries (asynchronous writeback). Default <see cref="DefaultDiskMaxSegments"/>.
    /// </summary>
    public int DiskMaxSegments { get; init; } = DefaultDiskMaxSegments;

    /// <summary>
    /// <c>machine.disk_queue_depth</c>: write requests the swap device serves at once, each with its own latency
    /// (asynchronous writeback). Default 1: one after another.
    /// </summary>
    public int DiskQueueDepth { get; init; } = 1;

    /// <summary><c>machine.reclaim_cost</c>: reclaim's CPU time per step, measured on 6.18 (see <see cref="ReclaimCostConfig"/>).</summary>
    public ReclaimCostConfig ReclaimCost { get; init; } = new();

    /// <summary>254: virtio-blk's max_segments, measured on the kit's machine (oracle/experiments/shmem-swap-disk: its swap writes were 1,040,384-byte requests).</summary>
    public const int DefaultDiskMaxSegments = 254;

    /// <summary><c>machine.cgroup_version</c>, 1 or 2: the memory controller's hierarchy (v1 memcg reclaim waits on writeback, writeback_throttling_sane).</summary>
    public int CgroupVersion { get; init; } = 2;

    /// <summary>
    /// <c>vm.page-cluster</c>, 0..<see cref="MaxPageCluster"/>: swap readahead reads up to 2^page_cluster pages per
    /// swap-in (swapin_nr_pages); 0 turns swap readahead off. Linux's default is 3 (8 pages).
    /// </summary>
    public int PageCluster { get; init; } = 3;

    /// <summary>Largest <see cref="PageCluster"/> accepted (2^20 pages, 4 GiB, is already more than any window a run can use).</summary>
    public const int MaxPageCluster = 20;

    /// <summary>
    /// <c>machine.swap_ra_hits</c>: swapin_readahead_hits when the run starts (swap_cluster_readahead's global hit count,
    /// 4 at boot: ATOMIC_INIT(4)). A static of mm/swap_state.c that outlives a process: on a machine that has swapped
    /// before, it holds the hits since the last swap-in of any earlier process (oracle/experiments/shmem-swapin-ra).
    /// </summary>
    public int SwapRaHits { get; init; } = 4;

    /// <summary>
    /// <c>machine.swap_ra_window</c>: swapin_nr_pages' last_readahead_pages when the run starts (0 at boot): the window
    /// of the last swap-in before the run, of which the next window keeps at least half.
    /// </summary>
    public int SwapRaWindow { get; init; }

    /// <summary>
    /// <c>machine.swap_ra_prev_offset</c>: swapin_nr_pages' prev_offset when the run starts (0 at boot): the swap offset of
    /// the last swap-in before the run that found no hits, next to which a hitless swap-in still reads ahead.
    /// </summary>
    public long SwapRaPrevOffset { get; init; }

    /// <summary>
    /// <c>machine.swap_ra_clear_reclaim</c>: a swap-cache hit's folio_test_clear_readahead clears PG_reclaim of a page under
    /// reclaim's writeback (PG_readahead is PG_reclaim), so folio_end_writeback does not rotate it (folio_rotate_reclaimable
    /// runs only while folio_test_reclaim). True (the default since session 26) is Linux 6.18's rule; false: the hit is
    /// counted but PG_reclaim stays to the write's end and the page is rotated (EcsMem before session 26). With the rule
    /// swap-anon-write's fill ends as 8 of 40 fresh kernel runs end, below session 22's record (session 26, branch allrules,
    /// oracle/known-gaps-history.md; its fixture holds both records since).
    /// </summary>
    public bool SwapRaClearReclaim { get; init; } = true;

    /// <summary>
    /// Swap readahead by virtual address (swap_vma_readahead, <c>swap_readahead: vma</c>: what Linux uses when every swap
    /// device is non-rotational and /sys/kernel/mm/swap/vma_ra_enabled is true) instead of by swap offset
    /// (swap_cluster_readahead, <c>cluster</c>, the default: what Linux uses as soon as a rotational swap device is on,
    /// as with a swap file on a spinning or virtio disk).
    /// </summary>
    public bool SwapVmaReadahead { get; init; }

    /// <summary>
    /// <c>/sys/kernel/mm/transparent_hugepage/../fault_around_bytes</c> (debugfs <c>fault_around_bytes</c>), 0..2 MiB:
    /// how much of the page cache around a read fault on a file mapping is mapped at once (do_fault_around). Linux
    /// rounds it down to a power of two of pages; 4096 (one page) turns fault-around off.
    /// </summary>
    public long FaultAroundBytes { get; init; } = 65536;

    /// <summary>
    /// <c>/sys/block/DEV/queue/read_ahead_kb</c> of the one simulated disk: the readahead window's maximum
    /// (bdi-&gt;ra_pages = read_ahead_kb / 4). 0 turns readahead off. Linux's default (VM_READAHEAD_PAGES) is 128.
    /// </summary>
    public long ReadAheadKb { get; init; } = 128;

    /// <summary>
    /// Whether the simulated filesystem's files support large page-cache folios (mapping_large_folio_support; ext4,
    /// XFS and btrfs on Linux 6.18 do): readahead then builds folios of order 2 and up (page_cache_ra_order). False is a
    /// filesystem without them: every page-cache page is a single page (<c>machine.large_folios</c>).
    /// </summary>
    public bool LargeFolios { get; init; } = true;

    /// <summary>
    /// <c>machine.readahead_requests</c>: readahead's reads go to the disk as the block layer forms requests under
    /// read_pages' plug (bvecs of physically contiguous pages, bios of 256 bvecs, split at max_sectors_kb 4096 /
    /// max_segments 254 and back-merged into the plug's last request), as Linux does: the default. False is the older
    /// model, bios of 256 folios.
    /// </summary>
    public bool ReadaheadRequests { get; init; } = true;

    /// <summary>
    /// <c>machine.per_cpu_pages</c>: the per-CPU page lists (struct per_cpu_pages) in front of the buddy allocator, on
    /// at every CPU count as Linux always has them (the default). False is the older model: order-0 pages straight
    /// from the buddy free lists.
    /// </summary>
    public bool PerCpuPages { get; init; } = true;

    /// <summary>
    /// <c>machine.pcp_high_tuning</c>: Linux 6.7+'s self-tuning per-CPU lists (pcp-&gt;high between high_min and
    /// high_max: nr_pcp_alloc, nr_pcp_high, decay_pcp_high every second), on by default as in the kernels of today;
    /// false is Linux 6.6's fixed high (the low watermark split across the CPUs) and free_factor.
    /// </summary>
    public bool PcpHighTuning { get; init; } = true;

    /// <summary>
    /// <c>machine.pcp_high_order</c>: per-CPU lists for orders 1..PAGE_ALLOC_COSTLY_ORDER as well (Linux 5.13+:
    /// order_to_pindex; readahead's and write_begin's large folios come from and go back to their order's list, last
    /// freed first). On by default since session 26, the kernel's mechanism (off in session 25, when the oracle kit agreed
    /// on one program fewer with them; since <see cref="ReclaimFreeBatch"/> it agrees on as many either way); false:
    /// orders 1-3 from the buddy allocator alone.
    /// </summary>
    public bool PcpHighOrder { get; init; } = true;

    /// <summary>
    /// <c>machine.swapin_fault_in_window</c>: a swap-in whose cluster or VMA readahead window is more than one page
    /// takes its faulting page into the swap cache and the lru_add batch inside the window's loop, in slot order, as
    /// swap_cluster_readahead's and swap_vma_readahead's loops do (mm/swap_state.c), so the window reaches the LRU in
    /// slot order. Off by default (the faulting page joins the batch after the window's drain): measured on Linux 6.18
    /// (oracle/experiments/swap-slots-harness) it puts <c>buf</c>'s pages on the kernel's slots at the read passes' ends,
    /// but the oracle kit agrees on one program fewer with it (swappiness-200's file2, session 26, oracle/known-gaps.md).
    /// </summary>
    public bool SwapinFaultInWindow { get; init; }

    /// <summary>
    /// <c>machine.charge_after_alloc</c>: under a memory cgroup a new page is taken from the allocator first and charged
    /// after, as Linux's paths do (ra_alloc_folio → filemap_add_folio's mem_cgroup_charge, folio_prealloc,
    /// __read_swap_cache_async's mem_cgroup_swapin_charge_folio), so a charge that reclaims holds its page through that
    /// reclaim and the page that triggered it is not one the reclaim freed. False: charged first, the page allocated
    /// after the charge went through (EcsMem before session 27). On by default (the kernel's order; the oracle kit agrees
    /// on as many programs either way). Simplified: khugepaged's collapse is still charged first.
    /// </summary>
    public bool ChargeAfterAlloc { get; init; } = true;

    /// <summary>
    /// <c>machine.swap_ra_plug_flush</c>: a memcg reclaim entered from a charge inside swap readahead's plug sends its
    /// writes to the disk once the plug's first request, its own first write request when the loop had read nothing
    /// with a bio before that charge (zero-filled or cached slots below it, or the window's first slot charging), holds
    /// 128 KiB and another starts (blk_add_rq_to_plug's BLK_PLUG_FLUSH_SIZE test), as traced on Linux 6.18 (session 29,
    /// oracle/experiments/sw60-rounds). Off by default (every such reclaim's writes stay plugged until it ends): the
    /// oracle kit agrees on one program fewer with it (oracle/known-gaps.md, session 29).
    /// </summary>
    public bool SwapRaPlugFlush { get; init; }

    /// <summary>
    /// <c>machine.reclaim_free_batch</c>: reclaim frees its folios per shrink_folio_list call, a folio_batch
    /// (PAGEVEC_SIZE, 31 folios) at a time and at the call's end, as Linux's free_unref_folios does (true, the default),
    /// rather than all of a tick's at its end (false, EcsMem before session 26). Only the Linux lruvec's reclaim
    /// (policy linux) has the batches; the simple policies free at the tick's end either way.
    /// </summary>
    public bool ReclaimFreeBatch { get; init; } = true;

    /// <summary>
    /// <c>vm.overcommit_memory</c>: 0 heuristic (OVERCOMMIT_GUESS, Linux's default: only a single charge larger than
    /// RAM plus swap is refused), 1 always (never refused), 2 never (strict: Committed_AS stays below CommitLimit).
    /// </summary>
    public int OvercommitMemory { get; init; }

    /// <summary>
    /// <c>machine.readahead_queue</c> (with <c>readahead_requests</c>): readahead's requests queue on the data disk under
    /// mq-deadline (sector order in batches of fifo_batch, the oldest after read_expire), the device serving one at a
    /// time with the next held on hctx-&gt;dispatch. False (the default): each window's requests start at its submission, windows overlap.
    /// </summary>
    public bool ReadaheadQueue { get; init; }

    /// <summary><c>vm.overcommit_ratio</c>: the percent of RAM in CommitLimit (mode 2); Linux's default is 50.</summary>
    public long OvercommitRatio { get; init; } = 50;

    /// <summary><c>vm.overcommit_kbytes</c>: when non-zero, CommitLimit's RAM part in KiB instead of the ratio (Linux keeps one of the two).</summary>
    public long OvercommitKbytes { get; init; }

    /// <summary><c>vm.admin_reserve_kbytes</c> override; null = init_admin_reserve's min(free RAM / 32, 8 MiB) at boot.</summary>
    public long? AdminReserveKbytes { get; init; }

    /// <summary><c>vm.user_reserve_kbytes</c> override; null = init_user_reserve's min(free RAM / 32, 128 MiB) at boot.</summary>
    public long? UserReserveKbytes { get; init; }
    /// <summary>Transparent huge pages (<c>machine.thp</c>: enabled, defrag, use_zero_page).</summary>
    public ThpConfig Thp { get; init; } = ThpConfig.Default;

    /// <summary>
    /// machine.hugetlb: the 2 MiB hugetlb pool's sysctls, /proc/sys/vm/nr_hugepages (pages taken from the buddy allocator
    /// at boot) and nr_overcommit_hugepages (surplus pages allowed on demand). Default 0 and 0, as Linux boots.
    /// </summary>
    public HugetlbConfig Hugetlb { get; init; } = new();

    /// <summary>
    /// <c>machine.free_area</c>: the free blocks per order (0..10) the machine starts with, placed at random with
    /// <see cref="Seed"/> and every other page held (an aged machine's free lists); null: a fresh boot, every page
    /// in the largest aligned blocks.
    /// </summary>
    public FreeAreaConfig? FreeArea { get; init; }

    /// <summary>The multi-gen LRU (<c>machine.lru_gen</c>: enabled, min_ttl_ms); off by default.</summary>
    public LruGenConfig LruGen { get; init; } = LruGenConfig.Default;

    /// <summary>Largest <see cref="FaultAroundBytes"/> Linux accepts: one PTE page's worth (PTRS_PER_PTE pages).</summary>
    public const long MaxFaultAroundBytes = 512L * 4096;

    /// <summary>Largest <see cref="ReadAheadKb"/> accepted (1 GiB): a window beyond any simulated RAM.</summary>
    public const long MaxReadAheadKb = 1L << 20;

    /// <summary>Whether TLB entries are tagged with a process-context id, so a context switch need not flush the TLB.</summary>
    public bool Pcid { get; init; } = true;

    /// <summary>Scheduler time slice, in accesses of the running process (at least 1).</summary>
    public long Quantum { get; init; } = 10_000;

    /// <summary>
    /// With several CPUs, the epoch (cycles) in which they interleave: every CPU finishes an epoch, in CPU order,
    /// before any starts the next, so shared caches, page tables and TLB state see their accesses in time order
    /// at this granularity. Shorter is finer and costs more host time (1000: 1.16x the one-CPU cost per access,
    /// 5000: 1.07x; docs/perf.md).
    /// </summary>
    public long SmpEpoch { get; init; } = 1000;

    /// <summary>Accesses the engine processes per tick; a performance knob that must not change results.</summary>
    public int BatchSize { get; init; } = 4096;

    /// <summary>Seed of every random choice the simulator makes (policies and generators derive theirs from it).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Number of physical page frames.</summary>
    public long RamPages => RamBytes / PageSize;

    /// <summary>Number of swap slots.</summary>
    public long SwapPages => SwapBytes / PageSize;
}
