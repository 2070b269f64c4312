using EcsMem.Cli;

namespace EcsMem.Tests.Policies;

public class IdealCliTests
{
    private string _dir = "";
    private string _trace = "";

    internal static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [SetUp]
    public void WriteTrace()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ecsmem-ideal-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _trace = Path.Combine(_dir, "belady.pages");
        File.WriteAllText(_trace, "# Belady's string\n1\n2\n3\n4\n\n1\n2\n5 # a comment\n1\n2\n3\n4\n5\n");
    }

    [TearDown]
    public void Clean() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void TextReportForFifo()
    {
        var (code, stdout, stderr) = Cli("run", "--ideal", "--trace", _trace, "--trace-format", "pages", "--frames", "4", "--policy", "FIFO");
        Assert.That(stderr, Is.Empty);
        Assert.That(code, Is.EqualTo(0));
        // FIFO with 4 frames: 10 faults of 12 (Belady's anomaly case), 5 cold, 6 evictions.
        Assert.That(stdout, Does.Contain("references:      12\n"));
        Assert.That(stdout, Does.Contain("faults:          10\n"));
        Assert.That(stdout, Does.Contain("  cold:          5\n"));
        Assert.That(stdout, Does.Contain("  capacity:      5\n"));
        Assert.That(stdout, Does.Contain("evictions:       6\n"));
        Assert.That(stdout, Does.Contain("fault ratio:     0.833333\n"));
        Assert.That(stdout, Does.Contain("policy:          fifo\n"));
    }

    [Test]
    public void JsonReportHasFixedKeyOrderAndIsDeterministic()
    {
        var (code, first, _) = Cli("run", "--ideal", "--trace", _trace, "--frames", "3", "--policy", "random", "--seed", "7", "--json");
        var (_, second, _) = Cli("run", "--ideal", "--trace", _trace, "--frames", "3", "--policy", "random", "--seed", "7", "--json");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(second, Is.EqualTo(first));
        using var doc = System.Text.Json.JsonDocument.Parse(first);
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.That(keys, Is.EqualTo(new[] { "schema", "ecsmem", "mode", "trace", "trace_format", "policy", "frames", "seed", "references", "hits",
            "faults", "cold_faults", "capacity_faults", "evictions", "fault_ratio" }));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("references").GetInt64(), Is.EqualTo(12));
        Assert.That(root.GetProperty("hits").GetInt64() + root.GetProperty("faults").GetInt64(), Is.EqualTo(12));
        Assert.That(root.GetProperty("seed").GetInt64(), Is.EqualTo(7));
    }

    [Test]
    public void OptThroughTheCli()
    {
        var (code, stdout, _) = Cli("run", "--ideal", "--trace", _trace, "--frames", "3", "--policy", "opt", "--json");
        Assert.That(code, Is.EqualTo(0));
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.That(doc.RootElement.GetProperty("faults").GetInt64(), Is.EqualTo(7));
    }

    [TestCase("--frames", "0")]
    [TestCase("--frames", "abc")]
    [TestCase("--frames", "-3")]
    [TestCase("--policy", "nosuch")]
    [TestCase("--trace-format", "no-such-format")]
    [TestCase("--seed", "x1")]
    public void BadValueIsExitTwoNamingTheValue(string option, string value)
    {
        var args = new Dictionary<string, string>
        {
            ["--trace"] = _trace,
            ["--frames"] = "3",
            ["--policy"] = "lru",
            ["--trace-format"] = "pages",
            ["--seed"] = "1",
        };
        args[option] = value;
        var list = new List<string> { "run", "--ideal" };
        foreach (var (k, v) in args) list.AddRange([k, v]);
        var (code, stdout, stderr) = Cli(list.ToArray());
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.StartWith("ecsmem: error: "));
        Assert.That(stderr, Does.Contain($"'{value}'"));
        Assert.That(stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void UnknownPolicyMessageListsKnownPolicies()
    {
        var (code, _, stderr) = Cli("run", "--ideal", "--trace", _trace, "--frames", "3", "--policy", "belady");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("known: ").And.Contain("arc").And.Contain("clock-ref").And.Contain("linux"));
    }

    [Test]
    public void MissingTraceFileIsExitTwo()
    {
        string missing = Path.Combine(_dir, "nope.pages");
        var (code, stdout, stderr) = Cli("run", "--ideal", "--trace", missing, "--frames", "3", "--policy", "lru");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.Contain(missing).And.Contain("not found"));
    }

    [Test]
    public void MalformedTraceLineWritesNothingToStdout()
    {
        File.WriteAllText(_trace, "1\n2\n3\nfour\n");
        var (code, stdout, stderr) = Cli("run", "--ideal", "--trace", _trace, "--frames", "2", "--policy", "lru", "--json");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.Contain($"{_trace}:4:").And.Contain("'four'"));
    }

    [Test]
    public void MissingFramesIsExitTwo()
    {
        var (code, _, stderr) = Cli("run", "--ideal", "--trace", _trace, "--policy", "lru");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--frames"));
    }

    [Test]
    public void RunHelpListsTheIdealMode()
    {
        var (code, stdout, _) = Cli("run", "--help");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.Contain("--ideal").And.Contain("--policy NAME"));
    }

    [TestCase("lru")]
    [TestCase("opt")]
    public void TraceWithOnlyCommentsReportsZeroReferences(string policy)
    {
        File.WriteAllText(_trace, "# nothing here\n\n");
        var (code, stdout, _) = Cli("run", "--ideal", "--trace", _trace, "--frames", "2", "--policy", policy);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.Contain("references:      0\n").And.Contain("fault ratio:     0.000000\n"));
    }
}
