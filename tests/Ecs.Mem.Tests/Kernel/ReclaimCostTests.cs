using EcsMem.Systems.Reporting;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using NUnit.Framework;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// machine.reclaim_cost (Vmscan/ReclaimHost.cs): reclaim's CPU time per step, measured on 6.18
/// (oracle/experiments/reclaim-cost). Each test gives the steps distinct costs and works the reclaimer's time out
/// from the run's counters (pages written, freed, and the rest of those scanned), a different route from the one the
/// host takes (its per-folio outcomes).
/// </summary>
public class ReclaimCostTests
{
    // 3 MiB of RAM against a 6 MiB working set with swap: kswapd and direct reclaim write, free and keep pages.
    private const string Yaml = """
        machine: {ram: 3M, swap: 32M, seed: 7, writeback: async, min_free_kbytes: 128, COST}
        processes:
          - name: p
            layout: infer
            workload: {generator: "uniform:count=10000,pages=1536,writes=0.5,seed=3"}
        """;

    private static Systems.Machine.Machine Run(string cost)
    {
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Yaml.Replace("COST", cost, StringComparison.Ordinal)), "cost.yaml"));
        m.Run();
        return m;
    }

    private static long C(Systems.Machine.Machine m, string name) => m.Env.Counters.Get(name);

    private static long KernelRow(Systems.Machine.Machine m) =>
        SimulationReport.Build(m, "cost.yaml").Breakdown.Where(r => r.Name == "kernel").Sum(r => r.Cycles); // no row when nothing was charged

    [Test]
    public void TheReclaimersTimeIsEachFolioWrittenFreedOrKeptAtItsOwnCost()
    {
        // 1, 2 and 4 µs: 3,000, 6,000 and 12,000 cycles at the default 3 GHz.
        using var m = Run("reclaim_cost: {call_ns: 0, batch_ns: 0, isolate_ns: 0, active_ns: 0, keep_ns: 4000, free_ns: 2000, write_ns: 1000, shmem_write_ns: 0}");
        long written = C(m, "nr_vmscan_write");
        long freed = C(m, "pgsteal_anon") + C(m, "pgsteal_file");
        long kept = C(m, "pgscan_anon") + C(m, "pgscan_file") - freed - written;
        Assert.That(written, Is.GreaterThan(100), "the run must write");
        Assert.That(freed, Is.GreaterThan(100), "and free");
        Assert.That(kept, Is.GreaterThan(0), "and keep some pages");
        Assert.That(KernelRow(m), Is.EqualTo(3000 * written + 6000 * freed + 12000 * kept));
    }

    [Test]
    public void AnonymousPagesAreNotChargedShmemsWriteCost()
    {
        using var m = Run("reclaim_cost: {call_ns: 0, batch_ns: 0, isolate_ns: 0, active_ns: 0, keep_ns: 0, free_ns: 0, write_ns: 0, shmem_write_ns: 9000}");
        Assert.That(C(m, "nr_vmscan_write"), Is.GreaterThan(100));
        Assert.That(KernelRow(m), Is.Zero);
    }

    [Test]
    public void TheMeasuredCostsAreTheDefaultsAndSlowTheReclaimingCpu()
    {
        using var measured = Run("swappiness: 60");
        using var free = Run("reclaim_cost: {call_ns: 0, batch_ns: 0, isolate_ns: 0, active_ns: 0, keep_ns: 0, free_ns: 0, write_ns: 0, shmem_write_ns: 0}");
        Assert.That(measured.Kernel.Options.ReclaimCost, Is.EqualTo(new ReclaimCostConfig()));
        Assert.That(KernelRow(free), Is.Zero);
        // The written pages alone take at least 2.75 µs each (8,250 cycles at 3 GHz).
        Assert.That(KernelRow(measured), Is.GreaterThanOrEqualTo(8250 * C(measured, "nr_vmscan_write")));
        Assert.That(measured.Env.Now, Is.GreaterThan(free.Env.Now), "reclaim's time is the simulated CPU's");
    }

    [Test]
    public void TheKeyRoundTripsThroughTheScenarioWriter()
    {
        var s = ScenarioParser.Parse(new StringReader(Yaml.Replace("COST", "reclaim_cost: {write_ns: 5, call_ns: 7}", StringComparison.Ordinal)), "cost.yaml");
        Assert.That(s.Machine.ReclaimCost, Is.EqualTo(new ReclaimCostConfig() with { WriteNs = 5, CallNs = 7 }));
        string written = ScenarioWriter.ToYaml(s);
        Assert.That(written, Does.Contain("  reclaim_cost:\n    call_ns: 7\n"));
        var again = ScenarioParser.Parse(new StringReader(written), "again.yaml");
        Assert.That(again.Machine.ReclaimCost, Is.EqualTo(s.Machine.ReclaimCost));
    }
}
