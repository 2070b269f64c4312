using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.Swap;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Swap-in as Linux 6.x does it (mm/memory.c do_swap_page, mm/swap_state.c swapin_readahead): an exclusive page
/// comes back writable, readahead brings a page-cluster of neighbours into the swap cache, vm_swap_full frees slots.
/// The expected counts are worked out by hand in each test from Linux's rules; the comparison with the real kernel
/// is <see cref="SwapKernelAgreementTests"/>.
/// </summary>
public class SwapInTests
{
    private const ulong X = Base;                  // the region read back
    private const ulong Y = Base + (64UL << 20);   // the region that pushes it out

    /// <summary>
    /// Writes <paramref name="xPages"/> pages of X, then <paramref name="yPages"/> of Y (pushing all of X out to
    /// swap, oldest first with FIFO, so X's page i gets slot i + 1: slot 0 is the header), then runs
    /// <paramref name="then"/>.
    /// </summary>
    private static (SimMachine M, Entity P) SwapOutThen(int xPages, int yPages, KernelOptions options, params MemoryAccess[] then)
    {
        var trace = new List<MemoryAccess>();
        for (int i = 0; i < xPages; i++)
            trace.Add(W(X + ((ulong)i * Page)));
        for (int i = 0; i < yPages; i++)
            trace.Add(W(Y + ((ulong)i * Page)));
        trace.AddRange(then);
        var m = new SimMachine(options);
        Entity p = Add(m, "p", mm =>
        {
            Anon(X, (ulong)xPages)(mm);
            Anon(Y, (ulong)yPages)(mm);
        }, 0, [.. trace]);
        RunUntilAccesses(m, p, xPages + yPages);
        return (m, p);
    }

    private static MemoryAccess[] Sweep(ulong start, int pages, Func<ulong, MemoryAccess> kind) =>
        [.. Enumerable.Range(0, pages).Select(i => kind(start + ((ulong)i * Page)))];

    private static KernelOptions Small(int pageCluster = 3, bool vma = false) =>
        Options(ramPages: 512, swapPages: 4096) with { PageCluster = pageCluster, SwapVmaReadahead = vma };

    [Test]
    public void SwappedOutRegionIsInConsecutiveSlotsBeforeTheReadBack()
    {
        var (m, p) = SwapOutThen(256, 1024, Small());
        using (m)
        {
            MmState mm = Mm(m, p);
            for (int i = 0; i < 256; i++)
            {
                var pte = new Pte(mm.Tables.Lookup(X + ((ulong)i * Page)));
                Assert.That(pte.IsSwap, Is.True, $"page {i} swapped out");
                Assert.That((int)pte.ToSwapEntry().Offset, Is.EqualTo(i + 1), $"page {i}'s slot");
                Assert.That(pte.Value & Pte.SwpExclusiveBit, Is.Not.Zero, "mapped once when swapped out: exclusive");
            }
        }
    }

    /// <summary>
    /// page-cluster 3, cluster readahead, 256 pages in slots 1..256 read in order. swapin_nr_pages starts with 4
    /// hits: 4 + 2 = 6, rounded up to 8. The first fault (slot 1) reads the aligned block 0..7 less the header:
    /// slots 2..7 ahead (6). Each later block 8k..8k+7 is read by the fault on its first slot after 7 hits (window 8):
    /// 31 blocks 8..255 with 7 ahead each; slot 256's block 256..263 also reads slots 257..263, which hold the first
    /// 7 pages of Y (swapped out after X). Majors 1 + 31 + 1 = 33, readahead 6 + 31 × 7 + 7 = 230 pages, 223 of them
    /// hit (all of X's), and pswpin 256 + 7 = 263.
    /// </summary>
    [Test]
    public void SequentialReadBackWithPageCluster3IsOneMajorFaultPerEightPages()
    {
        var (m, p) = SwapOutThen(256, 1024, Small(), Sweep(X, 256, R));
        using (m)
        {
            long maj0 = Stats(m, p).MajFlt, min0 = Stats(m, p).MinFlt;
            long pswpin0 = Counter(m, "pswpin"), ra0 = Counter(m, "swap_ra"), hit0 = Counter(m, "swap_ra_hit");
            RunUntilAccesses(m, p, 256 + 1024 + 256);
            Assert.That(Stats(m, p).MajFlt - maj0, Is.EqualTo(33));
            Assert.That(Stats(m, p).MinFlt - min0, Is.EqualTo(256 - 33));
            Assert.That(Counter(m, "swap_ra") - ra0, Is.EqualTo(230));
            Assert.That(Counter(m, "swap_ra_hit") - hit0, Is.EqualTo(223));
            Assert.That(Counter(m, "pswpin") - pswpin0, Is.EqualTo(263));
        }
    }

