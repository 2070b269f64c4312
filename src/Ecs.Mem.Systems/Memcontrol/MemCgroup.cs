using EcsMem.Systems.Policies;

namespace EcsMem.Systems.Memcontrol;

/// <summary>memory.events entries (enum memcg_memory_event, the ones cgroup v2 prints in memory.events).</summary>
public enum MemcgEvent
{
    /// <summary>MEMCG_LOW: the group was reclaimed although below memory.low (no unprotected memory was left).</summary>
    Low,

    /// <summary>MEMCG_HIGH: a charge went above memory.high and the group was reclaimed (reclaim_high).</summary>
    High,

    /// <summary>MEMCG_MAX: a charge would have gone above memory.max (try_charge_memcg reclaims).</summary>
    Max,

    /// <summary>MEMCG_OOM: the group ran out of memory (mem_cgroup_oom).</summary>
    Oom,

    /// <summary>MEMCG_OOM_KILL: a task of the group was killed by an OOM killer.</summary>
    OomKill,
}

/// <summary>
/// struct mem_cgroup (mm/memcontrol.c) as EcsMem needs it: the page counters (memory and swap, with their
/// settings), memory.events, the per-group event counts memory.stat prints, and the group's own lruvec — one
/// instance of the machine's replacement policy, so the LRU lists of whatever policy the machine runs exist
/// once per cgroup (mem_cgroup_lruvec). The counters are hierarchical as page_counter is: a charge to a group
/// charges every ancestor up to the root.
/// </summary>
public sealed class MemCgroup
{
    internal MemCgroup(int id, string name, MemCgroup? parent, IReplacementPolicy lruvec)
    {
        Id = id;
        Name = name;
        Parent = parent;
        Lruvec = lruvec;
        parent?.Children.Add(this);
    }

    /// <summary>Index in <see cref="MemcgController.Groups"/> (0 = the root cgroup).</summary>
    public int Id { get; }

    /// <summary>The cgroup's name (the root's is empty).</summary>
    public string Name { get; }

    /// <summary>The parent group (parent_mem_cgroup), null for the root.</summary>
    public MemCgroup? Parent { get; }

    /// <summary>Child groups in declaration order.</summary>
    public List<MemCgroup> Children { get; } = new();

    /// <summary>True for root_mem_cgroup (no limits, no memory.* files in cgroup v2).</summary>
    public bool IsRoot => Parent is null;

    /// <summary>The cgroup path as /proc/PID/cgroup prints it ("/", "/a", "/a/b").</summary>
    public string Path => Parent is null ? "/" : Parent.IsRoot ? "/" + Name : Parent.Path + "/" + Name;

    /// <summary>The group's lruvec: its own instance of the machine's policy over the frames charged to it.</summary>
    public IReplacementPolicy Lruvec { get; }

    /// <summary>Frames on <see cref="Lruvec"/> (lruvec_lru_size summed over the lists).</summary>
    public long LruPages { get; internal set; }

    /// <summary>memory.max in pages (long.MaxValue: max).</summary>
    public long Max { get; internal set; } = long.MaxValue;

    /// <summary>memory.high in pages.</summary>
    public long High { get; internal set; } = long.MaxValue;

    /// <summary>memory.low in pages.</summary>
    public long Low { get; internal set; }

    /// <summary>memory.min in pages.</summary>
    public long Min { get; internal set; }

    /// <summary>memory.swap.max in pages.</summary>
    public long SwapMax { get; internal set; } = long.MaxValue;

    /// <summary>memory.current in pages: page_counter_read(&amp;memcg-&gt;memory), this group and its descendants.</summary>
    public long Usage { get; internal set; }

    /// <summary>The memory page_counter's watermark: the highest <see cref="Usage"/> so far (v1 memory.max_usage_in_bytes, v2 memory.peak).</summary>
    public long Watermark { get; internal set; }

    /// <summary>
    /// The memory page_counter's failcnt (v1 memory.failcnt): charges it refused (page_counter_try_charge counts a
    /// failure on the counter whose limit it would pass, a MEMCG_CHARGE_BATCH attempt included).
    /// </summary>
    public long Failcnt { get; internal set; }

    /// <summary>memory.swap.current in pages: swap entries charged to this group and its descendants.</summary>
    public long SwapUsage { get; internal set; }

    /// <summary>Page-table pages charged to this group and its descendants (memory.stat pagetables, NR_PAGETABLE).</summary>
    public long PageTables { get; internal set; }

    /// <summary>
    /// Of <see cref="PageTables"/>, the second pages of the PGDs' order-1 blocks (pgd_alloc with
    /// CONFIG_MITIGATION_PAGE_TABLE_ISOLATION: PGD_ALLOCATION_ORDER 1, the user half PTI switches to): charged and counted
    /// as Linux counts them, but no simulated frame backs them (EcsMem's root table is one frame).
    /// </summary>
    public long PgdUserPages { get; internal set; }

