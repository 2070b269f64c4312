using EcsMem.Components;
using static EcsMem.Tests.Kernel.KernelKit;
using KernelState = EcsMem.Systems.Kernel.Kernel;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Bookkeeping checked against its definition after every tick of a busy run (fork, munmap, mprotect, file
/// and shared mappings, swap, SIGSEGV): mapcounts, rmap, RSS and swap counts are recounted from the page
/// tables themselves, and every used frame must be accounted for.
/// </summary>
public class KernelInvariantTests
{
    [TestCase("fifo", 0UL)]
    [TestCase("linux", 10UL)]
    [TestCase("clock", 20UL)]
    [TestCase("lru", 30UL)]
    [TestCase("random", 40UL)]
    public void BookkeepingMatchesThePageTablesAfterEveryTick(string policy, ulong seed)
    {
        using var m = PipelineEquivalenceTests.Build(1, policy, seed);
        Run(m, swapped: true);
    }

    [Test]
    public void BookkeepingHoldsThroughOomKillsWithoutSwap()
    {
        using var m = PipelineEquivalenceTests.Build(1, "linux", 50, swapPages: 0);
        Run(m, swapped: false);
        Assert.That(Counter(m, "oom_kill"), Is.GreaterThan(0), "the scenario does not fit in RAM without swap");
    }

    [TestCase(0)]
    [TestCase(512)]
    public void BookkeepingHoldsWithMinFreeKbytesZero(int swapPages)
    {
        // min = low = high = 0: allocations go down to the page-table reserve itself.
        using var m = PipelineEquivalenceTests.Build(1, "clock", 60, swapPages, minFreeKbytes: 0);
        Run(m, swapped: swapPages > 0);
    }

    [TestCase(0)]
    [TestCase(64)]
    public void PageTablesNeverRunOutWhenReadsCompleteAtTheFloor(int swapPages)
    {
        // min_free_kbytes 0 and 64 frames: allocations go down to the page-table reserve. Four processes
        // each read file pages in a far region (their installs need 3 new tables, after the read) while the
        // others keep allocating: the frames for those tables must still be there.
        using var m = new SimMachine(Options(64, swapPages, minFreeKbytes: 0) with { Quantum = 1 });
        int file = m.Kernel.Files.Intern("/data/far");
        const ulong far = 0x7f00_0000_0000;
        for (int n = 0; n < 4; n++)
        {
            var t = new List<EcsMem.Traces.MemoryAccess>();
            for (int i = 0; i < 24; i++)
            {
                t.Add(W(Base + ((ulong)i * Page)));
                if (i % 6 == 5)
                    t.Add(R(far + ((ulong)(n * 8 + (i / 6)) * Page)));
            }
            int idx = n;
            m.AddProcess($"p{n}", mm =>
            {
                Mmap(mm, Base, 24, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
                Mmap(mm, far, 32, Prot.Read, MapFlags.Private, file);
            }, Trace($"p{idx}", [.. t]));
        }
        long ticks = 0;
        while (!m.Finished)
        {
            m.Env.RunTick();
            if (++ticks % 3 == 0)
                Check(m);
        }
        Check(m);
        Assert.That(m.Kernel.Zone.TableReservations, Is.EqualTo(0));
    }

    private static void Run(SimMachine m, bool swapped)
    {
        long ticks = 0;
        while (!m.Finished)
        {
            m.Env.RunTick();
            if (++ticks % 3 == 0)
                Check(m);
        }
        Check(m);
        // Everything exited: only the zero page and the page cache (which outlives its users, as in Linux) remain once
        // exit does not drain the CPUs' lru_add batches (Linux 6.18): their last folios stay allocated until lru_add_drain_all.
        m.Kernel.LruAddDrainAll();
        Assert.That(m.Kernel.PageCache.Count, Is.GreaterThan(0));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(m.Kernel.Zone.Frames.Length - 1 - m.Kernel.PageCache.Count));
        foreach (var (_, _, pfn) in m.Kernel.PageCache.Entries())
            Assert.That(m.Kernel.Zone.Frames[pfn].MapCount, Is.EqualTo(0));
        Assert.That(m.Kernel.Swap.UsedPages, Is.EqualTo(0));
        Assert.That(m.Kernel.SwapCache.Count, Is.EqualTo(0));
        Assert.That(m.Kernel.Zone.TableReservations, Is.EqualTo(0), "every granted fault was installed or dropped");
        if (swapped)
            Assert.That(Counter(m, "pswpout"), Is.GreaterThan(0));
    }

    private static void Check(SimMachine m)
    {
        var k = m.Kernel;
        int frames = k.Zone.Frames.Length;
        var maps = new int[frames];
        var swapRefs = new int[Math.Max(k.Swap.Slots, 1)];
        foreach (var p in k.Tasks.Processes)
        {
            var state = Proc(m, p).State;
            if (state is ProcessState.Exited or ProcessState.Killed)
                continue;
            var mm = k.Tasks.MmOf(p);
            ulong rss = 0, swapEnts = 0;
            foreach (Vma v in mm.Mm.Vmas)
            {
                for (ulong va = v.Start; va < v.End; va += Page)
                {
                    ulong raw = mm.Tables.Lookup(va);
                    var pte = new Pte(raw);
                    if (MemoryOps.IsMapped(raw))
                    {
                        if ((int)pte.Pfn == k.Zone.ZeroPfn)
                            continue;
                        maps[(int)pte.Pfn]++;
                        rss++;
                    }
                    else if (pte.IsSwap)
                    {
                        swapRefs[(int)pte.ToSwapEntry().Offset]++;
                        swapEnts++;
                    }
                }
            }
            Assert.That(mm.Rss, Is.EqualTo(rss), $"RSS of pid {Proc(m, p).Pid} at t={m.Env.Now}");
            Assert.That(mm.Mm.Struct.SwapEnts, Is.EqualTo(swapEnts), $"swap entries of pid {Proc(m, p).Pid}");
        }
        long free = 0, onPcp = 0;
        for (int pfn = 0; pfn < frames; pfn++)
        {
            ref Frame f = ref k.Zone.Frames[pfn];
            if ((f.Flags & FrameFlags.Buddy) != 0)
            {
                free++;
                Assert.That(maps[pfn], Is.EqualTo(0), $"free frame {pfn} is mapped");
                continue;
            }
            if ((f.Flags & FrameFlags.PcpList) != 0)
            {
                // Free on a per-CPU list (on by default, as in Linux): outside NR_FREE_PAGES, counted by the pagesets.
                onPcp++;
                Assert.That(maps[pfn], Is.EqualTo(0), $"free frame {pfn} (per-CPU list) is mapped");
                continue;
            }
            if (pfn == k.Zone.ZeroPfn)
                continue;
            Assert.That(f.MapCount, Is.EqualTo(maps[pfn]), $"mapcount of frame {pfn} at t={m.Env.Now}");
            Assert.That(k.Rmap.Count(pfn), Is.EqualTo(maps[pfn]), $"rmap of frame {pfn}");
            bool accounted = (f.Flags & FrameFlags.Slab) != 0
                || maps[pfn] > 0
                || (f.Flags & FrameFlags.SwapCache) != 0
                || (!f.IsAnon && f.Mapping >= 0 && k.PageCache.Find(f.Mapping, f.Index) == pfn)
                || k.Zone.Pins[pfn] > 0;
            Assert.That(accounted, Is.True, $"frame {pfn} (flags {f.Flags}) is used but nobody holds it: leaked");
        }
        Assert.That(k.Zone.Buddy.NrFreePages, Is.EqualTo(free));
        Assert.That(k.Zone.PcpPages, Is.EqualTo(onPcp));
        for (int slot = 1; slot < k.Swap.Slots; slot++)
        {
            Assert.That(k.Swap.Count(slot), Is.EqualTo(swapRefs[slot]), $"swap_map[{slot}]");
            if (k.Swap.IsCached(slot))
                Assert.That(k.SwapCache.Lookup(slot), Is.GreaterThanOrEqualTo(0), $"slot {slot} marked cached but not in the swap cache");
        }
    }
}
