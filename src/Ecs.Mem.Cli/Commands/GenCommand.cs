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
        "and renamed, so a failure or Ctrl-C/SIGTERM leaves no partial output; exit 130/143 when interrupted).\n\n" +
        "  WORKLOAD          KIND:key=value,... e.g. zipf:count=1000000,pages=50000,alpha=0.9,seed=1\n" +
        "                    kinds: " + string.Join(", ", WorkloadSpec.KnownKinds) + "\n" +
        "                    common keys: count seed base region elem pages size pid writes\n" +
        "                    zipf: alpha   phase: ws phaselen shift   scanhot: hot hotfrac\n" +
        "                    matmul: n a b c (count seed base pid only)   (see docs/traces.md)\n" +
        "  --out FILE        output file (- for standard output)\n" +
        "  --format FORMAT   " + string.Join(", ", TraceFormats.All.Where(f => f.Writer is not null).Select(f => f.Name)) + " (default binary)\n";

    public int Execute(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var cl = CommandLine.Parse(Name, args, ["--out", "--format"], [], maxPositionals: 1);
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
        // With --out - the trace itself went to standard output, so the summary goes to standard error.
        (output == "-" ? stderr : stdout).WriteLine($"wrote {n} accesses ({spec.Kind}) to {output} as {format}");
        return 0;
    }

    /// <summary>Ctrl-C or SIGTERM: the output is not written (its temporary file goes when the writer is disposed).</summary>
    internal static int Interrupted(TextWriter stderr, long accesses, string output)
    {
        stderr.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"ecsmem: interrupted by {RunModes.InterruptSignal.SignalName} after {accesses} accesses: {output} not written"));
        return RunModes.InterruptSignal.ExitCode;
    }
}
