using BenchmarkDotNet.Attributes;
using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;

namespace EcsMem.Perf;

/// <summary>
/// Ideal-mode replay speed per policy: 10M references drawn from a zipf(0.9) distribution over 50,000
/// pages, 4,000 frames. OperationsPerInvoke makes the reported time per reference (refs/s = 1e9 / ns).
/// OPT's time includes its next-use precomputation over the whole string.
/// </summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    private const int References = 10_000_000;
    private ulong[] _pages = [];

    [Params("lru", "fifo", "clock", "linux", "arc", "opt")]
    public string Policy { get; set; } = "lru";

    [GlobalSetup]
    public void Setup() => _pages = ZipfPages.Generate(References, 50_000, 0.9, seed: 2026);

    [Benchmark(OperationsPerInvoke = References)]
    public long Replay()
    {
        var sim = new IdealSimulator(4000, PolicyRegistry.Create(Policy, new PolicyOptions(1)));
        sim.Run(_pages);
        return sim.Result.Faults;
    }
}

/// <summary>
/// A small zipf sampler for benchmark data (the product's trace generators live elsewhere): rank r has
/// weight 1/r^alpha; draws invert the cumulative table by binary search. Ranks are scattered over the
/// page-number space so hashing sees realistic keys. Own SplitMix64 stream, so data is stable across runs.
/// </summary>
internal static class ZipfPages
{
    public static ulong[] Generate(int count, int distinct, double alpha, ulong seed)
    {
        var cdf = new double[distinct];
        double sum = 0;
        for (int r = 0; r < distinct; r++)
        {
            sum += 1.0 / Math.Pow(r + 1, alpha);
            cdf[r] = sum;
        }
        var pages = new ulong[count];
        ulong state = seed;
        for (int i = 0; i < count; i++)
        {
            double u = (Next(ref state) >> 11) * (1.0 / (1UL << 53)) * sum;
            int lo = 0, hi = distinct - 1;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (cdf[mid] <= u) lo = mid + 1; else hi = mid;
            }
            pages[i] = (ulong)lo * 0x9E3779B1UL + 0x10000;
        }
        return pages;
    }

    private static ulong Next(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
