using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Policies;
using EcsMem.Systems.Timing;
using PageCacheIndex = EcsMem.Systems.Filemap.PageCache;

namespace EcsMem.Systems.Kernel;

/// <summary>
/// The simulated kernel as a record of references: which zone, page cache, swap area, reverse map, TLBs,
/// caches and task list this machine has. It owns no state and no logic of its own; each mechanism's
/// state and operations live in the folder named after its Linux file (PageAlloc/ page_alloc.c, Memory/
/// memory.c, Filemap/ filemap.c, Swap/ swapfile.c and swap_state.c, Rmap/ rmap.c, Vmscan/ vmscan.c and
/// oom_kill.c, Task/ fork.c and exit.c, AddressSpace/ mmap.c and mprotect.c, Tlb/ arch/x86/mm/tlb.c), and
/// systems reach a mechanism through the reference here.
/// </summary>
public sealed class Kernel
{
    public Kernel(SimEnvironment env, KernelOptions options, string source = "configuration")
    {
        Env = env;
        Options = options;
        Validate(options, source);
        World = env.World;
        C = new KernelCounters(env.Counters);

        int pages = (int)options.PageCount;
        ReclaimHost = new ReclaimHost(this);
        IReplacementPolicy policy = PolicyRegistry.Create(options.Policy, new PolicyOptions(options.Seed), source);
        // The machine's `linux` policy is Linux 6.x's lruvec (anon/file lists, get_scan_count, workingset); the
        // registry's LruLinuxPolicy (one list pair, no page tables) stays the ideal mode's `linux`.
        if (policy is LruLinuxPolicy)
            policy = Lruvec = new Lruvec(ReclaimHost, env.Counters, C, options.Cpus);
        if (policy is IFutureAwarePolicy)
            throw new InputException(source, 0, options.Policy,
                "this policy needs the whole future reference string; use it in the ideal mode (ecsmem run --ideal)");
        policy.Initialize(pages);
        if (Lruvec is not null && options.LruGen.Enabled)
            Lruvec.EnableLruGen(options.LruGen.Caps, options.LruGen.MinTtlMs, LruGen = new LruGenMachine(this));
        Zone = new Zone(World, options, env.Counters, C, policy);
        if (Lruvec is not null)
        {
            FolioBatches = new Vmscan.CpuFolioBatches(this, options.Cpus);
            FolioBatches.Initialize(pages);
            // cpu_fbatches.lru_add: one batch per CPU for every lruvec, each folio moved onto its own (folio_lruvec).
            LruAddBatches = new Vmscan.LruAddBatches(options.Cpus, pfn => LruvecOf(pfn)!);
            LruAddBatches.Initialize(pages, FolioBatches);
            Lruvec.ShareLruAddBatches(LruAddBatches);
        }
        Zone.WakeKswapd = () => WakeupKswapd(env);

        Swap = new SwapArea(options.SwapSlots);
        if (options.Cgroups.Count > 0)
        {
            // Each cgroup's lruvec is one more instance of the machine's policy (mem_cgroup_lruvec); the root's is the
            // zone's. With the `linux` policy it is a Linux lruvec, a child of its parent group's.
            Memcg = new Memcontrol.MemcgController(policy, () =>
            {
                IReplacementPolicy p = Lruvec is not null
                    ? new Lruvec(ReclaimHost, env.Counters, C, options.Cpus)
                    : PolicyRegistry.Create(options.Policy, new PolicyOptions(options.Seed), source);
                p.Initialize(pages);
                if (p is Lruvec lv && LruGen is not null)
                    lv.EnableLruGen(options.LruGen.Caps, options.LruGen.MinTtlMs, LruGen);
                if (p is Lruvec shared && LruAddBatches is not null)
                    shared.ShareLruAddBatches(LruAddBatches);
                return p;
            }, options.Cgroups, pages, options.SwapSlots, options.Cpus)
            { SwapClusterMax = options.SwapClusterMax };
            foreach (Memcontrol.MemCgroup g in Memcg.Groups)
            {
                if (g.Lruvec is Lruvec lv && g.Parent?.Lruvec is Lruvec parentLv)
                    lv.AttachTo(parentLv);
                if (g.Lruvec is Lruvec own)
                {
                    own.Memcg = g; // lruvec_memcg
                    own.DeferredStats = !g.IsRoot; // rstat: reclaim reads the group's stats as last flushed
                    own.StatsFlusher = Memcg; // the controller owns the flush (memcontrol's rstat: one clock)
                }
            }
            Zone.Memcg = Memcg;
            Swap.SlotReleased = Memcg.UnchargeSwap;
        }
        SwapCache = new SwapCache(options.SwapSlots);
        PageCache = new PageCacheIndex();
        Rmap = new ReverseMap(pages);
        Files = new FileTable();
        // One store for every mm's page-table pages: each is a row entity with its entries and its PageTableFrame.
        PageTables = new PageTableStore(World, options.Paging, ComponentType.Of<PageTableFrame>());
        Tlb = new TlbSystem(World, options.Tlb, env.Counters, options.Cpus, env.Clock, (ulong)Math.Round(options.Timing.ClockGHz * 1e9))
        {
            ShootdownCycles = (ulong)options.Timing.TlbShootdownCycles,
            FlushOneCycles = (ulong)options.Timing.TlbFlushOneCycles,
        };
        // radix_tree_node is SLAB_ACCOUNT: the page cache's xarray nodes are charged to the inserting page's group.
        if (Memcg is not null)
        {
            PageCache.Nodes = new Memcontrol.MemcgController.XaNodeAccounting(Memcg, () => Tlb.CurrentCpu);
            Memcg.CurrentCpu = () => Tlb.CurrentCpu; // the CPU of the charge, fault and LRU statistics updates (rstat)
            ShadowNodes = new Workingset.ShadowNodeShrinker(this, env.Counters);
        }
        Caches = CacheHierarchyFactory.Create(World, options.Caches with { Cpus = options.Cpus }, "lru", options.Seed, source);
        Timing = options.Timing;
        Cycles = new CycleAccounting();
        Smp = new Smp(options.Cpus, env.Clock, Tlb, Caches);
        // A shootdown costs the initiator its wait for the acknowledgements and each receiver its flush.
        Tlb.InitiatorWait = cycles =>
        {
            Cycles.Charge(CycleCategory.Shootdown, (long)cycles);
            env.Clock.Advance(cycles);
        };
        Tlb.ChargeRemote = (cpu, cycles) =>
        {
            Cycles.Charge(CycleCategory.Shootdown, (long)cycles);
            Smp.ChargeRemote(cpu, cycles);
        };
        Memory = new MemoryOps(this);
        Mprotect = new Mprotect(this);
        PageWaits = new PageWaitQueue(this);
        Readahead = new Readahead(this, env);
        // init_user_reserve / init_admin_reserve run at boot on the free memory then: the whole RAM less what the
        // zone keeps back here. An aged machine (machine.free_area) booted long ago: its held pages, the ones that
        // are page cache now too, were free then.
        Commit = new AddressSpace.Overcommit((ulong)options.PageCount, (ulong)Swap.UsablePages, (ulong)(Zone.Buddy.NrFreePages + Zone.HeldPages + Zone.HeldCache.Length) * (Pte.PageSize / 1024))
        {
            Policy = (AddressSpace.OvercommitPolicy)options.OvercommitMemory,
            Ratio = (ulong)options.OvercommitRatio,
            Kbytes = (ulong)options.OvercommitKbytes,
        };
        if (options.AdminReserveKbytes is { } ark)
            Commit.AdminReserveKbytes = (ulong)ark;
        if (options.UserReserveKbytes is { } urk)
            Commit.UserReserveKbytes = (ulong)urk;
        OpenFiles = new Filemap.OpenFiles(this);
        Tasks = new TaskList(this);
        Oom = new OomKiller(this);
        SwapReadahead = new SwapReadahead(this, env);
        Thp = new HugeMemory.HugeMemory(this);
        Zone.ThpHeadFreed = Thp.UnqueueDeferredSplit;
        Hugetlb = new Hugetlb.Hugetlb(this, env.Counters);
        Commit.ObjectReleased = Hugetlb.FileReleased;
        // Writeback in simulated time is the Linux lruvec's (machine.writeback: async); the simple policies write at once.
        if (options.WritebackAsync && Lruvec is not null)
        {
            Writeback = new PageWriteback.Writeback(this, env) { MaxSegments = options.DiskMaxSegments, QueueDepth = options.DiskQueueDepth };
            Flusher = Zone.Flusher = new PageWriteback.Flusher(this, Writeback, env);
        }
        Khugepaged = new HugeMemory.Khugepaged(this, env);
        Compaction = new Compaction.Compaction(this);
        Kcompactd = new Compaction.Kcompactd(this, env);
        // An aged machine's page cache (machine.free_area_cache), once the page cache and the LRU exist.
        HeldCacheFile = Filemap.HeldCache.Populate(this, options.FreeArea?.ActiveFile ?? 0);
        // vmstat_update's decay_pcp_high: only the self-tuning lists (6.7+) have a high to decay.
        if (Zone.Pcp is { HighTuning: true } pcp)
            Vmstat = new PageAlloc.VmstatUpdate(this, pcp, env);
    }

