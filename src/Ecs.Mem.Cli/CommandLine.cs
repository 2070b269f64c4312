using EcsMem.Diagnostics;

namespace EcsMem.Cli;

/// <summary>
/// The parsed arguments of one command: <c>--name value</c> options, <c>--flag</c> switches and positional
/// arguments, keyed by each option's <see cref="OptionSpec.Name"/> whatever spelling was typed. Built by
/// <see cref="CliParser"/> (System.CommandLine) from the command's declared options, so a typo is an error that
/// names the option instead of being silently ignored.
/// </summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _repeated = new(StringComparer.Ordinal);

    /// <summary>The command's name as the messages show it (<c>run</c>, <c>sweep</c>).</summary>
    public string Command { get; }
    public IReadOnlyList<string> Positionals { get; }

    internal CommandLine(string command, IReadOnlyList<string> positionals)
    {
        Command = command;
        Positionals = positionals;
    }

    /// <summary>Parses <paramref name="args"/> (the words after the command's name) as <c>ecsmem COMMAND</c> would.</summary>
    public static CommandLine Parse(string command, IReadOnlyList<string> args) => CliParser.ParseFor(command, args);

    internal void SetFlag(string name) => _flags.Add(name);

    internal void SetValues(string name, IReadOnlyList<string> values)
    {
        _values[name] = values[^1];
        _repeated[name] = [.. values];
    }

    /// <summary>The options given, by name (the effective options the JSON outputs echo).</summary>
    public IEnumerable<(string Name, string? Value)> Given =>
        _flags.Select(f => (f, (string?)null)).Concat(_values.Select(kv => (kv.Key, (string?)kv.Value))).OrderBy(p => p.Item1, StringComparer.Ordinal);

    public bool Has(string flag) => _flags.Contains(flag) || _values.ContainsKey(flag);

    /// <summary>Every value of a repeatable option, in the order given (empty when absent).</summary>
    public IReadOnlyList<string> GetAll(string name) => _repeated.TryGetValue(name, out var all) ? all : [];

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public string Require(string name) =>
        Get(name) ?? throw new InputException("command line", 0, name, $"'{Command}' needs option {name} here");

    /// <summary>A non-negative integer option, with a clear error naming the option and value.</summary>
    public long GetInt64(string name, long fallback, long min = 0, long max = long.MaxValue)
    {
        string? s = Get(name);
        if (s is null) return fallback;
        if (!long.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long v) || v < min || v > max)
            throw new InputException("command line", 0, s, $"option {name} needs an integer from {min} to {max}");
        return v;
    }

    /// <summary>
    /// A count of frames: a plain integer is frames; a size with a unit (16M, 64K, 2G, 4096B) is bytes, turned into
    /// frames of <paramref name="pageSize"/> bytes (it must be a whole number of them).
    /// </summary>
    public static long Frames(string text, string option, long pageSize = 4096)
    {
        string t = text.Trim();
        if (long.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long frames))
            return frames;
        long bytes = SizeParser.Parse(t, "command line", 0, option);
        if (bytes % pageSize != 0)
            throw new InputException("command line", 0, text, $"option {option}: {bytes} bytes is not a whole number of {pageSize}-byte pages");
        return bytes / pageSize;
    }

    /// <summary>A size such as 4096, 64K, 32M or 2G (binary units).</summary>
    public long GetSize(string name, long fallback) =>
        Get(name) is { } s ? SizeParser.Parse(s, "command line", 0, name) : fallback;
}
