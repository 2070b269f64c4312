using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.PageAlloc;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// machine.free_area: the zone starts with exactly the free blocks a /proc/buddyinfo line gives, none of which can
/// merge with its buddy (__free_one_page would have merged two free buddies), at seeded places, the rest held.
/// </summary>
public class AgedFreeAreaTests
{
    private const string Body = "processes:\n  - name: p\n    workload: {generator: \"seq:count=1,pages=1\"}\n";

    private static SimMachine Build(string machine) => EcsMem.Systems.Machine.ScenarioLoader.Build(
        ScenarioParser.Parse(new StringReader("machine: {" + machine + "}\n" + Body), "aged.yaml"));

    /// <summary>Checks a layout against the buddy rules directly from its arrays (not through the allocator).</summary>
    private static void AssertLayout(AgedFreeArea a, int pages, long[] counts)
    {
        var perOrder = new long[counts.Length];
        var covered = new bool[pages];
        for (int b = 0; b < a.BlockPfn.Length; b++)
        {
            int p = a.BlockPfn[b], k = a.BlockOrder[b], size = 1 << k;
            perOrder[k]++;
            Assert.That(p % size, Is.Zero, $"block {p} of order {k} is not aligned");
            for (int i = p; i < p + size; i++)
            {
                Assert.That(covered[i] || a.Held[i], Is.False, $"page {i} is in two blocks or held and free");
                covered[i] = true;
            }
            if (k < BuddyAllocator.MaxOrder)
            {
                int buddy = p ^ size;
                bool holds = false;
                for (int i = buddy; i < buddy + size; i++)
                    holds |= a.Held[i];
                Assert.That(holds, Is.True, $"order-{k} block {p}: its buddy {buddy} holds no allocated page, so the two would merge");
            }
        }
        Assert.That(perOrder, Is.EqualTo(counts));
        int held = 0;
        for (int i = 0; i < pages; i++)
        {
            Assert.That(covered[i] ^ a.Held[i], Is.True, $"page {i} is neither free nor held");
            if (a.Held[i])
                held++;
        }
        Assert.That(a.HeldPages, Is.EqualTo(held));
    }

