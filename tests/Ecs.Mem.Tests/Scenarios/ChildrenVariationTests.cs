using System.Globalization;
using System.Text.RegularExpressions;
using EcsMem.Components;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Scenarios;

/// <summary><c>children.workloads</c> gives each forked child its own workload; <c>children.start_delay</c> holds each child back after its fork.</summary>
public class ChildrenVariationTests
{
    private const ulong Delay = 5_000_000;

    private const string Yaml = """
        machine: {ram: 8M, swap: 0}
        processes:
          - name: srv
            layout: {exec: {heap: 1M}}
            workload: {generator: "uniform:count=20000,pages=64,seed=1"}
            children:
              count: 2
              after: 1000
              start_delay: 5000000
              workloads:
                - {generator: "loop:count=100,pages=16"}
                - {generator: "chase:count=300,pages=16,seed=9"}
        """;

    [Test]
    public void ParsesPerChildWorkloadsAndDelay()
    {
        var s = ScenarioParser.Parse(new StringReader(Yaml), "kids.yaml");
        ForkChildrenConfig c = s.Processes[0].Children!;
        Assert.That(c.StartDelay, Is.EqualTo(Delay));
        Assert.That(c.Workload, Is.Null);
        Assert.That(c.WorkloadOf(1), Is.EqualTo(new GeneratorWorkload("loop:count=100,pages=16", 11)));
        Assert.That(c.WorkloadOf(2), Is.EqualTo(new GeneratorWorkload("chase:count=300,pages=16,seed=9", 12)));
    }

    [Test]
    public void SecondChildRunsItsOwnWorkloadAfterTheDelay()
    {
        var s = ScenarioParser.Parse(new StringReader(Yaml), "kids.yaml");
        using var m = ScenarioLoader.Build(s, 1);
        var procs = m.Kernel.Tasks.Processes;
        // Lower bound of each child's first access: the clock at the start of the tick in which its first access completed.
        var firstAccessAtLeast = new Dictionary<string, ulong>();
        ulong before = m.Env.Now;
        m.Run(progress: mm =>
        {
            for (int i = 0; i < procs.Count; i++)
            {
                string name = mm.Kernel.Tasks.ProcessName(mm.Kernel.World.Get<Process>(procs[i]));
                if (!firstAccessAtLeast.ContainsKey(name) && mm.Kernel.World.Get<ProcessStats>(procs[i]).Accesses > 0)
                    firstAccessAtLeast[name] = before;
            }
            before = mm.Env.Now;
        }, checkEvery: 1);
        Assert.That(m.Finished, Is.True);

        var report = EcsMem.Systems.Reporting.SimulationReport.Build(m, "kids.yaml");
        var child2 = report.Processes.Single(p => p.Name == "srv-2");
        var child1 = report.Processes.Single(p => p.Name == "srv-1");
        Assert.That(child1.Stats.Accesses, Is.EqualTo(100));
        Assert.That(child2.Stats.Accesses, Is.EqualTo(300));
        // The fork's time from the address-space log: "t=<cycles> pid <parent> fork()   = <child pid>" (strace form).
        string forkLine = report.AddressSpaceLog.Single(l => l.Contains("fork()", StringComparison.Ordinal) && l.EndsWith("= " + child2.Pid.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        ulong forkTime = ulong.Parse(Regex.Match(forkLine, @"^t=(\d+) ").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.That(forkTime, Is.GreaterThan(0UL));
        Assert.That(firstAccessAtLeast["srv-2"], Is.GreaterThanOrEqualTo(forkTime + Delay));
        Assert.That(firstAccessAtLeast["srv-1"], Is.GreaterThanOrEqualTo(forkTime + Delay));
    }
}
