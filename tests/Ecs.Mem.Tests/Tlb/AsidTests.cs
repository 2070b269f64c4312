using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Traces;

namespace EcsMem.Tests.Tlb;

public class AsidTests
{
    private const ulong Page = 4096;

    private static (TlbSystem Tlb, CounterRegistry Counters) Make(bool pcid = true, int cpus = 1)
    {
        var counters = new CounterRegistry();
        return (new TlbSystem(new World(), TlbConfig.Default with { UsePcid = pcid }, counters, cpus), counters);
    }

    [Test]
    public void SixProcessesRoundRobinFlushOnlyWhileWarmingUp()
    {
        var (tlb, c) = Make();
        var mms = Enumerable.Range(0, 6).Select(_ => tlb.CreateMm()).ToArray();
        // Pass 1: next_asid starts at 1 (ASID 0 belongs to the boot mm), so P1..P5 take ASIDs 1..5,
        // P6 finds next_asid = 6 >= 6 and wraps to ASID 0. Every one of them flushes its new ASID.
        var asids = new List<int>();
        foreach (var mm in mms)
        {
            Assert.That(tlb.SwitchMm(mm), Is.True);
            asids.Add(tlb.Cpu(0).LoadedAsid);
        }
        Assert.That(asids, Is.EqualTo(new[] { 1, 2, 3, 4, 5, 0 }));
        // Passes 2 and 3: every mm still owns its slot at the same tlb_gen: no flush at all.
        for (int pass = 0; pass < 2; pass++)
            foreach (var mm in mms)
                Assert.That(tlb.SwitchMm(mm), Is.False);
        Assert.That(c.Get("tlb_asid_switch_flush"), Is.EqualTo(6));
        Assert.That(c.Get("tlb_asid_switch_noflush"), Is.EqualTo(12));
    }