    /// <summary>
    /// Kernel memory charged to this group and its descendants, in pages (MEMCG_KMEM: memory.stat kernel in cgroup v2,
    /// v1 memory.kmem.usage_in_bytes): page tables, the pages obj_cgroup_charge charged for slab objects and percpu
    /// chunks (whole pages, so it includes the bytes the CPUs' object stocks and the groups' nr_charged_bytes hold), and
    /// kernel stacks.
    /// </summary>
    public long Kmem { get; internal set; }

    /// <summary>
    /// Of <see cref="Kmem"/>, the pages no simulated frame backs (slab objects, percpu chunks, kernel stacks: EcsMem
    /// charges them by size, the slab pages themselves are not frames), this group and its descendants.
    /// </summary>
    public long KmemObjPages { get; internal set; }

    /// <summary>memory.stat slab_reclaimable (NR_SLAB_RECLAIMABLE_B) in bytes: charged objects of SLAB_RECLAIM_ACCOUNT caches (radix_tree_node), with their obj_cgroup pointer.</summary>
    public long SlabReclaimable { get; internal set; }

    /// <summary>memory.stat slab_unreclaimable (NR_SLAB_UNRECLAIMABLE_B) in bytes: the other charged slab objects.</summary>
    public long SlabUnreclaimable { get; internal set; }

    /// <summary>memory.stat kernel_stack (NR_KERNEL_STACK_KB) in bytes: the stacks of tasks forked inside the group.</summary>
    public long KernelStack { get; internal set; }

    /// <summary>memory.stat percpu (MEMCG_PERCPU_B) in bytes: percpu chunks charged (an mm's rss counters).</summary>
    public long Percpu { get; internal set; }

    /// <summary>Effective memory.min (memory.emin) from the last mem_cgroup_calculate_protection.</summary>
    public long Emin { get; internal set; }

    /// <summary>Effective memory.low (memory.elow) from the last mem_cgroup_calculate_protection.</summary>
    public long Elow { get; internal set; }

    /// <summary>memory.events, hierarchical (memcg_memory_event counts in the group and every ancestor but the root).</summary>
    public long[] Events { get; } = new long[5];

    /// <summary>memory.events.local: the events of this group alone.</summary>
    public long[] EventsLocal { get; } = new long[5];

    /// <summary>PGFAULT charged to this group alone (count_memcg_event_mm); memory.stat sums the subtree.</summary>
    public long PgFault { get; internal set; }

    /// <summary>PGMAJFAULT charged to this group alone.</summary>
    public long PgMajFault { get; internal set; }

    /// <summary>
    /// cgroup v1's PGPGIN of this group alone (memcg1_charge_statistics): one event per folio charged to it
    /// (commit_charge of a fault's, a page-cache insertion's or a swap-in's folio; a THP or large folio is one event,
    /// "pagein of a big page is an event"); kernel memory (page tables, slab) is charged without one.
    /// </summary>
    public long PgPgIn { get; internal set; }

    /// <summary>
    /// cgroup v1's PGPGOUT of this group alone: one event per folio uncharged (uncharge_folio's ug->pgpgout++ at the
    /// folio's free, or memcg1_swapout when reclaim frees a swap-cache folio); kernel memory is uncharged without one.
    /// </summary>
    public long PgPgOut { get; internal set; }

    /// <summary>
    /// <see cref="PgPgIn"/> as of the group's last statistics flush (memcg_events_local reads vmstats->events_local,
    /// which css_rstat_flush updates): what cgroup v1's memory.stat prints when the read does not flush
    /// (<see cref="MemcgController.FlushStats"/>).
    /// </summary>
    public long FlushedPgPgIn { get; internal set; }

    /// <summary><see cref="PgPgOut"/> as of the group's last statistics flush (see <see cref="FlushedPgPgIn"/>).</summary>
    public long FlushedPgPgOut { get; internal set; }

    /// <summary>Pages this group's lruvec had scanned by kswapd / direct reclaim (PGSCAN_KSWAPD, PGSCAN_DIRECT), this group alone.</summary>
    public long PgScanKswapd { get; internal set; }

    /// <summary>PGSCAN_DIRECT for this group alone (cgroup limit reclaim counts as direct).</summary>
    public long PgScanDirect { get; internal set; }

    /// <summary>PGSTEAL_KSWAPD for this group alone.</summary>
    public long PgStealKswapd { get; internal set; }

    /// <summary>PGSTEAL_DIRECT for this group alone.</summary>
    public long PgStealDirect { get; internal set; }

    /// <summary>WORKINGSET_NODERECLAIM of the shadow nodes charged to this group alone (shadow_lru_isolate); memory.stat sums the subtree.</summary>
    public long WorkingsetNodeReclaim { get; internal set; }

    /// <summary>True when <paramref name="other"/> is this group or one of its descendants (mem_cgroup_is_descendant).</summary>
    public bool Contains(MemCgroup other)
    {
        for (MemCgroup? g = other; g is not null; g = g.Parent)
            if (ReferenceEquals(g, this))
                return true;
        return false;
    }

    /// <summary>The subtree in pre-order (mem_cgroup_iter's order: the group, then each child's subtree).</summary>
    public IEnumerable<MemCgroup> Subtree()
    {
        yield return this;
        foreach (MemCgroup c in Children)
            foreach (MemCgroup d in c.Subtree())
                yield return d;
    }
}
