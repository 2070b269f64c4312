using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.Policies;

namespace EcsMem.Systems.Memcontrol;

/// <summary>
/// The memory controller (mm/memcontrol.c, cgroup v2 semantics): the hierarchy of <see cref="MemCgroup"/>s,
/// which group each address space charges (mm-&gt;owner's memcg), each frame's memcg (folio-&gt;memcg_data) and
/// each swap entry's (swap_cgroup), and the charge and uncharge operations with their page counters. It exists
/// only when a scenario declares cgroups; a machine without one has none, and every hook is a null check.
/// </summary>
/// <remarks>
/// Charges go through each simulated CPU's charge stock as Linux 6.18's do (memcg_stock_pcp: NR_MEMCG_STOCK = 7
/// cached groups a CPU, up to MEMCG_CHARGE_BATCH = 64 pages each): a charge takes pages from the charging CPU's
/// stock (consume_stock), else charges the page counters a batch of 64 (or the charge's own size when larger) and
/// leaves the rest in the stock (refill_stock); near the limit, where the batch does not fit, it charges just its
/// own pages. The page counters (memory.current, v1 usage_in_bytes, the watermark: memory.peak, v1
/// max_usage_in_bytes) count the stocked pages, so fewer pages can be resident under memory.max; memory.stat does
/// not. A charge whose reclaim left less room than it needs drains every CPU's stock that holds pages of the group
/// over its limit (drain_all_stock), once a charge. Freed pages are uncharged straight from the counters
/// (uncharge_batch); a freed page table goes back to the freeing CPU's stock (obj_cgroup_uncharge_pages). The root
/// group's counter, which Linux does not keep, stays exact. Invariant: a group's usage is the frames charged to its
/// subtree plus the pages its subtree's groups hold in stocks plus its frameless kernel memory (MemCgroup.KmemObjPages).
/// Simplified: another CPU's stock is drained at once (Linux queues the drain on that CPU, drain_local_memcg_stock
/// runs when its worker does); the slot a full stock gives up is chosen by a fixed-seed generator (Linux's
/// get_random_u32_below); v1's memsw counter is not kept; the synchronous memory.high reclaim a charge makes when its
/// task has more than MEMCG_CHARGE_BATCH pages over high is left to the return to user. Kernel memory: page tables,
/// and the slab objects, percpu chunks and kernel stacks of MemcgController.Kmem.cs; charges are not moved when a task
/// changes groups (cgroup v2 never moves them either).
/// </remarks>
public sealed partial class MemcgController
{
    /// <summary>MAX_RECLAIM_RETRIES: fruitless reclaim rounds a charge makes before the group's OOM killer.</summary>
    public const int MaxReclaimRetries = 16;

    /// <summary>MEMCG_CHARGE_BATCH: the pages try_charge_memcg charges at a time (the rest go to the CPU's stock), and the unit calculate_high_delay scales the throttle penalty by.</summary>
    public const int ChargeBatch = 64;

    /// <summary>NR_MEMCG_STOCK: the groups one CPU's charge stock (memcg_stock_pcp) caches at once.</summary>
    public const int NrMemcgStock = 7;

    /// <summary>PAGE_ALLOC_COSTLY_ORDER: a charge of up to 1 &lt;&lt; 3 pages that reclaimed something retries without counting.</summary>
    private const int PageAllocCostlyOrder = 3;

    /// <summary>CONFIG_HZ of the recording machine's kernel (a jiffy is 4 ms).</summary>
    public const int Hz = 250;

    private readonly List<MemCgroup> _groups = new();
    private readonly int[] _frame;
    private readonly int[] _slot;
    private readonly Dictionary<int, int> _mm = new();
    private readonly Dictionary<Entity, int> _retries = new();
    private readonly Dictionary<Entity, long> _overHigh = new();
    private readonly HashSet<Entity> _drained = new();

    // memcg_stock_pcp of each simulated CPU: slot cpu * NrMemcgStock + i caches group _stockGroup (-1: none) with
    // _stockPages pages charged to the counters but to no page yet.
    private readonly int[] _stockGroup;
    private readonly int[] _stockPages;
    private readonly int _cpus;
    private uint _stockRandom = 0x9E3779B9;

    internal MemcgController(IReplacementPolicy rootLruvec, Func<IReplacementPolicy> newLruvec, IReadOnlyList<CgroupConfig> cgroups, int pages, int swapSlots, int cpus = 1)
    {
        _cpus = Math.Max(cpus, 1);
        _stockGroup = new int[_cpus * NrMemcgStock];
        Array.Fill(_stockGroup, -1);
        _stockPages = new int[_cpus * NrMemcgStock];
        _frame = new int[pages];
        Array.Fill(_frame, -1);
        _slot = new int[Math.Max(swapSlots, 1)];
        Array.Fill(_slot, -1);
        _groups.Add(new MemCgroup(0, "", null, rootLruvec));
        foreach (CgroupConfig c in cgroups)
        {
            MemCgroup parent = c.Parent is null ? _groups[0] : _groups.First(g => g.Name == c.Parent);
            var g = new MemCgroup(_groups.Count, c.Name, parent, newLruvec())
            {
                Max = Pages(c.Max),
                High = Pages(c.High),
                Low = Pages(c.Low),
                Min = Pages(c.Min),
                SwapMax = Pages(c.SwapMax),
            };
            _groups.Add(g);
        }
        InitRstat();
    }

