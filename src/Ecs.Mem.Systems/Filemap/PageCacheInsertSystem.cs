using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.Filemap;

/// <summary>
/// ③/⑥ Inserts freshly allocated frames into the page cache (file reads, add_to_page_cache_lru) or the swap
/// cache (swap-ins, add_to_swap_cache) and starts the disk read. The process sleeps until the read
/// completes (an event in simulated time), while the others run; at completion the page is unlocked and
/// its PTE installed.
/// </summary>
public sealed class PageCacheInsertSystem : ISystem, IEventHandler
{
    private readonly Kernel.Kernel _kernel;
    private readonly Dictionary<long, FaultRecord> _inFlight = new();
    private long _nextIo;
    private readonly int _ioDoneKind;

    public PageCacheInsertSystem(Kernel.Kernel kernel, SimEnvironment env)
    {
        _kernel = kernel;
        _ioDoneKind = env.RegisterEventKind("io-complete", this);
    }

    public string Name => "page-cache-insert";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<PageCacheInsertRequest>();

    /// <summary>Reads in flight (pages locked for I/O).</summary>
    public int InFlight => _inFlight.Count;

    public void Update(SimEnvironment env)
    {
        // Readahead windows cut short by a failed allocation go on after last tick's direct reclaim.
        _kernel.Readahead.ContinuePending(env);
        foreach (ref readonly PageCacheInsertRequest r in env.WorkItems<PageCacheInsertRequest>())
            Insert(env, r.Fault);
    }

    private void Insert(SimEnvironment env, FaultRecord rec)
    {
        var k = _kernel;
        k.Smp.Enter(rec.Cpu);
        // Another fault of the same batch (another CPU, same page) may have inserted the page already.
        int cached = rec.Class == FaultClass.FileRead ? k.PageCache.Find(rec.File, rec.FileIndex) : k.SwapCache.Lookup(rec.SwapSlot);
        bool shmemSwapin = rec.Class == FaultClass.FileRead && rec.SwapSlot > 0;
        if (cached < 0 && shmemSwapin && k.SwapCache.Lookup(rec.SwapSlot) is int sc and >= 0)
        {
            // Another fault's readahead of this tick took the slot into the swap cache: the page goes to the object.
            k.OpenFiles.ShmemSwapin(sc, rec.File, rec.FileIndex, rec.SwapSlot, inSwapCache: true);
            cached = sc;
        }
        // The faulting page itself, which swapin_readahead's loop took into the swap cache in slot order.
        bool ownSwapin = rec.Class == FaultClass.SwapRead && cached == rec.Pfn;
        if (cached >= 0 && !ownSwapin)
        {
            rec.SwapSlot = 0;
            LostRace(env, ref rec, cached);
            return;
        }
        ref Frame f = ref k.Zone.Frames[rec.Pfn];
        bool zero = false;
        if (shmemSwapin)
        {
            // shmem_swapin_folio's read: the slot's content comes back into the object's page cache (the swap copy is
            // freed at once: shmem keeps no swap cache of a page it holds), dirty, on the anon LRU.
            k.Dirty?.Frame(rec.Pfn);
            zero = k.SwapReadahead.SwapReadFolio(rec.Pfn, rec.SwapSlot);
            k.OpenFiles.ShmemSwapin(rec.Pfn, rec.File, rec.FileIndex, rec.SwapSlot, inSwapCache: false);
            k.Zone.LruAdd(rec.Pfn, Zone.FileKey(rec.File, rec.FileIndex));
        }
        else if (rec.Class == FaultClass.FileRead)
        {
            f.Mapping = rec.File;
            f.Index = rec.FileIndex;
            f.ContentToken = FileContent(rec.File, rec.FileIndex);
            int shadow = k.PageCache.Add(rec.File, rec.FileIndex, rec.Pfn);
            if (shadow >= 0)
                k.LruvecOf(rec.Pfn)?.WorkingsetRefault(rec.Pfn, shadow);
            k.Zone.LruAdd(rec.Pfn, Zone.FileKey(rec.File, rec.FileIndex));
        }
        else if (ownSwapin)
            zero = (f.Flags & FrameFlags.ZeroFilled) != 0;
        else
            zero = k.SwapReadahead.AddFaultingFolio(rec);
        f.Flags |= FrameFlags.Locked; // PG_locked while the read is in flight
        if (rec.Class == FaultClass.FileRead && !shmemSwapin)
            env.Counters.Add(k.C.PgPgIn, (long)(Pte.PageSize / 1024)); // a swap-in's pgpgin: SwapReadFolio
        // do_sync_mmap_readahead: the window around a file page joins its read (one request per run of new pages).
        long io = _nextIo++;
        // 0: the window the page is read with waits for a reclaim round; the readahead submits the request later.
        FaultRead read = rec.Class == FaultClass.FileRead && !shmemSwapin ? SyncReadahead(env, rec, io) : new FaultRead(1);
        int pages = read.Pages;
        rec.IoStart = env.Now;
        k.Events?.Read(rec);
        _inFlight.Add(io, rec);
        ref Process p = ref k.World.Get<Process>(rec.Process);
        p.State = ProcessState.SleepingIo;
        // A zeromap swap-in is uptodate at once (swap_read_folio_zeromap: no bio); the fault goes on next.
        // Otherwise the task sleeps on the folio lock: a switch, so rseq_preempt.
        if (!zero)
            Task.Rseq.RseqPreempt(k, rec.Process);
        if (pages > 0)
            env.Schedule(zero ? 1UL : (ulong)k.Timing.DiskReadCycles(pages), new SimEvent(_ioDoneKind, rec.Process, io));
    }

