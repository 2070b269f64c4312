using EcsMem.Cli;
using EcsMem.Cli.RunModes;

namespace EcsMem.Tests.Report;

/// <summary>The files <c>ecsmem run</c> writes besides the report: the timeline CSV and the plot; and Ctrl-C's partial report.</summary>
public class ReportOutputFileTests
{
    /// <summary>A trace of 300 accesses: 20 pages, each stored to 15 times in turn.</summary>
    private static string Trace300(ReportTestFiles f)
    {
        var sb = new System.Text.StringBuilder();
        for (int round = 0; round < 15; round++)
            for (int i = 0; i < 20; i++)
                sb.Append(System.Globalization.CultureInfo.InvariantCulture, $" S {0x1000_0000 + i * 4096:x},8\n");
        return f.Write("t300.lackey", sb.ToString());
    }

    [TestCase(40, 8)]    // ceil(300 / 40) = 8 rows: at 40, 80, ..., 280 and the final one at 300
    [TestCase(100, 3)]   // 100, 200, 300 (the last multiple is the end: no extra row)
    [TestCase(1000, 1)]  // only the final row
    public void TimelineWithBatchOneHasARowAtEachMultipleAndTheEnd(int every, int rows)
    {
        using var f = new ReportTestFiles();
        string trace = Trace300(f);
        string csv = f.PathOf("timeline.csv");
        // With one access per tick the machine can be sampled after any access: rows fall on the multiples.
        var (code, _, err) = ReportTestFiles.Run("run", "--trace", trace, "--trace-format", "lackey", "--mem", "1M",
            "--timeline", csv, "--timeline-every", every.ToString(), "--batch", "1");
        Assert.That(code, Is.EqualTo(0), err);
        string[] lines = File.ReadAllText(csv).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("cycles,accesses,free_pages,rss_pages:t300,fault_rate,swap_used_pages,pagecache_pages"));
        Assert.That(lines, Has.Length.EqualTo(rows + 1));
        long[] accesses = lines.Skip(1).Select(l => long.Parse(l.Split(',')[1])).ToArray();
        var expected = Enumerable.Range(1, rows).Select(i => Math.Min((long)i * every, 300)).ToArray();
        Assert.That(accesses, Is.EqualTo(expected));
        // The first 20 accesses fault once each: the first row's fault rate is 20 faults over its accesses.
        string[] first = lines[1].Split(',');
        Assert.That(double.Parse(first[4], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(20.0 / Math.Min(every, 300)).Within(1e-9));
        // RSS of the one process is 20 pages once all of them were touched (before the final row, at exit).
        if (rows > 1)
            Assert.That(lines[^2].Split(',')[3], Is.EqualTo("20"));
        Assert.That(f.FilesExcept("t300.lackey"), Is.EqualTo(new[] { "timeline.csv" }));
    }

    [Test]
    public void TimelineWithLargeBatchesSamplesAtTheFirstTickPastEachMultiple()
    {
        using var f = new ReportTestFiles();
        string trace = Trace300(f);
        string csv = f.PathOf("timeline.csv");
        var (code, _, err) = ReportTestFiles.Run("run", "--trace", trace, "--trace-format", "lackey", "--mem", "1M",
            "--timeline", csv, "--timeline-every", "40", "--batch", "4096");
        Assert.That(code, Is.EqualTo(0), err);
        long[] accesses = File.ReadAllText(csv).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => long.Parse(l.Split(',')[1])).ToArray();
        // Never more rows than multiples plus the end, strictly increasing, each interval sampled at most once,
        // and the last row is the end of the run.
        Assert.That(accesses.Length, Is.InRange(1, 8));
        Assert.That(accesses, Is.Ordered.Ascending);
        Assert.That(accesses.Distinct().Count(), Is.EqualTo(accesses.Length));
        long[] sampled = accesses[..^1]; // the last row may be the end-of-run row, in the same interval as the one before
        Assert.That(sampled.Select(a => a / 40).Distinct().Count(), Is.EqualTo(sampled.Length));
        Assert.That(sampled, Has.All.GreaterThanOrEqualTo(40));
        Assert.That(accesses[^1], Is.EqualTo(300));
    }

    [Test]
    public void PlotIsAPng()
    {
        using var f = new ReportTestFiles();
        string trace = Trace300(f);
        string png = f.PathOf("plot.png");
        var (code, _, err) = ReportTestFiles.Run("run", "--trace", trace, "--trace-format", "lackey", "--mem", "1M", "--plot", png, "--timeline-every", "50");
        Assert.That(code, Is.EqualTo(0), err);
        byte[] bytes = File.ReadAllBytes(png);
        // PNG signature: \x89 P N G \r \n \x1a \n
        Assert.That(bytes.Take(8).ToArray(), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }));
        Assert.That(bytes, Has.Length.GreaterThan(1000));
        Assert.That(f.FilesExcept("t300.lackey"), Is.EqualTo(new[] { "plot.png" }));
    }

    [Test]
    public void InterruptedRunPrintsAPartialReportAndWholeFiles()
    {
        using var f = new ReportTestFiles();
        string trace = Trace300(f);
        string csv = f.PathOf("timeline.csv");
        int ticks = 0;
        // Stop after 30 ticks, as a Ctrl-C would: with --batch 1 each tick runs at most one access.
        var mode = new MachineRunMode { StopRequested = () => ++ticks >= 30 };
        string[] args = ["--trace", trace, "--trace-format", "lackey", "--mem", "1M", "--batch", "1", "--timeline", csv, "--timeline-every", "5"];
        var cl = CommandLine.Parse("run", args);
        var o = new StringWriter();
        var e = new StringWriter();
        int code = mode.Run(cl, o, e);
        Assert.That(code, Is.EqualTo(MachineRunMode.ExitInterrupted));
        string report = o.ToString();
        long done = long.Parse(ReportTestFiles.ValueAfter(report, "accesses:"));
        Assert.That(done, Is.GreaterThan(0).And.LessThan(300));
        Assert.That(ReportTestFiles.ValueAfter(report, "status:"), Is.EqualTo($"partial: interrupted after {done} accesses"));
        Assert.That(e.ToString(), Is.EqualTo($"ecsmem: partial: interrupted after {done} accesses\n").Or.EqualTo($"ecsmem: partial: interrupted after {done} accesses{Environment.NewLine}"));
        Assert.That(ReportTestFiles.ProcessRow(report, "t300")[2], Is.EqualTo("running").Or.EqualTo("faulting").Or.EqualTo("sleeping-io"));
        // The timeline is complete for the part that ran: its last row is the access count of the report.
        string[] lines = File.ReadAllText(csv).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(long.Parse(lines[^1].Split(',')[1]), Is.EqualTo(done));
        Assert.That(lines, Has.Length.EqualTo((int)((done + 4) / 5) + 1));
    }
}
