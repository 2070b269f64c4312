using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.PageWriteback;

/// <summary>
/// Dirty file pages and their flusher (mm/page-writeback.c, fs/fs-writeback.c), with <c>machine.writeback: async</c>.
/// A store that dirties a page of a shared file mapping goes through a write fault (the page is mapped read-only
/// until then: write notification), which marks the folio dirty (folio_mark_dirty → folio_account_dirtied:
/// NR_FILE_DIRTY, nr_dirtied, the inode's dirtied_when) and calls balance_dirty_pages_ratelimited. The flusher
/// (wb_workfn) is a kernel worker, simulated on CPU 0 as kswapd is (<see cref="Update"/>): it runs every
/// dirty_writeback_centisecs while dirty data exists (wb_wakeup_delayed: a timer event, <see cref="WbWakeupDelayed"/>)
/// and, as an event, when kicked: background writeback while NR_FILE_DIRTY + NR_WRITEBACK is above the background threshold
/// (wb_check_background_flush), every dirty page when reclaim found only dirty pages (wakeup_flusher_threads,
/// WB_REASON_VMSCAN), and kupdate's pass over inodes dirtied more than dirty_expire_centisecs ago
/// (wb_check_old_data_flush). It writes inode by inode, oldest dirtied_when first, each inode's pages in index order,
/// MIN_WRITEBACK_PAGES (1024) to a request: folio_clear_dirty_for_io (folio_mkclean write-protects and cleans every
/// PTE mapping the page, so the next store faults and dirties it again), then PG_writeback until the request completes
/// (<see cref="Writeback"/>).
/// </summary>
public sealed class Flusher : IEventHandler, ISystem
{
    /// <summary>MIN_WRITEBACK_PAGES (fs/fs-writeback.c): 4 MiB of pages per writeback chunk.</summary>
    public const int MinWritebackPages = 1024;

    /// <summary>current-&gt;nr_dirtied_pause at fork: 128 KiB of pages dirtied between two balance_dirty_pages calls.</summary>
    public const int InitialRatelimitPages = 32;

    private readonly Kernel.Kernel _k;
    private readonly Writeback _wb;
    private readonly int _kind;
    private readonly bool[] _tracked;
    private readonly List<int> _dirtyList = new();
    private readonly List<(ulong When, int File, long Index, int Pfn)> _order = new();
    private readonly Dictionary<int, ulong> _inodeDirtied = new();
    private readonly HashSet<int> _stillDirty = new();
    private readonly Dictionary<int, int> _taskDirtied = new();
    private readonly List<(int Mm, ulong Va)> _maps = new();
    private bool _armed, _startAll, _background;
    private ulong _lastOldFlush, _periodicAt;
    private ulong _timerSeq; // the pending periodic wakeup's event (while _armed)
    private readonly ulong _hz;

    public Flusher(Kernel.Kernel kernel, Writeback writeback, SimEnvironment env)
    {
        _k = kernel;
        _wb = writeback;
        _kind = env.RegisterEventKind("wb_workfn", this);
        _tracked = new bool[kernel.Zone.Frames.Length];
        _hz = (ulong)Math.Max(1, kernel.Timing.ClockGHz * 1e9);
        Pauses = env.Counters.Register("ecsmem_dirty_throttle_pauses");
        PausedMs = env.Counters.Register("ecsmem_dirty_throttle_ms");
    }

    /// <summary>balance_dirty_pages pauses taken, and their simulated length in ms (Linux counts neither; its tracepoint shows them).</summary>
    public CounterId Pauses { get; }

    public CounterId PausedMs { get; }

    /// <summary>NR_FILE_DIRTY: dirty page-cache pages.</summary>
    public int NrDirty { get; private set; }

    private ulong Centisecs(long cs) => (ulong)cs * _hz / 100;

    /// <summary>
    /// global_dirty_limits: the background and dirty thresholds in pages, from dirtyable memory (global_dirtyable_memory:
    /// free pages and the file LRU pages, less the reserve kept back, here the high watermark) and the ratios, or the
    /// byte settings when set; a background threshold at or above the dirty one is halved from it.
    /// </summary>
    public (long Background, long Thresh) DirtyLimits()
    {
        var k = _k;
        long file = 0;
        if (k.Lruvec is { } lv)
            file = lv.SubtreeSize(Vmscan.LruList.InactiveFile) + lv.SubtreeSize(Vmscan.LruList.ActiveFile);
        long available = Math.Max(1, k.Zone.Buddy.NrFreePages + file - k.Zone.Watermarks.High);
        var o = k.Options;
        long page = (long)Pte.PageSize;
        long thresh = o.DirtyBytes > 0 ? (o.DirtyBytes + page - 1) / page : o.DirtyRatio * available / 100;
        long bg = o.DirtyBackgroundBytes > 0 ? (o.DirtyBackgroundBytes + page - 1) / page : o.DirtyBackgroundRatio * available / 100;
        if (bg >= thresh)
            bg = thresh / 2;
        return (bg, thresh);
    }