    /// <summary>
    /// The same read-back with swapin_nr_pages' statics started where an earlier process left them
    /// (<c>machine.swap_ra_hits</c> / <c>swap_ra_window</c>). Hits 0, window 8 (what a tmpfs-swap-memcg run leaves the
    /// next one on 6.18, oracle/experiments/shmem-swapin-ra): slot 1 is next to prev_offset 0, so 2, raised to half of
    /// 8: block 0..3, slots 2..3 ahead (2); slot 4 after 2 hits: 4, block 4..7, 3 ahead; slot 8 after 3 hits: 8, and
    /// the 31 blocks and Y's 7 as before. Majors 2 + 31 + 1 = 34, readahead 2 + 3 + 31 × 7 + 7 = 229, hits 222.
    /// Hits 0, window 0: block 0..1 (nothing ahead), then slot 2 next to slot 1: 2, block 2..3 (1 ahead), slot 4 after
    /// 1 hit: 4 (3 ahead), slot 8 after 3: 8. Majors 3 + 31 + 1 = 35, readahead 1 + 3 + 217 + 7 = 228, hits 221.
    /// </summary>
    [TestCase(0, 8, 34, 229, 222)]
    [TestCase(0, 0, 35, 228, 221)]
    public void ReadBackStartsFromTheSwapReadaheadStateTheMachineWasLeftIn(int hits, int window, int majors, int ra, int raHits)
    {
        var (m, p) = SwapOutThen(256, 1024, Small() with { SwapRaHits = hits, SwapRaWindow = window }, Sweep(X, 256, R));
        using (m)
        {
            long maj0 = Stats(m, p).MajFlt, min0 = Stats(m, p).MinFlt;
            long pswpin0 = Counter(m, "pswpin"), ra0 = Counter(m, "swap_ra"), hit0 = Counter(m, "swap_ra_hit");
            RunUntilAccesses(m, p, 256 + 1024 + 256);
            Assert.That(Stats(m, p).MajFlt - maj0, Is.EqualTo(majors));
            Assert.That(Stats(m, p).MinFlt - min0, Is.EqualTo(256 - majors));
            Assert.That(Counter(m, "swap_ra") - ra0, Is.EqualTo(ra));
            Assert.That(Counter(m, "swap_ra_hit") - hit0, Is.EqualTo(raHits));
            Assert.That(Counter(m, "pswpin") - pswpin0, Is.EqualTo(256 + 7));
        }
    }

    /// <summary>
    /// swapin_nr_pages' prev_offset as an earlier process left it (<c>machine.swap_ra_prev_offset</c>): with no hits and no
    /// window, a swap-in next to it reads 2 slots, elsewhere 1. The read-back from page 8 (slot 9): prev_offset 10 makes
    /// slot 9 adjacent, window 2, block 8..9, so slot 8 (page 7, never touched) is read ahead; prev_offset 100 gives
    /// window 1. Both then set prev_offset to 9 (no hits), so slot 10 gets 2 (block 10..11), slot 12 after 1 hit 4, and
    /// on as one run: one readahead page more, the same majors.
    /// </summary>
    [Test]
    public void AHitlessSwapInNextToThePreviousRunsLastOffsetReadsAhead()
    {
        long[] ra = new long[2], majors = new long[2];
        int[] prev = [10, 100];
        for (int i = 0; i < 2; i++)
        {
            var (m, p) = SwapOutThen(256, 1024, Small() with { SwapRaHits = 0, SwapRaWindow = 0, SwapRaPrevOffset = prev[i] }, Sweep(X + (8 * Page), 248, R));
            using (m)
            {
                Assert.That(m.Kernel.SwapReadahead.ClusterState, Is.EqualTo((0, (long)prev[i], 0)), "the statics as the machine starts them");
                long maj0 = Stats(m, p).MajFlt, ra0 = Counter(m, "swap_ra");
                RunUntilAccesses(m, p, 256 + 1024 + 248);
                majors[i] = Stats(m, p).MajFlt - maj0;
                ra[i] = Counter(m, "swap_ra") - ra0;
            }
        }
        Assert.That(ra[0] - ra[1], Is.EqualTo(1), "slot 8 read ahead only next to prev_offset");
        Assert.That(majors[0], Is.EqualTo(majors[1]));
    }

    /// <summary>
    /// swap_cluster_readahead ends its loop with lru_add_drain ("Push any new pages onto the LRU now"), so the pages
    /// it read ahead are on an LRU list when the fault returns, not waiting in the CPU's lru_add batch (31 folios),
    /// where a memcg's statistics flush would not count them (oracle/experiments/sw200-stack-top: phase_end's
    /// swap-ins are on the kernel's inactive list at its memory.stat read). Linux LRU, page-cluster 3: X's first page
    /// comes back with a window of 8 (boot's 4 hits: 4 + 2 rounded up), its aligned block's other swapped slots read
    /// ahead. Whatever Y's writes left in the batch is drained with them; only the faulting page, which EcsMem inserts
    /// after the readahead (a simplification: Linux's loop allocates it too), may wait in the batch.
    /// </summary>
    [Test]
    public void ClusterReadaheadPutsTheWindowsPagesOnTheLruAtOnce()
    {
        KernelOptions options = Small() with { Policy = "linux" };
        var (m, p) = SwapOutThen(256, 1024, options, R(X));
        using (m)
        {
            var pte = new Pte(Mm(m, p).Tables.Lookup(X));
            Assert.That(pte.IsSwap, Is.True, "X's first page swapped out");
            int slot = (int)pte.ToSwapEntry().Offset;
            long ra0 = Counter(m, "swap_ra");
            RunUntilAccesses(m, p, 256 + 1024 + 1);
            Assert.That(Counter(m, "swap_ra") - ra0, Is.GreaterThan(0), "the window read ahead");
            EcsMem.Systems.Vmscan.Lruvec lv = m.Kernel.Lruvec!;
            int checkedPages = 0;
            for (int s = Math.Max(1, slot & ~7); s <= (slot | 7); s++)
            {
                int pfn = m.Kernel.SwapCache.Lookup(s);
                if (s == slot || pfn < 0)
                    continue;
                Assert.That(lv.InBatch(pfn), Is.False, $"slot {s}'s page drained");
                Assert.That(lv.ListOf(pfn), Is.GreaterThanOrEqualTo(0), $"slot {s}'s page on a list");
                checkedPages++;
            }
            Assert.That(checkedPages, Is.GreaterThan(0));
            Assert.That(lv.BatchedPages, Is.LessThanOrEqualTo(1), "at most the faulting page waits in the batch");
        }
    }