    /// <summary>The faulting page's VMA decides the readahead (VM_RAND_READ, VM_SEQ_READ); returns its request's pages and queue wait.</summary>
    private FaultRead SyncReadahead(SimEnvironment env, in FaultRecord rec, long io)
    {
        MmState? mm = _kernel.Tasks.MmById(rec.MmId);
        int vi = mm?.Mm.Vmas.FindVma(rec.Va) ?? -1;
        if (mm is null || vi < 0 || mm.Mm.Vmas[vi].Start > rec.Va)
            return new FaultRead(1);
        return _kernel.Readahead.SyncMmapReadahead(env, rec.Process, rec.MmId, rec.File, rec.FileIndex, mm.Mm.Vmas[vi].Flags, rec.Pfn, rec.Cpu, new FaultIo(_ioDoneKind, rec.Process, io));
    }

    /// <summary>
    /// Two faults of one batch missed the cache for the same page and the other one's insert came first: as
    /// when filemap_add_folio or swapcache_prepare fails with -EEXIST, this fault gives its new frame back and
    /// looks again — it finds the other read's page locked and sleeps on it, then goes on as a cache hit (a
    /// minor fault; a private write copies the page once it is read, as do_cow_fault does).
    /// </summary>
    private void LostRace(SimEnvironment env, ref FaultRecord rec, int cached)
    {
        var k = _kernel;
        k.Zone.UnpinFrame(rec.Pfn);
        k.Zone.FreeFrame(rec.Pfn, rec.Cpu);
        rec.Pfn = -1;
        rec.Major = false;
        ref ProcessStats stats = ref k.World.Get<ProcessStats>(rec.Process);
        bool needsFrame;
        if (rec.Class == FaultClass.FileRead)
        {
            stats.PageCacheHits++;
            env.Counters.Increment(k.C.PageCacheHit);
            needsFrame = rec.CopyAfterRead;
            rec.Class = needsFrame ? FaultClass.CowCopy : FaultClass.FileCached;
            rec.CopyAfterRead = false;
        }
        else
        {
            stats.SwapCacheHits++;
            env.Counters.Increment(k.C.SwapCacheHit);
            needsFrame = false;
            rec.Class = FaultClass.SwapCached;
        }
        if (needsFrame)
            rec.SourcePfn = cached;
        else
            rec.Pfn = cached;
        k.Zone.PinFrame(cached);
        // The other read was started in this tick, so its page is still locked: wait for it like any cache hit on
        // a page under I/O (the wake-up hands the fault back to the allocator).
        if ((k.Zone.Frames[cached].Flags & FrameFlags.Locked) == 0)
            throw new InvalidOperationException($"page in frame {cached} was inserted by this tick's batch but is not locked for its read");
        k.PageWaits.WaitOnPageLocked(cached, new AllocRequest(rec, needsFrame));
    }

    /// <summary>The disk read finished: unlock the page and hand the fault to the page-table rewrite.</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        if (!_inFlight.Remove(ev.Arg0, out FaultRecord rec))
            throw new InvalidOperationException($"I/O completion for unknown request {ev.Arg0}");
        var k = _kernel;
        k.Zone.Frames[rec.Pfn].Flags &= ~FrameFlags.Locked;
        k.PageWaits.WakeUpPageWaiters(env, rec.Pfn);
        if (!k.Tasks.IsIn(rec.Process, ProcessState.SleepingIo))
        {
            // The process was killed while it slept: a file page stays cached; a swap-cache page whose entry
            // the exit already dropped is freed with its slot (ReleaseIfUnused).
            k.Events?.Fault(rec, Events.FaultOutcome.Dropped);
            k.Zone.UnpinFrame(rec.Pfn);
            k.Memory.ReleaseIfUnused(rec.Pfn);
            k.Zone.ReleaseTables(rec.TablesReserved);
            return;
        }
        ref Process p = ref k.World.Get<Process>(rec.Process);
        p.State = ProcessState.Faulting;
        rec.NotBefore = env.EventTime;
        k.World.Get<ProcessStats>(rec.Process).IoWaitCycles += (long)(env.Now - rec.IoStart);
        if (rec.CopyAfterRead)
        {
            // do_cow_fault: the page just read is the source of the private copy the write needs; its pin
            // now holds it as the copy's source until the copy is mapped.
            rec.Class = FaultClass.CowCopy;
            rec.SourcePfn = rec.Pfn;
            rec.Pfn = -1;
            env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
            return;
        }
        env.Work<PteInstall>().Add(new PteInstall(rec));
    }

    /// <summary>Stand-in for a file page's data: a fixed mix of file and page index, the same every read.</summary>
    public static ulong FileContent(int file, long index)
    {
        ulong z = ((ulong)(uint)file << 40) ^ (ulong)index ^ 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
