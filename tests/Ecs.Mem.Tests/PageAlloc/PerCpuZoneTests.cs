using EcsMem.Components;
using EcsMem.Systems.Reporting;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// The per-CPU lists inside the kernel: when they are on, which CPU's list a frame goes through, what MemFree,
/// nr_free_pages and /proc/buddyinfo show (the buddy allocator only), what the invariant checker accepts, the
/// drains of the allocation slow path, and the report's pagesets table. Expected values are worked out in the
/// comments from the buddy rules (docs/physical.md) and Linux 6.6's pcp rules (PerCpuPageSetTests).
/// </summary>
public class PerCpuZoneTests
{
    private const string FreshBuddyInfo = "Node 0, zone   Normal      1      1      1      1      1      1      1      1      1      1     15 \n";

    [Test]
    public void OnAtEveryCpuCountUnlessTurnedOff()
    {
        // Linux always has the lists (zone_pcp_init gives every zone its pageset, a uniprocessor kernel too).
        using (var one = new SimMachine(Options(1024)))
        {
            // 4 MiB, one CPU. zone_batchsize: min(1024 >> 10, 256) = 1, / 4 = 0 -> 1, rounddown_pow_of_two(1 + 0) - 1 = 0
            // -> 1. Watermarks: min_free_kbytes = int_sqrt(4096 * 16) = 256 -> min 64 pages, delta = max(64 / 4,
            // 1024 * 10 / 10000) = 16, low 80. zone_highsize: max(80 / 1, 1 << 2) = 80.
            Assert.That(one.Kernel.Options.PerCpuPages, Is.True);
            Assert.That((one.Kernel.Zone.Pcp!.Cpus, one.Kernel.Zone.Pcp.Batch, one.Kernel.Zone.Pcp.High), Is.EqualTo((1, 1, 80)));
        }
        using (var big = new SimMachine(Options(16384)))
        {
            // 64 MiB, one CPU: batch min(16, 256) / 4 = 4, rounddown_pow_of_two(4 + 2) - 1 = 3; min_free_kbytes
            // int_sqrt(65536 * 16) = 1024 -> min 256, delta max(64, 16) = 64, low 320; high = max(320 / 1, 3 << 2) = 320.
            Assert.That((big.Kernel.Zone.Pcp!.Cpus, big.Kernel.Zone.Pcp.Batch, big.Kernel.Zone.Pcp.High), Is.EqualTo((1, 3, 320)));
        }
        using (var two = new SimMachine(Options(16384) with { Cpus = 2 }))
        {
            // 64 MiB: batch 3; high = max(320 / 2, 12) = 160.
            Assert.That((two.Kernel.Zone.Pcp!.Cpus, two.Kernel.Zone.Pcp.Batch, two.Kernel.Zone.Pcp.High), Is.EqualTo((2, 3, 160)));
        }
        // Turned off (the older model): no lists, nothing to drain, and the report has no pagesets table.
        using (var off = new SimMachine(Options(1024) with { PerCpuPages = false }))
        {
            Assert.That(off.Kernel.Zone.Pcp, Is.Null);
            Assert.That(off.Kernel.Zone.DrainAllPages(), Is.EqualTo(0));
            var r = SimulationReport.Build(off, "t");
            Assert.That(r.Pagesets, Is.Null);
            Assert.That(ReportTextWriter.Write(r), Does.Not.Contain("per-CPU"));
            Assert.That(ReportJsonWriter.Write(r), Does.Not.Contain("pagesets"));
        }
        using var refused = new SimMachine(Options(16384) with { Cpus = 2, PerCpuPages = false });
        Assert.That(refused.Kernel.Zone.Pcp, Is.Null);
    }

