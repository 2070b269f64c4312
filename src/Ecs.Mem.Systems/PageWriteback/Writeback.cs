using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.PageWriteback;

/// <summary>
/// Writeback in simulated time (mm/page-writeback.c, mm/page_io.c): a page reclaim writes out is marked PG_writeback
/// (folio_start_writeback) and PG_reclaim (pageout), joins the request being built (the block layer's plug: reclaim
/// unplugs at the end of each shrink_folio_list call, so one call's writes are one disk request, as one readahead
/// batch is one read), and stays resident, charged to its memory cgroup and on its LRU until the request completes
/// (an <c>writeback-complete</c> event after <see cref="Timing.TimingModel.DiskWriteCycles"/>). Then
/// folio_end_writeback clears PG_writeback, counts nr_written and, for a PG_reclaim page, folio_rotate_reclaimable
/// moves it to the tail of its inactive list (pgrotated) where reclaim finds it next, clean. A swap-cache page whose
/// every user went while it was written (free_swap_and_cache could not free it then) is freed at the end.
/// Only the machine's Linux lruvec writes this way (<c>machine.writeback: async</c>); the simple policies and
/// MADV_PAGEOUT keep the synchronous write.
/// </summary>
public sealed class Writeback : IEventHandler
{
    private readonly Kernel.Kernel _k;
    private readonly int _doneKind;
    private readonly List<int> _plug = new();
    private readonly Dictionary<long, Request> _inFlight = new();
    private readonly Stack<int[]> _pool = new();
    private readonly long[] _requestOf;
    private long _next;
    // When each of the device's queue slots is free again (blk-mq tags: QueueDepth requests served at once).
    private ulong[] _slotFree = new ulong[1];
    // When the device's data transfer is free again: requests overlap their latency, not their pages' transfer.
    private ulong _transferFree;
    // Set while a completion is handled between ticks with several CPUs: the time it happens at.
    private bool _interrupt;
    private ulong _interruptTime;

    private readonly struct Request(int[] pages, int count, ulong due, int cpu)
    {
        public readonly int[] Pages = pages;
        public readonly int Count = count;
        public readonly ulong Due = due;
        public readonly int Cpu = cpu;
    }

    public Writeback(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _doneKind = env.RegisterEventKind("writeback-complete", this);
        _requestOf = new long[kernel.Zone.Frames.Length];
        _reclaimWriteEnd = new ulong[kernel.Zone.Frames.Length];
        // In /proc/vmstat's order.
        NrVmscanWrite = env.Counters.Register("nr_vmscan_write");
        NrVmscanImmediate = env.Counters.Register("nr_vmscan_immediate_reclaim");
        NrDirtied = env.Counters.Register("nr_dirtied");
        NrWritten = env.Counters.Register("nr_written");
    }

    /// <summary>NR_DIRTIED: file pages that became dirty (folio_account_dirtied).</summary>
    public CounterId NrDirtied { get; }

    /// <summary>NR_WRITTEN: pages whose writeback completed.</summary>
    public CounterId NrWritten { get; }

    /// <summary>NR_VMSCAN_WRITE: pages reclaim wrote (pageout).</summary>
    public CounterId NrVmscanWrite { get; }

    /// <summary>NR_VMSCAN_IMMEDIATE: pages reclaim found under writeback and marked for reclaim once written (PG_reclaim).</summary>
    public CounterId NrVmscanImmediate { get; }

    /// <summary>Pages under writeback now (NR_WRITEBACK).</summary>
    public int NrWriteback { get; private set; }

    /// <summary>Write requests in flight.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>
    /// The time writeback work happens at: the clock's, except while a write completion is handled
    /// between ticks with several CPUs (<see cref="BeginInterrupt"/>), where the clock shows the machine's time, which
    /// depends on where the CPUs stopped (so on the batch size): then it is the time the event was due.
    /// </summary>
    public ulong Now => _interrupt ? _interruptTime : _k.Env.Now;

    /// <summary>
    /// Starts handling an event due at <paramref name="time"/> outside any CPU's work (an interrupt): with several CPUs,
    /// <see cref="Now"/> is that time until <see cref="EndInterrupt"/>. With one CPU the clock is that CPU's and stays.
    /// </summary>
    internal void BeginInterrupt(ulong time)
    {
        _interrupt = _k.Smp.Count > 1 && _k.Smp.Current < 0;
        _interruptTime = time;
    }

    /// <summary>Ends <see cref="BeginInterrupt"/>.</summary>
    internal void EndInterrupt() => _interrupt = false;

