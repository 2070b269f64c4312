using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.PageAlloc;

namespace EcsMem.Systems.Compaction;

/// <summary>
/// kcompactd (mm/compaction.c), the node's compaction thread. It sleeps in wait_event_freezable_timeout with a
/// timeout of HPAGE_FRAG_CHECK_INTERVAL_MSEC (500 ms; no timeout while vm.compaction_proactiveness is 0) and
/// wakes for one of two reasons:
/// <list type="bullet">
/// <item><b>wakeup_kcompactd</b> for an order above 0 — when kswapd goes to sleep after balancing the node
/// (kswapd_try_to_sleep, with the order kswapd was woken for) — if the zone is worth compacting for it
/// (kcompactd_node_suitable: no free block of the order above the min watermark, compaction_suitable). Then
/// kcompactd_do_work: compact_daemon_wake, compaction_deferred, compact_zone for that order, defer or reset, and the
/// pages scanned counted in compact_daemon_migrate_scanned and compact_daemon_free_scanned.</item>
/// <item><b>the timeout</b>: proactive compaction when should_proactive_compact_node (proactiveness above 0, kswapd
/// not running, the fragmentation score above the high mark): compact_node over the whole zone until the score is at
/// most the low mark or the scanners meet; a run that did not lower the score makes the next timeout 2^6 times
/// longer (32 s). Proactive runs count the daemon's scanned pages but not compact_daemon_wake.</item>
/// </list>
/// The thread runs on CPU 0 as kswapd and khugepaged do: its run's state changes at the instant it wakes, and its
/// scanning and copies (<see cref="Compaction.ScanPageCycles"/>, <see cref="Compaction.CopyPageCycles"/>) advance CPU 0's
/// clock, charged to the compaction row. The timer runs only while some address space exists (a pending wake would
/// keep an idle machine alive); it keeps its phase from boot.
/// It is a deferrable timer (<see cref="IDeferrableTimer"/>): while the machine idles, timeouts that would find no
/// work asked for and the score at or below the high mark are skipped in one step.
/// </summary>
public sealed class Kcompactd : IEventHandler, ISystem, IDeferrableTimer
{
    /// <summary>HPAGE_FRAG_CHECK_INTERVAL_MSEC.</summary>
    public const int CheckIntervalMs = 500;

    /// <summary>COMPACTION_HPAGE_ORDER on x86-64: the order the fragmentation score is about.</summary>
    public const int HpageOrder = BuddyAllocator.PageblockOrder;

    private readonly Kernel.Kernel _k;
    private readonly int _eventKind;
    private long _pendingSeq = -1;
    private ulong _pendingAt; // when the queued wake is due (while _pendingSeq >= 0)
    private ulong _deadline; // when the current timeout ends (its phase counted from boot)
    private ulong _timeout;
    private bool _workRequested; // kcompactd_work_requested: woken for an order
    private int _maxOrder; // pgdat->kcompactd_max_order
    private int _kswapdOrder; // pgdat->kswapd_order: the largest order kswapd was woken for since it last slept

    /// <summary>Creates the thread (asleep) and registers its wake event.</summary>
    public Kcompactd(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _eventKind = env.RegisterEventKind("kcompactd", this);
        env.RegisterDeferrableTimer(_eventKind, this);
        _timeout = DefaultTimeout;
    }

    public string Name => "kcompactd";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<KcompactdWake>();

    private int Proactiveness => _k.Options.CompactionProactiveness;

    private ulong DefaultTimeout => (ulong)Math.Round(CheckIntervalMs * _k.Options.Timing.ClockGHz * 1e6);

    /// <summary>Wakes for an order so far (kcompactd_do_work calls).</summary>
    public long Wakes { get; private set; }

    /// <summary>Proactive compaction runs so far.</summary>
    public long ProactiveRuns { get; private set; }

    /// <summary>What the last kcompactd_do_work's compact_zone returned (Skipped when it did not run one).</summary>
    public CompactResult LastResult { get; private set; } = CompactResult.Skipped;

    /// <summary>
    /// fragmentation_score_zone = extfrag_for_order(zone, COMPACTION_HPAGE_ORDER): the percentage of free pages not
    /// in blocks of order 9 or larger (0 when nothing is free). With one zone the node's weighted score is the same.
    /// </summary>
    public static int FragmentationScore(BuddyAllocator buddy)
    {
        var (pages, _, suitable) = FragmentationIndex.ContigPageInfo(buddy.NrFree, HpageOrder);
        if (pages == 0)
            return 0;
        return (int)((pages - (suitable << HpageOrder)) * 100 / pages);
    }

    /// <summary>
    /// fragmentation_score_wmark: low = max(100 − proactiveness, 5), high = min(low + min(10, low / 2), 100).
    /// Proactiveness 20 gives 80 and 90.
    /// </summary>
    public static int FragmentationScoreWmark(int proactiveness, bool low)
    {
        int wmarkLow = Math.Max(100 - proactiveness, 5);
        int leeway = Math.Min(10, wmarkLow / 2);
        return low ? wmarkLow : Math.Min(wmarkLow + leeway, 100);
    }

