using System.Text;
using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.Reporting;
using EcsMem.Traces;
using Machine = EcsMem.Systems.Machine.Machine;
using Workload = EcsMem.Systems.Cpu.Workload;

namespace EcsMem.Cli.Commands;

/// <summary>
/// <c>ecsmem maps FILE [--status]</c>: imports a real <c>/proc/&lt;pid&gt;/maps</c> file into a simulated process
/// and prints that process's maps as the simulator's /proc would, plus (with --status) the memory lines of
/// its /proc/&lt;pid&gt;/status. An import that round-trips prints the file back byte for byte.
/// </summary>
public sealed class MapsCommand : ICommand
{
    public string Name => "maps";
    public string Summary => "import a real /proc/<pid>/maps into a simulated process and print its maps";

    public string Usage =>
        "Usage: ecsmem maps FILE [--status]\n\n" +
        "Reads FILE (a /proc/<pid>/maps capture), creates a simulated process with exactly those areas\n" +
        "(paging mode chosen from the addresses: 32-bit, 4-level or 5-level) and prints the simulated\n" +
        "process's /proc/<pid>/maps. Overlapping, unsorted or malformed lines are errors naming the line.\n";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Flag("--status", "also print the memory lines of its /proc/<pid>/status (VmSize, VmData, VmExe, ...)"),
        OptionSpec.Flag("--json", "print the areas (and --status lines) as JSON (docs/schemas/maps.schema.json)"),
    ];

    public ArgumentSpec? Arguments { get; } = new("FILE", "a /proc/<pid>/maps capture", 1);

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem maps /proc/self/maps --status", "this shell's own address space, as the simulator's /proc shows it"),
    ];

    public int Execute(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        if (cl.Positionals.Count == 0)
            throw new InputException("command line", 0, "maps", "'maps' needs a maps FILE (see 'ecsmem maps --help')");
        string path = cl.Positionals[0];
        if (!File.Exists(path))
            throw new InputException("command line", 0, path, "maps file not found");
        // First pass: validate the file and learn its paging mode from the addresses.
        PagingMode mode = ProcMaps.ParseFile(path, new FileTable()).Mode;

        using var machine = new Machine(new KernelOptions { Paging = mode, SwapBytes = 0 }, path);
        string name = Path.GetFileNameWithoutExtension(path);
        if (name.Length == 0) name = "maps";
        var process = machine.AddProcess(name, mm => Import(mm, path, machine.Kernel.Files, mode), new Workload(new EmptyTrace(name)));
        MmState state = machine.Kernel.Tasks.MmOf(process);

        if (cl.Has("--json"))
        {
            var status = new StringBuilder();
            ProcStatus.TaskMem(state.Mm.Struct, state.HiwaterVm, state.HiwaterRss).AppendTo(status);
            stdout.Write(CliJsonContext.Write(new MapsJson(JsonSchema, EcsmemBuild.Current, path, ExplainCommand.PagingName(mode),
                Vmas(ProcMaps.Format(state.Mm)), cl.Has("--status") ? StatusFields(status.ToString()) : null), CliJsonContext.Default.MapsJson));
            return 0;
        }
        var sb = new StringBuilder();
        sb.Append(ProcMaps.Format(state.Mm));
        if (cl.Has("--status"))
        {
            ref Process p = ref machine.Kernel.World.Get<Process>(process);
            sb.Append("\nName:\t").Append(name).Append('\n');
            sb.Append("Pid:\t").Append(p.Pid).Append('\n');
            ProcStatus.TaskMem(state.Mm.Struct, state.HiwaterVm, state.HiwaterRss).AppendTo(sb);
        }
        stdout.Write(sb.ToString());
        return 0;
    }

    /// <summary>Version of the --json layout (docs/schemas/maps.schema.json).</summary>
    public const int JsonSchema = 1;

    /// <summary>The maps lines (as /proc prints them) split into their six fields; the path may hold spaces.</summary>
    private static List<VmaJson> Vmas(string maps)
    {
        var list = new List<VmaJson>();
        foreach (string line in maps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            string[] range = f[0].Split('-');
            list.Add(new VmaJson(range[0], range[1], f[1], f[2], f[3], long.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture), f.Length > 5 ? f[5].Trim() : ""));
        }
        return list;
    }

    /// <summary>"VmSize:\t  1234 kB" lines as name → value (as printed, with its unit).</summary>
    private static Dictionary<string, string> StatusFields(string status)
    {
        var d = new Dictionary<string, string>();
        foreach (string line in status.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            d[line[..colon]] = line[(colon + 1)..].Trim();
        }
        return d;
    }

    /// <summary>Gives a fresh address space the areas of the maps file (accounted as mmap would: total_vm, data_vm, ...).</summary>
    private static void Import(MmState mm, string path, FileTable files, PagingMode mode)
    {
        mm.Mm.ImportLayout(ProcMaps.ParseFile(path, files, mode, mm.Id));
    }
}
