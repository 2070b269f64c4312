using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.Machine;
using NUnit.Framework;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The multi-gen LRU (Vmscan/LruGen.cs) on a handful of frames with the scripted host of <see cref="LruvecTests"/>,
/// every expected generation, order and count worked out by hand from mm/vmscan.c, include/linux/mm_inline.h,
/// mm/swap.c and mm/workingset.c (Linux 6.14+), and through the whole machine against the classic lists.
/// </summary>
public class LruGenTests
{
    /// <summary>The machine side: a clock, fault context and free swap the test sets; no page tables (nowalk aging).</summary>
    private sealed class FakeGenHost(LruvecTests.FakeHost host) : ILruGenHost
    {
        public ulong Jiffies { get; set; }
        public bool InLruFault { get; set; }
        public long Swap { get; set; } = 1000;
        public int Ooms { get; private set; }

        public long NrSwapPages(Lruvec lruvec) => Swap;

        public void MmList(Lruvec lruvec, List<int> mms) => mms.Clear();

        public void WalkMm(Lruvec lruvec, int mm, LruGenWalk walk) { }

        public int FolioReferenced(Lruvec lruvec, int pfn, LruGenWalk? walk, out VmFlags vmFlags) => host.FolioReferenced(pfn, out vmFlags);

        public void OutOfMemory() => Ooms++;
    }

    private LruvecTests.FakeHost _host = null!;
    private FakeGenHost _gen = null!;
    private Lruvec _lv = null!;
    private CounterRegistry _counters = null!;

    private void Make(int frames)
    {
        _host = new LruvecTests.FakeHost(frames);
        _gen = new FakeGenHost(_host);
        _counters = new CounterRegistry();
        _lv = new Lruvec(_host, _counters, new KernelCounters(_counters), 1);
        _lv.Initialize(frames);
        _lv.EnableLruGen(LruGenConfig.Core | LruGenConfig.MmWalk, 0, _gen);
    }

    private void Add(int pfn, bool anon, FrameFlags extra = 0)
    {
        ref Frame f = ref _host.Frames[pfn];
        f.Flags |= FrameFlags.Lru | (anon ? FrameFlags.Anon | FrameFlags.SwapBacked : 0) | extra;
        _lv.OnInserted(pfn, (ulong)pfn);
        _lv.LruAddDrain();
    }

    private long Count(string name) => _counters.All().First(kv => kv.Key == name).Value;

    private long SeqOf(int pfn)
    {
        int gen = _lv.LruGenFolioGen(pfn);
        for (long seq = _lv.MaxSeq; seq >= 0; seq--)
            if (seq % Lruvec.MaxNrGens == gen)
                return seq;
        return -1;
    }

    private static ScanControl Sc(int priority = 0) => new() { NrToReclaim = 32, Priority = priority, Swappiness = 60 };

    [Test]
    public void NewFoliosJoinTheGenerationLruGenFolioSeqNames()
    {
        Make(8);
        // lru_gen_init_lruvec: max_seq = MIN_NR_GENS + 1 = 3, min_seq 0 for both types: four generations.
        Assert.That((_lv.MaxSeq, _lv.MinSeq(0), _lv.MinSeq(1)), Is.EqualTo((3L, 0L, 0L)));
        Add(0, anon: false);                                    // file, outside a fault: MAX_NR_GENS back → seq max(3-4+1, 0) = 0
        Add(1, anon: true);                                     // anon not in the swap cache: MIN_NR_GENS back → seq 2
        Add(2, anon: false, FrameFlags.Workingset);             // file with PG_workingset: 3 back → seq 1
        Add(3, anon: true, FrameFlags.SwapCache);               // a swap-cache page outside a fault: like file → seq 0
        _gen.InLruFault = true;
        Add(4, anon: false);                                    // in a fault folio_add_lru sets PG_active: MIN_NR_GENS back → seq 2
        Add(5, anon: false, FrameFlags.Workingset);             // active with PG_workingset: the youngest, seq 3
        Assert.That(Enumerable.Range(0, 6).Select(SeqOf), Is.EqualTo(new long[] { 0, 2, 1, 0, 2, 3 }));
        // PG_active is only a messenger: on a generation list it is clear.
        Assert.That(_host.Frames[4].Flags & FrameFlags.Active, Is.EqualTo((FrameFlags)0));
        // The compatible sizes: generations max_seq and max_seq − 1 (seq 3, 2) count as active.
        Assert.That((_lv.Size(LruList.ActiveFile), _lv.Size(LruList.InactiveFile)), Is.EqualTo((2L, 2L)));
        Assert.That((_lv.Size(LruList.ActiveAnon), _lv.Size(LruList.InactiveAnon)), Is.EqualTo((1L, 1L)));
        Assert.That(_lv.LruGenProblem(), Is.Null);
    }

