using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Tests.Tlb;

public class SetAssociativeTlbTests
{
    private const ulong Page = 4096;

    // Lookup; on a miss install vpn -> pfn vpn + 100. Returns true on a hit.
    private static bool Touch(SetAssociativeTlb tlb, ulong vpn, ushort pcid = 1)
    {
        if (tlb.Lookup(vpn * Page, pcid) >= 0) return true;
        tlb.Insert(new TlbEntry { Vpn = vpn, Pfn = vpn + 100, Pcid = pcid, Flags = TlbFlags.Valid });
        return false;
    }

    [Test]
    public void TwoSetsTwoWaysConflictMissesAndLruOrder()
    {
        var counters = new CounterRegistry();
        var tlb = new SetAssociativeTlb(new World(), "t", new TlbGeometry(4, 2), counters);
        // set = vpn & 1. vpns 0, 2, 4 all map to set 0, which holds two of them.
        var hits = new List<bool>
        {
            Touch(tlb, 0), // miss: set0 = {0}
            Touch(tlb, 2), // miss: set0 = {0, 2}
            Touch(tlb, 0), // hit: 0 becomes most recent, 2 is LRU
            Touch(tlb, 4), // miss: evicts 2 (LRU) -> {0, 4}
            Touch(tlb, 2), // conflict miss: evicts 0 (LRU now) -> {4, 2}
            Touch(tlb, 1), // miss in set 1, nothing evicted
            Touch(tlb, 4), // hit
            Touch(tlb, 0), // miss: 0 was evicted; evicts 2 -> {4, 0}
        };
        Assert.That(hits, Is.EqualTo(new[] { false, false, true, false, false, false, true, false }));
        Assert.That(counters.Get("t_hit"), Is.EqualTo(2));
        Assert.That(counters.Get("t_miss"), Is.EqualTo(6));
        Assert.That(counters.Get("t_fill"), Is.EqualTo(6));
        Assert.That(counters.Get("t_evict"), Is.EqualTo(3)); // at the 4th, 5th and 8th touch
        Assert.That(tlb.CountValid(), Is.EqualTo(3));       // {4, 0} in set 0, {1} in set 1
    }

    [Test]
    public void LookupsAreTaggedByPcid()
    {
        var tlb = new SetAssociativeTlb(new World(), "t", new TlbGeometry(4, 2), new CounterRegistry());
        Touch(tlb, 3, pcid: 1);
        Assert.That(tlb.Lookup(3 * Page, 2), Is.EqualTo(-1), "another PCID must not see the entry");
        Assert.That(tlb.Lookup(3 * Page, 1), Is.GreaterThanOrEqualTo(0));
        Assert.That(tlb[tlb.Lookup(3 * Page + 123, 1)].Pfn, Is.EqualTo(103UL));
    }

    [Test]
    public void GlobalEntriesMatchAnyPcidAndSurviveAsidFlushes()
    {
        var tlb = new SetAssociativeTlb(new World(), "t", new TlbGeometry(4, 2), new CounterRegistry());
        tlb.Insert(new TlbEntry { Vpn = 5, Pfn = 1, Pcid = 1, Flags = TlbFlags.Global });
        tlb.Insert(new TlbEntry { Vpn = 6, Pfn = 2, Pcid = 1 });
        Assert.That(tlb.Lookup(5 * Page, 7), Is.GreaterThanOrEqualTo(0), "global entry matches PCID 7");
        Assert.That(tlb.FlushPcid(1), Is.EqualTo(1));        // only vpn 6
        Assert.That(tlb.FlushNonGlobal(), Is.EqualTo(0));    // nothing non-global left
        Assert.That(tlb.Lookup(5 * Page, 1), Is.GreaterThanOrEqualTo(0));
        Assert.That(tlb.Lookup(6 * Page, 1), Is.EqualTo(-1));
        // INVLPG does remove a global entry.
        Assert.That(tlb.InvalidatePage(5 * Page + 77, 3), Is.EqualTo(1));
        Assert.That(tlb.CountValid(), Is.Zero);
    }

    [Test]
    public void FlushAllRemovesGlobalEntriesToo()
    {
        var tlb = new SetAssociativeTlb(new World(), "t", new TlbGeometry(4, 2), new CounterRegistry());
        tlb.Insert(new TlbEntry { Vpn = 5, Pcid = 1, Flags = TlbFlags.Global });
        tlb.Insert(new TlbEntry { Vpn = 8, Pcid = 2 });
        Assert.That(tlb.FlushAll(), Is.EqualTo(2));
        Assert.That(tlb.CountValid(), Is.Zero);
    }

    [Test]
    public void HugeEntriesCoverTwoMegabytes()
    {
        var tlb = new SetAssociativeTlb(new World(), "t", new TlbGeometry(8, 2), new CounterRegistry());
        // 2 MiB page at va 0x200000 (tag 1) -> frames 512..1023.
        tlb.Insert(new TlbEntry { Vpn = 1, Pfn = 512, Pcid = 1, Size = PageSizeClass.Huge2M });
        int row = tlb.Lookup(0x2ff123, 1);
        Assert.That(row, Is.GreaterThanOrEqualTo(0));
        // 0x2ff123 >> 12 = 0x2ff; 0x2ff & 511 = 0xff = 255 -> frame 512 + 255.
        Assert.That(tlb[row].TranslatePfn(0x2ff123), Is.EqualTo(767UL));
        Assert.That(tlb.Lookup(0x400000, 1), Is.EqualTo(-1));
        // Invalidating any 4 KiB page inside the huge page drops it.
        Assert.That(tlb.InvalidatePage(0x234000, 1), Is.EqualTo(1));
        Assert.That(tlb.Lookup(0x2ff123, 1), Is.EqualTo(-1));
    }