    /// <summary>A limit in bytes as a page count (page_counter keeps pages; "max" stays unlimited).</summary>
    private static long Pages(long bytes) => bytes == CgroupConfig.Unlimited ? long.MaxValue : bytes / (long)Pte.PageSize;

    /// <summary>Every group, the root first, in declaration order (parents before children).</summary>
    public IReadOnlyList<MemCgroup> Groups => _groups;

    /// <summary>root_mem_cgroup.</summary>
    public MemCgroup Root => _groups[0];

    /// <summary>The group named <paramref name="name"/> (null or empty: the root).</summary>
    public MemCgroup Find(string? name) =>
        string.IsNullOrEmpty(name) ? Root : _groups.FirstOrDefault(g => g.Name == name) ?? throw new ArgumentException($"unknown cgroup '{name}'", nameof(name));

    /// <summary>get_mem_cgroup_from_mm: the group an address space charges.</summary>
    public MemCgroup OfMm(int mmId) => _mm.TryGetValue(mmId, out int g) ? _groups[g] : Root;

    /// <summary>folio_memcg: the group a frame is charged to, or null when it is not charged.</summary>
    public MemCgroup? OfFrame(int pfn) => _frame[pfn] < 0 ? null : _groups[_frame[pfn]];

    /// <summary>The group a swap entry is charged to (lookup_swap_cgroup_id), or null.</summary>
    public MemCgroup? OfSlot(int slot) => (uint)slot < (uint)_slot.Length && _slot[slot] >= 0 ? _groups[_slot[slot]] : null;

    /// <summary>folio_lruvec: the lruvec a frame's page sits on (an uncharged frame: the root's).</summary>
    public IReplacementPolicy LruvecOf(int pfn) => _groups[Math.Max(_frame[pfn], 0)].Lruvec;

    /// <summary>The group of the frame's lruvec (the root for an uncharged frame).</summary>
    internal MemCgroup LruGroupOf(int pfn) => _groups[Math.Max(_frame[pfn], 0)];

    /// <summary>
    /// cgroup_attach_task for a process at its start: its address space charges <paramref name="g"/> from now on, and
    /// the page-table pages exec made for it (charged to the root until now) move with it, as if it had been exec'd
    /// inside the group (the kit's programs are).
    /// </summary>
    public void AttachMm(int mmId, MemCgroup g, IEnumerable<int> tablePfns)
    {
        _mm[mmId] = g.Id;
        foreach (int pfn in tablePfns)
        {
            MemCgroup? old = OfFrame(pfn);
            if (old is null || ReferenceEquals(old, g))
                continue;
            Uncharge(old, 1);
            AddPageTables(old, -1, CurrentCpu());
            ChargeForce(g, 1);
            AddPageTables(g, 1, CurrentCpu());
            _frame[pfn] = g.Id;
        }
    }

    /// <summary>copy_process: the child's address space charges the parent's group (a forked task inherits its cgroup).</summary>
    public void MmForked(int parentMmId, int childMmId)
    {
        if (_mm.TryGetValue(parentMmId, out int g))
            _mm[childMmId] = g;
    }

    /// <summary>
    /// page_counter_try_charge over the hierarchy: charges <paramref name="pages"/> to <paramref name="g"/> and each
    /// ancestor unless that would take one of them above its memory.max. Returns null when charged, else the
    /// group over its limit (mem_over_limit), with nothing charged and a failure counted in its failcnt.
    /// </summary>
    private MemCgroup? PageCounterTryCharge(MemCgroup g, long pages)
    {
        for (MemCgroup? c = g; c is not null; c = c.Parent)
        {
            if (c.Usage + pages > c.Max)
            {
                c.Failcnt++;
                return c;
            }
        }
        ChargeForce(g, pages);
        return null;
    }

    /// <summary>try_charge_memcg's charge on <paramref name="cpu"/> without its reclaim (see the overload).</summary>
    public MemCgroup? TryCharge(MemCgroup g, long pages, int cpu) => TryCharge(g, pages, cpu, out _);

    /// <summary>
    /// try_charge_memcg up to its reclaim: the pages come from <paramref name="cpu"/>'s stock when it holds enough of
    /// <paramref name="g"/>'s (consume_stock; <paramref name="batch"/> 0), else the counters are charged
    /// max(MEMCG_CHARGE_BATCH, pages) and the surplus goes to the stock (refill_stock); when the batch would pass some
    /// memory.max, the stock is tried again and then just <paramref name="pages"/> (<paramref name="batch"/> is what
    /// the counters were charged). Returns null when charged, else the group over its limit (mem_over_limit), with
    /// nothing charged. The root group is charged exactly (Linux keeps no counter for it: try_charge).
    /// </summary>
    public MemCgroup? TryCharge(MemCgroup g, long pages, int cpu, out long batch)
    {
        batch = pages;
        if (g.IsRoot)
            return PageCounterTryCharge(g, pages);
        batch = Math.Max(ChargeBatch, pages);
        while (true)
        {
            if (ConsumeStock(g, pages, cpu))
            {
                batch = 0;
                return null;
            }
            if (PageCounterTryCharge(g, batch) is not { } over)
                break;
            if (batch == pages)
                return over;
            batch = pages; // near the limit: the charge's own pages only
        }
        if (batch > pages)
            RefillStock(g, (int)(batch - pages), cpu);
        return null;
    }

    private int Slot(int cpu, int i) => (cpu % _cpus) * NrMemcgStock + i;

