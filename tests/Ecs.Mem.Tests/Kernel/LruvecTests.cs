using EcsMem.Components;
using EcsMem.Simulation;
using NUnit.Framework;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The Linux 6.x lruvec (Vmscan/Lruvec.cs) on a handful of frames with a scripted host: every expected value is
/// worked out by hand from mm/vmscan.c, mm/swap.c and mm/workingset.c's rules, written next to the assertion.
/// </summary>
public class LruvecTests
{
    /// <summary>A host whose PTE young bits, VMA flags, pins and reclaim results the test sets per frame.</summary>
    internal sealed class FakeHost : ILruvecHost
    {
        public FakeHost(int frames)
        {
            Frames = new Frame[frames];
            for (int i = 0; i < frames; i++) Frames[i] = Frame.Fresh(i);
            Young = new int[frames];
            Flags = new VmFlags[frames];
            Pinned = new bool[frames];
            Result = new FolioReclaimResult[frames];
        }

        public Frame[] Frames { get; }
        public int[] Young { get; }
        public VmFlags[] Flags { get; }
        public bool[] Pinned { get; }
        public FolioReclaimResult[] Result { get; }
        public List<int> Reclaimed { get; } = new();
        public int CurrentCpu { get; set; }
        public bool SwapSpaceLeft { get; set; } = true;
        public bool HasSwap { get; set; } = true;
        public long FreePages { get; set; } = 1000;
        public long HighWatermark { get; set; } = 10;
        public ulong Jiffies { get; set; }

        public bool IsPinned(int pfn) => Pinned[pfn];

        public int FolioReferenced(int pfn, out VmFlags vmFlags)
        {
            if ((Flags[pfn] & VmFlags.Locked) != 0)
            {
                vmFlags = VmFlags.Locked;
                return 1;
            }
            int y = Young[pfn];
            Young[pfn] = 0; // test-and-clear
            vmFlags = y > 0 ? Flags[pfn] : VmFlags.None;
            return y;
        }

        /// <summary>Reclaim of a THP page splits its folio first (thp_swpout_fallback) instead of taking it whole.</summary>
        public bool SplitThp { get; set; }

        private int _lastPages = 1;

        int ILruvecHost.ReclaimedFolioPages => _lastPages;

        public FolioReclaimResult ReclaimFolio(int pfn, FolioReferences references, out bool pageout)
        {
            _lastPages = 1;
            if ((Frames[pfn].Flags & FrameFlags.Thp) != 0)
            {
                int head = pfn & ~511;
                if (SplitThp)
                {
                    for (int p = head; p < head + 512; p++)
                        Frames[p].Flags &= ~FrameFlags.Thp;
                }
                else
                {
                    _lastPages = 512;
                }
            }
            pageout = Result[pfn] is FolioReclaimResult.Reclaimed or FolioReclaimResult.Writeback;
            if (Result[pfn] == FolioReclaimResult.Reclaimed) Reclaimed.Add(pfn);
            // pageout with async writeback: PG_reclaim, then folio_start_writeback (the page stays).
            if (Result[pfn] == FolioReclaimResult.Writeback) Frames[pfn].Flags |= FrameFlags.Reclaim | FrameFlags.Writeback;
            return Result[pfn];
        }

        public void ActivateLocked(int pfn) { }

        /// <summary>Writes complete in simulated time (a flusher exists).</summary>
        public bool Async { get; set; }

        /// <summary>wakeup_flusher_threads calls, pages the reclaimer's time was charged for, shrink_folio_list unplugs.</summary>
        public int FlusherWakeups, ProgressPages, Unplugs;

        bool ILruvecHost.WritebackAsync => Async;

        void ILruvecHost.WakeupFlusherThreads() => FlusherWakeups++;

        void ILruvecHost.WritebackProgress(int pages) => ProgressPages += pages;

        void ILruvecHost.WritebackUnplug() => Unplugs++;
    }

    private FakeHost _host = null!;
    private Lruvec _lv = null!;
    private CounterRegistry _counters = null!;
    private KernelCounters _c = null!;

    private void Make(int frames, int cpus = 1)
    {
        _host = new FakeHost(frames);
        _counters = new CounterRegistry();
        _c = new KernelCounters(_counters);
        _lv = new Lruvec(_host, _counters, _c, cpus);
        _lv.Initialize(frames);
    }

    /// <summary>A page of the given kind added and drained onto its list (flags as the fault paths set them).</summary>
    private void Add(int pfn, bool anon, bool active = false, bool referenced = false)
    {
        ref Frame f = ref _host.Frames[pfn];
        f.Flags |= FrameFlags.Lru | (anon ? FrameFlags.Anon | FrameFlags.SwapBacked : 0)
            | (active ? FrameFlags.Active : 0) | (referenced ? FrameFlags.Referenced : 0);
        _lv.OnInserted(pfn, (ulong)pfn);
        _lv.LruAddDrain();
    }

