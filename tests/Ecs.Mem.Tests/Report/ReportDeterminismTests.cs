using EcsMem.Scenarios;
using EcsMem.Systems.Reporting;

namespace EcsMem.Tests.Report;

/// <summary>The same scenario gives byte-identical text and JSON reports; asking for a timeline does not change them.</summary>
public class ReportDeterminismTests
{
    /// <summary>Two processes competing for 256 KiB of RAM with swap: reclaim, swap-out and swap-in all happen.</summary>
    private const string Contended = """
        machine: {ram: 256K, swap: 1M, seed: 5}
        processes:
          - name: zipf
            layout: {exec: {heap: 512K}}
            workload: {generator: "zipf:count=3000,pages=100,alpha=0.8,writes=0.5,seed=3"}
          - name: uniform
            layout: {exec: {heap: 512K}}
            workload: {generator: "uniform:count=3000,pages=80,writes=0.3,seed=4"}
        """;

    [Test]
    public void TwoRunsGiveByteIdenticalTextAndJson()
    {
        using var f = new ReportTestFiles();
        string yaml = f.Write("c.yaml", Contended);
        var a = ReportTestFiles.Run("run", yaml);
        var b = ReportTestFiles.Run("run", yaml);
        var ja = ReportTestFiles.Run("run", yaml, "--json");
        var jb = ReportTestFiles.Run("run", yaml, "--json");
        Assert.That(a.Code, Is.EqualTo(0), a.Err);
        Assert.That(ja.Code, Is.EqualTo(0), ja.Err);
        Assert.That(b.Out, Is.EqualTo(a.Out));
        Assert.That(jb.Out, Is.EqualTo(ja.Out));
        // The run really was contended (otherwise determinism would be trivial): the end report's vmstat, not the
        // peak snapshot's (taken before the first swap-out).
        Assert.That(a.Out[..a.Out.IndexOf("\n== snapshot at peak", StringComparison.Ordinal)], Does.Not.Contain("\npswpout 0\n"));
    }

    [Test]
    public void ATimelineDoesNotChangeTheReport()
    {
        using var f = new ReportTestFiles();
        string yaml = f.Write("c.yaml", Contended);
        var plain = ReportTestFiles.Run("run", yaml);
        var sampled = ReportTestFiles.Run("run", yaml, "--timeline", f.PathOf("t.csv"), "--timeline-every", "7");
        Assert.That(sampled.Code, Is.EqualTo(0), sampled.Err);
        Assert.That(sampled.Out, Is.EqualTo(plain.Out));
    }

    [Test]
    public void ReportBuiltTwiceFromTheSameMachineIsIdentical()
    {
        // Building the report reads the machine and never changes it.
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Contended), "c.yaml"));
        m.Run();
        string first = ReportTextWriter.Write(SimulationReport.Build(m, "c.yaml"));
        string second = ReportTextWriter.Write(SimulationReport.Build(m, "c.yaml"));
        Assert.That(second, Is.EqualTo(first));
    }
}