    [TestCase(65536, 1UL, new long[] { 137, 158, 119, 139, 125, 75, 33, 19, 7, 2, 13 })] // this machine's Normal zone at 1 min of uptime, scaled to 256 MiB
    [TestCase(65536, 7UL, new long[] { 298, 391, 329, 256, 183, 65, 25, 13, 7, 5, 22 })] // after 21.5 h, scaled
    [TestCase(8192, 3UL, new long[] { 400, 300, 150, 80, 30, 10, 4, 2, 0, 0, 0 })] // 7,104 of 8,192 pages with the buddies
    [TestCase(4096, 9UL, new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0 })] // exactly full: each order-9 block beside a held half
    public void EveryBlockIsWhereTheBuddyRulesAllowAndTheCountsAreExact(int pages, ulong seed, long[] counts)
    {
        AssertLayout(AgedFreeArea.Place(pages, counts, seed), pages, counts);
    }

    [Test]
    public void OneBlockMoreThanFitsIsRefused()
    {
        // 4 top-order blocks hold 4 order-9 blocks with their buddies (1,024 pages each), not 5.
        var e = Assert.Throws<ArgumentException>(() => AgedFreeArea.Place(4096, [0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0], 1));
        Assert.That(e!.Message, Does.StartWith("free_area's blocks and their buddies need 5120 pages, the zone's whole 4 MiB blocks hold 4096"));
    }

    [Test]
    public void TheSeedDecidesThePlacesAndTheSameSeedGivesTheSameMachine()
    {
        long[] counts = [100, 50, 20, 10, 5, 2, 1, 0, 0, 0, 2];
        AgedFreeArea a = AgedFreeArea.Place(16384, counts, 5), b = AgedFreeArea.Place(16384, counts, 5), c = AgedFreeArea.Place(16384, counts, 6);
        Assert.That(b.BlockPfn, Is.EqualTo(a.BlockPfn));
        Assert.That(c.BlockPfn, Is.Not.EqualTo(a.BlockPfn));
    }

    [Test]
    public void TheZoneStartsWithTheGivenBuddyinfo()
    {
        // 256 MiB, this machine's Normal zone at 1 min of uptime scaled to it (oracle/experiments/ra-fallback).
        long[] counts = [137, 158, 119, 139, 125, 75, 33, 19, 7, 2, 13];
        var buddy = new BuddyAllocator(65536);
        buddy.Age(AgedFreeArea.Place(65536, counts, 1));
        Assert.That(buddy.FormatBuddyInfo(),
            Is.EqualTo("Node 0, zone   Normal    137    158    119    139    125     75     33     19      7      2     13 \n"));
        // By hand: 137 + 2*158 + 4*119 + 8*139 + 16*125 + 32*75 + 64*33 + 128*19 + 256*7 + 512*2 + 1024*13 = 27,113.
        Assert.That(buddy.NrFreePages, Is.EqualTo(27113));
        Assert.That(buddy.AllocatedPages, Is.EqualTo(65536 - 27113));
    }

    [Test]
    public void EveryOtherPageOfTheMachineIsHeldAndTheZeroPageIsOneOfThem()
    {
        using SimMachine m = Build("ram: 256M, swap: 0, free_area: [137, 158, 119, 139, 125, 75, 33, 19, 7, 2, 13]");
        Zone z = m.Kernel.Zone;
        int reserved = z.Frames.Count(f => (f.Flags & EcsMem.Components.FrameFlags.Reserved) != 0);
        // The held pages are the 65,536 - 27,113 = 38,423 pages outside the free blocks; the zero page is the first.
        Assert.That(reserved, Is.EqualTo(38423 - 1));
        Assert.That(z.HeldPages, Is.EqualTo(reserved));
        Assert.That(z.Frames.Take(z.ZeroPfn).Count(f => (f.Flags & EcsMem.Components.FrameFlags.Reserved) != 0), Is.Zero);
        Assert.That(z.Frames[z.ZeroPfn].Flags, Is.EqualTo(EcsMem.Components.FrameFlags.Locked));
        Assert.That(new EcsMem.Systems.Machine.InvariantChecker(m.Kernel).Check(), Is.Empty);
    }

    [Test]
    public void OrderZeroAllocationsTakeTheOrderZeroBlocksFirstInListOrder()
    {
        // __rmqueue_smallest: the smallest order with a free block, its list's head. Without the per-CPU lists the
        // first three order-0 allocations are the three order-0 blocks in the order they were placed (list tail
        // order), then an order-1 block is split: its lower page goes out, the upper half stays as an order-0 block.
        long[] counts = [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        AgedFreeArea layout = AgedFreeArea.Place(16384, counts, 1);
        int[] zeros = [.. Enumerable.Range(0, layout.BlockPfn.Length).Where(b => layout.BlockOrder[b] == 0).Select(b => layout.BlockPfn[b])];
        int one = layout.BlockPfn[Array.IndexOf(layout.BlockOrder, (sbyte)1)];
        var buddy = new BuddyAllocator(16384);
        buddy.Age(layout);
        Assert.That(new[] { buddy.AllocPages(0), buddy.AllocPages(0), buddy.AllocPages(0), buddy.AllocPages(0), buddy.AllocPages(0) },
            Is.EqualTo(new[] { zeros[0], zeros[1], zeros[2], one, one + 1 }));
    }

    [Test]
    public void AnAgedMachineSwapsWithEveryInvariantHeldTickByTick()
    {
        // 8 MiB, 2,048 pages: 1,476 free in small blocks and one order-10 block, 571 held, the zero page; two
        // processes touch 3 MiB with 16 MiB of swap, so reclaim, swap-out and refaults run over the aged lists.
        // The reliability suite's swapping scenario on 8 MiB with an aged free area.
        string yaml = Reliability.ReliabilityScenarios.Swapping.Replace("ram: 1M", "ram: 8M\n  free_area: [40, 30, 20, 10, 6, 3, 0, 0, 0, 0, 1]", StringComparison.Ordinal);
        Assert.That(yaml, Does.Contain("free_area"));
        using var m = EcsMem.Systems.Machine.ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "aged.yaml"));
        // 1,476 free pages; the build took two for the processes' page tables (pcp batch 1 at 8 MiB).
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(40 + 60 + 80 + 80 + 96 + 96 + 1024 - 2));
        long ticks = m.RunIncrementallyChecked(fullEvery: 25);
        Assert.That(m.Finished, Is.True);
        Assert.That(ticks, Is.GreaterThan(100));
        Assert.That(m.Env.Counters.Get("pswpout"), Is.GreaterThan(0), "the run must swap to test anything");
        // The held pages are never freed: the buddy allocator never holds more than the free area plus what the
        // programs freed, i.e. the held pages stay allocated to the end.
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.LessThanOrEqualTo(2048 - m.Kernel.Zone.HeldPages - 1));
    }

    [Test]
    public void OnTheAgedSampleTheLaterHugePagesComeFromDirectCompactionMovingHeldPages()
    {
        // samples/scenarios/aged-thp.yaml: one order-9 and two order-10 blocks free at the start, so at most five
        // 2 MiB pages without compaction; the program's heap takes one per whole aligned 2 MiB range it covers.
        string path = Path.Combine(EcsMem.Tests.Scenarios.ScenarioTestFiles.RepoRoot(), "samples", "scenarios", "aged-thp.yaml");
        string yaml = File.ReadAllText(path);
        using var aged = EcsMem.Systems.Machine.ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), path));
        using var fresh = EcsMem.Systems.Machine.ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(
            yaml.Replace("  free_area: [200, 150, 100, 60, 30, 10, 4, 2, 1, 1, 2]\n", "", StringComparison.Ordinal)), "fresh.yaml"));
        // The line's order-9 and order-10 blocks (1 and 2) hold five 2 MiB pages; the build's page tables (an
        // unmovable allocation's fallback claims a whole block) have taken one of them.
        long free2M = aged.Kernel.Zone.Buddy.NrFree[9] + (2 * aged.Kernel.Zone.Buddy.NrFree[10]);
        Assert.That(free2M, Is.InRange(4, 5));
        // Whole 2 MiB-aligned ranges inside the heap VMA, counted from its bounds.
        var mm = aged.Kernel.Tasks.MmOf(aged.Kernel.Tasks.Processes[0]).Mm;
        ulong hugeRanges = 0;
        foreach (ref readonly EcsMem.Components.Vma v in mm.Vmas)
            if (v.Kind == EcsMem.Components.VmaKind.Heap)
                hugeRanges = (v.End >> 21) - ((v.Start + (1UL << 21) - 1) >> 21);
        Assert.That((long)hugeRanges, Is.GreaterThan(free2M), "the heap must want more huge pages than the free blocks hold");

        aged.RunIncrementallyChecked(fullEvery: 200);
        fresh.Run();
        var a = aged.Env.Counters;
        Assert.That(a.Get("thp_fault_alloc"), Is.EqualTo((long)hugeRanges));
        Assert.That(fresh.Env.Counters.Get("thp_fault_alloc"), Is.EqualTo((long)hugeRanges));
        Assert.That(fresh.Env.Counters.Get("compact_stall"), Is.Zero);
        // Every huge page past the three free blocks' came from a direct compaction that succeeded by moving pages.
        Assert.That(a.Get("compact_stall"), Is.GreaterThanOrEqualTo(1));
        Assert.That(a.Get("compact_success"), Is.EqualTo(a.Get("compact_stall")));
        Assert.That(a.Get("pgmigrate_success"), Is.GreaterThan(0));
        // The moves cost their copies at least (2 x memory latency each), on the compaction row.
        long copies = a.Get("pgmigrate_success") * 2 * aged.Kernel.Timing.MemoryCycles;
        Assert.That(aged.Kernel.Cycles[EcsMem.Systems.Timing.CycleCategory.Compaction], Is.GreaterThanOrEqualTo(copies));
        Assert.That(aged.Kernel.Zone.Frames.Count(f => (f.Flags & EcsMem.Components.FrameFlags.Reserved) != 0), Is.EqualTo(aged.Kernel.Zone.HeldPages),
            "a moved held page stays held: as many at the end as at the start");
    }

    [TestCase("free_area: [1, 2, 3]", "aged.yaml:1: machine.free_area must list 11 counts, the free blocks of orders 0..10 as /proc/buddyinfo gives them (it lists 3) (got '(a list)')")]
    [TestCase("free_area: [0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0]", "aged.yaml:1: machine.free_area[9] must not be negative (got '-1')")]
    [TestCase("free_area: 5", "aged.yaml:1: machine.free_area must be a list (entries starting with '- ') (got '5')")]
    [TestCase("free_area: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 65]", "aged.yaml:1: machine.free_area's blocks with their buddies need 66560 pages; machine.ram's whole 4 MiB blocks hold 65536 (got '(a list)')")]
    public void BadFreeAreasEndInOneLineNamingTheFileLineAndValue(string key, string message)
    {
        var e = Assert.Throws<InputException>(() => Build("ram: 256M, swap: 0, " + key));
        Assert.That(e!.Message, Is.EqualTo(message));
    }

    [Test]
    public void TheWriterWritesTheKeySoTheScenarioReadsBackTheSame()
    {
        Scenario s = ScenarioParser.Parse(new StringReader("machine: {ram: 64M, free_area: [1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 3]}\n" + Body), "aged.yaml");
        string yaml = ScenarioWriter.ToYaml(s);
        Assert.That(yaml, Does.Contain("free_area: [1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 3]"));
        Scenario again = ScenarioParser.Parse(new StringReader(yaml), "again.yaml");
        Assert.That(again.Machine.FreeArea, Is.EqualTo(s.Machine.FreeArea));
        Assert.That(ScenarioWriter.ToYaml(again), Is.EqualTo(yaml));
    }
}
