using System.CommandLine;
using System.CommandLine.Parsing;
using EcsMem.Diagnostics;

namespace EcsMem.Cli;

/// <summary>
/// The command line on System.CommandLine: one <see cref="System.CommandLine.Command"/> per <see cref="ICommand"/>,
/// its options built from the command's <see cref="OptionSpec"/> lines (for <c>run</c>: the union of its modes'
/// options; the mode then checks that only its own were given). Parse errors are turned into the project's
/// one-line form (<see cref="InputException"/>, exit 2) with a "did you mean" when a known spelling is close,
/// instead of System.CommandLine's multi-line output. Help is <see cref="HelpWriter"/>'s; completion is the
/// library's <c>[suggest]</c> directive over this tree.
/// </summary>
public static class CliParser
{
    /// <summary>Options every command has (unless it declares a spelling itself, as sweep's <c>-o PREFIX</c>).</summary>
    public static readonly IReadOnlyList<OptionSpec> CommonOptions =
    [
        OptionSpec.Value("--output", "FILE", "write what would go to stdout to FILE instead (atomically: complete or not at all)", "-o"),
        OptionSpec.Flag("--quiet", "print only errors and warnings on stderr (no progress, timing or notes)", "-q"),
        OptionSpec.Flag("--verbose", "also print the version, commit, effective options and elapsed time on stderr", "-v"),
        OptionSpec.Flag("--help", "show this help", "-h"),
    ];

    /// <summary>The whole tree, for completion (<c>[suggest]</c>) and for parsing.</summary>
    public static RootCommand Root { get; } = BuildRoot();

    private static readonly ParserConfiguration Config = new()
    {
        // '@file' must stay a file name (traces may be called anything): no response files.
        ResponseFileTokenReplacer = null,
        EnablePosixBundling = true,
    };

    /// <summary>The options a command accepts: its own, then the common ones it does not spell itself.</summary>
    public static IReadOnlyList<OptionSpec> OptionsOf(ICommand command)
    {
        IEnumerable<OptionSpec> own = command is Commands.RunCommand
            ? Commands.RunCommand.Modes.SelectMany(m => m.Options.Concat(m.SelectorFlag is { } f ? [OptionSpec.Flag(f, m.Summary)] : []))
            : command.Options;
        var list = new List<OptionSpec>();
        var spelled = new HashSet<string>(StringComparer.Ordinal);
        foreach (OptionSpec o in own.Concat(CommonOptions))
        {
            if (o.Spellings.Any(spelled.Contains))
                continue; // declared already (a mode's --trace is also another mode's; sweep's -o is its own)
            list.Add(o);
            foreach (string s in o.Spellings) spelled.Add(s);
        }
        return list;
    }

    private static RootCommand BuildRoot()
    {
        var root = new RootCommand("ecsmem - a Linux memory-management simulator built on an entity-component-system engine");
        root.Options.Clear(); // the library's help and version options: ecsmem prints its own (HelpWriter)
        foreach (ICommand c in Program.Commands)
        {
            var cmd = new Command(c.Name, c.Summary);
            foreach (OptionSpec o in OptionsOf(c))
                cmd.Options.Add(Build(o));
            if (c.Arguments is { } a)
                cmd.Arguments.Add(a.Max == 1 // one value converts to string, not string[]
                    ? new Argument<string>(a.Name) { Arity = ArgumentArity.ZeroOrOne, Description = a.Description }
                    : new Argument<string[]>(a.Name) { Arity = new ArgumentArity(0, Math.Min(a.Max, ArgumentArity.ZeroOrMore.MaximumNumberOfValues)), Description = a.Description });
            root.Subcommands.Add(cmd);
        }
        var help = new Command("help", "show the help of a command (ecsmem help run, ecsmem help run --ideal)");
        help.Arguments.Add(new Argument<string[]>("COMMAND") { Arity = new ArgumentArity(0, 2) });
        help.Arguments[0].CompletionSources.Add(Program.Commands.Select(c => c.Name).ToArray());
        root.Subcommands.Add(help);
        var completion = new Command("completion", "print a shell completion script (bash or zsh)");
        completion.Arguments.Add(new Argument<string>("SHELL") { Arity = ArgumentArity.ZeroOrOne });
        completion.Arguments[0].CompletionSources.Add("bash", "zsh");
        root.Subcommands.Add(completion);
        return root;
    }

    private static Option Build(OptionSpec spec)
    {
        string[] aliases = [.. spec.Aliases];
        if (spec.IsFlag)
            return new Option<bool>(spec.Name, aliases) { Description = spec.Description, Arity = ArgumentArity.Zero };
        if (spec.Repeatable)
        {
            var many = new Option<string[]>(spec.Name, aliases) { Description = spec.Description, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false, HelpName = spec.ValueName };
            many.CompletionSources.Add([.. spec.Completions]);
            return many;
        }
        var one = new Option<string>(spec.Name, aliases) { Description = spec.Description, Arity = ArgumentArity.ExactlyOne, HelpName = spec.ValueName };
        if (spec.Completions.Count > 0)
            one.CompletionSources.Add([.. spec.Completions]);
        return one;
    }

    /// <summary>Parses the whole command line (command name first).</summary>
    public static ParseResult Parse(IReadOnlyList<string> args) => Root.Parse(args, Config);

