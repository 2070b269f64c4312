using EcsMem.Components;

namespace EcsMem.Systems.Reporting.Html;

/// <summary>One sample of the HTML page's timeline: the state at an exact access count and the counters' growth since the previous sample.</summary>
/// <param name="Cycles">Simulated time.</param>
/// <param name="Accesses">Completed accesses, all processes (exact: the access stage ends its tick here).</param>
/// <param name="FreePages">nr_free_pages.</param>
/// <param name="SwapUsedPages">Swap slots in use.</param>
/// <param name="PageCachePages">Pages in the page cache (swap cache excluded).</param>
/// <param name="Rss">Resident pages of every process, in pid order (the processes that exist by then).</param>
/// <param name="Deltas">Growth of each of <see cref="IntervalSampler.CounterNames"/> since the previous sample.</param>
public sealed record IntervalSample(ulong Cycles, long Accesses, long FreePages, long SwapUsedPages, long PageCachePages, ulong[] Rss, long[] Deltas);

/// <summary>
/// The HTML page's timeline: samples at exact multiples of an interval of completed accesses, starting at every
/// access and doubling the interval (merging pairs of samples) whenever more than <see cref="MaxSamples"/> are kept,
/// so a six-access teaching run and a million-access run both get a readable timeline. Each sample holds the state
/// (free pages, swap, page cache, RSS) and how much each mechanism counter grew since the previous one, which is
/// what lights the diagram's arrows when no event stream is there. The marks are armed through
/// <see cref="Cpu.AccessStage.AccessMark"/> (lowered to the nearer of this mark and any other already armed), so
/// samples do not depend on <c>--batch</c>. Call <see cref="AfterTick"/> after every tick (after any other
/// recorder that arms the mark) and <see cref="Finish"/> at the end.
/// </summary>
public sealed class IntervalSampler
{
    /// <summary>Most samples kept.</summary>
    public const int MaxSamples = 400;

    /// <summary>The counters sampled, grouped by the diagram's arrows (see the page's legend).</summary>
    public static readonly string[] CounterNames =
    [
        "pgfault", "pgmajfault", "ecsmem_zero_page_map", "ecsmem_cow_copy", "ecsmem_pgtable_alloc",
        "pgalloc_normal", "pgfree",
        "ecsmem_pagecache_hit", "ecsmem_pagecache_miss",
        "ecsmem_kswapd_wakeups", "pgscan_kswapd", "pgscan_direct",
        "pgsteal_kswapd", "pgsteal_direct",
        "ecsmem_swapcache_hit",
        "pswpout", "pswpin",
        "dtlb_miss", "stlb_miss", "nr_tlb_local_flush_one", "nr_tlb_local_flush_all",
    ];

    private readonly Machine.Machine _m;
    private readonly List<IntervalSample> _samples = [];
    private readonly long[] _last = new long[CounterNames.Length];
    private readonly long[] _carry = new long[CounterNames.Length];
    private long _interval = 1;
    private long _next = 1;

    public IntervalSampler(Machine.Machine machine) => _m = machine;

    /// <summary>Accesses between samples now.</summary>
    public long Interval => _interval;

    public IReadOnlyList<IntervalSample> Samples => _samples;

    /// <summary>Between two ticks: samples when the mark is reached, then arms the next mark.</summary>
    public void AfterTick()
    {
        long done = _m.Access.CompletedAccesses;
        if (done >= _next)
        {
            Add(done);
            if (_samples.Count > MaxSamples)
                Thin();
            _next = (done / _interval + 1) * _interval;
        }
        // A mark at or below the count now is one already passed (left by an earlier tick): not a request.
        long armed = _m.Access.AccessMark;
        _m.Access.AccessMark = armed <= done ? _next : Math.Min(armed, _next);
    }

    /// <summary>After the run: a last sample unless the last one already shows the final count.</summary>
    public void Finish()
    {
        long done = _m.Access.CompletedAccesses;
        if (_samples.Count == 0 || _samples[^1].Accesses != done)
            Add(done);
    }

    private void Add(long accesses)
    {
        Kernel.Kernel k = _m.Kernel;
        var procs = k.Tasks.Processes;
        var rss = new ulong[procs.Count];
        for (int i = 0; i < procs.Count; i++)
        {
            ref Process p = ref k.World.Get<Process>(procs[i]);
            rss[i] = k.World.Get<MmRef>(p.Mm).State.Rss;
        }
        var deltas = new long[CounterNames.Length];
        for (int c = 0; c < CounterNames.Length; c++)
        {
            long now = k.Env.Counters.Get(CounterNames[c]);
            // --warmup resets every counter once: what was counted before the reset belongs to the earlier samples.
            long d = now >= _last[c] ? now - _last[c] : now;
            deltas[c] = d + _carry[c];
            _carry[c] = 0;
            _last[c] = now;
        }
        _samples.Add(new IntervalSample(k.Env.Now, accesses, k.Zone.Buddy.NrFreePages, k.Swap.UsedPages, k.PageCache.Count, rss, deltas));
    }

    /// <summary>Doubles the interval: a sample off the new multiples gives its growth to the next one kept.</summary>
    private void Thin()
    {
        _interval *= 2;
        var kept = new List<IntervalSample>(_samples.Count / 2 + 1);
        var pending = new long[CounterNames.Length];
        foreach (IntervalSample s in _samples)
        {
            for (int c = 0; c < pending.Length; c++)
                pending[c] += s.Deltas[c];
            if (s.Accesses % _interval != 0)
                continue;
            kept.Add(s with { Deltas = (long[])pending.Clone() });
            Array.Clear(pending);
        }
        for (int c = 0; c < pending.Length; c++)
            _carry[c] += pending[c];
        _samples.Clear();
        _samples.AddRange(kept);
    }
}
