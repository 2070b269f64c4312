using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.Timing;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Reclaim, swap and OOM on a 128-page machine with vm.min_free_kbytes = 32, worked out by hand:
/// min = 32 kB / 4 kB = 8 pages; delta = max(min/4 = 2, 128 × 10 / 10000 = 0) = 2; low = 10, high = 12.
/// At start the zero page and the process's pgd are used: 126 free. The first write takes a page and, at
/// install, the PUD, PMD and PTE tables: 122 free. Every later write to the same 2 MiB takes one page, so the
/// write to A[i] (i ≥ 1) sees 123 − i free pages. The policy is FIFO, so victims go in first-touch order.
/// </summary>
public class PhysicalMemoryTests
{
    private const int Ram = 128;

    // The hand-worked figures below count the buddy allocator's free pages against the watermarks (min 8, low 10,
    // high 12). With the per-CPU lists (Linux's default) freed pages would wait on them, up to pcp->high = max(low 10 /
    // 1 CPU, batch 1 << 2) = 10 pages outside NR_FREE_PAGES, and move every watermark crossing these tests work out;
    // they are about reclaim, swap and the OOM killer, so they keep the older buddy-only model (PerCpuZoneTests and
    // PerCpuPageSetTests cover the lists).
    private static KernelOptions Small(int swapPages = 64, int clusterMax = 1, long swapOutCycles = 3) =>
        Options(Ram, swapPages, minFreeKbytes: 32) with
        {
            PerCpuPages = false,
            SwapClusterMax = clusterMax,
            // kswapd's next batch comes after the previous batch's writes: 3 cycles here, so its batches
            // interleave with the next few accesses.
            Timing = TimingModel.Default with { SwapOutCycles = swapOutCycles },
        };

    private static ulong A(int i) => Base + ((ulong)i * Page);

    /// <summary>W(A0..A113) then 10 reads of A113: the write to A113 sees 10 free pages (≤ low) and wakes kswapd.</summary>
    private static List<MemoryAccess> WakeKswapd()
    {
        var t = new List<MemoryAccess>();
        for (int i = 0; i <= 113; i++) t.Add(W(A(i)));
        for (int i = 0; i < 10; i++) t.Add(R(A(113)));
        return t;
    }

    private static Entity AddPressure(SimMachine m, IEnumerable<MemoryAccess> tail)
    {
        var t = WakeKswapd();
        t.AddRange(tail);
        return m.AddProcess("p", Anon(Base, 200), Trace("p", [.. t]));
    }

    [Test]
    public void WatermarksAreTheHandComputedOnes()
    {
        using var m = new SimMachine(Small());
        Assert.That((m.Kernel.Zone.Watermarks.Min, m.Kernel.Zone.Watermarks.Low, m.Kernel.Zone.Watermarks.High), Is.EqualTo((8L, 10L, 12L)));
    }

    [Test]
    public void KswapdWakesAtLowAndReclaimsClusterBatchesUntilAboveHigh()
    {
        using var m = new SimMachine(Small());
        var p = AddPressure(m, []);
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(126));

