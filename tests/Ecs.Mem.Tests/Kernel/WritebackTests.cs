using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using NUnit.Framework;

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
            Reclaimed.Add(pfn);
            return FolioReclaimResult.Reclaimed;
        }

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
}
