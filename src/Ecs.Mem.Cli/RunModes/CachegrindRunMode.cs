using System.Globalization;
using System.IO.Compression;
using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;
using EcsMem.Traces;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// <c>ecsmem run --cachegrind</c>: replays a Lackey trace through Cachegrind's cache model and
/// prints Cachegrind's summary (or JSON). Geometry: <c>--I1/--D1/--LL=SIZE,ASSOC,LINE</c> in bytes
/// as Cachegrind takes them; unset caches come from <c>--cpu host</c> (auto-detection as
/// Cachegrind does it) or else from the seed lecture's machine (32K/8/64, 32K/8/64, 3072K/12/64).
/// </summary>
public sealed class CachegrindRunMode : IRunMode
{
    public string? SelectorFlag => "--cachegrind";

    public IReadOnlyCollection<string> ValueOptions { get; } =
        ["--trace", "--trace-format", "--I1", "--D1", "--LL", "--cpu"];

    public IReadOnlyCollection<string> FlagOptions { get; } = ["--json"];

    public string Usage =>
        "  ecsmem run --cachegrind --trace FILE [--trace-format lackey] [--I1 S,A,L] [--D1 S,A,L] [--LL S,A,L]\n" +
        "             [--cpu host|seed] [--json]\n" +
        "      Cachegrind-compatible I1/D1/LL simulation of a Lackey trace (valgrind --tool=lackey --trace-mem=yes,\n" +
        "      plain or gzip). Sizes in bytes as in Cachegrind's options; defaults: --cpu seed\n" +
        "      (I1 32768,8,64  D1 32768,8,64  LL 3145728,12,64); --cpu host auto-detects from sysfs like Cachegrind.";

    public int Run(CommandLine cl, TextWriter stdout, TextWriter stderr)
    {
        string path = cl.Require("--trace");
        string format = cl.Get("--trace-format") ?? "lackey";
        if (format != "lackey")
            throw new InputException("command line", 0, format, "--cachegrind reads only --trace-format lackey");

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

        var sim = new CachegrindSimulator(config);
        using (var reader = new LackeyReader(OpenTrace(path), path))
        {
            var batch = new MemoryAccess[4096];
            int n;
            while ((n = reader.Read(batch)) > 0)
                sim.Run(batch.AsSpan(0, n));
        }

        if (cl.Has("--json"))
            stdout.Write(Json(config, sim.Counts));
        else
            stdout.Write(CachegrindReport.Format(sim.Counts));
        return 0;
    }

    /// <summary>Opens a trace file, decompressing it when it starts with gzip's magic bytes (1f 8b).</summary>
    private static Stream OpenTrace(string path)
    {
        FileStream fs;
        try
        {
            fs = File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InputException(path, 0, path, $"cannot open trace: {e.Message}");
        }
        Span<byte> magic = stackalloc byte[2];
        int got = fs.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        fs.Position = 0;
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            return new GZipStream(fs, CompressionMode.Decompress);
        return fs;
    }

    private static string Json(CachegrindConfig cfg, CachegrindCounts c)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("{\n");
        sb.Append(inv, $"  \"I1\": \"{cfg.I1}\", \"D1\": \"{cfg.D1}\", \"LL\": \"{cfg.LL}\",\n");
        sb.Append(inv, $"  \"Ir\": {c.Ir}, \"I1mr\": {c.I1mr}, \"ILmr\": {c.ILmr},\n");
        sb.Append(inv, $"  \"Dr\": {c.Dr}, \"D1mr\": {c.D1mr}, \"DLmr\": {c.DLmr},\n");
        sb.Append(inv, $"  \"Dw\": {c.Dw}, \"D1mw\": {c.D1mw}, \"DLmw\": {c.DLmw},\n");
        sb.Append(inv, $"  \"LLrefs\": {c.LLrefs}, \"LLmisses\": {c.LLmisses}\n");
        sb.Append("}\n");
        return sb.ToString();
    }
}
