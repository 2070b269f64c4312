using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Reporting;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// MAP_SHARED|MAP_ANONYMOUS memory is shmem (mm/shmem.c shmem_zero_setup): shared with the child after fork
/// without copy-on-write, counted in MM_SHMEMPAGES (RssShmem) and Pss_Shmem, named "/dev/zero (deleted)" in maps,
/// swapped out and back in. Expected values are worked out by hand from Linux's rules.
/// </summary>
public class ShmemTests
{
    private const MapFlags SharedAnon = MapFlags.Shared | MapFlags.Anonymous;

    [Test]
    public void ForkSharesThePagesAndTheChildsStoreLandsInTheParentsFrame()
    {
        using var m = new SimMachine(Options());
        var parent = Add(m, "parent", mm => Mmap(mm, Base, 3, Prot.Read | Prot.Write, SharedAnon), 0,
            W(Base), W(Base + Page), R(Base + (2 * Page)), // 3 new shmem pages: a read allocates too (no zero page)
            R(Base), R(Base + Page));
        m.ScheduleAfterAccesses(3, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", W(Base), W(Base + (2 * Page))),
        });

        RunUntilAccesses(m, parent, 3);
        int[] orig = [PfnAt(m, parent, Base), PfnAt(m, parent, Base + Page), PfnAt(m, parent, Base + (2 * Page))];
        Assert.That(orig, Has.None.EqualTo(m.Kernel.Zone.ZeroPfn), "shmem read faults never map the zero page");
        MmStruct ps = Mm(m, parent).Mm.Struct;
        Assert.That((ps.RssShmem, ps.RssAnon, ps.RssFile), Is.EqualTo((3UL, 0UL, 0UL)), "MM_SHMEMPAGES, not MM_ANONPAGES");
        foreach (int pfn in orig)
            Assert.That(m.Kernel.Zone.Frames[pfn].IsShmem, Is.True);

        RunUntil(m, () => m.Kernel.Tasks.Processes.Count == 2);
        var child = m.Kernel.Tasks.Processes[1];
        // copy_page_range skips the area (a shmem file mapping without anon_vma, vma_needs_copy): the child starts
        // with no PTE there, and the pages stay mapped once each, by the parent.
        foreach (int pfn in orig)
            Assert.That(m.Kernel.Zone.Frames[pfn].MapCount, Is.EqualTo(1));
        Assert.That(Mm(m, child).Mm.Struct.RssShmem, Is.Zero);
        Assert.That(Mm(m, child).Tables.Lookup(Base), Is.Zero);
        // smaps_rollup of the parent: the 3 pages mapped by it alone, Pss_Shmem 12 kB, Pss_Anon 0.
        var fields = SmapsRollup.Build(m.Kernel, Mm(m, parent)).Fields.ToDictionary(f => f.Name, f => f.Value);
        Assert.That(fields["Pss_Shmem"], Is.EqualTo(12));
        Assert.That(fields["Pss_Anon"], Is.Zero);
        // The pages are in the object's page cache: Shmem (and Cached, Mapped) in meminfo, not AnonPages.
        MemoryGauges g = MemoryGauges.Read(m.Kernel);
        Assert.That((g.ShmemPages, g.AnonMapped, g.FileMapped), Is.EqualTo((3L, 0L, 3L)));