    /// <summary>page-cluster 0 turns readahead off (swapin_nr_pages returns 1): one major fault per page.</summary>
    [Test]
    public void PageCluster0ReadsEveryPageOnItsOwnFault()
    {
        var (m, p) = SwapOutThen(256, 1024, Small(pageCluster: 0), Sweep(X, 256, R));
        using (m)
        {
            long maj0 = Stats(m, p).MajFlt;
            RunUntilAccesses(m, p, 256 + 1024 + 256);
            Assert.That(Stats(m, p).MajFlt - maj0, Is.EqualTo(256));
            Assert.That(Counter(m, "swap_ra"), Is.Zero);
        }
    }

    /// <summary>
    /// VMA readahead, page-cluster 3 (max window 8). The first fault (page 0; the VMA has no history: address 0,
    /// 4 hits) gets window 8, centred (left = 3) and clipped to the VMA: pages 0..4, 4 ahead. The hits on pages 1..4
    /// each move the VMA's address to the hit and count a hit, so the fault on page 5 is next to the last access
    /// with 4 hits: window 8 forward, pages 5..12 (7 ahead); from then on 7 hits → 8 forward each time. The last
    /// window, from page 253, is clipped at the VMA's end (2 ahead). Majors 1 + 32 = 33, readahead 4 + 31 × 7 + 2 = 223.
    /// </summary>
    [Test]
    public void VmaReadaheadFollowsTheFaultsAcrossTheVma()
    {
        var (m, p) = SwapOutThen(256, 1024, Small(vma: true), Sweep(X, 256, R));
        using (m)
        {
            long maj0 = Stats(m, p).MajFlt;
            long ra0 = Counter(m, "swap_ra");
            RunUntilAccesses(m, p, 256 + 1024 + 256);
            Assert.That(Stats(m, p).MajFlt - maj0, Is.EqualTo(33));
            Assert.That(Counter(m, "swap_ra") - ra0, Is.EqualTo(223));
        }
    }

    /// <summary>
    /// An exclusive page comes back writable on a read fault (Linux 6.x do_swap_page maps it with pte_mkwrite when
    /// the VMA has VM_WRITE), clean, and stays in the swap cache (swap is far from full): so a store after the
    /// read-back does not fault, and the page keeps its slot.
    /// </summary>
    [Test]
    public void ExclusivePageReadBackIsWritableSoTheStoreDoesNotFault()
    {
        var (m, p) = SwapOutThen(64, 1024, Small(), [R(X), W(X)]);
        using (m)
        {
            long faults0 = Stats(m, p).MinFlt + Stats(m, p).MajFlt;
            RunUntilAccesses(m, p, 64 + 1024 + 2);
            Assert.That(Stats(m, p).MinFlt + Stats(m, p).MajFlt - faults0, Is.EqualTo(1), "the read faults, the store does not");
            var pte = new Pte(Mm(m, p).Tables.Lookup(X));
            Assert.That(pte.Writable && pte.Dirty, Is.True);
            Assert.That(m.Kernel.Swap.VmSwapFull, Is.False);
            Assert.That((m.Kernel.Zone.Frames[(int)pte.Pfn].Flags & FrameFlags.SwapCache) != 0, Is.True, "kept in the swap cache");
        }
    }

    /// <summary>
    /// Swap more than half full (vm_swap_full): the swap-in frees the page's slot (should_try_to_free_swap), on a
    /// read fault too. 64 + 1024 pages written into 512 frames leave well over 511 of the 1023 usable slots used.
    /// </summary>
    [Test]
    public void SwapMoreThanHalfFullFreesTheSlotOnSwapIn()
    {
        var options = Options(ramPages: 512, swapPages: 1024) with { PageCluster = 0 };
        var (m, p) = SwapOutThen(64, 1024, options, [R(X)]);
        using (m)
        {
            Assert.That(m.Kernel.Swap.VmSwapFull, Is.True);
            RunUntilAccesses(m, p, 64 + 1024 + 1);
            var pte = new Pte(Mm(m, p).Tables.Lookup(X));
            Assert.That(pte.Present && pte.Writable, Is.True);
            Assert.That((m.Kernel.Zone.Frames[(int)pte.Pfn].Flags & FrameFlags.SwapCache), Is.EqualTo(FrameFlags.None));
            Assert.That(m.Kernel.Swap.InUse(1), Is.False, "slot 1 freed");
        }
    }

