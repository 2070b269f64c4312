using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Vmscan;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// A memory cgroup's lruvec statistics as reclaim reads them (Vmscan/LruvecStats.cs): lruvec_page_state returns the
/// rstat totals of the last flush, so prepare_scan_control's may_deactivate, cache_trim_mode, snapshot_refaults and
/// workingset_test_recent see the lists as they were then. Recorded on Linux 6.18 (oracle/experiments/file-activation):
/// in swappiness-60's first file pass no stats flush happens and shrink_active_list never runs on the file list,
/// although 3,200 refaulted pages were activated onto it; after the harness's memory.stat read (a flush) the next pass
/// deactivates 3,500–4,800 file pages.
/// </summary>
public class LruvecStatsFlushTests
{
    private LruvecTests.FakeHost _host = null!;
    private Lruvec _lv = null!;

    private void Make(bool deferred)
    {
        _host = new LruvecTests.FakeHost(128);
        var counters = new CounterRegistry();
        _lv = new Lruvec(_host, counters, new KernelCounters(counters), 1) { DeferredStats = deferred };
        _lv.Initialize(128);
    }

    /// <summary>
    /// The lruvec of group "a" under the root's, wired as Kernel.cs wires them: the memory controller owns the flush and
    /// its periodic clock.
    /// </summary>
    private void MakeInGroup()
    {
        _host = new LruvecTests.FakeHost(128);
        var counters = new CounterRegistry();
        var kc = new KernelCounters(counters);
        var rootLv = new Lruvec(_host, counters, kc, 1);
        rootLv.Initialize(128);
        var groups = new[] { new CgroupConfig("a", null, CgroupConfig.Unlimited, CgroupConfig.Unlimited, 0, 0, CgroupConfig.Unlimited, 0) };
        var mc = new MemcgController(rootLv, () => { var p = new Lruvec(_host, counters, kc, 1); p.Initialize(128); return p; }, groups, 128, 1);
        MemCgroup a = mc.Find("a");
        _lv = (Lruvec)a.Lruvec;
        _lv.AttachTo(rootLv);
        _lv.Memcg = a;
        _lv.DeferredStats = true;
        _lv.StatsFlusher = mc;
    }

    private void Add(int pfn, bool anon, bool active = false)
    {
        ref Frame f = ref _host.Frames[pfn];
        f.Flags |= FrameFlags.Lru | (anon ? FrameFlags.Anon | FrameFlags.SwapBacked : 0) | (active ? FrameFlags.Active : 0);
        _lv.OnInserted(pfn, (ulong)pfn);
        _lv.LruAddDrain();
    }

    /// <summary>
    /// 40 anon pages, then (after the flush) a file pass: 8 pages stay inactive, 24 refault within the workingset and
    /// start active (workingset_refault). Live lists would say inactive file is low (8 &lt; 24) and refaults happened.
    /// </summary>
    private ScanControl FilePassAfterFlush()
    {
        for (int pfn = 0; pfn < 40; pfn++) Add(pfn, anon: true);
        _lv.FlushStats(); // the harness's memory.stat read at the end of the anon phase
        for (int pfn = 40; pfn < 48; pfn++) Add(pfn, anon: false);
        for (int pfn = 48; pfn < 72; pfn++)
        {
            int shadow = _lv.WorkingsetEviction(100); // a page evicted a moment ago: distance 1
            _host.Frames[pfn].Flags |= FrameFlags.Lru;
            _lv.WorkingsetRefault(pfn, shadow);
            _lv.OnInserted(pfn, (ulong)pfn);
            _lv.LruAddDrain();
        }
        Assert.That(_lv.Size(LruList.ActiveFile), Is.EqualTo(24), "the refaults were activated");
        var sc = new ScanControl();
        sc.Reset(kswapd: false, 32, 60);
        sc.CgroupReclaim = true;
        return sc;
    }

    [Test]
    public void ACgroupsReclaimSeesTheListsOfTheLastFlushOnly()
    {
        Make(deferred: true);
        ScanControl sc = FilePassAfterFlush();
        _lv.PrepareScanControl(sc);
        // Flushed: inactive 0, active 0, activations 0 = the snapshot: file may not deactivate (skipped_deactivate).
        Assert.That(sc.MayDeactivate & ScanControl.DeactivateFile, Is.Zero);
        Assert.That(_lv.InactiveIsLow(LruList.InactiveFile), Is.False);
        // A memory.stat read flushes: the 24 activations and 8 < 24 become visible.
        _lv.FlushStats();
        _lv.PrepareScanControl(sc);
        Assert.That(sc.MayDeactivate & ScanControl.DeactivateFile, Is.EqualTo(ScanControl.DeactivateFile));
        Assert.That(_lv.InactiveIsLow(LruList.InactiveFile), Is.True);
        // snapshot_refaults takes the flushed count: with the lists moved on and no flush, the refault test stays quiet
        // but the flushed sizes still say low.
        _lv.SnapshotRefaults();
        Assert.That(_lv.RefaultSnapshot[1], Is.EqualTo(24));
    }

    [Test]
    public void WithoutCgroupsTheListsAreReadAsTheyAre()
    {
        Make(deferred: false);
        ScanControl sc = FilePassAfterFlush();
        _lv.PrepareScanControl(sc);
        Assert.That(sc.MayDeactivate & ScanControl.DeactivateFile, Is.EqualTo(ScanControl.DeactivateFile));
        Assert.That(_lv.InactiveIsLow(LruList.InactiveFile), Is.True);
    }

    [Test]
    public void ThePeriodicFlusherCatchesUpEveryTwoSeconds()
    {
        MakeInGroup();
        ScanControl sc = FilePassAfterFlush();
        // flush_memcg_stats_dwork (the memory controller's): FLUSH_TIME = 2 × HZ jiffies after boot, then every 2 s.
        _host.Jiffies = MemcgController.FlushTime - 1;
        _lv.PrepareScanControl(sc);
        Assert.That(sc.MayDeactivate & ScanControl.DeactivateFile, Is.Zero);
        _host.Jiffies = MemcgController.FlushTime;
        _lv.PrepareScanControl(sc);
        Assert.That(sc.MayDeactivate & ScanControl.DeactivateFile, Is.EqualTo(ScanControl.DeactivateFile));
        Assert.That(MemcgController.FlushTime, Is.EqualTo(2UL * MemcgController.Hz));
    }

    [Test]
    public void TheRefaultTestWeighsTheFlushedWorkingset()
    {
        Make(deferred: true);
        _host.SwapSpaceLeft = false; // the file workingset is the active file list alone
        _lv.FlushStats(); // empty
        for (int pfn = 0; pfn < 4; pfn++) Add(pfn, anon: false, active: true);
        int shadow = _lv.WorkingsetEviction(100);
        _lv.WorkingsetEviction(101); // distance 2 ≤ 4 live active pages, but the flushed list is empty
        Assert.That(_lv.WorkingsetTestRecent(shadow, file: true), Is.False);
        _lv.FlushStats();
        Assert.That(_lv.WorkingsetTestRecent(shadow, file: true), Is.True);
    }
}