    [Test]
    public void SevenProcessesOnSixSlotsFlushOnEverySwitch()
    {
        var (tlb, c) = Make();
        var mms = Enumerable.Range(0, 7).Select(_ => tlb.CreateMm()).ToArray();
        // Pass 1: P1..P5 take ASIDs 1..5, P6 wraps to ASID 0 (next_asid back to 1), P7 takes ASID 1 and
        // evicts P1. Pass 2: P1 is in no slot -> ASID 2 (evicting P2); P2 -> 3 (evicting P3); ... P5 -> 0,
        // P6 -> 1, P7 -> 2. Each mm arrives just after its slot was stolen: round-robin over 7 mms on 6 slots
        // is the ASID version of LRU thrashing, and every switch flushes.
        var asids = new List<int>();
        for (int pass = 0; pass < 3; pass++)
            foreach (var mm in mms)
            {
                Assert.That(tlb.SwitchMm(mm), Is.True, $"pass {pass}, {mm}");
                asids.Add(tlb.Cpu(0).LoadedAsid);
            }
        Assert.That(asids.Take(14), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2 }));
        Assert.That(c.Get("tlb_asid_switch_flush"), Is.EqualTo(21));
        Assert.That(c.Get("tlb_asid_switch_noflush"), Is.Zero);
    }

    [Test]
    public void EntriesSurviveASwitchAwayAndBackWithPcid()
    {
        var (tlb, _) = Make();
        var p1 = tlb.CreateMm();
        var p2 = tlb.CreateMm();
        tlb.SwitchMm(p1);
        tlb.Fill(0x1000, 1, TlbFlags.User, AccessKind.Load);
        tlb.SwitchMm(p2);
        Assert.That(tlb.Lookup(0x1000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss), "P2 must not see P1's entry");
        tlb.Fill(0x1000, 2, TlbFlags.User, AccessKind.Load); // same va, different process and frame
        Assert.That(tlb.SwitchMm(p1), Is.False);
        Assert.That(tlb.Lookup(0x1000, AccessKind.Load, out var e), Is.EqualTo(TlbOutcome.L1Hit));
        Assert.That(e.Pfn, Is.EqualTo(1UL));
    }

    [Test]
    public void NopcidFlushesEverySwitchButKeepsGlobalEntries()
    {
        var (tlb, c) = Make(pcid: false);
        var p1 = tlb.CreateMm();
        var p2 = tlb.CreateMm();
        tlb.SwitchMm(p1);
        tlb.Fill(0xffff_8000_0000_0000, 9, TlbFlags.Global, AccessKind.Load); // a kernel mapping
        tlb.Fill(0x1000, 1, TlbFlags.User, AccessKind.Load);
        Assert.That(tlb.SwitchMm(p2), Is.True);
        Assert.That(tlb.SwitchMm(p1), Is.True);
        Assert.That(tlb.SwitchMm(p2), Is.True);
        Assert.That(tlb.SwitchMm(p1), Is.True);
        // Re-selecting the running mm is not a switch (Linux returns early when prev == next).
        Assert.That(tlb.SwitchMm(p1), Is.False);
        Assert.That(c.Get("tlb_asid_switch_flush"), Is.EqualTo(5)); // the first switch from boot too
        Assert.That(tlb.Cpu(0).LoadedAsid, Is.Zero);
        Assert.That(tlb.Lookup(0x1000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss));
        Assert.That(tlb.Lookup(0xffff_8000_0000_0000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.L1Hit));
    }

    [Test]
    public void TlbGenBumpWhileNotCurrentForcesAFlushOnTheNextSwitch()
    {
        var (tlb, c) = Make();
        var p1 = tlb.CreateMm();
        var p2 = tlb.CreateMm();
        tlb.SwitchMm(p1);
        tlb.Fill(0x1000, 1, TlbFlags.User, AccessKind.Load);
        tlb.SwitchMm(p2);
        tlb.Fill(0x2000, 2, TlbFlags.User, AccessKind.Load);
        // P1 is not loaded anywhere: the flush is only recorded as tlb_gen 1 -> 2.
        Assert.That(tlb.FlushTlbPage(p1, 0x1234), Is.Zero);
        Assert.That(p1.TlbGen, Is.EqualTo(2UL));
        Assert.That(c.Get("nr_tlb_local_flush_one") + c.Get("nr_tlb_local_flush_all"), Is.Zero);
        // Switching back finds P1's slot at gen 1 < 2: flush.
        Assert.That(tlb.SwitchMm(p1), Is.True);
        Assert.That(tlb.Lookup(0x1000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss));
        // P2 was untouched: its slot is current, so no flush and its entry is still there.
        Assert.That(tlb.SwitchMm(p2), Is.False);
        Assert.That(tlb.Lookup(0x2000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.L1Hit));
        Assert.That(c.Get("tlb_asid_switch_flush"), Is.EqualTo(3)); // P1, P2 cold, then P1 stale
    }

    [Test]
    public void FlushOfTheCurrentMmInvalidatesOnlyThatPage()
    {
        var (tlb, c) = Make();
        var p1 = tlb.CreateMm();
        tlb.SwitchMm(p1);
        tlb.Fill(0x1000, 1, TlbFlags.User, AccessKind.Load);
        tlb.Fill(0x2000, 2, TlbFlags.User, AccessKind.Load);
        Assert.That(tlb.FlushTlbPage(p1, 0x1fff), Is.Zero);
        Assert.That(c.Get("nr_tlb_local_flush_one"), Is.EqualTo(1));
        Assert.That(tlb.Lookup(0x1000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss));
        Assert.That(tlb.Lookup(0x2000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.L1Hit));
        // The CPU caught up with the new generation: switching away and back needs no flush.
        var p2 = tlb.CreateMm();
        tlb.SwitchMm(p2);
        Assert.That(tlb.SwitchMm(p1), Is.False);
    }

    [TestCase(33, 33, 0)] // 33 pages <= ceiling: 33 INVLPGs
    [TestCase(34, 0, 1)]  // 34 pages > ceiling: one full flush of the ASID
    public void RangeFlushCeiling(int pages, int expectOne, int expectAll)
    {
        var (tlb, c) = Make();
        var p1 = tlb.CreateMm();
        tlb.SwitchMm(p1);
        // 40 pages: the 64-entry, 16-set dTLB holds them all (at most 3 per set).
        for (ulong v = 0; v < 40; v++)
            tlb.Fill(v * Page, v, TlbFlags.User, AccessKind.Load);
        tlb.FlushTlbRange(p1, 0, (ulong)pages * Page);
        Assert.That(c.Get("nr_tlb_local_flush_one"), Is.EqualTo(expectOne));
        Assert.That(c.Get("nr_tlb_local_flush_all"), Is.EqualTo(expectAll));
        int survivors = 0;
        for (ulong v = 0; v < 40; v++)
            if (tlb.Lookup(v * Page, AccessKind.Load, out _) != TlbOutcome.Miss) survivors++;
        // A page flush keeps pages 33..39 (7 of them); a full flush keeps none.
        Assert.That(survivors, Is.EqualTo(expectAll == 0 ? 40 - pages : 0));
    }

    [Test]
    public void FlushTlbMmAndFlushAllAreCountedLikeLinux()
    {
        var (tlb, c) = Make();
        var p1 = tlb.CreateMm();
        tlb.SwitchMm(p1);
        tlb.Fill(0xffff_8000_0000_0000, 9, TlbFlags.Global, AccessKind.Load);
        tlb.Fill(0x1000, 1, TlbFlags.User, AccessKind.Load);
        tlb.FlushTlbMm(p1);
        Assert.That(c.Get("nr_tlb_local_flush_all"), Is.EqualTo(1));
        Assert.That(tlb.Lookup(0x1000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss));
        Assert.That(tlb.Lookup(0xffff_8000_0000_0000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.L1Hit), "global survives flush_tlb_mm");
        tlb.FlushAll();
        Assert.That(tlb.Lookup(0xffff_8000_0000_0000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss), "flush_tlb_all drops globals");
        // flush_tlb_all: one remote flush sent, one received per CPU (the sender included).
        Assert.That(c.Get("nr_tlb_remote_flush"), Is.EqualTo(1));
        Assert.That(c.Get("nr_tlb_remote_flush_received"), Is.EqualTo(1));
    }

    [Test]
    public void ShootdownReachesOtherCpusRunningTheMm()
    {
        var (tlb, c) = Make(cpus: 3);
        var mm = tlb.CreateMm();
        var other = tlb.CreateMm();
        // CPU0 and CPU1 run threads of mm; CPU2 ran mm, then switched to another process.
        for (int cpu = 0; cpu < 3; cpu++)
        {
            tlb.CurrentCpu = cpu;
            tlb.SwitchMm(mm);
            tlb.Fill(0x1000, 1, TlbFlags.User, AccessKind.Load);
        }
        tlb.SwitchMm(other);
        // Linux 6.14+: switch_mm leaves CPU2 in mm's cpumask; a later shootdown trims it.
        Assert.That(mm.CpuMask, Is.EqualTo(0b111UL));

        tlb.CurrentCpu = 0;
        Assert.That(tlb.FlushTlbPage(mm, 0x1000), Is.EqualTo(1)); // IPI to CPU1 only: CPU2 runs another mm, no trim due yet
        Assert.That(c.Get("nr_tlb_local_flush_one"), Is.EqualTo(1));
        Assert.That(c.Get("nr_tlb_remote_flush"), Is.EqualTo(1));
        Assert.That(c.Get("nr_tlb_remote_flush_received"), Is.EqualTo(1));
        tlb.CurrentCpu = 1;
        Assert.That(tlb.Lookup(0x1000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss));
        // CPU2 was not interrupted; it catches up (flushes) when it switches back to mm.
        tlb.CurrentCpu = 2;
        Assert.That(tlb.SwitchMm(mm), Is.True);
        Assert.That(tlb.Lookup(0x1000, AccessKind.Load, out _), Is.EqualTo(TlbOutcome.Miss));
    }

    [Test]
    public void LazyCpusAreSkippedUnlessTablesWereFreedAndTheMaskIsTrimmedOnceASecond()
    {
        var clock = new SimClock();
        var counters = new CounterRegistry();
        const ulong second = 1000; // a 1 kHz "clock" keeps the numbers small
        var charged = new long[3];
        long waited = 0;
        var tlb = new TlbSystem(new World(), TlbConfig.Default, counters, 3, clock, second)
        {
            ChargeRemote = (cpu, cycles) => charged[cpu] += (long)cycles,
            InitiatorWait = cycles => waited += (long)cycles,
            ShootdownCycles = 2000,
            FlushOneCycles = 300,
        };
        var mm = tlb.CreateMm();       // next trim at t = 1000
        var other = tlb.CreateMm();
        for (int cpu = 0; cpu < 3; cpu++)
        {
            tlb.CurrentCpu = cpu;
            tlb.SwitchMm(mm);
        }
        tlb.CurrentCpu = 1;
        tlb.EnterLazyTlb();            // CPU1 idles with mm loaded
        tlb.CurrentCpu = 2;
        tlb.SwitchMm(other);           // CPU2 left mm (still in its mask)

        // t = 0: a page flush from CPU0 skips the lazy CPU1 and CPU2 (no trim before t = 1000): no IPI at all,
        // but native_flush_tlb_multi still counts one remote flush.
        tlb.CurrentCpu = 0;
        Assert.That(tlb.FlushTlbPage(mm, 0x1000), Is.EqualTo(0));
        Assert.That(counters.Get("nr_tlb_remote_flush"), Is.EqualTo(1));
        Assert.That(counters.Get("nr_tlb_remote_flush_received"), Is.EqualTo(0));
        Assert.That(waited, Is.EqualTo(0));

        // t = 1001: the trim is due: CPU2 gets an IPI, finds mm not loaded, leaves the mask (cost: one flush_tlb_func).
        clock.AdvanceTo(1001);
        Assert.That(tlb.FlushTlbPage(mm, 0x1000), Is.EqualTo(1));
        Assert.That(mm.CpuMask, Is.EqualTo(0b011UL));
        Assert.That(charged[2], Is.EqualTo(300));
        Assert.That(waited, Is.EqualTo(2000));

        // Freed page tables reach the lazy CPU1 too: it switches to init_mm and leaves the mask.
        Assert.That(tlb.FlushTlbMmRange(mm, 0x1000, 0x2000, freedTables: true), Is.EqualTo(1));
        Assert.That(tlb.Cpu(1).LoadedMm, Is.Null);
        Assert.That(mm.CpuMask, Is.EqualTo(0b001UL));
        Assert.That(counters.Get("nr_tlb_remote_flush"), Is.EqualTo(3));
        Assert.That(counters.Get("nr_tlb_remote_flush_received"), Is.EqualTo(2));
        Assert.That(waited, Is.EqualTo(4000));
    }

    [Test]
    public void InvalidConfigIsAnInputError()
    {
        var c = new CounterRegistry();
        Assert.That(() => new TlbSystem(new World(), TlbConfig.Default with { Stlb = new TlbGeometry(1536, 8) }, c),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Property("Value").EqualTo("stlb=1536x8")); // 192 sets
        Assert.That(() => new TlbSystem(new World(), TlbConfig.Default with { DynamicAsids = 0 }, c),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Property("Value").EqualTo("asids=0"));
        Assert.That(() => new TlbSystem(new World(), TlbConfig.Default with { SinglePageFlushCeiling = -1 }, c),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>());
        Assert.That(() => new TlbSystem(new World(), TlbConfig.Default, c, cpuCount: 0),
            Throws.TypeOf<EcsMem.Diagnostics.InputException>().With.Property("Value").EqualTo("cpus=0"));
    }
}