    /// <summary>
    /// After fork the swap entry is shared (copy_nonpresent_pte clears the exclusive bit in parent and child): the
    /// parent's read-back maps the page read-only, write-protected for COW, and keeps the slot for the child.
    /// </summary>
    [Test]
    public void SharedSwapEntryAfterForkComesBackReadOnly()
    {
        var trace = new List<MemoryAccess>();
        for (int i = 0; i < 64; i++)
            trace.Add(W(X + ((ulong)i * Page)));
        for (int i = 0; i < 1024; i++)
            trace.Add(W(Y + ((ulong)i * Page)));
        trace.Add(R(X));
        using var m = new SimMachine(Small(pageCluster: 0));
        Entity p = Add(m, "p", mm =>
        {
            Anon(X, 64)(mm);
            Anon(Y, 1024)(mm);
        }, 0, [.. trace]);
        m.ScheduleAfterAccesses(64 + 1024, new Systems.AddressSpace.AddressSpaceOp(Systems.AddressSpace.AddressSpaceOpKind.Fork, p)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", [.. Enumerable.Repeat(R(Y), 100_000)]),
        });
        RunUntil(m, () => m.Kernel.Tasks.Processes.Count == 2);
        MmState mm = Mm(m, p);
        Assert.That(new Pte(mm.Tables.Lookup(X)).IsSwap, Is.True);
        Assert.That(mm.Tables.Lookup(X) & Pte.SwpExclusiveBit, Is.Zero, "fork clears the exclusive bit");
        Assert.That(m.Kernel.Swap.Count(1), Is.EqualTo(2));
        RunUntilAccesses(m, p, 64 + 1024 + 1);
        var pte = new Pte(mm.Tables.Lookup(X));
        Assert.That(pte.Present, Is.True);
        Assert.That(pte.Writable, Is.False);
        Assert.That(pte.Cow, Is.True);
        Assert.That(m.Kernel.Swap.Count(1), Is.EqualTo(1), "the child still holds the entry");
        Assert.That(m.Kernel.Swap.IsCached(1), Is.True);
    }

    /// <summary>
    /// Writes 64 pages of X, pushes them out with Y, forks a child that does not run before the end (so its PTEs keep
    /// holding X's swap entries, as the kit's blocked child does), then runs <paramref name="then"/>.
    /// </summary>
    private static (SimMachine M, Entity P) ForkSharedSwapThen(KernelOptions options, params MemoryAccess[] then)
    {
        var trace = new List<MemoryAccess>();
        for (int i = 0; i < 64; i++)
            trace.Add(W(X + ((ulong)i * Page)));
        for (int i = 0; i < 1024; i++)
            trace.Add(W(Y + ((ulong)i * Page)));
        trace.AddRange(then);
        var m = new SimMachine(options);
        Entity p = Add(m, "p", mm =>
        {
            Anon(X, 64)(mm);
            Anon(Y, 1024)(mm);
        }, 0, [.. trace]);
        m.ScheduleAfterAccesses(64 + 1024, new Systems.AddressSpace.AddressSpaceOp(Systems.AddressSpace.AddressSpaceOpKind.Fork, p)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(Y)),
            ChildStartDelay = 1UL << 61,
        });
        RunUntil(m, () => m.Kernel.Tasks.Processes.Count == 2);
        return (m, p);
    }

    /// <summary>
    /// A store to a page swapped out while shared with a forked child: do_swap_page reads it into the swap cache,
    /// finds it not exclusive (the child's PTE holds the entry), and its closing do_wp_page copies it in the same
    /// fault. With page-cluster 0 each page is one read, so 64 stores are 64 faults, all major, 64 COW copies; the
    /// parent maps private writable copies, and the swap-cache pages stay for the child, each slot now held once.
    /// </summary>
    [Test]
    public void StoreToSharedSwapEntryCopiesWithinTheOneFault()
    {
        var (m, p) = ForkSharedSwapThen(Small(pageCluster: 0), Sweep(X, 64, W));
        using (m)
        {
            MmState mm = Mm(m, p);
            Assert.That(m.Kernel.Swap.Count(1), Is.EqualTo(2), "parent and child hold slot 1");
            ProcessStats s0 = Stats(m, p);
            RunUntilAccesses(m, p, 64 + 1024 + 64);
            ProcessStats s1 = Stats(m, p);
            Assert.That(s1.MajFlt - s0.MajFlt, Is.EqualTo(64), "one read per page");
            Assert.That(s1.MinFlt - s0.MinFlt, Is.Zero, "no second, write-protect fault");
            Assert.That(s1.CowCopies - s0.CowCopies, Is.EqualTo(64));
            for (int i = 0; i < 64; i++)
            {
                var pte = new Pte(mm.Tables.Lookup(X + ((ulong)i * Page)));
                Assert.That(pte.Present && pte.Writable && pte.Dirty && !pte.Cow, Is.True, $"page {i}");
                Assert.That(m.Kernel.Zone.Frames[(int)pte.Pfn].Flags & FrameFlags.SwapCache, Is.EqualTo(FrameFlags.None), $"page {i} is a copy");
                Assert.That(m.Kernel.Swap.Count(i + 1), Is.EqualTo(1), $"slot {i + 1}: only the child's entry left");
            }
        }
    }

    /// <summary>
    /// The same on a swap-cache hit: with page-cluster 3, swap readahead brings some of the next pages into the swap
    /// cache, so their stores are minor faults that still copy. Readahead does not depend on the access being a
    /// load or a store, so the same sweep as loads (which map the pages read-only, no copy) gives the major faults
    /// independently: the stores take exactly as many, one fault per page in all, and every fault copies.
    /// </summary>
    [Test]
    public void StoreToSharedSwapCacheHitCopiesWithinTheOneFault()
    {
        const int n = 16;
        long loadMajors;
        var (lm, lp) = ForkSharedSwapThen(Small(pageCluster: 3), Sweep(X, n, R));
        using (lm)
        {
            ProcessStats l0 = Stats(lm, lp);
            RunUntilAccesses(lm, lp, 64 + 1024 + n);
            loadMajors = Stats(lm, lp).MajFlt - l0.MajFlt;
            Assert.That(Stats(lm, lp).CowCopies - l0.CowCopies, Is.Zero);
        }
        var (m, p) = ForkSharedSwapThen(Small(pageCluster: 3), Sweep(X, n, W));
        using (m)
        {
            ProcessStats s0 = Stats(m, p);
            RunUntilAccesses(m, p, 64 + 1024 + n);
            ProcessStats s1 = Stats(m, p);
            Assert.That(loadMajors, Is.InRange(1, n - 1), "readahead made some of the loads swap-cache hits");
            Assert.That(s1.MajFlt - s0.MajFlt, Is.EqualTo(loadMajors));
            Assert.That(s1.MinFlt - s0.MinFlt, Is.EqualTo(n - loadMajors));
            Assert.That(s1.SwapCacheHits - s0.SwapCacheHits, Is.EqualTo(n - loadMajors));
            Assert.That(s1.CowCopies - s0.CowCopies, Is.EqualTo(n));
            for (int i = 0; i < n; i++)
            {
                var pte = new Pte(Mm(m, p).Tables.Lookup(X + ((ulong)i * Page)));
                Assert.That(pte.Writable && pte.Dirty, Is.True, $"page {i}");
            }
        }
    }

    /// <summary>__swapin_nr_pages against its definition (mm/swap_state.c), case by case.</summary>
    [TestCase(0, 5, 0, 8, 0, 1, TestName = "no hits, not adjacent: 1")]
    [TestCase(4, 5, 0, 8, 0, 2, TestName = "no hits, adjacent: 2")]
    [TestCase(6, 5, 0, 8, 0, 2, TestName = "no hits, adjacent below: 2")]
    [TestCase(0, 5, 4, 8, 0, 8, TestName = "4 hits: 6 rounded up to 8")]
    [TestCase(0, 5, 1, 8, 0, 4, TestName = "1 hit: 3 rounded up to 4")]
    [TestCase(0, 5, 7, 8, 0, 8, TestName = "7 hits: 16 capped at 8")]
    [TestCase(0, 5, 0, 8, 8, 4, TestName = "no hits after a window of 8: not below 4")]
    [TestCase(0, 5, 1, 32, 32, 16, TestName = "1 hit after 32: 16")]
    public void SwapinNrPagesFollowsItsDefinition(long prev, long offset, int hits, int max, int prevWin, int expected) =>
        Assert.That(SwapReadahead.SwapinNrPages(prev, offset, hits, max, prevWin), Is.EqualTo(expected));

    /// <summary>
    /// __swapin_nr_pages through the sequence of misses the kernel made at the start of thp-swpout-fallback's rewrite
    /// pass (6.18, a swap file on the rotational vda, so swap_cluster_readahead; `KIT_EXTRA_EVENTS="exceptions:page_fault_user"
    /// oracle/experiments/thp-swap-memcg/kit.sh thp-swpout-fallback 2 OUT`, block_rq_issue sectors / 8 = slots). The split
    /// THP's head has slot 12257494, its page i (1..510) slot 12257494 + 512 - i, page 511 slot 12257495. Each row: the
    /// miss's slot, the readahead hits since the previous miss, prev_offset (the last miss that came with no hits) and the
    /// previous window, all read off the trace; the window, worked out by hand from the formula, is the one whose aligned
    /// block covers exactly the pages the kernel read (already-mapped slots are free and skipped).
    /// </summary>
    [TestCase(12257494, 12258005, 0, 1, 1, TestName = "page 1: no hits, not adjacent to page 0's slot, half of 1 is 0: 1 page")]
    [TestCase(12258005, 12258004, 0, 1, 2, TestName = "page 2: no hits, adjacent below: 2 (page 1's slot free: 1 read)")]
    [TestCase(12258004, 12258003, 0, 2, 2, TestName = "page 3: no hits, adjacent: 2 (pages 3-4 read)")]
    [TestCase(12258003, 12258001, 1, 2, 4, TestName = "page 5: 1 hit: 4 (pages 5-6 read, 3-4 mapped)")]
    [TestCase(12258003, 12257999, 1, 4, 4, TestName = "page 7: 1 hit, prev_offset kept: 4 (pages 7-10 read)")]
    [TestCase(12258003, 12257995, 3, 4, 8, TestName = "page 11: 3 hits: 8 (pages 11-14 read)")]
    [TestCase(12258003, 12257495, 7, 8, 8, TestName = "page 511: 7 hits: 8 (its block holds no other swapped page: 1 read)")]
    [TestCase(12258003, 12258006, 0, 8, 4, TestName = "next THP's head: no hit, not adjacent, half of 8: 4 (head and its page 511 read)")]
    [TestCase(12258006, 12258517, 0, 4, 2, TestName = "its page 1: no hit, not adjacent, half of 4: 2 (pages 1-2 read)")]
    [TestCase(12258006, 12258515, 1, 2, 4, TestName = "its page 3: 1 hit: 4 (pages 3-6 read)")]
    [TestCase(12258006, 12258511, 3, 4, 8, TestName = "its page 7: 3 hits: 8 (pages 7-14 read)")]
    public void SwapinNrPagesGivesTheKernelsClusterWindowsOverASplitTHP(long prev, long offset, int hits, int prevWin, int expected) =>
        Assert.That(SwapReadahead.SwapinNrPages(prev, offset, hits, 8, prevWin), Is.EqualTo(expected));
    /// <summary>
    /// __swapin_nr_pages through the first misses of tmpfs-swap-memcg's read pass on 6.18 (shmem_swapin_cluster →
    /// swap_cluster_readahead; `flock /work/kernel.lock oracle/experiments/shmem-swapin-ra/run.sh 4 OUT`, the pages the
    /// pid allocated after each fault, results/kernel.txt). The file's page p is in slot p + 1 (the write pass's first
    /// swap-outs, slot 0 the header). swapin_readahead_hits, prev_offset and last_readahead_pages are statics that outlive
    /// a process: runs 2-4 start with what run 1's exit left (the harness's record write swapped its page back in with a
    /// window of 8 and consumed the read's last 7 hits), run 1 what an earlier program left; EcsMem starts from boot's
    /// 4 hits, so its first window is 8 and its read one major fault short (oracle/known-gaps.md).
    /// </summary>
    [TestCase(100000, 1, 0, 8, 4, TestName = "after a kit run: page 0, no hits, half of 8: 4 (pages 0-2 read)")]
    [TestCase(1, 4, 2, 4, 4, TestName = "after a kit run: page 3, 2 hits: 4 (pages 3-6 read)")]
    [TestCase(1, 8, 3, 4, 8, TestName = "after a kit run: page 7, 3 hits: 8 (pages 7-14 read)")]
    [TestCase(100000, 1, 0, 2, 1, TestName = "after another program: page 0, no hits, not adjacent: 1")]
    [TestCase(1, 2, 0, 1, 2, TestName = "after another program: page 1, adjacent: 2 (pages 1-2 read)")]
    [TestCase(2, 4, 1, 2, 4, TestName = "after another program: page 3, 1 hit: 4 (pages 3-6 read)")]
    [TestCase(0, 1, 4, 0, 8, TestName = "from boot (EcsMem): page 0, 4 hits: 8 (pages 0-6 read)")]
    public void SwapinNrPagesGivesTheKernelsWindowsAtATmpfsReadsStart(long prev, long offset, int hits, int prevWin, int expected) =>
        Assert.That(SwapReadahead.SwapinNrPages(prev, offset, hits, 8, prevWin), Is.EqualTo(expected));

    /// <summary>
    /// The swap slot of the page at <paramref name="va"/> and the flags of the swap-cache frame holding it (-1: not swapped
    /// out, or not in the swap cache).
    /// </summary>
    private static (int Slot, int Pfn, FrameFlags Flags) SwapCacheStateOf(SimMachine m, Entity p, ulong va)
    {
        var pte = new Pte(Mm(m, p).Tables.Lookup(va));
        if (!pte.IsSwap)
            return (-1, -1, 0);
        int slot = (int)pte.ToSwapEntry().Offset, pfn = m.Kernel.SwapCache.Lookup(slot);
        return (slot, pfn, pfn < 0 ? 0 : m.Kernel.Zone.Frames[pfn].Flags);
    }

    /// <summary>
    /// PG_readahead is PG_reclaim (Linux's page-flags.h): a fault that finds its page in the swap cache while reclaim is still
    /// writing it out (pageout set PG_reclaim, folio_end_writeback has not cleared it) tests the bit in swap_update_readahead
    /// and counts a readahead hit: swap_ra_hit and swapin_readahead_hits go up by one. A page whose write has ended and that was
    /// never read ahead counts nothing. Measured on 6.18:
    /// oracle/experiments/swap-ra-state (the rseq TLS page's fault during a kit fill, statics read from kernel memory).
    /// </summary>
    [Test]
    public void ASwapCacheHitOnAPageUnderReclaimWritebackCountsAReadaheadHit()
    {
        // Y's writes push its own first pages out: find the first moment some of them is still being written (PG_writeback
        // and PG_reclaim, unlocked) while another's write has ended and it waits in the swap cache (no flag, not read ahead).
        var writes = Sweep(X, 256, W).Concat(Sweep(Y, 1024, W)).ToArray();
        long n = 256;
        ulong writing = 0, written = 0;
        // Swap-outs written in simulated time (machine.writeback: async, the Linux policy), so PG_writeback lasts.
        KernelOptions options = Small() with { Policy = "linux", WritebackAsync = true };
        using (var a = new SimMachine(options))
        {
            Entity pa = Add(a, "p", mm => { Anon(X, 256)(mm); Anon(Y, 1024)(mm); }, 0, writes);
            while ((writing == 0 || written == 0) && n < 256 + 1024)
            {
                RunUntilAccesses(a, pa, ++n);
                writing = written = 0;
                for (int i = 0; i < n - 256; i++)
                {
                    ulong va = Y + ((ulong)i * Page);
                    var (_, pfn, flags) = SwapCacheStateOf(a, pa, va);
                    if (pfn < 0 || (flags & FrameFlags.Locked) != 0)
                        continue;
                    if ((flags & (FrameFlags.Reclaim | FrameFlags.Writeback)) == (FrameFlags.Reclaim | FrameFlags.Writeback) && writing == 0)
                        writing = va;
                    if ((flags & (FrameFlags.Reclaim | FrameFlags.Writeback)) == 0 && !a.Kernel.SwapReadahead.IsReadahead(pfn) && written == 0)
                        written = va;
                }
            }
        }
        Assert.That(writing, Is.Not.Zero, "a page of Y under reclaim's write");
        Assert.That(written, Is.Not.Zero, "a page of Y in the swap cache whose write has ended");
        foreach (var (page, hits) in new[] { (writing, 1), (written, 0) })
        {
            // The same writes with a load of the page right after the n-th access.
            MemoryAccess[] trace = [.. writes.Take((int)n), R(page), .. writes.Skip((int)n)];
            using var m = new SimMachine(options);
            Entity p = Add(m, "p", mm => { Anon(X, 256)(mm); Anon(Y, 1024)(mm); }, 0, trace);
            RunUntilAccesses(m, p, n);
            var (_, pfn, flags) = SwapCacheStateOf(m, p, page);
            Assert.That(pfn, Is.GreaterThanOrEqualTo(0), $"{page:x} in the swap cache");
            long hit0 = Counter(m, "swap_ra_hit"), maj0 = Stats(m, p).MajFlt;
            int raHits0 = m.Kernel.SwapReadahead.ClusterState.Hits;
            RunUntilAccesses(m, p, n + 1);
            Assert.That(Stats(m, p).MajFlt - maj0, Is.Zero, $"{page:x}: a swap-cache hit, no read");
            Assert.That(Counter(m, "swap_ra_hit") - hit0, Is.EqualTo(hits), $"{page:x} ({flags})");
            Assert.That(m.Kernel.SwapReadahead.ClusterState.Hits - raHits0, Is.EqualTo(hits), $"{page:x}: swapin_readahead_hits");
        }
    }

    /// <summary>
    /// The hit's test-and-clear also clears PG_reclaim (PG_readahead is PG_reclaim), and folio_end_writeback rotates a
    /// folio to the inactive tail only while folio_test_reclaim (folio_rotate_reclaimable, pgrotated += 1). The same page,
    /// hit while reclaim writes it, in two machines that differ only in <c>machine.swap_ra_clear_reclaim</c>: with it
    /// (Linux) the page keeps PG_writeback and loses PG_reclaim at the hit, and its write's end rotates nothing; without it
    /// (EcsMem's default) PG_reclaim stays and the write's end rotates the page: one pgrotated more, the page at the tail.
    /// </summary>
    [Test]
    public void ASwapCacheHitClearsPgReclaimSoTheWritesEndDoesNotRotateThePage()
    {
        var writes = Sweep(X, 256, W).Concat(Sweep(Y, 1024, W)).ToArray();
        KernelOptions options = Small() with { Policy = "linux", WritebackAsync = true };
        // The first access count after which a page of Y is under reclaim's write (unlocked, PG_writeback and PG_reclaim).
        long n = 256;
        ulong page = 0;
        using (var a = new SimMachine(options))
        {
            Entity pa = Add(a, "p", mm => { Anon(X, 256)(mm); Anon(Y, 1024)(mm); }, 0, writes);
            while (page == 0 && n < 256 + 1024)
            {
                RunUntilAccesses(a, pa, ++n);
                for (int i = 0; i < n - 256 && page == 0; i++)
                {
                    var (_, pfn, flags) = SwapCacheStateOf(a, pa, Y + ((ulong)i * Page));
                    if (pfn >= 0 && (flags & (FrameFlags.Locked | FrameFlags.Reclaim | FrameFlags.Writeback)) == (FrameFlags.Reclaim | FrameFlags.Writeback))
                        page = Y + ((ulong)i * Page);
                }
            }
        }
        Assert.That(page, Is.Not.Zero, "a page of Y under reclaim's write");
        MemoryAccess[] trace = [.. writes.Take((int)n), R(page), .. writes.Skip((int)n)];
        var rotated = new long[2];
        foreach (bool clear in new[] { false, true })
        {
            using var m = new SimMachine(options with { SwapRaClearReclaim = clear });
            Entity p = Add(m, "p", mm => { Anon(X, 256)(mm); Anon(Y, 1024)(mm); }, 0, trace);
            RunUntilAccesses(m, p, n);
            int pfn = SwapCacheStateOf(m, p, page).Pfn;
            long hit0 = Counter(m, "swap_ra_hit");
            RunUntilAccesses(m, p, n + 1);
            FrameFlags after = m.Kernel.Zone.Frames[pfn].Flags & (FrameFlags.Reclaim | FrameFlags.Writeback);
            Assert.That(Counter(m, "swap_ra_hit") - hit0, Is.EqualTo(1), $"clear {clear}: the hit counts either way");
            Assert.That(after, Is.EqualTo(clear ? FrameFlags.Writeback : FrameFlags.Reclaim | FrameFlags.Writeback), $"clear {clear}: flags after the hit");
            // The page is on the inactive anon list (not isolated); its write ends now (folio_wait_writeback's completion).
            var lv = m.Kernel.LruvecOf(pfn)!;
            Assert.That(lv.Frames(EcsMem.Systems.Vmscan.LruList.InactiveAnon).Contains(pfn), Is.True, $"clear {clear}: on the inactive list");
            long rot0 = Counter(m, "pgrotated");
            Assert.That(m.Kernel.Writeback!.WaitOnWriteback(pfn), Is.True);
            rotated[clear ? 1 : 0] = Counter(m, "pgrotated") - rot0;
            Assert.That(m.Kernel.Zone.Frames[pfn].Flags & (FrameFlags.Reclaim | FrameFlags.Writeback), Is.EqualTo(FrameFlags.None), $"clear {clear}: after the write");
            // Rotated pages go to the tail one after another: the page is among the last pgrotated ones exactly when rotated.
            var tail = lv.Frames(EcsMem.Systems.Vmscan.LruList.InactiveAnon).Reverse().Take((int)rotated[clear ? 1 : 0]);
            Assert.That(tail.Contains(pfn), Is.EqualTo(!clear), $"clear {clear}: rotated to the inactive tail");
        }
        // The request's other pages rotate alike in both; this page only without the clear.
        Assert.That(rotated[0] - rotated[1], Is.EqualTo(1));
    }

    /// <summary>
    /// __swapin_nr_pages against the statics Linux 6.18 itself held (read from kernel memory at every fault that changed them:
    /// oracle/experiments/swap-ra-state, results/kernel.txt, memfd-swap-memcg runs 2–10, all alike): the last phase_end's and
    /// the exit's swap-ins of the harness's pages, each row the miss's slot, the hits, prev_offset and last_readahead_pages
    /// before it, and the window the kernel stored after it; then the next run's fill.
    /// </summary>
    [TestCase(214, 85, 4, 8, 8, TestName = "memfd exit: outn's page after the read's 4 hits: 8")]
    [TestCase(214, 11, 0, 8, 4, TestName = "memfd exit: the TLS page, no hits, half of 8: 4")]
    [TestCase(11, 21, 0, 4, 2, TestName = "memfd exit: libc's bss 0, no hits, half of 4: 2")]
    [TestCase(21, 6339, 0, 2, 1, TestName = "memfd exit: out's second page, no hits: 1")]
    [TestCase(6339, 16, 1, 1, 4, TestName = "memfd exit: libc's rw 0 after RELRO 3's hit: 4")]
    [TestCase(6339, 14, 0, 4, 2, TestName = "memfd exit: libc's RELRO 1, no hits: 2")]
    [TestCase(14, 212, 0, 8, 4, TestName = "memfd exit: reg's page after buf's window of 8: 4")]
    [TestCase(212, 6, 0, 4, 2, TestName = "memfd exit: the program's RELRO page: 2 (slots 6-7, ld.so's scratch page ahead)")]
    [TestCase(6, 4, 0, 2, 1, TestName = "memfd exit: ld.so's RELRO page: 1")]
    [TestCase(4, 2, 0, 1, 1, TestName = "memfd exit: ld.so's rw page 1: 1")]
    [TestCase(2, 13, 3, 1, 8, TestName = "memfd exit: libc's RELRO 0 after 3 hits (scratch, rw 0, bss 5): 8")]
    [TestCase(2, 8, 0, 8, 4, TestName = "next fill: main's stack page, no hits, half of 8: 4")]
    [TestCase(2, 8, 1, 8, 4, TestName = "next fill: main's stack page after the rseq page's hit under writeback: 4")]
    public void SwapinNrPagesGivesTheWindowsTheKernelsStaticsHeld(long prev, long offset, int hits, int prevWin, int expected) =>
        Assert.That(SwapReadahead.SwapinNrPages(prev, offset, hits, 8, prevWin), Is.EqualTo(expected));
}