    [Test]
    public void EvictionTakesTheOldestGenerationFromItsTailAndNeverPutsARejectedFolioBackThere()
    {
        Make(8);
        for (int pfn = 0; pfn < 4; pfn++)
        {
            Add(pfn, anon: false); // all in seq 0, each at the head: the tail is page 0
            _host.Result[pfn] = FolioReclaimResult.Reclaimed;
        }
        _host.Young[1] = 1; // one young PTE: lru_gen_set_refs sets PG_referenced only → FOLIOREF_KEEP
        var sc = Sc();
        _lv.ShrinkLruvec(sc);
        // get_type_to_scan: no refaults anywhere → file; get_tier_idx 3 (nothing protected); scan_folios isolates 0,1,2,3
        // from the tail of seq 0, shrink_folio_list reclaims all but 1.
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 0, 2, 3 }));
        Assert.That(sc.NrReclaimed, Is.EqualTo(3));
        // try_to_inc_min_seq ran after isolation: seq 0 and 1 were empty for both types, and min_seq stops
        // MIN_NR_GENS short of max_seq: (2, 2). Page 1 would join seq max(0, min_seq) = min_seq, so it is put back
        // active instead (its PG_referenced cleared): seq max_seq − 1 = 2.
        Assert.That((_lv.MinSeq(0), _lv.MinSeq(1), _lv.MaxSeq), Is.EqualTo((2L, 2L, 3L)));
        Assert.That(SeqOf(1), Is.EqualTo(2));
        Assert.That(_host.Frames[1].Flags & (FrameFlags.Referenced | FrameFlags.Active), Is.EqualTo((FrameFlags)0));
        Assert.That(Count("pgscan_file"), Is.EqualTo(4));
        Assert.That(Count("pgsteal_file"), Is.EqualTo(3));
        Assert.That(Count("pgscan_direct"), Is.EqualTo(4));
        // lru_gen_eviction counted the three in evicted[file][tier 0].
        Assert.That(_lv.TierStats(1, 0).Evicted, Is.EqualTo(3));
        Assert.That(_lv.LruGenProblem(), Is.Null);
    }

    [Test]
    public void AFolioYoungTwiceIsActivatedIntoTheYoungestGeneration()
    {
        Make(4);
        Add(0, anon: false);
        Add(1, anon: false);
        _host.Result[0] = _host.Result[1] = FolioReclaimResult.Reclaimed;
        // Page 0 had PG_referenced from an earlier look: this young PTE makes lru_gen_set_refs trade it for
        // PG_workingset → FOLIOREF_ACTIVATE, and PG_active + PG_workingset put it in the youngest generation.
        _host.Frames[0].Flags |= FrameFlags.Referenced;
        _host.Young[0] = 1;
        _lv.ShrinkLruvec(Sc());
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 1 }));
        Assert.That(SeqOf(0), Is.EqualTo(_lv.MaxSeq));
        Assert.That(_host.Frames[0].Flags & (FrameFlags.Workingset | FrameFlags.Referenced), Is.EqualTo(FrameFlags.Workingset));
        Assert.That(Count("pgactivate"), Is.EqualTo(1));
    }

    [Test]
    public void AgingRetiresTheOldestGenerationIntoTheNextAndCountsItProtected()
    {
        Make(4);
        Add(0, anon: false);
        Add(1, anon: false);
        _gen.Jiffies = 250;
        // Four generations already: inc_max_seq first retires seq 0 (inc_min_seq moves its folios to seq 1 and counts
        // each in protected[file][tier 0]; reset_ctrl_pos then halves it into avg_total: (0 + 2) / 2 = 1).
        Assert.That(_lv.TryToIncMaxSeq(3, 60, false), Is.True);
        Assert.That((_lv.MaxSeq, _lv.MinSeq(1)), Is.EqualTo((4L, 1L)));
        Assert.That((SeqOf(0), SeqOf(1)), Is.EqualTo((1L, 1L)));
        Assert.That(_lv.TierStats(1, 0).AvgTotal, Is.EqualTo(1));
        Assert.That(_lv.GenBirth(0), Is.EqualTo(250UL), "the new youngest generation (seq 4, gen 0) is born now");
        // A stale seq does nothing (another aging got there first).
        Assert.That(_lv.TryToIncMaxSeq(3, 60, false), Is.False);
        Assert.That(_lv.LruGenProblem(), Is.Null);
    }

    [Test]
    public void AShadowKeepsMinSeqAndTheAccessCountAndARecentRefaultRestoresThem()
    {
        Make(4);
        Add(0, anon: false);
        // PG_referenced and counter 1: refs = 2, tier order_base_2(2) = 1.
        _host.Frames[0].Flags |= FrameFlags.Referenced | (FrameFlags)(1u << Lruvec.LruRefsPgoff);
        _lv.OnRemoved(0); // isolated
        int shadow = _lv.WorkingsetEviction(0);
        // token = min_seq[file] << LRU_REFS_WIDTH | (refs − 1) = 0 << 2 | 1, then the PG_workingset bit (0).
        Assert.That(shadow, Is.EqualTo(((0 << 2) | 1) << 1));
        Assert.That(_lv.TierStats(1, 1).Evicted, Is.EqualTo(1));
        // Refault into frame 1 in a fault: |max_seq (3) − 0| < MAX_NR_GENS → recent; refaulted[file][1], activate counted,
        // the counter restored to refs − 1 = 1 without PG_referenced.
        _gen.InLruFault = true;
        _host.Frames[1].Flags |= FrameFlags.Lru;
        _lv.WorkingsetRefault(1, shadow);
        Assert.That(_lv.TierStats(1, 1).Refaulted, Is.EqualTo(1));
        Assert.That(Count("workingset_refault_file"), Is.EqualTo(1));
        Assert.That(Count("workingset_activate_file"), Is.EqualTo(1));
        Assert.That(_host.Frames[1].Flags & Lruvec.LruRefsFlags, Is.EqualTo((FrameFlags)(1u << Lruvec.LruRefsPgoff)));
        // Four agings later the same shadow is MAX_NR_GENS away: a refault, but not recent.
        for (int i = 0; i < 4; i++)
            Assert.That(_lv.TryToIncMaxSeq(_lv.MaxSeq, 60, false), Is.True);
        _host.Frames[2].Flags |= FrameFlags.Lru;
        _lv.WorkingsetRefault(2, shadow);
        Assert.That(Count("workingset_refault_file"), Is.EqualTo(2));
        Assert.That(Count("workingset_activate_file"), Is.EqualTo(1));
        Assert.That(_lv.TierStats(1, 1).Refaulted + _lv.TierStats(1, 1).AvgRefaulted, Is.EqualTo(0), "the history halved away to nothing");
    }

    [Test]
    public void ATierThatRefaultsMoreThanTierZeroIsProtected()
    {
        // 99 tier-0 folios evicted without refaulting and 101 tier-1 folios evicted and all refaulted: for tier 1,
        // positive_ctrl_err(sp = {0 refaulted, 99 total, gain 2}, pv = {101, 101, gain 3}) is 101·163·2 ≤ 1·101·3 → false,
        // so get_tier_idx is 0 and a tier-1 folio in the oldest generation is moved up instead of being evicted.
        Make(210);
        for (int pfn = 0; pfn < 200; pfn++)
        {
            Add(pfn, anon: false);
            if (pfn >= 99)
                _host.Frames[pfn].Flags |= FrameFlags.Referenced | (FrameFlags)(1u << Lruvec.LruRefsPgoff);
            _lv.OnRemoved(pfn);
            int shadow = _lv.WorkingsetEviction(pfn);
            if (pfn >= 99)
                _lv.WorkingsetRefault(pfn, shadow);
            _host.Frames[pfn].Flags = FrameFlags.None;
        }
        Add(200, anon: false, FrameFlags.Referenced | (FrameFlags)(1u << Lruvec.LruRefsPgoff)); // refs 2: tier 1
        Add(201, anon: false);                                                                 // tier 0
        _host.Result[200] = _host.Result[201] = FolioReclaimResult.Reclaimed;
        _lv.ShrinkLruvec(Sc());
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 201 }));
        // folio_inc_gen: one generation up from min_seq 0, its access count cleared; counted in protected[file][1], which
        // try_to_inc_min_seq (seq 0 is empty now) carries into avg_total: (0 + 1 protected + 101 evicted) / 2 = 51.
        Assert.That(SeqOf(200), Is.EqualTo(1));
        Assert.That(_lv.MinSeq(1), Is.EqualTo(1));
        Assert.That(_lv.TierStats(1, 1).AvgTotal, Is.EqualTo(51));
        Assert.That(_lv.TierStats(1, 1).AvgRefaulted, Is.EqualTo(50));
        Assert.That(Count("pgrefill"), Is.EqualTo(1), "scan_folios counts the sorted folio in pgrefill");
    }

    [Test]
    public void MinTtlKillsWhenTheOldestGenerationIsTooYoung()
    {
        _host = null!;
        Make(4);
        var counters = _counters;
        _lv = new Lruvec(_host, counters, new KernelCounters(counters), 1);
        _lv.Initialize(4);
        _lv.EnableLruGen(LruGenConfig.Core, 1000, _gen); // 1000 ms = 250 jiffies
        Add(0, anon: false);
        var sc = new ScanControl { Priority = 0, Swappiness = 60 };
        _gen.Jiffies = 250; // born at 0: 0 + 250 < 250 is false → too young
        NodeReclaim.KswapdAgeNode(_lv, sc, hasSwap: true);
        Assert.That(_gen.Ooms, Is.EqualTo(1));
        _gen.Jiffies = 251;
        NodeReclaim.KswapdAgeNode(_lv, sc, hasSwap: true);
        Assert.That(_gen.Ooms, Is.EqualTo(1));
    }

    [TestCase("y", 7u)]
    [TestCase("n", 0u)]
    [TestCase("0x0007", 7u)]
    [TestCase("1", 1u)]
    [TestCase("0x0003", 3u)]
    [TestCase("017", 7u)]
    [TestCase("0xff", 7u)]
    public void EnabledTakesWhatTheSysfsFileTakes(string text, uint caps) =>
        Assert.That(LruGenConfig.ParseEnabled(text), Is.EqualTo(caps));

    [TestCase("maybe")]
    [TestCase("0x")]
    [TestCase("-1")]
    [TestCase("08")]
    public void EnabledRejectsWhatKstrtouintRejects(string text) => Assert.That(LruGenConfig.ParseEnabled(text), Is.Null);

    [Test]
    public void ABadKeyNamesTheFileLineAndValue()
    {
        const string yaml = "machine:\n  lru_gen: {enabled: maybe}\n";
        var e = Assert.Throws<Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader(yaml), "bad.yaml"))!;
        Assert.That(e.Message, Does.Contain("bad.yaml").And.Contain("2").And.Contain("maybe"));
        const string fifo = "machine:\n  policy: fifo\n  lru_gen: {enabled: y}\n";
        var f = Assert.Throws<Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader(fifo), "fifo.yaml"))!;
        Assert.That(f.Message, Does.Contain("linux policy"));
    }

    [Test]
    public void AsyncWritebackWithTheMultiGenLruBuildsAMachineWithBoth()
    {
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Yaml(true, writeback: "async")), "wb.yaml"));
        Assert.That(m.Kernel.Writeback, Is.Not.Null);
        Assert.That(m.Kernel.Lruvec!.LruGenEnabled, Is.True);
    }

    // ------------------------------------------------------------------ async writeback (sort_folio, PG_reclaim, rotation)

    [Test]
    public void ASwapOutUnderWritebackWaitsInTheSecondYoungestGenerationAndItsCompletionRotatesItToTheOldestTail()
    {
        Make(8);
        _host.Async = true;
        // Pages 0..3 anon in the swap cache (oldest generation, seq 0); page 4 too, but already under writeback (a write
        // reclaim started earlier); page 5 a clean file page in seq 0 that the anon-only scan leaves there.
        for (int pfn = 0; pfn < 5; pfn++)
        {
            Add(pfn, anon: true, FrameFlags.SwapCache | (pfn == 4 ? FrameFlags.Writeback : 0));
            _host.Result[pfn] = FolioReclaimResult.Writeback; // pageout starts an async write
        }
        Add(5, anon: false);
        Assert.That((SeqOf(0), SeqOf(4), SeqOf(5)), Is.EqualTo((0L, 0L, 0L)));
        var sc = new ScanControl { NrToReclaim = 32, Priority = 0, Swappiness = 200 };
        _lv.ShrinkLruvec(sc);
        // swappiness 200: get_type_to_scan picks anon. scan_folios from seq 0's tail: 0, 1, 2, 3 are isolated; 4 is under
        // writeback, so sort_folio's folio_inc_gen(reclaiming) moves it to seq 1 with PG_reclaim (pgrefill 1).
        Assert.That(Count("pgscan_direct"), Is.EqualTo(4));
        Assert.That(Count("pgrefill"), Is.EqualTo(1));
        Assert.That(SeqOf(4), Is.EqualTo(1));
        Assert.That(_host.Frames[4].Flags & FrameFlags.Reclaim, Is.EqualTo(FrameFlags.Reclaim));
        // try_to_inc_min_seq: anon's seq 0 is empty, seq 1 holds page 4 → min_seq (1, 0) (file keeps page 5 in seq 0).
        Assert.That((_lv.MinSeq(0), _lv.MinSeq(1), _lv.MaxSeq), Is.EqualTo((1L, 0L, 3L)));
        // shrink_folio_list: pageout started each write (PG_reclaim + PG_writeback): kept, nothing reclaimed. Put back,
        // lru_gen_folio_seq's PG_reclaim-and-writeback case puts each in the second youngest generation, seq
        // max_seq − MIN_NR_GENS + 1 = 2, which is not min_seq, so none is activated.
        Assert.That(sc.NrReclaimed, Is.Zero);
        for (int pfn = 0; pfn < 4; pfn++)
        {
            Assert.That(SeqOf(pfn), Is.EqualTo(2), $"page {pfn}");
            Assert.That(_host.Frames[pfn].Flags & (FrameFlags.Active | FrameFlags.Reclaim | FrameFlags.Writeback),
                Is.EqualTo(FrameFlags.Reclaim | FrameFlags.Writeback));
        }
        // The reclaimer's time covered the 4 isolated pages and the 1 held back; the batch's writes were unplugged once.
        Assert.That((_host.ProgressPages, _host.Unplugs), Is.EqualTo((5, 1)));
        Assert.That(_lv.LruGenProblem(), Is.Null);

        // folio_end_writeback for 4, then 0..3: PG_writeback and PG_reclaim cleared, folio_rotate_reclaimable →
        // lru_move_tail → lru_gen_add_folio(reclaiming): the oldest generation, max(max_seq − MAX_NR_GENS + 1, min_seq)
        // = max(0, 1) = seq 1, at the tail; PG_active (set by lru_gen_del_folio for seq 2, an active generation) cleared.
        foreach (int pfn in new[] { 4, 0, 1, 2, 3 })
        {
            _host.Frames[pfn].Flags &= ~(FrameFlags.Writeback | FrameFlags.Reclaim);
            _lv.RotateReclaimable(pfn);
            Assert.That(SeqOf(pfn), Is.EqualTo(1), $"page {pfn}");
            Assert.That(_host.Frames[pfn].Flags & FrameFlags.Active, Is.EqualTo((FrameFlags)0));
        }
        Assert.That(Count("pgrotated"), Is.EqualTo(5));
        Assert.That(_lv.LruGenProblem(), Is.Null);

        // Clean now: the next eviction takes seq 1 from its tail — the order the rotations appended them — and reclaims
        // all five (nr_to_reclaim 5 stops it there: should_abort_scan).
        for (int pfn = 0; pfn < 5; pfn++) _host.Result[pfn] = FolioReclaimResult.Reclaimed;
        var sc2 = new ScanControl { NrToReclaim = 5, Priority = 0, Swappiness = 200 };
        _lv.ShrinkLruvec(sc2);
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 3, 2, 1, 0, 4 }));
        Assert.That(Count("pgsteal_anon"), Is.EqualTo(5));
        Assert.That(_lv.LruGenProblem(), Is.Null);
    }

    [Test]
    public void ADirtyFileFolioWaitsForTheFlusherWhichReclaimWakesWhenAllItTookWasDirty()
    {
        Make(4);
        _host.Async = true;
        Add(0, anon: false, FrameFlags.Dirty);
        var sc = Sc();
        _lv.ShrinkLruvec(sc);
        // sort_folio: a dirty file folio not under writeback counts in nr.file_taken and nr.unqueued_dirty and waits a
        // generation with PG_reclaim (seq 0 → 1); nothing is isolated. try_to_shrink_lruvec: unqueued_dirty (1) equals
        // file_taken (1): wakeup_flusher_threads.
        Assert.That(SeqOf(0), Is.EqualTo(1));
        Assert.That(_host.Frames[0].Flags & (FrameFlags.Reclaim | FrameFlags.Dirty), Is.EqualTo(FrameFlags.Reclaim | FrameFlags.Dirty));
        Assert.That((sc.NrFileTaken, sc.NrUnqueuedDirty), Is.EqualTo((1L, 1L)));
        Assert.That(_host.FlusherWakeups, Is.EqualTo(1));
        Assert.That(Count("pgscan_direct"), Is.Zero);
        Assert.That(Count("pgrefill"), Is.EqualTo(1));
        Assert.That(_host.Reclaimed, Is.Empty);
        // A dirty folio is not rotated (folio_rotate_reclaimable's folio_test_dirty).
        _lv.RotateReclaimable(0);
        Assert.That(Count("pgrotated"), Is.Zero);
        // The flusher cleans it for I/O and writes it (PG_reclaim stays); at the end of the write it rotates to the
        // oldest file generation's tail: max(max_seq − 3, min_seq[file]) = max(0, 1) = seq 1.
        _host.Frames[0].Flags = (_host.Frames[0].Flags & ~FrameFlags.Dirty) | FrameFlags.Writeback;
        _host.Frames[0].Flags &= ~(FrameFlags.Writeback | FrameFlags.Reclaim);
        _lv.RotateReclaimable(0);
        Assert.That(Count("pgrotated"), Is.EqualTo(1));
        Assert.That(SeqOf(0), Is.EqualTo(_lv.MinSeq(1)));
        Assert.That(_lv.LruGenProblem(), Is.Null);
    }

    [Test]
    public void WithSynchronousWritesADirtyFileFolioIsIsolatedForPageoutAsBefore()
    {
        Make(4);
        Add(0, anon: false, FrameFlags.Dirty);
        _host.Result[0] = FolioReclaimResult.Reclaimed;
        _lv.ShrinkLruvec(Sc());
        // No flusher: sort_folio does not hold it back; shrink_folio_list's pageout writes and frees it.
        Assert.That(_host.Reclaimed, Is.EqualTo(new[] { 0 }));
        Assert.That(_host.Frames[0].Flags & FrameFlags.Reclaim, Is.EqualTo((FrameFlags)0));
        Assert.That(_host.FlusherWakeups, Is.Zero);
    }

    // ------------------------------------------------------------------ the whole machine

    private static string Yaml(bool mglru, int batch = 64, string? writeback = null) => $$$"""
        machine: {ram: 16M, swap: 32M, seed: 1, cpus: 2, batch: {{{batch}}}{{{(mglru ? ", lru_gen: {enabled: y}" : "")}}}{{{(writeback is null ? "" : ", writeback: " + writeback)}}}}
        processes:
          - name: p
            layout: {exec: {heap: 24M}}
            workload: {generator: "zipf:count=120000,pages=6144,alpha=0.8,writes=0.5,seed=11"}
          - name: q
            layout: {exec: {heap: 8M}}
            workload: {generator: "uniform:count=60000,pages=2048,writes=0.2,seed=12"}
        """;

    private static SimMachine Run(string yaml, bool check)
    {
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "mglru.yaml"));
        long ticks = 0;
        while (!m.Finished)
        {
            m.Env.RunTick();
            if (check && ++ticks % 50 == 0)
                Assert.That(InvariantChecker.Check(m), Is.Empty);
        }
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        return m;
    }

    [Test]
    public void TheSameWorkloadReclaimsDifferentlyUnderTheTwoLrusAndKeepsItsInvariants()
    {
        using var classic = Run(Yaml(false), check: false);
        using var mglru = Run(Yaml(true), check: true);
        long C(SimMachine m, string n) => m.Env.Counters.Get(n);
        TestContext.Out.WriteLine($"classic: pgscan {C(classic, "pgscan_kswapd") + C(classic, "pgscan_direct")} pgsteal {C(classic, "pgsteal_anon")} pgdeactivate {C(classic, "pgdeactivate")} pswpin {C(classic, "pswpin")}");
        TestContext.Out.WriteLine($"mglru:   pgscan {C(mglru, "pgscan_kswapd") + C(mglru, "pgscan_direct")} pgsteal {C(mglru, "pgsteal_anon")} pgdeactivate {C(mglru, "pgdeactivate")} pswpin {C(mglru, "pswpin")}");
        Assert.That(C(classic, "pgsteal_anon"), Is.GreaterThan(5000), "under pressure");
        Assert.That(C(mglru, "pgsteal_anon"), Is.GreaterThan(5000), "under pressure");
        // MGLRU ages by generations, not by deactivating an active list: it never counts pgdeactivate here (no MADV_COLD),
        // while shrink_active_list does on every pass of the classic lists.
        Assert.That(C(classic, "pgdeactivate"), Is.GreaterThan(0));
        Assert.That(C(mglru, "pgdeactivate"), Is.Zero);
        // Everything isolated from the oldest generation was cold enough to be a candidate: the classic lists scan each
        // inactive page, rotate the referenced ones and scan them again; MGLRU scans fewer pages per page it reclaims.
        double Ratio(SimMachine m) => (double)(C(m, "pgscan_kswapd") + C(m, "pgscan_direct")) / (C(m, "pgsteal_anon") + C(m, "pgsteal_file"));
        Assert.That(Ratio(mglru), Is.LessThan(Ratio(classic)));
        var lv = mglru.Kernel.Lruvec!;
        Assert.That(lv.MaxSeq, Is.GreaterThan(Lruvec.MinNrGens + 1), "kswapd and direct reclaim aged the lruvec");
        Assert.That(lv.MmStats[1], Is.GreaterThan(0), "the page-table walks found young PTEs");
    }

    [Test]
    public void UnderMglruSwapOutsStayResidentUnderWritebackAndEveryWriteIsCountedAsOnTheClassicLists()
    {
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Yaml(true, writeback: "async")), "mglru.yaml"));
        var wb = m.Kernel.Writeback!;
        var lv = m.Kernel.Lruvec!;
        int seenInFlight = 0;
        long ticks = 0;
        while (!m.Finished)
        {
            m.Env.RunTick();
            if (++ticks % 50 == 0)
                Assert.That(InvariantChecker.Check(m), Is.Empty);
            if (wb.NrWriteback == 0 || ticks % 16 != 0)
                continue;
            // Every page under writeback is resident, in the swap cache and on a generation list (sort_folio keeps it
            // out of reclaim's hands until its write ends); the gauge counts exactly them.
            int n = 0;
            Frame[] frames = m.Kernel.Zone.Frames;
            for (int pfn = 0; pfn < frames.Length; pfn++)
            {
                if ((frames[pfn].Flags & FrameFlags.Writeback) == 0)
                    continue;
                n++;
                Assert.That(frames[pfn].IsFree, Is.False);
                Assert.That(frames[pfn].Flags & (FrameFlags.SwapCache | FrameFlags.Lru), Is.EqualTo(FrameFlags.SwapCache | FrameFlags.Lru));
                Assert.That(m.Kernel.LruvecOf(pfn)!.LruGenFolioGen(pfn), Is.GreaterThanOrEqualTo(0));
            }
            Assert.That(n, Is.EqualTo(wb.NrWriteback));
            seenInFlight++;
        }
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        Assert.That(seenInFlight, Is.GreaterThan(0), "writes were in flight at some tick");
        long C(string name) => m.Env.Counters.Get(name);
        long written = C("nr_written"), pswpout = C("pswpout");
        // pageout counts each swap write in nr_vmscan_write and folio_end_writeback in nr_written, as on the classic path:
        // every write reclaim started has completed or is still in flight when the last access ends.
        Assert.That(pswpout, Is.GreaterThan(1000));
        Assert.That(C("nr_vmscan_write"), Is.EqualTo(pswpout));
        Assert.That(written + wb.NrWriteback, Is.EqualTo(pswpout));
        // Each completed PG_reclaim folio is rotated unless it was isolated or dirtied meanwhile (before: 0 rotations,
        // 0 written, since MGLRU's batches were never unplugged).
        Assert.That(C("pgrotated"), Is.GreaterThan(0).And.LessThanOrEqualTo(written));
        Assert.That(C("pgsteal_anon"), Is.GreaterThan(5000));
        Assert.That(lv.MaxSeq, Is.GreaterThan(Lruvec.MinNrGens + 1));
    }

    [Test]
    public void MglruWithAsyncWritebackDoesNotDependOnTheBatchSize()
    {
        using var one = Run(Yaml(true, batch: 1, writeback: "async"), check: false);
        using var many = Run(Yaml(true, writeback: "async"), check: false);
        var a = one.Env.Counters.All().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (name, value) in many.Env.Counters.All())
            Assert.That(a[name], Is.EqualTo(value), name);
        Assert.That(many.Env.Now, Is.EqualTo(one.Env.Now));
        Assert.That(many.Kernel.Lruvec!.MaxSeq, Is.EqualTo(one.Kernel.Lruvec!.MaxSeq));
    }

    [Test]
    public void MglruOutputDoesNotDependOnTheBatchSize()
    {
        using var one = Run(Yaml(true, batch: 1), check: false);
        using var many = Run(Yaml(true), check: false);
        var a = one.Env.Counters.All().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (name, value) in many.Env.Counters.All())
            Assert.That(a[name], Is.EqualTo(value), name);
        Assert.That(many.Env.Now, Is.EqualTo(one.Env.Now));
        Assert.That(many.Kernel.Lruvec!.MaxSeq, Is.EqualTo(one.Kernel.Lruvec!.MaxSeq));
    }
}
