using System.Diagnostics;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Reliability;

/// <summary>The full default scenario (1M accesses, reclaim, swap, fork, file pages) with the invariants checked along the way.</summary>
public class DefaultScenarioCheckedTests
{
    [Test]
    public void DefaultScenarioKeepsEveryInvariant()
    {
        using var m = ScenarioLoader.Build(DefaultScenario.Load());
        var clock = Stopwatch.StartNew();
        long ticks = m.RunChecked(every: 97);
        TestContext.Out.WriteLine($"{ticks} ticks, {m.CompletedAccesses()} accesses, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.That(m.Finished, Is.True);
        Assert.That(m.Env.Counters.Get("pswpout"), Is.GreaterThan(0));
    }
}
