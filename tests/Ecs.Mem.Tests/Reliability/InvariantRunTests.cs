using EcsMem.Components;

namespace EcsMem.Tests.Reliability;

/// <summary>The small scenarios run with every kernel invariant checked after every tick.</summary>
public class InvariantRunTests
{
    [TestCase("reduced-default")]
    [TestCase("fork-timeline")]
    [TestCase("swapping")]
    [TestCase("oom")]
    public void NoViolationAfterAnyTick(string name)
    {
        string yaml = ReliabilityScenarios.All.Single(s => s.Name == name).Yaml;
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(yaml));
        long ticks = m.RunChecked();
        Assert.That(m.Finished, Is.True);
        TestContext.Out.WriteLine($"{name}: {ticks} ticks, {m.CompletedAccesses()} accesses");
        foreach (var kv in m.Env.Counters.All())
            TestContext.Out.WriteLine($"  {kv.Key} {kv.Value}");
        foreach (var l in m.Kernel.Tasks.KillLog) TestContext.Out.WriteLine(l);
        foreach (var l in m.AddressSpace.Log) TestContext.Out.WriteLine(l);
        Assert.That(ticks, Is.GreaterThan(100), "the scenario must exercise the slow path many times");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
