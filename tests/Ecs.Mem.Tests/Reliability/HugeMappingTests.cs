using System.Diagnostics;
using EcsMem.Components;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Fork, mprotect, munmap and exit cost what the page tables hold, not the size of the mapping: a 64 TiB
/// mapping (2^34 pages) with four touched pages. Walking every page of it, as fork and mprotect once did,
/// would take minutes; walking the populated tables takes microseconds.
/// </summary>
public class HugeMappingTests
{
    private const ulong Huge = 64UL << 40;                   // 64 TiB = 2^34 pages
    private const ulong A0 = Base;                            // PGD 0, PUD 0
    private const ulong A1 = Base + (1UL << 30);              // PGD 0, PUD 1: another PMD table
    private const ulong A2 = Base + (1UL << 40);              // PGD 2: another PUD table
    private const ulong A3 = Base + Huge - Page;              // PGD 128: the mapping's last page

    [Test]
    public void ForkOfA64TiBMappingCopiesOnlyItsFourPages()
    {
        var clock = Stopwatch.StartNew();
        using var m = new SimMachine(Options());
        var parent = Add(m, "parent", mm => Mmap(mm, Base, Huge / Page, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous), 0,
            W(A0), W(A1), W(A2), W(A3), // four anonymous pages
            R(A1),                      // in the fork's tick (one access per tick): changes nothing
            W(A0));                     // a copy-on-write fault
        m.ScheduleAfterAccesses(4, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(A3), W(A2)),
        });

        RunUntil(m, () => m.Kernel.Tasks.Processes.Count == 2);
        var child = m.Kernel.Tasks.Processes[1];
        // By hand: per mm, PTE tables for A0, A1, A2, A3 (4); PMD tables under PUD 0 (A0), PUD 1 (A1), and for
        // A2 and A3 (4); PUD tables under PGD 0, 2 and 128 (3); the root. The child's copy has the same shape.
        foreach (var p in new[] { parent, child })
        {
            var t = Mm(m, p).Tables;
            Assert.That((t.TablesAt(0), t.TablesAt(1), t.TablesAt(2), t.TablesAt(3)), Is.EqualTo((4L, 4L, 3L, 1L)));
            Assert.That(Mm(m, p).Rss, Is.EqualTo(4UL));
            Assert.That(Mm(m, p).Mm.Struct.RssAnon, Is.EqualTo(4UL));
        }
        foreach (ulong va in new[] { A0, A1, A2, A3 })
        {
            int pfn = PfnAt(m, parent, va);
            Assert.That(PfnAt(m, child, va), Is.EqualTo(pfn), "the child maps the parent's frame");
            Assert.That(m.Kernel.Zone.Frames[pfn].MapCount, Is.EqualTo(2));
            var pte = new Pte(Mm(m, parent).Tables.Lookup(va));
            Assert.That((pte.Writable, pte.Cow), Is.EqualTo((false, true)), "fork write-protects the parent");
        }

        m.Run();
        // Two writes after the fork, each to a page the fork shared: one copy-on-write fault each (a copy while
        // the other process still maps it, a reuse once it has exited).
        Assert.That(Counter(m, "ecsmem_cow_copy") + Counter(m, "ecsmem_cow_reuse"), Is.EqualTo(2));
        Assert.That(Counter(m, "pgfault"), Is.EqualTo(4 + 2));
        // Both exits zapped the 64 TiB mapping: nothing is left mapped.
        Assert.That((Mm(m, parent).Rss, Mm(m, child).Rss), Is.EqualTo((0UL, 0UL)));
        Assert.That(PageTableFrames(m), Is.Zero);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "bounded by the populated pages, not by 2^34 pages");
    }

    [Test]
    public void MprotectAndMunmapOfA64TiBMappingVisitOnlyItsFourPages()
    {
        var clock = Stopwatch.StartNew();
        using var m = new SimMachine(Options());
        var p = Add(m, "p", mm => Mmap(mm, Base, Huge / Page, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous), 0,
            W(A0), W(A1), W(A2), W(A3), R(A3), R(A3), R(A0));
        m.ScheduleAfterAccesses(4, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = Huge, Prot = Prot.Read });
        m.ScheduleAfterAccesses(5, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = Base, Len = Huge - Page });

        RunUntilAccesses(m, p, 5);
        foreach (ulong va in new[] { A0, A1, A2, A3 })
        {
            var pte = new Pte(Mm(m, p).Tables.Lookup(va));
            Assert.That((pte.Present, pte.Writable), Is.EqualTo((true, false)), $"mprotect r-- reached 0x{va:x}");
        }

        RunUntilAccesses(m, p, 6);
        // munmap of all but the last page: three pages and every table that only they used are gone.
        var t = Mm(m, p).Tables;
        Assert.That(Mm(m, p).Rss, Is.EqualTo(1UL));
        Assert.That((t.TablesAt(0), t.TablesAt(1), t.TablesAt(2)), Is.EqualTo((1L, 1L, 1L)));
        Assert.That(PfnAt(m, p, A3), Is.Not.EqualTo(-1));
        m.Run();
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Killed), "SIGSEGV");
        Assert.That(Counter(m, "ecsmem_sigsegv"), Is.EqualTo(1), "the last read hits the unmapped range");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
    }
}
