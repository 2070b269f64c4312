using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Reporting;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// khugepaged (HugeMemory/Khugepaged.cs): wakes, progress and collapses worked out by hand from mm/khugepaged.c's
/// khugepaged_do_scan / khugepaged_scan_mm_slot / hpage_collapse_scan_pmd. A region is touched in 4 KiB pages first
/// (no VM_HUGEPAGE yet, so 4 KiB faults), then MADV_HUGEPAGE registers the mm (it has an anon_vma now) and, the list
/// having been empty, wakes the thread at once. Every test runs the full invariant check as it goes.
/// </summary>
public class KhugepagedTests
{
    private const int Huge = 512;
    private const ulong HugeSize = Huge * Page;

    /// <summary>
    /// A 10 MHz clock: 1 ms is 10,000 cycles, so a short trace lives through several wakes (the sleeps are
    /// milliseconds, turned into cycles at the configured clock).
    /// </summary>
    private static KernelOptions Opts(KhugepagedConfig k, int ramPages = 4096, int swapPages = 0) =>
        Options(ramPages, swapPages) with
        {
            Thp = new ThpConfig(ThpEnabled.Madvise, ThpDefrag.Madvise, true) { Khugepaged = k },
            Timing = EcsMem.Systems.Timing.TimingModel.Default with { ClockGHz = 0.01 },
        };

    private const ulong CyclesPerMs = 10_000;

    /// <summary>1 ms between wakes, 2 ms after a failed allocation.</summary>
    private static readonly KhugepagedConfig Fast = KhugepagedConfig.Default with { ScanSleepMillisecs = 1, AllocSleepMillisecs = 2 };

    private static MemoryAccess[] Touch(ulong start, int pages, int repeatLast = 0)
    {
        var a = new MemoryAccess[pages + repeatLast];
        for (int i = 0; i < pages; i++)
            a[i] = W(start + ((ulong)i * Page));
        for (int i = 0; i < repeatLast; i++)
            a[pages + i] = R(start); // keeps the task alive (one TLB-hit load after another) while khugepaged sleeps
        return a;
    }

