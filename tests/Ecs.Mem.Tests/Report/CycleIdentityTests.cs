using EcsMem.Systems.Reporting;
using static EcsMem.Tests.Smp.SmpKit;

namespace EcsMem.Tests.Report;

/// <summary>
/// The cycle table is honest: the rows charged with a clock advance (translation, memory, fault, switch,
/// shootdown, idle) add up exactly to the CPUs' own times, which on a finished run are each at most the
/// simulated time, the rest being the idle tail of CPUs that finished early; reclaim is charged without any
/// clock advance and so is not part of that sum.
/// </summary>
public class CycleIdentityTests
{
    [TestCase(1)]
    [TestCase(2)]
    public void OnCpuRowsSumToCpusTimesSimulatedTime(int cpus)
    {
        var s = WithCpus(EcsMem.Scenarios.DefaultScenario.Load(), cpus);
        using var m = ScenarioLoader.Build(s);
        m.Run();
        Assert.That(m.Finished, Is.True);
        SimulationReport r = SimulationReport.Build(m, s.SourceName);

        long onCpu = r.Breakdown.Where(row => !row.OffCpu).Sum(row => row.Cycles);
        Assert.That((ulong)onCpu, Is.EqualTo(r.CpuTimeCycles), "on-CPU rows = the CPUs' own clocks, summed");
        for (int c = 0; c < cpus; c++)
            Assert.That(m.Kernel.Smp.Time(c), Is.LessThanOrEqualTo(r.Cycles), $"cpu {c} ends by the end of the run");
        if (cpus == 1)
            Assert.That((ulong)onCpu, Is.EqualTo(r.Cycles));
        Assert.That(r.Breakdown.Where(row => row.OffCpu).Select(row => row.Name), Is.EqualTo(new[] { "reclaim" }));
        Assert.That(r.Breakdown.Single(row => row.Name == "reclaim").Cycles, Is.GreaterThan(0), "the run reclaimed");

        string text = ReportTextWriter.Write(r);
        ulong total = (ulong)cpus * r.Cycles;
        Assert.That(text, Does.Contain($"  (on-CPU rows sum to cpus x simulated time: {total} = {cpus} x {r.Cycles})\n"));
        Assert.That(text, Does.Contain($"  {"= cpu time",-12} {total,16} "));
    }

    /// <summary>
    /// With async writeback reclaim's own scanning advances the reclaimer's clock (1 µs a page): it is the on-CPU
    /// <c>kernel</c> row, so the identity still holds (it printed != while that time was charged to off-CPU reclaim).
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    public void WithAsyncWritebackReclaimsScanIsOnTheCpus(int cpus)
    {
        var d = WithCpus(EcsMem.Scenarios.DefaultScenario.Load(), cpus);
        // Every step's cost a whole microsecond, 3000 cycles at the default 3 GHz (machine.reclaim_cost).
        var s = d with { Machine = d.Machine with { WritebackAsync = true, ReclaimCost = new(1000, 2000, 1000, 1000, 1000, 1000, 3000, 3000) } };
        using var m = ScenarioLoader.Build(s);
        m.Run();
        SimulationReport r = SimulationReport.Build(m, s.SourceName);
        long onCpu = r.Breakdown.Where(row => !row.OffCpu).Sum(row => row.Cycles);
        Assert.That((ulong)onCpu, Is.EqualTo(r.CpuTimeCycles));
        long kernel = r.Breakdown.Single(row => row.Name == "kernel").Cycles;
        // Reclaim's steps (machine.reclaim_cost) are the kernel row's only charges: the row is a multiple of 3000 cycles.
        Assert.That(kernel, Is.GreaterThan(0));
        Assert.That(kernel % 3000, Is.Zero);
        string text = ReportTextWriter.Write(r);
        Assert.That(text, Does.Contain($" = {cpus} x {r.Cycles})\n"));
    }
}
