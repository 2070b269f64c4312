using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using EcsMem.Ecs;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;
using EcsMem.Traces;

namespace EcsMem.Tests.Caches;

/// <summary>
/// Replays the stored Lackey traces of samples/cachegrind (made by make.sh from real programs under
/// Valgrind 3.19) and compares with what real Cachegrind printed for the same program and geometry.
/// The two Valgrind runs are separate, but make.sh pins the environment (env -i) and disables ASLR
/// (setarch -R), so the guest executes identical instruction and data streams: the measured
/// agreement is exact on every figure of all six runs, hence the tolerance here is zero.
/// </summary>
public class CachegrindAgreementTests
{
    private static readonly Dictionary<string, CachegrindConfig> Geometries = new()
    {
        ["seed"] = CachegrindConfig.Seed,
        ["small"] = new CachegrindConfig(
            CacheGeometry.Create(8192, 2, 32, "t", 0, "I1"),
            CacheGeometry.Create(8192, 4, 32, "t", 0, "D1"),
            CacheGeometry.Create(131072, 8, 64, "t", 0, "LL")),
    };

    internal static string SamplesDir()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
        {
            string s = Path.Combine(d.FullName, "samples", "cachegrind");
            if (Directory.Exists(s))
                return s;
        }
        throw new DirectoryNotFoundException("samples/cachegrind not found above the test directory");
    }

    /// <summary>Cachegrind's summary block from its log, without the ==PID== prefixes.</summary>
    internal static string CachegrindSummary(string logPath)
    {
        var lines = File.ReadAllLines(logPath).Select(l => Regex.Replace(l, @"^==\d+== ?", "")).ToList();
        int first = lines.FindIndex(l => l.StartsWith("I   refs:", StringComparison.Ordinal));
        int last = lines.FindIndex(l => l.StartsWith("LL miss rate:", StringComparison.Ordinal));
        return string.Join("\n", lines.Skip(first).Take(last - first + 1)) + "\n";
    }

    /// <summary>The 18 integers of the summary (I refs ... LL misses wr), in printed order.</summary>
    private static long[] Counts(string summary) =>
        summary.Split('\n')
            .Where(l => l.Contains(':') && !l.Contains("rate"))
            .SelectMany(l => Regex.Matches(l[(l.IndexOf(':') + 1)..], @"\d[\d,]*").Select(m => m.Value))
            .Select(v => long.Parse(v.Replace(",", ""), CultureInfo.InvariantCulture))
            .ToArray();

    private static CachegrindCounts Simulate(string trace, CachegrindConfig cfg)
    {
        var sim = new CachegrindSimulator(new World(), cfg);
        using var reader = new LackeyReader(new GZipStream(File.OpenRead(trace), CompressionMode.Decompress), trace);
        var buf = new MemoryAccess[4096];
        int n;
        while ((n = reader.Read(buf)) > 0)
            sim.Run(buf.AsSpan(0, n));
        return sim.Counts;
    }

    [TestCase("matmul", "seed")]
    [TestCase("matmul", "small")]
    [TestCase("sort", "seed")]
    [TestCase("sort", "small")]
    [TestCase("hashlist", "seed")]
    [TestCase("hashlist", "small")]
    public void AgreesWithRealCachegrindOnEveryFigure(string program, string geometry)
    {
        string dir = SamplesDir();
        string theirs = CachegrindSummary(Path.Combine(dir, $"{program}.{geometry}.cachegrind.txt"));
        var counts = Simulate(Path.Combine(dir, $"{program}.lackey.gz"), Geometries[geometry]);
        string ours = CachegrindReport.Format(counts);
        Assert.That(Counts(ours), Has.Length.EqualTo(3 + 9 + 6));
        Assert.That(Counts(ours), Is.EqualTo(Counts(theirs)), "figures");
        Assert.That(ours, Is.EqualTo(theirs), "printed summary");
    }

    [Test]
    public void StoredLogsUsedTheGeometryTheTestAssumes()
    {
        // Guards the mapping above: make.sh's geometry must be the one Cachegrind was given.
        string dir = SamplesDir();
        string make = File.ReadAllText(Path.Combine(dir, "make.sh"));
        foreach (var (name, g) in Geometries)
            Assert.That(make, Does.Contain($"{name}:--I1={g.I1}:--D1={g.D1}:--LL={g.LL}"));
    }
}