    /// <summary>
    /// The CPU writeback work runs on: the one being simulated (the flusher's kworker runs on CPU 0, as kswapd does);
    /// between ticks CPU 0, where the simulator runs its kernel threads.
    /// </summary>
    private int WorkCpu => _k.Smp.Current >= 0 ? _k.Smp.Current : 0;

    /// <summary>
    /// pageout → swap_writeout → __swap_writepage for one page: PG_reclaim (pageout sets it before the write),
    /// folio_start_writeback, nr_vmscan_write; the page joins the plugged request.
    /// </summary>
    public void StartWriteback(int pfn)
    {
        ref Frame f = ref _k.Zone.Frames[pfn];
        f.Flags |= FrameFlags.Writeback | FrameFlags.Reclaim;
        NrWriteback++;
        _k.Env.Counters.Increment(NrVmscanWrite);
        AddToPlug(pfn);
    }

    /// <summary>BLK_MAX_REQUEST_COUNT: a plug holding this many requests is flushed before it takes another.</summary>
    public const int BlkMaxRequestCount = 32;

    /// <summary>BLK_PLUG_FLUSH_SIZE (128 KiB) in pages: a plug whose first request is this big is flushed before it takes another.</summary>
    public const int BlkPlugFlushPages = (128 << 10) / (int)Pte.PageSize;

    // The plug's requests as blk-mq builds them: a page joins the last request when its slot (or file index) follows
    // the last page's and the request is below max_segments (a back merge), else it starts a new request.
    private int _plugRequests, _plugHeadPages, _plugTailPages;
    private long _plugLastIndex;

    /// <summary>
    /// A page joins the plug (blk_mq_submit_bio under a plug): merged into the last request, or a new request
    /// (blk_add_rq_to_plug), before which a plug that holds <see cref="BlkMaxRequestCount"/> requests, or whose first
    /// request has reached <see cref="BlkPlugFlushPages"/>, is flushed to the disk. Under a swap-in's plug
    /// (<see cref="HoldPlug"/>) whose first request is swap readahead's read (a few pages) the size test never
    /// fires, and that read counts as one of the plug's requests. Outside every plug the page waits for the caller's
    /// <see cref="Unplug"/>.
    /// </summary>
    private void AddToPlug(int pfn)
    {
        long index = _k.Zone.Frames[pfn].Index;
        if (_plug.Count == 0)
        {
            _plugRequests = 1;
            _plugHeadPages = _plugTailPages = 1;
        }
        else if (index == _plugLastIndex + 1 && _plugTailPages < Math.Max(1, MaxSegments))
        {
            _plugTailPages++;
            if (_plugRequests == 1)
                _plugHeadPages++;
        }
        else
        {
            bool readHeads = _hold > 0 && _holdHeadRead;
            if ((_hold > 0 || _lruvecPlug > 0)
                && (_plugRequests + (readHeads ? 1 : 0) >= BlkMaxRequestCount || (!readHeads && _plugHeadPages >= BlkPlugFlushPages)))
            {
                Submit();
                _plugLastIndex = index;
                AddToPlug(pfn);
                return;
            }
            _plugRequests++;
            _plugTailPages = 1;
        }
        _plugLastIndex = index;
        _plug.Add(pfn);
    }

    // blk_start_plug in shrink_lruvec (nested starts count; inside a swap-in's plug it adds nothing).
    private int _lruvecPlug;

    /// <summary>
    /// blk_start_plug around shrink_lruvec's scan loop: the pages its shrink_folio_list calls write wait in the plug
    /// (their <see cref="Unplug"/> does nothing) until <see cref="BlkFinishPlug"/>, save the flushes of
    /// <see cref="AddToPlug"/>. Measured on 6.18 (oracle/experiments/swap-cache-residue, "The fill's end"): a memcg
    /// reclaim's write requests are issued when its priority level ends, never after a 32-page batch.
    /// </summary>
    public void BlkStartPlug() => _lruvecPlug++;

    /// <summary>blk_finish_plug at the end of shrink_lruvec's loop: the plugged pages go to the disk (unless a swap-in's plug holds them).</summary>
    public void BlkFinishPlug()
    {
        if (_lruvecPlug > 0 && --_lruvecPlug == 0 && _hold == 0)
            Submit();
    }

    /// <summary>
    /// The most pages one write request carries: the device queue's max_segments (/sys/block/DEV/queue/max_segments;
    /// each page of a swap write is one segment), <c>machine.disk_max_segments</c>. A longer plug goes to the disk as
    /// several requests, one after another (blk_mq_submit_bio splits a bio run at the limit: bio_split_rw).
    /// </summary>
    public int MaxSegments { get; set; } = EcsMem.Scenarios.MachineConfig.DefaultDiskMaxSegments;