    /// <summary>The file id of an aged machine's page cache (<c>machine.free_area_cache</c>, <see cref="Filemap.HeldCache"/>), or -1.</summary>
    public int HeldCacheFile { get; }

    /// <summary>vmstat_update's once-a-second decay of the per-CPU lists' high (null without Linux 6.7+'s tuning).</summary>
    public PageAlloc.VmstatUpdate? Vmstat { get; }

    /// <summary>The hugetlb pool and hugetlbfs mappings (Hugetlb/, mm/hugetlb.c).</summary>
    public Hugetlb.Hugetlb Hugetlb { get; }

    /// <summary>Dirty file pages, the flusher and balance_dirty_pages (fs/fs-writeback.c, mm/page-writeback.c); null without async writeback.</summary>
    public PageWriteback.Flusher? Flusher { get; }

    /// <summary>Writes in flight and their completion (mm/page-writeback.c); null when writes complete inside reclaim.</summary>
    public PageWriteback.Writeback? Writeback { get; }

    public SimEnvironment Env { get; }

    private int _kswapdWakeupKind = -1;

    /// <summary>
    /// wakeup_kswapd for the zone's boosted watermark (rmqueue's ZONE_BOOSTED_WATERMARK): a KswapdWakeup work item for
    /// swap-out. An allocation after swap-out has run in the tick (a page table allocated at fault-install) wakes kswapd
    /// in the next tick, as an event: until session 15 its wakeup went into the finished tick's batch and was dropped.
    /// </summary>
    private void WakeupKswapd(SimEnvironment env)
    {
        if (!env.ConsumersRan<Vmscan.KswapdWakeup>())
        {
            env.Work<Vmscan.KswapdWakeup>().Add(default);
            return;
        }
        if (_kswapdWakeupKind < 0)
            _kswapdWakeupKind = env.RegisterEventKind("kswapd-wakeup", new KswapdWakeupHandler());
        env.Schedule(0, new SimEvent(_kswapdWakeupKind, Entity.Null));
    }

