namespace EcsMem.Cli;

/// <summary>
/// One <c>ecsmem</c> sub-command. Adding a command is one class plus one line in <see cref="Program.Commands"/>;
/// adding an option is one <see cref="OptionSpec"/> line in <see cref="Options"/> (parser, help and completion
/// follow from it) and reading it with <see cref="CommandLine.Get"/> in <see cref="Execute"/>.
/// </summary>
public interface ICommand
{
    string Name { get; }

    /// <summary>One-line summary for <c>ecsmem --help</c>.</summary>
    string Summary { get; }

    /// <summary>The usage lines and description for <c>ecsmem NAME --help</c> (the options, examples and exit codes are added from the declarations).</summary>
    string Usage { get; }

    /// <summary>The options, one line each.</summary>
    IReadOnlyList<OptionSpec> Options { get; }

    /// <summary>The positional arguments, or null when it takes none.</summary>
    ArgumentSpec? Arguments { get; }

    /// <summary>Examples shown in the help.</summary>
    IReadOnlyList<Example> Examples { get; }

    /// <summary>Runs the command; returns the process exit code. Throws InputException for bad input.</summary>
    int Execute(CommandLine cl, TextWriter stdout, TextWriter stderr);
}
