using EcsMem.Scenarios;
using EcsMem.Tests.Reliability;
using static EcsMem.Tests.Smp.SmpKit;

namespace EcsMem.Tests.Smp;

/// <summary>
/// The batch size is a performance knob only, with several CPUs too: the CPUs interleave in simulated-time order
/// and a fault window closes at the same simulated point whatever the batch size, so runs at batch 1 (one access
/// per tick, the reference semantics), 7 and 4096 must end in the same state and print the same report, but for
/// the effective-configuration line that states the batch size itself.
/// </summary>
public class SmpBatchSizeInvarianceTests
{
    private static readonly int[] Batches = [1, 7, 4096];

    /// <summary>Runs <paramref name="s"/> at each batch size; returns the dumps and reports (batch line removed).</summary>
    private static (string Dump, string Report)[] RunAtEveryBatchSize(Scenario s)
    {
        var results = new (string, string)[Batches.Length];
        for (int i = 0; i < Batches.Length; i++)
        {
            using var m = ScenarioLoader.Build(s, Batches[i]);
            m.Run();
            Assert.That(m.Finished, Is.True, $"batch {Batches[i]}");
            Assert.That(m.Kernel.Options.BatchSize, Is.EqualTo(Batches[i]));
            results[i] = (MachineDump.Of(m), ReportWithoutBatchLine(TextReport(m, s.SourceName), Batches[i]));
        }
        return results;
    }

    private static void AssertAllEqual((string Dump, string Report)[] runs)
    {
        // Batch 1 is the reference; the first differing lines are shown before the whole-text comparison.
        for (int i = 1; i < runs.Length; i++)
        {
            Assert.That(DeterminismTests.FirstDifference(runs[i].Dump, runs[0].Dump), Is.Null, $"dump, batch {Batches[i]} vs 1");
            Assert.That(DeterminismTests.FirstDifference(runs[i].Report, runs[0].Report), Is.Null, $"report, batch {Batches[i]} vs 1");
            Assert.That(runs[i].Dump, Is.EqualTo(runs[0].Dump));
            Assert.That(runs[i].Report, Is.EqualTo(runs[0].Report));
        }
    }

    /// <summary>The cpus line of the report's effective configuration: the override reached the machine.</summary>
    private static void AssertCpus(string report, int cpus) =>
        Assert.That(report.Split('\n'), Does.Contain(FormattableString.Invariant($"  {"cpus",-30} {cpus}")));

    /// <summary>The embedded default scenario (one million accesses) once per CPU count, at the three batch sizes.</summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    public void DefaultScenario(int cpus)
    {
        var runs = RunAtEveryBatchSize(WithCpus(EcsMem.Scenarios.DefaultScenario.Load(), cpus));
        AssertCpus(runs[0].Report, cpus);
        // Non-trivial: the run swapped (major faults), and with several CPUs the fault handler saw fault batches.
        Assert.That(runs[0].Dump, Does.Match(@"counter pgmajfault [1-9]"));
        Assert.That(runs[0].Report, cpus > 1 ? Does.Contain("== fault batches") : Does.Not.Contain("== fault batches"));
        AssertAllEqual(runs);
    }

    /// <summary>
    /// A scenario whose processes have threads (one thread exits on the timeline, a leader's exit ends its group,
    /// a threaded process forks), in 1 MiB of RAM so reclaim shoots down TLB entries of the other threads' CPUs.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    public void ThreadsScenario(int cpus)
    {
        var runs = RunAtEveryBatchSize(WithCpus(ReliabilityScenarios.Parse(ReliabilityScenarios.Threads), cpus));
        AssertCpus(runs[0].Report, cpus);
        // Five tasks of two processes plus one fork child: the threads are tasks of their own in the dump.
        Assert.That(runs[0].Dump.Split('\n').Count(l => l.StartsWith("process ", StringComparison.Ordinal)), Is.EqualTo(6));
        // With one CPU nobody else can hold the mm, so nothing is ever sent to another CPU.
        if (cpus == 1)
            Assert.That(runs[0].Dump, Does.Contain("counter nr_tlb_remote_flush_received 0\n"));
        else
            Assert.That(runs[0].Dump, Does.Match(@"counter nr_tlb_remote_flush_received [1-9]"));
        AssertAllEqual(runs);
    }
}
