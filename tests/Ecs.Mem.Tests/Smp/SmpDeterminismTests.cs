using EcsMem.Scenarios;
using EcsMem.Systems.Reporting;
using EcsMem.Tests.Reliability;
using static EcsMem.Tests.Smp.SmpKit;

namespace EcsMem.Tests.Smp;

/// <summary>A run on several CPUs is a function of its inputs: no host thread, timer or hash order leaks in.</summary>
public class SmpDeterminismTests
{
    private static (string Text, string Json) Run(Scenario s)
    {
        using var m = ScenarioLoader.Build(s);
        m.Run();
        Assert.That(m.Finished, Is.True);
        SimulationReport r = SimulationReport.Build(m, s.SourceName);
        return (ReportTextWriter.Write(r), ReportJsonWriter.Write(r));
    }

    [Test]
    public void SameFourCpuScenarioTwiceGivesByteIdenticalReports()
    {
        Scenario s = WithCpus(ReliabilityScenarios.Parse(ReliabilityScenarios.Threads), 4);
        var first = Run(s);
        var second = Run(WithCpus(ReliabilityScenarios.Parse(ReliabilityScenarios.Threads), 4));
        Assert.That(second.Text, Is.EqualTo(first.Text));
        Assert.That(second.Json, Is.EqualTo(first.Json));
        // The four CPUs took part: the report says so, and a one-CPU run of the same scenario is a different run.
        Assert.That(first.Text, Does.Contain("== fault batches"));
        var one = Run(WithCpus(s, 1));
        Assert.That(one.Text, Is.Not.EqualTo(first.Text));
    }
}