    /// <summary>consume_stock: takes <paramref name="pages"/> of <paramref name="g"/>'s charge from <paramref name="cpu"/>'s stock when it caches the group with that many (never more than MEMCG_CHARGE_BATCH).</summary>
    private bool ConsumeStock(MemCgroup g, long pages, int cpu)
    {
        if (pages > ChargeBatch)
            return false;
        for (int i = 0; i < NrMemcgStock; i++)
        {
            int s = Slot(cpu, i);
            if (_stockGroup[s] != g.Id)
                continue;
            if (_stockPages[s] < pages)
                return false;
            _stockPages[s] -= (int)pages;
            return true;
        }
        return false;
    }

    /// <summary>
    /// refill_stock: <paramref name="pages"/> charged to <paramref name="g"/> but to no page go to <paramref name="cpu"/>'s
    /// stock: its slot for the group, a free slot, or a slot chosen at random and drained first; a slot above
    /// MEMCG_CHARGE_BATCH is drained, and more than a batch at once is uncharged straight away.
    /// </summary>
    private void RefillStock(MemCgroup g, int pages, int cpu)
    {
        if (pages > ChargeBatch)
        {
            Uncharge(g, pages);
            return;
        }
        int empty = -1;
        for (int i = 0; i < NrMemcgStock; i++)
        {
            int s = Slot(cpu, i);
            if (_stockGroup[s] < 0 && empty < 0)
                empty = i;
            if (_stockGroup[s] != g.Id)
                continue;
            _stockPages[s] += pages;
            if (_stockPages[s] > ChargeBatch)
                DrainStock(s);
            return;
        }
        if (empty < 0)
        {
            // get_random_u32_below(NR_MEMCG_STOCK), from a fixed-seed xorshift so runs repeat.
            _stockRandom ^= _stockRandom << 13;
            _stockRandom ^= _stockRandom >> 17;
            _stockRandom ^= _stockRandom << 5;
            empty = (int)(_stockRandom % NrMemcgStock);
            DrainStock(Slot(cpu, empty));
        }
        int e = Slot(cpu, empty);
        _stockGroup[e] = g.Id;
        _stockPages[e] = pages;
    }

    /// <summary>drain_stock: the slot's stocked pages are uncharged from its group's counters and the slot emptied.</summary>
    private void DrainStock(int s)
    {
        int id = _stockGroup[s];
        if (id < 0)
            return;
        if (_stockPages[s] > 0)
            Uncharge(_groups[id], _stockPages[s]);
        _stockPages[s] = 0;
        _stockGroup[s] = -1;
    }

    /// <summary>
    /// drain_all_stock: every CPU whose object stock caches a group of <paramref name="root"/>'s subtree has it drained
    /// first (drain_local_obj_stock), then every CPU whose stock holds pages of <paramref name="root"/> or a descendant
    /// (is_memcg_drain_needed) has its whole stock drained (drain_local_memcg_stock: all its slots, other groups'
    /// too). Returns the pages uncharged.
    /// </summary>
    public long DrainAllStock(MemCgroup root)
    {
        long drained = DrainAllObjStock(root);
        for (int cpu = 0; cpu < _cpus; cpu++)
        {
            bool needed = false;
            for (int i = 0; i < NrMemcgStock && !needed; i++)
            {
                int s = Slot(cpu, i);
                needed = _stockGroup[s] >= 0 && _stockPages[s] > 0 && root.Contains(_groups[_stockGroup[s]]);
            }
            if (!needed)
                continue;
            for (int i = 0; i < NrMemcgStock; i++)
            {
                int s = Slot(cpu, i);
                drained += _stockPages[s];
                DrainStock(s);
            }
        }
        return drained;
    }

    /// <summary>The pages <paramref name="cpu"/>'s stock holds for <paramref name="g"/> alone (memcg_stock_pcp's nr_pages).</summary>
    public int StockOn(int cpu, MemCgroup g)
    {
        for (int i = 0; i < NrMemcgStock; i++)
            if (_stockGroup[Slot(cpu, i)] == g.Id)
                return _stockPages[Slot(cpu, i)];
        return 0;
    }

    /// <summary>The pages every CPU's stock holds for <paramref name="g"/> alone (charged to its counters, to no page).</summary>
    public long Stocked(MemCgroup g)
    {
        long n = 0;
        for (int s = 0; s < _stockGroup.Length; s++)
            if (_stockGroup[s] == g.Id)
                n += _stockPages[s];
        return n;
    }

    /// <summary>The pages charged to frames of <paramref name="g"/>'s subtree: its usage without the stocks its subtree's groups hold and its frameless kernel memory.</summary>
    public long ChargedPages(MemCgroup g)
    {
        long n = g.Usage - g.KmemObjPages;
        foreach (MemCgroup d in g.Subtree())
            n -= Stocked(d);
        return n;
    }

    /// <summary>mem_cgroup_margin: the pages <paramref name="g"/> can still charge before its memory.max.</summary>
    public static long Margin(MemCgroup g) => g.Usage < g.Max ? g.Max - g.Usage : 0;

    /// <summary>
    /// try_charge_memcg after its try_to_free_mem_cgroup_pages: when the group over its limit still has less room
    /// than the charge's <paramref name="pages"/> and this charge of <paramref name="task"/> has not drained yet, every
    /// CPU's stock of the group is drained (drain_all_stock) and the charge is retried without counting the round
    /// against MAX_RECLAIM_RETRIES. Returns true when it drained.
    /// </summary>
    internal bool DrainAfterReclaim(MemCgroup overLimit, Entity task, long pages)
    {
        if (Margin(overLimit) >= pages || !_drained.Add(task))
            return false;
        DrainAllStock(overLimit);
        return true;
    }

