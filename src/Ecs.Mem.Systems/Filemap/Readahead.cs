using Microsoft.Extensions.ObjectPool;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.Filemap;

/// <summary>
/// struct file_ra_state: one open file's readahead state. EcsMem has no file descriptors, so each process (mm)
/// has one per file it maps or advises on, as if it opened the file once and used that descriptor for both.
/// </summary>
public struct FileRaState
{
    /// <summary>First page of the current window.</summary>
    public long Start;

    /// <summary>Pages in the current window.</summary>
    public long Size;

    /// <summary>Pages at the window's end whose first carries PG_readahead (the async lookahead).</summary>
    public long AsyncSize;

    /// <summary>This file's maximum window (bdi-&gt;ra_pages; posix_fadvise SEQUENTIAL doubles it).</summary>
    public long RaPages;

    /// <summary>Cache misses of mmap faults not offset by hits: above MMAP_LOTSAMISS read-around stops.</summary>
    public int MmapMiss;

    /// <summary>Byte position of the last read() (-1: none; mmap faults do not update it).</summary>
    public long PrevPos;

    /// <summary>FMODE_RANDOM, set by posix_fadvise RANDOM: sync readahead reads just what is asked.</summary>
    public bool Random;

    /// <summary>ra-&gt;order: the folio order the last window asked for (0 after sync readahead, +2 per async window).</summary>
    public int Order;
}

/// <summary>What a read fault's disk request looks like once readahead has joined it.</summary>
/// <param name="Pages">Pages in the request the faulting page belongs to (1 without readahead); 0: the readahead schedules
/// the fault's completion itself (its window waits for a reclaim round, or its request waits in the data disk's queue,
/// <c>machine.readahead_queue</c>).</param>
public readonly record struct FaultRead(int Pages);

/// <summary>A read fault's completion: the event the fault's own I/O ends with.</summary>
/// <param name="Kind">The fault's system's event kind.</param>
/// <param name="Process">The faulting task.</param>
/// <param name="Io">The fault's request (-1: none).</param>
/// <param name="ReadyAt">When the read of the faulting page ends, once its batch is submitted (0: not yet).</param>
/// <param name="Request">With <c>machine.readahead_queue</c>: the data disk's request holding the faulting page, once
/// submitted (-1: not yet); its completion time is the scheduler's (<see cref="MqDeadline"/>), so ReadyAt stays 0.</param>
public readonly record struct FaultIo(int Kind, Entity Process, long Io, ulong ReadyAt = 0, long Request = -1)
{
    /// <summary>No fault (Io -1).</summary>
    public static FaultIo None => new(0, default, -1);
}

/// <summary>
/// mm/readahead.c and the readahead half of mm/filemap.c: per-file readahead state (file_ra_state), mmap
/// read-around on a major fault (do_sync_mmap_readahead), the PG_readahead marker and asynchronous readahead
/// when a fault finds it (do_async_mmap_readahead → page_cache_async_ra), window sizes (get_init_ra_size,
/// get_next_ra_size), force_page_cache_ra for WILLNEED, and fault-around (do_fault_around → filemap_map_pages).
/// Pages read ahead go into the page cache and the LRU locked, unmapped, and are unlocked when their disk
/// request completes: one request per contiguous run of new pages (two when it holds the faulting page: Submit), costing
/// <see cref="Timing.TimingModel.DiskReadCycles"/>.
/// </summary>
public sealed class Readahead : IEventHandler, IBlkMqRequestOwner
{
    /// <summary>MMAP_LOTSAMISS (mm/filemap.c).</summary>
    public const int MmapLotsaMiss = 100;

    private readonly Kernel.Kernel _k;
    private readonly int _kind;
    private readonly Dictionary<long, FileRaState> _ra = new();
    private readonly Dictionary<int, long> _filePages = new();
    private readonly Dictionary<long, InFlightRead> _inFlight = new();

    /// <summary>A read request in flight: its pages, when the disk completes it, and whether they were unlocked already.</summary>
    private readonly record struct InFlightRead(int[] Pfns, ulong Due, bool Ended);

    /// <summary>The requests <see cref="EndReadsCompletedBy"/> finds complete (reused, no allocation in steady state).</summary>
    private readonly List<long> _completed = new();

    /// <summary>Page lists of completed requests, by length, reused by later requests (no allocation in steady state).</summary>
    private readonly Dictionary<int, Stack<int[]>> _freeLists = new();
    private readonly List<int> _run = new();

    /// <summary>Submit's bios (their end in the run, the request holding their last part) and requests (their end).</summary>
    private readonly List<int> _bioEnds = new(), _bioReqs = new(), _reqEnds = new();
    private readonly List<PendingRa> _pending = new();
    private readonly List<PendingRa> _retry = new();
    private long _nextIo;

    /// <summary>The data disk's scheduler and device (<c>machine.readahead_queue</c>; null without it).</summary>
    private readonly MqDeadline? _dd;

    /// <summary>The event kind of the data disk's completions (<see cref="MqDeadline.Advance"/>).</summary>
    private readonly int _ddKind;

    /// <summary>What each request in the data disk's queue or on it completes: its bios, the fault waiting for its page.</summary>
    private sealed class DiskRequest
    {
        public readonly List<long> Bios = new();
        public FaultIo Fault = FaultIo.None;
        public ulong Due; // 0: not started yet
    }

    private readonly Dictionary<long, DiskRequest> _rqs = new();

    /// <summary>
    /// The request records not in the queue or on the disk: many are out at once (a plug's requests wait behind older
    /// windows'), so they are pooled rather than kept one per slot; the policy empties one as it comes back.
    /// </summary>
    private readonly ObjectPool<DiskRequest> _rqPool = new DefaultObjectPool<DiskRequest>(new DiskRequestPolicy(), PoolRetained);

    /// <summary>
    /// How many idle records a pool keeps: far more than a run has out at once (the queue's depth, the windows waiting
    /// for reclaim), so steady state allocates nothing; the pool drops what comes back beyond it.
    /// </summary>
    private const int PoolRetained = 4096;

    /// <summary>A request record back from the disk holds no bios and no fault; one from the pool starts unstarted.</summary>
    private sealed class DiskRequestPolicy : PooledObjectPolicy<DiskRequest>
    {
        public override DiskRequest Create() => new();

        public override bool Return(DiskRequest rq)
        {
            rq.Bios.Clear();
            rq.Fault = FaultIo.None;
            rq.Due = 0;
            return true;
        }
    }

    /// <summary>The ids of the requests one Submit inserts, in order (reused).</summary>
    private readonly List<long> _reqIds = new();

    /// <summary>The rest of a window whose allocation failed: read after the direct reclaim it asked for.</summary>
    /// <remarks><paramref name="Order"/>: the folio order page_cache_ra_order was reading the window at (0: single pages).</remarks>
    /// <remarks><paramref name="Held"/>: the window's pages added so far and not submitted yet (the readahead_control's batch,
    /// locked until read_pages), or null.</remarks>
    /// <remarks><paramref name="RaOrder"/>: a window page_cache_ra_order reads at order 0 whose fallback to
    /// do_page_cache_ra is still to come. <paramref name="Fault"/>: the fault whose page is in <paramref name="Held"/> (Io -1: none).</remarks>
    /// <remarks><paramref name="Tick"/>: the tick the window asked for its reclaim round in (it goes on in a later one).</remarks>
    private readonly record struct PendingRa(int File, long Next, long End, long Mark, int Cpu, Entity Who, int Order, List<int>? Held,
        bool RaOrder, FaultIo Fault, int Wait, long Target, long Tick, Uncharged Prealloc);

    /// <summary>
    /// machine.charge_after_alloc: a page or folio (head <see cref="Head"/>, -1: none) allocated for
    /// the window's next index whose charge failed; it stays allocated, uncharged and off every list through the reclaim the
    /// charge makes, as the folio try_charge_memcg's caller holds, and the retried charge is its.
    /// </summary>
    private readonly record struct Uncharged(int Head, int Order)
    {
        public static readonly Uncharged None = new(-1, 0);
    }

    /// <summary>The page or folio whose charge failed in the loop now running (<see cref="Uncharged"/>), until it waits or is put.</summary>
    private Uncharged _uncharged = Uncharged.None;

    /// <summary>Wait keys handed out so far (negative numbers: never a frame's).</summary>
    private int _waitSeq;

    /// <summary>Batches of windows waiting for a reclaim round, reused (no allocation in steady state).</summary>
    private readonly ObjectPool<List<int>> _heldPool = new DefaultObjectPool<List<int>>(new HeldListPolicy(), PoolRetained);

    /// <summary>A batch list comes back empty (its capacity kept).</summary>
    private sealed class HeldListPolicy : PooledObjectPolicy<List<int>>
    {
        public override List<int> Create() => new();

        public override bool Return(List<int> held)
        {
            held.Clear();
            return true;
        }
    }

    public Readahead(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _kind = env.RegisterEventKind("readahead-io", this);
        if (kernel.Options.ReadaheadQueue)
        {
            _ddKind = env.RegisterEventKind("mq-deadline", this);
            ulong readExpire = (ulong)Math.Round(MqDeadline.ReadExpireMs * kernel.Timing.ClockGHz * 1e6);
            _dd = new MqDeadline(readExpire, pages => (ulong)kernel.Timing.DiskReadCycles(pages), this);
        }
    }

    /// <summary>True while a window cut short by a failed allocation waits to be read after its direct reclaim.</summary>
    public bool HasPending => _pending.Count > 0;

    /// <summary>Readahead requests in flight.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Pages read ahead (not asked for by the fault or call that read them).</summary>
    public long PagesReadAhead { get; private set; }

    /// <summary>Pages mapped by fault-around beyond the faulting page.</summary>
    public long FaultAroundMapped { get; private set; }

    /// <summary>
    /// i_size in pages as far as EcsMem knows it: scenarios do not declare file sizes, so a file is as large as the
    /// furthest page any mapping of it has covered (recorded at each fault on it). Readahead and fault-around stop there.
    /// </summary>
    public long FilePages(int file) => _filePages.TryGetValue(file, out long n) ? n : 0;

    /// <summary>Records that a mapping of <paramref name="file"/> reaches page <paramref name="endPage"/> (exclusive).</summary>
    public void NoteFileExtent(int file, long endPage)
    {
        ref long n = ref CollectionsMarshal.GetValueRefOrAddDefault(_filePages, file, out _);
        if (endPage > n)
            n = endPage;
    }

