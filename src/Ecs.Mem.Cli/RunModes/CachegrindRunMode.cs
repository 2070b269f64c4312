using System.Globalization;
using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Ecs;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;
using EcsMem.Traces;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// <c>ecsmem run --cachegrind</c>: replays a trace (Lackey by default; any format with access kinds, plain,
/// gzip or zstd, opened through <see cref="TraceFormats.OpenReader"/>) through Cachegrind's cache model and
/// prints Cachegrind's summary (or JSON). Geometry: <c>--I1/--D1/--LL=SIZE,ASSOC,LINE</c> in bytes
/// as Cachegrind takes them; unset caches come from <c>--cpu host</c> (auto-detection as
/// Cachegrind does it) or else from the seed lecture's machine (32K/8/64, 32K/8/64, 3072K/12/64).
/// </summary>
public sealed class CachegrindRunMode : IRunMode
{
    public string? SelectorFlag => "--cachegrind";

    public IReadOnlyCollection<string> ValueOptions { get; } =
        ["--trace", "--trace-format", "--I1", "--D1", "--LL", "--cpu", "--cachegrind-out-file"];

    public IReadOnlyCollection<string> FlagOptions { get; } = ["--json"];

    public string Usage =>
        "  ecsmem run --cachegrind --trace FILE [--trace-format lackey|pinatrace|binary|pages] [--I1 S,A,L] [--D1 S,A,L]\n" +
        "             [--LL S,A,L] [--cpu host|seed] [--json] [--cachegrind-out-file F]\n" +
        "      Cachegrind-compatible I1/D1/LL simulation of a trace (default: Lackey text, valgrind --tool=lackey\n" +
        "      --trace-mem=yes; a binary trace is recognised by its header; plain, gzip or zstd). Sizes in bytes as\n" +
        "      in Cachegrind's options; defaults: --cpu seed\n" +
        "      (I1 32768,8,64  D1 32768,8,64  LL 3145728,12,64); --cpu host auto-detects from sysfs like Cachegrind.\n" +
        "      --cachegrind-out-file F also writes Cachegrind's output file (per instruction address, fn=0xADDR) for\n" +
        "      cg_annotate, cg_diff and KCachegrind; --trace - reads standard input, --trace-format auto detects.";

    public int Run(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        string path = cl.Require("--trace");
        string? givenFormat = cl.Get("--trace-format");
        if (givenFormat is not null)
            TraceFormats.Get(givenFormat); // an unknown name is reported before the trace is touched

        CachegrindConfig baseConfig = (cl.Get("--cpu") ?? "seed") switch
        {
            "seed" => CachegrindConfig.Seed,
            "host" => CachegrindConfig.FromHost(HostCacheTopology.DefaultRoot, stderr),
            var other => throw new InputException("command line", 0, other, "--cpu must be 'host' or 'seed'"),
        };
        var config = new CachegrindConfig(
            cl.Get("--I1") is { } i1 ? CachegrindConfig.ParseOption(i1, "--I1") : baseConfig.I1,
            cl.Get("--D1") is { } d1 ? CachegrindConfig.ParseOption(d1, "--D1") : baseConfig.D1,
            cl.Get("--LL") is { } ll ? CachegrindConfig.ParseOption(ll, "--LL") : baseConfig.LL);

        string? outFile = cl.Get("--cachegrind-out-file");
        if (outFile is not null)
            OutputPaths.Check([("--cachegrind-out-file", outFile)], [("trace", path)]);
        if (path != "-" && !File.Exists(path))
            throw new InputException(path, 0, path, "cannot open trace: file not found");
        string format = givenFormat ?? TraceFormats.Detect(path) ?? "lackey";

        // The cache lines are entities of this run's own world (nothing else lives in it).
        var sim = new CachegrindSimulator(new World(), config);
        var profile = outFile is null ? null : new CachegrindProfile(sim);
        long accesses = 0;
        try
        {
            using var reader = TraceFormats.OpenReader(format, path);
            var batch = new MemoryAccess[4096];
            int n;
            while (!InterruptSignal.Requested && (n = reader.Read(batch)) > 0)
            {
                if (profile is null)
                    sim.Run(batch.AsSpan(0, n));
                else
                    profile.Run(batch.AsSpan(0, n));
                accesses += n;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ZstdSharp.ZstdException)
        {
            throw new InputException(path, 0, path, "cannot read trace: " + e.Message);
        }

        // Ctrl-C or SIGTERM: the counts of the accesses simulated so far, marked partial.
        bool partial = InterruptSignal.Requested;
        // Only a complete run writes the output file (an interrupted one leaves none behind).
        if (profile is not null && !partial)
            profile.WriteOutFile(outFile!, "ecsmem run --cachegrind --trace " + path);
        string note = string.Create(CultureInfo.InvariantCulture, $"partial: interrupted by {InterruptSignal.SignalName} after {accesses} accesses");
        if (cl.Has("--json"))
            stdout.Write(Json(config, sim.Counts, partial));
        else
            stdout.Write(CachegrindReport.Format(sim.Counts) + (partial ? note + "\n" : ""));
        if (partial)
        {
            stderr.WriteLine("ecsmem: " + note);
            return InterruptSignal.ExitCode;
        }
        return 0;
    }

    private static string Json(CachegrindConfig cfg, CachegrindCounts c, bool partial)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("{\n");
        sb.Append(inv, $"  \"I1\": \"{cfg.I1}\", \"D1\": \"{cfg.D1}\", \"LL\": \"{cfg.LL}\",\n");
        sb.Append(inv, $"  \"Ir\": {c.Ir}, \"I1mr\": {c.I1mr}, \"ILmr\": {c.ILmr},\n");
        sb.Append(inv, $"  \"Dr\": {c.Dr}, \"D1mr\": {c.D1mr}, \"DLmr\": {c.DLmr},\n");
        sb.Append(inv, $"  \"Dw\": {c.Dw}, \"D1mw\": {c.D1mw}, \"DLmw\": {c.DLmw},\n");
        sb.Append(inv, $"  \"LLrefs\": {c.LLrefs}, \"LLmisses\": {c.LLmisses}{(partial ? "," : "")}\n");
        if (partial)
            sb.Append("  \"partial\": true\n"); // only when interrupted, so a complete report is unchanged
        sb.Append("}\n");
        return sb.ToString();
    }
}