    /// <summary>A new try_charge_memcg of <paramref name="task"/> begins: it has not drained the stocks yet.</summary>
    internal void BeginCharge(Entity task) => _drained.Remove(task);

    /// <summary>page_counter_charge: charges regardless of the limits (a __GFP_NOFAIL charge, or a page table here); each counter's watermark follows.</summary>
    public void ChargeForce(MemCgroup g, long pages)
    {
        for (MemCgroup? c = g; c is not null; c = c.Parent)
        {
            c.Usage += pages;
            if (c.Usage > c.Watermark)
                c.Watermark = c.Usage;
        }
    }

    /// <summary>page_counter_uncharge over the hierarchy.</summary>
    public void Uncharge(MemCgroup g, long pages)
    {
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            c.Usage -= pages;
    }

    /// <summary>NR_PAGETABLE and MEMCG_KMEM together: a page table is kernel memory (__memcg_kmem_charge_page → memcg1_account_kmem).</summary>
    private void AddPageTables(MemCgroup g, long pages, int cpu)
    {
        // mod_memcg_state(MEMCG_KMEM) and NR_PAGETABLE's mod_lruvec_state: two rstat updates of |pages|.
        RstatUpdated(g, 2 * pages, cpu);
        for (MemCgroup? c = g; c is not null; c = c.Parent)
        {
            c.PageTables += pages;
            c.Kmem += pages;
        }
    }

    /// <summary>
    /// charge_memcg's commit_charge and memcg1_commit_charge: <paramref name="pfn"/> (a single page just allocated, its
    /// charge taken) now belongs to <paramref name="g"/>, one v1 PGPGIN event (memcg1_charge_statistics).
    /// </summary>
    public void CommitCharge(int pfn, MemCgroup g)
    {
        _frame[pfn] = g.Id;
        g.PgPgIn++;
        ChargeStatsUpdated(g, 1);
    }

    /// <summary>
    /// The rstat updates of a folio of <paramref name="nrPages"/> pages charged to or uncharged from <paramref name="g"/>:
    /// its PGPGIN or PGPGOUT event (count_memcg_events, one) and its resident-type counter (NR_ANON_MAPPED,
    /// NR_FILE_PAGES, NR_SWAPCACHE: |nr|); the LRU sizes are counted where the folio enters or leaves the lruvec.
    /// </summary>
    private void ChargeStatsUpdated(MemCgroup g, int nrPages)
    {
        int cpu = CurrentCpu();
        RstatUpdated(g, 1, cpu);
        RstatUpdated(g, nrPages, cpu);
    }

    /// <summary>
    /// commit_charge of a folio of <paramref name="nrPages"/> pages from <paramref name="head"/> (a THP, an mTHP, a
    /// large page-cache folio): every page belongs to <paramref name="g"/>, and memcg1_charge_statistics counts one
    /// PGPGIN whatever the size ("pagein of a big page is an event. So, ignore page size").
    /// </summary>
    public void CommitFolio(int head, int nrPages, MemCgroup g)
    {
        for (int i = 0; i < nrPages; i++)
            _frame[head + i] = g.Id;
        g.PgPgIn++;
        ChargeStatsUpdated(g, nrPages);
    }

    /// <summary>
    /// mem_cgroup_migrate (folio migration, compaction's): the new page takes the old one's charge without an event;
    /// the old one's memcg_data is cleared there, so its free (<see cref="UnchargeFrame"/> with pgpgout false) counts none either.
    /// </summary>
    public void CommitMigrated(int pfn, MemCgroup g) => _frame[pfn] = g.Id;

    /// <summary>
    /// mem_cgroup_charge for a page that must not wait (readahead, swap readahead: __GFP_NORETRY): charges it to
    /// <paramref name="g"/> if that fits under every memory.max; false when it does not (the read stops there).
    /// </summary>
    public bool TryChargeFrame(int pfn, MemCgroup g, int cpu)
    {
        if (TryCharge(g, 1, cpu) is not null)
            return false;
        CommitCharge(pfn, g);
        return true;
    }

    /// <summary>
    /// try_charge_memcg for a readahead page (file readahead's __GFP_NORETRY reclaims once; swap readahead's charge
    /// reclaims like a fault's): Linux reclaims the group at its limit synchronously and then charges. EcsMem's
    /// reclaim runs later in the same tick, so the page is charged at once (the group may stand a few pages above
    /// memory.max until then) and a reclaim of the group over its limit is queued; no OOM comes of it.
    /// <paramref name="plugged"/>: the charge is made inside swap readahead's plug; <paramref name="plugHeadRead"/>: the
    /// loop had put a read into that plug first (<see cref="Vmscan.ReclaimRequest"/>).
    /// </summary>
    public void ChargeOrReclaim(SimEnvironment env, MemCgroup g, Entity task, int cpu, bool plugged = false, bool plugHeadRead = false)
    {
        BeginCharge(task);
        if (TryCharge(g, 1, cpu) is not { } over)
            return;
        MemoryEvent(over, MemcgEvent.Max);
        ChargeForce(g, 1);
        env.Work<Vmscan.ReclaimRequest>().Add(new Vmscan.ReclaimRequest(true, SwapClusterMax, task, cpu, MayOom: false, Memcg: over.Id, Plugged: plugged, ChargePages: 1, PlugHeadRead: plugHeadRead));
    }

