using EcsMem.Components;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// The checker is only worth something if it fails on broken state: each test runs a swapping scenario part way,
/// breaks exactly one piece of bookkeeping by hand, and checks the exact list of violations (worked out from the
/// state in the test).
/// </summary>
public class CheckerCatchesCorruptionTests
{
    private SimMachine _m = null!;

    [SetUp]
    public void RunPartWay()
    {
        _m = ScenarioLoader.Build(ReliabilityScenarios.Parse(ReliabilityScenarios.Swapping));
        // Far enough that pages have been swapped out and some swapped back in.
        while (!_m.Finished && (_m.Env.Counters.Get("pswpin") < 20 || _m.Kernel.Swap.UsedPages < 20))
            _m.Env.RunTick();
        Assert.That(_m.Finished, Is.False);
        Assert.That(InvariantChecker.Check(_m), Is.Empty, "the state is consistent before the corruption");
    }

    [TearDown]
    public void Dispose() => _m.Dispose();

    /// <summary>The first present, non-special PTE of a live process mapping a frame exactly once.</summary>
    [Test]
    public void BumpedMapCount()
    {
        var (_, _, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        _m.Kernel.Zone.Frames[pfn].MapCount++;
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[] { $"frame {pfn}: mapcount 2 but 1 PTEs map it" }));
    }

    [Test]
    public void PteClearedWithoutUpdatingRss()
    {
        // Drained first: a folio waiting in an lru_add batch holds the batch's reference, and unmapped it would rightly
        // stay allocated (no orphan to report).
        _m.Kernel.LruAddDrainAll();
        var (mm, va, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        ulong rss = mm.Rss, anon = mm.Mm.Struct.RssAnon, file = mm.Mm.Struct.RssFile;
        mm.Tables.Set(va, 0);
        // The mm now has one present PTE fewer than its counters say; the frame keeps its mapcount and rmap
        // entry (nobody called page_remove_rmap) and, unmapped and not in the swap cache, is an orphan.
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[]
        {
            $"mm {mm.Id}: RSS {rss} (anon {anon} + file {file} + shmem 0) but {rss - 1} present PTEs map pages",
            $"frame {pfn}: mapcount 1 but 0 PTEs map it",
            $"frame {pfn}: reverse map holds 1 mappings but 0 PTEs map it",
            $"frame {pfn}: anonymous page neither mapped nor in the swap cache (should have been freed)",
        }));
    }

    [Test]
    public void LeakedSwapSlotReference()
    {
        var (_, _, slot) = CorruptionTargets.SwapPte(_m.Kernel);
        int count = _m.Kernel.Swap.Count(slot);
        _m.Kernel.Swap.SwapDuplicate(slot); // a reference no PTE holds
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[] { $"swap slot {slot}: swap_map count {count + 1} but {count} PTEs and shmem slots hold it" }));
    }

    [Test]
    public void LeakedSwapSlotAllocation()
    {
        var swap = _m.Kernel.Swap;
        int used = swap.UsedPages;
        int slot = swap.GetSwapPage(); // allocated with SWAP_HAS_CACHE but never put in the swap cache
        Assert.That(slot, Is.GreaterThan(0));
        Assert.That(swap.UsedPages, Is.EqualTo(used + 1));
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[] { $"swap slot {slot}: SWAP_HAS_CACHE is True but the swap cache has no page" }));
    }

    [Test]
    public void SwapPteDroppedWithoutSwapFree()
    {
        var (mm, va, slot) = CorruptionTargets.SwapPte(_m.Kernel);
        int count = _m.Kernel.Swap.Count(slot);
        ulong ents = mm.Mm.Struct.SwapEnts;
        mm.Tables.Set(va, 0);
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[]
        {
            $"mm {mm.Id}: MM_SWAPENTS {ents} but {ents - 1} swap PTEs",
            $"swap slot {slot}: swap_map count {count} but {count - 1} PTEs and shmem slots hold it",
        }));
    }

    [Test]
    public void FrameFreedWhileMapped()
    {
        // A present PTE left pointing at a frame given back to the buddy allocator (a use-after-free).
        var (mm, va, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        var k = _m.Kernel;
        k.Zone.Frames[pfn] = Frame.Fresh(pfn) with { RefCount = 0, Flags = FrameFlags.Buddy };
        k.Zone.Buddy.FreePages(pfn, 0);
        var v = InvariantChecker.Check(_m);
        Assert.That(v, Does.Contain($"mm {mm.Id}: present PTE at 0x{va:x} maps free frame {pfn}"));
        Assert.That(v, Does.Contain($"frame {pfn}: free but mapcount 0, 1 reverse mappings, 1 PTEs"));
    }

    [Test]
    public void FreeFrameLosesItsBuddyFlag()
    {
        var k = _m.Kernel;
        int pfn = Array.FindIndex(k.Zone.Frames, f => (f.Flags & FrameFlags.Buddy) != 0);
        Assert.That(pfn, Is.GreaterThanOrEqualTo(0));
        long free = k.Zone.Buddy.NrFreePages;
        long onPcp = k.Zone.PcpPages;
        int total = k.Zone.Frames.Length;
        Assert.That(k.Zone.Pcp, Is.Not.Null, "the per-CPU lists are on by default");
        k.Zone.Frames[pfn].Flags &= ~FrameFlags.Buddy;
        // The unflagged frame is counted both free (on its list) and in use: one frame too many.
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[]
        {
            $"frame {pfn}: on a free list but not flagged PG_buddy",
            $"frames: {free} free in the buddy allocator + {onPcp} on per-CPU lists + {total - free - onPcp + 1} in use != {total} total",
            $"frame {pfn}: leaked (allocated, but not a page table, not the zero page, not on the LRU, not cached and not mapped)",
        }));
    }

    [Test]
    public void AllocatedFrameNobodyOwns()
    {
        var k = _m.Kernel;
        int pfn = k.Zone.Buddy.AllocPages(0); // taken from the allocator behind the kernel's back
        k.Zone.Frames[pfn] = Frame.Fresh(pfn);
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[]
        {
            $"frame {pfn}: leaked (allocated, but not a page table, not the zero page, not on the LRU, not cached and not mapped)",
        }));
    }

    [Test]
    public void ReverseMapPointsAtTheWrongAddress()
    {
        var (mm, va, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        var k = _m.Kernel;
        k.Rmap.Remove(pfn, mm.Id, va);
        k.Rmap.Add(pfn, mm.Id, va + 0x1000_0000_0000);
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[]
        {
            $"frame {pfn}: reverse map names mm {mm.Id} va 0x{va + 0x1000_0000_0000:x}, whose PTE is 0x0",
        }));
    }

    [Test]
    public void RunCheckedStopsAtTheBrokenTick()
    {
        var (_, _, pfn) = CorruptionTargets.ExclusiveMapping(_m.Kernel, anon: true);
        _m.Kernel.Zone.Frames[pfn].MapCount += 5;
        var ex = Assert.Throws<InvariantViolationException>(() => _m.RunChecked());
        Assert.That(ex!.Message, Does.Contain("before the first tick"));
        Assert.That(ex.Violations, Does.Contain($"frame {pfn}: mapcount 6 but 1 PTEs map it"));
    }
}
