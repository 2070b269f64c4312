using EcsMem.Diagnostics;

namespace EcsMem.Cli.Commands;

/// <summary><c>ecsmem run</c>: runs a simulation in the mode its selector flag picks.</summary>
public sealed class RunCommand : ICommand
{
    /// <summary>The run modes; the one whose selector flag is present runs, else the default (null flag) one.</summary>
    public static readonly IReadOnlyList<IRunMode> Modes =
    [
        new RunModes.IdealRunMode(),
        new RunModes.CachegrindRunMode(),
        new RunModes.MachineRunMode(),
    ];

    public string Name => "run";
    public string Summary => "run a simulation (see 'ecsmem run --help' for its modes)";

    public string Usage =>
        "Usage: ecsmem run [mode] [options]\n\n" + string.Join("\n", Modes.Select(m => m.Usage)) + "\n";

    public int Execute(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        IRunMode? mode = Modes.FirstOrDefault(m => m.SelectorFlag is { } f && args.Contains(f))
                         ?? Modes.FirstOrDefault(m => m.SelectorFlag is null);
        if (mode is null)
            throw new InputException("command line", 0, string.Join(' ', args),
                "choose a run mode: " + string.Join(", ", Modes.Select(m => m.SelectorFlag)));
        var flags = mode.FlagOptions.ToList();
        if (mode.SelectorFlag is { } sel) flags.Add(sel);
        var cl = CommandLine.Parse(Name, args, mode.ValueOptions, flags, maxPositionals: 1);
        return mode.Run(cl, stdout, stderr);
    }
}