    /// <summary>SWAP_CLUSTER_MAX: what try_to_free_mem_cgroup_pages reclaims at least.</summary>
    internal int SwapClusterMax { get; init; } = 32;

    /// <summary>
    /// A page-table page of <paramref name="mmId"/> (GFP_PGTABLE_USER has __GFP_ACCOUNT: __memcg_kmem_charge_page →
    /// obj_cgroup_charge_pages → try_charge_memcg on <paramref name="cpu"/>, the stock first): charged, counted in
    /// pagetables. Returns null, or the group whose memory.max the charge found reached: then the table is charged
    /// anyway and its reclaim comes after (<see cref="ReclaimForPageTable"/>); Linux reclaims first and then charges.
    /// <paramref name="overHighPages"/>: a charge within the limits that put its batch on the counters while some group
    /// from its own up stood above memory.high owes that batch to the allocating task's memcg_nr_pages_over_high
    /// (try_charge_memcg's memory.high check, for a kmem charge as for a page's), which the caller adds
    /// (<see cref="AddOverHigh"/>); 0 otherwise.
    /// </summary>
    public MemCgroup? ChargePageTable(int pfn, int mmId, int cpu, out long overHighPages)
    {
        MemCgroup g = OfMm(mmId);
        MemCgroup? over = TryCharge(g, 1, cpu, out long batch);
        overHighPages = over is null ? OverHighBatch(g, batch) : 0;
        if (over is not null)
            ChargeForce(g, 1);
        AddPageTables(g, 1, cpu);
        _frame[pfn] = g.Id;
        return over;
    }

    /// <summary>
    /// try_charge_memcg's reclaim for a page table's charge that found <paramref name="over"/> at its memory.max:
    /// GFP_PGTABLE_USER is GFP_KERNEL | __GFP_ACCOUNT, so <paramref name="task"/> reclaims the group
    /// (try_to_free_mem_cgroup_pages, SWAP_CLUSTER_MAX pages) like a page's charge does, and counts a memory.events
    /// max. <paramref name="thisTick"/>: the table was allocated at a fault's start (pte_alloc, prealloc_pte), before
    /// this tick's reclaim stage, which takes the request; otherwise the reclaim stage has run and the request is an
    /// event for the next tick (as <see cref="HandleOverHigh"/>'s). Simplified: the charge is never refused and never
    /// OOMs (Linux's fails after MAX_RECLAIM_RETRIES and the fault returns VM_FAULT_OOM).
    /// </summary>
    public void ReclaimForPageTable(SimEnvironment env, MemCgroup over, Entity task, int cpu, bool thisTick)
    {
        MemoryEvent(over, MemcgEvent.Max);
        BeginCharge(task);
        if (thisTick)
        {
            env.Work<Vmscan.ReclaimRequest>().Add(new Vmscan.ReclaimRequest(true, SwapClusterMax, task, cpu, MayOom: false, Memcg: over.Id, ChargePages: 1));
            return;
        }
        if (_reclaimPageTableKind < 0)
            _reclaimPageTableKind = env.RegisterEventKind("memcg-reclaim-pgtable", new ReclaimHighHandler());
        env.Schedule(0, new SimEvent(_reclaimPageTableKind, task, SwapClusterMax, ((long)over.Id << 16) | (uint)cpu));
    }

    private int _reclaimPageTableKind = -1;

    /// <summary>
    /// <see cref="ReclaimForPageTable"/> for each charge of one allocating walk that found a group at its memory.max
    /// (<paramref name="charges"/>, as <see cref="AddressSpace.PageTable.PteAlloc"/>
    /// returned them), in allocation order: try_charge_memcg reclaims once per table charged.
    /// </summary>
    public void ReclaimForPageTables(SimEnvironment env, in AddressSpace.PageTableCharges charges, Entity task, int cpu, bool thisTick)
    {
        for (int i = 0; i < charges.OverMaxCount; i++)
            ReclaimForPageTable(env, _groups[charges.OverMemcg(i)], task, cpu, thisTick);
    }

    /// <summary>
    /// mem_cgroup_uncharge at the final free of a frame on <paramref name="cpu"/>: uncharge_batch takes a page off the
    /// counters at once and counts v1's PGPGOUT when <paramref name="pgpgout"/> (the folio's head, not a migrated-from
    /// page); a page table (__memcg_kmem_uncharge_page → obj_cgroup_uncharge_pages) leaves pagetables and
    /// goes back to the CPU's stock (refill_stock; the root's counter is uncharged directly).
    /// </summary>
    public void UnchargeFrame(int pfn, bool pageTable, int cpu = 0, bool pgpgout = true)
    {
        int id = _frame[pfn];
        if (id < 0)
            return;
        _frame[pfn] = -1;
        MemCgroup g = _groups[id];
        // uncharge_folio: ug->pgpgout++ once per folio that is not kernel memory (memcg1_uncharge_batch counts them).
        if (!pageTable && pgpgout)
            g.PgPgOut++;
        // memcg1_uncharge_batch's PGPGOUT and the page's resident-type counter (NR_ANON_MAPPED, NR_FILE_PAGES) down.
        if (!pageTable)
        {
            RstatUpdated(g, pgpgout ? 1 : 0, cpu);
            RstatUpdated(g, 1, cpu);
        }
        if (pageTable)
            AddPageTables(g, -1, cpu);
        if (pageTable && !g.IsRoot)
            RefillStock(g, 1, cpu);
        else
            Uncharge(g, 1);
    }