    /// <summary>
    /// folio_mark_dirty on a page-cache page (a write fault on a shared file mapping): PG_dirty, and the first time
    /// folio_account_dirtied (NR_FILE_DIRTY, nr_dirtied; the inode's dirtied_when if it was clean; the flusher's
    /// periodic wakeup armed, wb_wakeup_delayed). Returns true when the page became dirty now.
    /// </summary>
    public bool FolioMarkDirty(int pfn)
    {
        ref Frame f = ref _k.Zone.Frames[pfn];
        f.Flags |= FrameFlags.Dirty;
        if (_tracked[pfn])
            return false;
        _tracked[pfn] = true;
        _dirtyList.Add(pfn);
        NrDirty++;
        var env = _k.Env;
        env.Counters.Increment(_wb.NrDirtied);
        _inodeDirtied.TryAdd(f.Mapping, env.Now);
        if (!_armed)
            WbWakeupDelayed(env.Now);
        return true;
    }

    /// <summary>
    /// wb_wakeup_delayed: the periodic wakeup is queued dirty_writeback_centisecs from <paramref name="now"/> (a delayed
    /// work already pending stays as it is: queue_delayed_work). The timer is an event at machine time, so the run does
    /// not depend on which CPU happens to be simulated when it falls due. Armed only while some address space is alive
    /// (<see cref="MmGone"/>): a pending wakeup would keep a machine whose workload has ended running until its data is
    /// written.
    /// </summary>
    private void WbWakeupDelayed(ulong now)
    {
        if (_armed || _k.Options.DirtyWritebackCentisecs <= 0 || !_k.Tasks.AnyMmAlive())
            return;
        _armed = true;
        _periodicAt = now + Math.Max(1UL, Centisecs(_k.Options.DirtyWritebackCentisecs));
        _timerSeq = _k.Env.ScheduleAt(_periodicAt, new SimEvent(_kind, Entity.Null, TimerWake));
    }

    /// <summary>
    /// The last address space went away: the pending periodic wakeup is dropped (it would keep the finished machine
    /// running). Simplification: Linux's flusher goes on writing the data the workload left dirty.
    /// </summary>
    public void MmGone()
    {
        if (!_armed || _k.Tasks.AnyMmAlive())
            return;
        _k.Env.Events.Cancel(_timerSeq);
        _armed = false;
    }

    /// <summary>
    /// An address space was created: with dirty data left and no wakeup pending (<see cref="MmGone"/> dropped it), the
    /// wakeup is queued again at its old time, or now if that has passed.
    /// </summary>
    public void MmCreated()
    {
        if (_armed || NrDirty == 0 || _periodicAt == 0 || _k.Options.DirtyWritebackCentisecs <= 0)
            return;
        _armed = true;
        _timerSeq = _k.Env.ScheduleAt(Math.Max(_periodicAt, _k.Env.Now), new SimEvent(_kind, Entity.Null, TimerWake));
    }

    /// <summary>A frame is freed: it no longer counts as dirty (its data went with it, as truncation's would).</summary>
    public void FrameFreed(int pfn)
    {
        if (!_tracked[pfn])
            return;
        _tracked[pfn] = false;
        NrDirty--;
    }

    /// <summary>
    /// balance_dirty_pages_ratelimited for <paramref name="task"/> after it dirtied a page: every
    /// <see cref="InitialRatelimitPages"/> pages, balance_dirty_pages. Returns the cycles the task pauses (0 for none).
    /// Below the freerun ceiling ((background + thresh) / 2 of NR_FILE_DIRTY + NR_WRITEBACK) nothing happens but a kick
    /// of background writeback once above the background threshold. Above it the task pauses for its pages at the
    /// disk's write rate scaled by pos_ratio, falling linearly from 1 at freerun to 0 at the limit (Linux's pos_ratio is
    /// a cubic around the setpoint, and its rate is the measured bandwidth: simplified), at most MAX_PAUSE (HZ/5, 200 ms),
    /// which is also the pause at or above the limit.
    /// </summary>
    public ulong BalanceDirtyPagesRatelimited(int task)
    {
        _taskDirtied.TryGetValue(task, out int n);
        if (++n < InitialRatelimitPages)
        {
            _taskDirtied[task] = n;
            return 0;
        }
        _taskDirtied[task] = 0;
        var (bg, thresh) = DirtyLimits();
        long dirty = NrDirty + _wb.NrWriteback;
        if (dirty > bg && !_background)
            Kick(background: true);
        long freerun = (bg + thresh) / 2;
        if (dirty <= freerun)
            return 0;
        ulong maxPause = _hz / 5;
        ulong pause;
        if (dirty >= thresh || thresh <= freerun)
            pause = maxPause;
        else
        {
            // pages × time per page written ÷ pos_ratio.
            double posRatio = (double)(thresh - dirty) / (thresh - freerun);
            double perPage = Math.Max(1, _k.Timing.DiskPageCycles);
            pause = (ulong)Math.Min(maxPause, n * perPage / Math.Max(posRatio, 1e-9));
        }
        var env = _k.Env;
        env.Counters.Increment(Pauses);
        env.Counters.Add(PausedMs, (long)(pause * 1000 / _hz));
        return pause;
    }