    private int[] List(LruList l) => _lv.Frames(l).ToArray();

    private long Count(string name) => _counters.All().First(kv => kv.Key == name).Value;

    [Test]
    public void TwoLruvecsShareOneLruAddBatchPerCpu()
    {
        // cpu_fbatches.lru_add is one batch per CPU for every lruvec (memcg): 15 folios of one group and 15 of another
        // fill 30 slots of CPU 0's one batch, so neither lruvec has a folio on a list yet; the 31st add (the second
        // group's 16th) moves all 31, each onto its own lruvec (folio_lruvec), to the head in add order.
        Make(40);
        var lvB = new Lruvec(_host, _counters, _c, 1);
        lvB.Initialize(40);
        var shared = new LruAddBatches(1, pfn => pfn < 20 ? _lv : lvB);
        shared.Initialize(40, null);
        _lv.ShareLruAddBatches(shared);
        lvB.ShareLruAddBatches(shared);
        for (int i = 0; i < 15; i++)
        {
            _host.Frames[i].Flags |= FrameFlags.Lru;
            _lv.OnInserted(i, 0);
            _host.Frames[20 + i].Flags |= FrameFlags.Lru;
            lvB.OnInserted(20 + i, 0);
        }
        Assert.That(shared.Count(0), Is.EqualTo(30));
        Assert.That(_lv.BatchedPages, Is.EqualTo(30), "the batch is the CPU's, not the lruvec's");
        Assert.That(_lv.Size(LruList.InactiveFile) + lvB.Size(LruList.InactiveFile), Is.Zero);
        _host.Frames[35].Flags |= FrameFlags.Lru;
        lvB.OnInserted(35, 0);
        Assert.That(shared.Count(0), Is.Zero);
        Assert.That(List(LruList.InactiveFile), Is.EqualTo(Enumerable.Range(0, 15).Reverse().ToArray()));
        Assert.That(lvB.Frames(LruList.InactiveFile).ToArray(), Is.EqualTo(Enumerable.Range(20, 15).Append(35).Reverse().ToArray()));
    }

    [Test]
    public void NewPagesWaitInTheCpuBatchUntilItHolds31OrIsDrained()
    {
        Make(40, cpus: 2);
        for (int pfn = 0; pfn < 30; pfn++)
        {
            _host.Frames[pfn].Flags |= FrameFlags.Lru;
            _lv.OnInserted(pfn, 0);
        }
        // PAGEVEC_SIZE is 31: thirty pages are all still in CPU 0's batch.
        Assert.That(_lv.BatchedPages, Is.EqualTo(30));
        Assert.That(_lv.Size(LruList.InactiveFile), Is.Zero);
        // A page added on CPU 1 goes to CPU 1's batch; draining CPU 1 moves only it.
        _host.CurrentCpu = 1;
        _host.Frames[35].Flags |= FrameFlags.Lru;
        _lv.OnInserted(35, 0);
        _lv.LruAddDrain();
        Assert.That(List(LruList.InactiveFile), Is.EqualTo(new[] { 35 }));
        // The 31st page on CPU 0 fills its batch, which moves in order: each to the head, so the last is first.
        _host.CurrentCpu = 0;
        _host.Frames[30].Flags |= FrameFlags.Lru;
        _lv.OnInserted(30, 0);
        Assert.That(_lv.BatchedPages, Is.Zero);
        Assert.That(List(LruList.InactiveFile), Is.EqualTo(Enumerable.Range(0, 31).Reverse().Append(35).ToArray()));
    }

    [Test]
    public void MarkAccessedActivatesABatchedFolioOnlyFromItsOwnCpu()
    {
        // folio_mark_accessed on a folio without PG_lru (still in an lru_add batch): the first call sets PG_referenced;
        // the second calls __lru_cache_activate_folio, which searches only this CPU's cpu_fbatches.lru_add, then clears
        // PG_referenced and calls workingset_activation whether or not it found the folio.
        Make(40, cpus: 2);
        foreach (int pfn in new[] { 3, 4 })
        {
            _host.Frames[pfn].Flags |= FrameFlags.Lru;
            _lv.OnInserted(pfn, 0); // CPU 0's batch
        }
        _lv.OnReferenced(3);
        _lv.OnReferenced(4);
        // Frame 3 is marked again on CPU 0, its batch's CPU: PG_active set, PG_referenced cleared, clock 0 → 1.
        _lv.OnReferenced(3);
        // Frame 4 is marked again on CPU 1: not in CPU 1's batch, so no PG_active; PG_referenced is still cleared and the
        // clock still ages, 1 → 2.
        _host.CurrentCpu = 1;
        _lv.OnReferenced(4);
        Assert.That(_host.Frames[3].Flags & (FrameFlags.Active | FrameFlags.Referenced), Is.EqualTo(FrameFlags.Active));
        Assert.That(_host.Frames[4].Flags & (FrameFlags.Active | FrameFlags.Referenced), Is.EqualTo(FrameFlags.None));
        Assert.That(_lv.NonresidentAge, Is.EqualTo(2));
        // CPU 0's batch moves (lru_add: each to the head of the list its flags name): 3 active, 4 inactive; pgactivate 0
        // (PG_active set in a batch is not counted; folio_activate did not run).
        _host.CurrentCpu = 0;
        _lv.LruAddDrain();
        Assert.That(List(LruList.ActiveFile), Is.EqualTo(new[] { 3 }));
        Assert.That(List(LruList.InactiveFile), Is.EqualTo(new[] { 4 }));
        Assert.That(Count("pgactivate"), Is.Zero);
    }