    /// <summary>
    /// __mem_cgroup_try_charge_swap at folio_alloc_swap: the swap entry is charged to the page's group unless that
    /// would take a group above memory.swap.max (MEMCG_SWAP_MAX; the page then stays in memory). cgroup v2 keeps
    /// the memory charge until the page is freed and the swap charge until the entry is freed.
    /// </summary>
    public bool TryChargeSwap(int pfn, int slot)
    {
        MemCgroup g = LruGroupOf(pfn);
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            if (c.SwapUsage + 1 > c.SwapMax)
                return false;
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            c.SwapUsage++;
        _slot[slot] = g.Id;
        return true;
    }

    /// <summary>
    /// mem_cgroup_get_nr_swap_pages (cgroup v2): the free swap <paramref name="nrSwapPages"/> as <paramref name="memcg"/>
    /// may use it, limited by memory.swap.max − swap usage of each group up to the root (the root has no limit). v1
    /// (do_memsw_account) and a machine without cgroups read the free swap as it is: the caller passes null then.
    /// </summary>
    public static long GetNrSwapPages(long nrSwapPages, MemCgroup? memcg)
    {
        for (MemCgroup? g = memcg; g is not null && !g.IsRoot; g = g.Parent)
            if (g.SwapMax != long.MaxValue)
                nrSwapPages = Math.Min(nrSwapPages, g.SwapMax - g.SwapUsage);
        return nrSwapPages;
    }

    /// <summary>
    /// mem_cgroup_swap_full's group part (cgroup v2): the page's group or an ancestor below the root uses half its
    /// memory.swap.max or more (memory.swap.high is not modelled). The caller has checked vm_swap_full first.
    /// </summary>
    public bool SwapFull(int pfn)
    {
        for (MemCgroup? g = LruGroupOf(pfn); g is not null && !g.IsRoot; g = g.Parent)
            if (g.SwapMax != long.MaxValue && g.SwapUsage * 2 >= g.SwapMax)
                return true;
        return false;
    }

    /// <summary>mem_cgroup_uncharge_swap when the swap entry is freed (swap_entry_free).</summary>
    public void UnchargeSwap(int slot)
    {
        if ((uint)slot >= (uint)_slot.Length || _slot[slot] < 0)
            return;
        for (MemCgroup? c = _groups[_slot[slot]]; c is not null; c = c.Parent)
            c.SwapUsage--;
        _slot[slot] = -1;
    }

    /// <summary>Keeps <see cref="MemCgroup.LruPages"/> (lruvec sizes) as frames enter and leave a lruvec.</summary>
    internal void LruCount(int pfn, int delta)
    {
        MemCgroup g = LruGroupOf(pfn);
        g.LruPages += delta;
        RstatUpdated(g, delta, CurrentCpu()); // update_lru_size → mod_lruvec_state(NR_LRU_BASE + lru)
    }

    /// <summary>
    /// memcg_memory_event: counts <paramref name="e"/> in memory.events.local of <paramref name="g"/> and in
    /// memory.events of it and every ancestor below the root.
    /// </summary>
    public static void MemoryEvent(MemCgroup g, MemcgEvent e)
    {
        g.EventsLocal[(int)e]++;
        for (MemCgroup? c = g; c is not null && !c.IsRoot; c = c.Parent)
            c.Events[(int)e]++;
    }

    /// <summary>count_memcg_event_mm(PGFAULT / PGMAJFAULT) for a fault of <paramref name="mmId"/>.</summary>
    public void CountFault(int mmId, bool major)
    {
        MemCgroup g = OfMm(mmId);
        if (major) g.PgMajFault++;
        else g.PgFault++;
        RstatUpdated(g, 1, CurrentCpu());
    }

    /// <summary>
    /// try_charge_memcg after a reclaim for a stalled order-0 charge of <paramref name="task"/> in <paramref name="g"/>
    /// (the group at its limit): a margin of a page now (counting the pages just reclaimed as uncharged) lets the charge through (goto retry, nothing counted); else the
    /// first such round only drains the per-CPU charge stocks and retries (drain_all_stock, once per charge); after it a
    /// round that reclaimed something retries (nr_reclaimed, an order up to PAGE_ALLOC_COSTLY_ORDER), and one that
    /// reclaimed nothing uses up one of nr_retries = MAX_RECLAIM_RETRIES; with none left (the 18th fruitless reclaim of
    /// a charge, as 6.18 made it in oracle/experiments/memcg-oom-retries) the group's OOM killer runs, after which the
    /// charge starts over with MAX_RECLAIM_RETRIES and the stock drained. Returns true for the OOM killer.
    /// </summary>
    internal bool ChargeRetryExhausted(Entity task, MemCgroup g, long reclaimed, long pages, long stillCharged)
    {
        // mem_cgroup_margin: the stillCharged pages this reclaim took whose frames are released later
        // in the tick (machine.reclaim_free_batch false, or the simple policies) count as uncharged already.
        if (g.Max != long.MaxValue && g.Max - (g.Usage - stillCharged) >= pages)
            return false;
        // if (!drained): drain_all_stock once per charge, then retry; that round is not counted against nr_retries.
        if (DrainAfterReclaim(g, task, pages))
            return false;
        // nr_reclaimed && nr_pages <= (1 << PAGE_ALLOC_COSTLY_ORDER): progress retries for free.
        if (reclaimed > 0 && pages <= 1 << PageAllocCostlyOrder)
            return false;
        int left = _retries.TryGetValue(task, out int r) ? r : MaxReclaimRetries;
        if (left == 0)
        {
            // mem_cgroup_oom's OOM_SUCCESS: nr_retries = MAX_RECLAIM_RETRIES; drained stays set for this charge.
            _retries[task] = MaxReclaimRetries;
            return true;
        }
        _retries[task] = left - 1;
        return false;
    }

