namespace EcsMem.Systems.Filemap;

/// <summary>What the data disk tells its user about a request (<see cref="MqDeadline"/>).</summary>
public interface IBlkMqRequestOwner
{
    /// <summary>blk_mq_start_request on a device with room: request <paramref name="id"/> is served from <paramref name="start"/> to <paramref name="due"/>.</summary>
    void RequestStarted(long id, ulong start, ulong due);

    /// <summary>blk_mq_complete_request: request <paramref name="id"/> has left the device (at or before the time it is called for).</summary>
    void RequestCompleted(long id);
}

/// <summary>
/// The data disk's read requests under block/mq-deadline.c (Linux 6.18) and the device behind it, as measured on
/// virtio-blk (oracle/experiments/readahead-bios, session 21 mqdl): the device serves one request at a time; when a
/// request starts, blk-mq asks the scheduler for the next one at once (dd_dispatch_request), the device refuses it
/// (busy) and blk-mq keeps it on hctx-&gt;dispatch, where it is the next to start, ahead of anything the scheduler still
/// holds. The scheduler's choice is mq-deadline's for one priority and one direction (readahead reads): ascending
/// sector order from the last dispatched request in batches of <see cref="FifoBatch"/>, the oldest request (the FIFO
/// head) at a batch's start when it has waited <c>read_expire</c> or when no request lies at or above the last position.
/// A request takes <c>service(pages)</c> cycles on the device. Time is the caller's simulated time: requests start at
/// <see cref="RunHwQueue"/> (an insertion) or when the one before them completes (<see cref="Advance"/>). Simplified:
/// no merging of a new bio into a queued request (elevator merges), no writes, no priorities.
/// </summary>
public sealed class MqDeadline
{
    /// <summary>fifo_batch (block/mq-deadline.c): requests dispatched in sector order before the FIFO is looked at again.</summary>
    public const int FifoBatch = 16;

    /// <summary>read_expire (block/mq-deadline.c): HZ / 2, a read's deadline after its insertion.</summary>
    public const int ReadExpireMs = 500;

    private readonly ulong _readExpire;
    private readonly Func<int, ulong> _service;
    private readonly IBlkMqRequestOwner _owner;

    // The requests, by slot (grown by doubling while the machine warms up; slots are reused after completion).
    private long[] _id = new long[16];
    private long[] _sector = new long[16];
    private int[] _pages = new int[16];
    private ulong[] _fifoTime = new ulong[16];
    private ulong[] _due = new ulong[16];
    private readonly Stack<int> _freeSlots = new();
    private int _slots;

    /// <summary>fifo_list[DD_READ]: the slots the scheduler holds, in insertion order (its sort_list is this, scanned).</summary>
    private readonly List<int> _fifo = new();

    /// <summary>latest_pos[DD_READ]: the sector of the last request dispatched.</summary>
    private long _latestPos;

    /// <summary>dd-&gt;batching: requests dispatched in the current batch.</summary>
    private int _batching;

    /// <summary>dd-&gt;last_dir == DD_READ (it starts as DD_WRITE, so the first dispatch starts a batch).</summary>
    private bool _lastDirRead;

    /// <summary>The request on the device (-1: idle) and the one held on hctx-&gt;dispatch (-1: none).</summary>
    private int _busy = -1, _held = -1;

    private long _nextId;

    /// <param name="readExpireCycles">read_expire in the caller's cycles.</param>
    /// <param name="service">Cycles the device takes for a request of so many pages.</param>
    /// <param name="owner">Told when a request starts and completes.</param>
    public MqDeadline(ulong readExpireCycles, Func<int, ulong> service, IBlkMqRequestOwner owner)
    {
        _readExpire = readExpireCycles;
        _service = service;
        _owner = owner;
    }

    /// <summary>Requests the scheduler holds (not yet dispatched).</summary>
    public int Queued => _fifo.Count;

    /// <summary>True while a request is on the device.</summary>
    public bool Busy => _busy >= 0;

