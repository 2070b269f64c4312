using EcsMem.Simulation;
using EcsMem.Systems.Vmscan;

namespace EcsMem.Systems.HugeMemory;

/// <summary>
/// khugepaged's wakes through an idle stretch, skipped by arithmetic (<see cref="IDeferrableTimer"/>). While no task
/// runs and nothing else happens, a wake (khugepaged_do_scan) reads only what nothing changes: the mm list, each
/// registered mm's VMAs (vm_flags, anon_vma, bounds) and page tables (entries, their accessed bits), the struct pages
/// they map (anon, LRU, locked, writeback, referenced, THP, mapcount, pins), and the scan cursor; its lru_add_drain_all
/// finds every batch empty. So a wake that reaches no collapse_huge_page changes nothing but the cursor, full_scans,
/// the thp_scan_exceed_* counters, its CPU time and its next wake, all functions of the cursor it starts from: the
/// cursors at successive wakes repeat with some period, and N wakes cost what the wakes of one period cost, times the
/// whole periods, plus the rest. A dry run of the scan from the pending wake's cursor (the same code, its effects
/// tallied instead of made) finds the period; the skip then adds the tallies and moves the cursor, the counters and
/// the wake's time exactly where waking every period puts them. Not skipped: a wake whose scan would begin a
/// collapse (an allocation, a copy, compaction on failure: it changes the machine), a wake from the alloc sleep or a
/// collapse's end, a wake with pages in an lru_add batch, and a wake whose CPU time would overlap one of kcompactd's
/// timeouts (the timeout would end late on the busy CPU 0 and move its grid), which then run as usual.
/// </summary>
public sealed partial class Khugepaged
{
    /// <summary>Wakes a dry run looks at for the cursor to repeat before it gives up (that wake is then run for real).</summary>
    private const int MaxPlanWakes = 4096;

    /// <summary>Wakes the search for an overlap with kcompactd's timeouts walks before it stops (that wake runs for real).</summary>
    private const long MaxOverlapWakes = 1L << 22;

    private bool _dry; // the scan tallies its effects instead of making them
    private bool _dryCollapse; // the dry run reached collapse_huge_page
    private long _dryWork, _dryNone, _drySwap, _dryShare;

    /// <summary>One wake's effects in a dry run, and the cursor it leaves.</summary>
    private readonly record struct WakeTally(long Work, long FullScans, long NonePte, long SwapPte, long SharePte,
        ScanResult Last, int ScanMm, ulong ScanAddress);

    private readonly List<WakeTally> _plan = new(); // the wakes from the pending one, while no cursor repeats
    private readonly Dictionary<(int, ulong), int> _planIndex = new(); // a cursor at a wake's start → that wake's index
    private int _planCycleStart = -1; // the first wake of the repeating period (-1: none found)
    private int _planEffective = -1; // the first wake that would collapse, or the dry run's limit (-1: none)
    private long _planTick = -1; // the tick the plan was made in, for the wake pending at _planAt
    private ulong _planAt;

    /// <summary>The machine's pending wake and all after it do the same each period while nothing else runs.</summary>
    private bool SteadyScan() =>
        _pendingSeq >= 0 && _state == ThreadState.ScanSleep && _collapseHead < 0 && HasWork
        && _k.Smp.Time(0) <= _pendingAt && LruAddBatchesEmpty();

    /// <summary>lru_add_drain_all would move nothing: no folio waits in any CPU's lru_add, lru_deactivate or lru_lazyfree batch.</summary>
    private bool LruAddBatchesEmpty() =>
        (_k.LruAddBatches?.Pending ?? 0) == 0 && (_k.FolioBatches?.AllPending ?? 0) == 0;

    /// <summary>A thp_scan_exceed_* event: counted, or tallied in a dry run.</summary>
    private void CountScan(CounterId counter, ref long dry)
    {
        if (_dry)
            dry++;
        else
            _k.Env.Counters.Increment(counter);
    }

    /// <summary>One wake's khugepaged_do_scan from the cursor as it is, its effects tallied; the cursor moves as the wake would move it.</summary>
    private WakeTally DryWake()
    {
        long fullScans = FullScans;
        ScanResult last = LastResult;
        _dry = true;
        _dryCollapse = false;
        _dryWork = _dryNone = _drySwap = _dryShare = 0;
        try
        {
            DoScan(ThreadState.ScanSleep);
        }
        finally
        {
            _dry = false;
        }
        var t = new WakeTally(_dryWork, FullScans - fullScans, _dryNone, _drySwap, _dryShare, LastResult, _scanMm, _scanAddress);
        FullScans = fullScans;
        LastResult = last;
        return t;
    }

