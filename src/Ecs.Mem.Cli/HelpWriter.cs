using System.Text;

namespace EcsMem.Cli;

/// <summary>
/// The help texts: <c>ecsmem --help</c>, <c>ecsmem CMD --help</c> = <c>ecsmem help CMD</c>, and for run's modes
/// <c>ecsmem run --ideal --help</c> = <c>ecsmem help run --ideal</c>. Each is the command's usage text, then its
/// options from their <see cref="OptionSpec"/> lines, the common options, examples and the exit codes.
/// </summary>
public static class HelpWriter
{
    /// <summary>The exit codes, the one list the help and docs/cli.md give.</summary>
    public const string ExitCodes =
        "Exit codes:\n" +
        "  0    success\n" +
        "  2    bad input: unknown option or command, malformed value, file or trace line (one line on stderr, no half-written file)\n" +
        "  3    invariant violation found by --check (a simulator bug, not bad input)\n" +
        "  130  interrupted by SIGINT (Ctrl-C): the partial result is printed, marked partial\n" +
        "  143  interrupted by SIGTERM: as for SIGINT\n";

    private const int Width = 100;
    private const int Column = 28;

    public static string Top()
    {
        var sb = new StringBuilder();
        sb.AppendLine("ecsmem - a Linux memory-management simulator built on an entity-component-system engine");
        sb.AppendLine();
        sb.AppendLine("Usage: ecsmem <command> [options]    ecsmem <command> --help    ecsmem --version");
        sb.AppendLine();
        sb.AppendLine("Commands:");
        foreach (ICommand c in Program.Commands)
            sb.AppendLine($"  {c.Name,-10} {c.Summary}");
        sb.AppendLine($"  {"help",-10} show the help of a command: ecsmem help run, ecsmem help run --ideal");
        sb.AppendLine($"  {"completion",-10} print a shell completion script: source <(ecsmem completion bash)   (or zsh)");
        sb.AppendLine();
        sb.AppendLine("Every command takes -o/--output FILE, -q/--quiet, -v/--verbose and -h/--help.");
        sb.AppendLine("Sizes take K, M, G suffixes (binary); a frame count given as a size (--frames 16M) is that many bytes of pages.");
        sb.AppendLine();
        sb.Append(ExitCodes);
        return sb.ToString();
    }

    /// <summary>Help of one command (for <c>run</c>: of the mode whose selector is in <paramref name="words"/>).</summary>
    public static string For(ICommand command, IReadOnlyList<string> words)
    {
        if (command is Commands.RunCommand)
            return ForRun(words);
        var sb = new StringBuilder(command.Usage.TrimEnd('\n')).Append("\n\n");
        if (command.Arguments is { } a)
        {
            sb.Append("Arguments:\n");
            Row(sb, a.Name, a.Description);
            sb.Append('\n');
        }
        Options(sb, "Options:", command.Options);
        Tail(sb, command.Options, command.Examples);
        return sb.ToString();
    }

    private static string ForRun(IReadOnlyList<string> words)
    {
        IRunMode mode = Commands.RunCommand.ModeOf(words);
        var sb = new StringBuilder();
        sb.Append("Usage: ecsmem run [mode] [options]\n\nModes:\n");
        foreach (IRunMode m in Commands.RunCommand.Modes.OrderBy(m => m.SelectorFlag is not null))
            Row(sb, m.SelectorFlag ?? "(default)", m.Summary + (m.SelectorFlag is { } s ? $" (ecsmem run {s} --help)" : ""));
        sb.Append('\n');
        sb.Append(mode.Usage.TrimEnd('\n')).Append("\n\n");
        Options(sb, mode.SelectorFlag is { } sel ? $"Options of run {sel}:" : "Options:", mode.Options);
        Tail(sb, mode.Options, mode.Examples);
        return sb.ToString();
    }

