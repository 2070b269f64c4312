using EcsMem.Components;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Machine;

public class DefaultScenarioSmokeTests
{
    [Test]
    public void DefaultScenarioRunsToTheEnd()
    {
        using var m = ScenarioLoader.Build(DefaultScenario.Load());
        m.Run();
        Assert.That(m.Finished, Is.True);
        TestContext.Out.WriteLine($"accesses {m.CompletedAccesses()} now {m.Env.Now} ticks {m.Env.Ticks}");
        foreach (var kv in m.Env.Counters.All())
            TestContext.Out.WriteLine($"{kv.Key} {kv.Value}");
        foreach (var p in m.Kernel.Tasks.Processes)
        {
            var pr = m.Kernel.World.Get<Process>(p);
            var st = m.Kernel.World.Get<ProcessStats>(p);
            TestContext.Out.WriteLine($"{pr.Pid} {m.Kernel.Tasks.ProcessName(pr)} {pr.State} acc={st.Accesses} min={st.MinFlt} maj={st.MajFlt}");
        }
        foreach (var l in m.Kernel.Tasks.KillLog) TestContext.Out.WriteLine(l);
        foreach (var l in m.AddressSpace.Log) TestContext.Out.WriteLine(l);
        Assert.That(m.CompletedAccesses(), Is.GreaterThan(0));
    }
}