    /// <summary>
    /// Dry-runs the wakes from the pending one until the cursor at a wake's start repeats (the period), a wake would
    /// collapse, or <see cref="MaxPlanWakes"/>; the cursor is put back.
    /// </summary>
    private void BuildPlan()
    {
        _plan.Clear();
        _planIndex.Clear();
        _planCycleStart = -1;
        _planEffective = -1;
        _planTick = _k.Env.Ticks;
        _planAt = _pendingAt;
        int scanMm = _scanMm;
        ulong scanAddress = _scanAddress;
        _planIndex[(scanMm, scanAddress)] = 0;
        try
        {
            while (true)
            {
                if (_plan.Count == MaxPlanWakes)
                {
                    _planEffective = _plan.Count;
                    return;
                }
                WakeTally t = DryWake();
                if (_dryCollapse)
                {
                    _planEffective = _plan.Count;
                    return;
                }
                _plan.Add(t);
                if (_planIndex.TryGetValue((t.ScanMm, t.ScanAddress), out int at))
                {
                    _planCycleStart = at;
                    return;
                }
                _planIndex[(t.ScanMm, t.ScanAddress)] = _plan.Count;
            }
        }
        finally
        {
            _scanMm = scanMm;
            _scanAddress = scanAddress;
        }
    }

    private bool PlanValid => _planTick == _k.Env.Ticks && _planAt == _pendingAt;

    /// <summary>Wake <paramref name="m"/>'s tally (0: the pending wake), through the period once the plan found one.</summary>
    private WakeTally Tally(long m)
    {
        if (m < _plan.Count)
            return _plan[(int)m];
        int period = _plan.Count - _planCycleStart;
        return _plan[_planCycleStart + (int)((m - _planCycleStart) % period)];
    }

    private ulong SleepCycles => MsToCycles(Config.ScanSleepMillisecs);

    // kcompactd's timeouts as the plan was made (its pending one and their period; none when it has no timer or every
    // wake of the plan costs nothing): they share CPU 0 with this thread, whose work can hold one up.
    private bool _gridOn;
    private ulong _gridAt, _gridPeriod;

    // A state met again at a wake's start: the walk's figures then, to skip whole repeats of what came since.
    private readonly record struct WalkMark(long N, ulong At, long Work, long FullScans, long NonePte, long SwapPte, long SharePte, long Timeouts);

    private readonly Dictionary<(int, ulong), WalkMark> _walkMarks = new();

    /// <summary>Makes the plan and notes kcompactd's timeouts; false when the wakes cannot be skipped (a wake's work as long as a timeout period).</summary>
    private bool MakePlan()
    {
        BuildPlan();
        _gridOn = _k.Kcompactd.PendingTimeout(out _gridAt, out _gridPeriod) && _gridPeriod > 0;
        if (!_gridOn)
            return true;
        if (_gridAt < _k.Smp.Time(0))
            return false; // the pending timeout is already held up by CPU 0's work: it re-arms from where CPU 0 is
        bool anyWork = false;
        foreach (WakeTally t in _plan)
        {
            if ((ulong)t.Work >= _gridPeriod)
                return false; // more than one timeout could fall in one wake's work: not modelled
            anyWork |= t.Work > 0;
        }
        _gridOn = anyWork; // wakes that cost nothing hold up nothing
        return true;
    }

    /// <summary>
    /// The pending wake when it may do something (a wake from the alloc sleep or a collapse, pages in an lru_add batch,
    /// CPU 0 still busy past it), else the first wake that would begin a collapse (or the dry run's limit);
    /// <see cref="ulong.MaxValue"/> when none would: the wakes repeat for ever. Only when the stretch before
    /// <paramref name="before"/> holds two wakes or more does it dry-run the scan: otherwise nothing can be skipped and
    /// the pending wake bounds the stretch, as an ordinary event would.
    /// </summary>
    public ulong FirstEffectiveWake(ulong before)
    {
        if (_pendingSeq < 0)
            return ulong.MaxValue;
        ulong a = _pendingAt, sleep = SleepCycles;
        if (a >= before || before - a <= sleep || !SteadyScan() || !MakePlan())
        {
            _planTick = -1;
            return a;
        }
        if (_planEffective < 0)
            return ulong.MaxValue;
        for (int m = 0; m < _planEffective; m++)
            a += (ulong)_plan[m].Work + sleep;
        return a;
    }

