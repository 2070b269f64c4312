using EcsMem.Components;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>Page walks touch one table per level; page tables take real frames.</summary>
public class PageWalkTests
{
    [TestCase(4)]
    [TestCase(5)]
    public void WalkLevelsAndPageTableFrames(int levels)
    {
        var mode = levels == 5 ? PagingMode.X86_64_5Level : PagingMode.X86_64;
        using var m = new SimMachine(Options() with { Paging = mode });
        var parent = Add(m, "parent", Anon(Base, 3), 0, W(Base), W(Base + Page), W(Base + (2 * Page)));
        m.ScheduleAfterAccesses(3, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(Base), R(Base + Page), R(Base + (2 * Page))),
        });

        RunUntilAccesses(m, parent, 3);
        // Parent, by hand: W(A0) misses, its walk stops at the empty root entry (1 level) and faults; the
        // retry walks all levels. W(A1), W(A2): a full walk finds pte_none and faults, the retry walks again.
        // Misses 2 + 2 + 2 = 6; levels 1 + L + 4 × L.
        Assert.That(Stats(m, parent).TlbMisses, Is.EqualTo(6));
        Assert.That(Stats(m, parent).PageWalkLevels, Is.EqualTo(1 + (5 * levels)));
        // Tables: the pgd plus one table per lower level (all three pages share every table).
        var mm = Mm(m, parent);
        Assert.That(mm.Mm.Struct.NrPtes, Is.EqualTo(1UL));
        Assert.That(mm.Tables.PgtablesBytes, Is.EqualTo((ulong)(levels - 1) * Page));
        Assert.That(PageTableFrames(m), Is.EqualTo(levels));
        Assert.That(Counter(m, "ecsmem_pgtable_alloc"), Is.EqualTo(levels));
        // free + data pages + page tables + zero page = all frames.
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + 3 + levels + 1, Is.EqualTo(1024));
        Assert.That(DataFrames(m), Is.EqualTo(3));

        m.Run();
        var child = m.Kernel.Tasks.Processes[1];
        // The child's reads find present, readable PTEs: each is one TLB miss with a full walk, no fault.
        Assert.That(Stats(m, child).TlbMisses, Is.EqualTo(3));
        Assert.That(Stats(m, child).PageWalkLevels, Is.EqualTo(3 * levels));
        Assert.That(Stats(m, child).MinFlt, Is.EqualTo(0));
        // The child built its own tables while fork copied the PTEs.
        Assert.That(Counter(m, "ecsmem_pgtable_alloc"), Is.EqualTo(2 * levels));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(1024 - 1), "all tables are freed at exit");
    }

    [Test]
    public void FramesAddUpWhileTwoProcessesShareAfterFork()
    {
        using var m = new SimMachine(Options());
        var parent = Add(m, "parent", Anon(Base, 3), 0, W(Base), W(Base + Page), W(Base + (2 * Page)), W(Base));
        m.ScheduleAfterAccesses(3, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(Base)),
        });
        RunUntilAccesses(m, parent, 4);
        // After fork both map the 3 pages; the parent's write copied page 0: 4 data frames, 2 × 4 table frames.
        Assert.That(DataFrames(m), Is.EqualTo(4));
        Assert.That(PageTableFrames(m), Is.EqualTo(8));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + 4 + 8 + 1, Is.EqualTo(1024));
    }

    private static int DataFrames(SimMachine m)
    {
        int n = 0;
        foreach (var f in m.Kernel.Zone.Frames)
            if (f.MapCount > 0)
                n++;
        return n;
    }
}
