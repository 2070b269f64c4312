namespace EcsMem.Systems.Memcontrol;

/// <summary>
/// The rstat flush of mm/memcontrol.c (Linux 6.18), the one owner of every memory cgroup statistics flush: every
/// statistics update of a group (mod_memcg_state, mod_memcg_lruvec_state, count_memcg_events) calls
/// memcg_rstat_updated, which adds |val| to the group's and each ancestor's per-CPU stats_updates and folds a CPU's count
/// into the group's atomic stats_updates once it reaches MEMCG_CHARGE_BATCH. A flush (css_rstat_flush of a subtree,
/// <see cref="FlushStats"/>) makes every group's counters what readers see: the v1 pgpgin/pgpgout events and, as one of
/// its outputs, the lruvec statistics reclaim reads (Vmscan/LruvecStats.cs); it clears the pending counts. Three
/// callers flush: flush_memcg_stats_dwork (the whole tree every FLUSH_TIME, 2 s, whatever the counts), a reader
/// (memory.stat, the OOM dump: mem_cgroup_flush_stats, only when memcg_vmstats_needs_flush: the atomic count above
/// MEMCG_CHARGE_BATCH × online CPUs; otherwise the read returns the values of the last flush), and reclaim
/// (mem_cgroup_flush_stats_ratelimited: as a reader, but only when the periodic flusher is a whole cycle late).
/// The updates counted here are the ones EcsMem has a place for: PGPGIN/PGPGOUT per folio (memcg1_charge_statistics,
/// memcg1_uncharge_batch), PGFAULT/PGMAJFAULT (count_memcg_event_mm), the LRU sizes (update_lru_size), one
/// resident-type counter per charged and per uncharged page (NR_ANON_MAPPED, NR_FILE_PAGES or NR_SWAPCACHE: a
/// simplification, the kernel updates one to three such counters a page), and kernel memory (MEMCG_KMEM,
/// NR_PAGETABLE). Not counted: active/inactive moves, reclaim's scan/steal events, dirty/writeback, slab bytes.
/// </summary>
public sealed partial class MemcgController
{
    // memcg_vmstats_percpu.stats_updates: index group * _cpus + cpu.
    private int[] _pcpuStatsUpdates = [];

    // memcg_vmstats.stats_updates: one per group.
    private long[] _statsUpdates = [];

    /// <summary>FLUSH_TIME: flush_memcg_stats_dwork's period, 2 × HZ jiffies.</summary>
    public const ulong FlushTime = 2 * Hz;

    // The FLUSH_TIME boundary at which flush_memcg_stats_dwork runs next (it is queued FLUSH_TIME after boot).
    private ulong _nextPeriodicStatsFlush = FlushTime;

    // flush_last_time: the jiffies of the last flush of the root's subtree (__mem_cgroup_flush_stats of root_mem_cgroup).
    private ulong _flushLastTime;

    /// <summary>
    /// flush_memcg_stats_dwork runs (the default). False holds the worker off (it is deferrable work on
    /// system_unbound_wq; a test uses this to reach mem_cgroup_flush_stats_ratelimited's own flush).
    /// </summary>
    internal bool PeriodicFlusher { get; set; } = true;

    /// <summary>
    /// Readers other than the caller's own reads honour the threshold: the OOM dump's memory_stat_format flushes through
    /// <see cref="ReadStats"/> (false, the default: no flush there, and the kit flushes at every memory.stat read).
    /// </summary>
    public bool ThresholdFlushes { get; set; }

    /// <summary>smp_processor_id() for the updates whose callers do not pass a CPU (the kernel sets it).</summary>
    internal Func<int> CurrentCpu { get; set; } = static () => 0;

    /// <summary>
    /// num_online_cpus() as the threshold reads it: the machine's CPUs unless set (the kit sets the recording machine's
    /// when it runs its programs on one simulated CPU).
    /// </summary>
    public int StatsFlushCpus { get; set; }

    /// <summary>memcg_vmstats_needs_flush's bound: MEMCG_CHARGE_BATCH × num_online_cpus().</summary>
    public long StatsFlushThreshold => (long)ChargeBatch * (StatsFlushCpus > 0 ? StatsFlushCpus : _cpus);

    /// <summary>memcg_vmstats.stats_updates of <paramref name="g"/>: the folded updates since its last flush.</summary>
    public long PendingStatsUpdates(MemCgroup g) => _statsUpdates[g.Id];

    /// <summary>memcg_vmstats_percpu.stats_updates of <paramref name="g"/> on <paramref name="cpu"/>: not folded yet.</summary>
    public int PendingStatsUpdatesOn(MemCgroup g, int cpu) => _pcpuStatsUpdates[(g.Id * _cpus) + cpu];

    private void InitRstat()
    {
        _pcpuStatsUpdates = new int[_groups.Count * _cpus];
        _statsUpdates = new long[_groups.Count];
    }

    /// <summary>memcg_vmstats_needs_flush: more than MEMCG_CHARGE_BATCH × CPUs updates folded since the last flush.</summary>
    public bool StatsNeedFlush(MemCgroup g) => _statsUpdates[g.Id] > StatsFlushThreshold;

