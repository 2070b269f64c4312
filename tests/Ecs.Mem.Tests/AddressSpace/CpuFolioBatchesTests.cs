using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Reporting;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// The per-CPU lru_lazyfree and lru_deactivate folio batches (mm/swap.c, CpuFolioBatches). The kernel figures come from a C
/// program run on this project's machine (Linux 6.18 x86-64, 2026-12-05, pinned to one CPU with sched_setaffinity,
/// MADV_NOHUGEPAGE): it writes N pages of a fresh anonymous mapping, calls MADV_FREE and reads the VMA's smaps
/// LazyFree and /proc/vmstat pglazyfree, then does one more step and reads them again (every case run on CPU 0 and
/// CPU 1, the same figures). Its printed lines are quoted at each test. The expected values are computed from the
/// rule (31 folios a batch, PAGEVEC_SIZE), not copied from EcsMem.
/// </summary>
public class CpuFolioBatchesTests
{
    private const ulong X = 0x7f0000000000;
    private const int Batch = 31;

    /// <summary>
    /// A machine whose process has written <paramref name="pages"/> pages at X and the two pages after them (Y and
    /// Y + 4 KiB, the "another range" of the steps), then loops on them.
    /// </summary>
    private static SimMachine Written(int pages, string machine = "ram: 64M, swap: 0", bool cgroup = false)
    {
        int all = pages + 2;
        string yaml = "machine: {" + machine + "}\n" + (cgroup ? "cgroups:\n  - {name: box, memory.max: 32M}\n" : "")
            + "processes:\n  - name: p\n" + (cgroup ? "    cgroup: box\n" : "") + "    layout: {exec: {}}\n    workload:\n      generator: \"loop:count=100000000,base=0x7f0000000000,pages=" + all + ",writes=1\"\n"
            + "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: 0x7f0000000000, length: " + (all * 4096) + ", prot: rw-, flags: private, fixed: true}\n";
        SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "lazyfree.yaml"));
        m.Run(() => Stats(m).Accesses >= all, checkEvery: 1);
        return m;
    }

    private static ulong Y(int pages) => X + (ulong)pages * 4096;

    private static ProcessStats Stats(SimMachine m) => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]);

    private static MmState Mm(SimMachine m) => m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);

    private static long Madvise(SimMachine m, ulong start, long bytes, MadviseAdvice advice)
    {
        Entity who = m.Kernel.Tasks.Processes[0];
        return EcsMem.Systems.AddressSpace.Madvise.DoMadvise(m.Kernel, Mm(m), start, (ulong)bytes, advice, [], m.Env, who, m.Kernel.Tlb.CurrentCpu);
    }

    /// <summary>smaps' LazyFree (kB) of the pages in [start, end) of the process (smaps_account over the present PTEs).</summary>
    private static long LazyFreeKb(SimMachine m, ulong start, ulong end)
    {
        MmState mm = Mm(m);
        long kb = 0;
        for (ulong va = start; va < end; va += Pte.PageSize)
        {
            ref ulong slot = ref mm.Tables.Walk(va, out _);
            if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) || (slot & Pte.PresentBit) == 0)
                continue;
            var s = new SmapsRollup.MemSizeStats();
            SmapsRollup.Account(ref s, m.Kernel.Zone.Frames[(int)new Pte(slot).Pfn], false, (slot & Pte.DirtyBit) != 0, false);
            kb += (long)(s.LazyFree >> 10);
        }
        return kb;
    }

    private static long PgLazyFree(SimMachine m) => m.Env.Counters.Get("pglazyfree");

    /// <summary>The present pages of [start, end) whose frame has <paramref name="flag"/>.</summary>
    private static int PagesWith(SimMachine m, ulong start, ulong end, FrameFlags flag)
    {
        MmState mm = Mm(m);
        int n = 0;
        for (ulong va = start; va < end; va += Pte.PageSize)
        {
            ref ulong slot = ref mm.Tables.Walk(va, out _);
            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) && (slot & Pte.PresentBit) != 0
                && (m.Kernel.Zone.Frames[(int)new Pte(slot).Pfn].Flags & flag) != 0)
                n++;
        }
        return n;
    }

    [TestCase(1, 0)]
    [TestCase(30, 0)]
    [TestCase(31, 124)]
    [TestCase(32, 124)]
    [TestCase(61, 124)]
    [TestCase(62, 248)]
    [TestCase(63, 248)]
    [TestCase(1024, 4092)]
    public void TheBatchMovesEveryThirtyOneFolios(int pages, long kernelKb)
    {
        // Kernel: "free    1 pages: LazyFree     0 kB", "free   30 pages: LazyFree     0 kB", "free   31 pages: LazyFree
        // 124 kB", "free   32 pages: LazyFree   124 kB", "free   61 pages: 124 kB", "free   62 pages: 248 kB",
        // "free   63 pages: 248 kB", "free 1024 pages: LazyFree  4092 kB".
        using SimMachine m = Written(pages);
        long before = PgLazyFree(m);
        Assert.That(Madvise(m, X, pages * 4096L, MadviseAdvice.Free), Is.EqualTo(0));
        long moved = pages / Batch * Batch; // folio_batch_add_and_move: the batch moves when the 31st folio is in it
        Assert.That(LazyFreeKb(m, X, X + (ulong)pages * 4096), Is.EqualTo(moved * 4).And.EqualTo(kernelKb));
        Assert.That(PgLazyFree(m) - before, Is.EqualTo(moved), "pglazyfree counts a folio when its batch moves");
        Assert.That(m.Kernel.FolioBatches!.LazyfreePending, Is.EqualTo(pages - moved));
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
    }

    [TestCase("ram: 64M, swap: 0, lru_gen: {enabled: y}", false)]
    [TestCase("ram: 64M, swap: 0, cpus: 2", false)]
    [TestCase("ram: 64M, swap: 0", true)]
    public void TheBatchWorksWithMglruSeveralCpusAndCgroups(string machine, bool cgroup)
    {
        // The same 1,024-page rule as above ("free 1024 pages: LazyFree 4092 kB") on the multi-gen LRU, on a CPU of two
        // and in a memory cgroup's lruvec; the drain then moves the last folio to the file type as well.
        using SimMachine m = Written(1024, machine, cgroup);
        long before = PgLazyFree(m);
        Madvise(m, X, 1024 * 4096, MadviseAdvice.Free);
        Assert.That(LazyFreeKb(m, X, X + 1024 * 4096), Is.EqualTo(4092));
        Assert.That(PgLazyFree(m) - before, Is.EqualTo(33 * Batch));
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
        m.Kernel.LruAddDrainCpu(m.Kernel.Tlb.CurrentCpu);
        Assert.That(LazyFreeKb(m, X, X + 1024 * 4096), Is.EqualTo(4096));
        Assert.That(PgLazyFree(m) - before, Is.EqualTo(1024));
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
    }

    [Test]
    public void ASecondMadvFreeDrainsTheFirstOnesBatch()
    {
        // Kernel: "free twice: after 1st 4092 kB, after 2nd 4096 kB, pglazyfree +1 in 2nd" and "free other 1 page:
        // 4092 -> 4096 kB (other 0)": madvise_free_single_vma begins with lru_add_drain.
        using SimMachine m = Written(1024);
        Madvise(m, X, 1024 * 4096, MadviseAdvice.Free);
        long after1 = PgLazyFree(m);
        Madvise(m, X, 1024 * 4096, MadviseAdvice.Free);
        Assert.That(LazyFreeKb(m, X, X + 1024 * 4096), Is.EqualTo(4096));
        Assert.That(PgLazyFree(m) - after1, Is.EqualTo(1), "the pending folio moves; the others are no longer swap-backed");
        Assert.That(m.Kernel.FolioBatches!.LazyfreePending, Is.EqualTo(0));

        using SimMachine m2 = Written(1024);
        Madvise(m2, X, 1024 * 4096, MadviseAdvice.Free);
        Madvise(m2, Y(1024), 4096, MadviseAdvice.Free);
        Assert.That(LazyFreeKb(m2, X, X + 1024 * 4096), Is.EqualTo(4096));
        Assert.That(LazyFreeKb(m2, Y(1024), Y(1024) + 4096), Is.EqualTo(0), "Y's folio waits in the batch now");
        Assert.That(m2.Kernel.FolioBatches!.LazyfreePending, Is.EqualTo(1));
    }

    [Test]
    public void ZapsAndFaultsDoNotDrainButColdAndReclaimDo()
    {
        // Kernel: "munmap other: 4092 -> 4092 kB", "dontneed other: 4092 -> 4092 kB", "fault 62 new: 4092 -> 4092 kB",
        // "cold other: 4092 -> 4096 kB" (madvise_cold's lru_add_drain).
        using SimMachine m = Written(1024);
        Madvise(m, X, 1024 * 4096, MadviseAdvice.Free);
        m.Kernel.Memory.ZapRange(Mm(m), Y(1024), Y(1024) + 4096); // MADV_DONTNEED / munmap's zap of another page
        Assert.That(LazyFreeKb(m, X, X + 1024 * 4096), Is.EqualTo(4092));
        Madvise(m, Y(1024) + 4096, 4096, MadviseAdvice.Cold);
        Assert.That(LazyFreeKb(m, X, X + 1024 * 4096), Is.EqualTo(4096));

        // Reclaim's lru_add_drain (shrink_inactive_list and shrink_active_list drain their CPU first).
        using SimMachine r = Written(1024);
        Madvise(r, X, 1024 * 4096, MadviseAdvice.Free);
        r.Kernel.Lruvec!.LruAddDrain();
        Assert.That(LazyFreeKb(r, X, X + 1024 * 4096), Is.EqualTo(4096));
        Assert.That(r.Kernel.Lruvec.Size(EcsMem.Systems.Vmscan.LruList.InactiveFile), Is.GreaterThanOrEqualTo(1024));
    }

    [Test]
    public void AZappedFolioWaitsForTheBatchAndIsFreedWhenItMoves()
    {
        // Kernel: "munmap self: pglazyfree +1024 at free, +0 at munmap" and "dontneed self: +1024 at free, +0 at
        // dontneed" (each +1024 = the previous case's pending folio, counted at this MADV_FREE's first drain, + 1,023),
        // then the next MADV_FREE elsewhere counts the zapped folio: "child free +1023, exit +0, next drain +1" (a
        // child's exit does not drain either). The batch's reference keeps the zapped folio allocated until then.
        using SimMachine m = Written(1024);
        Madvise(m, X, 1024 * 4096, MadviseAdvice.Free);
        long afterFree = PgLazyFree(m);
        var b = m.Kernel.FolioBatches!;
        int pending = -1;
        for (int pfn = 0; pfn < m.Kernel.Zone.Frames.Length; pfn++)
            if (b.Held(pfn) > 0)
                pending = pfn;
        Assert.That(pending, Is.GreaterThanOrEqualTo(0));
        m.Kernel.Memory.ZapRange(Mm(m), X, X + 1024 * 4096);
        Assert.That(PgLazyFree(m), Is.EqualTo(afterFree), "the zap does not drain");
        Assert.That(m.Kernel.Zone.Frames[pending].IsFree, Is.False, "the batch still holds a reference");
        Assert.That(m.Kernel.Zone.Frames[pending].MapCount, Is.EqualTo(0));
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);

        Madvise(m, Y(1024), 4096, MadviseAdvice.Free); // the next lru_add_drain on this CPU
        Assert.That(PgLazyFree(m) - afterFree, Is.EqualTo(1), "lru_lazyfree counts the zapped folio at the drain");
        Assert.That(m.Kernel.Zone.Frames[pending].IsFree, Is.True, "folios_put freed it");
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
    }

    [Test]
    public void AFolioWrittenAgainBeforeTheDrainIsNotLazyFree()
    {
        // Kernel: "write again: 4092 -> 0 kB" (smaps counts a dirty page in no LazyFree). lru_lazyfree does not look at
        // the dirty bit, so the drain still clears PG_swapbacked and counts it; reclaim makes it swap-backed again.
        using SimMachine m = Written(1024);
        Madvise(m, X, 1024 * 4096, MadviseAdvice.Free);
        MmState mm = Mm(m);
        for (ulong va = X; va < X + 1024 * 4096; va += Pte.PageSize)
            mm.Tables.Walk(va, out _) |= Pte.DirtyBit | Pte.AccessedBit;
        Assert.That(LazyFreeKb(m, X, X + 1024 * 4096), Is.EqualTo(0));
        long before = PgLazyFree(m);
        m.Kernel.LruAddDrainCpu(m.Kernel.Tlb.CurrentCpu);
        Assert.That(PgLazyFree(m) - before, Is.EqualTo(1));
        Assert.That(LazyFreeKb(m, X, X + 1024 * 4096), Is.EqualTo(0));
    }

    [TestCase(1024, 1)]
    [TestCase(31, 0)]
    [TestCase(30, 30)]
    [TestCase(62, 0)]
    public void MadvColdDeactivatesThroughTheLruDeactivateBatch(int pages, int kernelStillActive)
    {
        // Kernel (cold.c: a memfd's pages read twice with pread, so folio_mark_accessed activated them, mapped and
        // read, then MADV_COLD; PG_active and PG_lru read from /proc/kpageflags, CPUs 0 and 1 alike):
        // "1024 pages: after cold (+1023 deact) active 1 lru 1024", "after free other (+1) active 0";
        // "31 pages: after cold (+31 deact) active 0"; "30 pages: after cold (+0 deact) active 30", "after free other
        // (+30) active 0"; "62 pages: after cold (+62 deact) active 0". A batched folio keeps PG_lru and its place.
        // Here the anonymous pages are activated the same way (folio_mark_accessed twice each).
        using SimMachine m = Written(pages);
        var lv = m.Kernel.Lruvec!;
        lv.LruAddDrain();
        MmState mm = Mm(m);
        for (ulong va = X; va < Y(pages); va += Pte.PageSize)
        {
            int pfn = (int)new Pte(mm.Tables.Walk(va, out _)).Pfn;
            lv.OnReferenced(pfn);
            lv.OnReferenced(pfn);
        }
        Assert.That(PagesWith(m, X, Y(pages), FrameFlags.Active), Is.EqualTo(pages));
        long before = m.Env.Counters.Get("pgdeactivate");
        Madvise(m, X, pages * 4096L, MadviseAdvice.Cold);
        int moved = pages / Batch * Batch;
        Assert.That(PagesWith(m, X, Y(pages), FrameFlags.Active), Is.EqualTo(pages - moved).And.EqualTo(kernelStillActive));
        Assert.That(PagesWith(m, X, Y(pages), FrameFlags.Lru), Is.EqualTo(pages));
        Assert.That(m.Env.Counters.Get("pgdeactivate") - before, Is.EqualTo(moved));
        Assert.That(lv.Size(EcsMem.Systems.Vmscan.LruList.ActiveAnon), Is.GreaterThanOrEqualTo(pages - moved));
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
        Madvise(m, Y(pages), 4096, MadviseAdvice.Free); // any lru_add_drain on this CPU moves the rest
        Assert.That(PagesWith(m, X, Y(pages), FrameFlags.Active), Is.EqualTo(0));
        Assert.That(m.Env.Counters.Get("pgdeactivate") - before, Is.EqualTo(pages));
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
    }
}