    /// <summary>The next tick's wakeup_kswapd (<see cref="WakeupKswapd"/>).</summary>
    private sealed class KswapdWakeupHandler : IEventHandler
    {
        public void Handle(SimEnvironment env, in SimEvent ev) => env.Work<Vmscan.KswapdWakeup>().Add(default);
    }

    /// <summary>Transparent huge pages (HugeMemory/, mm/huge_memory.c).</summary>
    public HugeMemory.HugeMemory Thp { get; }

    /// <summary>The khugepaged thread (HugeMemory/Khugepaged.cs, mm/khugepaged.c).</summary>
    public HugeMemory.Khugepaged Khugepaged { get; }

    /// <summary>Direct compaction (Compaction/, mm/compaction.c).</summary>
    public Compaction.Compaction Compaction { get; }

    /// <summary>The kcompactd thread (Compaction/Kcompactd.cs): woken after kswapd for high orders, and proactive compaction.</summary>
    public Compaction.Kcompactd Kcompactd { get; }
    public World World { get; }
    public KernelOptions Options { get; }
    public KernelCounters C { get; }

    /// <summary>The node's lruvec when the policy is <c>linux</c> (Linux 6.x reclaim); null with a simple policy.</summary>
    public Lruvec? Lruvec { get; }

    /// <summary>The machine side of the multi-gen LRU when <c>machine.lru_gen</c> enables it (null otherwise).</summary>
    public LruGenMachine? LruGen { get; }

