using System.Diagnostics;
using EcsMem.Cli;
using EcsMem.Tests.Traces;
using EcsMem.Traces;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Issue 14, item 1: an output never destroys anything. A device, FIFO or symbolic link is written through, never
/// replaced by a regular file; an output that is an input (by name, through a link, through <c>..</c> or a hard
/// link) is refused before any work, exit 2, naming both files.
/// </summary>
[NonParallelizable]
public class OutputSafetyTests
{
    private const string Workload = "zipf:count=2000,pages=64,seed=3";

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static void Shell(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(0), $"{file} {string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
    }

    private static string PagesTrace(TempDir dir, string name = "in.pages")
    {
        string path = dir.File(name);
        Assert.That(Run("gen", Workload, "--out", path, "--format", "pages").Code, Is.EqualTo(0));
        return path;
    }

    [Test]
    public void GenToDevNullWritesThroughAndLeavesTheDevice()
    {
        Assume.That(OperatingSystem.IsLinux() && File.Exists("/dev/null"));
        Assert.That(FileIdentity.KindOf("/dev/null"), Is.EqualTo(FileKind.CharDevice));
        foreach (string format in new[] { "binary", "pages", "lackey" })
        {
            var (code, _, err) = Run("gen", Workload, "--out", "/dev/null", "--format", format);
            Assert.That(code, Is.EqualTo(0), err);
            Assert.That(FileIdentity.KindOf("/dev/null"), Is.EqualTo(FileKind.CharDevice), format);
            // A regular file put in its place would hold the trace; the device reads empty.
            Assert.That(File.ReadAllBytes("/dev/null"), Is.Empty, format);
        }
        Assert.That(Directory.GetFiles("/dev", ".null*"), Is.Empty, "no temporary file next to the device");
    }