    /// <summary>wakeup_flusher_threads(WB_REASON_VMSCAN): reclaim took only dirty file pages not yet queued for I/O.</summary>
    public void WakeupFlusherThreads() => Kick(background: false);

    /// <summary>
    /// wb_workfn of a kick whose waker goes to sleep at once (reclaim_throttle): the kworker runs on another CPU while
    /// the waker sleeps, so its writes are queued now rather than at the next tick; the kick's event then finds no work.
    /// </summary>
    public void RunKickedWork()
    {
        if (_startAll || _background)
            Run(timer: false);
    }

    private void Kick(bool background)
    {
        if (background) _background = true;
        else _startAll = true;
        // wb_wakeup: the work runs at once (the next tick's event).
        _k.Env.Schedule(0, new SimEvent(_kind, Entity.Null));
    }

    // SimEvent.Arg0 of the periodic wakeup's event (wb_wakeup_delayed); a kick's is 0 (wb_wakeup).
    private const long TimerWake = 1;

    public string Name => "wb_workfn";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<FlusherWake>();

    /// <summary>The flusher's work item is queued (wb_wakeup now, or the periodic wakeup fell due): its kworker runs it this tick.</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        if (ev.Arg0 == TimerWake)
            _armed = false;
        env.Work<FlusherWake>().Add(new FlusherWake(env.EventTime, ev.Arg0 == TimerWake));
    }

    /// <summary>Acts only on this tick's FlusherWake work (nothing kept between ticks).</summary>
    public bool WorkOnly => true;

    /// <summary>
    /// wb_workfn on its kworker: a kernel thread, simulated on CPU 0 as kswapd and kcompactd are, from the time its
    /// work was due (CPU 0 idles until then if it is behind). Its folio_mkclean shootdowns start from CPU 0 and reach
    /// the CPUs running the mappings' address spaces, whatever CPU the simulation was on when the work fell due.
    /// </summary>
    public void Update(SimEnvironment env)
    {
        foreach (ref readonly FlusherWake w in env.WorkItems<FlusherWake>())
        {
            _k.Smp.Enter(0);
            _k.Smp.CatchUp(w.At);
            Run(w.Timer);
        }
    }

    /// <summary>wb_workfn: the queued work (start-all, background), then, on its periodic wakeup, the old-data flush; re-armed while dirty data remains.</summary>
    private void Run(bool timer)
    {
        ulong now = _wb.Now;
        var o = _k.Options;
        if (_startAll)
        {
            _startAll = false;
            WritePages(ulong.MaxValue, long.MaxValue, untilBelowBackground: false);
        }
        if (_background)
        {
            _background = false;
            WritePages(ulong.MaxValue, long.MaxValue, untilBelowBackground: true);
        }
        ulong interval = Centisecs(o.DirtyWritebackCentisecs);
        if (timer && o.DirtyWritebackCentisecs > 0 && now >= _lastOldFlush && now - _lastOldFlush >= interval)
        {
            // wb_check_old_data_flush (kupdate): inodes dirtied at least dirty_expire_centisecs ago.
            _lastOldFlush = now;
            ulong expire = Centisecs(o.DirtyExpireCentisecs);
            ulong olderThan = now >= expire ? now - expire : 0;
            WritePages(olderThan, long.MaxValue, untilBelowBackground: false);
        }
        // wb_workfn's end: wb_wakeup_delayed while dirty data remains (wb_has_dirty_io).
        if (timer && NrDirty > 0)
            WbWakeupDelayed(now);
    }

    /// <summary>
    /// writeback_sb_inodes over the dirty inodes with dirtied_when ≤ <paramref name="olderThan"/>, oldest first, each
    /// inode's pages in index order, MIN_WRITEBACK_PAGES per request; background writeback stops once below the
    /// background threshold (checked between chunks, as wb_writeback does between inodes/chunks).
    /// </summary>
    private void WritePages(ulong olderThan, long maxPages, bool untilBelowBackground)
    {
        var k = _k;
        _order.Clear();
        int keep = 0;
        for (int i = 0; i < _dirtyList.Count; i++)
        {
            int pfn = _dirtyList[i];
            if (!_tracked[pfn])
                continue;
            _dirtyList[keep++] = pfn;
            ref Frame f = ref k.Zone.Frames[pfn];
            ulong when = _inodeDirtied.TryGetValue(f.Mapping, out ulong w) ? w : 0;
            if (when <= olderThan)
                _order.Add((when, f.Mapping, f.Index, pfn));
        }
        _dirtyList.RemoveRange(keep, _dirtyList.Count - keep);
        if (_order.Count == 0)
            return;
        _order.Sort();
        long written = 0;
        int inChunk = 0;
        int lastFile = int.MinValue;
        foreach (var (_, file, _, pfn) in _order)
        {
            if (written >= maxPages)
                break;
            if (file != lastFile || inChunk == MinWritebackPages)
            {
                _wb.FlusherUnplug();
                inChunk = 0;
                lastFile = file;
                if (untilBelowBackground)
                {
                    var (bg, _) = DirtyLimits();
                    if (NrDirty + _wb.NrWriteback <= bg)
                        break;
                }
            }
            ref Frame f = ref k.Zone.Frames[pfn];
            if ((f.Flags & FrameFlags.Writeback) != 0)
                continue; // a write of it is in flight: WB_SYNC_NONE skips it, it stays dirty for the next pass
            FolioClearDirtyForIo(pfn);
            _wb.StartFileWriteback(pfn);
            written++;
            inChunk++;
        }
        _wb.FlusherUnplug();
        // Inodes left with no dirty page are clean again (their dirtied_when starts over at the next dirtying).
        _stillDirty.Clear();
        foreach (int pfn in _dirtyList)
            if (_tracked[pfn])
                _stillDirty.Add(k.Zone.Frames[pfn].Mapping);
        foreach (var (_, file, _, _) in _order)
            if (!_stillDirty.Contains(file))
                _inodeDirtied.Remove(file);
    }

    /// <summary>
    /// The data part of fsync on <paramref name="file"/> (file_write_and_wait_range → filemap_fdatawrite_wbc with
    /// WB_SYNC_ALL): every dirty page of the file, in index order, cleaned for I/O and put under writeback,
    /// MIN_WRITEBACK_PAGES to a request (a page already under writeback is waited for first by WB_SYNC_ALL; the caller
    /// waits for every page afterwards anyway). Returns the pages started.
    /// </summary>
    public int WriteInode(int file)
    {
        var k = _k;
        _order.Clear();
        foreach (int pfn in _dirtyList)
        {
            if (!_tracked[pfn] || k.Zone.Frames[pfn].Mapping != file || k.Zone.Frames[pfn].IsShmem || k.Zone.Frames[pfn].IsAnon)
                continue;
            _order.Add((0, file, k.Zone.Frames[pfn].Index, pfn));
        }
        _order.Sort();
        int written = 0;
        _wb.Unplug();
        foreach (var (_, _, _, pfn) in _order)
        {
            if ((k.Zone.Frames[pfn].Flags & FrameFlags.Writeback) != 0)
                _wb.WaitOnWriteback(pfn);
            if (!_tracked[pfn])
                continue;
            FolioClearDirtyForIo(pfn);
            _wb.StartFileWriteback(pfn);
            if (++written % MinWritebackPages == 0)
                _wb.Unplug();
        }
        _wb.Unplug();
        if (written > 0)
            _inodeDirtied.Remove(file); // the inode is clean (its pages are under writeback, none dirty)
        return written;
    }

    /// <summary>
    /// folio_clear_dirty_for_io: folio_mkclean write-protects and cleans every PTE mapping the page (TLB flushed), so a
    /// later store faults and dirties it again; PG_dirty cleared, NR_FILE_DIRTY down.
    /// </summary>
    private void FolioClearDirtyForIo(int pfn)
    {
        var k = _k;
        k.Rmap.CopyTo(pfn, _maps);
        foreach (var (mmId, va) in _maps)
        {
            MmState mm = k.Tasks.MmById(mmId)!;
            ref ulong pte = ref mm.Tables.Walk(va, out _);
            if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref pte) || (pte & (Pte.DirtyBit | Pte.RwBit)) == 0)
                continue;
            k.Dirty?.Pte(mm, va, pte);
            pte &= ~(Pte.DirtyBit | Pte.RwBit);
            k.Tlb.FlushTlbPage(mm.Tlb, va);
        }
        k.Dirty?.Frame(pfn);
        k.Zone.Frames[pfn].Flags &= ~FrameFlags.Dirty;
        _tracked[pfn] = false;
        NrDirty--;
    }
}

/// <summary>The flusher's kworker has work due at <paramref name="At"/>: the periodic wakeup (<paramref name="Timer"/>) or a kick.</summary>
public readonly record struct FlusherWake(ulong At, bool Timer);