    private static void Advise(SimMachine m, EcsMem.Ecs.Entity p, long after, ulong addr, ulong len) =>
        m.ScheduleAfterAccesses(after, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p)
        { Addr = addr, Len = len, Advice = (int)MadviseAdvice.HugePage });

    private static long MemInfoKb(SimMachine m, string name) =>
        MemInfo.Build(MemoryGauges.Read(m.Kernel)).Single(l => l.Name == name).Value;

    /// <summary>Wake <paramref name="n"/> has run and no collapse of it is still copying.</summary>
    private static bool WakeDone(EcsMem.Systems.HugeMemory.Khugepaged k, int n) => k.Wakes == n && !k.Collapsing;

    private static void RunChecked(SimMachine m, Func<bool> until)
    {
        long ticks = 0;
        while (!m.Finished && !until())
        {
            m.Env.RunTick();
            if (++ticks % 101 == 0)
                Assert.That(InvariantChecker.Check(m), Is.Empty);
        }
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void MadviseAfterTouchingCollapsesBothRangesInTheFirstWake()
    {
        // 4 MiB touched page by page: 1024 faults, no THP. MADV_HUGEPAGE after the last store registers the mm and wakes
        // khugepaged. Its scan (pages_to_scan 4096): trylock 1, PMD 0 collapsed (+512, mmap_lock dropped: back to
        // do_scan), PMD 1 collapsed (+512 again), the end of the VMAs: next slot is NULL, full_scans 1 (+1); a second
        // pass through the head ends the scan. 1 + 513 + 513 < 4096: the two collapses fit one wake.
        using var m = new SimMachine(Opts(KhugepagedConfig.Default));
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, Touch(Base, 2 * Huge, repeatLast: 8));
        Advise(m, p, 2 * Huge, Base, 2 * HugeSize);
        var k = m.Kernel.Khugepaged;
        RunChecked(m, () => WakeDone(k, 1));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(1024));
        Assert.That(k.PagesCollapsed, Is.EqualTo(2));
        Assert.That(k.FullScans, Is.EqualTo(1));
        Assert.That(Counter(m, "thp_collapse_alloc"), Is.EqualTo(2));
        Assert.That(Counter(m, "thp_collapse_alloc_failed"), Is.Zero);
        Assert.That(Counter(m, "thp_fault_alloc"), Is.Zero);
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(4096));
        Assert.That(MemInfoKb(m, "AnonPages"), Is.EqualTo(4096), "the old pages were freed, the new folios counted once");
        Assert.That(Mm(m, p).Rss, Is.EqualTo(1024UL));
        int head = PfnAt(m, p, Base);
        Assert.That(head % Huge, Is.Zero);
        Assert.That(PfnAt(m, p, Base + (511 * Page)), Is.EqualTo(head + 511));
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base + (7 * Page))).PmdMapped, Is.True);
        RunChecked(m, () => m.Finished);
    }

    [Test]
    public void OnePmdPerWakeWithPagesToScan512()
    {
        // pages_to_scan 512: 1 (trylock) + 512 for the first PMD reaches it, so each wake collapses one 2 MiB range.
        // 3 ranges: wakes 1, 2, 3 collapse them, scan_sleep (1 ms) apart; wake 4 finds the end of the VMAs (full_scans 1)
        // and, passing the head once, starts over (PMD 0 PMD-mapped already: 1 + 1 + 512 >= 512).
        using var m = new SimMachine(Opts(Fast with { PagesToScan = 512 }));
        var p = Add(m, "p", Anon(Base, 3 * Huge), 0, Touch(Base, 3 * Huge, repeatLast: 100_000));
        Advise(m, p, 3 * Huge, Base, 3 * HugeSize);
        var k = m.Kernel.Khugepaged;
        ulong gap = CyclesPerMs;
        ulong first = 0;
        for (int wake = 1; wake <= 3; wake++)
        {
            RunChecked(m, () => WakeDone(k, wake));
            if (wake == 1)
                first = m.Env.Now;
            else
                Assert.That(m.Env.Now, Is.GreaterThanOrEqualTo(first + ((ulong)(wake - 1) * gap)), "woken no earlier than scan_sleep after the last");
            Assert.That(k.PagesCollapsed, Is.EqualTo(wake));
            Assert.That(k.FullScans, Is.Zero);
            Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(wake * 2048));
        }
        RunChecked(m, () => k.Wakes == 4);
        Assert.That(k.PagesCollapsed, Is.EqualTo(3));
        Assert.That(k.FullScans, Is.EqualTo(1));
        Assert.That(k.LastResult, Is.EqualTo(EcsMem.Systems.HugeMemory.ScanResult.PmdMapped));
        Assert.That(Stats(m, p).Accesses, Is.LessThan(3 * Huge + 100_000), "the task was still running");
    }

    [TestCase(100, 411, false)]
    [TestCase(101, 411, true)]
    [TestCase(1, 511, true)]
    public void MaxPtesNoneBoundsTheEmptyEntries(int touched, int maxNone, bool collapses)
    {
        // 512 - touched empty entries: the scan stops at the (max_ptes_none + 1)th.
        using var m = new SimMachine(Opts(KhugepagedConfig.Default with { MaxPtesNone = maxNone }));
        var p = Add(m, "p", Anon(Base, Huge), 0, Touch(Base, touched, repeatLast: 8));
        Advise(m, p, touched, Base, HugeSize);
        var k = m.Kernel.Khugepaged;
        RunChecked(m, () => WakeDone(k, 1));
        Assert.That(k.PagesCollapsed, Is.EqualTo(collapses ? 1 : 0));
        Assert.That(Counter(m, "thp_scan_exceed_none_pte"), Is.EqualTo(collapses ? 0 : 1));
        // A collapse fills the holes: RSS becomes 512 pages (add_mm_counter for each empty entry).
        Assert.That(Mm(m, p).Rss, Is.EqualTo(collapses ? 512UL : (ulong)touched));
    }

    [Test]
    public void ReadOnlyRangeIsNotCollapsed()
    {
        // Loads only: every entry maps the zero page (none_or_zero 512 > 511): SCAN_EXCEED_NONE_PTE. With max_ptes_none
        // left at 511 and one store, the other 511 zero-page entries pass.
        using var m = new SimMachine(Opts(KhugepagedConfig.Default));
        var accesses = new MemoryAccess[Huge + 1];
        for (int i = 0; i < Huge; i++)
            accesses[i] = R(Base + ((ulong)i * Page));
        accesses[Huge] = R(Base);
        var p = Add(m, "p", Anon(Base, Huge), 0, accesses);
        m.ScheduleAfterAccesses(Huge, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p) { Addr = Base, Len = HugeSize, Advice = (int)MadviseAdvice.HugePage });
        RunChecked(m, () => m.Finished);
        Assert.That(m.Kernel.Khugepaged.IsRegistered(Mm(m, p).Id), Is.False, "no anon_vma: the zero page needs none");
        Assert.That(m.Kernel.Khugepaged.PagesCollapsed, Is.Zero);
    }

    [Test]
    public void FailedAllocationSleepsThenGivesUpTheWake()
    {
        // 1024 pages of RAM, 512 of them in the region: no free order-9 block. Wake 1: thp_collapse_alloc_failed, and
        // with progress 513 < 4096, khugepaged_alloc_sleep (2 ms here). The same scan then goes on: the next PMD range
        // is past the VMA (full scan 1), the head is passed a second time: the wake ends without a second attempt.
        using var m = new SimMachine(Opts(Fast, ramPages: 1024));
        var p = Add(m, "p", Anon(Base, Huge), 0, Touch(Base, Huge, repeatLast: 100_000));
        Advise(m, p, Huge, Base, HugeSize);
        var k = m.Kernel.Khugepaged;
        RunChecked(m, () => k.Wakes == 1);
        Assert.That(Counter(m, "thp_collapse_alloc_failed"), Is.EqualTo(1));
        ulong failedAt = m.Env.Now;
        Assert.That(k.FullScans, Is.Zero, "asleep in khugepaged_alloc_sleep, mid-scan");
        RunChecked(m, () => k.FullScans == 1);
        Assert.That(m.Env.Now - failedAt, Is.GreaterThanOrEqualTo(2 * CyclesPerMs), "after alloc_sleep_millisecs");
        Assert.That(Counter(m, "thp_collapse_alloc_failed"), Is.EqualTo(1));
        Assert.That(k.Wakes, Is.EqualTo(1), "the continuation is the same khugepaged_do_scan");
        RunChecked(m, () => k.Wakes == 2);
        Assert.That(Counter(m, "thp_collapse_alloc_failed"), Is.EqualTo(2), "the next wake tries again");
    }

    [Test]
    public void ExitDropsThePendingWake()
    {
        // After its collapse the task ends: its mm leaves the list, and the 10 s wake is dropped, so the run ends at the
        // task's exit, not 10 simulated seconds later.
        using var m = new SimMachine(Opts(KhugepagedConfig.Default));
        var p = Add(m, "p", Anon(Base, Huge), 0, Touch(Base, Huge, repeatLast: 8));
        Advise(m, p, Huge, Base, HugeSize);
        RunChecked(m, () => m.Finished);
        Assert.That(m.Kernel.Khugepaged.PagesCollapsed, Is.EqualTo(1));
        Assert.That(m.Kernel.Khugepaged.MmList, Is.Empty);
        Assert.That(m.Env.Events.Count, Is.Zero);
        Assert.That(m.Env.Now, Is.LessThan(10_000 * CyclesPerMs), "before the 10 s wake");
        Assert.That(Counter(m, "pgfree"), Is.GreaterThanOrEqualTo(1024), "the 512 old pages and then the folio were freed");
    }

    [Test]
    public void ARegistrationDuringTheTimedSleepWaitsForItsEnd()
    {
        // As on the real kernel (oracle/experiments/khugepaged-collapse.c: 0.02 s from an idle thread, 10.1-10.2 s when
        // the previous run's mm had left the list during the thread's 10 s sleep): A's collapse wakes the thread, which
        // then sleeps scan_sleep_millisecs (20 ms here); A exits, emptying the list; B registers before the sleep ends.
        // The wake_up does not end wait_event_timeout's sleep (its condition is the time): B is scanned at sleep_expire.
        using var m = new SimMachine(Opts(KhugepagedConfig.Default with { ScanSleepMillisecs = 20 }));
        var a = Add(m, "a", Anon(Base, Huge), 0, Touch(Base, Huge, repeatLast: 2));
        Advise(m, a, Huge, Base, HugeSize);
        var tail = new MemoryAccess[1 + 100_000];
        tail[0] = W(Base + (4 * HugeSize));
        for (int i = 1; i < tail.Length; i++)
            tail[i] = R(Base + (4 * HugeSize));
        var b = Add(m, "b", Anon(Base + (4 * HugeSize), Huge), 0, tail);
        Advise(m, b, 1, Base + (4 * HugeSize), HugeSize);
        var k = m.Kernel.Khugepaged;
        RunChecked(m, () => WakeDone(k, 1));
        ulong firstWake = m.Env.Now;
        Assert.That(k.PagesCollapsed, Is.EqualTo(1));
        RunChecked(m, () => k.IsRegistered(Mm(m, b).Id));
        ulong registered = m.Env.Now;
        Assert.That(Proc(m, a).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(registered, Is.LessThan(firstWake + (20 * CyclesPerMs)), "B came during the sleep");
        RunChecked(m, () => WakeDone(k, 2));
        Assert.That(m.Env.Now, Is.GreaterThanOrEqualTo(firstWake + (20 * CyclesPerMs)), "woken at sleep_expire, not at B's madvise");
        Assert.That(k.PagesCollapsed, Is.EqualTo(2), "B's range: 1 page and 511 empty entries (max_ptes_none 511)");
    }

    [Test]
    public void TheCollapseLandsAfterTheScanAndTheCopyOnTheThreadsCpu()
    {
        // One 2 MiB range written page by page, then MADV_HUGEPAGE: the wake at W scans PMD 0's 512 entries (each one
        // L3 hit: 512 × 40 = 20,480 cycles), allocates the folio and copies 512 pages (each two DRAM latencies:
        // 512 × 2 × 200 = 204,800). Until W + 225,280 the range is still mapped by its 4 KiB pages; then by the PMD.
        // The rest of the scan (the VMA's end, full_scans 1, the head passed twice) reads no entry: no more cost.
        using var m = new SimMachine(Opts(KhugepagedConfig.Default));
        var p = Add(m, "p", Anon(Base, Huge), 0, Touch(Base, Huge, repeatLast: 2000));
        Advise(m, p, Huge, Base, HugeSize);
        var k = m.Kernel.Khugepaged;
        Assert.That((k.ScanPteCycles, k.CopyPageCycles), Is.EqualTo((40L, 400L)), "latency.l3 and 2 × latency.memory");
        RunChecked(m, () => k.Collapsing);
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base)).PmdMapped, Is.False, "still copying");
        Assert.That(k.PagesCollapsed, Is.Zero);
        Assert.That(Counter(m, "thp_collapse_alloc"), Is.EqualTo(1), "alloc_charge_folio came before the copy");
        RunChecked(m, () => WakeDone(k, 1));
        Assert.That(k.LastCollapseAt - k.LastWakeAt, Is.EqualTo((ulong)(512 * 40 + 512 * 2 * 200)));
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base)).PmdMapped, Is.True);
        Assert.That((k.PagesCollapsed, k.FullScans), Is.EqualTo((1L, 1L)));
        Assert.That(m.Kernel.Cycles[EcsMem.Systems.Timing.CycleCategory.Kernel], Is.EqualTo(512 * 40 + 512 * 2 * 200));
        RunChecked(m, () => m.Finished);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void TheScanCostsTheEntriesItExaminesAndTheSleepStartsAfterIt()
    {
        // 200 pages written, max_ptes_none 100: hpage_collapse_scan_pmd stops at the 101st empty entry, index 300, having
        // examined 301 entries: 301 × 40 = 12,040 cycles, no collapse. scan_sleep_millisecs (1 ms = 10,000 cycles here)
        // starts when the work is done: the next wake is at W1 + 12,040 + 10,000, and costs the same again.
        using var m = new SimMachine(Opts(Fast with { MaxPtesNone = 100 }));
        var p = Add(m, "p", Anon(Base, Huge), 0, Touch(Base, 200, repeatLast: 100_000));
        Advise(m, p, 200, Base, HugeSize);
        var k = m.Kernel.Khugepaged;
        RunChecked(m, () => WakeDone(k, 1));
        ulong w1 = k.LastWakeAt;
        Assert.That(m.Kernel.Cycles[EcsMem.Systems.Timing.CycleCategory.Kernel], Is.EqualTo(301 * 40));
        Assert.That(Counter(m, "thp_scan_exceed_none_pte"), Is.EqualTo(1));
        RunChecked(m, () => WakeDone(k, 2));
        Assert.That(k.LastWakeAt, Is.EqualTo(w1 + 301 * 40 + CyclesPerMs));
        Assert.That(m.Kernel.Cycles[EcsMem.Systems.Timing.CycleCategory.Kernel], Is.EqualTo(2 * 301 * 40));
        Assert.That(k.PagesCollapsed, Is.Zero);
    }

    [TestCase(1, 1)]
    [TestCase(64, 1)]
    [TestCase(1, 4)]
    [TestCase(64, 4)]
    public void BatchSizeAndCpusDoNotMoveTheCollapse(int batch, int cpus)
    {
        // The wake is an event: the access stage stops at it whatever the batch, so the same accesses come before it.
        var results = new List<string>();
        foreach (int b in new[] { 1, batch })
        {
            using var m = new SimMachine(Opts(Fast with { PagesToScan = 512 }) with { BatchSize = b, Cpus = cpus });
            var p = Add(m, "p", Anon(Base, 2 * Huge), 0, Touch(Base, 2 * Huge, repeatLast: 50_000));
            Advise(m, p, 2 * Huge, Base, 2 * HugeSize);
            m.Run();
            Assert.That(InvariantChecker.Check(m), Is.Empty);
            results.Add(string.Join(",", m.Env.Now, m.Kernel.Khugepaged.PagesCollapsed, m.Kernel.Khugepaged.FullScans,
                m.Kernel.Khugepaged.Wakes, Counter(m, "thp_collapse_alloc"), Counter(m, "pgfault"), Counter(m, "pgfree")));
        }
        Assert.That(results[1], Is.EqualTo(results[0]));
    }

    private const string Procs = "processes:\n  - name: p\n    workload: {generator: \"zipf:count=10,pages=4,alpha=0.8,seed=1\"}\n";

    [Test]
    public void KhugepagedKeysAreParsedWrittenBackAndBadValuesNamed()
    {
        const string Yaml = "machine:\n  thp:\n    enabled: always\n    khugepaged: {pages_to_scan: 512, scan_sleep_millisecs: 1, max_ptes_none: 0, max_ptes_shared: 511}\n";
        var s = ScenarioParser.Parse(new StringReader(Yaml + Procs), "t.yaml");
        var expected = KhugepagedConfig.Default with { PagesToScan = 512, ScanSleepMillisecs = 1, MaxPtesNone = 0, MaxPtesShared = 511 };
        Assert.That(s.Machine.Thp.Khugepaged, Is.EqualTo(expected));
        Assert.That(s.Machine.Thp.Enabled, Is.EqualTo(ThpEnabled.Always));
        // The writer's flow map reads back the same (and says nothing when every knob is Linux's default).
        var w = new StringWriter();
        ScenarioWriter.Write(s, w);
        Assert.That(ScenarioParser.Parse(new StringReader(w.ToString()), "w.yaml").Machine.Thp, Is.EqualTo(s.Machine.Thp));
        Assert.That(ScenarioParser.Parse(new StringReader("machine:\n  ram: 16M\n" + Procs), "d.yaml").Machine.Thp.Khugepaged,
            Is.EqualTo(KhugepagedConfig.Default));
        foreach (var (bad, value) in new[] { ("max_ptes_none: 512", "512"), ("pages_to_scan: 0", "0"), ("scan_sleep_millisecs: 0", "0"), ("max_ptes_swap: -1", "-1"), ("bogus: 1", "bogus") })
        {
            var ex = Assert.Throws<EcsMem.Diagnostics.InputException>(() =>
                ScenarioParser.Parse(new StringReader("machine:\n  thp:\n    khugepaged: {" + bad + "}\n" + Procs), "t.yaml"));
            Assert.That(ex!.Message, Does.Contain("t.yaml").And.Contain(value), bad);
            Assert.That(ex.Message, Does.Not.Contain("\n"), "one line");
        }
    }
}