    /// <summary>folio_lruvec as a Linux lruvec: the one the frame's page is on (its memcg's), or null with a simple policy.</summary>
    public Lruvec? LruvecOf(int pfn) => Lruvec is null ? null : Memcg is null ? Lruvec : Memcg.LruvecOf(pfn) as Lruvec;

    /// <summary>lru_add_drain on <paramref name="cpu"/> (lru_add_drain_cpu): that CPU's lru_add batch, then its lru_deactivate and lru_lazyfree batches (none with a simple policy).</summary>
    public void LruAddDrainCpu(int cpu)
    {
        LruAddBatches?.DrainCpu(cpu);
        FolioBatches?.DrainCpu(cpu);
    }

    /// <summary>
    /// The references on <paramref name="pfn"/> other than its lru_add batch's (folio_ref_count less the batch's
    /// folio_get): for the tests Linux makes with the folio drained already (do_swap_page after a swap readahead window of
    /// more than one page, whose faulting folio EcsMem inserts after the drain); truncation tells a fault in flight by it
    /// (a batched folio it leaves to the batch). Invalidation counts the batch's reference and drains as its callers do.
    /// </summary>
    public int PinsBesidesLruAdd(int pfn) => Zone.Pins[pfn] - (LruAddBatches?.InBatch(pfn) == true ? 1 : 0);

    /// <summary>lru_add_drain_all: every CPU's batches (after everything exited they hold the last folios added on each CPU: exit does not drain).</summary>
    public void LruAddDrainAll()
    {
        for (int cpu = 0; cpu < Options.Cpus; cpu++)
            LruAddDrainCpu(cpu);
    }

    /// <summary>cpu_fbatches.lru_add (mm/swap.c): the per-CPU lru_add batches every lruvec shares, with the Linux lruvec; null with a simple policy.</summary>
    public Vmscan.LruAddBatches? LruAddBatches { get; }

    /// <summary>The per-CPU lru_lazyfree batches (mm/swap.c cpu_fbatches) with the Linux lruvec; null with a simple policy.</summary>
    public Vmscan.CpuFolioBatches? FolioBatches { get; }

    /// <summary>The page-level side of reclaim (folio_referenced, shrink_folio_list's unmap and pageout).</summary>
    public ReclaimHost ReclaimHost { get; }

    /// <summary>
    /// The page-table rewrite system, which rewrites reclaim's PTEs and releases its frames (the machine sets it): at the
    /// tick's end, or per shrink_folio_list batch (<see cref="ReclaimHost.FreeFolios"/>). Null: only at the tick's end.
    /// </summary>
    public Rmap.PageTableRewriteSystem? PageTableRewrite { get; set; }

    /// <summary>The zone: frames (struct page), buddy allocator, watermarks, pins and the LRU (PageAlloc/).</summary>
    public Zone Zone { get; }

    /// <summary>The memory controller (Memcontrol/, mm/memcontrol.c) when the scenario declares cgroups; null otherwise.</summary>
    public Memcontrol.MemcgController? Memcg { get; }

    private Rcu.RcuCallbacks? _rcu;

    /// <summary>call_rcu's callbacks (Rcu/, kernel/rcu/tree.c): made at first use, so a run that defers nothing is unchanged.</summary>
    public Rcu.RcuCallbacks Rcu => _rcu ??= new Rcu.RcuCallbacks(Env);

    /// <summary>
    /// mem_cgroup_get_nr_swap_pages: the free swap <paramref name="memcg"/> may still use. cgroup v1 charges swap to
    /// memsw (do_memsw_account), so its groups see the machine's free swap, as does a machine without cgroups.
    /// </summary>
    public long MemCgroupNrSwapPages(Memcontrol.MemCgroup? memcg) =>
        Options.CgroupVersion == 1 ? Swap.FreePages : Memcontrol.MemcgController.GetNrSwapPages(Swap.FreePages, memcg);

