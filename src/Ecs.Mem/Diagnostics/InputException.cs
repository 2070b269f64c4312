namespace EcsMem.Diagnostics;

/// <summary>
/// Bad user input: a malformed trace line, an unknown option, an impossible configuration value.
/// The CLI turns it into one line on stderr and exit code 2, never a stack trace.
/// </summary>
public sealed class InputException : Exception
{
    public InputException(string source, long line, string value, string problem)
        : base(Format(source, line, value, problem))
    {
        Origin = source;
        Line = line;
        Value = value;
        Problem = problem;
    }

    /// <summary>File path, option name or other origin of the bad input.</summary>
    public string Origin { get; }

    /// <summary>1-based line (or record) number, or 0 when the input has no lines (an option).</summary>
    public long Line { get; }

    /// <summary>The offending text, as found.</summary>
    public string Value { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }

    private static string Format(string source, long line, string value, string problem)
    {
        string shown = value.Length > 80 ? value[..77] + "..." : value;
        string where = line > 0 ? $"{source}:{line}" : source;
        return $"{where}: {problem} (got '{shown}')";
    }
}
