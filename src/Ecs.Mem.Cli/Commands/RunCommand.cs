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

    public string Usage => HelpWriter.For(this, []);

    /// <summary>The modes' options are parsed together (<see cref="CliParser.OptionsOf"/>); each mode then keeps to its own.</summary>
    public IReadOnlyList<OptionSpec> Options => [];

    public ArgumentSpec? Arguments { get; } = new("SCENARIO|TRACE", "a scenario file (default mode) or a trace (--ideal)", 1);

    public IReadOnlyList<Example> Examples => [];

    /// <summary>The mode whose selector flag is among <paramref name="words"/> (the first listed), else the default.</summary>
    public static IRunMode ModeOf(IEnumerable<string> words)
    {
        var given = words.ToHashSet(StringComparer.Ordinal);
        return Modes.FirstOrDefault(m => m.SelectorFlag is { } f && given.Contains(f)) ?? Modes.First(m => m.SelectorFlag is null);
    }

    public int Execute(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        IRunMode mode = ModeOf(cl.Given.Select(g => g.Name));
        // An option of another mode (or a second selector) is as unknown to this mode as a typo.
        var own = mode.Options.Select(o => o.Name).Concat(CliParser.CommonOptions.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        if (mode.SelectorFlag is { } sel) own.Add(sel);
        foreach (var (name, _) in cl.Given)
        {
            if (!own.Contains(name))
            {
                string which = mode.SelectorFlag is { } s ? $"run {s}" : "run";
                IRunMode? owner = Modes.FirstOrDefault(m => m.SelectorFlag == name || m.Options.Any(o => o.Name == name));
                string hint = owner is null ? "" : owner.SelectorFlag is { } os ? $"; it is an option of 'run {os}'" : "; it is an option of the default mode";
                throw new InputException("command line", 0, name, $"unknown option for '{which}' (see 'ecsmem {which} --help'){hint}");
            }
        }
        return mode.Run(cl, stdout, stderr);
    }
}