    [Test]
    public void MatchesAReferenceLruModelOnARandomSequence()
    {
        // 4 sets x 3 ways (ways need not be a power of two) against a list-per-set LRU written here.
        var tlb = new SetAssociativeTlb(new World(), "t", new TlbGeometry(12, 3), new CounterRegistry());
        var reference = new List<ulong>[4];
        for (int s = 0; s < 4; s++) reference[s] = new List<ulong>();
        ulong state = 12345;
        for (int i = 0; i < 5000; i++)
        {
            state = state * 6364136223846793005UL + 1442695040888963407UL;
            ulong vpn = (state >> 33) % 40;
            var set = reference[(int)(vpn % 4)];
            bool expected = set.Remove(vpn);
            set.Insert(0, vpn);
            if (set.Count > 3) set.RemoveAt(3);
            Assert.That(Touch(tlb, vpn), Is.EqualTo(expected), $"access {i} (vpn {vpn})");
        }
    }

    [Test]
    public void PcidFlushesDropWhatAScanOfEverySlotWouldDrop()
    {
        // 16 sets x 4 ways; PCIDs 1, 2, 65 and 129 (65 and 129 share PCID 1's list bucket), some entries global, some
        // 2 MiB. Before each flush the expected drop is counted by reading every slot through the indexer; after it
        // no valid non-global entry of the PCID may be left and every other valid entry must still be there.
        var tlb = new SetAssociativeTlb(new World(), "t", new TlbGeometry(64, 4), new CounterRegistry());
        ushort[] pcids = [1, 2, 65, 129];
        ulong state = 42;
        ulong Next() => (state = state * 6364136223846793005UL + 1442695040888963407UL) >> 33;
        int flushes = 0, dropped = 0;
        for (int i = 0; i < 20000; i++)
        {
            ushort pcid = pcids[Next() % 4];
            ulong r = Next() % 100;
            if (r < 80)
            {
                var flags = Next() % 10 == 0 ? TlbFlags.Global : TlbFlags.None;
                var size = Next() % 16 == 0 ? PageSizeClass.Huge2M : PageSizeClass.Base4K;
                tlb.Insert(new TlbEntry { Vpn = Next() % 200, Pfn = 1, Pcid = pcid, Flags = flags, Size = size });
            }
            else if (r < 88)
            {
                tlb.InvalidatePage((Next() % 200) * Page, pcid);
            }
            else
            {
                bool all = r == 99;
                int expected = 0;
                var stays = new bool[64];
                for (int row = 0; row < 64; row++)
                {
                    if (!tlb[row].IsValid) continue;
                    if (!tlb[row].IsGlobal && (all || tlb[row].Pcid == pcid)) expected++;
                    else stays[row] = true;
                }
                int n = all ? tlb.FlushNonGlobal() : tlb.FlushPcid(pcid);
                Assert.That(n, Is.EqualTo(expected), $"step {i}: flush of PCID {pcid} (all: {all})");
                for (int row = 0; row < 64; row++)
                    Assert.That(tlb[row].IsValid, Is.EqualTo(stays[row]), $"step {i}: row {row} after the flush");
                flushes++;
                dropped += n;
            }
        }
        Assert.That(flushes, Is.GreaterThan(1000));
        Assert.That(dropped, Is.GreaterThan(flushes), "the flushes found entries to drop");
    }

    [Test]
    public void InvalidGeometryIsAnInputErrorNamingTheValue()
    {
        var world = new World();
        var c = new CounterRegistry();
        Assert.That(() => new SetAssociativeTlb(world, "dtlb", new TlbGeometry(48, 4), c),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Property("Value").EqualTo("dtlb=48x4")
                .And.Message.Contains("power of two"));
        Assert.That(() => new TlbGeometry(10, 4).Validate("cfg", "stlb"),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Message.Contains("multiple"));
        Assert.That(() => new TlbGeometry(0, 1).Validate("cfg", "itlb"),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Property("Value").EqualTo("itlb=0x1"));
        Assert.That(() => new TlbGeometry(8, 0).Validate("cfg", "itlb"),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>());
        Assert.That(TlbGeometry.Parse("1536x12", "command line", "stlb"), Is.EqualTo(new TlbGeometry(1536, 12)));
        foreach (string bad in new[] { "64", "x4", "64x", "64x-4", "sixty-fourx4", "64 x 4" })
            Assert.That(() => TlbGeometry.Parse(bad, "command line", "dtlb"),
                Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Property("Value").EqualTo(bad), bad);
        Assert.That(() => TlbGeometry.Parse("96x4", "command line", "dtlb"),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Message.Contains("power of two")); // 24 sets
        // Skylake's STLB: 1536 / 12 = 128 sets is valid.
        Assert.That(() => new TlbGeometry(1536, 12).Validate("cfg", "stlb"), Throws.Nothing);
    }
}