    /// <summary>
    /// mem_cgroup_swap_full: swap is more than half used (vm_swap_full), or (cgroup v2) the page's group or an
    /// ancestor uses half its memory.swap.max: then a swap-cache page that is kept or faulted in gives its slot back.
    /// </summary>
    public bool MemCgroupSwapFull(int pfn) =>
        Swap.VmSwapFull || (Options.CgroupVersion != 1 && Memcg is { } mc && mc.SwapFull(pfn));

    /// <summary>Mapping and unmapping pages, zapping ranges, put_page (Memory/, mm/memory.c).</summary>
    public MemoryOps Memory { get; }

    /// <summary>change_protection (AddressSpace/, mm/mprotect.c).</summary>
    public Mprotect Mprotect { get; }

    public SwapArea Swap { get; }

    /// <summary>Overcommit accounting (mm/util.c): vm_committed_as, CommitLimit and the vm.overcommit_* policy every mm charges against.</summary>
    public AddressSpace.Overcommit Commit { get; }

    public SwapCache SwapCache { get; }

    /// <summary>Swap readahead (swapin_readahead) and its window state.</summary>
    public SwapReadahead SwapReadahead { get; }
    public PageCacheIndex PageCache { get; }

    /// <summary>The workingset shadow-node shrinker (with memory cgroups only: the page cache's xarray nodes are kept then).</summary>
    public Workingset.ShadowNodeShrinker? ShadowNodes { get; }

    /// <summary>Faults sleeping on a locked page (Filemap/).</summary>
    public PageWaitQueue PageWaits { get; }

    /// <summary>Readahead, fault-around and the advice calls (Filemap/, mm/readahead.c, mm/filemap.c).</summary>
    public Readahead Readahead { get; }

    /// <summary>
    /// Whether <paramref name="pfn"/> is a page allocated for a charge that failed and held, uncharged, through the
    /// reclaim it made (machine.charge_after_alloc): a stalled fault's, a waiting readahead window's or a system call's (for the invariant
    /// checkers: such a page is on no list and in no mapping, yet not leaked).
    /// </summary>
    public bool AwaitsCharge(int pfn)
    {
        foreach (PageAlloc.AllocRequest r in Zone.Stalled)
        {
            if (r.Fault.AwaitsCharge && r.Fault.Pfn == pfn)
                return true;
        }
        return Readahead.HoldsUncharged(pfn) || OpenFiles.HoldsUncharged(pfn);
    }

    /// <summary>Descriptor tables, open file descriptions and memfds (shmem inodes).</summary>
    public Filemap.OpenFiles OpenFiles { get; }

    public ReverseMap Rmap { get; }
    public FileTable Files { get; }

    /// <summary>The page-table page entities of every mm (their entries and <see cref="PageTableFrame"/>).</summary>
    public PageTableStore PageTables { get; }

    public TlbSystem Tlb { get; }
    public ICacheHierarchy Caches { get; }
    public TimingModel Timing { get; }
    public CycleAccounting Cycles { get; }

    /// <summary>The CPUs, their times and smp_processor_id() (Cpu/).</summary>
    public Smp Smp { get; }

    /// <summary>Tasks and address spaces (Task/).</summary>
    public TaskList Tasks { get; }

    /// <summary>The OOM killer and its log (Vmscan/).</summary>
    public OomKiller Oom { get; }

    /// <summary>What the current tick changed, while the incremental invariant checker runs; null otherwise.</summary>
    public DirtySet? Dirty { get; private set; }

