namespace EcsMem.Cli;

/// <summary>
/// One option of a command or run mode, declared in one line: its name (the key <see cref="CommandLine.Get"/>
/// uses), the value it takes (null for a switch), the help text and any other spellings. The parser
/// (<see cref="CliParser"/>), the help (<see cref="HelpWriter"/>) and shell completion are all built from these.
/// </summary>
public sealed record OptionSpec(string Name, string? ValueName, string Description)
{
    /// <summary>Other spellings (e.g. <c>-o</c> for <c>--output</c>); the value is read under <see cref="Name"/>.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>A value option that may be given more than once (read with <see cref="CommandLine.GetAll"/>).</summary>
    public bool Repeatable { get; init; }

    /// <summary>Values offered by shell completion (e.g. policy names); empty: none.</summary>
    public IReadOnlyList<string> Completions { get; init; } = [];

    public bool IsFlag => ValueName is null;

    /// <summary>A switch: <c>--json</c>.</summary>
    public static OptionSpec Flag(string name, string description, params string[] aliases) =>
        new(name, null, description) { Aliases = aliases };

    /// <summary>An option taking one value: <c>--frames N</c>.</summary>
    public static OptionSpec Value(string name, string valueName, string description, params string[] aliases) =>
        new(name, valueName, description) { Aliases = aliases };

    /// <summary>Every spelling, the name first.</summary>
    public IEnumerable<string> Spellings => Aliases.Prepend(Name);
}

/// <summary>The positional arguments of a command: their name in the usage line, help text and how many at most.</summary>
public sealed record ArgumentSpec(string Name, string Description, int Max);

/// <summary>One example in a command's help: the command line and what it does.</summary>
public sealed record Example(string CommandLine, string What);
