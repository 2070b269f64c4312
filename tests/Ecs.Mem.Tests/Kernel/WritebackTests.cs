using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using NUnit.Framework;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Writeback in simulated time (PageWriteback/Writeback.cs) and shrink_folio_list's handling of pages under writeback
/// (mm/vmscan.c): each expected value is worked out from the kernel's rules next to its assertion.
/// </summary>
public class WritebackTests
{
    /// <summary>A host of a few frames: nothing is young, reclaim of a clean page succeeds, and it can wait on a write.</summary>
    private sealed class Host : ILruvecHost
    {
        public Host(int frames)
        {
            Frames = new Frame[frames];
            for (int i = 0; i < frames; i++) Frames[i] = Frame.Fresh(i);
        }

        public Frame[] Frames { get; }
        public List<int> Reclaimed { get; } = new();
        public List<int> Waited { get; } = new();
        public int CurrentCpu => 0;
        public bool SwapSpaceLeft => true;
        public bool HasSwap => true;
        public long FreePages => 1000;
        public long HighWatermark => 10;
        public bool IsPinned(int pfn) => false;

        public int FolioReferenced(int pfn, out VmFlags vmFlags)
        {
            vmFlags = VmFlags.None;
            return 0;
        }

        public FolioReclaimResult ReclaimFolio(int pfn, FolioReferences references, out bool pageout)
        {
            pageout = false;
            // A dirty page-cache page: 6.18 reclaim writes no filesystem folio, it sets PG_reclaim and activates it.
            if (FolioDirtyFile(pfn))
            {
                Frames[pfn].Flags |= FrameFlags.Reclaim;
                return FolioReclaimResult.Activate;
            }
            Reclaimed.Add(pfn);
            return FolioReclaimResult.Reclaimed;
        }

        // folio_check_dirty_writeback's dirty file page: not swap-backed, PG_dirty, not under writeback.
        public bool FolioDirtyFile(int pfn) =>
            (Frames[pfn].Flags & (FrameFlags.SwapBacked | FrameFlags.Dirty | FrameFlags.Writeback)) == FrameFlags.Dirty;

        public int FlusherWakeups { get; private set; }
        public int Throttles { get; private set; }

        public void WakeupFlusherThreads() => FlusherWakeups++;

        public void ReclaimThrottleWriteback() => Throttles++;

        public void ActivateLocked(int pfn) { }

        // folio_wait_writeback: the write ends while the reclaimer sleeps.
        public bool WaitOnWriteback(int pfn)
        {
            Waited.Add(pfn);
            Frames[pfn].Flags &= ~(FrameFlags.Writeback | FrameFlags.Reclaim);
            return true;
        }
    }

    private Host _host = null!;
    private Lruvec _lv = null!;
    private CounterRegistry _counters = null!;

    private void Make(int frames)
    {
        _host = new Host(frames);
        _counters = new CounterRegistry();
        _lv = new Lruvec(_host, _counters, new KernelCounters(_counters), 1);
        _lv.Initialize(frames);
    }

    private void AddAnon(int pfn, FrameFlags extra = FrameFlags.None)
    {
        _host.Frames[pfn].Flags |= FrameFlags.Lru | FrameFlags.Anon | FrameFlags.SwapBacked | FrameFlags.SwapCache | extra;
        _lv.OnInserted(pfn, (ulong)pfn);
        _lv.LruAddDrain();
    }

    private long Count(string name) => _counters.All().First(kv => kv.Key == name).Value;

    /// <summary>One reclaim pass over everything (priority 0 scans whole lists).</summary>
    private ScanControl Shrink(bool kswapd = false, bool sane = true, bool pgdatWriteback = false)
    {
        var sc = new ScanControl();
        sc.Reset(kswapd, 32, 60);
        sc.Priority = 0;
        sc.WritebackThrottlingSane = sane;
        sc.PgdatWriteback = pgdatWriteback;
        _lv.ShrinkLruvec(sc);
        return sc;
    }