    /// <summary>
    /// dd_insert_request: a read of <paramref name="pages"/> pages at <paramref name="sector"/>, inserted at
    /// <paramref name="now"/> (its deadline now + read_expire), into the sort and FIFO lists. Returns its id. The caller
    /// inserts a plug's requests together and then runs the queue (<see cref="RunHwQueue"/>), as blk_mq_flush_plug_list does.
    /// </summary>
    public long Insert(long sector, int pages, ulong now)
    {
        int s;
        if (_freeSlots.Count > 0)
        {
            s = _freeSlots.Pop();
        }
        else
        {
            if (_slots == _id.Length)
            {
                int n = _slots * 2;
                Array.Resize(ref _id, n);
                Array.Resize(ref _sector, n);
                Array.Resize(ref _pages, n);
                Array.Resize(ref _fifoTime, n);
                Array.Resize(ref _due, n);
            }
            s = _slots++;
        }
        long id = _nextId++;
        _id[s] = id;
        _sector[s] = sector;
        _pages[s] = pages;
        _fifoTime[s] = now + _readExpire;
        _due[s] = 0;
        _fifo.Add(s);
        return id;
    }

    /// <summary>
    /// blk_mq_run_hw_queue at <paramref name="now"/>: requests the device completed by then leave it
    /// (<see cref="Advance"/>); an idle device starts the held request or the scheduler's choice; then, if the device is
    /// busy and nothing is held, the scheduler's next choice is dispatched, refused (busy) and held on hctx-&gt;dispatch.
    /// </summary>
    public void RunHwQueue(ulong now)
    {
        Advance(now);
        Dispatch(now);
    }

    /// <summary>
    /// The device's completions up to <paramref name="t"/>: each request whose service ended by then completes
    /// (blk_mq_complete_request), and the queue runs at its completion time, starting the next request then.
    /// </summary>
    public void Advance(ulong t)
    {
        while (_busy >= 0 && _due[_busy] <= t)
        {
            int s = _busy;
            ulong at = _due[s];
            _busy = -1;
            long id = _id[s];
            _freeSlots.Push(s);
            _owner.RequestCompleted(id);
            Dispatch(at);
        }
    }

    /// <summary>__blk_mq_sched_dispatch_requests at <paramref name="now"/>: hctx-&gt;dispatch first, then the scheduler.</summary>
    private void Dispatch(ulong now)
    {
        if (_busy < 0)
        {
            int s = _held >= 0 ? _held : DdDispatchRequest(now);
            _held = -1;
            if (s < 0)
                return;
            _busy = s;
            _due[s] = now + _service(_pages[s]);
            _owner.RequestStarted(_id[s], now, _due[s]);
        }
        if (_held < 0)
            _held = DdDispatchRequest(now);
    }

    /// <summary>
    /// dd_dispatch_request → __dd_dispatch_request for the read direction at <paramref name="now"/>: go on in sector order
    /// while the batch lasts (fewer than <see cref="FifoBatch"/> dispatched) and a request lies at or above the last
    /// position; else start a batch with the FIFO head if it has expired (deadline_check_fifo) or nothing lies at or above
    /// the last position, with the next in sector order otherwise. Returns the slot taken off both lists, or -1.
    /// </summary>
    private int DdDispatchRequest(ulong now)
    {
        if (_fifo.Count == 0)
            return -1;
        int rq = _lastDirRead ? DeadlineNextRequest() : -1;
        if (rq < 0 || _batching >= FifoBatch)
        {
            int next = DeadlineNextRequest();
            rq = DeadlineCheckFifo(now) || next < 0 ? _fifo[0] : next;
            _lastDirRead = true;
            _batching = 0;
        }
        _batching++;
        _fifo.Remove(rq);
        _latestPos = _sector[rq]; // dd_start_request
        return rq;
    }

    /// <summary>deadline_next_request → deadline_from_pos: the first request at or above latest_pos in sector order (the earliest inserted of equals), or -1.</summary>
    private int DeadlineNextRequest()
    {
        int best = -1;
        foreach (int s in _fifo)
        {
            if (_sector[s] >= _latestPos && (best < 0 || _sector[s] < _sector[best]))
                best = s;
        }
        return best;
    }

    /// <summary>deadline_check_fifo: the FIFO head's deadline has passed by <paramref name="now"/>.</summary>
    private bool DeadlineCheckFifo(ulong now) => _fifoTime[_fifo[0]] <= now;
}
