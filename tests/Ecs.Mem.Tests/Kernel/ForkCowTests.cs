using EcsMem.Components;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>fork + copy-on-write: who copies, who reuses, and the mapcounts and RSS along the way.</summary>
public class ForkCowTests
{
    private const ulong FileVa = Base + 0x10_0000;

    [Test]
    public void ChildCopiesWhileSharedAndTheParentReusesAfterTheChildExited()
    {
        using var m = new SimMachine(Options());
        int file = m.Kernel.Files.Intern("/data/f");
        var parent = Add(m, "parent", mm =>
        {
            Mmap(mm, Base, 3, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, FileVa, 1, Prot.Read, MapFlags.Private, file);
        }, 0,
            W(Base), W(Base + Page), W(Base + (2 * Page)), // 3 new anonymous pages (min_flt 3)
            R(FileVa),                                      // major: the parent sleeps 300 000 cycles, the child runs
            W(Base), W(Base + Page), W(Base + (2 * Page))); // the child is gone by now: 3 reuses
        m.ScheduleAfterAccesses(3, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", W(Base), R(Base + Page)),
        });

        RunUntilAccesses(m, parent, 3);
        int[] orig = [PfnAt(m, parent, Base), PfnAt(m, parent, Base + Page), PfnAt(m, parent, Base + (2 * Page))];
        ulong token0 = m.Kernel.Zone.Frames[orig[0]].ContentToken;

        // Right after fork: every page mapped by both (mapcount 2), both RSS 3.
        RunUntil(m, () => m.Kernel.Tasks.Processes.Count == 2);
        var child = m.Kernel.Tasks.Processes[1];
        foreach (int pfn in orig)
            Assert.That(m.Kernel.Zone.Frames[pfn].MapCount, Is.EqualTo(2));
        Assert.That(Mm(m, parent).Rss, Is.EqualTo(3UL));
        Assert.That(Mm(m, child).Rss, Is.EqualTo(3UL));
        Assert.That(new Pte(Mm(m, parent).Tables.Lookup(Base)).Writable, Is.False, "fork write-protects the parent");

        // The child writes page 0 while the parent still maps it: a copy with the same content.
        RunUntilAccesses(m, child, 1);
        int copy = PfnAt(m, child, Base);
        Assert.That(copy, Is.Not.EqualTo(orig[0]));
        Assert.That(m.Kernel.Zone.Frames[copy].ContentToken, Is.EqualTo(token0));
        Assert.That(m.Kernel.Zone.Frames[copy].MapCount, Is.EqualTo(1));
        Assert.That(m.Kernel.Zone.Frames[orig[0]].MapCount, Is.EqualTo(1));
        Assert.That(m.Kernel.Zone.Frames[orig[1]].MapCount, Is.EqualTo(2));
        Assert.That(Mm(m, child).Rss, Is.EqualTo(3UL), "the copy replaces the shared mapping");

        // The child's exit drops its mappings: pages 1 and 2 are the parent's alone again.
        RunUntil(m, () => Proc(m, child).State == ProcessState.Exited);
        Assert.That(m.Kernel.Zone.Frames[orig[1]].MapCount, Is.EqualTo(1));
        Assert.That(m.Kernel.Zone.Frames[orig[2]].MapCount, Is.EqualTo(1));
        Assert.That(m.Kernel.Zone.Frames[copy].IsFree, Is.True, "the child's copy was freed");

        // The parent, the last mapper, reuses all three pages in place.
        RunUntilAccesses(m, parent, 7);
        Assert.That(PfnAt(m, parent, Base), Is.EqualTo(orig[0]));
        Assert.That(PfnAt(m, parent, Base + (2 * Page)), Is.EqualTo(orig[2]));
        Assert.That(Mm(m, parent).Rss, Is.EqualTo(4UL), "3 anonymous + 1 file page");
        m.Run();

        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(1));
        Assert.That(Counter(m, "ecsmem_cow_reuse"), Is.EqualTo(3));
        Assert.That(Stats(m, parent).MinFlt, Is.EqualTo(3 + 3));
        Assert.That(Stats(m, parent).MajFlt, Is.EqualTo(1));
        Assert.That(Stats(m, child).MinFlt, Is.EqualTo(1));
        Assert.That(Stats(m, parent).CowReuses, Is.EqualTo(3));
        Assert.That(Stats(m, child).CowCopies, Is.EqualTo(1));
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(3 + 1 + 3 + 1));
    }

    [Test]
    public void ParentCopiesFirstAndTheChildAsLastMapperReuses()
    {
        using var m = new SimMachine(Options());
        var parent = Add(m, "parent", Anon(Base, 1), 0, W(Base), W(Base));
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", W(Base)),
        });
        RunUntilAccesses(m, parent, 1);
        int orig = PfnAt(m, parent, Base);

        // The parent keeps the CPU after fork (quantum 10 000) and writes while the child still maps the page.
        RunUntilAccesses(m, parent, 2);
        var child = m.Kernel.Tasks.Processes[1];
        Assert.That(PfnAt(m, parent, Base), Is.Not.EqualTo(orig), "the parent got a copy");
        Assert.That(PfnAt(m, child, Base), Is.EqualTo(orig));
        Assert.That(m.Kernel.Zone.Frames[orig].MapCount, Is.EqualTo(1));

        RunUntilAccesses(m, child, 1);
        Assert.That(PfnAt(m, child, Base), Is.EqualTo(orig), "the child, now the only mapper, reuses the original");
        m.Run();
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(1));
        Assert.That(Counter(m, "ecsmem_cow_reuse"), Is.EqualTo(1));
        Assert.That(Stats(m, parent).CowCopies, Is.EqualTo(1));
        Assert.That(Stats(m, child).CowReuses, Is.EqualTo(1));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(1024 - 1), "everything but the zero page is free at the end");
    }

    [Test]
    public void ForkWithoutFramesForTheChildsPageTablesFailsWithEnomem()
    {
        // 64 frames, min_free_kbytes 0 (min = low = high = 0), no swap. 62 free at start; A0 takes 1 + 3 tables
        // (58); A[i] sees 59 − i; a fault must leave the 3-frame table reserve, so A55 (4 free) is the last
        // granted: 3 free. The child needs a pgd + 3 tables (4) plus the reserve: fork fails, the parent goes on.
        using var m = new SimMachine(Options(64, swapPages: 0, minFreeKbytes: 0));
        var t = new List<EcsMem.Traces.MemoryAccess>();
        for (int i = 0; i < 56; i++) t.Add(W(Base + ((ulong)i * Page)));
        t.Add(R(Base));
        var parent = m.AddProcess("parent", Anon(Base, 64), Trace("parent", [.. t]));
        m.ScheduleAfterAccesses(56, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(Base)),
        });
        RunUntilAccesses(m, parent, 56);
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.EqualTo(3));
        m.Run();
        Assert.That(m.AddressSpace.Log, Has.Count.EqualTo(1));
        Assert.That(m.AddressSpace.Log[0], Does.EndWith(" fork()                                  = -1 ENOMEM (Cannot allocate memory)"));
        Assert.That(m.Kernel.Tasks.Processes, Has.Count.EqualTo(1));
        Assert.That(Proc(m, parent).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(Stats(m, parent).Accesses, Is.EqualTo(57));
    }
}
