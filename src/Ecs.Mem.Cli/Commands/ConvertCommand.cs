using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Cli.Commands;

/// <summary><c>ecsmem convert IN [--from F] --to G --out FILE</c>: re-encodes a trace in another format.</summary>
public sealed class ConvertCommand : ICommand
{
    public string Name => "convert";
    public string Summary => "convert a trace between formats (lackey, pinatrace, pages, binary)";

    public string Usage =>
        "Usage: ecsmem convert IN [--from FORMAT] --to FORMAT --out FILE\n\n" +
        "Reads IN (plain, gzip, zstd or xz: detected from its first bytes; - is standard input) and writes it to FILE\n" +
        "(- is standard output) in another\n" +
        "format. FILE is written to a temporary file and renamed, so a failure or Ctrl-C/SIGTERM leaves no partial\n" +
        "output (exit 130/143 when interrupted).\n\n" +
        "Formats:\n" +
        string.Concat(TraceFormats.All.Select(f =>
            $"  {f.Name,-10} {f.Description} [{(f.Reader is null ? "" : "read")}{(f.Reader is not null && f.Writer is not null ? "/" : "")}{(f.Writer is null ? "" : "write")}]\n")) +
        "\nConversions can lose information the target format has no room for: see docs/traces.md.\n";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("--from", "FORMAT", "input format; optional: without it the format is detected from the content (as 'auto')", "--trace-format") with { Completions = TraceFormats.All.Select(f => f.Name).ToArray() },
        OptionSpec.Value("--to", "FORMAT", "output format", "--format") with { Completions = TraceFormats.All.Select(f => f.Name).ToArray() },
        OptionSpec.Value("--out", "FILE", "output file (- for standard output)", "-o", "--output"),
        OptionSpec.Flag("--json", "print the summary as JSON (docs/schemas/trace-write.schema.json)"),
    ];

    public ArgumentSpec? Arguments { get; } = new("IN", "the input trace (- for standard input)", 1);

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem convert sort.lackey.gz --to binary -o sort.bin", "a gzip'd Lackey trace to EcsMem's binary format"),
    ];

    public int Execute(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        if (cl.Positionals.Count == 0)
            throw new InputException("command line", 0, "convert", "'convert' needs an input trace (see 'ecsmem convert --help')");
        string input = cl.Positionals[0];
        string to = cl.Require("--to");
        string output = cl.Require("--out");
        // Check the target format before touching the input, so a typo fails fast.
        TraceFormats.Get(to);
        OutputPaths.Check([("--out", output)], [("input trace", input)]);
        // Without --from: EcsMem binary by its magic number, else every other format by its content (--from auto).
        string from = cl.Get("--from") ?? TraceFormats.Detect(input) ?? "auto";
        using var reader = TraceFormats.OpenReader(from, input);
        using var writer = TraceFormats.CreateWriter(to, output);
        long n = TraceFormats.Copy(reader, writer, RunModes.InterruptSignal.Token);
        if (RunModes.InterruptSignal.Requested)
            return GenCommand.Interrupted(stderr, n, output);
        writer.Complete();
        // With --out - the trace itself went to standard output, so the summary (text or JSON) goes to standard error.
        TextWriter summary = output == "-" ? stderr : stdout;
        if (cl.Has("--json"))
            summary.Write(CliJsonContext.Write(new TraceWriteJson(GenCommand.TraceWriteSchema, EcsmemBuild.Current, "convert", null, input, from, to, output, n), CliJsonContext.Default.TraceWriteJson));
        else
            summary.WriteLine($"converted {n} accesses from {from} to {to}: {output}");
        return 0;
    }
}