    /// <summary>Sets what EcsMem knows of <paramref name="file"/>'s i_size in pages (a truncation may shrink it).</summary>
    public void SetFileExtent(int file, long pages) => _filePages[file] = pages;

    /// <summary>file_ra_state_init: the state of <paramref name="file"/> as process <paramref name="mmId"/> opened it.</summary>
    public ref FileRaState Ra(int mmId, int file)
    {
        long key = ((long)mmId << 32) | (uint)file;
        ref FileRaState ra = ref CollectionsMarshal.GetValueRefOrAddDefault(_ra, key, out bool exists);
        if (!exists)
            ra = new FileRaState { RaPages = _k.Options.RaPages, PrevPos = -1 };
        return ref ra;
    }

    /// <summary>get_init_ra_size (mm/readahead.c): the first window for a request of <paramref name="size"/> pages.</summary>
    public static long GetInitRaSize(long size, long max)
    {
        long newsize = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)Math.Max(size, 1));
        if (newsize <= max / 32)
            return newsize * 4;
        if (newsize <= max / 4)
            return newsize * 2;
        return max;
    }

    /// <summary>get_next_ra_size (mm/readahead.c): the window after one of <paramref name="cur"/> pages.</summary>
    public static long GetNextRaSize(long cur, long max)
    {
        if (cur < max / 16)
            return 4 * cur;
        if (cur <= max / 2)
            return 2 * cur;
        return max;
    }

    /// <summary>
    /// do_sync_mmap_readahead, called once the faulting page (<paramref name="targetPfn"/>, index
    /// <paramref name="index"/>) is in the page cache and locked for its read: reads the window around it as
    /// Linux's mmap read-around does (or sync readahead under VM_SEQ_READ, none under VM_RAND_READ or after too
    /// many misses). Returns the size of the disk request the faulting page is part of.
    /// </summary>
    /// <remarks>
    /// The faulting page is read with the window's other pages (read_pages, once the window's loop has ended): when
    /// the window waits for a reclaim round before it ends, the fault's completion (<paramref name="faultIo"/>) waits too,
    /// and this returns 0 — the task stays in the fault for the whole window, as filemap_fault runs it.
    /// </remarks>
    public FaultRead SyncMmapReadahead(SimEnvironment env, Entity who, int mmId, int file, long index, VmFlags vmFlags, int targetPfn, int cpu, FaultIo faultIo)
    {
        var ractl = new ReadaheadControl(who, faultIo);
        return SyncMmapReadaheadFor(env, ref ractl, mmId, file, index, vmFlags, targetPfn, cpu);
    }

    /// <summary>do_sync_mmap_readahead's body for <see cref="SyncMmapReadahead"/>.</summary>
    private FaultRead SyncMmapReadaheadFor(SimEnvironment env, ref ReadaheadControl ractl, int mmId, int file, long index, VmFlags vmFlags, int targetPfn, int cpu)
    {
        ref FileRaState ra = ref Ra(mmId, file);
        if ((vmFlags & VmFlags.RandRead) != 0 || ra.RaPages == 0)
            return new FaultRead(1);
        if ((vmFlags & VmFlags.SeqRead) != 0)
            return new FaultRead(PageCacheSyncRa(env, ref ractl, ref ra, file, index, ra.RaPages, targetPfn, cpu));
        if (ra.MmapMiss < MmapLotsaMiss * 10)
            ra.MmapMiss++;
        if (ra.MmapMiss > MmapLotsaMiss)
            return new FaultRead(1);
        // mmap read-around: a window of ra_pages centred on the fault, its last quarter the async lookahead.
        ra.Start = Math.Max(0, index - (ra.RaPages / 2));
        ra.Size = ra.RaPages;
        ra.AsyncSize = ra.RaPages / 4;
        ra.Order = 0; // read-around reads single pages (VM_HUGEPAGE's PMD-order read-around is not modelled)
        return new FaultRead(DoPageCacheRa(env, ref ractl, file, ra.Start, ra.Size, ra.AsyncSize, index, targetPfn, cpu, LargeFolioSupport));
    }

    /// <summary>
    /// do_async_mmap_readahead: a fault found its page cached. A hit pays off a miss (mmap_miss--); on the
    /// PG_readahead marker the next window is started without waiting (page_cache_async_ra).
    /// </summary>
    /// <remarks>
    /// The window is read inside the fault: when it waits for a reclaim round before its loop ends, this returns a wait
    /// key (never 0) on which the fault must sleep (<see cref="PageWaitQueue.WaitOnPageLocked"/>) until it has; else 0.
    /// </remarks>
    public int AsyncMmapReadahead(SimEnvironment env, Entity who, int mmId, int file, long index, VmFlags vmFlags, int pfn, int cpu)
    {
        ref FileRaState ra = ref Ra(mmId, file);
        if ((vmFlags & VmFlags.RandRead) != 0 || ra.RaPages == 0)
            return 0;
        if (ra.MmapMiss > 0)
            ra.MmapMiss--;
        if ((_k.Zone.Frames[pfn].Flags & FrameFlags.Readahead) == 0)
            return 0;
        int key = -(++_waitSeq);
        var ractl = new ReadaheadControl(who, FaultIo.None) { Wait = key };
        PageCacheAsyncRa(env, ref ractl, ref ra, file, index, pfn, ra.RaPages, cpu);
        return ractl.Wait == 0 ? key : 0; // 0: taken by the window that now waits for its reclaim round
    }

    /// <summary>page_cache_sync_ra (mm/readahead.c, Linux 6.10+). Returns the request size of <paramref name="index"/>'s page.</summary>
    private int PageCacheSyncRa(SimEnvironment env, ref ReadaheadControl ractl, ref FileRaState ra, int file, long index, long reqCount, int targetPfn, int cpu)
    {
        if (ra.Random)
            return ForcePageCacheRa(env, ref ractl, ref ra, file, index, reqCount, targetPfn, cpu);
        long maxPages = ra.RaPages; // ractl_max_pages: bdi->io_pages is taken to be no larger than ra_pages
        ulong prevIndex = (ulong)ra.PrevPos >> Pte.PageShift;
        if (index == 0 || reqCount > maxPages || (ulong)index - prevIndex <= 1UL)
        {
            ra.Start = index;
            ra.Size = GetInitRaSize(reqCount, maxPages);
            ra.AsyncSize = ra.Size > reqCount ? ra.Size - reqCount : ra.Size >> 1;
            ra.Order = 0;
            return DoPageCacheRa(env, ref ractl, file, ra.Start, ra.Size, ra.AsyncSize, index, targetPfn, cpu, LargeFolioSupport);
        }
        // The cached history a sequential stream leaves behind (page_cache_prev_miss over index-1 downwards).
        long miss = PrevMiss(file, index - 1, maxPages, out bool wrapped);
        long contig = wrapped ? index : index - miss - 1;
        if (contig <= reqCount)
            return DoPageCacheRa(env, ref ractl, file, index, reqCount, 0, index, targetPfn, cpu);
        if (wrapped)
            contig *= 2; // cached from the start of the file: a long stream
        ra.Start = index;
        ra.Size = Math.Min(contig + reqCount, maxPages);
        ra.AsyncSize = 1;
        ra.Order = 0;
        return DoPageCacheRa(env, ref ractl, file, ra.Start, ra.Size, ra.AsyncSize, index, targetPfn, cpu, LargeFolioSupport);
    }

    /// <summary>
    /// page_cache_async_ra (mm/readahead.c, Linux 6.18): the marked folio holding page <paramref name="index"/> was hit.
    /// The next window asks for folios two orders larger than the last (ra-&gt;order += 2) and ends on that order's
    /// alignment (as far as the largest power of two dividing ra_pages allows); page_cache_ra_order reads it.
    /// </summary>
    private void PageCacheAsyncRa(SimEnvironment env, ref ReadaheadControl ractl, ref FileRaState ra, int file, long index, int pfn, long reqCount, int cpu)
    {
        Frame[] frames = _k.Zone.Frames;
        ref Frame f = ref frames[pfn];
        if ((f.Flags & FrameFlags.Writeback) != 0)
            return; // PG_readahead shares its bit with PG_reclaim
        ClearReadahead(pfn);
        long maxPages = ra.RaPages;
        // The marker is the folio's: round_down to folio_nr_pages, as the window's mark was rounded when it was set.
        long expected = (ra.Start + ra.Size - ra.AsyncSize) & ~(long)(PageCacheFolio.NrPages(frames, pfn) - 1);
        if (index == expected)
        {
            // The expected marker: a sequential stream. Push the window forward and ramp it up.
            ra.Start += ra.Size;
            ra.Size = Math.Max(ra.Size, GetNextRaSize(ra.Size, maxPages));
            ra.AsyncSize = ra.Size;
        }
        else
        {
            // A marker without valid state (interleaved streams): size the window from the cached run ahead.
            long start = NextMiss(file, index + 1, maxPages);
            if (start == 0 || start - index > maxPages)
                return;
            ra.Start = start;
            ra.Size = GetNextRaSize(start - index + reqCount, maxPages);
            ra.AsyncSize = ra.Size;
        }
        ra.Order += 2;
        if (LargeFolioSupport)
        {
            // Simplification: Linux trims the window's end to order 2's alignment even on a filesystem without large
            // folios (ra->order is 2 here, reset to 0 by page_cache_ra_order); EcsMem trims only where folios are built.
            long align = 1L << Math.Min(ra.Order, System.Numerics.BitOperations.TrailingZeroCount(maxPages));
            long end = ra.Start + ra.Size, alignedEnd = end & ~(align - 1);
            if (alignedEnd > ra.Start)
                ra.Size -= end - alignedEnd;
        }
        ra.AsyncSize = ra.Size;
        PageCacheRaOrder(env, ref ractl, ref ra, file, cpu);
    }

    /// <summary>Large page-cache folios are built: the filesystem has them and the LRU is the classic lruvec (docs/kernel.md).</summary>
    internal bool LargeFolioSupport => _k.Options.LargeFolios && _k.Lruvec is not null && !_k.Options.LruGen.Enabled;

    /// <summary>
    /// page_cache_ra_order (mm/readahead.c, Linux 6.18) for the window in <paramref name="ra"/>: folios of ra-&gt;order
    /// (capped by MAX_PAGECACHE_ORDER and ilog2 of the window), smaller where the index is not aligned to it
    /// (__ffs(index)) or the folio would pass the window's or the file's last page; the folio holding the window's mark
    /// gets PG_readahead. A folio that cannot be added (a page of its range already cached) or allocated (no free
    /// block of its order above the low watermark, or no room under memory.max) ends the loop, and the rest of the
    /// window is read a page at a time (the fallback to do_page_cache_ra). Without large folio support ra-&gt;order
    /// drops to 0 and the whole window goes that way.
    /// </summary>
    private void PageCacheRaOrder(SimEnvironment env, ref ReadaheadControl ractl, ref FileRaState ra, int file, int cpu)
    {
        long start = ra.Start, index = start;
        if (!LargeFolioSupport)
        {
            ra.Order = 0;
            DoPageCacheRa(env, ref ractl, file, start, ra.Size, ra.AsyncSize, -1, -1, cpu);
            return;
        }
        long filePages = FilePages(file);
        if (start >= filePages)
            return;
        long end = Math.Min(filePages, index + ra.Size);
        long mark = index + ra.Size - ra.AsyncSize;
        int newOrder = Math.Min(Math.Min(PageCacheFolio.MaxPagecacheOrder, ra.Order), System.Numerics.BitOperations.Log2((ulong)Math.Max(ra.Size, 1)));
        ra.Order = newOrder;
        ReadFolios(env, ref ractl, file, index, end, mark, newOrder, cpu, retry: false);
    }

    /// <summary>
    /// page_cache_ra_order's loop over [from, end): folios of up to <paramref name="newOrder"/>, each as large as the
    /// index's alignment and the window's end allow, read as one request (read_pages). When the memory cgroup has no
    /// room for a folio, it is reclaimed once for it (try_charge_memcg's one round of max(nr_pages, SWAP_CLUSTER_MAX)
    /// under __GFP_NORETRY) and the loop goes on
    /// from that folio after it, as the single-page path waits for its reclaim; when that retry finds no room either,
    /// or the zone has no block of the order, or a page of the range is cached, the rest of the window is read a page
    /// at a time (do_page_cache_ra).
    /// </summary>
    private void ReadFolios(SimEnvironment env, ref ReadaheadControl ractl, int file, long from, long end, long mark, int newOrder, int cpu, bool retry)
    {
        long index = from;
        bool fallback = false;
        int targetRun = 1, allocated = 0;
        if (!ractl.Continuing)
            _run.Clear();
        ractl.Continuing = false;
        while (index < end)
        {
            int order = newOrder;
            if ((index & ((1L << order) - 1)) != 0)
                order = System.Numerics.BitOperations.TrailingZeroCount(index);
            while (order > 0 && index + (1L << order) > end)
                order--;
            if (RaAllocFolio(env, ref ractl, file, index, mark, order, cpu, out Memcontrol.MemCgroup? overLimit))
            {
                allocated++;
                index += 1L << order;
                continue;
            }
            if (overLimit is not null && order > 0 && (!retry || allocated > 0))
            {
                // As the single-page path does: try_charge_memcg reclaims the group once for this folio
                // (try_to_free_mem_cgroup_pages(nr_pages): nr_to_reclaim = max(folio_nr_pages, SWAP_CLUSTER_MAX)), not
                // for the rest of the window, and the window goes on after it; a retry that gets no folio at all falls
                // back to single pages (and gives up with them).
                // The folios added so far stay locked in the window's batch, unread, through the reclaim (read_pages
                // comes only after the loop ends), so that reclaim cannot take them.
                Memcontrol.MemcgController.MemoryEvent(overLimit, Memcontrol.MemcgEvent.Max);
                env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, Math.Max(1 << order, _k.Options.SwapClusterMax), ractl.Who, cpu, MayOom: false, Memcg: overLimit.Id));
                _pending.Add(new PendingRa(file, index, end, mark, cpu, ractl.Who, newOrder, HoldRun(), false, FaultIo.None, TakeWait(ref ractl), -1, env.Ticks, TakeUncharged()));
                return;
            }
            PutUncharged(cpu); // ra_alloc_folio's folio_put after filemap_add_folio failed
            fallback = true;
            break;
        }
        Submit(env, ref ractl, false, ref targetRun); // read_pages
        if (fallback)
            ReadRange(env, ref ractl, file, index, end, mark, -1, -1, cpu, retry: false, raOrder: false); // do_page_cache_ra: charges of its own
    }

    /// <summary>
    /// ra_alloc_folio: a folio of <paramref name="order"/> for [index, index + 2^order), added to the page cache locked
    /// for the window's read (false: a page of the range is cached already, or no folio of that order could be had).
    /// </summary>
    private bool RaAllocFolio(SimEnvironment env, ref ReadaheadControl ractl, int file, long index, long mark, int order, int cpu, out Memcontrol.MemCgroup? overLimit)
    {
        int nr = 1 << order;
        overLimit = null;
        for (long i = index; i < index + nr; i++)
        {
            if (_k.PageCache.Find(file, i) >= 0)
                return false; // filemap_add_folio: -EEXIST
        }
        int head = order == 0 ? AllocReadaheadPage(ref ractl, cpu, out overLimit) : AllocReadaheadFolio(ref ractl, cpu, order, out overLimit);
        if (head < 0)
            return false; // -ENOMEM
        if (order == 0)
        {
            AddToPageCache(env, ref ractl, file, index, head, cpu);
        }
        else
        {
            AddFolioToPageCache(env, ref ractl, file, index, head, order, cpu);
        }
        if (index == (mark & ~(long)(nr - 1)))
            SetReadahead(head);
        for (int p = head; p < head + nr; p++)
            _run.Add(p);
        return true;
    }

    /// <summary>
    /// filemap_alloc_folio for a readahead folio of <paramref name="order"/> &gt; 0 (readahead_gfp_mask: __GFP_NORETRY):
    /// charged to the reader's memory cgroup as one (mem_cgroup_charge of folio_nr_pages; refused, not reclaimed for,
    /// when it does not fit under memory.max), taken from the buddy allocator as one block while the zone stays above its
    /// low watermark (a simplification of the slow path: no reclaim or compaction for it; the window falls back to single
    /// pages instead, which may reclaim). Returns the head, or -1.
    /// </summary>
    private int AllocReadaheadFolio(ref ReadaheadControl ractl, int cpu, int order, out Memcontrol.MemCgroup? overLimit)
    {
        Memcontrol.MemCgroup? memcg = _k.Memcg is { } mc ? ReaderGroup(mc, ractl) : null;
        if (memcg is null || !_k.Options.ChargeAfterAlloc)
            return FilemapAlloc.FilemapAllocFolio(_k, order, memcg, cpu, pinned: true, Ecs.Entity.Null, out overLimit);
        // Linux's order: the folio first (or the one held through the last reclaim), then its charge; a failed charge
        // keeps it for the retry (_uncharged).
        overLimit = null;
        int head = TakeHeldFolio(order, cpu);
        if (head < 0)
            head = FilemapAlloc.FilemapAllocFolio(_k, order, null, cpu, pinned: true, Ecs.Entity.Null, out _);
        if (head < 0)
            return -1;
        overLimit = FilemapAlloc.ChargeFolio(_k, head, order, memcg, cpu, Ecs.Entity.Null);
        if (overLimit is not null)
        {
            _uncharged = new Uncharged(head, order);
            return -1;
        }
        return head;
    }

    /// <summary>
    /// filemap_add_folio for a large folio + the start of its read: every page indexed (the shadow the range held, if
    /// any, refaults the folio as one: the last one found, as __filemap_add_folio keeps), the folio one LRU entry,
    /// all its pages locked until the I/O completes.
    /// </summary>
    private void AddFolioToPageCache(SimEnvironment env, ref ReadaheadControl ractl, int file, long index, int head, int order, int cpu)
    {
        int nr = 1 << order;
        if (_k.Events is { } ev)
        {
            int pid = _k.World.IsAlive(ractl.Who) ? _k.World.Get<Process>(ractl.Who).Pid : 0;
            for (int i = 0; i < nr; i++)
                ev.ReadAhead(pid, cpu, 0, head + i, file, index + i);
        }
        FilemapAlloc.FilemapAddFolio(_k, file, index, head, order, locked: true);
        env.Counters.Add(_k.C.PgPgIn, nr * (long)(Pte.PageSize / 1024));
        env.Counters.Add(_k.C.ReadaheadPages, nr);
        PagesReadAhead += nr;
    }

    /// <summary>folio_clear_readahead on the folio <paramref name="pfn"/> is a page of.</summary>
    private void ClearReadahead(int pfn)
    {
        Frame[] frames = _k.Zone.Frames;
        int head = PageCacheFolio.Head(frames, pfn), nr = PageCacheFolio.NrPages(frames, pfn);
        for (int p = head; p < head + nr; p++)
        {
            _k.Dirty?.Frame(p);
            frames[p].Flags &= ~FrameFlags.Readahead;
        }
    }

    /// <summary>
    /// force_page_cache_ra: POSIX_FADV_WILLNEED, MADV_WILLNEED and FMODE_RANDOM sync reads — up to
    /// max(io_pages, ra_pages) pages in 2 MiB chunks, no marker, the readahead state untouched.
    /// </summary>
    private int ForcePageCacheRa(SimEnvironment env, ref ReadaheadControl ractl, ref FileRaState ra, int file, long index, long nrToRead, int targetPfn, int cpu)
    {
        nrToRead = Math.Min(nrToRead, Math.Max(ra.RaPages, 1));
        long target = targetPfn >= 0 ? index : -1;
        int targetRun = 1;
        const long Chunk = (2L << 20) / (long)Pte.PageSize;
        while (nrToRead > 0)
        {
            long n = Math.Min(Chunk, nrToRead);
            int r = DoPageCacheRa(env, ref ractl, file, index, n, 0, target, targetPfn, cpu);
            if (target >= index && target < index + n)
                targetRun = r;
            index += n;
            nrToRead -= n;
        }
        return targetRun;
    }

    /// <summary>WILLNEED on [<paramref name="first"/>, <paramref name="first"/>+<paramref name="pages"/>) of a file: force_page_cache_readahead.</summary>
    private void WillNeed(SimEnvironment env, ref ReadaheadControl ractl, int mmId, int file, long first, long pages, int cpu)
    {
        ref FileRaState ra = ref Ra(mmId, file);
        InWillNeed = true;
        ForcePageCacheRa(env, ref ractl, ref ra, file, first, pages, -1, cpu);
        InWillNeed = false;
    }

    /// <summary>True while madvise/fadvise WILLNEED reads ahead: the pages come in outside a fault (lru_gen_in_fault() is false).</summary>
    public bool InWillNeed { get; private set; }

    /// <summary>
    /// do_page_cache_ra → page_cache_ra_unbounded: reads the pages of [start, start+nr) not cached yet (clipped to
    /// the file's end), marking the one at start+nr-lookahead PG_readahead. Each run of new pages is one disk
    /// request; a cached page ends a run (read_pages is called before it). The faulting page
    /// (<paramref name="targetIndex"/>, already inserted by the fault) rides in its run's request and its I/O is
    /// the fault's own; the returned value is that run's length (1 when the target is outside the window).
    /// </summary>
    /// <remarks><paramref name="raOrder"/>: page_cache_ra_order reads the window at order 0 (a mapping with large folios):
    /// its first break, on a cached page or a failed charge, submits what it added and falls back to do_page_cache_ra
    /// for the rest once (<see cref="ReadRange"/>).</remarks>
    private int DoPageCacheRa(SimEnvironment env, ref ReadaheadControl ractl, int file, long start, long nr, long lookahead, long targetIndex, int targetPfn, int cpu, bool raOrder = false)
    {
        long filePages = FilePages(file);
        if (start >= filePages)
            return 1;
        nr = Math.Min(nr, filePages - start);
        long mark = lookahead <= nr ? start + nr - lookahead : long.MinValue;
        return ReadRange(env, ref ractl, file, start, start + nr, mark, targetIndex, targetPfn, cpu, retry: false, raOrder);
    }

    /// <summary>
    /// The loop of page_cache_ra_unbounded over [from, end). When a page cannot be allocated, the rest of the
    /// window waits for one direct reclaim (__GFP_NORETRY: reclaim once, then retry; no OOM kill): it is read in a
    /// later tick, after that reclaim freed memory, by <see cref="ContinuePending"/>. A retry that still gets no page
    /// at all gives up, as the NORETRY allocation fails.
    /// </summary>
    private int ReadRange(SimEnvironment env, ref ReadaheadControl ractl, int file, long from, long end, long mark, long targetIndex, int targetPfn, int cpu, bool retry, bool raOrder = false)
    {
        int targetRun = 1;
        bool runHasTarget = false;
        int allocated = 0;
        if (!ractl.Continuing)
            _run.Clear();
        ractl.Continuing = false;
        // The fault that reads around its page runs this loop: it waits for it whatever becomes of its own page's run.
        bool ownsFault = ractl.Fault.Io >= 0 && ractl.BatchFault.Io < 0 && targetIndex >= from && targetIndex < end;
        if (ownsFault)
            ractl.BatchFault = ractl.Fault;
        for (long i = from; i < end; i++)
        {
            if (i == targetIndex)
            {
                runHasTarget = true;
                _run.Add(-1);
                if (i == mark)
                    SetReadahead(targetPfn);
                continue;
            }
            if (_k.PageCache.Find(file, i) >= 0)
            {
                // page_cache_ra_order's -EEXIST breaks its loop into the fallback, which goes on the same way.
                raOrder = false;
                Submit(env, ref ractl, runHasTarget, ref targetRun);
                runHasTarget = false;
                continue;
            }
            int pfn = AllocReadaheadPage(ref ractl, cpu, out Memcontrol.MemCgroup? overLimit);
            if (pfn < 0)
            {
                if (retry && allocated == 0 && raOrder)
                {
                    // page_cache_ra_order's loop ends on -ENOMEM: read_pages, then do_page_cache_ra for the rest,
                    // whose first charge reclaims again.
                    Submit(env, ref ractl, runHasTarget, ref targetRun);
                    runHasTarget = false;
                    retry = false;
                    raOrder = false;
                }
                if (!retry || allocated > 0)
                {
                    // The pages added so far stay locked in the window's batch, unread, through the reclaim the
                    // allocation makes (read_pages comes only after the loop ends), so that reclaim cannot take them.
                    FaultIo fault = ractl.BatchFault;
                    if (fault.Io >= 0)
                        targetRun = 0; // the fault's completion goes with the window (ContinuePending)
                    else if (runHasTarget)
                        targetRun = _run.Count;
                    ractl.BatchFault = FaultIo.None;
                    _pending.Add(new PendingRa(file, i, end, mark, cpu, ractl.Who, 0, HoldRun(), raOrder, fault, TakeWait(ref ractl), fault.Io >= 0 ? targetIndex : -1, env.Ticks, TakeUncharged()));
                    if (overLimit is not null)
                    {
                        // The charge found a group at its memory.max: try_charge_memcg reclaims it once for this one page
                        // (try_to_free_mem_cgroup_pages(nr_pages 1): nr_to_reclaim = max(1, SWAP_CLUSTER_MAX)), then the
                        // charge is retried; __GFP_NORETRY: no second round, no OOM. The rest of the window is read
                        // after that reclaim; the next page over the limit reclaims again.
                        Memcontrol.MemcgController.MemoryEvent(overLimit, Memcontrol.MemcgEvent.Max);
                        env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, _k.Options.SwapClusterMax, ractl.Who, cpu, MayOom: false, Memcg: overLimit.Id));
                        return targetRun;
                    }
                    env.Counters.Increment(_k.C.AllocStall);
                    _k.Events?.AllocStall(_k.World.IsAlive(ractl.Who) ? _k.World.Get<Process>(ractl.Who).Pid : 0, cpu);
                    env.Work<ReclaimRequest>().Add(new ReclaimRequest(true, (int)Math.Min(end - i, 1 << 20), ractl.Who, cpu, MayOom: false));
                    return targetRun;
                }
                PutUncharged(cpu); // the retried charge failed again: __GFP_NORETRY, the page is put and the loop ends
                break;
            }
            allocated++;
            AddToPageCache(env, ref ractl, file, i, pfn, cpu);
            if (i == mark)
                SetReadahead(pfn);
            _run.Add(pfn);
        }
        Submit(env, ref ractl, runHasTarget, ref targetRun);
        if (ownsFault)
        {
            if (ractl.BatchFault.Request >= 0)
            {
                // machine.readahead_queue: the request holding the page completes the fault when the disk has served it.
                FaultWhenRead(env, ractl.BatchFault);
                targetRun = 0;
            }
            ractl.BatchFault = FaultIo.None; // the loop ended here: the fault's own request completes it
        }
        return targetRun;
    }

    /// <summary>Reads the rest of the windows whose allocations waited for reclaim (called once per tick, in order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ContinuePending(SimEnvironment env)
    {
        // The per-tick check inlined into the caller; the retry (with its large frame) only when a window waits.
        if (_pending.Count != 0)
            ContinueWaiting(env);
    }

    /// <summary><see cref="ContinuePending"/>'s retry of the waiting windows, out of line.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ContinueWaiting(SimEnvironment env)
    {
        _retry.Clear();
        _retry.AddRange(_pending);
        _pending.Clear();
        // A window that asked for its round earlier in this tick (a fault's async readahead, before this stage) waits for
        // the tick's reclaim (SwapOutSystem, after this stage): try_charge_memcg reclaims before it retries the charge.
        foreach (PendingRa p in _retry)
        {
            if (p.Tick == env.Ticks)
                _pending.Add(p);
        }
        foreach (PendingRa p in _retry)
        {
            if (p.Tick == env.Ticks)
                continue;
            _k.Smp.Enter(p.Cpu);
            _run.Clear();
            // The window's readahead_control again, as it went to wait: its task, its batch, the faults waiting on it.
            var ractl = new ReadaheadControl(p.Who, FaultIo.None) { BatchFault = p.Fault, Wait = p.Wait };
            if (p.Held is { } held)
            {
                _run.AddRange(held);
                _heldPool.Return(held);
                ractl.Continuing = true;
            }
            _uncharged = p.Prealloc;
            if (_uncharged.Head >= 0 && _k.PageCache.Find(p.File, p.Next) >= 0)
                PutUncharged(p.Cpu); // the index was cached meanwhile: filemap_add_folio's -EEXIST, the folio is put
            if (p.Order > 0)
                ReadFolios(env, ref ractl, p.File, p.Next, p.End, p.Mark, p.Order, p.Cpu, retry: true);
            else
                ReadRange(env, ref ractl, p.File, p.Next, p.End, p.Mark, p.Target, p.Target >= 0 ? _k.PageCache.Find(p.File, p.Target) : -1, p.Cpu, retry: true, p.RaOrder);
            PutUncharged(p.Cpu); // not taken by the retried loop (it ended first): put
            if (ractl.BatchFault.Request >= 0)
            {
                // The window's loop has ended: the fault goes on when the data disk's request holding its page completes.
                FaultWhenRead(env, ractl.BatchFault);
            }
            else if (ractl.BatchFault.Io >= 0)
            {
                // The window's loop (and its fallback) has ended: the fault goes on once its page's read has too (read
                // alone if the window gave up before it).
                ulong at = ractl.BatchFault.ReadyAt != 0 ? Math.Max(ractl.BatchFault.ReadyAt, env.Now) : env.Now + (ulong)_k.Timing.DiskReadCycles(1);
                env.Schedule(at - env.Now, new SimEvent(ractl.BatchFault.Kind, ractl.BatchFault.Process, ractl.BatchFault.Io));
            }
            if (ractl.Wait != 0)
            {
                // The window's loop has ended: the fault that runs it goes on (woken by an event, at the next tick's
                // start, so that its request reaches the allocator).
                env.Schedule(0, new SimEvent(_kind, default, ractl.Wait));
            }
        }
    }

    /// <summary>The wait key the window now going to wait for reclaim carries on (0: none).</summary>
    private static int TakeWait(ref ReadaheadControl ractl)
    {
        int w = ractl.Wait;
        ractl.Wait = 0;
        return w;
    }

    /// <summary>Whether <paramref name="pfn"/> belongs to the uncharged page or folio a waiting window holds (<see cref="Uncharged"/>).</summary>
    public bool HoldsUncharged(int pfn)
    {
        foreach (PendingRa p in _pending)
        {
            if (p.Prealloc.Head >= 0 && pfn >= p.Prealloc.Head && pfn < p.Prealloc.Head + (1 << p.Prealloc.Order))
                return true;
        }
        return false;
    }

    /// <summary>The page or folio whose charge failed, handed to the window that now waits for its reclaim round.</summary>
    private Uncharged TakeUncharged()
    {
        Uncharged u = _uncharged;
        _uncharged = Uncharged.None;
        return u;
    }

    /// <summary>folio_put of the page or folio whose charge failed (nothing when none): back to the allocator, never charged.</summary>
    private void PutUncharged(int cpu)
    {
        if (_uncharged.Head < 0)
            return;
        (int head, int order) = (_uncharged.Head, _uncharged.Order);
        _uncharged = Uncharged.None;
        FilemapAlloc.FreeUnchargedFolio(_k, head, order, cpu);
    }

    /// <summary>
    /// The page or folio of <paramref name="order"/> a retried charge goes with (machine.charge_after_alloc): the one
    /// held through the reclaim when there is one of that order (-1: allocate).
    /// </summary>
    private int TakeHeldFolio(int order, int cpu)
    {
        if (_uncharged.Head < 0)
            return -1;
        if (_uncharged.Order != order)
        {
            PutUncharged(cpu);
            return -1;
        }
        return TakeUncharged().Head;
    }

    /// <summary>Moves the window's batch (<see cref="_run"/>) into a pooled list that waits with it for its reclaim round.</summary>
    private List<int>? HoldRun()
    {
        if (_run.Count == 0)
            return null;
        List<int> held = _heldPool.Get();
        held.AddRange(_run);
        _run.Clear();
        return held;
    }

    /// <summary>folio_set_readahead: the mark goes on every page of the folio (its flags are the head's).</summary>
    private void SetReadahead(int pfn)
    {
        Frame[] frames = _k.Zone.Frames;
        int head = PageCacheFolio.Head(frames, pfn), nr = PageCacheFolio.NrPages(frames, pfn);
        for (int p = head; p < head + nr; p++)
        {
            _k.Dirty?.Frame(p);
            frames[p].Flags |= FrameFlags.Readahead;
        }
    }

    /// <summary>BIO_MAX_VECS (include/linux/bio.h): the most folios one read bio holds (a bvec per folio).</summary>
    public const int BioMaxVecs = 256;

    /// <summary>
    /// read_pages for the run collected so far, one bio per <see cref="BioMaxVecs"/> folios (the default; see
    /// <see cref="Submit"/> for the request model, <c>machine.readahead_requests</c>). ext4_mpage_readpages puts one
    /// folio in each bvec of a bio and submits it when its <see cref="BioMaxVecs"/> are full. The block layer splits a
    /// bio into requests at the queue's max_segments and max_sectors_kb (__bio_split_to_limits), but the parts are
    /// chained (bio_chain): the bio's end_io, mpage_end_io → folio_end_read, unlocks its folios when its last part
    /// completes, so a bio is the unit in which pages become readable (and reclaimable). The requests cross one channel
    /// one after another, so the bio ending at the run's n-th page completes after
    /// <see cref="Timing.TimingModel.DiskReadCycles"/>(n). Measured on 6.18 (oracle/experiments/readahead-bios): an
    /// order-2 async window of 2,048 pages is two bios of 256 folios, read as requests of 1,016 + 8 and 1,024 pages one
    /// after another; no request passed 1,024 pages (max_sectors_kb 4096). Simplified: physically contiguous single
    /// pages each take a bvec of their own here.
    /// </summary>
    private void SubmitFolioBios(SimEnvironment env, ref ReadaheadControl ractl, bool hasTarget, ref int targetRun)
    {
        Frame[] frames = _k.Zone.Frames;
        int pages = _run.Count, from = 0, folios = 0;
        for (int j = 0; j < pages; j++)
        {
            if (_run[j] >= 0 && PageCacheFolio.Head(frames, _run[j]) != _run[j])
                continue; // not a folio's first page: its bvec is its head's
            if (folios == BioMaxVecs)
            {
                // The bio is full: submit it, the next folio starts a new one.
                SubmitBio(env, ref ractl, from, j, j, env.Now, hasTarget, ref targetRun);
                from = j;
                folios = 0;
            }
            folios++;
        }
        SubmitBio(env, ref ractl, from, pages, pages, env.Now, hasTarget, ref targetRun);
        _run.Clear();
    }

    /// <summary>
    /// The data disk's queue limits (vda on the measured machine, /sys/block/vda/queue: max_sectors_kb 4096,
    /// max_segments 254): a request holds at most <see cref="QueueMaxPages"/> pages in at most
    /// <see cref="QueueMaxSegments"/> physically contiguous segments.
    /// </summary>
    public const int QueueMaxPages = 1024, QueueMaxSegments = 254;

    /// <summary>
    /// read_pages for the run collected so far, under its blk_plug, as the block layer forms requests (with
    /// <c>machine.readahead_requests</c>; else <see cref="SubmitFolioBios"/>). ext4_mpage_readpages adds each folio to a bio, in the
    /// bio's last bvec when it follows that bvec's memory (bvec_try_merge_page: physically contiguous pages share a bvec),
    /// else in a new one, and submits the bio when its <see cref="BioMaxVecs"/> bvecs are full. The block layer splits a
    /// bio at the queue's limits (__bio_split_to_limits: <see cref="QueueMaxPages"/>, <see cref="QueueMaxSegments"/>)
    /// and chains the parts (bio_chain); each part back-merges into the plug's last request when both limits allow
    /// (blk_attempt_plug_merge → ll_back_merge_fn), else starts one. The requests cross one channel one after another, so
    /// the request ending at the run's n-th page completes after <see cref="Timing.TimingModel.DiskReadCycles"/>(n); a
    /// bio's end_io (mpage_end_io → folio_end_read) unlocks its folios when the request holding its last part completes,
    /// so the pages of all the bios merged into one request become readable (and reclaimable) together. Measured on 6.18
    /// (oracle/experiments/readahead-bios, write-memcg-majors): an order-2 async window of 2,048 pages is two bios of 256
    /// folios, read as requests of 1,016 + 8 and 1,024 pages; order-0 read-around bios of 256 bvecs hold 259–377 pages
    /// and split at 254 segments; file-write-memcg's first window, 2,048 order-0 pages of few segments, is two requests
    /// of 1,024 pages.
    /// </summary>
    private void Submit(SimEnvironment env, ref ReadaheadControl ractl, bool hasTarget, ref int targetRun)
    {
        if (_run.Count == 0)
            return;
        if (!_k.Options.ReadaheadRequests)
        {
            SubmitFolioBios(env, ref ractl, hasTarget, ref targetRun);
            return;
        }
        int pages = _run.Count, bvecs = 0;
        int partPages = 0, partSegs = 0; // the open bio's part being cut at the queue's limits
        int reqPages = 0, reqSegs = 0;   // the plug's last request
        _bioEnds.Clear();
        _bioReqs.Clear();
        _reqEnds.Clear();
        for (int j = 0; j < pages; j++)
        {
            // A page whose frame follows the previous page's goes into the same bvec (a large folio's pages always do);
            // the faulting page's slot (-1, its frame granted later) is a bvec of its own.
            bool contiguous = j > 0 && _run[j] >= 0 && _run[j] == _run[j - 1] + 1;
            if (!contiguous && bvecs == BioMaxVecs)
            {
                // The bio is full: submit_bio; the page starts a new one.
                AddBioPart(j, ref partPages, ref partSegs, ref reqPages, ref reqSegs);
                _bioEnds.Add(j);
                _bioReqs.Add(_reqEnds.Count);
                bvecs = 0;
            }
            if (!contiguous)
                bvecs++;
            // __bio_split_to_limits: a part ends at the queue's page or segment limit (a bvec may be cut).
            bool newSegment = !contiguous || partPages == 0;
            if (partPages == QueueMaxPages || (newSegment && partSegs == QueueMaxSegments))
            {
                AddBioPart(j, ref partPages, ref partSegs, ref reqPages, ref reqSegs);
                newSegment = true;
            }
            partPages++;
            if (newSegment)
                partSegs++;
        }
        AddBioPart(pages, ref partPages, ref partSegs, ref reqPages, ref reqSegs);
        _bioEnds.Add(pages);
        _bioReqs.Add(_reqEnds.Count);
        _reqEnds.Add(pages); // blk_finish_plug: the last request goes too
        if (_dd is not null)
        {
            BlkMqInsertRequests(env, ref ractl, hasTarget, ref targetRun);
            return;
        }
        int from = 0;
        for (int b = 0; b < _bioEnds.Count; b++)
        {
            SubmitBio(env, ref ractl, from, _bioEnds[b], _reqEnds[_bioReqs[b]], env.Now, hasTarget, ref targetRun);
            from = _bioEnds[b];
        }
        _run.Clear();
    }

    /// <summary>
    /// blk_finish_plug → blk_mq_flush_plug_list with <c>machine.readahead_queue</c>: the plug's requests (<see cref="_reqEnds"/>)
    /// go into the data disk's scheduler together (<see cref="MqDeadline.Insert"/>, each at the sector of its first page:
    /// a file's pages lie on the disk in index order, file after file), then the queue runs. Each bio completes with the
    /// request holding its last part; the faulting page's request, when the batch holds it, is the fault's
    /// (<see cref="FaultIo.Request"/>). When the requests start and end is the scheduler's (<see cref="RequestStarted"/>).
    /// Measured on 6.18 (oracle/experiments/readahead-bios, session 21 mqdl): one request on virtio-blk at a time, the next
    /// held on hctx-&gt;dispatch; mq-deadline took a read other than the oldest queued one 2 times in 16 passes.
    /// Simplified: only readahead (and the faulting page read with it) queues here; single-page fault reads and swap I/O
    /// keep their own latency.
    /// </summary>
    private void BlkMqInsertRequests(SimEnvironment env, ref ReadaheadControl ractl, bool hasTarget, ref int targetRun)
    {
        Frame[] frames = _k.Zone.Frames;
        int file = 0;
        long first = 0;
        for (int j = 0; j < _run.Count; j++)
        {
            if (_run[j] >= 0)
            {
                file = frames[_run[j]].Mapping;
                first = frames[_run[j]].Index - j;
                break;
            }
        }
        _reqIds.Clear();
        int reqFrom = 0;
        foreach (int reqEnd in _reqEnds)
        {
            long id = _dd!.Insert(DiskSector(file, first + reqFrom), reqEnd - reqFrom, env.Now);
            DiskRequest rq = _rqPool.Get();
            _rqs.Add(id, rq);
            _reqIds.Add(id);
            reqFrom = reqEnd;
        }
        int from = 0;
        for (int b = 0; b < _bioEnds.Count; b++)
        {
            long id = _reqIds[_bioReqs[b]];
            long io = -1;
            bool target = false;
            int n = 0;
            for (int j = from; j < _bioEnds[b]; j++)
            {
                if (_run[j] >= 0)
                    n++;
                else
                    target = true;
            }
            if (target && ractl.BatchFault.Io >= 0 && ractl.BatchFault.Request < 0 && ractl.BatchFault.ReadyAt == 0)
                ractl.BatchFault = ractl.BatchFault with { Request = id };
            else if (target && hasTarget)
                targetRun = _reqEnds[_bioReqs[b]]; // no fault waits in the batch: the caller times the page alone
            if (n > 0)
            {
                int[] pfns = RentPfns(n);
                int k = 0;
                for (int j = from; j < _bioEnds[b]; j++)
                {
                    if (_run[j] >= 0)
                        pfns[k++] = _run[j];
                }
                io = _nextIo++;
                _inFlight.Add(io, new InFlightRead(pfns, ulong.MaxValue, false));
                _rqs[id].Bios.Add(io);
            }
            from = _bioEnds[b];
        }
        _run.Clear();
        _dd!.RunHwQueue(env.Now);
    }

    /// <summary>The data disk's sector of a file page, in pages: each file has its own range, its pages in index order.</summary>
    internal static long DiskSector(int file, long index) => ((long)file << 32) + index;

    /// <summary>The fault <paramref name="fault"/> goes on when the data disk's request holding its page completes (now if it has).</summary>
    private void FaultWhenRead(SimEnvironment env, FaultIo fault)
    {
        if (_rqs.TryGetValue(fault.Request, out DiskRequest? rq) && rq.Due == 0)
        {
            rq.Fault = fault; // still queued: RequestStarted schedules it
            return;
        }
        ulong at = rq is not null ? Math.Max(rq.Due, env.Now) : env.Now;
        env.ScheduleAt(at, new SimEvent(fault.Kind, fault.Process, fault.Io));
    }

    /// <summary>The data disk started request <paramref name="id"/>: its bios, and the fault waiting for its page, end at <paramref name="due"/>.</summary>
    public void RequestStarted(long id, ulong start, ulong due)
    {
        SimEnvironment env = _k.Env;
        DiskRequest rq = _rqs[id];
        rq.Due = due;
        ulong at = Math.Max(due, env.Now); // a request started inside a long reclaim (EndReadsCompletedBy) may be due already
        foreach (long io in rq.Bios)
        {
            ref InFlightRead read = ref CollectionsMarshal.GetValueRefOrNullRef(_inFlight, io);
            read = read with { Due = due };
            env.ScheduleAt(at, new SimEvent(_kind, default, io));
        }
        if (rq.Fault.Io >= 0)
            env.ScheduleAt(at, new SimEvent(rq.Fault.Kind, rq.Fault.Process, rq.Fault.Io));
        env.ScheduleAt(at, new SimEvent(_ddKind, default, id));
    }

    /// <summary>Request <paramref name="id"/> has left the data disk: its record goes back to the pool.</summary>
    public void RequestCompleted(long id)
    {
        if (_rqs.Remove(id, out DiskRequest? rq))
        {
            _rqPool.Return(rq);
        }
    }

    /// <summary>
    /// One part of a bio, ending before run page <paramref name="end"/>, into the plug: back-merged into its last request
    /// when the request stays within the queue's limits, else the start of a new request (the last one is then complete).
    /// </summary>
    private void AddBioPart(int end, ref int partPages, ref int partSegs, ref int reqPages, ref int reqSegs)
    {
        if (partPages == 0)
            return;
        if (reqPages > 0 && reqPages + partPages <= QueueMaxPages && reqSegs + partSegs <= QueueMaxSegments)
        {
            reqPages += partPages;
            reqSegs += partSegs;
        }
        else
        {
            if (reqPages > 0)
                _reqEnds.Add(end - partPages);
            reqPages = partPages;
            reqSegs = partSegs;
        }
        partPages = 0;
        partSegs = 0;
    }

    /// <summary>
    /// submit_bio for the run's pages [<paramref name="from"/>, <paramref name="to"/>): one bio, done with the request that
    /// ends at the run's page <paramref name="doneAt"/>, <see cref="Timing.TimingModel.DiskReadCycles"/>(doneAt) from now.
    /// </summary>
    private void SubmitBio(SimEnvironment env, ref ReadaheadControl ractl, int from, int to, int doneAt, ulong start, bool hasTarget, ref int targetRun)
    {
        int n = 0;
        bool target = false;
        for (int j = from; j < to; j++)
        {
            if (_run[j] >= 0)
                n++;
            else
                target = true;
        }
        if (target && hasTarget)
            targetRun = doneAt;
        if (target && ractl.BatchFault.Io >= 0 && ractl.BatchFault.ReadyAt == 0)
        {
            // The faulting page is in this batch (its window waited for reclaim before it was read): its read ends with
            // its bio; the fault goes on when that read and the window's loop have both ended (ContinuePending).
            ractl.BatchFault = ractl.BatchFault with { ReadyAt = start + (ulong)_k.Timing.DiskReadCycles(doneAt) };
        }
        if (n == 0)
            return;
        int[] pfns = RentPfns(n);
        int k = 0;
        for (int j = from; j < to; j++)
        {
            if (_run[j] >= 0)
                pfns[k++] = _run[j];
        }
        long io = _nextIo++;
        ulong cycles = start - env.Now + (ulong)_k.Timing.DiskReadCycles(doneAt);
        _inFlight.Add(io, new InFlightRead(pfns, env.Now + cycles, false));
        env.Schedule(cycles, new SimEvent(_kind, default, io));
    }

    /// <summary>An array of exactly <paramref name="n"/> page slots: a completed request's, or a new one while the pool warms up.</summary>
    private int[] RentPfns(int n) =>
        _freeLists.TryGetValue(n, out Stack<int[]>? free) && free.TryPop(out int[]? a) ? a : new int[n];

    /// <summary>Gives a completed request's page list back to the pool.</summary>
    private void ReturnPfns(int[] a)
    {
        ref Stack<int[]>? free = ref CollectionsMarshal.GetValueRefOrAddDefault(_freeLists, a.Length, out _);
        (free ??= new Stack<int[]>()).Push(a);
    }

    /// <summary>
    /// A page for readahead, with readahead_gfp_mask's rules as far as the pipeline allows: like any allocation it
    /// wakes kswapd below the low watermark and may go down to the min watermark (the slow path's ALLOC_WMARK_MIN,
    /// leaving the page-table reserve alone); where Linux would then reclaim once (__GFP_NORETRY) and retry, EcsMem's
    /// reclaim runs later in the tick, so the window ends here instead (docs/kernel.md).
    /// </summary>
    private int AllocReadaheadPage(ref ReadaheadControl ractl, int cpu, out Memcontrol.MemCgroup? overLimit)
    {
        overLimit = null;
        if (_k.Memcg is not { } mc)
            return AllocReadaheadFrame(cpu);
        // filemap_add_folio's mem_cgroup_charge: the page cache page is charged to the reading task's group.
        Memcontrol.MemCgroup memcg = ReaderGroup(mc, ractl);
        if (_k.Options.ChargeAfterAlloc)
        {
            // Linux's order (page_cache_ra_unbounded: filemap_alloc_folio, then filemap_add_folio's charge). A charge that
            // finds the group at its limit keeps the page (_uncharged): it waits, allocated and uncharged, through the
            // reclaim the charge makes, and the retried charge is its; the pages that reclaim frees go to the pages after it.
            int page = TakeHeldFolio(0, cpu);
            if (page < 0 && (page = AllocReadaheadFrame(cpu)) < 0)
                return -1;
            overLimit = mc.TryCharge(memcg, 1, cpu);
            if (overLimit is not null)
            {
                _uncharged = new Uncharged(page, 0);
                return -1;
            }
            mc.CommitCharge(page, memcg);
            return page;
        }
        // machine.charge_after_alloc false: charged first, the page allocated after the charge went through.
        overLimit = mc.TryCharge(memcg, 1, cpu);
        if (overLimit is not null)
            return -1;
        int pfn = AllocReadaheadFrame(cpu);
        if (pfn >= 0)
            mc.CommitCharge(pfn, memcg);
        else
            mc.Uncharge(memcg, 1);
        return pfn;
    }

    /// <summary>The reading task's memory cgroup (the root when the task is gone): the group its readahead pages are charged to.</summary>
    private Memcontrol.MemCgroup ReaderGroup(Memcontrol.MemcgController mc, in ReadaheadControl ractl) =>
        _k.World.IsAlive(ractl.Who) ? mc.OfMm(_k.Tasks.MmOf(ractl.Who).Id) : mc.Root;

    /// <summary>
    /// The page allocation of <see cref="AllocReadaheadPage"/>: kswapd woken below the low watermark, nothing below the
    /// min one (-1), else a frame pinned for the read until it completes, as the page lock and I/O reference hold it.
    /// </summary>
    private int AllocReadaheadFrame(int cpu)
    {
        var zone = _k.Zone;
        long free = zone.Buddy.NrFreePages;
        if (zone.Watermarks.BelowLow(free))
            _k.Env.Work<KswapdWakeup>().Add(default);
        if (zone.MustStall(free, needsFrame: true))
            return -1;
        int pfn = zone.AllocFrame(cpu);
        if (pfn >= 0)
            zone.PinFrame(pfn);
        return pfn;
    }

    /// <summary>filemap_add_folio + the start of the read: cached, on the LRU, locked until the I/O completes.</summary>
    private void AddToPageCache(SimEnvironment env, ref ReadaheadControl ractl, int file, long index, int pfn, int cpu)
    {
        ref Frame f = ref _k.Zone.Frames[pfn];
        f.Mapping = file;
        f.Index = index;
        f.ContentToken = PageCacheInsertSystem.FileContent(file, index);
        f.Flags |= FrameFlags.Locked;
        int shadow = _k.PageCache.Add(file, index, pfn);
        if (shadow >= 0)
            _k.LruvecOf(pfn)?.WorkingsetRefault(pfn, shadow);
        _k.Zone.LruAdd(pfn, PageAlloc.Zone.FileKey(file, index));
        env.Counters.Add(_k.C.PgPgIn, (long)(Pte.PageSize / 1024));
        env.Counters.Increment(_k.C.ReadaheadPages);
        PagesReadAhead++;
        // A readahead read has no fault of its own: its file_read event names the process that started it.
        _k.Events?.ReadAhead(_k.World.IsAlive(ractl.Who) ? _k.World.Get<Process>(ractl.Who).Pid : 0, cpu, 0, pfn, file, index);
    }

    /// <summary>The readahead request completed: its pages are uptodate and unlocked; faults waiting on them go on.</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        if (_dd is not null && ev.Kind == _ddKind)
        {
            _dd.Advance(env.EventTime); // the device's completion: the next request starts
            return;
        }
        if (ev.Arg0 < 0)
        {
            _k.PageWaits.WakeUpWindowWaiters(env, (int)ev.Arg0); // a window's loop ended: its fault goes on
            return;
        }
        if (!_inFlight.Remove(ev.Arg0, out InFlightRead read))
            throw new InvalidOperationException($"readahead completion for unknown request {ev.Arg0}");
        int[] pfns = read.Pfns;
        if (!read.Ended)
            FolioEndRead(pfns);
        Frame[] frames = _k.Zone.Frames;
        foreach (int pfn in pfns)
        {
            // A page ended early that had no waiter (a waiter pins it) may have been reclaimed and read again since,
            // locked under that other read: its waiters are that read's to wake.
            if (!read.Ended || (frames[pfn].Flags & FrameFlags.Locked) == 0)
                _k.PageWaits.WakeUpPageWaiters(env, pfn);
        }
        ReturnPfns(pfns);
    }

    /// <summary>Read requests <see cref="EndReadsCompletedBy"/> ended inside reclaim so far (for tests; no report shows it).</summary>
    public long ReadsEndedInReclaim { get; private set; }

    /// <summary>
    /// mpage_end_io → folio_end_read for the requests the disk has completed by <paramref name="now"/>, called while
    /// reclaim runs: the block layer's completion interrupts the reclaimer (blk_mq_complete_request from the device's
    /// interrupt, the bio's end_io in softirq context), so a reclaim round that takes long enough meets, at its later
    /// priority levels, pages it found locked under their read at its first (oracle/experiments/ra-fallback). The
    /// pages are unlocked now; the faults waiting on them are woken by the request's event, which is due by now too.
    /// </summary>
    public void EndReadsCompletedBy(ulong now)
    {
        _dd?.Advance(now); // the requests the disk has served by now, and those it started after them
        if (_inFlight.Count == 0)
            return;
        _completed.Clear();
        foreach (var kv in _inFlight)
        {
            if (!kv.Value.Ended && kv.Value.Due <= now)
                _completed.Add(kv.Key);
        }
        foreach (long io in _completed)
        {
            ref InFlightRead read = ref CollectionsMarshal.GetValueRefOrNullRef(_inFlight, io);
            FolioEndRead(read.Pfns);
            read = read with { Ended = true };
            ReadsEndedInReclaim++;
        }
    }

    /// <summary>folio_end_read: the request's pages are uptodate and unlocked, and the read's reference is dropped.</summary>
    private void FolioEndRead(int[] pfns)
    {
        foreach (int pfn in pfns)
        {
            _k.Dirty?.Frame(pfn);
            _k.Zone.Frames[pfn].Flags &= ~FrameFlags.Locked;
            _k.Zone.UnpinFrame(pfn);
        }
    }

    /// <summary>page_cache_prev_miss: the first uncached index scanning down from <paramref name="index"/> (at most <paramref name="maxScan"/>).</summary>
    private long PrevMiss(int file, long index, long maxScan, out bool wrapped)
    {
        wrapped = false;
        for (long n = 0; n < maxScan; n++, index--)
        {
            if (index < 0)
            {
                wrapped = true;
                return -1;
            }
            if (_k.PageCache.Find(file, index) < 0)
                return index;
        }
        return index;
    }

    /// <summary>page_cache_next_miss: the first uncached index from <paramref name="index"/> up (at most <paramref name="maxScan"/>).</summary>
    private long NextMiss(int file, long index, long maxScan)
    {
        for (long n = 0; n < maxScan; n++, index++)
        {
            if (_k.PageCache.Find(file, index) < 0)
                return index;
        }
        return index;
    }

    /// <summary>
    /// do_fault_around → filemap_map_pages (Linux 6.18) for a read fault at <paramref name="va"/> (file page
    /// <paramref name="index"/>) in <paramref name="vma"/>: maps the cached, uptodate (unlocked), unmarked pages of the
    /// fault_around_bytes window — aligned down to its size, clipped to the VMA, the PTE page and the file's end — into
    /// PTEs still none. A large folio the window reaches is mapped whole when it lies inside the VMA and one page
    /// table and ends before the file's last page (filemap_map_folio_range, 357b92761d94; the i_size test of
    /// 74207de2ba10); see <see cref="CanMapWholeFolio"/>. Linux on x86 maps them young (vm_page_prot carries
    /// _PAGE_ACCESSED and x86 does not define arch_wants_old_prefaulted_pte). Each page considered pays off one mmap miss.
    /// The faulting task <paramref name="current"/> maps them (and would reclaim for a table the mapping allocated;
    /// the window stays inside the fault's own PTE page, which the fault's start allocated).
    /// </summary>
    public void FaultAround(MmState mm, in Vma vma, ulong va, long index, ulong prot, Entity current)
    {
        int nrPages = _k.Options.FaultAroundPages;
        if (nrPages <= 1 || (vma.Flags & (VmFlags.UffdWp | VmFlags.UffdMissing)) != 0)
            return;
        long ptrsPerPte = mm.Mm.Mode.EntriesPerTable;
        long pteOff = (long)((va >> Pte.PageShift) & (ulong)(ptrsPerPte - 1));
        long vmaOff = index - (long)vma.PgOff;
        long vmaPages = (long)((vma.End - vma.Start) >> Pte.PageShift);
        long fromPte = Math.Max(pteOff / nrPages * nrPages, pteOff - Math.Min(pteOff, vmaOff));
        long toPte = Math.Min(Math.Min(fromPte + nrPages, ptrsPerPte), pteOff + vmaPages - vmaOff) - 1;
        long first = index + fromPte - pteOff;
        long filePages = FilePages(vma.FileId);
        long last = Math.Min(index + toPte - pteOff, filePages - 1);
        int file = vma.FileId;
        int considered = 0;
        Frame[] frames = _k.Zone.Frames;
        for (long i = first; i <= last; i++)
        {
            int pfn = _k.PageCache.Find(file, i);
            if (pfn < 0)
                continue;
            if (frames[pfn].FolioOrder != 0 && CanMapWholeFolio(mm, vma, va, index, i, pfn, filePages, ptrsPerPte))
            {
                // filemap_map_folio_range: the whole folio, from its first page to its last, beyond the window.
                int head = PageCacheFolio.Head(frames, pfn), nr = PageCacheFolio.NrPages(frames, pfn);
                long headIndex = i - (pfn - head);
                for (int p = 0; p < nr; p++)
                    considered += MapAround(mm, va, index, headIndex + p, head + p, prot, current);
                i = headIndex + nr - 1;
                continue;
            }
            considered += MapAround(mm, va, index, i, pfn, prot, current);
        }
        ref FileRaState ra = ref Ra(mm.Id, file);
        ra.MmapMiss = Math.Max(0, ra.MmapMiss - considered);
    }

    /// <summary>
    /// filemap_map_pages' step for one page <paramref name="pfn"/> (file page <paramref name="i"/>): mapped unless locked,
    /// marked, under writeback or mapped already. Returns 1 when it pays off an mmap miss: a page considered whose folio
    /// is not PG_workingset (filemap_map_folio_range, since "mm/filemap: don't decrease mmap_miss when folio has
    /// workingset flag": recently evicted pages coming back are no sign that read-around helps).
    /// </summary>
    private int MapAround(MmState mm, ulong va, long index, long i, int pfn, ulong prot, Entity current)
    {
        FrameFlags flags = _k.Zone.Frames[pfn].Flags;
        if ((flags & (FrameFlags.Locked | FrameFlags.Readahead | FrameFlags.Writeback)) != 0)
            return 0;
        int miss = (flags & FrameFlags.Workingset) != 0 ? 0 : 1;
        ulong addr = va + (ulong)((i - index) << Pte.PageShift);
        if (i == index || mm.Tables.Lookup(addr) != 0)
            return miss;
        _k.Memory.MapPage(mm, addr, pfn, prot, current);
        _k.Env.Counters.Increment(_k.C.FaultAroundPages);
        FaultAroundMapped++;
        return miss;
    }

    /// <summary>
    /// Whether the read fault at <paramref name="va"/> (page <paramref name="index"/>) maps the whole large folio holding
    /// page <paramref name="i"/> (frame <paramref name="pfn"/>). filemap_map_folio_range (Linux 6.18): when the folio lies
    /// inside the VMA and inside one page table and its next index is at most the file's last page
    /// (<c>file_end &gt;= folio_next_index(folio)</c>: the folio that reaches i_size goes by the window's pages). A
    /// PMD-sized folio over a page-table range with nothing mapped yet is mapped by a PMD in Linux (filemap_map_pmd, or
    /// for the folio that reaches i_size finish_fault's do_set_pmd, whose i_size test counts pages rounded up): here
    /// its 512 pages are mapped by PTEs in that one fault (a simplification: no PMD-mapped page-cache folios).
    /// </summary>
    private bool CanMapWholeFolio(MmState mm, in Vma vma, ulong va, long index, long i, int pfn, long filePages, long ptrsPerPte)
    {
        Frame[] frames = _k.Zone.Frames;
        int head = PageCacheFolio.Head(frames, pfn), nr = PageCacheFolio.NrPages(frames, pfn);
        long headIndex = i - (pfn - head), next = headIndex + nr;
        // folio_within_vma.
        long vmaPages = (long)((vma.End - vma.Start) >> Pte.PageShift);
        if (headIndex < (long)vma.PgOff || next > (long)vma.PgOff + vmaPages)
            return false;
        // One page table: the folio's first and last addresses under the same PMD.
        ulong addr0 = va - (ulong)((index - headIndex) << Pte.PageShift);
        ulong pmdMask = ~((ulong)ptrsPerPte * Pte.PageSize - 1);
        if ((addr0 & pmdMask) != ((addr0 + (ulong)nr * Pte.PageSize - 1) & pmdMask))
            return false;
        if (filePages - 1 >= next)
            return true;
        // The folio reaching i_size: only a PMD-mappable one, over a range where the faulting page is all that is mapped.
        if (nr != ptrsPerPte || filePages < next || (addr0 & ~pmdMask) != 0)
            return false;
        for (int p = 0; p < nr; p++)
        {
            ulong a = addr0 + (ulong)p * Pte.PageSize;
            if (a != va && mm.Tables.Lookup(a) != 0)
                return false;
        }
        return true;
    }

    /// <summary>
    /// mapping_try_invalidate over [first, last] of <paramref name="file"/> (all files when -1; invalidate_mapping_pages):
    /// drops every folio that is clean, unmapped, unlocked and holds no reference besides the page cache's
    /// (mapping_evict_folio: a fault in flight's, or a per-CPU batch's — a folio still in an lru_add batch is refused
    /// like any other busy one; the callers drain the batches first). A large folio goes whole or not at all, and only
    /// when it lies wholly in the range (find_lock_entries). Returns the pages dropped; <paramref name="failed"/> counts
    /// the folios in the range mapping_evict_folio refused (dirty, mapped or referenced; locked ones and those under
    /// writeback are skipped, not counted), fadvise's reason to drain every CPU and try again.
    /// </summary>
    public long Invalidate(int file, long first, long last, out int failed)
    {
        var victims = new List<(int File, long Index, int Pfn)>();
        Frame[] frames = _k.Zone.Frames;
        failed = 0;
        foreach (var e in _k.PageCache.Entries())
        {
            if ((file >= 0 && (e.File != file || e.Index < first || e.Index > last)))
                continue;
            if (frames[e.Pfn].FolioOrder != 0)
            {
                int head = PageCacheFolio.Head(frames, e.Pfn), nr = PageCacheFolio.NrPages(frames, e.Pfn);
                if (e.Pfn != head)
                    continue;
                long headIndex = e.Index;
                if (file >= 0 && headIndex + nr - 1 > last)
                    continue; // find_lock_entries omits a folio reaching past the range
                if (Skipped(head))
                    continue;
                bool whole = true;
                for (int p = head; whole && p < head + nr; p++)
                    whole = Droppable(p);
                if (!whole)
                {
                    failed++;
                    continue;
                }
                for (int p = head; p < head + nr; p++)
                    victims.Add((e.File, headIndex + (p - head), p));
                continue;
            }
            if (Skipped(e.Pfn))
                continue;
            if (!Droppable(e.Pfn))
            {
                failed++;
                continue;
            }
            victims.Add(e);
        }
        foreach (var (f, i, pfn) in victims)
        {
            if (frames[pfn].FolioOrder != 0 && (frames[pfn].Flags & FrameFlags.Lru) != 0)
                _k.Zone.LruDel(pfn); // a large folio leaves the LRU whole, before any of its pages is freed
            // ... and is freed whole (folio_put → free_unref_folios): its pages follow in the list, head first.
            if (frames[pfn].FolioOrder != 0 && PageCacheFolio.Head(frames, pfn) == pfn)
                _k.Zone.BeginFolioFree(pfn, frames[pfn].FolioOrder);
            _k.PageCache.Delete(f, i);
            _k.Zone.FreeFrame(pfn, _k.Tlb.CurrentCpu);
        }
        return victims.Count;
    }

    /// <summary>
    /// generic_fadvise POSIX_FADV_DONTNEED's invalidation of pages [<paramref name="first"/>, <paramref name="last"/>] of
    /// <paramref name="file"/>, from <paramref name="cpu"/>: lru_add_drain (that CPU's batches: "common to FADV_DONTNEED
    /// right after the read or write"), mapping_try_invalidate, and if it refused any folio, lru_add_drain_all and
    /// invalidate_mapping_pages again (a remote CPU's batch may have held it). Returns the pages dropped.
    /// </summary>
    public long DontNeed(int file, long first, long last, int cpu)
    {
        _k.LruAddDrainCpu(cpu);
        long dropped = Invalidate(file, first, last, out int failed);
        if (failed > 0)
        {
            _k.LruAddDrainAll();
            dropped += Invalidate(file, first, last, out _);
        }
        return dropped;
    }

    /// <summary>find_lock_entries passes over a folio it cannot lock (folio_trylock) or that is under writeback.</summary>
    private bool Skipped(int pfn) => (_k.Zone.Frames[pfn].Flags & (FrameFlags.Locked | FrameFlags.Writeback)) != 0;

    /// <summary>
    /// mapping_evict_folio's tests: clean, unmapped, no reference but the page cache's (folio_ref_count: a fault in flight's
    /// pin, a per-CPU batch's), not under writeback (a memfd's pages, its only copy, never go).
    /// </summary>
    private bool Droppable(int pfn)
    {
        ref Frame f = ref _k.Zone.Frames[pfn];
        return f.MapCount == 0 && _k.Zone.Pins[pfn] == 0
            && (f.Flags & (FrameFlags.Dirty | FrameFlags.Locked | FrameFlags.Writeback | FrameFlags.Shmem)) == 0;
    }

    /// <summary>
    /// madvise_willneed (mm/madvise.c) for [start, end) inside the file VMA <paramref name="v"/>: vfs_fadvise
    /// WILLNEED on the file range it maps (nothing for anonymous VMAs here: swap readahead is not part of this call
    /// yet). The walk over the VMAs, the argument checks and the other advices are AddressSpace.Madvise's.
    /// </summary>
    public void MadviseWillNeed(SimEnvironment env, Entity who, int mmId, in Vma v, ulong start, ulong end, int cpu)
    {
        // A shmem file has nothing to read from a disk (shmem_swapin_range's swap-ins are not modelled: a simplification).
        if (v.FileId < 0 || _k.OpenFiles.IsShmem(v.FileId))
            return;
        var ractl = new ReadaheadControl(who, FaultIo.None);
        NoteFileExtent(v.FileId, (long)(v.PgOff + ((v.End - v.Start) >> Pte.PageShift)));
        long first = (long)(v.PgOff + ((start - v.Start) >> Pte.PageShift));
        long last = (long)(v.PgOff + ((end - 1 - v.Start) >> Pte.PageShift));
        WillNeed(env, ref ractl, mmId, v.FileId, first, last - first + 1, cpu);
    }

    /// <summary>
    /// generic_fadvise (mm/fadvise.c) on the process's open <paramref name="file"/>: NORMAL/RANDOM/SEQUENTIAL set
    /// ra_pages and FMODE_RANDOM; WILLNEED reads [offset, offset+len) (len 0: to the end) with
    /// force_page_cache_readahead; DONTNEED drops the clean, unmapped, unlocked pages lying wholly inside the range
    /// (dirty pages are not written back first: a simplification).
    /// </summary>
    public long Fadvise(SimEnvironment env, Entity who, int mmId, int file, long offset, long len, Scenarios.FadviseAdvice advice, int cpu)
    {
        if (offset < 0 || len < 0)
            return -AddressSpace.Errno.EINVAL;
        // generic_fadvise on shmem (memfd, tmpfs: noop_backing_dev_info): every advice is accepted and ignored.
        if (_k.OpenFiles.IsShmem(file))
            return 0;
        ulong endbyte = (ulong)offset + (ulong)len;
        if (len == 0 || endbyte < (ulong)len || endbyte > long.MaxValue)
            endbyte = long.MaxValue;
        else
            endbyte--; // inclusive
        ref FileRaState ra = ref Ra(mmId, file);
        switch (advice)
        {
            case Scenarios.FadviseAdvice.Normal:
                ra.RaPages = _k.Options.RaPages;
                ra.Random = false;
                break;
            case Scenarios.FadviseAdvice.Random:
                ra.Random = true;
                break;
            case Scenarios.FadviseAdvice.Sequential:
                ra.RaPages = 2L * _k.Options.RaPages;
                ra.Random = false;
                break;
            case Scenarios.FadviseAdvice.WillNeed:
                {
                    long startIndex = offset >> Pte.PageShift;
                    long endIndex = (long)(endbyte >> Pte.PageShift);
                    var ractl = new ReadaheadControl(who, FaultIo.None);
                    ForcePageCacheRa(env, ref ractl, ref ra, file, startIndex, endIndex - startIndex + 1, -1, cpu);
                    break;
                }
            case Scenarios.FadviseAdvice.DontNeed:
                {
                    // Only whole pages inside the range go: round the start up and the end down.
                    long startIndex = (long)(((ulong)offset + Pte.PageSize - 1) >> Pte.PageShift);
                    long endIndex = (long)(endbyte >> Pte.PageShift);
                    if ((endbyte & (Pte.PageSize - 1)) != Pte.PageSize - 1)
                    {
                        if (endIndex == 0)
                            break;
                        endIndex--;
                    }
                    if (endIndex >= startIndex)
                        DontNeed(file, startIndex, endIndex, cpu);
                    break;
                }
        }
        return 0;
    }

    /// <summary>
    /// drop_caches_sysctl_handler: bit 1 drains every CPU's batches (lru_add_drain_all) and then drops the clean, unmapped
    /// page cache of every file (drop_pagecache_sb → invalidate_mapping_pages); bit 2 (slab) has nothing to drop here.
    /// </summary>
    public long DropCaches(int value)
    {
        if ((value & 1) != 0)
        {
            _k.LruAddDrainAll();
            Invalidate(-1, 0, long.MaxValue, out _);
        }
        return 0;
    }
}
