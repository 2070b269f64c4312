using EcsMem.Traces;
using EcsMem.Traces.Synthetic;

namespace EcsMem.Cli.Commands;

/// <summary><c>ecsmem gen WORKLOAD --out FILE [--format F]</c>: writes a synthetic trace.</summary>
public sealed class GenCommand : ICommand
{
    public string Name => "gen";
    public string Summary => "generate a synthetic trace (zipf, loop, matmul, ...) into a file";

    public string Usage =>
        "Usage: ecsmem gen WORKLOAD --out FILE [--format FORMAT]\n\n" +
        "Writes the accesses of a seeded synthetic workload to FILE (written to a temporary file\n" +
        "and renamed, so a failure or Ctrl-C/SIGTERM leaves no partial output; exit 130/143 when interrupted).\n";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("--out", "FILE", "output file (- for standard output)", "-o", "--output"),
        OptionSpec.Flag("--json", "print the summary as JSON (docs/schemas/trace-write.schema.json)"),
        OptionSpec.Value("--format", "FORMAT", string.Join(", ", TraceFormats.All.Where(f => f.Writer is not null).Select(f => f.Name)) + " (default binary)", "--to") with { Completions = TraceFormats.All.Where(f => f.Writer is not null).Select(f => f.Name).ToArray() },
    ];

    public ArgumentSpec? Arguments { get; } = new("WORKLOAD",
        "KIND:key=value,... e.g. zipf:count=1000000,pages=50000,alpha=0.9,seed=1\n" +
        "kinds: " + string.Join(", ", WorkloadSpec.KnownKinds) + "\n" +
        "common keys: count seed base region elem pages size pid writes\n" +
        "zipf: alpha   phase: ws phaselen shift   scanhot: hot hotfrac\n" +
        "matmul: n a b c (count seed base pid only)   (see docs/traces.md)", 1);

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem gen zipf:count=1000000,pages=50000,alpha=0.9,seed=1 -o zipf.bin", "a million Zipf-distributed references in the binary format"),
        new("ecsmem gen loop:count=10000,pages=64 --out loop.pages --format pages", "a loop over 64 pages as a page list"),
    ];

    public int Execute(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        if (cl.Positionals.Count == 0)
            throw new Diagnostics.InputException("command line", 0, "gen", "'gen' needs a WORKLOAD (see 'ecsmem gen --help')");
        var spec = WorkloadSpec.Parse(cl.Positionals[0]);
        string output = cl.Require("--out");
        string format = cl.Get("--format") ?? "binary";
        OutputPaths.Check([("--out", output)], []);
        using var writer = TraceFormats.CreateWriter(format, output);
        using var reader = spec.Create();
        long n = TraceFormats.Copy(reader, writer, RunModes.InterruptSignal.Token);
        if (RunModes.InterruptSignal.Requested)
            return Interrupted(stderr, n, output);
        writer.Complete();
        // With --out - the trace itself went to standard output, so the summary (text or JSON) goes to standard error.
        TextWriter summary = output == "-" ? stderr : stdout;
        if (cl.Has("--json"))
            summary.Write(CliJsonContext.Write(new TraceWriteJson(TraceWriteSchema, EcsmemBuild.Current, "gen", cl.Positionals[0], null, null, format, output, n), CliJsonContext.Default.TraceWriteJson));
        else
            summary.WriteLine($"wrote {n} accesses ({spec.Kind}) to {output} as {format}");
        return 0;
    }

    /// <summary>Version of gen's and convert's --json layout (docs/schemas/trace-write.schema.json).</summary>
    public const int TraceWriteSchema = 1;

    /// <summary>Ctrl-C or SIGTERM: the output is not written (its temporary file goes when the writer is disposed).</summary>
    internal static int Interrupted(TextWriter stderr, long accesses, string output)
    {
        stderr.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"ecsmem: interrupted by {RunModes.InterruptSignal.SignalName} after {accesses} accesses: {output} not written"));
        return RunModes.InterruptSignal.ExitCode;
    }
}