    [Test]
    public void GlobalReclaimMarksAPageUnderWritebackForReclaimAndActivatesIt()
    {
        // Case 2 (writeback_throttling_sane): PG_reclaim set, nr_writeback counted, activate_locked; nothing reclaimed.
        Make(4);
        AddAnon(0, FrameFlags.Writeback);
        AddAnon(1);
        ScanControl sc = Shrink();
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 1 }), "only the clean page goes");
        Assert.That(sc.NrWriteback, Is.EqualTo(1));
        Assert.That(_host.Frames[0].Flags & (FrameFlags.Reclaim | FrameFlags.Writeback), Is.EqualTo(FrameFlags.Reclaim | FrameFlags.Writeback));
        Assert.That(Count("pgactivate"), Is.EqualTo(1), "activate_locked counts pgactivate");
        Assert.That(_host.Waited, Is.Empty);
    }

    [Test]
    public void CgroupV1ReclaimWaitsOnAPageAlreadyMarkedForReclaimThenReclaimsIt()
    {
        // Case 3: memcg reclaim under cgroup v1 (not sane) meets a PG_reclaim page under writeback: folio_wait_writeback,
        // then the same page again, now clean, is reclaimed.
        Make(4);
        AddAnon(0, FrameFlags.Writeback | FrameFlags.Reclaim);
        ScanControl sc = Shrink(sane: false);
        Assert.That(_host.Waited, Is.EqualTo(new[] { 0 }));
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 0 }));
        Assert.That(sc.NrWriteback, Is.Zero);
        // Its first encounter (no PG_reclaim yet) does not wait even under v1: the flag is set and the page activated.
        Make(4);
        AddAnon(0, FrameFlags.Writeback);
        sc = Shrink(sane: false);
        Assert.That(_host.Waited, Is.Empty);
        Assert.That(_host.Reclaimed, Is.Empty);
        Assert.That(sc.NrWriteback, Is.EqualTo(1));
    }

    private void AddFile(int pfn, FrameFlags extra = FrameFlags.None)
    {
        _host.Frames[pfn].Flags |= FrameFlags.Lru | extra;
        _lv.OnInserted(pfn, (ulong)pfn);
        _lv.LruAddDrain();
    }

    [Test]
    public void CgroupV1ReclaimThatTookOnlyUnqueuedDirtyPagesWakesTheFlusherAndThrottles()
    {
        // shrink_inactive_list: stat.nr_unqueued_dirty == nr_taken → wakeup_flusher_threads(WB_REASON_VMSCAN), and
        // for cgroup v1 memcg reclaim (!writeback_throttling_sane) reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK).
        Make(4);
        for (int i = 0; i < 4; i++) AddFile(i, FrameFlags.Dirty);
        ScanControl sc = Shrink(sane: false);
        Assert.That(_host.Reclaimed, Is.Empty, "every page dirty: none freed");
        Assert.That(_host.FlusherWakeups, Is.EqualTo(1));
        Assert.That(_host.Throttles, Is.EqualTo(1));
        Assert.That(Count("pgactivate"), Is.EqualTo(4), "each activated with PG_reclaim for the flusher");
        // writeback_throttling_sane (global reclaim, cgroup v2): the flusher is woken, the reclaimer goes on.
        Make(4);
        for (int i = 0; i < 4; i++) AddFile(i, FrameFlags.Dirty);
        Shrink(sane: true);
        Assert.That((_host.FlusherWakeups, _host.Throttles), Is.EqualTo((1, 0)));
        // One clean page among those taken: nr_unqueued_dirty (3) < nr_taken (4), neither.
        Make(4);
        for (int i = 0; i < 3; i++) AddFile(i, FrameFlags.Dirty);
        AddFile(3);
        Shrink(sane: false);
        Assert.That((_host.FlusherWakeups, _host.Throttles), Is.EqualTo((0, 0)));
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 3 }));
        // A dirty page already under writeback is queued, not unqueued: all taken under writeback, neither.
        Make(4);
        for (int i = 0; i < 4; i++) AddFile(i, FrameFlags.Dirty | FrameFlags.Writeback);
        Shrink(sane: false);
        Assert.That((_host.FlusherWakeups, _host.Throttles), Is.EqualTo((0, 0)));
    }

    [Test]
    public void KswapdCountsImmediateReclaimWhenTheNodeIsFlaggedWriteback()
    {
        // Case 1: kswapd, PG_reclaim and PGDAT_WRITEBACK: nr_immediate (and activate), not nr_writeback.
        Make(4);
        AddAnon(0, FrameFlags.Writeback | FrameFlags.Reclaim);
        ScanControl sc = Shrink(kswapd: true, pgdatWriteback: true);
        Assert.That(sc.NrImmediate, Is.EqualTo(1));
        Assert.That(sc.NrWriteback, Is.Zero);
        // Without the node flag it is case 2.
        Make(4);
        AddAnon(0, FrameFlags.Writeback | FrameFlags.Reclaim);
        sc = Shrink(kswapd: true, pgdatWriteback: false);
        Assert.That(sc.NrImmediate, Is.Zero);
        Assert.That(sc.NrWriteback, Is.EqualTo(1));
    }

    [Test]
    public void RotateReclaimableMovesAPageToItsInactiveTailUnlessDirtyOrOffTheLru()
    {
        // lru_move_tail: PG_active cleared, to the inactive tail (where isolate_lru_folios takes first), pgrotated.
        Make(6);
        AddAnon(0);
        AddAnon(1, FrameFlags.Active);
        AddAnon(2);
        Assert.That(_lv.Frames(LruList.InactiveAnon).ToArray(), Is.EqualTo(new[] { 2, 0 }));
        _lv.RotateReclaimable(1);
        Assert.That(_lv.Frames(LruList.InactiveAnon).ToArray(), Is.EqualTo(new[] { 2, 0, 1 }));
        Assert.That(_lv.Frames(LruList.ActiveAnon), Is.Empty);
        Assert.That(_host.Frames[1].Flags & FrameFlags.Active, Is.EqualTo(FrameFlags.None));
        Assert.That(Count("pgrotated"), Is.EqualTo(1));
        // A dirty page is not rotated (folio_rotate_reclaimable returns), nor one off the LRU (never added).
        AddAnon(3, FrameFlags.Dirty);
        _lv.RotateReclaimable(3);
        _lv.RotateReclaimable(5);
        Assert.That(_lv.Frames(LruList.InactiveAnon).ToArray(), Is.EqualTo(new[] { 3, 2, 0, 1 }));
        Assert.That(Count("pgrotated"), Is.EqualTo(1));
    }

    private static string Scenario(string writeback) => $$$"""
        machine: {ram: 4M, swap: 32M, seed: 5, writeback: {{{writeback}}}}
        processes:
          - name: writer
            layout: {exec: {heap: 8M}}
            workload: {generator: "uniform:count=60000,pages=2048,writes=0.5,seed=2"}
        """;

    [Test]
    public void SwapOutsStayResidentUnderWritebackUntilTheirWriteCompletes()
    {
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Scenario("async")), "wb.yaml"));
        var wb = m.Kernel.Writeback!;
        Assert.That(wb, Is.Not.Null);
        int seenInFlight = 0;
        long ticks = 0;
        while (!m.Finished)
        {
            m.Env.RunTick();
            if (wb.NrWriteback == 0 || ++ticks % 16 != 0)
                continue;
            // Every page under writeback is resident: in the swap cache, on an LRU, not free, PG_reclaim set
            // (pageout sets it before the write); the gauge counts exactly them.
            int n = 0;
            Frame[] frames = m.Kernel.Zone.Frames;
            for (int pfn = 0; pfn < frames.Length; pfn++)
            {
                if ((frames[pfn].Flags & FrameFlags.Writeback) == 0)
                    continue;
                n++;
                Assert.That(frames[pfn].IsFree, Is.False);
                Assert.That(frames[pfn].Flags & (FrameFlags.SwapCache | FrameFlags.Lru), Is.EqualTo(FrameFlags.SwapCache | FrameFlags.Lru));
            }
            Assert.That(n, Is.EqualTo(wb.NrWriteback));
            seenInFlight++;
        }
        Assert.That(seenInFlight, Is.GreaterThan(0), "writes were in flight at some tick");
        long written = m.Env.Counters.Get("nr_written"), pswpout = m.Env.Counters.Get("pswpout");
        // Every swap write reclaim started has completed or is still in flight when the last access ends.
        Assert.That(pswpout, Is.GreaterThan(1000));
        Assert.That(written + wb.NrWriteback, Is.EqualTo(pswpout));
        Assert.That(m.Env.Counters.Get("nr_vmscan_write"), Is.EqualTo(pswpout));
        // Each completed PG_reclaim page is rotated unless reclaim had it isolated or it was dirtied meanwhile.
        long rotated = m.Env.Counters.Get("pgrotated");
        Assert.That(rotated, Is.GreaterThan(0).And.LessThanOrEqualTo(written));
    }

    /// <summary>
    /// Shmem under writeback (shmem_writeout, then swap_writeout): 8 MiB of MAP_SHARED|MAP_ANONYMOUS memory written at
    /// random on a 4 MiB machine. At every look, each page under writeback has left its object's page cache (no
    /// mapping, no PTE: try_to_unmap cleared them at the end of the tick) for the swap cache, is still resident and on
    /// an LRU, and its slot is held by the object (the swap entry in its place, counted in smaps' Swap from the
    /// writeout on); at the end every write started has completed or is in flight.
    /// </summary>
    [Test]
    public void ShmemSwapOutsLeaveTheObjectForTheSwapCacheAndStayResidentUntilWritten()
    {
        const string yaml = """
            machine: {ram: 4M, swap: 32M, seed: 5, writeback: async}
            processes:
              - name: writer
                layout: {exec: {}}
                workload: {generator: "uniform:count=60000,pages=2048,writes=0.5,seed=2,base=0x7f0000000000"}
            timeline:
              - at: 0
                process: writer
                mmap: {addr: 0x7f0000000000, length: 8M, prot: rw-, flags: shared, fixed: true}
            """;
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "wb-shmem.yaml"));
        var wb = m.Kernel.Writeback!;
        int seenInFlight = 0;
        long ticks = 0;
        while (!m.Finished)
        {
            m.Env.RunTick();
            if (wb.NrWriteback == 0 || ++ticks % 16 != 0)
                continue;
            int n = 0;
            var held = m.Kernel.PageCache.SwapValueEntries().Select(e => e.Slot).ToHashSet();
            Frame[] frames = m.Kernel.Zone.Frames;
            for (int pfn = 0; pfn < frames.Length; pfn++)
            {
                if ((frames[pfn].Flags & FrameFlags.Writeback) == 0)
                    continue;
                n++;
                Frame f = frames[pfn];
                Assert.That(f.IsFree, Is.False);
                Assert.That((f.IsShmem, f.IsAnon, f.Mapping, f.MapCount), Is.EqualTo((true, false, -1, 0)), "out of the object, unmapped");
                Assert.That(f.Flags & (FrameFlags.SwapCache | FrameFlags.Lru), Is.EqualTo(FrameFlags.SwapCache | FrameFlags.Lru));
                Assert.That(m.Kernel.SwapCache.Lookup((int)f.Index), Is.EqualTo(pfn));
                Assert.That(held.Contains((int)f.Index), Is.True, "the object's slot holds the swap entry");
            }
            Assert.That(n, Is.EqualTo(wb.NrWriteback));
            Assert.That(m.Kernel.OpenFiles.ShmemSwapped, Is.GreaterThanOrEqualTo(n));
            seenInFlight++;
        }
        Assert.That(seenInFlight, Is.GreaterThan(0), "writes were in flight at some tick");
        long written = m.Env.Counters.Get("nr_written"), pswpout = m.Env.Counters.Get("pswpout");
        Assert.That(pswpout, Is.GreaterThan(1000));
        Assert.That(written + wb.NrWriteback, Is.EqualTo(pswpout));
        Assert.That(m.Env.Counters.Get("nr_vmscan_write"), Is.EqualTo(pswpout));
    }

    [Test]
    public void SyncWritebackKeepsItsCountersAndNoPageIsEverUnderWriteback()
    {
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Scenario("sync")), "wb.yaml"));
        Assert.That(m.Kernel.Writeback, Is.Null);
        m.Run();
        Assert.That(m.Env.Counters.All().Any(kv => kv.Key == "nr_written"), Is.False, "the counters exist only with async writeback");
        Assert.That(m.Env.Counters.Get("pswpout"), Is.GreaterThan(1000));
        Assert.That(m.Env.Counters.Get("pgrotated"), Is.Zero);
    }

    /// <summary>
    /// A process storing to every page of a 256-page shared file mapping twice, on a machine with plenty of RAM and
    /// async writeback whose dirty limits are a few pages (so background writeback starts as soon as balance_dirty_pages
    /// looks, after 32 dirtied pages).
    /// </summary>
    private static (SimMachine M, Entity P) SharedWriter(long dirtyBackgroundBytes, long dirtyBytes, long diskPage = 6000,
        long expireCs = 3000, long writebackCs = 500, long diskRead = 300_000)
    {
        const ulong pages = 256;
        var o = Options(ramPages: 4096, swapPages: 0) with
        {
            Policy = "linux",
            WritebackAsync = true,
            DirtyBackgroundBytes = dirtyBackgroundBytes,
            DirtyBackgroundRatio = 0,
            DirtyBytes = dirtyBytes,
            DirtyRatio = 0,
            Timing = EcsMem.Systems.Timing.TimingModel.Default with { DiskPageCycles = diskPage, MajorFaultReadCycles = diskRead },
            DirtyExpireCentisecs = expireCs,
            DirtyWritebackCentisecs = writebackCs,
        };
        var m = new SimMachine(o);
        int file = m.Kernel.Files.Intern("/data/shared");
        var trace = new List<MemoryAccess>();
        for (int pass = 0; pass < 2; pass++)
            for (ulong i = 0; i < pages; i++)
                trace.Add(W(Base + i * Page));
        Entity p = m.AddProcess("w", mm => Mmap(mm, Base, pages, Prot.Read | Prot.Write, MapFlags.Shared, file), Trace("w", trace.ToArray()));
        return (m, p);
    }

    [Test]
    public void EveryDirtiedPageIsStillDirtyUnderWritebackOrWrittenAndEachFaultDirtiedOne()
    {
        var (m, p) = SharedWriter(dirtyBackgroundBytes: 8 * 4096, dirtyBytes: 4096 * 4096);
        using (m)
        {
            m.Run();
            var fl = m.Kernel.Flusher!;
            long dirtied = Counter(m, "nr_dirtied"), written = Counter(m, "nr_written");
            // Pass 1 faults on each of the 256 pages (a write fault on a shared file page marks it dirty); pass 2 faults
            // again exactly on the pages the flusher cleaned in between (folio_mkclean write-protected them), and each
            // such fault dirties the page once more: faults = pages dirtied.
            Assert.That(Stats(m, p).MinFlt + Stats(m, p).MajFlt, Is.EqualTo(dirtied));
            Assert.That(dirtied, Is.GreaterThan(256), "background writeback cleaned pages before pass 2 reached them");
            // Conservation: a dirtied page is dirty, under writeback or written (no page was freed: RAM is ample).
            Assert.That(fl.NrDirty + m.Kernel.Writeback!.NrWriteback + written, Is.EqualTo(dirtied));
            Assert.That(m.Kernel.Lruvec!.Size(EcsMem.Systems.Vmscan.LruList.InactiveFile) + m.Kernel.Lruvec.Size(EcsMem.Systems.Vmscan.LruList.ActiveFile)
                + m.Kernel.Lruvec.BatchedPages, Is.GreaterThanOrEqualTo(256), "written pages stay cached");
        }
    }

    [Test]
    public void WithoutPassingTheBackgroundThresholdNothingIsWrittenWithinTheFirstFiveSeconds()
    {
        // Background threshold above the 256 pages: only the periodic flusher (5 s, for data 30 s old) would write,
        // and the run lasts far less than that: every page stays dirty and pass 2 takes no fault.
        var (m, p) = SharedWriter(dirtyBackgroundBytes: 1024 * 4096, dirtyBytes: 2048 * 4096);
        using (m)
        {
            m.Run();
            Assert.That(m.Env.Now, Is.LessThan(3_000_000_000UL * 5), "shorter than dirty_writeback_centisecs");
            Assert.That(Counter(m, "nr_dirtied"), Is.EqualTo(256));
            Assert.That(Counter(m, "nr_written"), Is.Zero);
            Assert.That(m.Kernel.Flusher!.NrDirty, Is.EqualTo(256));
            Assert.That(Stats(m, p).MinFlt + Stats(m, p).MajFlt, Is.EqualTo(256));
            // /proc/meminfo's Dirty is the page count in kB.
            var g = EcsMem.Systems.Reporting.MemoryGauges.Read(m.Kernel);
            Assert.That(g.Dirty, Is.EqualTo(256));
        }
    }

    [Test]
    public void ThePeriodicWakeupIsATimerOfItsOwn()
    {
        // A writer stores once to each of 16 pages of a shared file mapping (16 write faults, well under 10 ms) and
        // exits; a second task starts only at 1 s. wb_wakeup_delayed queues the flusher's periodic work 10 ms
        // (dirty_writeback_centisecs 1) after the first page was dirtied, for data older than 0 cs (dirty_expire 0); the
        // background threshold (1,024 pages) is never passed. The work runs at its time on its kworker, with no fault
        // after it: so by half a second, before the second task has run, all 16 pages are written and none is dirty.
        // (Before session 18 the pass waited for the next fault, reclaim step or write completion, the second task's
        // first fault at 1 s: at half a second all 16 were still dirty.)
        const ulong pages = 16;
        var o = Options(ramPages: 4096, swapPages: 0) with
        {
            Policy = "linux",
            WritebackAsync = true,
            DirtyBackgroundBytes = 1024 * 4096,
            DirtyBackgroundRatio = 0,
            DirtyBytes = 2048 * 4096,
            DirtyRatio = 0,
            DirtyExpireCentisecs = 0,
            DirtyWritebackCentisecs = 1,
        };
        using var m = new SimMachine(o);
        int file = m.Kernel.Files.Intern("/data/shared");
        var trace = new List<MemoryAccess>();
        for (ulong i = 0; i < pages; i++)
            trace.Add(W(Base + i * Page));
        m.AddProcess("w", mm => Mmap(mm, Base, pages, Prot.Read | Prot.Write, MapFlags.Shared, file), Trace("w", trace.ToArray()));
        ulong second = (ulong)(m.Kernel.Timing.ClockGHz * 1e9);
        Entity late = m.AddProcess("late", Anon(Base, 1, Prot.Read), Trace("late", R(Base)), start: second);
        m.Run(stop: () => m.Env.Now >= second / 2, checkEvery: 1);
        Assert.That(Stats(m, late).Accesses, Is.Zero, "the second task has not run");
        Assert.That(Counter(m, "nr_dirtied"), Is.EqualTo(pages));
        Assert.That(Counter(m, "nr_written"), Is.EqualTo(pages));
        Assert.That(m.Kernel.Flusher!.NrDirty, Is.Zero);
        // With nothing left dirty and the writer gone, the run ends once the second task has exited: no wakeup is left.
        m.Run();
        Assert.That(m.Finished, Is.True);
    }

    [Test]
    public void BalanceDirtyPagesHoldsTheWriterToTheDisksWriteRate()
    {
        // dirty limit 64 pages, 1 ms to write each page (disk_page 3,000,000 cycles): the writer dirties far faster
        // than that, so balance_dirty_pages pauses it, and it cannot get more than the limit ahead of the disk:
        // simulated time ≥ (pages written − the 64 allowed ahead) × 1 ms.
        const long perPage = 3_000_000;
        var (m, _) = SharedWriter(dirtyBackgroundBytes: 32 * 4096, dirtyBytes: 64 * 4096, diskPage: perPage);
        using (m)
        {
            m.Run();
            long dirtied = Counter(m, "nr_dirtied");
            Assert.That(Counter(m, "ecsmem_dirty_throttle_pauses"), Is.GreaterThan(0));
            Assert.That((long)m.Env.Now, Is.GreaterThanOrEqualTo((dirtied - 64 - 1) * perPage));
        }
    }

    [Test]
    public void ReclaimNeverWritesAFilePageItActivatesItForTheFlusher()
    {
        // A shared file mapping three times RAM written at random: reclaim meets dirty file pages, unmaps them and
        // activates them with PG_reclaim (Linux 6.18 reclaim writes no filesystem folio); the flusher writes them.
        const string yaml = """
            machine: {ram: 4M, swap: 0, seed: 5, writeback: async}
            processes:
              - name: writer
                layout: {exec: {}}
                workload: {generator: "uniform:count=30000,pages=3072,writes=0.7,base=0x7f0000000000,seed=1"}
            timeline:
              - at: 0
                process: writer
                mmap: {addr: 0x7f0000000000, length: 12M, prot: rw-, flags: shared, file: /data/big, fixed: true}
            """;
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "wb.yaml"));
        m.Run();
        Assert.That(Counter(m, "nr_vmscan_immediate_reclaim"), Is.GreaterThan(0));
        Assert.That(Counter(m, "nr_vmscan_write"), Is.Zero, "no swap, and file pages are never written by reclaim");
        Assert.That(Counter(m, "ecsmem_file_writeback"), Is.Zero);
        Assert.That(Counter(m, "nr_written"), Is.GreaterThan(0));
        Assert.That(Counter(m, "pgsteal_file"), Is.GreaterThan(0));
    }

    [Test]
    public void ThePeriodicFlushWritesDataOlderThanDirtyExpire()
    {
        // No background writeback (threshold above the 256 pages); the periodic pass every 10 ms writes data dirtied at
        // least 0 cs ago. Pass 1's disk reads take 10 ms each (latency.major_fault 30,000,000 cycles), so the pass runs
        // during it and pass 2 faults again on the pages it cleaned: faults = pages dirtied > 256, some written.
        var (m, p) = SharedWriter(dirtyBackgroundBytes: 1024 * 4096, dirtyBytes: 2048 * 4096, expireCs: 0, writebackCs: 1, diskRead: 30_000_000);
        using (m)
        {
            m.Run();
            long dirtied = Counter(m, "nr_dirtied");
            Assert.That(Counter(m, "nr_written"), Is.GreaterThan(0));
            Assert.That(dirtied, Is.GreaterThan(256));
            Assert.That(Stats(m, p).MinFlt + Stats(m, p).MajFlt, Is.EqualTo(dirtied));
        }
        // dirty_writeback_centisecs 0 turns the periodic pass off: nothing is written.
        (m, p) = SharedWriter(dirtyBackgroundBytes: 1024 * 4096, dirtyBytes: 2048 * 4096, expireCs: 0, writebackCs: 0, diskRead: 30_000_000);
        using (m)
        {
            m.Run();
            Assert.That(Counter(m, "nr_written"), Is.Zero);
            Assert.That(Counter(m, "nr_dirtied"), Is.EqualTo(256));
        }
    }

    /// <summary>
    /// Only the linux policy's lruvec builds the writeback queue (Kernel: Writeback and the flusher exist with it alone),
    /// so a machine built by hand with another policy and async writeback is refused instead of silently writing inside
    /// reclaim; the same machine with the linux policy has both.
    /// </summary>
    [TestCase("fifo")]
    [TestCase("clock")]
    [TestCase("lru")]
    public void AsyncWritebackWithAPolicyOtherThanLinuxIsRefused(string policy)
    {
        var o = Options(ramPages: 1024, swapPages: 64) with { Policy = policy, WritebackAsync = true };
        var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => new SimMachine(o).Dispose())!;
        Assert.That(e.Value, Is.EqualTo(policy));
        Assert.That(e.Problem, Does.StartWith("machine.writeback: async needs the linux policy"));
        using var linux = new SimMachine(o with { Policy = "linux" });
        Assert.That(linux.Kernel.Writeback, Is.Not.Null);
        Assert.That(linux.Kernel.Flusher, Is.Not.Null);
    }
}