    /// <summary>
    /// memcg_rstat_updated: |<paramref name="val"/>| more updates of <paramref name="g"/> on <paramref name="cpu"/>, counted in
    /// the group and each ancestor until one that already needs a flush (its ancestors do too); a CPU's count reaching
    /// MEMCG_CHARGE_BATCH is folded into the group's atomic count (this_cpu_xchg, atomic_long_add).
    /// </summary>
    public void RstatUpdated(MemCgroup g, long val, int cpu)
    {
        if (val == 0)
            return;
        long abs = Math.Abs(val);
        int c = cpu % _cpus;
        for (MemCgroup? m = g; m is not null; m = m.Parent)
        {
            if (StatsNeedFlush(m))
                break;
            int i = (m.Id * _cpus) + c;
            long x = _pcpuStatsUpdates[i] + abs;
            if (x < ChargeBatch)
            {
                _pcpuStatsUpdates[i] = (int)x;
                continue;
            }
            _pcpuStatsUpdates[i] = 0;
            _statsUpdates[m.Id] += x;
        }
    }

    /// <summary>
    /// __mem_cgroup_flush_stats of <paramref name="g"/> (mem_cgroup_flush_stats; <paramref name="force"/>: the periodic
    /// worker's, no threshold): unless forced, nothing when the group does not need a flush; else css_rstat_flush of its
    /// subtree: each group's statistics become what readers see (the v1 pgpgin/pgpgout events, and its lruvec's sizes,
    /// activations and shadow limit: <see cref="Vmscan.Lruvec.FlushStats"/>) and mem_cgroup_css_rstat_flush clears its
    /// per-CPU and atomic stats_updates. A flush of the root at <paramref name="jiffies"/> records flush_last_time.
    /// Returns whether it flushed.
    /// </summary>
    public bool FlushStats(MemCgroup g, bool force, ulong jiffies)
    {
        if (!force && !StatsNeedFlush(g))
            return false;
        DoFlushStats(g, jiffies);
        return true;
    }

    /// <summary>
    /// __mem_cgroup_flush_stats's flush: flush_last_time for the root, then css_rstat_flush of <paramref name="g"/>'s
    /// subtree.
    /// </summary>
    private void DoFlushStats(MemCgroup g, ulong jiffies)
    {
        if (g.IsRoot)
            _flushLastTime = jiffies;
        FlushSubtree(g);
    }

    /// <summary>
    /// css_rstat_flush → mem_cgroup_css_rstat_flush for each group of the subtree: its counters and its lruvec's (the
    /// lruvec's sizes are hierarchical already: it flushes its own values, the walk goes down the groups).
    /// </summary>
    private void FlushSubtree(MemCgroup g)
    {
        g.FlushedPgPgIn = g.PgPgIn;
        g.FlushedPgPgOut = g.PgPgOut;
        Array.Clear(_pcpuStatsUpdates, g.Id * _cpus, _cpus);
        _statsUpdates[g.Id] = 0;
        if (g.Lruvec is Vmscan.Lruvec lv)
            lv.FlushStats();
        foreach (MemCgroup c in g.Children)
            FlushSubtree(c);
    }

    /// <summary>
    /// flush_memcg_stats_dwork at every FLUSH_TIME boundary up to <paramref name="jiffies"/>: __mem_cgroup_flush_stats of
    /// the root with force, whatever the counts. Applied when the first reader of any kind (memory.stat, the OOM dump,
    /// reclaim) comes after the boundary, with the values of that moment (a simplification: the worker's own instant is
    /// not kept; it matters only for a read long after a boundary with no reader in between). flush_last_time is the
    /// boundary, when the worker ran.
    /// </summary>
    private void PeriodicFlush(ulong jiffies)
    {
        if (!PeriodicFlusher || jiffies < _nextPeriodicStatsFlush)
            return;
        ulong boundary = jiffies / FlushTime * FlushTime;
        DoFlushStats(Root, boundary);
        _nextPeriodicStatsFlush = boundary + FlushTime;
    }

    /// <summary>
    /// memcg_stat_show's (and memory_stat_format's) mem_cgroup_flush_stats at <paramref name="jiffies"/>: the periodic
    /// flush first if a FLUSH_TIME boundary has passed (<see cref="PeriodicFlush"/>), then the threshold flush of
    /// <paramref name="g"/>'s subtree. The caller reads <see cref="MemCgroup.FlushedPgPgIn"/> and
    /// <see cref="MemCgroup.FlushedPgPgOut"/> after it.
    /// </summary>
    public void ReadStats(MemCgroup g, ulong jiffies)
    {
        PeriodicFlush(jiffies);
        FlushStats(g, force: false, jiffies);
    }

    /// <summary>
    /// mem_cgroup_flush_stats_ratelimited of <paramref name="g"/> at <paramref name="jiffies"/>, reclaim's flush
    /// (prepare_scan_control, workingset_test_recent, count_shadow_nodes) before it reads lruvec_page_state: the periodic
    /// flush if a boundary has passed, then mem_cgroup_flush_stats only "if the periodic flusher is one full cycle late":
    /// jiffies after flush_last_time + 2 × FLUSH_TIME. With the worker running that never holds (flush_last_time is at
    /// most one period old), so reclaim sees the values of the last flush, whoever made it.
    /// </summary>
    public void FlushStatsRatelimited(MemCgroup g, ulong jiffies)
    {
        PeriodicFlush(jiffies);
        if (jiffies > _flushLastTime + (2 * FlushTime))
            FlushStats(g, force: false, jiffies);
    }
}