    [Test]
    public void ConvertIntoAFifoWritesThroughIt()
    {
        Assume.That(OperatingSystem.IsLinux());
        using var dir = new TempDir();
        string input = PagesTrace(dir);
        string fifo = dir.File("pipe");
        Shell("mkfifo", fifo);
        var reader = Task.Run(() => File.ReadAllText(fifo));
        var (code, _, err) = Run("convert", input, "--from", "pages", "--to", "pages", "--out", fifo);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(reader.Wait(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(reader.Result, Is.EqualTo(File.ReadAllText(input)));
        Assert.That(FileIdentity.KindOf(fifo), Is.EqualTo(FileKind.Fifo));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "in.pages", "pipe" }));
    }

    [Test]
    public void SymlinkOutputReplacesTheTargetAndKeepsTheLink()
    {
        Assume.That(!OperatingSystem.IsWindows());
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("sub"));
        string target = dir.File("sub/real.pages");
        File.WriteAllText(target, "old\n");
        string link = dir.File("link.pages");
        File.CreateSymbolicLink(link, "sub/real.pages");
        var (code, _, err) = Run("gen", Workload, "--out", link, "--format", "pages");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo("sub/real.pages"), "the link is still a link");
        Assert.That(File.ReadAllText(target), Does.StartWith("#").Or.Match("^[0-9]"));
        Assert.That(File.ReadAllText(target), Is.Not.EqualTo("old\n"));
        Assert.That(Directory.GetFiles(dir.File("sub")).Select(Path.GetFileName), Is.EqualTo(new[] { "real.pages" }));
    }

    [Test]
    public void DanglingSymlinkOutputCreatesTheTarget()
    {
        Assume.That(!OperatingSystem.IsWindows());
        using var dir = new TempDir();
        string link = dir.File("link.bin");
        File.CreateSymbolicLink(link, dir.File("made.bin"));
        Assert.That(Run("gen", Workload, "--out", link).Code, Is.EqualTo(0));
        Assert.That(new FileInfo(link).LinkTarget, Is.Not.Null);
        Assert.That(new FileInfo(dir.File("made.bin")).Length, Is.GreaterThan(32));
    }

    /// <summary>The ways one file gets two names: itself, a symlink, a path through "..", a hard link.</summary>
    private static string Alias(TempDir dir, string input, string how)
    {
        switch (how)
        {
            case "same":
                return input;
            case "symlink":
                File.CreateSymbolicLink(dir.File("alias"), input);
                return dir.File("alias");
            case "dotdot":
                Directory.CreateDirectory(dir.File("d"));
                return dir.File("d/../" + Path.GetFileName(input));
            case "symlinked-dir":
                Directory.CreateSymbolicLink(dir.File("dirlink"), dir.Path);
                return dir.File("dirlink/" + Path.GetFileName(input));
            default:
                Shell("ln", input, dir.File("hard"));
                return dir.File("hard");
        }
    }

    [TestCase("same")]
    [TestCase("symlink")]
    [TestCase("dotdot")]
    [TestCase("symlinked-dir")]
    [TestCase("hardlink")]
    public void ConvertOntoItsInputIsRefused(string how)
    {
        Assume.That(OperatingSystem.IsLinux());
        using var dir = new TempDir();
        string input = PagesTrace(dir);
        byte[] before = File.ReadAllBytes(input);
        string output = Alias(dir, input, how);
        var (code, stdout, err) = Run("convert", input, "--from", "pages", "--to", "binary", "--out", output);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(err, Does.Contain(output).And.Contain(input).And.Contain("same file"));
        Assert.That(File.ReadAllBytes(input), Is.EqualTo(before));
    }

    [TestCase("--timeline")]
    [TestCase("--plot")]
    public void RunOutputOntoTheTraceIsRefusedBeforeSimulating(string option)
    {
        using var dir = new TempDir();
        string input = PagesTrace(dir);
        byte[] before = File.ReadAllBytes(input);
        string output = option == "--plot" ? Alias(dir, input, "symlink") : input;
        var (code, stdout, err) = Run("run", "--trace", input, "--trace-format", "pages", option, output);
        Assert.That(code, Is.EqualTo(2), err);
        Assert.That(stdout, Is.Empty, "no report: nothing was simulated");
        Assert.That(err, Does.Contain(option).And.Contain(input).And.Contain("input trace"));
        Assert.That(File.ReadAllBytes(input), Is.EqualTo(before));
    }

    [Test]
    public void RunOutputOntoTheScenarioOrItsTraceIsRefused()
    {
        using var dir = new TempDir();
        string trace = PagesTrace(dir);
        string scenario = dir.File("s.yaml");
        File.WriteAllText(scenario,
            "machine: { ram: 4M }\nprocesses:\n  - name: a\n    workload: { trace: { path: in.pages, format: pages } }\n");
        string text = File.ReadAllText(scenario);
        var (code, stdout, err) = Run("run", scenario, "--timeline", scenario);
        Assert.That(code, Is.EqualTo(2), err);
        Assert.That(err, Does.Contain("scenario file"));
        (code, stdout, err) = Run("run", scenario, "--timeline", trace);
        Assert.That(code, Is.EqualTo(2), err);
        Assert.That(stdout, Is.Empty);
        Assert.That(err, Does.Contain("input trace"));
        Assert.That(File.ReadAllText(scenario), Is.EqualTo(text));
    }

    [Test]
    public void TwoOutputsOnOneFileAreRefused()
    {
        using var dir = new TempDir();
        string input = PagesTrace(dir);
        string same = dir.File("out.png");
        var (code, _, err) = Run("run", "--trace", input, "--trace-format", "pages", "--timeline", same, "--plot", same);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--plot").And.Contain("--timeline").And.Contain("same file"));
        Assert.That(File.Exists(same), Is.False);
    }

    [TestCase("--csv")]
    [TestCase("--plot")]
    public void SweepOutputOntoATraceIsRefusedBeforeTheSweep(string option)
    {
        using var dir = new TempDir();
        string a = PagesTrace(dir, "a.pages");
        string b = PagesTrace(dir, "b.png");
        byte[] before = File.ReadAllBytes(b);
        var (code, stdout, err) = Run("sweep", a, b, "--frames", "4,8", "--policies", "lru", option, b);
        Assert.That(code, Is.EqualTo(2), err);
        Assert.That(stdout, Is.Empty);
        Assert.That(err, Does.Contain(option).And.Contain(b));
        Assert.That(File.ReadAllBytes(b), Is.EqualTo(before));
    }

    [Test]
    public void SweepWritesItsCsvAtomicallyAndThroughASymlink()
    {
        Assume.That(!OperatingSystem.IsWindows());
        using var dir = new TempDir();
        string a = PagesTrace(dir, "a.pages");
        File.WriteAllText(dir.File("real.csv"), "old");
        File.CreateSymbolicLink(dir.File("link.csv"), "real.csv");
        var (code, _, err) = Run("sweep", a, "--frames", "4,8", "--policies", "lru", "--csv", dir.File("link.csv"));
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(new FileInfo(dir.File("link.csv")).LinkTarget, Is.EqualTo("real.csv"));
        Assert.That(File.ReadAllText(dir.File("real.csv")), Does.StartWith("trace,policy,frames"));
        Assert.That(dir.Names(), Is.EqualTo(new[] { "a.pages", "link.csv", "real.csv" }));
    }

    [Test]
    public void OutputThatIsADirectoryIsRefusedBeforeWork()
    {
        using var dir = new TempDir();
        var (code, stdout, err) = Run("gen", Workload, "--out", dir.Path);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(err, Does.Contain("directory"));
    }
}