    /// <summary>The task's charge went through: its next one starts with MAX_RECLAIM_RETRIES again.</summary>
    internal void Charged(Entity task)
    {
        _retries.Remove(task);
        _drained.Remove(task);
    }

    /// <summary>
    /// The end of try_charge_memcg for a charge that went through: every group from <paramref name="g"/> up that is
    /// above memory.high adds the charge's batch (what the counters were charged: MEMCG_CHARGE_BATCH or more; nothing
    /// when the CPU's stock served it) to the task's memcg_nr_pages_over_high, paid at its return to user.
    /// </summary>
    internal void NoteOverHigh(Entity task, MemCgroup g, long pages) => AddOverHigh(task, OverHighBatch(g, pages));

    /// <summary>
    /// try_charge_memcg's memory.high check for a charge that put <paramref name="pages"/> on <paramref name="g"/>'s
    /// counters: those pages when some group from <paramref name="g"/> up stands above its memory.high, else 0.
    /// </summary>
    private static long OverHighBatch(MemCgroup g, long pages)
    {
        if (pages == 0)
            return 0; // consume_stock: try_charge_memcg returns before its memory.high check
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            if (c.Usage > c.High)
                return pages;
        return 0;
    }

    /// <summary>current->memcg_nr_pages_over_high += <paramref name="pages"/> (set_notify_resume: paid at the task's return to user).</summary>
    internal void AddOverHigh(Entity task, long pages)
    {
        if (pages > 0)
            _overHigh[task] = (_overHigh.TryGetValue(task, out long n) ? n : 0) + pages;
    }

    /// <summary>Takes the task's memcg_nr_pages_over_high (0 when it charged nothing above memory.high).</summary>
    internal long TakeOverHigh(Entity task) => _overHigh.Remove(task, out long n) ? n : 0;

    /// <summary>
    /// mem_cgroup_handle_over_high at the task's return to user space: every group from its own up that stands above
    /// memory.high counts a memory.events high and is reclaimed (reclaim_high: try_to_free_mem_cgroup_pages for at
    /// least SWAP_CLUSTER_MAX pages); then the task sleeps calculate_high_delay's penalty, nothing when it is at most
    /// HZ/100, at most MEMCG_MAX_HIGH_DELAY_JIFFIES (2 s). Returns the sleep in cycles. The return to user space is
    /// fault-install's, after this tick's reclaim stage (swap-out) has run, so the reclaim is an event for the next
    /// tick (<see cref="ReclaimHighHandler"/>; a request added to this tick's batch would be dropped unread at its end).
    /// Simplified: Linux computes the penalty after its reclaim and retries reclaim that made progress before
    /// sleeping; EcsMem's reclaim comes after, so the penalty is the overage found before it.
    /// </summary>
    public ulong HandleOverHigh(SimEnvironment env, Entity task, int mmId, int cpu, int swapClusterMax, double clockGHz)
    {
        long nrPages = TakeOverHigh(task);
        if (nrPages == 0)
            return 0;
        MemCgroup memcg = OfMm(mmId);
        for (MemCgroup? c = memcg; c is not null && !c.IsRoot; c = c.Parent)
        {
            if (c.Usage <= c.High)
                continue;
            MemoryEvent(c, MemcgEvent.High);
            if (_reclaimHighKind < 0)
                _reclaimHighKind = env.RegisterEventKind("memcg-reclaim-high", new ReclaimHighHandler());
            env.Schedule(0, new SimEvent(_reclaimHighKind, task, Math.Max(nrPages, swapClusterMax), ((long)c.Id << 16) | (uint)cpu));
        }
        ulong jiffies = HighDelayJiffies(nrPages, MaxOverage(memcg));
        if (jiffies <= Hz / 100)
            return 0;
        jiffies = Math.Min(jiffies, 2 * Hz);
        return (ulong)Math.Round(jiffies * clockGHz * 1e9 / Hz);
    }

    private int _reclaimHighKind = -1;

    /// <summary>
    /// reclaim_high's (or a late page-table charge's) try_to_free_mem_cgroup_pages for one group: the next tick's
    /// memcg reclaim request.
    /// </summary>
    private sealed class ReclaimHighHandler : IEventHandler
    {
        public void Handle(SimEnvironment env, in SimEvent ev) =>
            env.Work<Vmscan.ReclaimRequest>().Add(new Vmscan.ReclaimRequest(true, (int)ev.Arg0, ev.Target, (int)(ev.Arg1 & 0xffff), MayOom: false, Memcg: (int)(ev.Arg1 >> 16)));
    }

    /// <summary>
    /// mem_find_max_overage: the largest calculate_overage(usage, high) from <paramref name="g"/> up, in the
    /// kernel's fixed point (MEMCG_DELAY_PRECISION_SHIFT = 20).
    /// </summary>
    public static ulong MaxOverage(MemCgroup g)
    {
        ulong max = 0;
        for (MemCgroup? c = g; c is not null && !c.IsRoot; c = c.Parent)
        {
            if (c.Usage <= c.High)
                continue;
            ulong high = (ulong)Math.Max(c.High, 1);
            ulong overage = ((ulong)(c.Usage - c.High) << 20) / high;
            max = Math.Max(max, overage);
        }
        return max;
    }

