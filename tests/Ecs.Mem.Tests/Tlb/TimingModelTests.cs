using EcsMem.Diagnostics;
using EcsMem.Systems.Timing;

namespace EcsMem.Tests.Tlb;

public class TimingModelTests
{
    [Test]
    public void AmatOfASmallHandComputedExample()
    {
        var timer = new AccessTimer(TimingModel.Default);
        // Defaults: L1 4, L2 12, L3 42, DRAM 200; L1 TLB hit 0, STLB hit 9, walk 4 levels x 8 = 32.
        long a = timer.Access(TlbOutcome.L1Hit, MemoryLevel.L1);   // 0 + 4 = 4
        long b = timer.Access(TlbOutcome.StlbHit, MemoryLevel.L2); // 9 + 12 = 21
        long d = timer.Access(TlbOutcome.Miss, MemoryLevel.Dram);  // 9 + 32 + 200 = 241
        long e = timer.Access(TlbOutcome.L1Hit, MemoryLevel.L3);   // 0 + 42 = 42
        Assert.That(new[] { a, b, d, e }, Is.EqualTo(new long[] { 4, 21, 241, 42 }));
        var acc = timer.Accounting;
        // AMAT = (4 + 21 + 241 + 42) / 4 = 308 / 4 = 77.
        Assert.That(acc.Amat, Is.EqualTo(77.0));
        // Translation per access = (0 + 9 + 41 + 0) / 4 = 12.5; memory = (4 + 12 + 200 + 42) / 4 = 64.5.
        Assert.That(acc.CyclesPerAccess(CycleCategory.Translation), Is.EqualTo(12.5));
        Assert.That(acc.CyclesPerAccess(CycleCategory.Memory), Is.EqualTo(64.5));

        // One minor fault (1500) and one major fault (1500 + 100 us x 3 GHz = 1500 + 300000 = 301500).
        Assert.That(timer.MinorFault(), Is.EqualTo(1500));
        Assert.That(timer.MajorFault(), Is.EqualTo(301_500));
        // A context switch (3000) and a flush of 2 pages plus 1 IPI (2 x 300 + 2000 = 2600).
        Assert.That(timer.ContextSwitch(), Is.EqualTo(3000));
        Assert.That(timer.TlbFlush(2, 1), Is.EqualTo(2600));
        Assert.That(acc[CycleCategory.Fault], Is.EqualTo(303_000));
        // AMAT ignores OS work; the effective time spreads it: (308 + 303000 + 3000 + 2600) / 4 = 77227.
        Assert.That(acc.Amat, Is.EqualTo(77.0));
        Assert.That(acc.EffectiveAccessTime, Is.EqualTo(308_908 / 4.0));
        Assert.That(acc.TotalCycles, Is.EqualTo(308_908));
    }

    [Test]
    public void SwapOutFollowsTheClock()
    {
        // 30 us at 2 GHz = 60000 cycles per page; 3 pages = 180000.
        var timer = new AccessTimer(TimingModel.Default with { ClockGHz = 2.0 });
        Assert.That(timer.SwapOut(3), Is.EqualTo(180_000));
        Assert.That(timer.Accounting[CycleCategory.Reclaim], Is.EqualTo(180_000));
        Assert.That(timer.Accounting.Amat, Is.Zero, "no access recorded yet");
    }

    [Test]
    public void AccumulatorsAddAndReset()
    {
        var x = new CycleAccounting();
        var y = new CycleAccounting();
        x.RecordAccess(10, 20);
        y.RecordAccess(0, 4);
        y.Charge(CycleCategory.Switch, 6);
        x.Add(y);
        Assert.That(x.Accesses, Is.EqualTo(2));
        Assert.That(x.Amat, Is.EqualTo((10 + 20 + 4) / 2.0));
        Assert.That(x.EffectiveAccessTime, Is.EqualTo(40 / 2.0));
        x.Reset();
        Assert.That(x.TotalCycles, Is.Zero);
        Assert.That(x.EffectiveAccessTime, Is.Zero);
    }

    [Test]
    public void ImpossibleValuesAreInputErrorsNamingTheField()
    {
        Assert.That(() => (TimingModel.Default with { L2HitCycles = -1 }).Validate("cfg.yaml"),
            Throws.TypeOf<InputException>().With.Property("Value").EqualTo("L2HitCycles=-1").And.Property("Origin").EqualTo("cfg.yaml"));
        Assert.That(() => (TimingModel.Default with { ClockGHz = 0 }).Validate(),
            Throws.TypeOf<InputException>().With.Property("Value").EqualTo("ClockGHz=0"));
        Assert.That(() => (TimingModel.Default with { ClockGHz = double.NaN }).Validate(), Throws.TypeOf<InputException>());
        Assert.That(() => (TimingModel.Default with { PageWalkLevels = 6 }).Validate(), Throws.TypeOf<InputException>());
        Assert.That(() => (TimingModel.Default with { MajorFaultMicroseconds = 0 }).Validate(), Throws.TypeOf<InputException>());
        Assert.That(() => (TimingModel.Default with { MemoryCycles = 0 }).Validate(), Throws.TypeOf<InputException>());
        Assert.That(() => new AccessTimer(TimingModel.Default with { ContextSwitchCycles = 0 }), Throws.TypeOf<InputException>());
        // Zero extra cycles for an L1 TLB hit is legal (it overlaps the L1 cache access); negative is not.
        Assert.That(() => (TimingModel.Default with { L1TlbHitCycles = 0 }).Validate(), Throws.Nothing);
        Assert.That(() => (TimingModel.Default with { L1TlbHitCycles = -2 }).Validate(), Throws.TypeOf<InputException>());
    }
}
