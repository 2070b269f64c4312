using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using NUnit.Framework;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// cpu_fbatches.lru_add (mm/swap.c, <see cref="EcsMem.Systems.Vmscan.LruAddBatches"/>): one batch per CPU for every
/// lruvec; __folio_batch_add_and_move takes a folio reference, so a folio zapped while it waits there stays allocated and
/// charged until the batch moves (folio_batch_move_lru, then folios_put_refs): at the add that makes it hold 31
/// (FOLIO_BATCH_SIZE) or at an lru_add_drain of its CPU, not at MADV_DONTNEED or exit (measured on 6.18:
/// oracle/experiments/oom-late-free, docs/kernel.md). The expected values follow from that rule by hand.
/// </summary>
public class LruAddBatchesTests
{
    private const ulong X = 0x7f0000000000;
    private const int Pages = 64;

    /// <summary>A machine whose process, in memcg `box`, writes the <see cref="Pages"/> pages at X one by one (one fault each).</summary>
    private static SimMachine Machine()
    {
        string yaml = "machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: box, memory.max: 32M}\n"
            + "processes:\n  - name: p\n    cgroup: box\n    layout: {exec: {}}\n    workload:\n      generator: \"loop:count=100000000,base=0x7f0000000000,pages=" + Pages + ",writes=1\"\n"
            + "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: 0x7f0000000000, length: " + (Pages * 4096) + ", prot: rw-, flags: private, fixed: true}\n";
        return ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "lruadd.yaml"));
    }

    private static Entity P(SimMachine m) => m.Kernel.Tasks.Processes[0];

    private static long Accesses(SimMachine m) => m.Kernel.World.Get<ProcessStats>(P(m)).Accesses;

    private static void RunTo(SimMachine m, long accesses)
    {
        m.Run(() => Accesses(m) >= accesses, checkEvery: 1);
        Assert.That(Accesses(m), Is.EqualTo(accesses), "one access a step");
    }

    private static MemCgroup Box(SimMachine m) => m.Kernel.Memcg!.Find("box");

    private static int PfnAt(SimMachine m, ulong va)
    {
        ref ulong slot = ref m.Kernel.Tasks.MmOf(P(m)).Tables.Walk(va, out _);
        return (int)new Pte(slot).Pfn;
    }

    /// <summary>
    /// Pages 0 and 1 written (the access count lags the fault of the next page by one: after the first access, page 1
    /// is faulted in too), then the CPU's batches drained, then pages 2–11 written: those 10 folios are the only ones in
    /// CPU 0's lru_add batch. Returns their frames.
    /// </summary>
    private static int[] TenInTheBatch(SimMachine m)
    {
        RunTo(m, 1);
        m.Kernel.LruAddDrainCpu(0);
        Assert.That(m.Kernel.LruAddBatches!.Count(0), Is.Zero);
        RunTo(m, 11);
        Assert.That(m.Kernel.LruAddBatches!.Count(0), Is.EqualTo(10), "each write fault's folio_add_lru");
        int[] pfns = Enumerable.Range(2, 10).Select(i => PfnAt(m, X + (ulong)i * 4096)).ToArray();
        Assert.That(pfns.Select(p => m.Kernel.LruAddBatches.InBatch(p) && m.Kernel.Zone.Pins[p] == 1), Is.All.True, "pages 2-11 wait there, pinned once");
        return pfns;
    }

    /// <summary>The frame went back to the allocator: on a buddy free list or a per-CPU page list.</summary>
    private static bool Freed(SimMachine m, int pfn) =>
        m.Kernel.Zone.Frames[pfn].IsFree || (m.Kernel.Zone.Frames[pfn].Flags & FrameFlags.PcpList) != 0;

    /// <summary>MADV_DONTNEED's zap_page_range_single of pages [first, first + count) of the region.</summary>
    private static void DontNeed(SimMachine m, int first, int count) =>
        m.Kernel.Memory.ZapRange(m.Kernel.Tasks.MmOf(P(m)), X + (ulong)first * 4096, X + (ulong)(first + count) * 4096);

    /// <summary>
    /// /proc/meminfo and /proc/vmstat read Linux's node counters: update_lru_size counts a folio on Inactive(anon) only
    /// when the batch moves it onto the list (lruvec_add_folio), and NR_FILE_DIRTY (Dirty, nr_dirty) never counts an
    /// anonymous folio, whose PG_dirty a zap of a dirty PTE sets (noop_dirty_folio: no accounting).
    /// </summary>
    [Test]
    public void MeminfoCountsABatchedFolioOnlyWhenTheBatchMovesAndNeverAnAnonymousOneAsDirty()
    {
        using SimMachine m = Machine();
        int[] batched = TenInTheBatch(m);
        var waiting = EcsMem.Systems.Reporting.MemoryGauges.Read(m.Kernel);
        DontNeed(m, 2, 5);
        Assert.That(batched.Take(5).Select(p => (m.Kernel.Zone.Frames[p].Flags & FrameFlags.Dirty) != 0), Is.All.True,
            "the written PTEs were dirty: the zap moved PG_dirty to the folios the batch still holds");
        var zapped = EcsMem.Systems.Reporting.MemoryGauges.Read(m.Kernel);
        Assert.That(zapped.Dirty, Is.EqualTo(waiting.Dirty), "anonymous PG_dirty is not NR_FILE_DIRTY");
        Assert.That(zapped.InactiveAnon + zapped.ActiveAnon, Is.EqualTo(waiting.InactiveAnon + waiting.ActiveAnon),
            "neither the zapped nor the mapped batched folios were on a list");
        m.Kernel.LruAddDrainCpu(0);
        var moved = EcsMem.Systems.Reporting.MemoryGauges.Read(m.Kernel);
        // The move puts the 5 still-mapped folios on the inactive anon list; the 5 zapped ones are freed by folios_put_refs.
        Assert.That(moved.InactiveAnon, Is.EqualTo(waiting.InactiveAnon + 5));
        Assert.That(moved.ActiveAnon, Is.EqualTo(waiting.ActiveAnon));
    }

    [Test]
    public void AFolioZappedInTheBatchStaysChargedUntilThe31stAddOnItsCpu()
    {
        using SimMachine m = Machine();
        int[] zapped = TenInTheBatch(m);
        MemCgroup box = Box(m);
        long pgpgin = box.PgPgIn, pgpgout = box.PgPgOut;
        DontNeed(m, 2, 10);
        // MADV_DONTNEED zaps the PTEs (the mapping's reference) but does not drain: the batch's reference keeps them.
        Assert.That(m.Kernel.LruAddBatches!.Count(0), Is.EqualTo(10));
        Assert.That(box.PgPgOut, Is.EqualTo(pgpgout), "still charged: no uncharge event");
        Assert.That(zapped.Select(p => m.Kernel.Zone.Frames[p].IsFree), Is.All.False);
        Assert.That(zapped.Select(p => m.Kernel.Zone.Frames[p].MapCount), Is.All.Zero);
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
        // Each later write fault adds one folio (pgfault counts them): 20 more fill the batch to 30, nothing moves yet;
        // the 21st is the batch's 31st add, which moves it.
        long faults = m.Env.Counters.Get("pgfault");
        m.Run(() => m.Env.Counters.Get("pgfault") - faults >= 20, checkEvery: 1);
        Assert.That(m.Env.Counters.Get("pgfault") - faults, Is.EqualTo(20));
        Assert.That(m.Kernel.LruAddBatches.Count(0), Is.EqualTo(30));
        Assert.That(box.PgPgOut, Is.EqualTo(pgpgout));
        Assert.That(box.PgPgIn, Is.EqualTo(pgpgin + 20), "one charge a fault");
        Assert.That(zapped.Select(p => m.Kernel.Zone.Frames[p].IsFree), Is.All.False);
        m.Run(() => m.Env.Counters.Get("pgfault") - faults >= 21, checkEvery: 1);
        Assert.That(m.Env.Counters.Get("pgfault") - faults, Is.EqualTo(21));
        Assert.That(m.Kernel.LruAddBatches.Count(0), Is.Zero);
        Assert.That(box.PgPgOut, Is.EqualTo(pgpgout + 10), "one pgpgout a folio uncharged");
        Assert.That(box.PgPgIn, Is.EqualTo(pgpgin + 21));
        Assert.That(zapped.Select(p => Freed(m, p)), Is.All.True);
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
    }

    [Test]
    public void ADrainOfTheCpuFreesTheZappedFolios()
    {
        using SimMachine m = Machine();
        int[] zapped = TenInTheBatch(m);
        MemCgroup box = Box(m);
        long pgpgin = box.PgPgIn, pgpgout = box.PgPgOut;
        DontNeed(m, 2, 4); // four of the ten zapped; six still mapped
        m.Kernel.LruAddDrainCpu(0);
        Assert.That(m.Kernel.LruAddBatches!.Count(0), Is.Zero);
        Assert.That(box.PgPgOut, Is.EqualTo(pgpgout + 4));
        Assert.That(zapped.Take(4).Select(p => Freed(m, p)), Is.All.True, "the batch's reference was the last: folios_put_refs freed them");
        // The six mapped ones reached their group's inactive anon list (lru_add), unpinned.
        var lv = (EcsMem.Systems.Vmscan.Lruvec)box.Lruvec;
        Assert.That(zapped.Skip(4).Select(p => lv.ListOf(p)), Is.All.EqualTo((int)EcsMem.Systems.Vmscan.LruList.InactiveAnon));
        Assert.That(zapped.Skip(4).Select(p => m.Kernel.Zone.Pins[p]), Is.All.Zero);
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
    }

    [Test]
    public void ExitLeavesTheBatchedFoliosChargedUntilTheCpuDrains()
    {
        // exit_mmap in 6.18 does not lru_add_drain (oom-late-free's STACKS=1 traces: no mm_lru_insertion before
        // tlb_finish_mmu frees the child's pages): the exiting task's last 10 folios stay charged, each holding a
        // pgpgout back, until its CPU's batch moves.
        using SimMachine m = Machine();
        int[] batched = TenInTheBatch(m);
        MemCgroup box = Box(m);
        long pgpgout = box.PgPgOut;
        m.Kernel.Tasks.ExitProcess(P(m));
        Assert.That(batched.Select(p => m.Kernel.Zone.Frames[p].IsFree), Is.All.False);
        Assert.That(m.Kernel.LruAddBatches!.Count(0), Is.EqualTo(10));
        long outAtExit = box.PgPgOut - pgpgout;
        Assert.That(outAtExit, Is.GreaterThanOrEqualTo(2), "pages 0 and 1, on the LRU, went at the exit");
        m.Kernel.LruAddDrainCpu(0);
        Assert.That(box.PgPgOut - pgpgout, Is.EqualTo(outAtExit + 10));
        Assert.That(batched.Select(p => Freed(m, p)), Is.All.True);
    }

    /// <summary>
    /// folio_batch_move_lru sets PG_lru only when it moves a folio onto its lruvec (lru_add, then folio_set_lru): the ten
    /// batched folios have none (so folio_test_lru and folio_isolate_lru fail for them, and the allocator's
    /// prep_move_freepages_block does not count them as movable PageLRU pages) through the 20 adds that fill the batch to
    /// 30, and all have it after the 21st, the batch's 31st add, which puts them on the inactive anon list.
    /// </summary>
    [Test]
    public void ABatchedFolioHasNoPgLruUntilThe31stAddMovesIt()
    {
        using SimMachine m = Machine();
        int[] batched = TenInTheBatch(m);
        Func<int, bool> movable = m.Kernel.Zone.Buddy.IsMovable!;
        bool PgLru(int p) => (m.Kernel.Zone.Frames[p].Flags & FrameFlags.Lru) != 0;
        Assert.That(batched.Select(PgLru), Is.All.False, "folio_add_lru leaves PG_lru to the batch's move");
        Assert.That(batched.Select(p => movable(p)), Is.All.False);
        int page0 = PfnAt(m, X);
        Assert.That(PgLru(page0) && movable(page0), Is.True, "page 0 was moved by the drain: PG_lru");
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
        long faults = m.Env.Counters.Get("pgfault");
        m.Run(() => m.Env.Counters.Get("pgfault") - faults >= 20, checkEvery: 1);
        Assert.That(m.Kernel.LruAddBatches!.Count(0), Is.EqualTo(30));
        Assert.That(batched.Select(PgLru), Is.All.False);
        m.Run(() => m.Env.Counters.Get("pgfault") - faults >= 21, checkEvery: 1);
        Assert.That(m.Kernel.LruAddBatches.Count(0), Is.Zero);
        Assert.That(batched.Select(PgLru), Is.All.True);
        Assert.That(batched.Select(p => movable(p)), Is.All.True);
        var lv = (EcsMem.Systems.Vmscan.Lruvec)Box(m).Lruvec;
        Assert.That(batched.Select(p => lv.ListOf(p)), Is.All.EqualTo((int)EcsMem.Systems.Vmscan.LruList.InactiveAnon));
        Assert.That(new InvariantChecker(m.Kernel).Check(), Is.Empty);
    }

    /// <summary>
    /// truncate_inode_pages_range does not drain the lru_add batches and does not test the reference count: the ten
    /// page-cache folios a 40 KiB write(2) added leave the page cache at ftruncate(0), but the batch's reference keeps
    /// them allocated and charged (no pgpgout, clean: folio_cancel_dirty) until the batch moves; then lru_add puts them on
    /// a list and folios_put frees and uncharges them: pgpgout + 10.
    /// </summary>
    [Test]
    public void ATruncatedBatchedFolioStaysChargedUntilTheBatchMoves()
    {
        string yaml = "machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: box, memory.max: 32M}\n"
            + "processes:\n  - name: p\n    cgroup: box\n    layout: {exec: {}}\n    workload:\n      generator: \"loop:count=100000000,base=0x7f0000000000,pages=" + Pages + ",writes=1\"\n"
            + "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: 0x7f0000000000, length: " + (Pages * 4096) + ", prot: rw-, flags: private, fixed: true}\n"
            + "  - at: 0\n    process: p\n    open: {file: /data/new, fd: 3, flags: creat|trunc}\n"
            + "  - at: 0\n    process: p\n    write: {fd: 3, length: 40K, piece: 4K}\n";
        using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "lruadd-truncate.yaml"));
        RunTo(m, 1);
        var k = m.Kernel;
        int file = k.Files.Intern("/data/new");
        int[] pages = Enumerable.Range(0, 10).Select(i => k.PageCache.Find(file, i)).ToArray();
        Assert.That(pages, Is.All.GreaterThanOrEqualTo(0), "write_begin added the ten pages");
        Assert.That(pages.Select(p => k.LruAddBatches!.InBatch(p)), Is.All.True, "each waits in CPU 0's lru_add batch");
        int waiting = k.LruAddBatches!.Count(0);
        MemCgroup box = Box(m);
        long pgpgout = box.PgPgOut, usage = box.Usage;
        int tgid = k.World.Get<Process>(P(m)).Tgid;
        Assert.That(k.OpenFiles.Ftruncate(tgid, 3, 0), Is.Zero);
        Assert.That(Enumerable.Range(0, 10).Select(i => k.PageCache.Find(file, i)), Is.All.LessThan(0), "gone from the page cache");
        Assert.That(pages.Select(p => Freed(m, p)), Is.All.False, "the batch's reference keeps them");
        Assert.That(pages.Select(p => (k.Zone.Frames[p].Flags & FrameFlags.Dirty) != 0), Is.All.False, "folio_cancel_dirty");
        Assert.That(box.PgPgOut, Is.EqualTo(pgpgout), "still charged: no uncharge event");
        Assert.That(box.Usage, Is.EqualTo(usage));
        Assert.That(k.LruAddBatches.Count(0), Is.EqualTo(waiting));
        Assert.That(new InvariantChecker(k).Check(), Is.Empty);
        k.LruAddDrainCpu(0);
        Assert.That(pages.Select(p => Freed(m, p)), Is.All.True, "folios_put after lru_add freed them");
        Assert.That(box.PgPgOut, Is.EqualTo(pgpgout + 10), "one pgpgout a folio uncharged");
        Assert.That(box.Usage, Is.EqualTo(usage - 10));
        Assert.That(new InvariantChecker(k).Check(), Is.Empty);
    }

    /// <summary>
    /// do_swap_page with a one-page swap readahead window (page_cluster 0: swap_cluster_readahead's mask is 0, so its
    /// lru_add_drain is skipped and the faulting folio waits in the lru_add batch): a write fault finds the swap-cache folio
    /// without PG_lru and drains this CPU's batches (lru_add_drain) before should_try_to_free_swap's folio_ref_count == 2,
    /// so every write swap-in leaves CPU 0's lru_add batch empty and frees its slot (SwapCached 0). Once the loop's second
    /// pass swaps pages in, the batch never holds more than the one swap-in waiting for its install; without the drain
    /// it would grow by one a swap-in between the group's reclaims (which drain too).
    /// </summary>
    [Test]
    public void AWriteSwapInOfAOnePageWindowDrainsTheCpuBatchFirst()
    {
        string yaml = "machine: {ram: 64M, swap: 64M, page_cluster: 0, swap_readahead: cluster}\ncgroups:\n  - {name: box, memory.max: 512K}\n"
            + "processes:\n  - name: p\n    cgroup: box\n    layout: {exec: {}}\n    workload:\n      generator: \"loop:count=100000000,base=0x7f0000000000,pages=256,writes=1\"\n"
            + "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: 0x7f0000000000, length: 1M, prot: rw-, flags: private, fixed: true}\n";
        using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "lruadd-swapin.yaml"));
        var k = m.Kernel;
        // The first swap-in's install drains what the first pass's last faults left in the batch.
        m.Run(() => m.Env.Counters.Get("pswpin") >= 2, checkEvery: 1);
        long start = m.Env.Counters.Get("pswpin");
        int most = 0;
        m.Run(() =>
        {
            most = Math.Max(most, k.LruAddBatches!.Count(0));
            return m.Env.Counters.Get("pswpin") - start >= 200;
        }, checkEvery: 1);
        Assert.That(m.Env.Counters.Get("pswpin") - start, Is.EqualTo(200), "the second pass swaps in a page a fault");
        Assert.That(most, Is.LessThanOrEqualTo(1));
        Assert.That(k.SwapCache.Count, Is.EqualTo(1), "the swap-in just read, not yet mapped: each installed one freed its slot (folio_ref_count 2 after the drain)");
        Assert.That(new InvariantChecker(k).Check(), Is.Empty);
    }
}
