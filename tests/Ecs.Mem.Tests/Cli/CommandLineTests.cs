using System.Diagnostics;
using System.Text.RegularExpressions;
using EcsMem.Cli;
using EcsMem.Diagnostics;
using EcsMem.Tests.Report;

namespace EcsMem.Tests.Cli;

/// <summary>
/// The System.CommandLine front end (docs/cli.md): help for every command and run mode, "did you mean", shell
/// completion, the common options, sizes for frame counts, the old spellings, and bad input as one line, exit 2.
/// </summary>
public class CommandLineTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => ReportTestFiles.Run(args);

    private static void OneLineError((int Code, string Out, string Err) r, string expected)
    {
        Assert.That(r.Code, Is.EqualTo(2), r.Err);
        Assert.That(r.Out, Is.Empty);
        Assert.That(r.Err, Is.EqualTo(expected + "\n"));
    }

    [Test]
    public void EveryCommandHasHelpWithItsOptionsExamplesAndExitCodes()
    {
        foreach (ICommand c in Program.Commands)
        {
            var (code, help, err) = Run(c.Name, "--help");
            Assert.That(code, Is.EqualTo(0), err);
            Assert.That(Run(c.Name, "-h").Out, Is.EqualTo(help), c.Name);
            Assert.That(Run("help", c.Name).Out, Is.EqualTo(help), c.Name);
            Assert.That(help, Does.StartWith("Usage: ecsmem " + c.Name));
            Assert.That(help, Does.Contain("\nExamples:\n  ecsmem " + c.Name).And.Contain("\nExit codes:\n  0    success\n"), c.Name);
            IEnumerable<OptionSpec> options = c is EcsMem.Cli.Commands.RunCommand ? EcsMem.Cli.Commands.RunCommand.ModeOf([]).Options : c.Options;
            foreach (OptionSpec o in options)
                Assert.That(help, Does.Match($@"\n  (-\w, )?{Regex.Escape(o.Name)}\b"), $"{c.Name} {o.Name}");
        }
    }

    [Test]
    public void EachRunModeHasItsOwnHelp()
    {
        foreach (string mode in new[] { "--ideal", "--cachegrind" })
        {
            var (code, help, _) = Run("run", mode, "--help");
            Assert.That(code, Is.EqualTo(0));
            Assert.That(Run("help", "run", mode).Out, Is.EqualTo(help));
            Assert.That(help, Does.Contain($"Options of run {mode}:").And.Contain($"Usage: ecsmem run {mode}"));
            Assert.That(help, Does.Not.Contain("--snapshot"), "the machine mode's options are not listed");
        }
        string ideal = Run("run", "--ideal", "--help").Out;
        Assert.That(ideal, Does.Contain("  --steps ").And.Contain("  --refs LIST "));
        Assert.That(Run("run", "--help").Out, Does.Contain("  --snapshot WHEN ").And.Not.Contain("--refs"));
        // Help comes first, whatever else is on the line.
        Assert.That(Run("run", "--ideal", "--frames", "x", "--help").Out, Is.EqualTo(ideal));
    }

    [Test]
    public void TyposGetTheNearestSpelling()
    {
        OneLineError(Run("run", "--polcy", "lru"), "ecsmem: error: command line: unknown option for 'run' (see 'ecsmem run --help'); did you mean --policy? (got '--polcy')");
        OneLineError(Run("swep", "a"), "ecsmem: error: command line: unknown command (see 'ecsmem --help'); did you mean 'sweep'? (got 'swep')");
        OneLineError(Run("run", "--ideal", "--frmaes", "3"), "ecsmem: error: command line: unknown option for 'run' (see 'ecsmem run --help'); did you mean --frames? (got '--frmaes')");
        OneLineError(Run("sweep", "t", "--frames", "1", "--polices=lru"), "ecsmem: error: command line: unknown option for 'sweep' (see 'ecsmem sweep --help'); did you mean --policies? (got '--polices=lru')");
        // Nothing near: no guess.
        OneLineError(Run("run", "--frobnicate"), "ecsmem: error: command line: unknown option for 'run' (see 'ecsmem run --help') (got '--frobnicate')");
        OneLineError(Run("run", "-x"), "ecsmem: error: command line: unknown option for 'run' (see 'ecsmem run --help') (got '-x')");
        Assert.That(CliParser.Distance("--polcy", "--policy"), Is.EqualTo(1));
        Assert.That(CliParser.Distance("--frmaes", "--frames"), Is.EqualTo(1), "a transposition is one edit");
        Assert.That(CliParser.Distance("kitten", "sitting"), Is.EqualTo(3));
    }

    [Test]
    public void ParseErrorsAreOneLineNamingTheOptionAndValue()
    {
        OneLineError(Run("run", "--trace"), "ecsmem: error: command line: option --trace needs a value (got '--trace')");
        OneLineError(Run("run", "--seed", "1", "--seed", "2"), "ecsmem: error: command line: option --seed given twice (got '--seed')");
        OneLineError(Run("run", "a.yaml", "b.yaml"), "ecsmem: error: command line: unexpected argument for 'run' (got 'b.yaml')");
        OneLineError(Run("run", "--json=yes"), "ecsmem: error: command line: option --json takes no value (got '--json=yes')");
        OneLineError(Run("run", "--ideal", "--mem", "64M"),
            "ecsmem: error: command line: unknown option for 'run --ideal' (see 'ecsmem run --ideal --help'); it is an option of the default mode (got '--mem')");
        OneLineError(Run("run", "--steps"),
            "ecsmem: error: command line: unknown option for 'run' (see 'ecsmem run --help'); it is an option of 'run --ideal' (got '--steps')");
        OneLineError(Run("run", "--ideal", "--refs", "1,2", "--frames", "3", "--policy", "lru", "-q", "-v"),
            "ecsmem: error: command line: give -q (quiet) or -v (verbose), not both (got '-q -v')");
        OneLineError(Run("completion", "fish"), "ecsmem: error: command line: completion: the shells are bash and zsh (got 'fish')");
    }

    [Test]
    public void FramesTakeSizesAsBytesOfFourKiBPages()
    {
        string[] ideal = ["run", "--ideal", "--refs", "1,2,3,4,1,2,5,1,2,3,4,5", "--policy", "fifo", "--frames"];
        string three = Run([.. ideal, "3"]).Out;
        Assert.That(three, Does.Contain("faults:          9\n"), "Belady: FIFO faults 9 times on 3 frames");
        Assert.That(Run([.. ideal, "12K"]).Out, Is.EqualTo(three), "12 KiB = 3 frames");
        Assert.That(Run([.. ideal, "12288B"]).Out, Is.EqualTo(three));
        Assert.That(Run([.. ideal, "16K"]).Out, Does.Contain("faults:          10\n"), "and 10 times on 4 (Belady's anomaly)");
        OneLineError(Run([.. ideal, "6K"]), "ecsmem: error: command line: option --frames: 6144 bytes is not a whole number of 4096-byte pages (got '6K')");

        using var f = new ReportTestFiles();
        string trace = f.Write("t.pages", string.Join("\n", Enumerable.Range(0, 400).Select(i => (i * 7 % 23).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "\n");
        var counts = Run("sweep", trace, "--frames", "4:12:4", "--policies", "lru,fifo", "-q");
        var sizes = Run("sweep", trace, "--frames", "16K:48K:16K", "--policies", "lru,fifo", "-q");
        Assert.That((sizes.Code, sizes.Out), Is.EqualTo((0, counts.Out)));
        Assert.That(counts.Out.Split('\n'), Has.Length.EqualTo(1 + 6 + 1));
    }

    [Test]
    public void OutputQuietAndVerbose()
    {
        using var f = new ReportTestFiles();
        string[] ideal = ["run", "--ideal", "--refs", "1,2,3,1,4", "--frames", "2", "--policy", "lru", "--json"];
        var plain = Run(ideal);
        string file = f.PathOf("r.json");
        var toFile = Run([.. ideal, "-o", file]);
        Assert.That((toFile.Code, toFile.Out), Is.EqualTo((0, "")));
        Assert.That(File.ReadAllText(file), Is.EqualTo(plain.Out));
        Assert.That(Run([.. ideal, "--output", f.PathOf("s.json")]).Code, Is.EqualTo(0));
        Assert.That(File.ReadAllText(f.PathOf("s.json")), Is.EqualTo(plain.Out));
        // Bad input writes nothing (not even an empty file).
        Assert.That(Run("run", "--ideal", "--refs", "1,x", "--frames", "2", "--policy", "lru", "-o", f.PathOf("bad.txt")).Code, Is.EqualTo(2));
        Assert.That(File.Exists(f.PathOf("bad.txt")), Is.False);

        string trace = f.Write("t.pages", "1\n2\n3\n1\n");
        var loud = Run("sweep", trace, "--frames", "2", "--policies", "lru");
        Assert.That(loud.Err, Does.StartWith("sweep: 1 results"));
        var quiet = Run("sweep", trace, "--frames", "2", "--policies", "lru", "-q");
        Assert.That((quiet.Code, quiet.Out, quiet.Err), Is.EqualTo((0, loud.Out, "")));
        // -q keeps errors.
        OneLineError(Run("sweep", f.PathOf("missing"), "--frames", "2", "-q"), $"ecsmem: error: command line: trace file not found (got '{f.PathOf("missing")}')");

        var verbose = Run([.. ideal, "-v"]);
        Assert.That(verbose.Out, Is.EqualTo(plain.Out));
        Assert.That(verbose.Err, Does.StartWith($"ecsmem: verbose: ecsmem {BuildInfo.Version} (commit {BuildInfo.Commit}), command run\n"));
        Assert.That(verbose.Err, Does.Contain("ecsmem: verbose:   --frames 2\n").And.Contain("ecsmem: verbose:   --ideal\n").And.Match("ecsmem: verbose: exit 0 after [0-9.]+ s\n$"));
    }

    [Test]
    public void OldSpellingsKeepWorking()
    {
        using var f = new ReportTestFiles();
        string[] gen = ["gen", "loop:count=300,pages=9"];
        foreach (string[] o in (string[][])[["--out", f.PathOf("a.bin")], ["-o", f.PathOf("b.bin")], ["--output", f.PathOf("c.bin")], [$"--out={f.PathOf("d.bin")}"]])
            Assert.That(Run([.. gen, .. o]).Code, Is.EqualTo(0), string.Join(' ', o));
        byte[] a = File.ReadAllBytes(f.PathOf("a.bin"));
        Assert.That(new[] { "b.bin", "c.bin", "d.bin" }.Select(n => File.ReadAllBytes(f.PathOf(n))), Is.All.EqualTo(a));

        Assert.That(Run("convert", f.PathOf("a.bin"), "--to", "lackey", "--out", f.PathOf("a.lackey")).Code, Is.EqualTo(0));
        Assert.That(Run("convert", f.PathOf("a.lackey"), "--trace-format", "lackey", "--format", "binary", "-o", f.PathOf("e.bin")).Code, Is.EqualTo(0));
        Assert.That(Run("convert", f.PathOf("a.lackey"), "--from", "lackey", "--to", "binary", "--out", f.PathOf("g.bin")).Code, Is.EqualTo(0));
        Assert.That(File.ReadAllBytes(f.PathOf("e.bin")), Is.EqualTo(File.ReadAllBytes(f.PathOf("g.bin"))));

        // Cachegrind's own option form, and repeated --snapshot.
        var cg = Run("run", "--cachegrind", "--trace", f.PathOf("a.lackey"), "--D1=4096,2,64", "--LL", "65536,4,64", "--json");
        Assert.That(cg.Code, Is.EqualTo(0), cg.Err);
        using (var doc = System.Text.Json.JsonDocument.Parse(cg.Out))
        {
            var caches = doc.RootElement.GetProperty("caches");
            Assert.That((caches.GetProperty("D1").GetProperty("size").GetInt32(), caches.GetProperty("D1").GetProperty("assoc").GetInt32(), caches.GetProperty("LL").GetProperty("size").GetInt32()),
                Is.EqualTo((4096, 2, 65536)));
        }
        var snaps = Run("run", "--trace", f.PathOf("a.bin"), "--snapshot", "100a", "--snapshot", "end", "--mem", "1M");
        Assert.That(snaps.Code, Is.EqualTo(0), snaps.Err);
        Assert.That(Regex.Matches(snaps.Out, "^== snapshot at (100a|end) ", RegexOptions.Multiline), Has.Count.EqualTo(2));
    }

    [Test]
    public void TheSuggestDirectiveCompletesCommandsOptionsAndValues()
    {
        string Suggest(string line) => Run($"[suggest:{line.Length}]", line).Out;
        Assert.That(Suggest("run --id").Split('\n'), Does.Contain("--ideal"));
        Assert.That(Suggest("sw").Split('\n'), Does.Contain("sweep"));
        Assert.That(Suggest("run --ideal --policy ").Split('\n'), Is.SupersetOf(new[] { "arc", "fifo", "lru", "opt" }));
        Assert.That(Suggest("explain 0x1000 --paging x86-64-").Split('\n'), Does.Contain("x86-64-la57"));
    }

    [Test]
    public void TheBashCompletionScriptCompletesThroughEcsmem()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/bin/bash"))
        {
            Assert.Ignore("no bash");
            return;
        }
        using var f = new ReportTestFiles();
        // An `ecsmem` on PATH that runs this build.
        string bin = Path.Combine(f.Dir, "bin");
        Directory.CreateDirectory(bin);
        string dll = typeof(Program).Assembly.Location;
        File.WriteAllText(Path.Combine(bin, "ecsmem"), $"#!/bin/sh\nexec dotnet '{dll}' \"$@\"\n");
        File.SetUnixFileMode(Path.Combine(bin, "ecsmem"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string script = f.Write("ecsmem.bash", Run("completion", "bash").Out);
        string probe = $$"""
            source '{{script}}'
            COMP_LINE='ecsmem run --cach'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(ecsmem run --cach); COMP_CWORD=2
            _ecsmem_complete; printf '%s\n' "${COMPREPLY[@]}"
            COMP_LINE='ecsmem swe'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(ecsmem swe); COMP_CWORD=1
            _ecsmem_complete; printf '%s\n' "${COMPREPLY[@]}"
            """;
        var psi = new ProcessStartInfo("/bin/bash", ["-c", probe]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.That(output, Is.EqualTo("--cachegrind\n--cachegrind-out-file\nsweep\n"), p.StandardError.ReadToEnd());
        Assert.That(Run("completion", "zsh").Out, Does.Contain("compdef _ecsmem ecsmem").And.Contain("[suggest:"));
    }

    [Test]
    public void TheExitCodesAreDocumentedOnceAndMatchTheCode()
    {
        Assert.That((Program.ExitBadInput, EcsMem.Cli.RunModes.MachineRunMode.ExitInvariantViolated, EcsMem.Cli.RunModes.InterruptSignal.ExitSigint),
            Is.EqualTo((2, 3, 130)));
        string doc = File.ReadAllText(Path.Combine(Scenarios.ScenarioTestFiles.RepoRoot(), "docs", "cli.md"));
        foreach (Match m in Regex.Matches(HelpWriter.ExitCodes, @"^  (\d+) +(.+)$", RegexOptions.Multiline))
            Assert.That(doc, Does.Contain($"| {m.Groups[1].Value} | {m.Groups[2].Value}"), m.Value);
        Assert.That(Run("--help").Out, Does.EndWith(HelpWriter.ExitCodes));
    }
}