    /// <summary>
    /// Skips the wakes before the last one due before <paramref name="horizon"/>: their scans' effects added —
    /// full_scans, the thp_scan_exceed_* counters, the CPU time (the kernel row; CPU 0's idle time is that much less,
    /// since it idles up to the kept wake in one piece), the last result, the wakes, the cursor — and the pending wake
    /// moved to where their work and sleeps put it (a wake at W re-arms at W + its work + scan_sleep_millisecs). The
    /// walk goes wake by wake and leaps over repeats: once the state at a wake's start (the cursor's place in its
    /// period, and where kcompactd's next timeout falls from there) is one met before, what came between repeats until
    /// the horizon. kcompactd's timeouts come along: one due while a wake's work holds CPU 0 runs at the work's end
    /// and re-arms from there (as its Update does with CPU 0's clock); the rest fall on its grid.
    /// </summary>
    public ulong DeferBefore(ulong horizon)
    {
        if (_pendingSeq < 0 || horizon <= _pendingAt || horizon - _pendingAt <= SleepCycles)
            return 0;
        if (!PlanValid && (!SteadyScan() || !MakePlan()))
            return 0;
        ulong sleep = SleepCycles, a = _pendingAt, lastAt = a, nb = _gridAt, period = _gridPeriod;
        long n = 0, work = 0, fullScans = 0, none = 0, swap = 0, share = 0, timeouts = 0;
        int cs = _planCycleStart, planPeriod = cs < 0 ? 0 : _plan.Count - cs;
        bool overlapped = false;
        _walkMarks.Clear();
        while (true)
        {
            if (_planEffective >= 0 && n >= _planEffective)
                break;
            int pos = n < _plan.Count ? (int)n : cs + (int)((n - cs) % planPeriod);
            // kcompactd's next timeout at or after this wake, as a distance from it.
            ulong x = ulong.MaxValue;
            if (_gridOn)
            {
                if (nb < a)
                {
                    ulong k = ((a - nb) + period - 1) / period;
                    nb += k * period;
                    timeouts += (long)k;
                }
                x = nb - a;
            }
            if (cs >= 0 && n >= cs && (!_gridOn || overlapped))
            {
                // A state the walk can meet again: the cursor's place in its period, and (after a held-up timeout
                // re-armed from a wake's end) the timeout's distance.
                var mark = new WalkMark(n, a, work, fullScans, none, swap, share, timeouts);
                if (_walkMarks.TryGetValue((pos, x), out WalkMark m0))
                {
                    ulong span = a - m0.At;
                    ulong reps = (horizon - 1 - a) / span;
                    if (reps > 1)
                    {
                        reps--; // the last repeat is walked, wake by wake, up to the horizon
                        long r = (long)reps;
                        n += r * (n - m0.N);
                        work += r * (work - m0.Work);
                        fullScans += r * (fullScans - m0.FullScans);
                        none += r * (none - m0.NonePte);
                        swap += r * (swap - m0.SwapPte);
                        share += r * (share - m0.SharePte);
                        timeouts += r * (timeouts - m0.Timeouts);
                        a += reps * span;
                        nb += reps * span;
                        lastAt += reps * span;
                        pos = n < _plan.Count ? (int)n : cs + (int)((n - cs) % planPeriod);
                    }
                    _walkMarks.Clear();
                }
                else
                {
                    _walkMarks[(pos, x)] = mark;
                }
            }
            WakeTally t = _plan[pos];
            ulong step = (ulong)t.Work + sleep;
            if (a + step >= horizon)
                break;
            if (_gridOn && planPeriod == 1 && n >= cs && x >= (ulong)t.Work)
            {
                // The same wake again and again, drifting against kcompactd's grid by (work + sleep) mod period a wake:
                // the wakes before the first whose work would hold up a timeout are leapt in one step.
                ulong d = step % period;
                ulong clear = d == 0 ? ulong.MaxValue : d <= (ulong)t.Work ? ((x - (ulong)t.Work) / d) + 1 : 0;
                ulong fit = (horizon - 1 - a) / step - 1; // the kept wake is the last before the horizon
                ulong j = Math.Min(clear, fit);
                if (j > 1)
                {
                    long jj = (long)j;
                    n += jj;
                    work += jj * t.Work;
                    fullScans += jj * t.FullScans;
                    none += jj * t.NonePte;
                    swap += jj * t.SwapPte;
                    share += jj * t.SharePte;
                    a += j * step;
                    lastAt = a - step;
                    overlapped = false;
                    continue;
                }
            }
            overlapped = false;
            if (_gridOn && x < (ulong)t.Work)
            {
                // The timeout comes while the wake's work holds CPU 0: it runs at the work's end and re-arms from there.
                nb = a + (ulong)t.Work + period;
                timeouts++;
                overlapped = true;
            }
            work += t.Work;
            fullScans += t.FullScans;
            none += t.NonePte;
            swap += t.SwapPte;
            share += t.SharePte;
            lastAt = a;
            a += step;
            n++;
        }
        if (n == 0)
            return 0;
        WakeTally last = Tally(n - 1);
        Wakes += n;
        FullScans += fullScans;
        LastResult = last.Last;
        LastWakeAt = lastAt;
        _scanMm = last.ScanMm;
        _scanAddress = last.ScanAddress;
        var counters = _k.Env.Counters;
        counters.Add(_k.C.ThpScanExceedNonePte, none);
        counters.Add(_k.C.ThpScanExceedSwapPte, swap);
        counters.Add(_k.C.ThpScanExceedSharePte, share);
        if (work > 0)
        {
            _k.Cycles.Charge(Timing.CycleCategory.Kernel, work);
            _k.Smp[0].IdleCycles -= work;
        }
        _k.Env.Events.Cancel((ulong)_pendingSeq);
        _sleepExpire = a;
        Schedule(a);
        if (_gridOn && nb != _gridAt)
            _k.Kcompactd.MoveTimeout(nb);
        return (ulong)(n + timeouts);
    }
}