        RunUntilAccesses(m, child, 2);
        // The child's stores found the parent's pages in the object (shmem_fault: two minor faults, a write fault
        // maps only its own page, no fault-around; no COW in a shared mapping).
        Assert.That(PfnAt(m, child, Base), Is.EqualTo(orig[0]));
        Assert.That(PfnAt(m, child, Base + (2 * Page)), Is.EqualTo(orig[2]));
        Assert.That(Stats(m, child).MinFlt, Is.EqualTo(2));
        Assert.That(Mm(m, child).Mm.Struct.RssShmem, Is.EqualTo(2UL));
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.Zero);
        m.Run();
        Assert.That(Stats(m, parent).MinFlt, Is.EqualTo(3), "the parent's reads after the child's stores do not fault");
    }

    /// <summary>
    /// A page first touched after fork, by the parent, is in the object: the child, started after the parent's
    /// stores, finds it there (the same frame and content) with a read fault that maps the object's cached
    /// neighbours too (fault-around: one fault for the 4 pages), where a private page would have been its own.
    /// </summary>
    [Test]
    public void APageFirstTouchedAfterForkIsFoundByTheOtherProcess()
    {
        using var m = new SimMachine(Options());
        var parent = Add(m, "parent", mm => Mmap(mm, Base, 4, Prot.Read | Prot.Write, SharedAnon), 0,
            R(Base), W(Base), W(Base + Page), W(Base + (2 * Page)), W(Base + (3 * Page)));
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildStartDelay = 1UL << 40,
            ChildWorkload = _ => Trace("child", R(Base + Page), R(Base + (3 * Page)), R(Base), R(Base + (2 * Page))),
        });
        int file = Mm(m, parent).Mm.Vmas[Mm(m, parent).Mm.Vmas.FindVma(Base)].FileId;
        RunUntil(m, () => m.Kernel.Tasks.Processes.Count == 2);
        var child = m.Kernel.Tasks.Processes[1];
        RunUntilAccesses(m, child, 4);
        // Parent: page 0 read before the fork (1 fault), pages 1-3 first touched after it (3 write faults; page 0's
        // PTE is writable already: shmem maps a shared writable page writable on a read fault).
        Assert.That(Stats(m, parent).MinFlt, Is.EqualTo(4));
        // Child: one read fault, whose fault-around maps the 3 other cached pages of the object.
        Assert.That(Stats(m, child).MinFlt, Is.EqualTo(1));
        Assert.That(Stats(m, child).MajFlt, Is.Zero);
        Assert.That(m.Kernel.PageCache.Entries().Count(e => e.File == file), Is.EqualTo(4));
        m.Run();
        // Both gone: the object had no other reference, so it is evicted with its pages (shmem_evict_inode).
        Assert.That(m.Kernel.PageCache.Entries().Count(e => e.File == file), Is.Zero);
    }

    [Test]
    public void MapsNamesSharedAnonymousMemoryDevZeroDeleted()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", mm => Mmap(mm, Base, 16, Prot.Read | Prot.Write, SharedAnon), 0, W(Base), R(Base));
        RunUntilAccesses(m, p, 1);
        string maps = ProcMaps.Format(Mm(m, p).Mm);
        // Linux 6.18 on this machine: "7fd0081ae000-7fd0081be000 rw-s 00000000 00:01 41252   /dev/zero (deleted)"
        // (the inode is get_next_ino's; EcsMem prints 0).
        Assert.That(maps, Does.Contain("10000000-10010000 rw-s 00000000 00:01 0").And.Contain(" /dev/zero (deleted)\n"));
    }

    /// <summary>
    /// 256 shmem pages written, pushed out to swap by 1,024 private pages on a 512-page machine (FIFO: the shmem
    /// pages go first), then read back in order. shmem_writeout leaves no swap entry in the PTE: the PTE is cleared
    /// and the object's page cache holds the entry (not counted in MM_SWAPENTS). Swap-in of shmem uses the same cluster
    /// readahead (shmem_swapin_cluster → swap_cluster_readahead, page-cluster 3) as anonymous memory: 1 + 31 + 1 = 33
    /// major faults and 256 − 33 = 223 minor ones (worked out in SwapInTests; a readahead page waits in the swap
    /// cache, not the page cache, so fault-around maps none of them); each page comes back with its content into
    /// the object's page cache and its swap slot is freed.
    /// </summary>
    [Test]
    public void ShmemPagesAreSwappedOutAndBackIn()
    {
        const ulong Y = Base + (64UL << 20);
        var trace = new List<MemoryAccess>();
        for (int i = 0; i < 256; i++)
            trace.Add(W(Base + ((ulong)i * Page)));
        for (int i = 0; i < 1024; i++)
            trace.Add(W(Y + ((ulong)i * Page)));
        for (int i = 0; i < 256; i++)
            trace.Add(R(Base + ((ulong)i * Page)));
        using var m = new SimMachine(Options(ramPages: 512, swapPages: 4096) with { PageCluster = 3 });
        Entity p = Add(m, "p", mm =>
        {
            Mmap(mm, Base, 256, Prot.Read | Prot.Write, SharedAnon);
            Mmap(mm, Y, 1024, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
        }, 0, [.. trace]);
        RunUntilAccesses(m, p, 256);
        MmState mm = Mm(m, p);
        int file = mm.Mm.Vmas[mm.Mm.Vmas.FindVma(Base)].FileId;
        var tokens = new ulong[256];
        for (int i = 0; i < 256; i++)
            tokens[i] = m.Kernel.Zone.Frames[PfnAt(m, p, Base + ((ulong)i * Page))].ContentToken;

        RunUntilAccesses(m, p, 256 + 1024);
        for (int i = 0; i < 256; i++)
        {
            Assert.That(mm.Tables.Lookup(Base + ((ulong)i * Page)), Is.Zero, $"page {i}: PTE cleared, no swap entry");
            Assert.That(m.Kernel.OpenFiles.ShmemSwapSlot(file, i), Is.GreaterThan(0), $"page {i}: swap entry in the object");
            Assert.That(m.Kernel.PageCache.Find(file, i), Is.EqualTo(-1));
        }
        Assert.That(mm.Mm.Struct.RssShmem, Is.Zero);
        Assert.That(m.Kernel.OpenFiles.ShmemSwapped, Is.EqualTo(256));
        Assert.That(Counter(m, "pswpout"), Is.GreaterThanOrEqualTo(256));
        long maj0 = Stats(m, p).MajFlt, min0 = Stats(m, p).MinFlt;

        RunUntilAccesses(m, p, 256 + 1024 + 256);
        Assert.That(Stats(m, p).MajFlt - maj0, Is.EqualTo(33));
        Assert.That(Stats(m, p).MinFlt - min0, Is.EqualTo(223));
        Assert.That(m.Kernel.OpenFiles.ShmemSwapped, Is.Zero, "every page read back: its swap entry is gone");
        for (int i = 0; i < 256; i++)
        {
            int pfn = PfnAt(m, p, Base + ((ulong)i * Page));
            Assert.That(m.Kernel.Zone.Frames[pfn].IsShmem, Is.True, $"page {i} is a shmem page again");
            Assert.That(m.Kernel.Zone.Frames[pfn].IsAnon, Is.False);
            Assert.That(m.Kernel.PageCache.Find(file, i), Is.EqualTo(pfn), $"page {i} back in the object's page cache");
            Assert.That(m.Kernel.Zone.Frames[pfn].ContentToken, Is.EqualTo(tokens[i]), $"page {i} kept its content");
        }
        Assert.That(mm.Mm.Struct.RssShmem, Is.EqualTo(256UL));
    }

    private const ulong X = 0x7f0000000000;

    private static SimMachine Build(string machine, string flags, string workload, string timeline)
    {
        string yaml = "machine: {" + machine + "}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \"" + workload + "\"\n"
            + "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: 0x7f0000000000, length: 262144, prot: rw-, flags: " + flags + ", fixed: true}\n" + timeline;
        return ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "shmem.yaml"));
    }

    /// <summary>
    /// fork with <c>wait: true</c> (fork + waitpid): the parent sleeps until the child has written all 64 pages and
    /// exited. In a MAP_SHARED anonymous area the child's pages are the object's: the parent's 64 reads then take 4
    /// faults (fault-around maps the 16 cached pages of each aligned 64 KiB block). In a private area the child's pages
    /// are its own and the parent's reads map the zero page, 64 faults. The child's 64 write faults are its own.
    /// </summary>
    [TestCase("shared", 4)]
    [TestCase("private", 64)]
    public void TheParentWaitsForTheChildAndFindsItsPagesOnlyInASharedArea(string flags, int parentFaults)
    {
        using var m = Build("ram: 64M, swap: 0", flags, "seq:count=64,pages=64,base=0x7f0000000000",
            "  - after: 0\n    process: p\n    fork: {child: c, wait: true, workload: {generator: \"seq:count=64,pages=64,base=0x7f0000000000,writes=1\"}}\n");
        m.Run();
        var k = m.Kernel;
        Entity parent = k.Tasks.Processes[0], child = k.Tasks.Processes[1];
        Assert.That(Stats(m, child).MinFlt, Is.EqualTo(64));
        Assert.That(Stats(m, parent).MinFlt, Is.EqualTo(parentFaults));
        Assert.That(Stats(m, parent).Accesses, Is.EqualTo(64));
        // The parent's accesses all came after the child's exit.
        Assert.That(k.World.Get<Process>(parent).EndTime, Is.GreaterThan(k.World.Get<Process>(child).EndTime));
        Assert.That(string.Join("\n", m.AddressSpace.Log), Does.Contain("fork()"));
    }

    /// <summary>
    /// MADV_PAGEOUT of 16 written pages of a MAP_SHARED anonymous area (root may page out a file it can write): each is
    /// unmapped, written to swap by shmem_writeout (pswpout 16), its swap entry kept in the object, and left in the
    /// swap cache (the write is asynchronous): meminfo Shmem and vmstat nr_shmem drop from 64 kB / 16 pages to 0,
    /// RssShmem to 0. The next pass's 16 stores find the pages in the swap cache: 16 minor faults, the pages back
    /// in the object's page cache and every slot freed.
    /// </summary>
    [Test]
    public void PageoutWritesShmemToSwapAndTheNextAccessIsMinor()
    {
        using var m = Build("ram: 64M, swap: 16M", "shared", "loop:count=100000,pages=16,base=0x7f0000000000,writes=1", "");
        var k = m.Kernel;
        Entity p = k.Tasks.Processes[0];
        m.Run(() => Stats(m, p).Accesses >= 16, checkEvery: 1);
        MmState mm = Mm(m, p);
        var before = MemInfo.Build(MemoryGauges.Read(k)).ToDictionary(f => f.Name, f => f.Value);
        Assert.That(before["Shmem"], Is.EqualTo(64));
        Assert.That(VmStat.Gauges(MemoryGauges.Read(k)).Single(v => v.Name == "nr_shmem").Value, Is.EqualTo(16));
        long r = Madvise.DoMadvise(k, mm, X, 16 * 4096, MadviseAdvice.PageOut, new List<VmaChange>(), m.Env, p, 0);
        Assert.That(r, Is.Zero);
        Assert.That(Counter(m, "pswpout"), Is.EqualTo(16));
        Assert.That(k.OpenFiles.ShmemSwapped, Is.EqualTo(16));
        Assert.That(k.SwapCache.Count, Is.EqualTo(16));
        Assert.That(mm.Mm.Struct.RssShmem, Is.Zero);
        Assert.That(mm.Mm.Struct.SwapEnts, Is.Zero, "no swap entry in the PTEs");
        var after = MemInfo.Build(MemoryGauges.Read(k)).ToDictionary(f => f.Name, f => f.Value);
        Assert.That(after["Shmem"], Is.Zero);
        long min0 = Stats(m, p).MinFlt, acc0 = Stats(m, p).Accesses;

        m.Run(() => Stats(m, p).Accesses >= acc0 + 32, checkEvery: 1);
        Assert.That(Stats(m, p).MinFlt - min0, Is.EqualTo(16));
        Assert.That(Stats(m, p).MajFlt, Is.Zero);
        Assert.That(k.OpenFiles.ShmemSwapped + k.SwapCache.Count + k.Swap.UsedPages, Is.Zero);
    }
}
