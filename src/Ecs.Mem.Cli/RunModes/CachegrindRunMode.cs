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

    public string Summary => "Cachegrind-compatible I1/D1/LL simulation of a trace";

    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("--trace", "FILE", "the trace (default format Lackey text: valgrind --tool=lackey --trace-mem=yes; plain, gzip, zstd or xz; - for standard input)"),
        OptionSpec.Value("--trace-format", "F", "lackey, pinatrace, binary or pages, or auto to detect from the content (default: detected, else lackey)"),
        OptionSpec.Value("--cachegrind-out-file", "F", "also write Cachegrind's output file (per instruction address, fn=0xADDR) for cg_annotate, cg_diff and KCachegrind; only a complete run writes it"),
        OptionSpec.Value("--I1", "S,A,L", "L1 instruction cache: size, associativity, line size in bytes, as Cachegrind takes them"),
        OptionSpec.Value("--D1", "S,A,L", "L1 data cache"),
        OptionSpec.Value("--LL", "S,A,L", "last-level cache"),
        OptionSpec.Value("--cpu", "host|seed", "unset caches from this machine (sysfs, as Cachegrind detects them) or the seed lecture's (default: I1 32768,8,64 D1 32768,8,64 LL 3145728,12,64)") with { Completions = ["host", "seed"] },
        OptionSpec.Flag("--json", "the counts as JSON (docs/schemas/cachegrind.schema.json)"),
        OptionSpec.Value("--decode-thread", "auto|on|off", "decode the trace on a second thread too (a plain Lackey file: both threads decode chunks of it, this one also simulates; otherwise a second thread decompresses and decodes) (default auto: on when the process has more than one CPU); the counts are the same either way") with { Completions = ["auto", "on", "off"] },
    ];

    public string Usage =>
        "Usage: ecsmem run --cachegrind --trace FILE [options]\n\n" +
        "Replays a trace through Cachegrind's cache model and prints Cachegrind's summary.\n" +
        "Ctrl-C or SIGTERM: the counts so far, marked partial (exit 130 or 143).\n";

    public IReadOnlyList<Example> Examples { get; } =
    [
        new("ecsmem run --cachegrind --trace sort.lackey", "Cachegrind's summary for a Lackey trace with the seed machine's caches"),
        new("ecsmem run --cachegrind --trace sort.lackey --cpu host --LL 8388608,16,64 --json", "this machine's L1 caches, an 8 MiB LL, as JSON"),
    ];

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

        bool decodeThread = (cl.Get("--decode-thread") ?? "auto") switch
        {
            "auto" => ReadAheadTraceReader.Worthwhile,
            "on" => true,
            "off" => false,
            var other => throw new InputException("command line", 0, other, "--decode-thread must be 'auto', 'on' or 'off'"),
        };

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
            if (decodeThread && format == "lackey" && ChunkedLackeyReader.Suits(path))
            {
                // A plain Lackey file: both threads decode chunks, this one simulates each in place (no copy).
                using var chunks = new ChunkedLackeyReader(path);
                ReadOnlySpan<MemoryAccess> chunk;
                while (!InterruptSignal.Requested && !(chunk = chunks.Next()).IsEmpty)
                {
                    if (profile is null)
                        sim.Run(chunk);
                    else
                        profile.Run(chunk);
                    accesses += chunk.Length;
                }
                if (Environment.GetEnvironmentVariable("ECSMEM_PIPE_STATS") == "1")
                {
                    // A tuning aid (docs/perf.md): how the two threads shared the decoding.
                    var st = chunks.Stats;
                    stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"ecsmem: pipeline: {st.Chunks} chunks, decoded {st.CallerChunks} by the simulating thread and {st.HelperChunks} by the helper, {st.CallerSteals} taken over from the helper; helper slept {st.HelperSleeps} times on a full ring"));
                }
            }
            else
            {
                ITraceReader opened = TraceFormats.OpenReader(format, path);
                using var reader = decodeThread ? new ReadAheadTraceReader(opened) : opened;
                var batch = new MemoryAccess[ReadAheadTraceReader.BlockRecords];
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
            stdout.Write(Json(config, sim.Counts, partial, path, format, partial ? null : outFile));
        else
            stdout.Write(CachegrindReport.Format(sim.Counts) + (partial ? note + "\n" : ""));
        if (partial)
        {
            stderr.WriteLine("ecsmem: " + note);
            return InterruptSignal.ExitCode;
        }
        return 0;
    }

    /// <summary>Version of the --json layout (docs/schemas/cachegrind.schema.json).</summary>
    public const int JsonSchema = 1;

    /// <summary>The counts as JSON; the event names are Cachegrind's own (as cg_annotate prints them).</summary>
    private static string Json(CachegrindConfig cfg, CachegrindCounts c, bool partial, string trace, string format, string? outFile)
    {
        static CacheGeometryJson G(CacheGeometry g) => new(g.SizeBytes, g.Ways, g.LineBytes);
        var caches = new Dictionary<string, CacheGeometryJson> { ["I1"] = G(cfg.I1), ["D1"] = G(cfg.D1), ["LL"] = G(cfg.LL) };
        var events = new Dictionary<string, long>
        {
            ["Ir"] = c.Ir,
            ["I1mr"] = c.I1mr,
            ["ILmr"] = c.ILmr,
            ["Dr"] = c.Dr,
            ["D1mr"] = c.D1mr,
            ["DLmr"] = c.DLmr,
            ["Dw"] = c.Dw,
            ["D1mw"] = c.D1mw,
            ["DLmw"] = c.DLmw,
            ["LLrefs"] = c.LLrefs,
            ["LLmisses"] = c.LLmisses,
        };
        // "partial" only when interrupted, so a complete report is unchanged.
        return CliJsonContext.Write(new CachegrindJson(JsonSchema, EcsmemBuild.Current, "cachegrind", trace, format, caches, events, partial ? true : null, outFile),
            CliJsonContext.Default.CachegrindJson);
    }
}
