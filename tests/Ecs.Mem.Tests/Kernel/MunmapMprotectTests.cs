using EcsMem.Components;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>munmap zaps pages; mprotect changes what the PTEs allow.</summary>
public class MunmapMprotectTests
{
    [Test]
    public void MunmapFreesThePagesAndMprotectReadOnlyMakesAWriteSigsegv()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 4), 0, W(Base), W(Base + Page), W(Base + (2 * Page)), W(Base + (3 * Page)), R(Base), W(Base));
        m.ScheduleAfterAccesses(4, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = Base + (2 * Page), Len = 2 * Page });
        m.ScheduleAfterAccesses(5, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = 2 * Page, Prot = Prot.Read });

        RunUntilAccesses(m, p, 4);
        Assert.That(Mm(m, p).Rss, Is.EqualTo(4UL));
        long free = m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages;
        int gone = PfnAt(m, p, Base + (2 * Page));

        // Access 5 runs after the munmap: pages 2 and 3 are zapped and their frames are free again (the PTE
        // table stays: pages 0 and 1 still use it).
        RunUntilAccesses(m, p, 5);
        Assert.That(Mm(m, p).Rss, Is.EqualTo(2UL));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(free + 2));
        Assert.That(Mm(m, p).Tables.Lookup(Base + (2 * Page)), Is.EqualTo(0UL));
        Assert.That(m.Kernel.Zone.Frames[gone].IsFree, Is.True);

        m.Run();
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Killed), "write after mprotect(PROT_READ)");
        Assert.That(Proc(m, p).ExitSignal, Is.EqualTo(11));
        Assert.That(Stats(m, p).Accesses, Is.EqualTo(5));
    }

    [Test]
    public void MprotectBackToWritableAllowsTheWriteWithoutACopy()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 1), 0, W(Base), R(Base), W(Base));
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = Page, Prot = Prot.Read });
        m.ScheduleAfterAccesses(2, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = Page, Prot = Prot.Read | Prot.Write });
        RunUntilAccesses(m, p, 1);
        int pfn = PfnAt(m, p, Base);

        RunUntilAccesses(m, p, 2);
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base)).Writable, Is.False, "read-only after the first mprotect");
        RunUntil(m, () => m.AddressSpace.Log.Count == 2);
        // can_change_pte_writable: the page is exclusive anonymous memory, so it is writable at once again.
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base)).Writable, Is.True);

        m.Run();
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(Stats(m, p).Accesses, Is.EqualTo(3));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(1), "only the first write faulted");
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(0));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(1024 - 1));
        Assert.That(pfn, Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public void MprotectFlushesOnlyTheSpanOfEntriesThatChanged()
    {
        // 16 pages; pages 3 and 6 written (present, writable, dirty), page 9 only read (the zero page,
        // read-only). mprotect(PROT_READ) over all 16: pages 3 and 6 lose RW and need a flush, page 9 keeps its
        // bits (already read-only, NX unchanged) and needs none, the 13 empty entries never do. Linux's
        // mmu_gather flushes [3, 7) pages: 4 pages, under the 33-page ceiling, so 4 single-page invalidations
        // and no full flush. A second mprotect(PROT_READ) changes nothing and flushes nothing.
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 16), 0, W(Base + (3 * Page)), W(Base + (6 * Page)), R(Base + (9 * Page)), R(Base), R(Base));
        m.ScheduleAfterAccesses(3, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = 16 * Page, Prot = Prot.Read });
        m.ScheduleAfterAccesses(4, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = 16 * Page, Prot = Prot.Read });
        RunUntilAccesses(m, p, 3);
        long one = Counter(m, "nr_tlb_local_flush_one"), all = Counter(m, "nr_tlb_local_flush_all");

        RunUntil(m, () => m.AddressSpace.Log.Count == 1);
        Assert.That(Counter(m, "nr_tlb_local_flush_one") - one, Is.EqualTo(4));
        Assert.That(Counter(m, "nr_tlb_local_flush_all") - all, Is.EqualTo(0));
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base + (3 * Page))).Writable, Is.False);

        RunUntil(m, () => m.AddressSpace.Log.Count == 2);
        Assert.That(Counter(m, "nr_tlb_local_flush_one") - one, Is.EqualTo(4), "nothing changed: no flush");
        Assert.That(Counter(m, "nr_tlb_local_flush_all") - all, Is.EqualTo(0));
    }

    [Test]
    public void MprotectOfAForkSharedPageKeepsItReadOnlySoTheWriteCopies()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 1), 0, W(Base), R(Base), W(Base));
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Fork, p)
        {
            ChildName = "c",
            ChildWorkload = _ => Trace("c", R(Base)),
        });
        m.ScheduleAfterAccesses(2, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = Page, Prot = Prot.Read | Prot.Write });
        RunUntilAccesses(m, p, 1);
        int orig = PfnAt(m, p, Base);
        // The parent keeps the CPU: its read, the mprotect, then its write, all before the child runs. The page
        // is still mapped by the child (mapcount 2), so mprotect must leave it read-only and the write copies.
        RunUntilAccesses(m, p, 3);
        Assert.That(m.AddressSpace.Log, Has.Count.EqualTo(2));
        Assert.That(PfnAt(m, p, Base), Is.Not.EqualTo(orig));
        Assert.That(PfnAt(m, m.Kernel.Tasks.Processes[1], Base), Is.EqualTo(orig));
        m.Run();
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(1));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(2));
    }

    [Test]
    public void ProtNonePagesStayMappedAndComeBackWithMprotect()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 2), 0, W(Base), W(Base + Page), R(Base + Page), R(Base));
        m.ScheduleAfterAccesses(2, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = Page, Prot = Prot.None });
        m.ScheduleAfterAccesses(3, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = Page, Prot = Prot.Read | Prot.Write });
        RunUntilAccesses(m, p, 1);
        int pfn = PfnAt(m, p, Base);
        RunUntilAccesses(m, p, 3);
        // PROT_NONE: the entry loses its present bit but still maps the page (pte_protnone): RSS stays 2.
        var pte = new Pte(Mm(m, p).Tables.Lookup(Base));
        Assert.That(pte.Present, Is.False);
        Assert.That((int)pte.Pfn, Is.EqualTo(pfn));
        Assert.That(Mm(m, p).Rss, Is.EqualTo(2UL));
        Assert.That(m.Kernel.Zone.Frames[pfn].MapCount, Is.EqualTo(1));

        // mprotect back restores the entry: the last read needs no fault.
        RunUntilAccesses(m, p, 4);
        Assert.That(PfnAt(m, p, Base), Is.EqualTo(pfn));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(2));
        m.Run();
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(1024 - 1));
    }

    [Test]
    public void MunmapOfAProtNonePageFreesIt()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 2), 0, W(Base), W(Base + Page), R(Base + Page));
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = Page, Prot = Prot.None });
        m.ScheduleAfterAccesses(2, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = Base, Len = Page });
        RunUntilAccesses(m, p, 1);
        int pfn = PfnAt(m, p, Base);
        RunUntilAccesses(m, p, 3);
        Assert.That(Mm(m, p).Rss, Is.EqualTo(1UL));
        Assert.That(m.Kernel.Zone.Frames[pfn].IsFree, Is.True, "the PROT_NONE page was freed");
        Assert.That(m.Kernel.Rmap.IsMapped(pfn), Is.False);
    }
}