    /// <summary>
    /// Write requests the device serves at once (<c>machine.disk_queue_depth</c>): a request starts when one of this
    /// many queue slots is free, each taking its own <see cref="Timing.TimingModel.DiskWriteCycles"/>, but the pages of
    /// requests in flight together cross one channel at <see cref="Timing.TimingModel.DiskPageCycles"/> a page (their
    /// latency overlaps, their transfer does not); 1 serves them one after another.
    /// </summary>
    public int QueueDepth
    {
        get => _slotFree.Length;
        set => _slotFree = new ulong[Math.Max(1, value)];
    }

    /// <summary>
    /// Held while a memory cgroup's reclaim invocation runs (<see cref="HoldPlug"/>): its writes wait in the plug until
    /// it ends, measured on Linux 6.18 (oracle/experiments/shmem-swap-disk: a memcg reclaim that finds only dirty shmem
    /// pages writes down to priority 0, its ~2,300 bios queued and merged, and none is issued until it yields its CPU,
    /// where kblockd dispatches them).
    /// </summary>
    private int _hold;

    // Whether swap readahead's read heads the held plug (HoldPlug's argument); the first flush sends it to the disk.
    private bool _holdHeadRead;

    /// <summary>
    /// Starts holding the plug for a whole reclaim invocation (nested holds count). <paramref name="readHeads"/>: the
    /// plug already holds swap readahead's read, its first request; else the reclaim's first write request heads it.
    /// </summary>
    public void HoldPlug(bool readHeads = true)
    {
        if (_hold++ == 0)
            _holdHeadRead = readHeads;
    }

    /// <summary>Ends <see cref="HoldPlug"/>: at the outermost release, the plugged pages go to the disk.</summary>
    public void ReleasePlug()
    {
        if (_hold > 0 && --_hold == 0)
            Submit();
    }

    /// <summary>
    /// blk_finish_plug at the end of shrink_folio_list: the pages plugged since the last unplug go to the disk as one
    /// request (or several of at most <see cref="MaxSegments"/> pages), each completing
    /// <see cref="Timing.TimingModel.DiskWriteCycles"/> after the device is free. While a reclaim invocation holds the
    /// plug (<see cref="HoldPlug"/>) the pages stay plugged.
    /// </summary>
    public void Unplug()
    {
        if (_hold == 0 && _lruvecPlug == 0)
            Submit();
    }

    /// <summary>
    /// The flusher's blk_finish_plug (its kworker's own plug): its pages go to the disk now, even while a reclaimer's
    /// shrink_lruvec plug holds pages, which EcsMem keeps in the same list and so sends with them (a simplification).
    /// </summary>
    public void FlusherUnplug()
    {
        if (_hold == 0)
            Submit();
    }

    /// <summary>The plugged pages go to the disk, in requests of at most <see cref="MaxSegments"/> pages.</summary>
    private void Submit()
    {
        _holdHeadRead = false; // a flush sends the plug's read with its writes: the next request heads it
        int total = _plug.Count;
        for (int from = 0; from < total;)
        {
            int n = Math.Min(total - from, MaxSegments > 0 ? MaxSegments : total);
            // A THP's pages are one folio in one bio (bio_add_folio: physically contiguous, so few segments), whose
            // writeback ends when the whole bio does (a split bio's pieces are chained to it): never cut inside one.
            while (from + n < total && SameThp(_plug[from + n - 1], _plug[from + n]))
                n++;
            int[] pages = Rent(n);
            _plug.CopyTo(from, pages, 0, n);
            from += n;
            long id = _next++;
            var env = _k.Env;
            // The request starts when a queue slot is free (the earliest to free up; reads do not wait behind writes).
            int slot = 0;
            for (int s = 1; s < _slotFree.Length; s++)
                if (_slotFree[s] < _slotFree[slot])
                    slot = s;
            ulong start = Math.Max(Now, _slotFree[slot]);
            ulong due = start + (ulong)Math.Max(1, _k.Timing.DiskWriteCycles(n));
            // The pages go over one channel at disk_page each: requests in flight together share its bandwidth (a
            // 254-page write took ~2 µs a page whether or not another was queued; oracle/experiments/shmem-swap-disk).
            _transferFree = Math.Max(start, _transferFree) + (ulong)(n * _k.Timing.DiskPageCycles);
            due = Math.Max(due, _transferFree);
            _slotFree[slot] = due;
            // blk-mq completes a request on the CPU that submitted it (QUEUE_FLAG_SAME_COMP): its frees go to that CPU.
            _inFlight.Add(id, new Request(pages, n, due, WorkCpu));
            for (int i = 0; i < n; i++)
                _requestOf[pages[i]] = id;
            // Never before the clock (the machine's time between ticks may be past Now); the completion still happens at due.
            env.ScheduleAt(Math.Max(due, env.Now), new SimEvent(_doneKind, Entity.Null, id));
        }
        _plug.Clear();
    }

