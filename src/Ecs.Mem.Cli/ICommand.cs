namespace EcsMem.Cli;

/// <summary>One <c>ecsmem</c> sub-command. Adding a command is one class plus one line in <see cref="Program.Commands"/>.</summary>
public interface ICommand
{
    string Name { get; }

    /// <summary>One-line summary for <c>ecsmem --help</c>.</summary>
    string Summary { get; }

    /// <summary>Full usage text for <c>ecsmem NAME --help</c>.</summary>
    string Usage { get; }

    /// <summary>Runs the command; returns the process exit code. Throws InputException for bad input.</summary>
    int Execute(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr);
}
