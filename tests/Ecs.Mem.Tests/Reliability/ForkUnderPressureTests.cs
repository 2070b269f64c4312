using EcsMem.Components;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// fork needs frames for the child's page tables. When memory is full of unreclaimable pages (no swap), the
/// simulator must behave like Linux (reclaim, then fail the fork with ENOMEM or call the OOM killer), never crash.
/// </summary>
public class ForkUnderPressureTests
{
    // 256 KiB leaves room for about 24 anonymous pages above the min watermark (the OOM killer strikes at 24).
    // The 1 MiB heap is more than RAM + swap: Linux's heuristic would refuse it, hence overcommit_memory 1.
    [TestCase(18)]
    [TestCase(20)]
    // pcp_high_tuning: false (Linux 6.6's lists): the page counts put the fork right at the edge of memory as 6.6's
    // one-page refills leave it; 6.7+'s larger refills of a 64-page machine keep pages on the list and the hog
    // never reaches its fork.
    [TestCase(22)]
    [TestCase(23)]
    public void ForkWhenMemoryIsFullDoesNotCrash(int pages)
    {
        string yaml = $$"""
            machine:
              ram: 256K
              swap: 0
              overcommit_memory: 1
              quantum: 50
              pcp_high_tuning: false
            processes:
              - name: hog
                layout:
                  exec: {file: /bin/hog, text: 16K, heap: 1M}
                workload:
                  generator: "loop:count={{2 * pages}},pages={{pages}},writes=1"
            timeline:
              - after: {{pages}}
                process: hog
                fork:
                  child: kid
                  workload:
                    generator: "loop:count=100,pages=4,writes=1"
            """;
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(yaml));
        m.RunChecked();
        Assert.That(m.Finished, Is.True);
        TestContext.Out.WriteLine(string.Join("\n", m.Kernel.Tasks.KillLog.Concat(m.Kernel.Oom.Log).Concat(m.AddressSpace.Log)));
        Assert.That(m.AddressSpace.Log.Any(l => l.Contains(" fork(", StringComparison.Ordinal)), Is.True, "the fork must happen under pressure");
        Process hog = m.Kernel.World.Get<Process>(m.Kernel.Tasks.Processes[0]);
        Assert.That(hog.State, Is.EqualTo(ProcessState.Exited).Or.EqualTo(ProcessState.Killed));
    }
}
