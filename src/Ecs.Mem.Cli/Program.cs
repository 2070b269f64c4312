using System.Reflection;
using EcsMem.Diagnostics;

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
            if (args.Count == 0 || args[0] is "--help" or "-h" or "help")
            {
                stdout.Write(HelpText());
                return 0;
            }
            if (args[0] is "--version")
            {
                stdout.WriteLine($"ecsmem {Version}");
                return 0;
            }
            ICommand? cmd = Commands.FirstOrDefault(c => c.Name == args[0]);
            if (cmd is null)
                throw new InputException("command line", 0, args[0], "unknown command (see 'ecsmem --help')");
            var rest = args.Skip(1).ToArray();
            if (rest.Length == 1 && rest[0] is "--help" or "-h")
            {
                stdout.Write(cmd.Usage);
                return 0;
            }
            return cmd.Execute(rest, stdout, stderr);
        }
        catch (InputException e)
        {
            stderr.WriteLine($"ecsmem: error: {e.Message}");
            return ExitBadInput;
        }
    }

    public static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private static string HelpText()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("ecsmem - a Linux memory-management simulator built on an entity-component-system engine");
        sb.AppendLine();
        sb.AppendLine("Usage: ecsmem <command> [options]    ecsmem <command> --help    ecsmem --version");
        sb.AppendLine();
        sb.AppendLine("Commands:");
        foreach (var c in Commands)
            sb.AppendLine($"  {c.Name,-10} {c.Summary}");
        if (Commands.Count == 0)
            sb.AppendLine("  (none yet)");
        return sb.ToString();
    }
}
