namespace EcsMem.Systems.Memcontrol;

/// <summary>
/// The rstat flush threshold of mm/memcontrol.c (Linux 6.18): every statistics update of a group (mod_memcg_state,
/// mod_memcg_lruvec_state, count_memcg_events) calls memcg_rstat_updated, which adds |val| to the group's and each
/// ancestor's per-CPU stats_updates and folds a CPU's count into the group's atomic stats_updates once it reaches
/// MEMCG_CHARGE_BATCH. A reader (memory.stat, the OOM dump) calls mem_cgroup_flush_stats, which flushes the group's
/// subtree only when memcg_vmstats_needs_flush (the atomic count above MEMCG_CHARGE_BATCH × online CPUs); otherwise the
/// read returns the values of the last flush. flush_memcg_stats_dwork flushes the whole tree every FLUSH_TIME (2 s).
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

    private ulong _nextPeriodicStatsFlush = 2 * Hz;

    /// <summary>
    /// Readers other than the caller's own reads honour the threshold: the OOM dump's memory_stat_format flushes through
    /// <see cref="FlushStats"/> (false, the default: no flush there, and the kit flushes at every memory.stat read).
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
    /// __mem_cgroup_flush_stats: unless <paramref name="force"/>, nothing when the group does not need a flush; else
    /// css_rstat_flush of its subtree: each group's statistics become what readers see (the v1 pgpgin/pgpgout events,
    /// the lruvec sizes reclaim reads) and mem_cgroup_css_rstat_flush clears its per-CPU and atomic stats_updates.
    /// Returns whether it flushed.
    /// </summary>
    public bool FlushStats(MemCgroup g, bool force)
    {
        if (!force && !StatsNeedFlush(g))
            return false;
        FlushSubtree(g);
        if (g.Lruvec is Vmscan.Lruvec lv)
            lv.FlushStats();
        return true;
    }

    private void FlushSubtree(MemCgroup g)
    {
        g.FlushedPgPgIn = g.PgPgIn;
        g.FlushedPgPgOut = g.PgPgOut;
        Array.Clear(_pcpuStatsUpdates, g.Id * _cpus, _cpus);
        _statsUpdates[g.Id] = 0;
        foreach (MemCgroup c in g.Children)
            FlushSubtree(c);
    }

    /// <summary>
    /// memcg_stat_show's mem_cgroup_flush_stats at <paramref name="jiffies"/>: first flush_memcg_stats_dwork if a FLUSH_TIME
    /// boundary has passed since the last one (applied at the read, with the values of that moment: a simplification, as
    /// Lruvec's periodic flush), then the threshold flush of <paramref name="g"/>'s subtree. The caller reads
    /// <see cref="MemCgroup.FlushedPgPgIn"/> and <see cref="MemCgroup.FlushedPgPgOut"/> after it.
    /// </summary>
    public void ReadStats(MemCgroup g, ulong jiffies)
    {
        if (jiffies >= _nextPeriodicStatsFlush)
        {
            FlushStats(Root, force: true);
            _nextPeriodicStatsFlush = ((jiffies / (2 * Hz)) + 1) * (2 * Hz);
        }
        FlushStats(g, force: false);
    }
}