    [Test]
    public void NewAnonAndFilePagesStartInactiveUnlessRefaultActivated()
    {
        Make(8);
        Add(0, anon: true);
        Add(1, anon: false);
        Add(2, anon: true, active: true);
        Assert.That(List(LruList.InactiveAnon), Is.EqualTo(new[] { 0 }));
        Assert.That(List(LruList.InactiveFile), Is.EqualTo(new[] { 1 }));
        Assert.That(List(LruList.ActiveAnon), Is.EqualTo(new[] { 2 }));
    }

    [Test]
    public void FolioCheckReferencesOutcomes()
    {
        Make(10);
        // 0: no young PTE, no PG_referenced → reclaim.
        Add(0, anon: true);
        // 1: file page, PG_referenced only → reclaim if clean.
        Add(1, anon: false, referenced: true);
        // 2: anon page, PG_referenced only → reclaim (RECLAIM_CLEAN is for file pages).
        Add(2, anon: true, referenced: true);
        // 3: one young PTE, first look → keep, and PG_referenced is now set.
        Add(3, anon: true);
        _host.Young[3] = 1;
        // 4: one young PTE and PG_referenced from the last trip → activate.
        Add(4, anon: true, referenced: true);
        _host.Young[4] = 1;
        // 5: two young PTEs (shared page) → activate on the first look.
        Add(5, anon: true);
        _host.Young[5] = 2;
        // 6: young in an executable file mapping → activate at once.
        Add(6, anon: false);
        _host.Young[6] = 1;
        _host.Flags[6] = VmFlags.Exec;
        // 7: the same for an anonymous VM_EXEC page → only keep.
        Add(7, anon: true);
        _host.Young[7] = 1;
        _host.Flags[7] = VmFlags.Exec;
        // 8: in a VM_LOCKED area → mlocked.
        Add(8, anon: true);
        _host.Flags[8] = VmFlags.Locked;

        var expected = new (FolioReferences Refs, bool Mlocked, bool ReferencedAfter)[]
        {
            (FolioReferences.Reclaim, false, false),
            (FolioReferences.ReclaimClean, false, false),
            (FolioReferences.Reclaim, false, false),
            (FolioReferences.Keep, false, true),
            (FolioReferences.Activate, false, true),
            (FolioReferences.Activate, false, true),
            (FolioReferences.Activate, false, true),
            (FolioReferences.Keep, false, true),
            (FolioReferences.Activate, true, false),
        };
        for (int pfn = 0; pfn < expected.Length; pfn++)
        {
            FolioReferences r = _lv.FolioCheckReferences(pfn, out bool mlocked);
            Assert.That((r, mlocked), Is.EqualTo((expected[pfn].Refs, expected[pfn].Mlocked)), $"frame {pfn}");
            Assert.That((_host.Frames[pfn].Flags & FrameFlags.Referenced) != 0, Is.EqualTo(expected[pfn].ReferencedAfter), $"frame {pfn} PG_referenced");
        }
        // The young bits were consumed: a second look at frame 3 (now PG_referenced, no young PTE) reclaims it.
        Assert.That(_lv.FolioCheckReferences(3, out _), Is.EqualTo(FolioReferences.Reclaim));
    }

