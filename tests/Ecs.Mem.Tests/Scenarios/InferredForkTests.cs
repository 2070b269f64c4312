namespace EcsMem.Tests.Scenarios;

/// <summary>A fork child of a process whose layout is inferred from its accesses infers its own VMAs too.</summary>
public class InferredForkTests
{
    [Test]
    public void AChildOfAnInferredLayoutProcessRunsItsOwnWorkload()
    {
        // The parent touches 4 pages at the data base (0x10000000), so it infers one 2 MiB block there; the child's
        // uniform generator runs from the same base over 2048 pages (8 MiB, four blocks), three of which the parent
        // never inferred: each must become a VMA in the child, not a SIGSEGV.
        const string yaml = """
            machine:
              ram: 16M
            processes:
              - name: p
                workload:
                  generator: "loop:count=400,pages=4"
                children:
                  count: 1
                  after: 100
                  workload:
                    generator: "uniform:count=500,pages=2048,seed=3"
            """;
        var s = EcsMem.Scenarios.ScenarioParser.Parse(new StringReader(yaml), "inferred-fork.yaml");
        using var m = ScenarioLoader.Build(s);
        m.Run();
        Assert.That(m.Kernel.Tasks.KillLog, Is.Empty);
        var child = m.Kernel.Tasks.Processes[1];
        Assert.That(m.Kernel.World.Get<EcsMem.Components.ProcessStats>(child).Accesses, Is.EqualTo(500));
        Assert.That(m.Env.Counters.Get("ecsmem_sigsegv"), Is.EqualTo(0));
    }
}