    [Test]
    public void TheScenarioKeyPerCpuPagesTurnsTheListsOffWhateverTheCpuCount()
    {
        // machine.per_cpu_pages: absent or true is Linux's own setting (the lists, at one CPU too); false turns them
        // off at one CPU or two. One CPU, 64 MiB: batch 3, high 320 (as above).
        static SimMachine Build(string machine) => EcsMem.Systems.Machine.ScenarioLoader.Build(EcsMem.Scenarios.ScenarioParser.Parse(
            new StringReader("machine: {" + machine + "}\nprocesses:\n  - name: p\n    workload: {generator: \"seq:count=1,pages=1\"}\n"), "pcp.yaml"));
        using (var absent = Build("ram: 64M, swap: 0"))
            Assert.That((absent.Kernel.Zone.Pcp!.Cpus, absent.Kernel.Zone.Pcp.High), Is.EqualTo((1, 320)));
        using (var on = Build("ram: 64M, swap: 0, per_cpu_pages: true"))
            Assert.That((on.Kernel.Zone.Pcp!.Cpus, on.Kernel.Zone.Pcp.High), Is.EqualTo((1, 320)));
        using (var one = Build("ram: 64M, swap: 0, per_cpu_pages: false"))
            Assert.That(one.Kernel.Zone.Pcp, Is.Null);
        using var off = Build("ram: 64M, swap: 0, cpus: 2, per_cpu_pages: false");
        Assert.That(off.Kernel.Zone.Pcp, Is.Null);
    }