    private static void Tail(StringBuilder sb, IReadOnlyList<OptionSpec> own, IReadOnlyList<Example> examples)
    {
        var spelled = own.SelectMany(o => o.Spellings).ToHashSet(StringComparer.Ordinal);
        Options(sb, "Common options:", CliParser.CommonOptions.Where(o => !o.Spellings.Any(spelled.Contains)).ToList());
        if (examples.Count > 0)
        {
            sb.Append("Examples:\n");
            foreach (Example e in examples)
                sb.Append("  ").Append(e.CommandLine).Append('\n').Append("      ").Append(e.What).Append('\n');
            sb.Append('\n');
        }
        sb.Append(ExitCodes);
    }

    private static void Options(StringBuilder sb, string title, IReadOnlyList<OptionSpec> options)
    {
        if (options.Count == 0)
            return;
        sb.Append(title).Append('\n');
        foreach (OptionSpec o in options)
        {
            // Short spellings first, as usual: "-o, --output FILE".
            string names = string.Join(", ", o.Spellings.OrderBy(s => s.StartsWith("--", StringComparison.Ordinal)));
            Row(sb, o.ValueName is null ? names : names + " " + o.ValueName, o.Description + (o.Repeatable ? " (repeatable)" : ""));
        }
        sb.Append('\n');
    }

    /// <summary>"  NAME   description" with the description wrapped at <see cref="Width"/> columns under <see cref="Column"/>.</summary>
    private static void Row(StringBuilder sb, string name, string description)
    {
        sb.Append("  ").Append(name);
        int col = 2 + name.Length;
        if (col + 2 > Column)
        {
            sb.Append('\n');
            col = 0;
        }
        sb.Append(' ', Column - col);
        col = Column;
        foreach (string paragraph in description.Split('\n'))
        {
            if (col == 0)
            {
                sb.Append(' ', Column);
                col = Column;
            }
            bool first = true;
            foreach (string word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!first && col + 1 + word.Length > Width)
                {
                    sb.Append('\n').Append(' ', Column);
                    col = Column;
                    first = true;
                }
                if (!first)
                {
                    sb.Append(' ');
                    col++;
                }
                sb.Append(word);
                col += word.Length;
                first = false;
            }
            sb.Append('\n');
            col = 0;
        }
    }

    /// <summary>The completion script for <paramref name="shell"/> (bash or zsh): it asks ecsmem's <c>[suggest]</c> directive.</summary>
    public static string Completion(string shell) => shell switch
    {
        "bash" =>
            "# ecsmem completion for bash: source <(ecsmem completion bash)\n" +
            "_ecsmem_complete() {\n" +
            "    local line=\"${COMP_LINE:0:COMP_POINT}\"\n" +
            "    line=\"${line#\"${COMP_WORDS[0]}\"}\"\n" +
            "    line=\"${line# }\"\n" +
            "    local IFS=$'\\n'\n" +
            "    COMPREPLY=( $(compgen -W \"$(\"${COMP_WORDS[0]}\" \"[suggest:${#line}]\" \"$line\" 2>/dev/null)\" -- \"${COMP_WORDS[COMP_CWORD]}\") )\n" +
            "}\n" +
            "complete -o default -F _ecsmem_complete ecsmem\n",
        "zsh" =>
            "#compdef ecsmem\n" +
            "# ecsmem completion for zsh: source <(ecsmem completion zsh)\n" +
            "_ecsmem() {\n" +
            "    local line=\"${BUFFER[1,CURSOR]}\"\n" +
            "    line=\"${line#${words[1]}}\"\n" +
            "    line=\"${line# }\"\n" +
            "    local -a items\n" +
            "    items=(${(f)\"$(${words[1]} \"[suggest:${#line}]\" \"$line\" 2>/dev/null)\"})\n" +
            "    compadd -a items\n" +
            "}\n" +
            "compdef _ecsmem ecsmem\n",
        _ => throw new Diagnostics.InputException("command line", 0, shell, "completion: the shells are bash and zsh"),
    };
}