    /// <summary>
    /// calculate_high_delay: the throttle in jiffies for <paramref name="nrPages"/> pages charged above memory.high at
    /// <paramref name="maxOverage"/>: overage² × HZ, scaled down by MEMCG_DELAY_PRECISION_SHIFT (20) and
    /// MEMCG_DELAY_SCALING_SHIFT (14), then by the pages over MEMCG_CHARGE_BATCH.
    /// </summary>
    public static ulong HighDelayJiffies(long nrPages, ulong maxOverage)
    {
        if (maxOverage == 0)
            return 0;
        // The kernel's u64 product; the shifts come after, so an overage above 2^22 (4× high) would wrap there too.
        ulong penalty = unchecked(maxOverage * maxOverage * Hz);
        penalty >>= 20;
        penalty >>= 14;
        return penalty * (ulong)nrPages / ChargeBatch;
    }

    /// <summary>
    /// mem_cgroup_calculate_protection for reclaim aimed at <paramref name="target"/>: each group's effective
    /// memory.min and memory.low (emin, elow). A direct child of the target gets its own settings; deeper groups
    /// share their parent's effective protection in proportion to their protected usage (effective_protection,
    /// without the memory_recursiveprot mount option). The target itself is not protected.
    /// </summary>
    public void CalculateProtection(MemCgroup target)
    {
        foreach (MemCgroup g in target.Subtree())
        {
            if (ReferenceEquals(g, target) || g.Usage == 0)
            {
                g.Emin = g.Elow = 0;
                continue;
            }
            MemCgroup parent = g.Parent!;
            if (ReferenceEquals(parent, target))
            {
                g.Emin = g.Min;
                g.Elow = g.Low;
                continue;
            }
            long siblingsMin = 0, siblingsLow = 0;
            foreach (MemCgroup s in parent.Children)
            {
                siblingsMin += Math.Min(s.Usage, s.Min);
                siblingsLow += Math.Min(s.Usage, s.Low);
            }
            g.Emin = EffectiveProtection(g.Usage, g.Min, parent.Emin, siblingsMin);
            g.Elow = EffectiveProtection(g.Usage, g.Low, parent.Elow, siblingsLow);
        }
    }

    /// <summary>effective_protection: min(usage, setting), scaled down when the siblings claim more than the parent has.</summary>
    private static long EffectiveProtection(long usage, long setting, long parentEffective, long siblingsProtected)
    {
        long prot = Math.Min(usage, setting);
        if (siblingsProtected > parentEffective && siblingsProtected > 0)
            return (long)((Int128)prot * parentEffective / siblingsProtected);
        return prot;
    }

    /// <summary>
    /// mem_cgroup_protection: the effective memory.min and memory.low of <paramref name="g"/> for reclaim aimed at
    /// <paramref name="target"/> (from the last <see cref="CalculateProtection"/>); none for the target itself.
    /// </summary>
    public static void Protection(MemCgroup target, MemCgroup g, out long min, out long low)
    {
        min = low = 0;
        if (ReferenceEquals(target, g) || g.IsRoot)
            return;
        min = g.Emin;
        low = g.Elow;
    }

    /// <summary>
    /// apply_proportional_protection (mm/vmscan.c): a protected group's scan target <paramref name="scan"/> (its list
    /// size, before the priority shift) shrinks by the share of its usage that is protected:
    /// scan − scan × protection / (max(usage, protection) + 1), at least SWAP_CLUSTER_MAX. The protection is the
    /// effective memory.low while low reclaim is not forced and low &gt; min (which sets memcg_low_skipped, so a pass
    /// that reclaims nothing is retried with memcg_low_reclaim), else the effective memory.min.
    /// </summary>
    public static long ApplyProportionalProtection(MemCgroup target, MemCgroup g, long scan, bool memcgLowReclaim, ref bool memcgLowSkipped, int swapClusterMax)
    {
        Protection(target, g, out long min, out long low);
        if (min == 0 && low == 0)
            return scan;
        long protection;
        if (!memcgLowReclaim && low > min)
        {
            protection = low;
            memcgLowSkipped = true;
        }
        else
        {
            protection = min;
        }
        long usage = Math.Max(g.Usage, protection);
        scan -= (long)((Int128)scan * protection / (usage + 1));
        return Math.Max(scan, swapClusterMax);
    }

    /// <summary>mem_cgroup_below_min: hard-protected from reclaim aimed at <paramref name="target"/>.</summary>
    public static bool BelowMin(MemCgroup target, MemCgroup g) =>
        !g.IsRoot && !ReferenceEquals(g, target) && g.Emin >= g.Usage;

    /// <summary>mem_cgroup_below_low: protected unless nothing unprotected is left (memcg_low_reclaim).</summary>
    public static bool BelowLow(MemCgroup target, MemCgroup g) =>
        !g.IsRoot && !ReferenceEquals(g, target) && g.Elow >= g.Usage;

    /// <summary>Tasks whose memcg is <paramref name="g"/> or below it (mem_cgroup_scan_tasks).</summary>
    public bool InSubtree(MemCgroup g, int mmId) => g.Contains(OfMm(mmId));
}