    /// <summary>
    /// ptep_test_and_clear_young (arch/x86/mm/pgtable.c) for the rmap walks: clears the accessed bit of the entry
    /// mapping <paramref name="va"/> in <paramref name="mm"/> (a PTE, or a PMD leaf's entry), telling the invariant
    /// checker; returns the entry as it was when it was young, else 0 (not present or not young). The caller flushes
    /// the TLB entry where Linux's ptep_clear_flush_young would.
    /// </summary>
    public ulong PtepTestAndClearYoung(MmState mm, ulong va)
    {
        ref ulong pte = ref mm.Tables.Walk(va, out _);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref pte) || (pte & Pte.AccessedBit) == 0)
            return 0;
        ulong old = pte;
        Dirty?.Pte(mm, va, old);
        pte = old & ~Pte.AccessedBit;
        return old;
    }

    /// <summary>
    /// Starts recording every tick's changes into <see cref="Dirty"/> (the incremental invariant checker calls this;
    /// the mutation points of the zone, swap area, swap cache, page cache and reverse map then report to it).
    /// </summary>
    public DirtySet TrackChanges()
    {
        if (Dirty is not null)
            return Dirty;
        var d = new DirtySet(this);
        Dirty = d;
        Zone.Dirty = d;
        Swap.Dirty = d;
        SwapCache.Dirty = d;
        PageCache.Dirty = d;
        Rmap.Dirty = d;
        return d;
    }

    /// <summary>
    /// The event stream's emitter while a sink is attached (<see cref="AttachEvents"/>); null otherwise, and then
    /// every emission point costs one null check.
    /// </summary>
    public Events.EventTracer? Events { get; private set; }

    /// <summary>
    /// Sends every event from now on to <paramref name="sink"/> (attach before the run to get them all). Events come
    /// in the order the pipeline does the work, the same at any batch size.
    /// </summary>
    public Events.EventTracer AttachEvents(Events.IEventSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (Events is not null)
            throw new InvalidOperationException("an event sink is attached already (wrap several in one sink)");
        var tracer = new Events.EventTracer(this, sink);
        Events = tracer;
        Tlb.Flushed = tracer.TlbFlush;
        return tracer;
    }

    private static void Validate(KernelOptions o, string source)
    {
        if (o.RamBytes < (long)Pte.PageSize * 16)
            throw new InputException(source, 0, o.RamBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "RAM must hold at least 16 pages (64 KiB)");
        if (o.RamBytes % (long)Pte.PageSize != 0)
            throw new InputException(source, 0, o.RamBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "RAM must be a whole number of 4 KiB pages");
        if (o.PageCount > int.MaxValue / 2)
            throw new InputException(source, 0, o.RamBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "RAM is too large to simulate (at most 4 TiB)");
        if (o.SwapBytes > KernelOptions.MaxSwapBytes)
            throw new InputException(source, 0, o.SwapBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"swap is too large to simulate (at most {KernelOptions.MaxSwapBytes >> 30} GiB: the simulated swap map keeps {KernelOptions.SwapMapBytesPerSlot} bytes of host memory per 4 KiB slot, whether used or not)");
        if (o.SwapBytes < 0 || o.SwapBytes % (long)Pte.PageSize != 0 || o.SwapBytes / (long)Pte.PageSize > int.MaxValue / 2)
            throw new InputException(source, 0, o.SwapBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "swap must be a whole number of 4 KiB pages (0 for none)");
        if (o.Cpus < 1 || o.Cpus > 64)
            throw new InputException(source, 0, o.Cpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "the number of CPUs must be between 1 and 64");
        if (o.SmpEpochCycles < 1)
            throw new InputException(source, 0, o.SmpEpochCycles.ToString(System.Globalization.CultureInfo.InvariantCulture), "the SMP epoch must be at least 1 cycle");
        if (o.Quantum < 1)
            throw new InputException(source, 0, o.Quantum.ToString(System.Globalization.CultureInfo.InvariantCulture), "the scheduler quantum must be at least 1 access");
        if (o.LruGen.Enabled && o.Policy != Scenarios.ReplacementPolicyConfig.DefaultName)
            throw new InputException(source, 0, o.Policy, "the multi-gen LRU (lru_gen) replaces the lists of the linux policy only");
        // The scenario parser refuses the pair at its line; this catches a --policy override and a machine built by hand.
        if (o.WritebackAsync && o.Policy != Scenarios.ReplacementPolicyConfig.DefaultName)
            throw new InputException(source, 0, o.Policy, Scenarios.ReplacementPolicyConfig.WritebackNeedsLinux(o.Policy));
        if (o.BatchSize < 1)
            throw new InputException(source, 0, o.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "the batch size must be at least 1 access");
    }
}