    [Test]
    public void PcpPagesAreFreeButNotInMemFreeOrBuddyinfo()
    {
        // 64 MiB, 2 CPUs: batch 3, high 160. The zero page took pfn 0 at boot (the first order-10 block split
        // into 512 (o9), 256, ..., 2 (o1), 1 (o0)): 16383 pages free, one block of each order 0..9 plus 15 of order 10.
        using var m = new SimMachine(Options(16384, swapPages: 0) with { Cpus = 2 });
        Zone z = m.Kernel.Zone;
        Assert.That(z.ZeroPfn, Is.EqualTo(0));
        Assert.That(z.Buddy.NrFreePages, Is.EqualTo(16383));
        Assert.That(z.Buddy.FormatBuddyInfo(), Is.EqualTo(FreshBuddyInfo));

        // CPU 0: rmqueue_bulk takes 1 (o0), 2 (o1, splitting off 3), 3 -> list [1, 2, 3], 1 handed out.
        Assert.That(z.AllocFrame(0), Is.EqualTo(1));
        // CPU 1: 4 (o2, splitting off 6 (o1) and 5 (o0)), 5, 6 (splitting off 7) -> list [4, 5, 6], 4 handed out.
        Assert.That(z.AllocFrame(1), Is.EqualTo(4));
        Assert.That((z.Pcp!.Count(0), z.Pcp.Count(1)), Is.EqualTo((2, 2)));
        // The buddy allocator gave away 6 pages: 16377 left, order 0 holds 7, orders 1 and 2 are empty.
        Assert.That(z.Buddy.NrFreePages, Is.EqualTo(16377));
        Assert.That(z.Buddy.FormatBuddyInfo(), Is.EqualTo(
            "Node 0, zone   Normal      1      0      0      1      1      1      1      1      1      1     15 \n"));

        // Frees stop on the freeing CPU's list (1 on CPU 1, 4 on CPU 0): the buddy allocator does not see them.
        z.FreeFrame(1, 1);
        z.FreeFrame(4, 0);
        Assert.That((z.Pcp.Count(0), z.Pcp.Count(1), z.PcpPages), Is.EqualTo((3, 3, 6L)));
        Assert.That(z.Frames[1].Flags, Is.EqualTo(FrameFlags.PcpList));
        Assert.That(z.Frames[1].IsFree, Is.True);
        Assert.That(z.Buddy.NrFreePages, Is.EqualTo(16377));
        var gauges = MemoryGauges.Read(m.Kernel);
        Assert.That(gauges.FreePages, Is.EqualTo(16377));
        Assert.That(MemInfo.Build(gauges).Single(l => l.Name == "MemFree").Value, Is.EqualTo(16377 * 4)); // 65508 kB
        Assert.That(InvariantChecker.Check(m), Is.Empty);

        // The report's table: count, high, batch per CPU.
        var r = SimulationReport.Build(m, "t");
        Assert.That(r.Pagesets, Is.EqualTo(new[] { new PagesetRow(0, 3, 160, 3), new PagesetRow(1, 3, 160, 3) }));
        string text = ReportTextWriter.Write(r);
        Assert.That(text, Does.Contain(
            "\n== per-CPU page lists (/proc/zoneinfo pagesets, zone Normal) ==\n" +
            "   cpu    count     high    batch\n" +
            "     0        3      160        3\n" +
            "     1        3      160        3\n" +
            "  (pages on these lists are free but not counted in MemFree, nr_free_pages or /proc/buddyinfo)\n"));
        using (var json = System.Text.Json.JsonDocument.Parse(ReportJsonWriter.Write(r)))
        {
            var sets = json.RootElement.GetProperty("pagesets");
            Assert.That(sets.GetArrayLength(), Is.EqualTo(2));
            Assert.That(sets[1].GetRawText().Replace(" ", "").Replace("\n", "").Replace("\r", ""),
                Is.EqualTo("{\"cpu\":1,\"count\":3,\"high\":160,\"batch\":3}"));
        }

        // drain_all_pages: both lists go back and everything merges as it was at boot.
        Assert.That(z.DrainAllPages(), Is.EqualTo(6));
        Assert.That(z.PcpPages, Is.EqualTo(0));
        Assert.That(z.Buddy.NrFreePages, Is.EqualTo(16383));
        Assert.That(z.Buddy.FormatBuddyInfo(), Is.EqualTo(FreshBuddyInfo));
        Assert.That(z.Frames[1].Flags, Is.EqualTo(FrameFlags.Buddy));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void AFreeThatReachesHighReturnsTheOldestPages()
    {
        using var m = new SimMachine(Options(16384, swapPages: 0) with { Cpus = 2 });
        Zone z = m.Kernel.Zone;
        // 170 allocations on CPU 0: the buddy allocator hands pages out in increasing pfn order (each split keeps
        // the lower half), 3 per refill; 57 refills take 1..171, 1..170 are handed out and 171 stays on the list.
        var pages = new int[170];
        for (int i = 0; i < pages.Length; i++)
            pages[i] = z.AllocFrame(0);
        Assert.That(pages, Is.EqualTo(Enumerable.Range(1, 170).ToArray()));
        Assert.That(z.Pcp!.Count(0), Is.EqualTo(1));
        Assert.That(z.Buddy.NrFreePages, Is.EqualTo(16383 - 171));

        // CPU 1 frees 1..159: its count climbs to 159. Freeing 160 makes it 160 = high: nr_pcp_free =
        // clamp(3 << 0, 3, 157) = 3 (free_factor -> 1), taken from the tail: 1, 2, 3, the first freed.
        for (int p = 1; p <= 159; p++)
            z.FreeFrame(p, 1);
        Assert.That(z.Pcp.Count(1), Is.EqualTo(159));
        z.FreeFrame(160, 1);
        Assert.That(z.Pcp.Count(1), Is.EqualTo(157));
        Assert.That(new[] { z.Frames[1].Flags, z.Frames[3].Flags, z.Frames[4].Flags }, Is.EqualTo(new[] { FrameFlags.Buddy, FrameFlags.Buddy, FrameFlags.PcpList }));
        // 161, 162, 163: the count is back at 160; now 3 << 1 = 6 (free_factor -> 2): 4..9 go back.
        z.FreeFrame(161, 1);
        z.FreeFrame(162, 1);
        z.FreeFrame(163, 1);
        Assert.That(z.Pcp.Count(1), Is.EqualTo(154)); // 10..163
        Assert.That(z.Pcp.CpuOf(9), Is.EqualTo(-1));
        Assert.That(z.Pcp.CpuOf(10), Is.EqualTo(1));

        // The buddy allocator got 1..9 back, in that order. 1 cannot merge (0 is the zero page); 2 waits for 3;
        // 3 merges 2-3 (order 1; 0-1 is not free); 5 merges 4-5, 7 merges 6-7, then 4-7 (order 2); 9 merges 8-9.
        // Beyond 171 the rest of the first 1024-page block is 172 (o2), 176 (o4), 192 (o6), 256 (o8), 512 (o9).
        // Order 1 holds [8-9, 2-3] and order 2 [4-7, 172], each newest at the head.
        var list = new int[8];
        Assert.That(list[..z.Buddy.CopyFreeList(1, list)], Is.EqualTo(new[] { 8, 2 }));
        Assert.That(list[..z.Buddy.CopyFreeList(2, list)], Is.EqualTo(new[] { 4, 172 }));
        Assert.That(z.Buddy.FormatBuddyInfo(), Is.EqualTo(
            "Node 0, zone   Normal      1      2      2      0      1      0      1      0      1      1     15 \n"));
        // 16212 + 9 = 16221 free pages = 1 + 2·2 + 2·4 + 16 + 64 + 256 + 512 + 15·1024; MemFree 64884 kB.
        Assert.That(z.Buddy.NrFreePages, Is.EqualTo(16221));
        Assert.That(MemInfo.Build(MemoryGauges.Read(m.Kernel)).Single(l => l.Name == "MemFree").Value, Is.EqualTo(64884));

        // CPU 0 frees the rest (164..170): its count goes 1 -> 8, far from high.
        for (int p = 164; p <= 170; p++)
            z.FreeFrame(p, 0);
        Assert.That(z.Pcp.Count(0), Is.EqualTo(8));
        // Frames: 16221 in the buddy allocator + 162 on the lists + the zero page = 16384.
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        Assert.That(z.DrainAllPages(), Is.EqualTo(162));
        Assert.That(z.Buddy.FormatBuddyInfo(), Is.EqualTo(FreshBuddyInfo));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void CheckerCatchesABrokenPcpList()
    {
        using var m = new SimMachine(Options(16384, swapPages: 0) with { Cpus = 2 });
        Zone z = m.Kernel.Zone;
        int pfn = z.AllocFrame(1);
        z.FreeFrame(pfn, 1);
        // The page is on CPU 1's list (1, 2, 3 from the refill; 1 handed out and freed back to the head).
        z.Frames[pfn].Flags = FrameFlags.None;
        var v = InvariantChecker.Check(m);
        Assert.That(v, Does.Contain($"pcp: frame {pfn} is on CPU 1's list but its struct page says None"));
        // Two frames (2, 3) still tagged, three listed and counted.
        Assert.That(v, Does.Contain("pcp: 2 frames tagged, 3 listed, 3 counted on per-CPU lists"));
    }

    /// <summary>
    /// No swap, so nothing is reclaimable. __alloc_pages_direct_reclaim drains the per-CPU lists only after a reclaim
    /// that made progress (6.18: a pass that reclaimed nothing goes straight to should_reclaim_retry), and neither
    /// should_reclaim_retry nor __alloc_pages_may_oom drains them: the 9 pages parked on CPU 1's list stay there, and the
    /// process is OOM-killed exactly as when those 9 pages are really in use. The count of direct reclaims is the same
    /// by hand in both: the stall comes at free = min = 16; zone_reclaimable_pages finds no LRU page and reports the 16
    /// free ones, so should_reclaim_retry sees 16 + 16 = 32 &gt; 16 and retries until no_progress_loops passes
    /// MAX_RECLAIM_RETRIES: 1 + 16 = 17 reclaims (allocstall), then out_of_memory.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void AFruitlessDirectReclaimDoesNotDrainBeforeTheOomKiller(bool parked)
    {
        // 160 pages, min_free_kbytes 64: min 16, low 20 (delta max(4, 0) = 4); batch 1; high = max(20 / 2, 4) = 10.
        using var m = new SimMachine(Options(160, swapPages: 0, minFreeKbytes: 64) with { Cpus = 2 });
        Zone z = m.Kernel.Zone;
        Assert.That((z.Pcp!.Batch, z.Pcp.High), Is.EqualTo((1, 10)));
        var held = new int[9];
        for (int i = 0; i < held.Length; i++)
            held[i] = z.AllocFrame(1);
        if (parked)
        {
            // 9 frees on CPU 1: count 9 < 10, so all stay on its list.
            foreach (int p in held)
                z.FreeFrame(p, 1);
            Assert.That(z.Pcp.Count(1), Is.EqualTo(9));
        }
        else
        {
            // Really in use (pinned, as a driver's pages would be): the checker is not run on this machine.
            foreach (int p in held)
                z.PinFrame(p);
        }
        Assert.That(z.Buddy.NrFreePages, Is.EqualTo(159 - 9));
        // 150 free: 4 page tables (pgd, pud, pmd, pte) and 134 data pages leave 12 < min without the 9.
        var accesses = Enumerable.Range(0, 134).Select(i => W(Base + ((ulong)i * Page))).ToArray();
        var p1 = Add(m, "p", Anon(Base, 134), 0, accesses);
        if (parked)
            m.RunChecked();
        else
            m.Run();
        Assert.That(Counter(m, "allocstall_normal"), Is.EqualTo(17));
        Assert.That(Counter(m, "oom_kill"), Is.EqualTo(1));
        Assert.That(Proc(m, p1).State, Is.EqualTo(ProcessState.Killed));
        if (parked)
            Assert.That(z.Pcp.Count(1), Is.EqualTo(9), "CPU 1 never ran and nothing drained its list");
    }

    /// <summary>
    /// __alloc_pages_direct_reclaim's own drain: reclaim made progress, but the page it freed sits on the
    /// reclaiming CPU's list (one page per pass, SwapClusterMax 1: below even the four batches nr_pcp_high
    /// allows while kswapd runs), so NR_FREE_PAGES is still at min and the retry fails; drain_all_pages puts
    /// it, and the 9 pages parked on CPU 1, back in the buddy allocator. (With 4 pages per pass the fourth
    /// would reach that reclaim-time high and go to the buddy allocator at once, and no drain would be needed.)
    /// </summary>
    [Test]
    public void ARetryAfterReclaimDrainsTheLists()
    {
        using var m = new SimMachine(Options(160, swapPages: 256, minFreeKbytes: 64) with { Cpus = 2, SwapClusterMax = 1 });
        Zone z = m.Kernel.Zone;
        var held = new int[9];
        for (int i = 0; i < held.Length; i++)
            held[i] = z.AllocFrame(1);
        foreach (int p in held)
            z.FreeFrame(p, 1);
        var accesses = Enumerable.Range(0, 200).Select(i => W(Base + ((ulong)i * Page))).ToArray();
        var p1 = Add(m, "p", Anon(Base, 200), 0, accesses);
        m.RunChecked();
        Assert.That(Counter(m, "oom_kill"), Is.EqualTo(0));
        Assert.That(Counter(m, "pswpout"), Is.GreaterThan(0));
        // Every direct reclaim pass freed its page, so the drain before the OOM killer never ran: the retry's did.
        Assert.That(Counter(m, "allocstall_normal"), Is.GreaterThan(0));
        Assert.That(Counter(m, "pgsteal_direct"), Is.EqualTo(Counter(m, "allocstall_normal")));
        Assert.That(Proc(m, p1).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(z.Pcp!.Count(1), Is.EqualTo(0), "CPU 1 never ran: only a drain empties its list");
        z.DrainAllPages();
        Assert.That(z.Buddy.NrFreePages, Is.EqualTo(159));
    }

    [Test]
    public void BusyTwoCpuRunKeepsEveryInvariant()
    {
        // The pipeline-equivalence workload (fork, munmap, mprotect, file and shared mappings, swap, SIGSEGV) on
        // 160 frames with the lists on (batch 1, high 10), checked after every tick.
        using var m = EcsMem.Tests.Kernel.PipelineEquivalenceTests.Build(1, "linux", 7, cpus: 2);
        Assert.That(m.Kernel.Zone.Pcp, Is.Not.Null);
        m.RunChecked();
        Assert.That(m.Finished, Is.True);
        Assert.That(Counter(m, "pswpout"), Is.GreaterThan(0));
        // Everything exited: after the drains (lru_add_drain_all, then drain_all_pages) only the zero page and the page
        // cache hold frames; exit does not drain the lru_add batches (Linux 6.18).
        m.Kernel.LruAddDrainAll();
        m.Kernel.Zone.DrainAllPages();
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(m.Kernel.Zone.Frames.Length - 1 - m.Kernel.PageCache.Count));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
