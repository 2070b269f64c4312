using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.AddressSpace;
using EcsMem.Traces;
using NUnit.Framework;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The swap area's zeromap (Linux 6.12+, mm/page_io.c): swap_writeout keeps a zero-filled page in the zeromap without
/// I/O (swpout_zero, not pswpout), swap_read_folio_zeromap fills it back with zeros without I/O (swpin_zero, not
/// pswpin), and the fault that needed it is still major (do_swap_page). A page is zero-filled when the scenario says
/// the process stored zeros into it (the timeline's zero_fill, <see cref="ZeroFill.Apply"/>) until a store of the trace
/// writes data into it. The counts below follow from FIFO reclaim, which evicts pages in the order they came in.
/// </summary>
public class ZeroFillTests
{
    private const ulong A = Base;                    // 64 pages the process fills, then says hold zeros
    private const ulong B = Base + 0x0100_0000;      // 1,200 pages written after it: more than RAM, so A goes first
    private const int APages = 64, BPages = 1200;

    /// <summary>
    /// The machine, its process after A's stores and the zero_fill of A; <paramref name="dataStores"/> then stores data
    /// into A's pages 0 and 1 (page 1 after a load, whose TLB fill must not let the store past the page walk).
    /// </summary>
    private static (SimMachine M, Entity P) Run(bool dataStores)
    {
        // page_cluster 0: no swap readahead, so each swap-in reads its own slot only (one fault, one slot).
        var m = new SimMachine(Options(ramPages: 1024, swapPages: 4096) with { PageCluster = 0 });
        var accesses = new List<MemoryAccess>();
        for (int i = 0; i < APages; i++) accesses.Add(W(A + (ulong)i * Page));
        int filled = accesses.Count;
        if (dataStores)
        {
            accesses.Add(W(A));
            accesses.Add(R(A + Page));
            accesses.Add(W(A + Page));
        }
        for (int i = 0; i < BPages; i++) accesses.Add(W(B + (ulong)i * Page));
        for (int i = 0; i < APages; i++) accesses.Add(R(A + (ulong)i * Page));
        Entity p = Add(m, "z", mm =>
        {
            Mmap(mm, A, APages, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, B, BPages, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
        }, 0, accesses.ToArray());
        RunUntilAccesses(m, p, filled);
        Assert.That(ZeroFill.Apply(m.Kernel, Mm(m, p), A, APages * Page), Is.EqualTo(APages), "every page of A is mapped writable");
        return (m, p);
    }

    [Test]
    public void ZeroFilledPagesGoToTheZeromapAndComeBackWithoutIo()
    {
        var (m, p) = Run(dataStores: false);
        using (m)
        {
            long pswpoutBefore = Counter(m, "pswpout");
            RunUntilAccesses(m, p, APages + BPages);
            // FIFO takes A's 64 pages first: all zero-filled, so none is written and every one is counted as a zeromap store.
            Assert.That(Counter(m, "swpout_zero"), Is.EqualTo(APages));
            Assert.That(Counter(m, "pswpout") - pswpoutBefore, Is.GreaterThan(0), "B's pages past RAM are written");
            long pswpinBefore = Counter(m, "pswpin"), majBefore = Stats(m, p).MajFlt, ioBefore = Stats(m, p).IoWaitCycles;
            m.Run();
            Assert.That(m.Finished, Is.True);
            // Reading A back: each of its 64 slots is read once, by its own fault, from the zeromap.
            Assert.That(Counter(m, "swpin_zero"), Is.EqualTo(APages));
            Assert.That(Counter(m, "pswpin") - pswpinBefore, Is.Zero, "no disk read for a zeromap slot");
            Assert.That(Stats(m, p).MajFlt - majBefore, Is.EqualTo(APages), "a swap-cache miss is a major fault all the same");
            // No fault waited for the disk: all of them together waited less than one disk read.
            Assert.That(Stats(m, p).IoWaitCycles - ioBefore, Is.LessThan(m.Kernel.Timing.MajorFaultReadCycles));
        }
    }

    [Test]
    public void AStoreOfDataAfterTheZeroFillMakesThePageAnOrdinaryOne()
    {
        var (m, p) = Run(dataStores: true);
        using (m)
        {
            m.Run();
            Assert.That(m.Finished, Is.True);
            // Pages 0 and 1 were stored into after the zero_fill (page 1 through a TLB entry its load filled): written.
            Assert.That(Counter(m, "swpout_zero"), Is.EqualTo(APages - 2));
            Assert.That(Counter(m, "swpin_zero"), Is.EqualTo(APages - 2));
        }
    }

    [Test]
    public void TheMarkSkipsPagesNotMappedWritable()
    {
        var m = new SimMachine(Options(ramPages: 1024, swapPages: 64));
        using (m)
        {
            // Page 0 written (mapped writable), page 1 only read (the zero page, read-only), page 2 never touched.
            Entity p = Add(m, "z", Anon(A, 3), 0, W(A), R(A + Page), R(A));
            RunUntilAccesses(m, p, 2);
            Assert.That(ZeroFill.Apply(m.Kernel, Mm(m, p), A, 3 * Page), Is.EqualTo(1));
            Assert.That(m.Kernel.Zone.Frames[PfnAt(m, p, A)].Flags & FrameFlags.ZeroFilled, Is.EqualTo(FrameFlags.ZeroFilled));
        }
    }
}
