namespace EcsMem.Cli;

/// <summary>
/// One way of running a simulation under <c>ecsmem run</c> (ideal policy study, Cachegrind-compatible
/// cache run, the full machine). Each mode is one file plus one line in <see cref="Commands.RunCommand.Modes"/>.
/// </summary>
public interface IRunMode
{
    /// <summary>The flag that selects this mode (e.g. <c>--ideal</c>), or null for the default mode.</summary>
    string? SelectorFlag { get; }

    /// <summary>Options taking a value that this mode understands.</summary>
    IReadOnlyCollection<string> ValueOptions { get; }

    /// <summary>Switches (no value) that this mode understands, besides its selector flag.</summary>
    IReadOnlyCollection<string> FlagOptions { get; }

    /// <summary>Usage lines for <c>ecsmem run --help</c>.</summary>
    string Usage { get; }

    int Run(CommandLine cl, TextWriter stdout, TextWriter stderr);
}