        // A0..A112 written: 123 − 113 = 10 free, and no allocation has yet seen free ≤ low.
        RunUntilAccesses(m, p, 113);
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(10));
        Assert.That(Counter(m, "ecsmem_kswapd_wakeups"), Is.EqualTo(0));

        // The write to A113 sees 10 ≤ low: kswapd wakes; 10 > min, so the page is granted (9 free).
        // kswapd's first batch (SWAP_CLUSTER_MAX = 1 here) evicts A0: 10 free, not above high (12): again.
        RunUntilAccesses(m, p, 114);
        Assert.That(Counter(m, "ecsmem_kswapd_wakeups"), Is.EqualTo(1));
        Assert.That(Counter(m, "pageoutrun"), Is.EqualTo(1));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(10));

        // Batches 2, 3, 4 during the reads: 11, 12, 13 free; 13 > 12 → kswapd sleeps.
        RunUntilAccesses(m, p, 124);
        Assert.That(m.SwapOut.KswapdAwake, Is.False);
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(13));
        Assert.That(Counter(m, "pageoutrun"), Is.EqualTo(4));
        Assert.That(Counter(m, "pgsteal_kswapd"), Is.EqualTo(4));
        // Every victim's PTE was young (new PTEs are made young): scanned once to clear it, once to take it.
        Assert.That(Counter(m, "pgscan_kswapd"), Is.EqualTo(8));
        Assert.That(Counter(m, "pswpout"), Is.EqualTo(4));
        Assert.That(Counter(m, "allocstall_normal"), Is.EqualTo(0), "never at or below min");
        Assert.That(Counter(m, "pgsteal_direct"), Is.EqualTo(0));
        for (int i = 0; i < 4; i++)
            Assert.That(new Pte(Mm(m, p).Tables.Lookup(A(i))).IsSwap, Is.True, $"A{i} is in swap");
        Assert.That(PfnAt(m, p, A(4)), Is.GreaterThanOrEqualTo(0), "A4 stays");
        Assert.That(Mm(m, p).Rss, Is.EqualTo(114UL - 4));
        Assert.That(Mm(m, p).Mm.Struct.SwapEnts, Is.EqualTo(4UL));
        Assert.That(m.Kernel.Swap.UsedPages, Is.EqualTo(4));

        m.Run();
        Assert.That(m.Kernel.Swap.UsedPages, Is.EqualTo(0), "exit frees the swap slots");
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(Ram - 1));
    }

    [Test]
    public void DirectReclaimOnlyAtOrBelowMin()
    {
        // One page per batch and kswapd's next batch 90 000 cycles later (30 µs at 3 GHz): the writes outrun it.
        using var m = new SimMachine(Small(swapOutCycles: 90_000));
        var t = new List<MemoryAccess>();
        for (int i = 0; i <= 117; i++) t.Add(W(A(i)));
        var p = m.AddProcess("p", Anon(Base, 200), Trace("p", [.. t]));

        // A113: 10 free → wake kswapd, granted (9); kswapd evicts A0 (10) and sleeps for 90 000 cycles.
        // A114: 10 → 9; A115: 9 → 8 — both above min, no stall.
        RunUntilAccesses(m, p, 116);
        Assert.That(Counter(m, "allocstall_normal"), Is.EqualTo(0));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(8));
        // A116: 8 free is not above min → allocstall, direct reclaim evicts A1 (9), the retry is granted (8).
        RunUntilAccesses(m, p, 117);
        Assert.That(Counter(m, "allocstall_normal"), Is.EqualTo(1));
        // A117: the same again with A2.
        m.Run();
        Assert.That(Counter(m, "allocstall_normal"), Is.EqualTo(2));
        Assert.That(Counter(m, "pgsteal_direct"), Is.EqualTo(2));
        Assert.That(Counter(m, "pgscan_direct"), Is.EqualTo(4));
        Assert.That(Counter(m, "pgsteal_kswapd"), Is.EqualTo(1));
        Assert.That(Counter(m, "pgscan_kswapd"), Is.EqualTo(2));
        Assert.That(Counter(m, "ecsmem_kswapd_wakeups"), Is.EqualTo(1));
        // kswapd's second run found the node balanced (the process had exited): no batch.
        Assert.That(Counter(m, "pageoutrun"), Is.EqualTo(1));
        Assert.That(Counter(m, "pswpout"), Is.EqualTo(3));
    }

    [Test]
    public void SwappedOutPageComesBackWithItsContentAndAWriteReusesIt()
    {
        // page_cluster 0: no swap readahead, so the free-page counts below stay those worked out by hand
        // (readahead has its own tests: SwapInTests).
        using var m = new SimMachine(Small() with { PageCluster = 0 });
        var p = AddPressure(m, [R(A(0)), W(A(0))]);
        RunUntilAccesses(m, p, 1);
        ulong token = m.Kernel.Zone.Frames[PfnAt(m, p, A(0))].ContentToken;

        RunUntilAccesses(m, p, 124);
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(A(0))).IsSwap, Is.True);

        // The read of A0: not in the swap cache (the write completed synchronously and the page left it) →
        // major fault, swap-in; 13 free > low, so no reclaim.
        RunUntilAccesses(m, p, 125);
        int pfn = PfnAt(m, p, A(0));
        ref Frame f = ref m.Kernel.Zone.Frames[pfn];
        Assert.That(f.ContentToken, Is.EqualTo(token), "the content survived the trip through the swap area");
        Assert.That((f.Flags & FrameFlags.SwapCache) != 0, Is.True, "a read keeps the swap copy (swap is not half full)");
        // Linux 6.x do_swap_page: A0 was mapped only here when it went out (exclusive swap PTE), so even a read
        // maps it writable (clean): the write that follows needs no fault.
        var pte = new Pte(Mm(m, p).Tables.Lookup(A(0)));
        Assert.That(pte.Writable, Is.True);
        Assert.That(pte.Dirty, Is.False);
        Assert.That(Counter(m, "pswpin"), Is.EqualTo(1));
        Assert.That(Counter(m, "pgmajfault"), Is.EqualTo(1));
        Assert.That(Stats(m, p).MajFlt, Is.EqualTo(1));
        Assert.That(Stats(m, p).SwapIns, Is.EqualTo(1));
        Assert.That(Mm(m, p).Mm.Struct.SwapEnts, Is.EqualTo(3UL));
        long faults = Stats(m, p).MinFlt + Stats(m, p).MajFlt;

        // The write: no fault; the page stays in the swap cache with its slot (now stale: the PTE is dirty, so
        // reclaim writes it again), as Linux keeps it until reclaim or a full swap frees it.
        RunUntilAccesses(m, p, 126);
        Assert.That(PfnAt(m, p, A(0)), Is.EqualTo(pfn));
        Assert.That(Stats(m, p).MinFlt + Stats(m, p).MajFlt, Is.EqualTo(faults));
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(0));
        Assert.That(Counter(m, "ecsmem_cow_reuse"), Is.EqualTo(0));
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(A(0))).Dirty, Is.True);
        Assert.That((m.Kernel.Zone.Frames[pfn].Flags & FrameFlags.SwapCache) != 0, Is.True);
        Assert.That(m.Kernel.Swap.UsedPages, Is.EqualTo(4));
        Assert.That(m.Kernel.Zone.Frames[pfn].ContentToken, Is.EqualTo(token));
    }

    [Test]
    public void ExitFreesSwapCachePagesAndTheirSlots()
    {
        using var m = new SimMachine(Small());
        var p = AddPressure(m, [R(A(0))]);
        RunUntilAccesses(m, p, 125);
        int pfn = PfnAt(m, p, A(0));
        Assert.That((m.Kernel.Zone.Frames[pfn].Flags & FrameFlags.SwapCache) != 0, Is.True);
        m.Run();
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(m.Kernel.Swap.UsedPages, Is.EqualTo(0));
        Assert.That(m.Kernel.SwapCache.Count, Is.EqualTo(0));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(Ram - 1));
    }

    [Test]
    public void MunmapFreesSwapSlots()
    {
        using var m = new SimMachine(Small());
        var p = AddPressure(m, [R(A(4))]);
        m.ScheduleAfterAccesses(124, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = A(0), Len = 4 * Page });
        RunUntilAccesses(m, p, 124);
        Assert.That(m.Kernel.Swap.UsedPages, Is.EqualTo(4));
        RunUntil(m, () => m.AddressSpace.Log.Count == 1);
        Assert.That(m.Kernel.Swap.UsedPages, Is.EqualTo(0));
        Assert.That(Mm(m, p).Mm.Struct.SwapEnts, Is.EqualTo(0UL));
        Assert.That(Mm(m, p).Rss, Is.EqualTo(110UL), "the four zapped pages were not resident");
    }

    [Test]
    public void FilePagesAreDroppedOrWrittenBackNeverSwapped()
    {
        using var m = new SimMachine(Small());
        int fShared = m.Kernel.Files.Intern("/data/shared");
        int gPrivate = m.Kernel.Files.Intern("/data/private");
        const ulong fVa = Base + 0x10_0000, gVa = Base + 0x18_0000;
        // W(F0) and R(G0) are majors that take 1 page each (122 → 121 after the tables); then A[i] sees
        // 121 − i free and A111 is the first to see 10 (≤ low): kswapd wakes. Its four batches (9 → 13 free)
        // take the first four pages in FIFO order: F0 (dirty, shared: written back), G0 (clean: dropped
        // without I/O), A0 and A1 (swapped out).
        var t = new List<MemoryAccess> { W(fVa), R(gVa) };
        for (int i = 0; i <= 111; i++) t.Add(W(A(i)));
        for (int i = 0; i < 10; i++) t.Add(R(A(111)));
        t.Add(R(gVa)); // G0 was dropped: a major fault again
        var p = m.AddProcess("p", mm =>
        {
            Mmap(mm, Base, 200, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, fVa, 1, Prot.Read | Prot.Write, MapFlags.Shared, fShared);
            Mmap(mm, gVa, 1, Prot.Read, MapFlags.Private, gPrivate);
        }, Trace("p", [.. t]));

        RunUntilAccesses(m, p, 2 + 112 + 10);
        Assert.That(Counter(m, "pgsteal_kswapd"), Is.EqualTo(4));
        Assert.That(Counter(m, "pgsteal_file"), Is.EqualTo(2));
        Assert.That(Counter(m, "pgsteal_anon"), Is.EqualTo(2));
        Assert.That(Counter(m, "pswpout"), Is.EqualTo(2), "only anonymous pages go to swap");
        Assert.That(Counter(m, "ecsmem_file_writeback"), Is.EqualTo(1), "the dirty shared page is written back");
        // pgpgout in kB: 1 writeback + 2 swap writes of 4 kB; the clean file page costs no I/O.
        Assert.That(Counter(m, "pgpgout"), Is.EqualTo(12));
        Assert.That(m.Kernel.PageCache.Count, Is.EqualTo(0));
        Assert.That(Mm(m, p).Tables.Lookup(fVa), Is.EqualTo(0UL), "a file PTE is cleared, not turned into a swap entry");
        Assert.That(Mm(m, p).Mm.Struct.RssFile, Is.EqualTo(0UL));
        Assert.That(m.Kernel.Swap.UsedPages, Is.EqualTo(2));

        m.Run();
        Assert.That(Counter(m, "pgmajfault"), Is.EqualTo(3));
        Assert.That(Counter(m, "pgpgin"), Is.EqualTo(3 * 4));
    }

    [Test]
    public void OomKillsTheProcessWithTheHighestBadnessAndLogsLikeLinux()
    {
        // No swap: anonymous memory cannot be reclaimed. Quantum 1: p1 and p2 alternate access by access.
        // p1 writes a new page every access; p2 writes a new page every other access (reads C0 in between).
        // Free before each allocation: round 1 takes 1+3 pages each (125 → 117); then round 2m gives p1
        // 120 − 3m, round 2m+1 gives p1 119 − 3m and p2 118 − 3m. The first value ≤ min (8) is p1's in round
        // 75 (m = 37: 119 − 111 = 8); p2 saw 9 in round 73. Direct reclaim finds nothing → OOM.
        // p1 then has B0..B73 = 74 pages + 3 tables below the pgd → badness 77; p2 has C0..C36 = 37 + 3 = 40.
        using var m = new SimMachine(Options(Ram, swapPages: 0, minFreeKbytes: 32) with { Quantum = 1, PerCpuPages = false }); // buddy-only, as Small
        var t1 = new List<MemoryAccess>();
        for (int i = 0; i < 100; i++) t1.Add(W(Base + ((ulong)i * Page)));
        var t2 = new List<MemoryAccess>();
        for (int k = 1; k <= 120; k++) t2.Add(k % 2 == 1 ? W(Base + ((ulong)(k - 1) / 2 * Page)) : R(Base));
        var p1 = m.AddProcess("p1", Anon(Base, 100), Trace("p1", [.. t1]));
        var p2 = m.AddProcess("p2", Anon(Base, 100), Trace("p2", [.. t2]));
        m.Run();

        Assert.That(Proc(m, p1).State, Is.EqualTo(ProcessState.Killed));
        Assert.That(Proc(m, p1).ExitSignal, Is.EqualTo(9));
        Assert.That(Stats(m, p1).Accesses, Is.EqualTo(74));
        Assert.That(Proc(m, p2).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(Stats(m, p2).Accesses, Is.EqualTo(120));
        Assert.That(Counter(m, "oom_kill"), Is.EqualTo(1));
        // mm/oom_kill.c __oom_kill_process: total-vm 100 pages = 400 kB, anon-rss 74 × 4 = 296 kB,
        // pgtables = mm_pgtables_bytes >> 10 = 3 tables × 4 kB = 12 kB.
        Assert.That(m.Kernel.Oom.Log, Is.EqualTo(new[]
        {
            "Out of memory: Killed process 1 (p1) total-vm:400kB, anon-rss:296kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:12kB oom_score_adj:0",
        }));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(Ram - 1));
    }

    [Test]
    public void OomKillsTheFaultingProcessWhenItIsTheOnlyCandidate()
    {
        // One process writing 200 pages: A[i] sees 123 − i free, so A115 is the first to see 8 (≤ min).
        using var m = new SimMachine(Options(Ram, swapPages: 0, minFreeKbytes: 32) with { PerCpuPages = false }); // buddy-only, as Small
        var t = new List<MemoryAccess>();
        for (int i = 0; i < 200; i++) t.Add(W(A(i)));
        var p = m.AddProcess("a-very-long-process-name", Anon(Base, 200), Trace("p", [.. t]));
        m.Run();

        Assert.That(m.Finished, Is.True);
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Killed));
        Assert.That(Proc(m, p).ExitSignal, Is.EqualTo(9));
        Assert.That(Stats(m, p).Accesses, Is.EqualTo(115));
        // comm is cut to 15 characters (TASK_COMM_LEN 16); 115 pages = 460 kB; 200 pages of VMA = 800 kB.
        Assert.That(m.Kernel.Oom.Log, Is.EqualTo(new[]
        {
            "Out of memory: Killed process 1 (a-very-long-pro) total-vm:800kB, anon-rss:460kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:12kB oom_score_adj:0",
        }));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(Ram - 1));
    }
}
