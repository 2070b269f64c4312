namespace EcsMem.Tests.Report;

/// <summary>
/// Every kind of bad input to <c>ecsmem run</c> and <c>ecsmem maps</c>: exit code 2, exactly one stderr line that
/// names the file (or "command line"), the line when there is one, and the offending value; no stack trace;
/// nothing on stdout; and none of the requested output files (nor a temporary file) left behind.
/// </summary>
public class ReportBadInputTests
{
    private const string Lackey = " S 10000000,8\n S 10001000,8\n";

    /// <summary>Runs with every output file requested, then checks the failure shape.</summary>
    private static string Fails(ReportTestFiles f, string[] inputs, params string[] args)
    {
        string[] all = args[0] == "run"
            ? [.. args, "--timeline", f.PathOf("out.csv"), "--plot", f.PathOf("out.png")]
            : args;
        var (code, stdout, stderr) = ReportTestFiles.Run(all);
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stdout, Is.Empty);
        string[] lines = stderr.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stderr);
        Assert.That(lines[0], Does.StartWith("ecsmem: error: "));
        Assert.That(stderr, Does.Not.Contain("   at ").And.Not.Contain("Exception"));
        Assert.That(f.FilesExcept(inputs), Is.Empty, "no output or temporary file may be left behind");
        return lines[0];
    }

    [Test]
    public void UnknownOption()
    {
        using var f = new ReportTestFiles();
        string err = Fails(f, [], "run", "--frobnicate");
        Assert.That(err, Is.EqualTo("ecsmem: error: command line: unknown option for 'run' (see 'ecsmem run --help') (got '--frobnicate')"));
    }

    [TestCase("--mem", "12Q", "--mem is not a size")]
    [TestCase("--swap", "-4K", "--swap is not a size")]
    [TestCase("--mem", "1000", "--mem must be a whole number of 4 KiB pages")]
    [TestCase("--mem", "4K", "--mem must be at least 16 pages")]
    [TestCase("--quantum", "0", "option --quantum needs an integer from 1")]
    [TestCase("--batch", "x", "option --batch needs an integer from 1")]
    [TestCase("--paging", "x86-128", "--paging must be x86, x86-64 or x86-64-la57")]
    [TestCase("--policy", "nope", "unknown policy for --policy")]
    [TestCase("--policy", "opt", "--policy: this policy needs the whole future reference string")]
    [TestCase("--timeline-every", "0", "option --timeline-every needs an integer from 1")]
    public void BadCommandLineValue(string option, string value, string problem)
    {
        using var f = new ReportTestFiles();
        string err = Fails(f, [], "run", option, value);
        Assert.That(err, Does.StartWith("ecsmem: error: command line: " + problem));
        Assert.That(err, Does.EndWith($"(got '{value}')"));
    }

    [Test]
    public void OutputDirectoryThatDoesNotExistFailsBeforeTheRun()
    {
        using var f = new ReportTestFiles();
        string csv = Path.Combine(f.Dir, "no-such-dir", "t.csv");
        var (code, stdout, stderr) = ReportTestFiles.Run("run", "--timeline", csv);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr.Trim(), Is.EqualTo($"ecsmem: error: command line: --timeline: output directory does not exist (got '{csv}')"));
    }

    [TestCase("machine: {ram: 2K}", 1, "2K")]                                                   // RAM smaller than a page
    [TestCase("machine: {ram: 1M, bogus: 1}", 1, "bogus")]                                        // unknown key
    [TestCase("machine:\n  caches:\n    l2: {size: 192K, ways: 4, line: 64}", 3, "192K")]         // 768 sets: not a power of two
    [TestCase("machine:\n  ram: 1M\n  policy: nope", 3, "nope")]                                  // unknown policy
    [TestCase("machine:\n  ram: 1M\n  policy: opt", 3, "opt")]                                    // a policy the machine cannot run
    [TestCase("machine:\n  ram: 1M\n  policy: lru\n  writeback: async", 4, "async")]              // async writeback needs the linux lruvec
    public void BadScenarioNamesFileLineAndValue(string machine, int line, string value)
    {
        using var f = new ReportTestFiles();
        f.Write("t.lackey", Lackey);
        string yaml = f.Write("s.yaml", machine + "\nprocesses:\n  - name: p\n    workload: {trace: {path: t.lackey, format: lackey}}\n");
        string err = Fails(f, ["s.yaml", "t.lackey"], "run", yaml);
        Assert.That(err, Does.StartWith($"ecsmem: error: {yaml}:{line}: "));
        Assert.That(err, Does.Contain($"'{value}"));
    }

    /// <summary>
    /// A scenario that is valid as written (async writeback with the default linux policy) but whose policy the command
    /// line replaces by one without PG_writeback: refused when the machine is built, naming the scenario and the policy.
    /// </summary>
    [Test]
    public void APolicyOverrideThatCannotRunAsyncWritebackIsRefused()
    {
        using var f = new ReportTestFiles();
        f.Write("t.lackey", Lackey);
        string yaml = f.Write("s.yaml", "machine:\n  ram: 1M\n  writeback: async\nprocesses:\n  - name: p\n    workload: {trace: {path: t.lackey, format: lackey}}\n");
        Assert.That(ReportTestFiles.Run("run", yaml).Code, Is.Zero, "the scenario alone runs");
        string err = Fails(f, ["s.yaml", "t.lackey"], "run", yaml, "--policy", "fifo");
        Assert.That(err, Does.StartWith($"ecsmem: error: {yaml}: machine.writeback: async needs the linux policy"));
        Assert.That(err, Does.EndWith("(got 'fifo')"));
    }

    [Test]
    public void MalformedTraceLineNamesTheTraceFileAndLine()
    {
        using var f = new ReportTestFiles();
        string trace = f.Write("t.lackey", Lackey + " S zz10002000,8\n");
        string err = Fails(f, ["t.lackey"], "run", "--trace", trace, "--trace-format", "lackey", "--mem", "1M");
        Assert.That(err, Does.StartWith($"ecsmem: error: {trace}:3: "));
        Assert.That(err, Does.Contain("S zz10002000,8"));
    }

    [Test]
    public void MissingTraceFile()
    {
        using var f = new ReportTestFiles();
        string trace = f.PathOf("absent.lackey");
        string err = Fails(f, [], "run", "--trace", trace, "--trace-format", "lackey");
        Assert.That(err, Is.EqualTo($"ecsmem: error: command line: trace file not found (got '{trace}')"));
    }

    [Test]
    public void UnknownTraceFormat()
    {
        using var f = new ReportTestFiles();
        string trace = f.Write("t.lackey", Lackey);
        string err = Fails(f, ["t.lackey"], "run", "--trace", trace, "--trace-format", "valgrind");
        Assert.That(err, Does.StartWith("ecsmem: error: command line: --trace-format must be").And.EndWith("(got 'valgrind')"));
    }

    [Test]
    public void ScenarioAndTraceTogetherAreRefused()
    {
        using var f = new ReportTestFiles();
        string trace = f.Write("t.lackey", Lackey);
        string err = Fails(f, ["t.lackey"], "run", "s.yaml", "--trace", trace, "--trace-format", "lackey");
        Assert.That(err, Does.StartWith("ecsmem: error: command line: give either a scenario file or --trace FILE"));
    }

    private const string Overlapping =
        "00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/dbus-daemon\n" +
        "00451000-00453000 rw-p 00051000 08:02 173521                             /usr/bin/dbus-daemon\n";

    [Test]
    public void OverlappingAreasInAMapsFile()
    {
        using var f = new ReportTestFiles();
        string maps = f.Write("bad.maps", Overlapping);
        string err = Fails(f, ["bad.maps"], "maps", maps);
        Assert.That(err, Does.StartWith($"ecsmem: error: {maps}:2: "));
        Assert.That(err, Does.Contain("00451000-00453000"));
    }

    [Test]
    public void OverlappingAreasInAScenarioMapsLayout()
    {
        using var f = new ReportTestFiles();
        f.Write("bad.maps", Overlapping);
        f.Write("t.lackey", Lackey);
        string yaml = f.Write("s.yaml", "machine: {ram: 1M}\nprocesses:\n  - name: p\n    layout: {maps: bad.maps}\n    workload: {trace: {path: t.lackey, format: lackey}}\n");
        string err = Fails(f, ["bad.maps", "t.lackey", "s.yaml"], "run", yaml);
        Assert.That(err, Does.Contain("bad.maps:2: "));
    }

    [Test]
    public void MapsCommandWithoutFile()
    {
        using var f = new ReportTestFiles();
        string err = Fails(f, [], "maps");
        Assert.That(err, Does.StartWith("ecsmem: error: command line: 'maps' needs a maps FILE"));
    }
}
