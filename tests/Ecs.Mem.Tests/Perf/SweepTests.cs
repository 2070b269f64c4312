using System.Globalization;
using EcsMem.Cli;

namespace EcsMem.Tests.Perf;

public class SweepTests() : TwoTraceFixture((11, 200, 20_000), (12, 60, 5_000), "sweep")
{
    [Test]
    public void OutputIsIdenticalForOneAndManyThreads()
    {
        string csv1 = Path.Combine(Dir, "one.csv"), csv4 = Path.Combine(Dir, "four.csv");
        var one = Cli("sweep", A, B, "--frames", "10:100:10,150", "--threads", "1", "--csv", csv1);
        var four = Cli("sweep", A, B, "--frames", "10:100:10,150", "--threads", "4", "--csv", csv4);
        Assert.That(one.Code, Is.EqualTo(0), one.Err);
        Assert.That(four.Code, Is.EqualTo(0), four.Err);
        Assert.That(four.Out, Is.EqualTo(one.Out));
        Assert.That(File.ReadAllText(csv4), Is.EqualTo(File.ReadAllText(csv1)));
        // 2 traces × 6 default policies × 11 frame counts, plus the header line.
        Assert.That(File.ReadAllLines(csv1), Has.Length.EqualTo(1 + 2 * 6 * 11));
    }

    [Test]
    public void RowsComeInTracePolicyFramesOrder()
    {
        var r = Cli("sweep", B, A, "--frames", "30,10,20", "--policies", "fifo,lru", "--threads", "3");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var keys = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => $"{Path.GetFileName(f[0])} {f[1]} {f[2]}").ToArray();
        Assert.That(keys, Is.EqualTo(new[]
        {
            "b.pages fifo 30", "b.pages fifo 10", "b.pages fifo 20", "b.pages lru 30", "b.pages lru 10", "b.pages lru 20",
            "a.pages fifo 30", "a.pages fifo 10", "a.pages fifo 20", "a.pages lru 30", "a.pages lru 10", "a.pages lru 20",
        }));
    }

    [Test]
    public void StackDistanceLruEqualsSeparateLruRuns()
    {
        var mattson = Cli("sweep", A, "--frames", "1:250:7", "--policies", "lru");
        var separate = Cli("sweep", A, "--frames", "1:250:7", "--policies", "lru", "--no-stack-distance");
        Assert.That(mattson.Code, Is.EqualTo(0), mattson.Err);
        Assert.That(separate.Out, Is.EqualTo(mattson.Out));
    }

    [Test]
    public void AStreamedLruCurveEqualsTheCurveOfALoadedTrace([Values(1, 2)] int threads)
    {
        // LRU alone: the sweep streams the trace through the stack-distance pass; with FIFO beside it, it loads it.
        string t = threads.ToString(CultureInfo.InvariantCulture);
        var streamed = Cli("sweep", A, B, "--frames", "1:250:7", "--policies", "lru", "--threads", t);
        var loaded = Cli("sweep", A, B, "--frames", "1:250:7", "--policies", "lru,fifo", "--threads", t);
        Assert.That(streamed.Code, Is.EqualTo(0), streamed.Err);
        Assert.That(loaded.Code, Is.EqualTo(0), loaded.Err);
        string[] lruRows = loaded.Out.Split('\n').Where(l => l.Contains(" lru ", StringComparison.Ordinal)).ToArray();
        Assert.That(lruRows, Has.Length.EqualTo(2 * 36));
        Assert.That(streamed.Out.Split('\n').Where(l => l.Contains(" lru ", StringComparison.Ordinal)), Is.EqualTo(lruRows));
    }

    [Test]
    public void ABadLineInAStreamedTraceIsTheSameOneLineErrorAsInALoadedOne([Values(1, 2)] int threads)
    {
        string bad = Path.Combine(Dir, "bad.pages");
        File.WriteAllText(bad, "1\n2\n3\nzz\n4\n");
        string t = threads.ToString(CultureInfo.InvariantCulture);
        var streamed = Cli("sweep", A, bad, "--frames", "2", "--policies", "lru", "--threads", t);
        var loaded = Cli("sweep", A, bad, "--frames", "2", "--policies", "lru,fifo", "--threads", t);
        Assert.That(streamed.Code, Is.EqualTo(2), streamed.Err);
        Assert.That(loaded.Code, Is.EqualTo(2), loaded.Err);
        Assert.That(streamed.Err, Does.StartWith("ecsmem: error: " + bad + ":4:"));
        Assert.That(streamed.Err, Is.EqualTo(loaded.Err));
        Assert.That(streamed.Out, Is.Empty);
    }

    [Test]
    public void CsvRowMatchesRunIdeal()
    {
        string csv = Path.Combine(Dir, "s.csv");
        var s = Cli("sweep", A, "--frames", "40", "--policies", "clock", "--csv", csv);
        Assert.That(s.Code, Is.EqualTo(0), s.Err);
        var ideal = Cli("run", "--ideal", "--trace", A, "--frames", "40", "--policy", "clock", "--json");
        Assert.That(ideal.Code, Is.EqualTo(0), ideal.Err);
        string[] f = File.ReadAllLines(csv)[1].Split(',');
        Assert.That(ideal.Out, Does.Contain($"\"faults\": {f[5]},"));
        Assert.That(ideal.Out, Does.Contain($"\"hits\": {f[4]},"));
        Assert.That(ideal.Out, Does.Contain($"\"evictions\": {f[8]},"));
    }

    [TestCase("0")]
    [TestCase("10:5:1")]
    [TestCase("abc")]
    [TestCase("1:2")]
    public void BadFramesAreInputErrors(string frames)
    {
        var r = Cli("sweep", A, "--frames", frames);
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.StartWith("ecsmem: error: "));
    }

    [Test]
    public void UnknownPolicyAndMissingTraceAreInputErrors()
    {
        Assert.That(Cli("sweep", A, "--frames", "4", "--policies", "lru,nope").Code, Is.EqualTo(2));
        Assert.That(Cli("sweep", Path.Combine(Dir, "missing.pages"), "--frames", "4").Code, Is.EqualTo(2));
        Assert.That(Cli("sweep", "--frames", "4").Code, Is.EqualTo(2));
    }
}
