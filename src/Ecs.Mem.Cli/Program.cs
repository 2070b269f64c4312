using System.Globalization;
using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Cli;

/// <summary>Entry point of the <c>ecsmem</c> tool: dispatches to one command, maps bad input to exit code 2.</summary>
public static class Program
{
    /// <summary>Exit code for bad input (unknown option, malformed trace line, impossible value).</summary>
    public const int ExitBadInput = 2;

    /// <summary>The registered commands, in the order <c>--help</c> lists them.</summary>
    public static readonly IReadOnlyList<ICommand> Commands =
    [
        new Commands.RunCommand(),
        new Commands.GenCommand(),
        new Commands.ConvertCommand(),
        new Commands.MapsCommand(),
        new Commands.SweepCommand(),
        new Commands.MergeCommand(),
        new Commands.ExplainCommand(),
    ];

    public static int Main(string[] args)
    {
        // First thing: a SIGINT or SIGTERM during start-up is then a stop request like any other.
        RunModes.InterruptSignal.Install();
        return Run(args, Console.Out, Console.Error);
    }

    /// <summary>Runs the tool in-process (used by the tests as well as by <see cref="Main"/>).</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (args.Count == 0 || args[0] is "--help" or "-h")
            {
                stdout.Write(HelpWriter.Top());
                return 0;
            }
            if (args[0] is "--version")
            {
                stdout.WriteLine($"ecsmem {Version}");
                return 0;
            }
            if (args[0].StartsWith("[suggest", StringComparison.Ordinal))
            {
                // Shell completion (HelpWriter.Completion's scripts call this): System.CommandLine's own directive.
                return CliParser.Parse(args).Invoke(new System.CommandLine.InvocationConfiguration { Output = stdout, Error = stderr });
            }
            if (args[0] is "help")
            {
                if (args.Count == 1)
                {
                    stdout.Write(HelpWriter.Top());
                    return 0;
                }
                stdout.Write(HelpWriter.For(Find(args[1]), args.Skip(2).ToArray()));
                return 0;
            }
            if (args[0] is "completion")
            {
                if (args.Count != 2)
                    throw new InputException("command line", 0, string.Join(' ', args), "usage: ecsmem completion bash|zsh");
                stdout.Write(HelpWriter.Completion(args[1]));
                return 0;
            }
            ICommand cmd = Find(args[0]);
            var rest = args.Skip(1).ToArray();
            if (rest.Any(a => a is "--help" or "-h"))
            {
                stdout.Write(HelpWriter.For(cmd, rest));
                return 0;
            }
            CommandLine cl = CliParser.Read(cmd, args);
            return Execute(cmd, cl, stdout, stderr);
        }
        catch (InputException e)
        {
            stderr.WriteLine($"ecsmem: error: {e.Message}");
            return ExitBadInput;
        }
    }

    /// <summary>The command called <paramref name="name"/>; an unknown one is bad input, with the nearest name.</summary>
    private static ICommand Find(string name) =>
        Commands.FirstOrDefault(c => c.Name == name)
        ?? throw new InputException("command line", 0, name, "unknown command (see 'ecsmem --help')" +
            (CliParser.Suggest(name, Commands.Select(c => c.Name).Append("help").Append("completion")) is { } near ? $"; did you mean '{near}'?" : ""));

    /// <summary>
    /// Runs <paramref name="cmd"/> with the common options applied: <c>-o FILE</c> (stdout captured, written atomically
    /// when the command returns), <c>-q</c> (stderr keeps only the "ecsmem: ..." error and warning lines), <c>-v</c>
    /// (version, commit, options and elapsed time on stderr).
    /// </summary>
    private static int Execute(ICommand cmd, CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        bool quiet = cl.Has("--quiet"), verbose = cl.Has("--verbose");
        if (quiet && verbose)
            throw new InputException("command line", 0, "-q -v", "give -q (quiet) or -v (verbose), not both");
        // sweep and merge spell -o themselves (a PREFIX); gen and convert name their output file with it.
        bool ownOutput = cmd.Options.Any(o => o.Spellings.Contains("-o"));
        string? output = ownOutput ? null : cl.Get("--output");
        if (output is not null)
            OutputPaths.Check([("--output", output)], cl.Positionals.Select(p => ("input", p)));
        TextWriter err = quiet ? new QuietWriter(stderr) : stderr;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (verbose)
        {
            err.WriteLine($"ecsmem: verbose: ecsmem {BuildInfo.Version} (commit {BuildInfo.Commit}), command {cmd.Name}");
            foreach (var (name, value) in cl.Given)
                err.WriteLine(value is null ? $"ecsmem: verbose:   {name}" : $"ecsmem: verbose:   {name} {value}");
            foreach (string p in cl.Positionals)
                err.WriteLine($"ecsmem: verbose:   argument {p}");
        }
        var captured = output is null ? null : new StringWriter { NewLine = "\n" };
        int code = cmd.Execute(cl, captured ?? stdout, err);
        if (captured is not null)
            EcsMem.Systems.Reporting.ReportOutputFile.WriteText(output!, captured.ToString());
        if (verbose)
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ecsmem: verbose: exit {code} after {clock.Elapsed.TotalSeconds:F3} s"));
        err.Flush();
        return code;
    }

    /// <summary>The version (without the commit): what parts of a sharded sweep must agree on.</summary>
    public static string Version => BuildInfo.Version;
}
