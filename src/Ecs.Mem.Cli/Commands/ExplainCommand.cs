using System.Globalization;
using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Systems.AddressSpace;

namespace EcsMem.Cli.Commands;

/// <summary>
/// <c>ecsmem explain ADDRESS [--paging MODE]</c>: the address split into page-table indices and page offset, drawn
/// as the lecture's bit-field figure, with what each index selects. With <c>--scenario F --at WHEN --pid P</c> it
/// also walks that process's real page tables at that moment (see <see cref="PageWalkExplainer"/>).
/// </summary>
public sealed class ExplainCommand : ICommand
{
    public string Name => "explain";
    public string Summary => "split an address into page-table indices; walk a process's page tables for it";

    public string Usage =>
        "Usage: ecsmem explain ADDRESS [--paging x86|x86-64|x86-64-la57]\n" +
        "       ecsmem explain ADDRESS --scenario FILE.yaml --at WHEN --pid PID [--paging MODE]\n\n" +
        "Splits ADDRESS (0x hex or decimal) into its page-table indices and page offset, named as Linux names the\n" +
        "levels (x86: PGD 10 + PTE 10 + offset 12; x86-64: PGD, PUD, PMD, PTE 9 bits each + 12; LA57 adds P4D),\n" +
        "drawn as a bit-field diagram, and says whether it is a canonical user address and what each index selects.\n" +
        "With --scenario it runs the scenario (as 'ecsmem run FILE' would) and walks a process's page tables: each\n" +
        "level's entry (raw value and decoded flags) and table frame, the VMA covering the address as a\n" +
        "/proc/PID/maps line, and what a read or a write fault there would do (the fault handler's rules).\n";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("--paging", "MODE", "x86 (2-level, 32-bit, 3G/1G split), x86-64 (4-level, the default) or x86-64-la57 (5-level); with --scenario it overrides the scenario's") with { Completions = ["x86", "x86-64", "x86-64-la57"] },
        OptionSpec.Value("--scenario", "FILE", "run this scenario and walk a process's page tables"),
        OptionSpec.Value("--at", "WHEN", "when to stop: N (simulated cycles), Na (N accesses by all processes) or end"),
        OptionSpec.Value("--pid", "PID", "the process whose page tables to walk"),
        OptionSpec.Flag("--json", "the split (and the walk's lines) as JSON (docs/schemas/explain.schema.json)"),
    ];

    public ArgumentSpec? Arguments { get; } = new("ADDRESS", "0x hex or decimal ('_' may group digits)", 1);

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem explain 0x7ffd1234abcd", "the four x86-64 indices and the offset of a stack address"),
        new("ecsmem explain 0x40d000 --scenario samples/scenarios/example.yaml --at end --pid 1", "walk pid 1's page tables for that address at the end of the run"),
    ];

    public int Execute(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        if (cl.Positionals.Count == 0)
            throw new InputException("command line", 0, "explain", "'explain' needs an ADDRESS (see 'ecsmem explain --help')");
        ulong va = ParseAddress(cl.Positionals[0]);
        string? pagingText = cl.Get("--paging");
        PagingMode? paging = pagingText is null ? null : ParsePaging(pagingText);

        string? scenarioPath = cl.Get("--scenario");
        if (scenarioPath is null)
        {
            foreach (string o in new[] { "--at", "--pid" })
            {
                if (cl.Get(o) is not null)
                    throw new InputException("command line", 0, o, $"{o} needs --scenario FILE");
            }
            AddressSplit split = Split(va, paging ?? PagingMode.X86_64, cl.Positionals[0]);
            stdout.Write(cl.Has("--json") ? Json(split, null, null, null, null) : split.Describe());
            return 0;
        }

        string at = cl.Require("--at");
        int pid = (int)cl.GetInt64("--pid", -1, min: 0, max: int.MaxValue);
        if (pid < 0)
            cl.Require("--pid");
        string walk = ScenarioWalk.Explain(scenarioPath, va, cl.Positionals[0], paging, at, pid);
        if (cl.Has("--json"))
        {
            PagingMode mode = paging ?? Scenarios.ScenarioParser.ParseFile(scenarioPath).Machine.Paging switch
            {
                Scenarios.PagingMode.X86 => PagingMode.X86_32,
                Scenarios.PagingMode.X86_64La57 => PagingMode.X86_64_5Level,
                _ => PagingMode.X86_64,
            };
            stdout.Write(Json(Split(va, mode, cl.Positionals[0]), scenarioPath, at, pid, walk.TrimEnd('\n').Split('\n')));
        }
        else
        {
            stdout.Write(walk);
        }
        return 0;
    }

    /// <summary>Version of the --json layout (docs/schemas/explain.schema.json).</summary>
    public const int JsonSchema = 1;

    private static string Json(AddressSplit s, string? scenario, string? at, int? pid, IReadOnlyList<string>? walk) =>
        CliJsonContext.Write(new ExplainJson(JsonSchema, EcsmemBuild.Current, "0x" + s.Address.ToString("x", CultureInfo.InvariantCulture),
            PagingName(s.Mode), s.IsCanonical, s.IsUser,
            s.Fields.Select(f => new AddressFieldJson(f.Name, f.High, f.Low, f.Value, f.Level >= 0 ? f.Level : null)).ToList(),
            scenario, at, pid, walk), CliJsonContext.Default.ExplainJson);

    /// <summary>The split, or a clear error when the mode cannot express the address.</summary>
    internal static AddressSplit Split(ulong va, PagingMode mode, string text)
    {
        if (mode.PointerSize == 4 && va >> 32 != 0)
            throw new InputException("command line", 0, text, $"not a 32-bit address (--paging {PagingName(mode)} has 32-bit addresses)");
        return AddressSplit.Of(va, mode);
    }

    /// <summary>0x hex or decimal, 64 bits at most; '_' may group digits.</summary>
    internal static ulong ParseAddress(string text)
    {
        string s = text.Replace("_", "", StringComparison.Ordinal);
        ulong v = 0;
        bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? s.Length > 2 && ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v)
            : ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok)
            throw new InputException("command line", 0, text, "not an address (expected 0x hex or decimal, at most 64 bits)");
        return v;
    }

    /// <summary>The --paging names of 'run' (x86, x86-64, x86-64-la57), plus la57.</summary>
    internal static PagingMode ParsePaging(string text) => text switch
    {
        "x86" => PagingMode.X86_32,
        "x86-64" => PagingMode.X86_64,
        "x86-64-la57" or "la57" => PagingMode.X86_64_5Level,
        _ => throw new InputException("command line", 0, text, "--paging must be x86, x86-64 or x86-64-la57"),
    };

    internal static string PagingName(PagingMode mode) => mode.Levels == 2 ? "x86" : mode.Name;
}
