namespace EcsMem.Cli;

/// <summary>
/// One way of running a simulation under <c>ecsmem run</c> (ideal policy study, Cachegrind-compatible
/// cache run, the full machine). Each mode is one file plus one line in <see cref="Commands.RunCommand.Modes"/>;
/// each of its options one <see cref="OptionSpec"/> line in <see cref="Options"/>.
/// </summary>
public interface IRunMode
{
    /// <summary>The flag that selects this mode (e.g. <c>--ideal</c>), or null for the default mode.</summary>
    string? SelectorFlag { get; }

    /// <summary>One line for the list of modes in <c>ecsmem run --help</c>.</summary>
    string Summary { get; }

    /// <summary>The options this mode understands (besides its selector flag and the common ones).</summary>
    IReadOnlyList<OptionSpec> Options { get; }

    /// <summary>Usage lines and description for <c>ecsmem run [SELECTOR] --help</c>.</summary>
    string Usage { get; }

    /// <summary>Examples shown in the mode's help.</summary>
    IReadOnlyList<Example> Examples { get; }

    int Run(CommandLine cl, TextWriter stdout, TextWriter stderr);
}
