using EcsMem.Diagnostics;
using EcsMem.Systems.Timing;

namespace EcsMem.Tests.Tlb;

public class TimingModelTests
{
    [Test]
    public void AmatOfASmallHandComputedExample()
    {
        var timer = new AccessTimer(TimingModel.Default);
        // Defaults (the scenario model's machine.latency defaults): L1 4, L2 12, L3 40, DRAM 200; L1 TLB hit 0
        // (not a scenario key), STLB hit 7, walk 4 levels x 20 = 80.
        long a = timer.Access(TlbOutcome.L1Hit, MemoryLevel.L1);   // 0 + 4 = 4
        long b = timer.Access(TlbOutcome.StlbHit, MemoryLevel.L2); // 7 + 12 = 19
        long d = timer.Access(TlbOutcome.Miss, MemoryLevel.Dram);  // 7 + 80 + 200 = 287
        long e = timer.Access(TlbOutcome.L1Hit, MemoryLevel.L3);   // 0 + 40 = 40
        Assert.That(new[] { a, b, d, e }, Is.EqualTo(new long[] { 4, 19, 287, 40 }));
        var acc = timer.Accounting;
        // AMAT = (4 + 19 + 287 + 40) / 4 = 350 / 4 = 87.5.
        Assert.That(acc.Amat, Is.EqualTo(87.5));
        // Translation per access = (0 + 7 + 87 + 0) / 4 = 94 / 4 = 23.5; memory = (4 + 12 + 200 + 40) / 4 = 256 / 4 = 64.
        Assert.That(acc.CyclesPerAccess(CycleCategory.Translation), Is.EqualTo(23.5));
        Assert.That(acc.CyclesPerAccess(CycleCategory.Memory), Is.EqualTo(64.0));

        // One minor fault (1000) and one major fault (1000 + the 300000-cycle read = 301000).
        Assert.That(timer.MinorFault(), Is.EqualTo(1000));
        Assert.That(timer.MajorFault(), Is.EqualTo(301_000));
        // A context switch (5000) and a flush of 2 pages plus 1 IPI (2 x 300 + 2000 = 2600).
        Assert.That(timer.ContextSwitch(), Is.EqualTo(5000));
        Assert.That(timer.TlbFlush(2, 1), Is.EqualTo(2600));
        Assert.That(acc[CycleCategory.Fault], Is.EqualTo(302_000)); // 1000 + 301000
        // AMAT ignores OS work; the effective time spreads it: (350 + 302000 + 5000 + 2600) / 4 = 309950 / 4 = 77487.5.
        Assert.That(acc.Amat, Is.EqualTo(87.5));
        Assert.That(acc.EffectiveAccessTime, Is.EqualTo(309_950 / 4.0));
        Assert.That(acc.TotalCycles, Is.EqualTo(309_950));
    }

    [Test]
    public void SwapOutIsChargedInCyclesWhateverTheClock()
    {
        // The swap write is a cycle count (300000 by default), so the clock only changes its µs view:
        // 3 pages = 3 x 300000 = 900000 cycles; at 2 GHz one write is 300000 / (2 x 1000) = 150 µs.
        var timer = new AccessTimer(TimingModel.Default with { ClockGHz = 2.0 });
        Assert.That(timer.SwapOut(3), Is.EqualTo(900_000));
        Assert.That(timer.Accounting[CycleCategory.Reclaim], Is.EqualTo(900_000));
        Assert.That(timer.Model.SwapOutMicroseconds, Is.EqualTo(150.0));
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
        Assert.That(() => (TimingModel.Default with { MajorFaultReadCycles = 0 }).Validate(), Throws.TypeOf<InputException>());
        Assert.That(() => (TimingModel.Default with { MemoryCycles = 0 }).Validate(), Throws.TypeOf<InputException>());
        Assert.That(() => new AccessTimer(TimingModel.Default with { ContextSwitchCycles = 0 }), Throws.TypeOf<InputException>());
        // Zero extra cycles for an L1 TLB hit is legal (it overlaps the L1 cache access); negative is not.
        Assert.That(() => (TimingModel.Default with { L1TlbHitCycles = 0 }).Validate(), Throws.Nothing);
        Assert.That(() => (TimingModel.Default with { L1TlbHitCycles = -2 }).Validate(), Throws.TypeOf<InputException>());
    }
}
