using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Traces;

namespace EcsMem.Tests.Tlb;

/// <summary>The L1 arrays for 2 MiB pages next to the 4 KiB ones, and the per-size counters the report reads.</summary>
public class HugeTlbArrayTests
{
    private const ulong Page = 4096;
    private const ulong Huge = 2UL << 20;

    private static TlbConfig Tiny => new()
    {
        Dtlb = new TlbGeometry(4, 2),   // 2 sets
        Itlb = new TlbGeometry(4, 2),
        Stlb = new TlbGeometry(16, 2),  // 8 sets
        Dtlb2M = new TlbGeometry(4, 2), // 2 sets
        Itlb2M = new TlbGeometry(2, 2), // fully associative
    };

    [Test]
    public void TwoMegEntriesLiveInTheirOwnL1ArrayAndLeaveThe4KArrayAlone()
    {
        var c = new CounterRegistry();
        var h = new TlbHierarchy(new World(), Tiny, c);
        h.CurrentPcid = 1;
        // Four 4 KiB pages fill the 4-entry dTLB; then four 2 MiB pages: with one shared array they would evict them.
        for (ulong v = 0; v < 4; v++)
            h.Fill(v * Page, 100 + v, TlbFlags.Writable, AccessKind.Load);
        for (ulong i = 1; i <= 4; i++)
            h.Fill(i * Huge, 512 * i, TlbFlags.Writable, AccessKind.Load, PageSizeClass.Huge2M);
        Assert.That(h.Dtlb.CountValid(), Is.EqualTo(4));
        Assert.That(h.Dtlb2M.CountValid(), Is.EqualTo(4));
        for (ulong v = 0; v < 4; v++)
            Assert.That(h.Lookup(v * Page, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.L1Hit));
        // Any address inside a 2 MiB page hits its entry and translates with the offset inside the page.
        Assert.That(h.Lookup(3 * Huge + 5 * Page + 12, AccessKind.Store, out TlbEntry e), Is.EqualTo(TlbOutcome.L1Hit));
        Assert.That(e.Size, Is.EqualTo(PageSizeClass.Huge2M));
        Assert.That(e.TranslatePfn(3 * Huge + 5 * Page), Is.EqualTo(3 * 512UL + 5));
        // A fifth 2 MiB page in set 1 (tags 1, 3 and 5 are odd) evicts the least recently used of 1 and 3: 1.
        h.Fill(5 * Huge, 512 * 5, TlbFlags.Writable, AccessKind.Load, PageSizeClass.Huge2M);
        Assert.That(h.Lookup(1 * Huge, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.StlbHit));
        Assert.That(h.Dtlb.CountValid(), Is.EqualTo(4));

        // Counters: 5 walks ended on a 2 MiB leaf and one STLB hit found a 2 MiB entry: 6 L1 misses on 2 MiB pages.
        Assert.That(c.Get("dtlb_2m_hit"), Is.EqualTo(1));
        Assert.That(c.Get("dtlb_2m_miss"), Is.EqualTo(6));
        Assert.That(c.Get("stlb_2m_hit"), Is.EqualTo(1));
        Assert.That(c.Get("stlb_2m_miss"), Is.EqualTo(5));
        Assert.That(c.Get("dtlb_2m_fill"), Is.EqualTo(6));
        Assert.That(c.Get("dtlb_2m_evict"), Is.EqualTo(2));
        // The 4 KiB array counted every probe: 4 hits, and a miss before each 2 MiB lookup (2).
        Assert.That(c.Get("dtlb_hit"), Is.EqualTo(4));
        Assert.That(c.Get("dtlb_miss"), Is.EqualTo(2));
    }

    [Test]
    public void InstructionFetchesUseTheITlbsLargePageArray()
    {
        var c = new CounterRegistry();
        var h = new TlbHierarchy(new World(), Tiny, c);
        h.Fill(Huge, 512, TlbFlags.None, AccessKind.Instr, PageSizeClass.Huge2M);
        Assert.That(h.Itlb2M.CountValid(), Is.EqualTo(1));
        Assert.That(h.Dtlb2M.CountValid(), Is.EqualTo(0));
        Assert.That(h.Lookup(Huge + 0x1234, AccessKind.Instr, out _), Is.EqualTo(TlbOutcome.L1Hit));
        // A load of the same page finds it in the STLB and fills the data side's 2M array.
        Assert.That(h.Lookup(Huge, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.StlbHit));
        Assert.That(h.Dtlb2M.CountValid(), Is.EqualTo(1));
        Assert.That(c.Get("itlb_2m_hit"), Is.EqualTo(1));
        Assert.That(c.Get("itlb_2m_miss"), Is.EqualTo(1));
        Assert.That(c.Get("dtlb_2m_miss"), Is.EqualTo(1));
        // INVLPG and a PCID flush reach the 2M arrays too.
        Assert.That(h.InvalidatePage(Huge + Page, 0), Is.EqualTo(3));
        Assert.That(h.Itlb2M.CountValid() + h.Dtlb2M.CountValid() + h.Stlb.CountValid(), Is.EqualTo(0));
    }
}