    /// <summary>Parses the words after <paramref name="command"/> and returns them as a <see cref="CommandLine"/> (bad input: InputException).</summary>
    public static CommandLine ParseFor(string command, IReadOnlyList<string> args) =>
        Read(Program.Commands.First(x => x.Name == command), [command, .. args]);

    /// <summary>The whole command line (<paramref name="args"/>[0] is the command's name) as a <see cref="CommandLine"/>.</summary>
    public static CommandLine Read(ICommand command, IReadOnlyList<string> args)
    {
        // System.CommandLine reads "--json=yes" as "--json yes" (a switch, then an argument): a switch takes no value.
        var switches = OptionsOf(command).Where(o => o.IsFlag).SelectMany(o => o.Spellings).ToHashSet(StringComparer.Ordinal);
        foreach (string a in args.Skip(1).TakeWhile(a => a != "--"))
        {
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && switches.Contains(a[..eq]))
                throw new InputException("command line", 0, a, $"option {a[..eq]} takes no value");
        }
        return ToCommandLine(command, Parse(args));
    }

    /// <summary>
    /// The parse as a <see cref="CommandLine"/>, or the first problem as one <see cref="InputException"/> line:
    /// unknown option (with the closest spelling), missing value, option given twice, extra argument.
    /// </summary>
    public static CommandLine ToCommandLine(ICommand command, ParseResult parse)
    {
        string name = command.Name;
        IReadOnlyList<OptionSpec> options = OptionsOf(command);
        InputException Unknown(string token)
        {
            string flag = token.Split('=', 2)[0];
            string hint = Suggest(flag, options.SelectMany(o => o.Spellings)) is { } near ? $"; did you mean {near}?" : "";
            return new InputException("command line", 0, token, $"unknown option for '{name}' (see 'ecsmem {name} --help'){hint}");
        }
        // A misspelt option is not an error to System.CommandLine when a positional slot is free (it becomes the
        // argument): any word that looks like an option and no option took as its value is unknown.
        var values = new HashSet<Token>(parse.CommandResult.Children.OfType<OptionResult>().SelectMany(r => r.Tokens));
        foreach (Token t in parse.Tokens)
        {
            if (t.Type == TokenType.DoubleDash)
                break;
            if (t.Type == TokenType.Argument && !values.Contains(t) && LooksLikeOption(t.Value))
                throw Unknown(t.Value);
        }
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            if (LooksLikeOption(token))
                throw Unknown(token);
            throw new InputException("command line", 0, token, $"unexpected argument for '{name}'");
        }

        foreach (ParseError e in parse.Errors)
        {
            if (e.SymbolResult is OptionResult { IdentifierToken: { } id } r)
            {
                string shown = ((Option)r.Option).Name;
                if (r.Tokens.Count == 0)
                    throw new InputException("command line", 0, shown, $"option {shown} needs a value");
                if (r.Tokens.Count > 1 && r.Option.Arity.MaximumNumberOfValues == 1)
                    throw new InputException("command line", 0, shown, $"option {shown} given twice");
                throw new InputException("command line", 0, id.Value, OneLine(e.Message));
            }
            throw new InputException("command line", 0, name, OneLine(e.Message));
        }
        var positionals = new List<string>();
        if (parse.CommandResult.Children.OfType<ArgumentResult>().FirstOrDefault() is { } args)
            positionals.AddRange(args.Tokens.Select(t => t.Value));
        var cl = new CommandLine(name, positionals);
        foreach (OptionResult r in parse.CommandResult.Children.OfType<OptionResult>())
        {
            if (r.Implicit)
                continue;
            string key = ((Option)r.Option).Name;
            OptionSpec spec = options.First(o => o.Name == key);
            if (spec.IsFlag)
                cl.SetFlag(key);
            else
                cl.SetValues(key, r.Tokens.Select(t => t.Value).ToList());
        }
        return cl;
    }

    /// <summary>--word, or -letter (a lone '-' is stdin, -5 a number).</summary>
    private static bool LooksLikeOption(string token) =>
        (token.StartsWith("--", StringComparison.Ordinal) && token.Length > 2) || (token.Length > 1 && token[0] == '-' && char.IsAsciiLetter(token[1]));

    private static string OneLine(string message) => message.Replace("\r", " ").Replace("\n", " ").Trim();

    /// <summary>
    /// The known spelling nearest to <paramref name="typed"/> by edit distance (Damerau–Levenshtein, optimal
    /// string alignment), if it is within a third of the word's length (at least 1, at most 3 edits).
    /// </summary>
    public static string? Suggest(string typed, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        if (typed.TrimStart('-').Length < 3)
            return null; // -x: too short to guess from
        int limit = Math.Clamp(typed.TrimStart('-').Length / 3, 1, 3);
        foreach (string k in known.Distinct(StringComparer.Ordinal))
        {
            int d = Distance(typed, k);
            if (d < bestDistance || (d == bestDistance && string.CompareOrdinal(k, best) < 0))
            {
                bestDistance = d;
                best = k;
            }
        }
        return bestDistance <= limit ? best : null;
    }

    /// <summary>Edit distance with adjacent transpositions (optimal string alignment).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                int v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    v = Math.Min(v, d[i - 2, j - 2] + 1);
                d[i, j] = v;
            }
        }
        return d[a.Length, b.Length];
    }
}
