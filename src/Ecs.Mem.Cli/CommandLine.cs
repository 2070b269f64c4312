using EcsMem.Diagnostics;

namespace EcsMem.Cli;

/// <summary>
/// The parsed arguments of one command: <c>--name value</c> options, <c>--flag</c> switches and
/// positional arguments. Every option must be declared by the command, so a typo is an error
/// that names the option instead of being silently ignored.
/// </summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _repeated = new(StringComparer.Ordinal);

    /// <summary>Value options that may be given more than once (read with <see cref="GetAll"/>).</summary>
    public static readonly IReadOnlySet<string> Repeatable = new HashSet<string>(StringComparer.Ordinal) { "--snapshot" };

    public string Command { get; }
    public IReadOnlyList<string> Positionals { get; }

    private CommandLine(string command, List<string> positionals)
    {
        Command = command;
        Positionals = positionals;
    }

    /// <summary>
    /// Parses <paramref name="args"/> against the declared options.
    /// <paramref name="valueOptions"/> take one value; <paramref name="flagOptions"/> take none.
    /// </summary>
    public static CommandLine Parse(string command, IReadOnlyList<string> args,
        IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flagOptions, int maxPositionals)
    {
        var positionals = new List<string>();
        var cl = new CommandLine(command, positionals);
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                string name = a;
                string? inline = null;
                int eq = a.IndexOf('=');
                if (eq > 0)
                {
                    name = a[..eq];
                    inline = a[(eq + 1)..];
                }
                if (valueOptions.Contains(name))
                {
                    string value = inline ?? (i + 1 < args.Count ? args[++i] : throw new InputException("command line", 0, name, $"option {name} needs a value"));
                    if (Repeatable.Contains(name))
                    {
                        if (!cl._repeated.TryGetValue(name, out var all))
                            cl._repeated[name] = all = [];
                        all.Add(value);
                        cl._values[name] = value;
                    }
                    else if (!cl._values.TryAdd(name, value))
                        throw new InputException("command line", 0, name, $"option {name} given twice");
                }
                else if (flagOptions.Contains(name) && inline is null)
                {
                    cl._flags.Add(name);
                }
                else
                {
                    throw new InputException("command line", 0, a, $"unknown option for '{command}' (see 'ecsmem {command} --help')");
                }
            }
            else
            {
                if (positionals.Count >= maxPositionals)
                    throw new InputException("command line", 0, a, $"unexpected argument for '{command}'");
                positionals.Add(a);
            }
        }
        return cl;
    }

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

    /// <summary>A size such as 4096, 64K, 32M or 2G (binary units).</summary>
    public long GetSize(string name, long fallback) =>
        Get(name) is { } s ? SizeParser.Parse(s, "command line", 0, name) : fallback;
}
