using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Traces;

namespace EcsMem.Tests.Tlb;

public class TlbHierarchyTests
{
    private const ulong Page = 4096;

    private static TlbConfig Tiny => new()
    {
        Dtlb = new TlbGeometry(4, 2), // 2 sets
        Itlb = new TlbGeometry(4, 2),
        Stlb = new TlbGeometry(8, 2), // 4 sets
    };

    [Test]
    public void StlbHitFillsTheL1()
    {
        var counters = new CounterRegistry();
        var h = new TlbHierarchy(new World(), Tiny, counters);
        h.CurrentPcid = 1;
        // Walk results for vpns 0, 2, 4: all three share dTLB set 0 (2 ways), so 0 is evicted from the dTLB;
        // in the STLB they land in sets 0, 2, 0 and all fit.
        foreach (ulong vpn in new ulong[] { 0, 2, 4 })
        {
            Assert.That(h.Lookup(vpn * Page, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss));
            h.Fill(vpn * Page, vpn + 10, TlbFlags.Writable | TlbFlags.User, AccessKind.Load);
        }
        Assert.That(h.Lookup(0, AccessKind.Store, out var e), Is.EqualTo(TlbOutcome.StlbHit));
        Assert.That(e.Pfn, Is.EqualTo(10UL));
        Assert.That(e.Permits(write: true, fetch: false, userMode: true), Is.True);
        // The STLB hit refilled the dTLB (evicting 2, the LRU of {2, 4}), so the next lookup hits in L1.
        Assert.That(h.Lookup(0, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.L1Hit));
        Assert.That(h.Lookup(2 * Page, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.StlbHit));
        // Instruction fetches use the iTLB: cold there, found in the STLB.
        Assert.That(h.Lookup(4 * Page, AccessKind.Instr, out _), Is.EqualTo(TlbOutcome.StlbHit));
        Assert.That(h.Lookup(4 * Page, AccessKind.Instr, out _), Is.EqualTo(TlbOutcome.L1Hit));

        // dTLB: 3 misses on the walks + miss(0) + hit(0) + miss(2) = 1 hit, 5 misses;
        // fills: 3 from walks + 2 from STLB hits; evictions: vpn 4 evicted 0, refill 0 evicted 2, refill 2 evicted 4.
        Assert.That(counters.Get("dtlb_hit"), Is.EqualTo(1));
        Assert.That(counters.Get("dtlb_miss"), Is.EqualTo(5));
        Assert.That(counters.Get("dtlb_fill"), Is.EqualTo(5));
        Assert.That(counters.Get("dtlb_evict"), Is.EqualTo(3));
        // STLB: probed after every L1 miss: 3 walk misses, then hits for 0, 2 and the iTLB's 4.
        Assert.That(counters.Get("stlb_hit"), Is.EqualTo(3));
        Assert.That(counters.Get("stlb_miss"), Is.EqualTo(3));
        Assert.That(counters.Get("stlb_fill"), Is.EqualTo(3));
        Assert.That(counters.Get("itlb_hit"), Is.EqualTo(1));
        Assert.That(counters.Get("itlb_miss"), Is.EqualTo(1));
    }

    [Test]
    public void NoExecuteAndReadOnlyEntriesReportTheirPermissions()
    {
        var h = new TlbHierarchy(new World(), Tiny, new CounterRegistry());
        h.Fill(0x5000, 7, TlbFlags.NoExecute | TlbFlags.User, AccessKind.Load);
        Assert.That(h.Lookup(0x5000, AccessKind.Load, out var e), Is.EqualTo(TlbOutcome.L1Hit));
        Assert.That(e.Permits(write: false, fetch: false, userMode: true), Is.True);
        Assert.That(e.Permits(write: true, fetch: false, userMode: true), Is.False);
        Assert.That(e.Permits(write: false, fetch: true, userMode: true), Is.False);
    }

    [Test]
    public void TlbEntriesAreEntitiesSeenByWorldQueries()
    {
        var world = new World();
        var h = new TlbHierarchy(world, TlbConfig.Default, new CounterRegistry());
        // Skylake defaults: 64 + 128 + 1536 slots, and the 2M arrays' 32 + 8, each an entity with a TlbEntry.
        Assert.That(world.CountEntities(new QueryDescription().WithAll<TlbEntry>()), Is.EqualTo(64 + 128 + 1536 + 32 + 8));
        h.CurrentPcid = 3;
        for (ulong v = 0; v < 10; v++)
            h.Fill(v * Page, 1000 + v, TlbFlags.Writable, AccessKind.Load);
        h.Fill(0x7000_0000, 55, TlbFlags.None, AccessKind.Instr);
        int valid = 0;
        ulong pfnSum = 0;
        world.Query(new QueryDescription().WithAll<TlbEntry>(), (ref TlbEntry e) =>
        {
            if (!e.IsValid) return;
            valid++;
            pfnSum += e.Pfn;
        });
        // 10 data pages in dTLB and STLB, one code page in iTLB and STLB.
        Assert.That(valid, Is.EqualTo(22));
        Assert.That(pfnSum, Is.EqualTo(2 * (10 * 1000UL + 45) + 2 * 55UL));
        // A row's entity reads the same slot the TLB uses.
        int row = h.Dtlb.Lookup(3 * Page, 3);
        Assert.That(world.Get<TlbEntry>(h.Dtlb.Table[row]).Pfn, Is.EqualTo(1003UL));
    }
}
