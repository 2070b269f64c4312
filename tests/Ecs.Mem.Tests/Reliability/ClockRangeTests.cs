using EcsMem.Diagnostics;

namespace EcsMem.Tests.Reliability;

/// <summary>Simulated times a scenario names stay within the clock's range (2^62 cycles), so no run overflows it.</summary>
public class ClockRangeTests
{
    private const string Process = "  - name: a\n{0}    layout:\n      exec: {{file: /bin/a, heap: 64K}}\n    workload:\n      generator: \"loop:count=100,pages=4\"\n";

    [TestCase("18446744073709551615")] // 2^64 - 1: used to "complete" with 0 accesses
    [TestCase("18446744073709551000")] // used to crash with an OverflowException at the first context switch
    [TestCase("4611686018427387905")]  // 2^62 + 1
    public void AStartBeyondTheClocksRangeIsRefusedAtItsLine(string start)
    {
        string yaml = "machine:\n  ram: 16M\nprocesses:\n" + string.Format(System.Globalization.CultureInfo.InvariantCulture, Process, $"    start: {start}\n");
        var ex = Assert.Throws<InputException>(() => ReliabilityScenarios.Parse(yaml));
        Assert.That(ex!.Line, Is.EqualTo(5));
        Assert.That(ex.Value, Is.EqualTo(start));
        Assert.That(ex.Problem, Does.StartWith("processes[0].start must be at most 4611686018427387904 cycles"));
    }

    [Test]
    public void TheLatestAllowedStartRuns()
    {
        string yaml = "machine:\n  ram: 16M\nprocesses:\n" + string.Format(System.Globalization.CultureInfo.InvariantCulture, Process, "    start: 4611686018427387904\n");
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(yaml));
        m.Run();
        Assert.That(m.CompletedAccesses(), Is.EqualTo(100));
        Assert.That(m.Env.Now, Is.GreaterThan(4611686018427387904UL));
    }

    [Test]
    public void ATimelineAtBeyondTheRangeIsRefused()
    {
        string yaml = "machine:\n  ram: 16M\nprocesses:\n" + string.Format(System.Globalization.CultureInfo.InvariantCulture, Process, "")
            + "timeline:\n  - at: 9223372036854775808\n    process: a\n    brk: {delta: 4K}\n";
        var ex = Assert.Throws<InputException>(() => ReliabilityScenarios.Parse(yaml));
        Assert.That(ex!.Problem, Does.StartWith("timeline[0].at must be at most 4611686018427387904 cycles"));
    }
}