    /// <summary>should_proactive_compact_node.</summary>
    public bool ShouldProactiveCompact() =>
        Proactiveness != 0 && !_k.Zone.ReclaimActive
        && FragmentationScore(_k.Zone.Buddy) > FragmentationScoreWmark(Proactiveness, low: false);

    /// <summary>wakeup_kswapd's order, kept as pgdat-&gt;kswapd_order until kswapd sleeps.</summary>
    public void NoteKswapdOrder(int order)
    {
        if (order > _kswapdOrder)
            _kswapdOrder = order;
    }

    /// <summary>
    /// kswapd goes to sleep: when the node is <paramref name="balanced"/> (prepare_kswapd_sleep), wakeup_kcompactd for
    /// the order kswapd was woken for. EcsMem's kswapd balances order 0 only, so a high-order wake finds the node
    /// balanced at once and hands the order to kcompactd (Linux's kswapd first reclaims compact_gap at that order).
    /// </summary>
    public void KswapdSleeps(bool balanced)
    {
        int order = _kswapdOrder;
        _kswapdOrder = 0;
        if (balanced)
            WakeupKcompactd(order);
    }

    /// <summary>
    /// wakeup_kcompactd: remembers the order; wakes the thread now when the zone is worth compacting for it
    /// (kcompactd_node_suitable). The thread is asleep whenever this runs (its run changes the state at once; only its CPU time is spread).
    /// </summary>
    public void WakeupKcompactd(int order)
    {
        if (order == 0)
            return;
        if (_maxOrder < order)
            _maxOrder = order;
        if (!NodeSuitable(order))
            return;
        _workRequested = true;
        Reschedule(_k.Env.Now);
    }

    /// <summary>kcompactd_node_suitable → compaction_suit_allocation_order(ALLOC_WMARK_MIN) == COMPACT_CONTINUE.</summary>
    private bool NodeSuitable(int order)
    {
        var zone = _k.Zone;
        var buddy = zone.Buddy;
        if (Watermarks.WatermarkOk(buddy.NrFreePages, zone.Watermarks.Min, order) && buddy.HasFreeBlock(order))
            return false;
        return _k.Compaction.Suitable(order);
    }

    /// <summary>An address space was created: the thread's timer runs (again) if it was not.</summary>
    public void MmCreated()
    {
        if (_pendingSeq < 0)
            ArmTimer();
    }

    /// <summary>An address space went away (its last user): with none left, the pending timeout is dropped (it keeps its phase).</summary>
    public void MmGone()
    {
        if (!_workRequested && !_k.Tasks.AnyMmAlive())
            Cancel();
    }

    private void ArmTimer()
    {
        if (Proactiveness == 0)
            return; // MAX_SCHEDULE_TIMEOUT
        ulong now = _k.Env.Now;
        if (_deadline <= now)
        {
            // The timeout has been running since the last wake: find where its phase has got to.
            ulong periods = ((now - _deadline) / _timeout) + 1;
            _deadline += periods * _timeout;
        }
        Reschedule(_deadline);
    }

    private void Reschedule(ulong at)
    {
        Cancel();
        _pendingSeq = (long)_k.Env.ScheduleAt(at, new SimEvent(_eventKind, Entity.Null));
        _pendingAt = at;
    }

    /// <summary>
    /// The pending wake may do something when it was woken for an order (kcompactd_work_requested) or the proactive
    /// check would compact (<see cref="ShouldProactiveCompact"/>, read now: nothing it looks at — kswapd's activity,
    /// the free lists — changes while the machine idles); otherwise neither it nor any later timeout would.
    /// </summary>
    public ulong FirstEffectiveWake(ulong before)
    {
        if (_pendingSeq < 0)
            return ulong.MaxValue;
        // A wake at or after the horizon found so far cannot lower it: the fragmentation score need not be computed.
        if (_pendingAt >= before)
            return _pendingAt;
        return _workRequested || ShouldProactiveCompact() ? _pendingAt : ulong.MaxValue;
    }

    /// <summary>
    /// The pending timeout's time and the period of those after it while they find nothing to do (false: none is
    /// pending). khugepaged's skip keeps its own wakes' work on CPU 0 clear of them: a timeout due while CPU 0 is busy
    /// ends late, and its next deadline (now + the timeout) leaves the grid.
    /// </summary>
    public bool PendingTimeout(out ulong at, out ulong period)
    {
        at = _pendingAt;
        period = DefaultTimeout;
        return _pendingSeq >= 0;
    }