    [Test]
    public void ShrinkInactiveListActivatesKeepsReclaimsAndCulls()
    {
        // Eight anon frames on the inactive list, added 0..7 so the tail (oldest) is 0.
        Make(8);
        for (int pfn = 0; pfn < 8; pfn++) Add(pfn, anon: true);
        _host.Young[1] = 1;                     // keep: back to the inactive head, PG_referenced set
        _host.Young[2] = 1;                     // activate: PG_referenced and young
        _host.Frames[2].Flags |= FrameFlags.Referenced;
        _host.Pinned[3] = true;                 // trylock fails: kept
        _host.Flags[4] = VmFlags.Locked;        // mlocked: to LRU_UNEVICTABLE
        _host.Result[5] = FolioReclaimResult.Activate; // add_to_swap failed: activate_locked
        // 0, 6, 7 are reclaimed.
        var sc = new ScanControl();
        sc.Reset(kswapd: true, nrToReclaim: 32, swappiness: 60);
        sc.Priority = 0;
        sc.MayDeactivate = 0;
        _host.HasSwap = false; // no anon aging after the loop, to look at shrink_inactive_list alone
        // At priority 0 with swappiness 60 get_scan_count is SCAN_EQUAL: the whole inactive anon list (8).
        _lv.PrepareScanControl(sc);
        sc.MayDeactivate = 0;
        _lv.ShrinkLruvec(sc);

        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 0, 6, 7 }));
        Assert.That(sc.NrReclaimed, Is.EqualTo(3));
        Assert.That(sc.NrScanned, Is.EqualTo(8));
        // Put back in the order they were processed, each to the head: 1 then 3 on the inactive list → head 3, 1.
        Assert.That(List(LruList.InactiveAnon), Is.EqualTo(new[] { 3, 1 }));
        Assert.That(List(LruList.ActiveAnon), Is.EqualTo(new[] { 5, 2 }));
        Assert.That(List(LruList.Unevictable), Is.EqualTo(new[] { 4 }));
        Assert.That(Count("pgscan_kswapd"), Is.EqualTo(8));
        Assert.That(Count("pgscan_anon"), Is.EqualTo(8));
        Assert.That(Count("pgsteal_kswapd"), Is.EqualTo(3));
        Assert.That(Count("pgsteal_anon"), Is.EqualTo(3));
        Assert.That(Count("pgactivate"), Is.EqualTo(2));
        // Workingset clock: three evictions and two pages put back active.
        Assert.That(_lv.NonresidentAge, Is.EqualTo(5));
        // lru_note_cost(anon, nr_pageout 3, rotated 8 - 3 = 5): 3 × 32 + 5 = 101; the four lists hold 4 pages
        // (unevictable excluded), 101 > 4/4, so both costs are halved: 50.
        Assert.That(_lv.AnonCost, Is.EqualTo(50));
    }

    [Test]
    public void GetScanCountSplitsBySwappinessAsTheFormulaSays()
    {
        // The counts come from list sizes: 1000 / 2000 / 3000 / 4000.
        Make(10000);
        int pfn = 0;
        foreach (var (n, anon, active) in new[] { (1000, true, false), (2000, true, true), (3000, false, false), (4000, false, true) })
            for (int i = 0; i < n; i++) Add(pfn++, anon, active);
        Assert.That(_lv.Size(LruList.ActiveFile), Is.EqualTo(4000));
        Span<long> nr = stackalloc long[4];
        var sc = new ScanControl();

        void Scan(int swappiness, int priority, Span<long> into)
        {
            sc.Reset(kswapd: true, 32, swappiness);
            sc.Priority = priority;
            sc.AnonCost = 10;
            sc.FileCost = 30;
            _lv.GetScanCount(sc, into);
        }

        // total = 40; anon_cost = 40 + 10 = 50, file_cost = 40 + 30 = 70, total = 120.
        // swappiness 60: ap = 60 × 121 / 51 = 142, fp = 140 × 121 / 71 = 238, denominator 380.
        // priority 2: sizes >> 2 = 250, 500, 750, 1000 → 250×142/380 = 93, 500×142/380 = 186, 750×238/380 = 469, 1000×238/380 = 626.
        Scan(60, 2, nr);
        Assert.That(sc.LastBalance, Is.EqualTo(ScanBalance.Fract));
        Assert.That(nr.ToArray(), Is.EqualTo(new long[] { 93, 186, 469, 626 }));
        // swappiness 0: ap = 0, fp = 200 × 121 / 71 = 340 → anon 0, file the whole shifted size.
        Scan(0, 2, nr);
        Assert.That(nr.ToArray(), Is.EqualTo(new long[] { 0, 0, 750, 1000 }));
        // swappiness 200: ap = 200 × 121 / 51 = 474, fp = 0 → file 0.
        Scan(200, 2, nr);
        Assert.That(nr.ToArray(), Is.EqualTo(new long[] { 250, 500, 0, 0 }));
        // Priority 0 with swappiness > 0: SCAN_EQUAL, every list in full.
        Scan(60, 0, nr);
        Assert.That(sc.LastBalance, Is.EqualTo(ScanBalance.Equal));
        Assert.That(nr.ToArray(), Is.EqualTo(new long[] { 1000, 2000, 3000, 4000 }));
        // Priority 0 at swappiness 0 stays proportional (anon 0).
        Scan(0, 0, nr);
        Assert.That(nr.ToArray(), Is.EqualTo(new long[] { 0, 0, 3000, 4000 }));
        // No swap space: SCAN_FILE.
        _host.SwapSpaceLeft = false;
        Scan(200, 2, nr);
        Assert.That(sc.LastBalance, Is.EqualTo(ScanBalance.File));
        Assert.That(nr.ToArray(), Is.EqualTo(new long[] { 0, 0, 750, 1000 }));
        _host.SwapSpaceLeft = true;
        // file_is_tiny: SCAN_ANON.
        sc.Reset(kswapd: true, 32, 60);
        sc.Priority = 2;
        sc.FileIsTiny = true;
        _lv.GetScanCount(sc, nr);
        Assert.That(nr.ToArray(), Is.EqualTo(new long[] { 250, 500, 0, 0 }));
    }

    [Test]
    public void GetScanCountStepsAMemcgAnonOnlyReclaimBy39PagesBelow4032AndBy41From4032()
    {
        // tmpfs-swap-memcg's write pass: a group of anon LRU pages only (the shmem file and the harness), file_cost 0,
        // anon_cost from the zero-filled pages' writes (nr_pageout × SWAP_CLUSTER_MAX, halved at a quarter of the
        // lists: a few hundred). calculate_pressure_balance with anon_cost 600: total = 600, anon = 1200, file = 600,
        // total = 1800; ap = 60 × 1801 / 1201 = 89, fp = 140 × 1801 / 601 = 419, denominator 508.
        // 3,969 inactive pages (the kernel's at the pass's end, run 3 of
        // `flock /work/kernel.lock oracle/experiments/thp-swap-memcg/kit.sh tmpfs-swap-memcg 3 OUT`):
        // >> 9..5 = 7, 15, 31, 62, 124 → × 89 / 508 = 1, 2, 5, 10, 21: 39 pages by priority 5, the
        // mm_vmscan_lru_shrink_inactive nr_scanned of every write-pass reclaim in that trace (and all reclaimed: zero pages).
        // 4,032 pages: 7, 15, 31, 63, 126 → 1, 2, 5, 11, 22: 41, EcsMem's step in that pass. (In a call the list also
        // shrinks by what the earlier priorities freed, so the call's step is 39 below 4,040 pages, 40 up to 4,050 and
        // 41 from 4,051: oracle/experiments/tmpfs-swap-memcg.)
        long[] Steps(int inactive)
        {
            Make(inactive + 1);
            for (int pfn = 0; pfn < inactive; pfn++) Add(pfn, anon: true);
            Add(inactive, anon: true, active: true);
            var sc = new ScanControl();
            Span<long> nr = stackalloc long[4];
            var steps = new long[5];
            for (int priority = 9; priority >= 5; priority--)
            {
                sc.Reset(kswapd: false, 32, 60);
                sc.Priority = priority;
                sc.AnonCost = 600;
                sc.FileCost = 0;
                _lv.GetScanCount(sc, nr);
                Assert.That(sc.LastBalance, Is.EqualTo(ScanBalance.Fract));
                Assert.That(nr[(int)LruList.ActiveAnon], Is.EqualTo(0), "one active page >> priority");
                steps[9 - priority] = nr[(int)LruList.InactiveAnon];
            }
            return steps;
        }

        Assert.That(Steps(3969), Is.EqualTo(new long[] { 1, 2, 5, 10, 21 }));
        Assert.That(Steps(4031), Is.EqualTo(new long[] { 1, 2, 5, 10, 21 }));
        Assert.That(Steps(4032), Is.EqualTo(new long[] { 1, 2, 5, 11, 22 }));
    }

    [Test]
    public void PrepareScanControlSetsCacheTrimModeAndFileIsTiny()
    {
        Make(64);
        // Inactive file 40, active file 8: not low (40 ≥ 8). Inactive anon 4, active anon 12: low (4 < 12).
        int pfn = 0;
        for (int i = 0; i < 40; i++) Add(pfn++, anon: false);
        for (int i = 0; i < 8; i++) Add(pfn++, anon: false, active: true);
        for (int i = 0; i < 4; i++) Add(pfn++, anon: true);
        for (int i = 0; i < 12; i++) Add(pfn++, anon: true, active: true);
        var sc = new ScanControl();
        sc.Reset(kswapd: true, 32, 60);
        sc.Priority = 5;
        _lv.PrepareScanControl(sc);
        Assert.That(sc.MayDeactivate, Is.EqualTo(ScanControl.DeactivateAnon));
        // 40 >> 5 = 1 and file may not deactivate: cache_trim_mode.
        Assert.That(sc.CacheTrimMode, Is.True);
        sc.Priority = 6; // 40 >> 6 = 0
        _lv.PrepareScanControl(sc);
        Assert.That(sc.CacheTrimMode, Is.False);
        // file + free = 48 + 1000 > high: not tiny. With free 0 and high 60: 48 ≤ 60 but anon may deactivate → not tiny.
        Assert.That(sc.FileIsTiny, Is.False);
        _host.FreePages = 0;
        _host.HighWatermark = 60;
        _lv.PrepareScanControl(sc);
        Assert.That(sc.FileIsTiny, Is.False);
    }

    [Test]
    public void ShrinkActiveListRotatesReferencedExecutableFilePagesOnly()
    {
        Make(8);
        // Active file: 0 (young, VM_EXEC), 1 (young, not exec), 2 (not young). Active anon: 3 (young, VM_EXEC).
        Add(0, anon: false, active: true);
        Add(1, anon: false, active: true);
        Add(2, anon: false, active: true);
        Add(3, anon: true, active: true);
        _host.Young[0] = 1; _host.Flags[0] = VmFlags.Exec | VmFlags.Read;
        _host.Young[1] = 1; _host.Flags[1] = VmFlags.Read;
        _host.Young[3] = 1; _host.Flags[3] = VmFlags.Exec;
        var sc = new ScanControl();
        sc.Reset(kswapd: true, 32, 60);
        _lv.ShrinkActiveList(32, sc, LruList.ActiveFile);
        // Processed from the tail: 0, 1, 2. Frame 0 goes back to the active list; 1 and 2 are deactivated with
        // PG_workingset set, in processing order to the inactive head: 2 ends first.
        Assert.That(List(LruList.ActiveFile), Is.EqualTo(new[] { 0 }));
        Assert.That(List(LruList.InactiveFile), Is.EqualTo(new[] { 2, 1 }));
        Assert.That(_host.Frames[1].Flags & FrameFlags.Workingset, Is.EqualTo(FrameFlags.Workingset));
        Assert.That(_host.Frames[0].Flags & FrameFlags.Workingset, Is.EqualTo(FrameFlags.None));
        Assert.That(Count("pgrefill"), Is.EqualTo(3));
        Assert.That(Count("pgdeactivate"), Is.EqualTo(2));
        // One rotation billed to the file cost (lists hold 4 pages: 1 > 4/4 is false, no decay).
        Assert.That(_lv.FileCost, Is.EqualTo(1));
        // The anonymous VM_EXEC page gets no such protection.
        _lv.ShrinkActiveList(32, sc, LruList.ActiveAnon);
        Assert.That(List(LruList.InactiveAnon), Is.EqualTo(new[] { 3 }));
        Assert.That(Count("pgdeactivate"), Is.EqualTo(3));
    }

    [Test]
    public void InactiveIsLowUsesTheSqrtRatioAboveOneGiB()
    {
        Make(600_000);
        // Below 1 GiB the ratio is 1: 100 inactive vs 101 active is low, vs 100 is not.
        int pfn = 0;
        for (int i = 0; i < 100; i++) Add(pfn++, anon: false);
        for (int i = 0; i < 100; i++) Add(pfn++, anon: false, active: true);
        Assert.That(_lv.InactiveIsLow(LruList.InactiveFile), Is.False);
        Add(pfn++, anon: false, active: true);
        Assert.That(_lv.InactiveIsLow(LruList.InactiveFile), Is.True);
        // 2 GiB of anon pages (524288): ratio int_sqrt(20) = 4. inactive 104858 × 4 = 419432 ≥ active 419430: not low;
        // with one page moved from inactive to active (104857 × 4 = 419428 < 419431) it is.
        for (int i = 0; i < 104858; i++) Add(pfn++, anon: true);
        for (int i = 0; i < 419430; i++) Add(pfn++, anon: true, active: true);
        Assert.That(_lv.InactiveIsLow(LruList.InactiveAnon), Is.False);
        int moved = _lv.Frames(LruList.InactiveAnon).First();
        _host.Frames[moved].Flags |= FrameFlags.Referenced;
        _lv.OnReferenced(moved); // folio_mark_accessed on a referenced inactive page activates it
        Assert.That(_lv.InactiveIsLow(LruList.InactiveAnon), Is.True);
    }

    [Test]
    public void RefaultActivatesOnlyWithinTheWorkingsetDistance()
    {
        Make(16);
        _host.SwapSpaceLeft = false; // the file workingset is then the active file list alone
        for (int pfn = 0; pfn < 3; pfn++) Add(pfn, anon: false, active: true);
        // Evict frame 8 (a file page, active before: PG_workingset) with the clock at 0.
        _host.Frames[8].Flags |= FrameFlags.Workingset;
        int shadow = _lv.WorkingsetEviction(8);
        Assert.That(_lv.NonresidentAge, Is.EqualTo(1));
        // Two more evictions: the clock is 3, the distance 3 = the active file list (3): recent.
        _lv.WorkingsetEviction(9);
        _lv.WorkingsetEviction(10);
        Assert.That(_lv.WorkingsetTestRecent(shadow, file: true), Is.True);
        _host.Frames[11] = Frame.Fresh(11);
        _lv.WorkingsetRefault(11, shadow);
        Assert.That(_host.Frames[11].Flags & (FrameFlags.Active | FrameFlags.Workingset), Is.EqualTo(FrameFlags.Active | FrameFlags.Workingset));
        Assert.That((Count("workingset_refault_file"), Count("workingset_activate_file"), Count("workingset_restore_file")), Is.EqualTo((1L, 1L, 1L)));
        // The activation advanced the clock to 4: the same shadow is now at distance 4 > 3: not recent.
        Assert.That(_lv.NonresidentAge, Is.EqualTo(4));
        _host.Frames[12] = Frame.Fresh(12);
        _lv.WorkingsetRefault(12, shadow);
        Assert.That(_host.Frames[12].Flags & FrameFlags.Active, Is.EqualTo(FrameFlags.None));
        Assert.That((Count("workingset_refault_file"), Count("workingset_activate_file")), Is.EqualTo((2L, 1L)));
        // With swap space the anon lists count too (a file page: active and inactive anon): 3 + 2 ≥ 4.
        _host.SwapSpaceLeft = true;
        Add(4, anon: true);
        Add(5, anon: true, active: true);
        Assert.That(_lv.WorkingsetTestRecent(shadow, file: true), Is.True);
        // An anon page's workingset is the file lists and active anon (not inactive anon): 3 + 1 = 4 ≥ 4.
        Assert.That(_lv.WorkingsetTestRecent(shadow, file: false), Is.True);
    }

    /// <summary>
    /// Inactive anon list, tail to head: small page 0, a THP (frames 512–1023, added in order so 512 is nearest the
    /// tail), small pages 1 and 2. At priority 0 (SCAN_EQUAL: all 515 pages) shrink_lruvec asks for 32 at a time.
    /// </summary>
    private ScanControl ThpList(bool splitThp)
    {
        Make(1024);
        Add(0, anon: true);
        for (int pfn = 512; pfn < 1024; pfn++)
        {
            _host.Frames[pfn].Flags |= FrameFlags.Thp;
            Add(pfn, anon: true);
        }
        Add(1, anon: true);
        Add(2, anon: true);
        _host.Young[512] = 1; // the folio's mapping is young once (its PMD)
        _host.SplitThp = splitThp;
        _host.HasSwap = false;
        var sc = new ScanControl();
        sc.Reset(kswapd: true, nrToReclaim: 2048, swappiness: 60);
        sc.Priority = 0;
        _lv.PrepareScanControl(sc);
        sc.MayDeactivate = 0;
        return sc;
    }

    [Test]
    public void IsolationTakesATHPWholeAndCountsItsPages()
    {
        ScanControl sc = ThpList(splitThp: false);
        _lv.ShrinkLruvec(sc);
        // Batch 1 (32 asked): page 0 (1), then the THP's entry 512 takes all 512 pages: 513 ≥ 32 ends it. 0 is reclaimed;
        // the folio was young once: kept (PG_referenced), its 512 pages back at the inactive head together.
        // Batch 2: pages 1, 2, then the folio again (514 pages): no young mapping now, so reclaimed whole (512 pages).
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 0, 1, 2, 512 }));
        Assert.That(sc.NrScanned, Is.EqualTo(513 + 514));
        Assert.That(sc.NrReclaimed, Is.EqualTo(3 + 512));
        Assert.That(Count("pgscan_anon"), Is.EqualTo(1027));
        Assert.That(Count("ecsmem_reclaim_referenced"), Is.EqualTo(512)); // the kept folio's pages
        Assert.That(List(LruList.InactiveAnon), Is.Empty); // the reclaimed folio's pages left with it (the host frees them)
        Assert.That(_host.ProgressPages, Is.EqualTo(515)); // 16 × 32 + 3 asked over the 17 calls; a whole folio costs no more
    }

    [Test]
    public void AKeptTHPGoesBackWholeWithOneSetOfFlags()
    {
        ScanControl sc = ThpList(splitThp: false);
        _host.Result[512] = FolioReclaimResult.Keep; // the second look keeps it too (a pinned-like outcome)
        _lv.ShrinkLruvec(sc);
        // After batch 2 the folio is back at the head whole: one entry, its head 512, that counts its 512 pages
        // (lruvec_add_folio's folio_nr_pages); its other pages are on no list of their own.
        int[] inactive = List(LruList.InactiveAnon);
        Assert.That(inactive, Is.EqualTo(new[] { 512 }));
        Assert.That(_lv.Size(LruList.InactiveAnon), Is.EqualTo(512));
        // PG_referenced was set by the first look (young) and cleared by the second (folio_check_references tests and
        // clears it), for every page of the folio alike.
        Assert.That(Enumerable.Range(512, 512).All(p => (_host.Frames[p].Flags & FrameFlags.Referenced) == 0), Is.True);
    }

    [Test]
    public void ATHPIsOneEntryWeighted512AndASplitMakesItsPagesEntriesBesideItsHead()
    {
        ScanControl _ = ThpList(splitThp: false);
        // lruvec_add_folio: the THP is its head's one entry, counted by folio_nr_pages; the other 511 pages are on no
        // list of their own. Tail to head: 0, the THP's head 512, 1, 2.
        Assert.That(List(LruList.InactiveAnon), Is.EqualTo(new[] { 2, 1, 512, 0 }));
        Assert.That(_lv.Size(LruList.InactiveAnon), Is.EqualTo(3 + 512));
        Assert.That(_lv.ListOf(700), Is.EqualTo(-1));
        // Marking any page accessed twice activates the folio: one move of its head, pgactivate counting 512 pages.
        _lv.OnReferenced(700);
        _lv.OnReferenced(1023);
        Assert.That(List(LruList.ActiveAnon), Is.EqualTo(new[] { 512 }));
        Assert.That(_lv.Size(LruList.ActiveAnon), Is.EqualTo(512));
        Assert.That(Count("pgactivate"), Is.EqualTo(512));
        Assert.That(Enumerable.Range(512, 512).All(p => (_host.Frames[p].Flags & FrameFlags.Active) != 0), Is.True);
        // lru_add_split_folio: the head keeps its place, now one page, and each other page joins its list beside it.
        _lv.SplitFolio(512);
        for (int p = 512; p < 1024; p++)
            _host.Frames[p].Flags &= ~FrameFlags.Thp;
        int[] active = List(LruList.ActiveAnon);
        Assert.That(active.Length, Is.EqualTo(512));
        Assert.That(active.OrderBy(p => p), Is.EqualTo(Enumerable.Range(512, 512)));
        Assert.That(_lv.Size(LruList.ActiveAnon), Is.EqualTo(512));
        Assert.That(_lv.Size(LruList.InactiveAnon), Is.EqualTo(3));
    }

    [Test]
    public void ASplitTHPsPagesAreReclaimedOneByOneInTheSameBatch()
    {
        ScanControl sc = ThpList(splitThp: true);
        _lv.ShrinkLruvec(sc);
        // Batch 2 reaches the folio (old now): the host splits it, reclaims page 512, and split_folio_to_list's other
        // 511 pages go through shrink_folio_list one by one, last page first (lru_add_split_folio list_add_tails them in
        // address order and lru_to_folio takes the list's tail), each taking a page's time of the reclaimer.
        int[] split = Enumerable.Range(513, 511).Reverse().ToArray();
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 0, 1, 2, 512 }.Concat(split).ToArray()));
        Assert.That(sc.NrReclaimed, Is.EqualTo(515));
        Assert.That(sc.NrScanned, Is.EqualTo(1027));
        // The reclaimer's time: every shrink_inactive_list call's min(nr, 32) before it isolates — 515 over the 17 calls
        // (16 × 32 + 3; those after batch 2 find the list empty) — and one page's for each of the 511 split pages.
        Assert.That(_host.ProgressPages, Is.EqualTo(515 + 511));
    }

    [Test]
    public void UnevictablePagesAreNotScannedUntilMunlocked()
    {
        Make(8);
        Add(0, anon: true);
        _lv.MoveToUnevictable(0);
        Assert.That(List(LruList.Unevictable), Is.EqualTo(new[] { 0 }));
        var sc = new ScanControl();
        sc.Reset(kswapd: false, 32, 60);
        sc.Priority = 0;
        _lv.PrepareScanControl(sc);
        _lv.ShrinkLruvec(sc);
        Assert.That(sc.NrScanned, Is.Zero);
        _lv.PutbackEvictable(0);
        Assert.That(List(LruList.InactiveAnon), Is.EqualTo(new[] { 0 }));
        Assert.That(_host.Frames[0].Flags & FrameFlags.Unevictable, Is.EqualTo(FrameFlags.None));
    }

    [Test]
    public void DirectReclaimLowersThePriorityUntilSomethingIsScanned()
    {
        // 100 inactive file pages: at priority p the scan is (pages left) >> p, first non-zero at p = 6. Every page
        // is reclaimable, so do_try_to_free_pages stops at the first priority whose cumulative reclaim reaches 32:
        // p6: 100 >> 6 = 1 (99 left), p5: 99 >> 5 = 3 (total 4, 96 left), p4: 96 >> 4 = 6 (10, 90 left),
        // p3: 90 >> 3 = 11 (21, 79 left), p2: 79 >> 2 = 19 (40 ≥ 32).
        Make(128);
        _host.SwapSpaceLeft = false;
        _host.HasSwap = false;
        for (int pfn = 0; pfn < 100; pfn++) Add(pfn, anon: false);
        var sc = new ScanControl();
        sc.Reset(kswapd: false, 32, 60);
        long got = NodeReclaim.DoTryToFreePages(_lv, sc);
        Assert.That(got, Is.EqualTo(40));
        Assert.That(sc.Priority, Is.EqualTo(2));
        Assert.That(Count("pgscan_direct"), Is.EqualTo(40));
        // The oldest pages went first.
        Assert.That(_host.Reclaimed.Take(3), Is.EqualTo(new[] { 0, 1, 2 }));
    }
}