    /// <summary>Both pages belong to one PMD-sized THP folio.</summary>
    private bool SameThp(int a, int b)
    {
        var frames = _k.Zone.Frames;
        return (frames[a].Flags & frames[b].Flags & FrameFlags.Thp) != 0
            && HugeMemory.HugeMemory.HeadOf(a) == HugeMemory.HugeMemory.HeadOf(b);
    }

    /// <summary>
    /// The flusher's write of a dirty file page (writeback_single_inode → the filesystem's writepages): it is cleaned
    /// for I/O by the caller, marked PG_writeback (a PG_reclaim reclaim set earlier stays) and joins the plugged request;
    /// pgpgout counts it as every block write does.
    /// </summary>
    public void StartFileWriteback(int pfn)
    {
        ref Frame f = ref _k.Zone.Frames[pfn];
        f.Flags |= FrameFlags.Writeback;
        NrWriteback++;
        _k.Env.Counters.Add(_k.C.PgPgOut, (long)(Pte.PageSize / 1024));
        AddToPlug(pfn);
    }

    /// <summary>The request's completion (end_swap_bio_write → folio_end_writeback on each page).</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        if (!_inFlight.Remove(ev.Arg0, out Request r))
            return; // a reclaimer that waited on one of its pages completed it already (WaitOnWriteback)
        // The completion interrupt happens at the request's due time on its submitting CPU, whatever the machine's
        // time shows when the event is dispatched (it depends on where the CPUs stopped, so on the batch size).
        BeginInterrupt(r.Due);
        Complete(r);
        EndInterrupt();
    }

    /// <summary>
    /// folio_wait_writeback for memcg reclaim under cgroup v1 (shrink_folio_list's case 3): the reclaimer sleeps until
    /// the request holding <paramref name="pfn"/> completes; its CPU's clock goes to that time (idle meanwhile) and
    /// the request's pages are finished now. Returns false when the page is not under writeback any more.
    /// </summary>
    public bool WaitOnWriteback(int pfn)
    {
        if ((_k.Zone.Frames[pfn].Flags & FrameFlags.Writeback) == 0)
            return false;
        // A page still in the plug: going to sleep (io_schedule) flushes the sleeper's plug first (blk_flush_plug).
        if (_plug.Count > 0 && _plug.Contains(pfn))
            Submit();
        if (!_inFlight.Remove(_requestOf[pfn], out Request r))
            return false;
        _k.Smp.CatchUp(r.Due);
        Complete(r);
        return true;
    }

    /// <summary>
    /// The reclaimer's work takes <paramref name="c"/> cycles (its CPU's clock advances; the costs are
    /// machine.reclaim_cost's, measured on 6.18, see <see cref="Vmscan.ReclaimHost"/>), and every write request due by
    /// then completes now, in order of submission, as its interrupt would have meanwhile.
    /// </summary>
    public void Progress(long c)
    {
        var env = _k.Env;
        if (c > 0)
        {
            // CPU work on the reclaimer's CPU (its clock advances): the on-CPU kernel row, not the off-CPU device time.
            env.Clock.Advance((ulong)c);
            _k.Cycles.Charge(Timing.CycleCategory.Kernel, c);
        }
        if (_inFlight.Count == 0)
            return;
        ulong now = env.Now;
        while (true)
        {
            long due = -1;
            ulong first = ulong.MaxValue;
            foreach (var kv in _inFlight)
                if (kv.Value.Due <= now && kv.Value.Due < first)
                {
                    first = kv.Value.Due;
                    due = kv.Key;
                }
            if (due < 0)
                break;
            _inFlight.Remove(due, out Request r);
            Complete(r);
        }
    }

    /// <summary>
    /// reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK): cycles from <paramref name="now"/> until the first write in flight
    /// completes (acct_reclaim_writeback wakes the throttled), at most HZ/10 (100 ms at the clock's rate).
    /// </summary>
    public ulong ThrottleDelay(ulong now)
    {
        ulong cap = (ulong)(_k.Timing.ClockGHz * 1e8);
        ulong first = ulong.MaxValue;
        foreach (Request r in _inFlight.Values)
            first = Math.Min(first, r.Due);
        if (first == ulong.MaxValue || first <= now)
            return 1;
        return Math.Min(cap, first - now);
    }

    private readonly List<(ulong Due, int Count)> _throttleScratch = new();

    /// <summary>
    /// reclaim_throttle(pgdat, VMSCAN_THROTTLE_WRITEBACK) of a direct reclaimer (cgroup v1 memcg reclaim in
    /// shrink_inactive_list): it sleeps (its CPU idles) until more than SWAP_CLUSTER_MAX pages have finished writeback
    /// since it began to wait (__acct_reclaim_writeback wakes the queue once NR_THROTTLED_WRITTEN grew past
    /// SWAP_CLUSTER_MAX × nr_writeback_throttled, one throttled task here), at most HZ/10; the writes due by then
    /// complete now, in order (folio_end_writeback rotates PG_reclaim pages to the inactive tail).
    /// </summary>
    public void ReclaimThrottleWriteback()
    {
        ulong now = Now;
        ulong wake = now + (ulong)(_k.Timing.ClockGHz * 1e8);
        _throttleScratch.Clear();
        foreach (Request r in _inFlight.Values)
            _throttleScratch.Add((r.Due, r.Count));
        _throttleScratch.Sort();
        int written = 0;
        foreach (var (due, count) in _throttleScratch)
        {
            if (due >= wake)
                break;
            written += count;
            if (written > Vmscan.Lruvec.SwapClusterMax)
            {
                wake = Math.Max(now, due);
                break;
            }
        }
        _k.Smp.CatchUp(wake);
        Progress(0);
    }

    /// <summary>
    /// Completes <paramref name="r"/> on the CPU that submitted it (its interrupt's CPU, where its freed pages go),
    /// whoever notices the completion: the event, a reclaimer's progress or a waiter.
    /// </summary>
    private void Complete(in Request r)
    {
        for (int i = 0; i < r.Count; i++)
        {
            if ((_k.Zone.Frames[r.Pages[i]].Flags & FrameFlags.Reclaim) != 0)
                _reclaimWriteEnd[r.Pages[i]] = r.Due;
            FolioEndWriteback(r.Pages[i], r.Cpu);
        }
        _pool.Push(r.Pages);
    }

    // The due time of each frame's last write that ended with PG_reclaim set (UnderReclaimWriteback).
    private readonly ulong[] _reclaimWriteEnd;

    /// <summary>
    /// Whether frame <paramref name="pfn"/> is under a write reclaim started (PG_writeback with PG_reclaim) at time
    /// <paramref name="time"/>: a request in flight due after it, or one completed already whose due time is after it. With
    /// several CPUs a completion is dispatched where the CPUs stopped, which depends on the batch size, so a CPU whose clock
    /// is behind may see the flags of a write that for it has not ended yet: the due time decides, as it does for the
    /// completion's own effects (<see cref="Now"/>).
    /// </summary>
    public bool UnderReclaimWriteback(int pfn, ulong time)
    {
        FrameFlags fl = _k.Zone.Frames[pfn].Flags;
        if ((fl & FrameFlags.Writeback) != 0)
            return (fl & FrameFlags.Reclaim) != 0 && (!_inFlight.TryGetValue(_requestOf[pfn], out Request r) || r.Due > time);
        return _reclaimWriteEnd[pfn] > time;
    }

    /// <summary>
    /// folio_end_writeback: PG_writeback cleared, nr_written; a PG_reclaim page has the flag cleared and is rotated to
    /// its inactive tail (folio_rotate_reclaimable); an orphaned swap-cache page is freed now that it may be.
    /// </summary>
    private void FolioEndWriteback(int pfn, int cpu)
    {
        var k = _k;
        ref Frame f = ref k.Zone.Frames[pfn];
        k.Dirty?.Frame(pfn);
        f.Flags &= ~FrameFlags.Writeback;
        NrWriteback--;
        k.Env.Counters.Increment(NrWritten);
        if ((f.Flags & FrameFlags.Reclaim) != 0)
        {
            f.Flags &= ~FrameFlags.Reclaim;
            k.LruvecOf(pfn)?.RotateReclaimable(pfn);
        }
        if ((f.Flags & FrameFlags.SwapCache) != 0 && f.MapCount == 0)
            k.Memory.FreeSwapCacheIfUnused(pfn, cpu);
    }

    private int[] Rent(int n)
    {
        if (_pool.TryPop(out int[]? a) && a.Length >= n)
            return a;
        return new int[Math.Max(n, Vmscan.Lruvec.SwapClusterMax)];
    }
}