    /// <summary>
    /// khugepaged's skip went through this timer's timeouts along with its own wakes (some held up by its work on CPU 0
    /// and re-armed from the work's end, as <see cref="Update"/> would have): the pending timeout is now at
    /// <paramref name="at"/>, every one before it having found nothing to do.
    /// </summary>
    public void MoveTimeout(ulong at)
    {
        _timeout = DefaultTimeout;
        _deadline = at;
        Reschedule(at);
    }

    /// <summary>
    /// Skips the timeouts that would find nothing to do: a wake at W with no work sets the next deadline at W plus the
    /// default timeout (CPU 0 at W: every CPU idles at or before it), so the wakes fall on that grid and the last one
    /// before <paramref name="horizon"/> is the one kept. It resets the timeout and the deadline as each skipped wake
    /// would have.
    /// </summary>
    public ulong DeferBefore(ulong horizon)
    {
        // Not past khugepaged's pending wake (its skip, which runs first, took this timer's timeouts along up to there):
        // that wake's work on CPU 0 may hold up a timeout and move the grid.
        horizon = Math.Min(horizon, _k.Khugepaged.PendingWake);
        ulong at = _pendingAt, period = DefaultTimeout;
        if (_pendingSeq < 0 || _workRequested || horizon <= at || period == 0)
            return 0;
        ulong skip = (horizon - 1 - at) / period;
        if (skip == 0)
            return 0;
        for (int cpu = 0; cpu < _k.Smp.Count; cpu++)
            if (_k.Smp.Time(cpu) > at)
                return 0; // a CPU past the wake would put the next deadline off the grid
        _timeout = DefaultTimeout;
        _deadline = at + skip * period;
        Reschedule(_deadline);
        return skip;
    }

    private void Cancel()
    {
        if (_pendingSeq >= 0)
            _k.Env.Events.Cancel((ulong)_pendingSeq);
        _pendingSeq = -1;
    }

    /// <summary>The wake (a wakeup or the timeout) is queued for this tick's <see cref="Update"/>.</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        _pendingSeq = -1;
        env.Work<KcompactdWake>().Add(new KcompactdWake(env.EventTime));
    }

    /// <summary>Acts only on this tick's KcompactdWake work (nothing kept between ticks).</summary>
    public bool WorkOnly => true;

    /// <summary>One pass of kcompactd's loop: kcompactd_do_work when woken for an order, else the proactive check; then the next wait.</summary>
    public void Update(SimEnvironment env)
    {
        var wakes = env.WorkItems<KcompactdWake>();
        if (wakes.Length == 0)
            return;
        _k.Smp.Enter(0); // a kernel thread, simulated on CPU 0 as kswapd and khugepaged are
        _k.Smp.CatchUp(wakes[0].At);
        _timeout = DefaultTimeout;
        if (_workRequested)
        {
            _workRequested = false;
            DoWork(env);
        }
        else if (ShouldProactiveCompact())
        {
            int prevScore = FragmentationScore(_k.Zone.Buddy);
            ProactiveRuns++;
            _k.Compaction.CompactZone(-1, CompactRun.Proactive);
            env.Counters.Add(_k.C.CompactDaemonMigrateScanned, _k.Compaction.LastMigrateScanned);
            env.Counters.Add(_k.C.CompactDaemonFreeScanned, _k.Compaction.LastFreeScanned);
            if (FragmentationScore(_k.Zone.Buddy) >= prevScore)
                _timeout = DefaultTimeout << Compaction.MaxDeferShift; // no progress: defer
        }
        _deadline = env.Now + _timeout;
        if (_pendingSeq < 0 && _k.Tasks.AnyMmAlive())
            ArmTimer();
    }

    /// <summary>kcompactd_do_work for the zone at kcompactd_max_order.</summary>
    private void DoWork(SimEnvironment env)
    {
        var compaction = _k.Compaction;
        int order = _maxOrder;
        Wakes++;
        env.Counters.Increment(_k.C.CompactDaemonWake);
        LastResult = CompactResult.Skipped;
        if (!compaction.CompactionDeferred(order) && NodeSuitable(order))
        {
            CompactResult status = compaction.CompactZone(order, CompactRun.Kcompactd);
            LastResult = status;
            if (status == CompactResult.Success)
            {
                compaction.DeferReset(order, allocSuccess: false);
            }
            else if (status is CompactResult.PartialSkipped or CompactResult.Complete)
            {
                _k.Zone.DrainAllPages();
                compaction.DeferCompaction(order);
            }
            env.Counters.Add(_k.C.CompactDaemonMigrateScanned, compaction.LastMigrateScanned);
            env.Counters.Add(_k.C.CompactDaemonFreeScanned, compaction.LastFreeScanned);
        }
        // Done until woken again; an order asked for meanwhile would be higher (none can be: the run changed the state at once).
        if (_maxOrder <= order)
            _maxOrder = 0;
    }
}

/// <summary>kcompactd's wait ended at <paramref name="At"/> (its wake event, handed to the pipeline).</summary>
public readonly record struct KcompactdWake(ulong At);
