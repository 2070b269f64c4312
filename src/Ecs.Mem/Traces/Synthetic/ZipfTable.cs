namespace EcsMem.Traces.Synthetic;

/// <summary>
/// Exact Zipf sampling by inverse CDF: rank k (1-based, of n) has probability
/// <c>k^-alpha / H(n, alpha)</c> where <c>H(n, alpha) = sum_{i=1..n} i^-alpha</c>. The cumulative
/// sums are precomputed once (8 bytes per rank) and a uniform draw is located by binary search,
/// so there is no approximation error beyond double rounding.
/// A guide table (Chen and Asau's method) makes the search short: with G a power of two, guide[b]
/// is the first rank whose cumulative sum exceeds <c>(b/G)·H</c>, so a draw <c>d·H</c> with
/// <c>floor(d·G) = b</c> lies between guide[b] and guide[b+1]. Because b/G is exact in binary,
/// the bracket is exact too and the samples are the same as a plain binary search over the table.
/// </summary>
public sealed class ZipfTable
{
    /// <summary>Largest n accepted: the table then takes 128 MiB.</summary>
    public const long MaxRanks = 1L << 24;

    private readonly double[] _cumulative;
    private readonly int[] _guide;
    private readonly double _buckets;

    public ZipfTable(long n, double alpha)
    {
        if (n is < 1 or > MaxRanks) throw new ArgumentOutOfRangeException(nameof(n));
        if (!(alpha >= 0) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha));
        N = n;
        Alpha = alpha;
        _cumulative = new double[n];
        double sum = 0;
        for (long k = 1; k <= n; k++)
        {
            sum += Math.Pow(k, -alpha);
            _cumulative[k - 1] = sum;
        }
        Harmonic = sum;

        // G = largest power of two <= n: at most 4 bytes per rank on top of the 8 of the table.
        int g = 1 << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)n));
        _buckets = g;
        _guide = new int[g + 1];
        int next = 0;
        for (int b = 0; b < g; b++)
        {
            double threshold = (b / _buckets) * sum;
            while (next < n - 1 && _cumulative[next] <= threshold) next++;
            _guide[b] = next;
        }
        _guide[g] = (int)(n - 1);
    }

    public long N { get; }

    public double Alpha { get; }

    /// <summary>The generalised harmonic number H(n, alpha), the normalising constant.</summary>
    public double Harmonic { get; }

    /// <summary>Draws a rank in [1, N].</summary>
    public long Sample(ref Xoshiro256StarStar rng)
    {
        double d = rng.NextDouble();
        double u = d * Harmonic;
        int b = (int)(d * _buckets);
        // Smallest index whose cumulative sum exceeds u (the last index if none does, when u rounds up to H).
        int lo = _guide[b], hi = _guide[b + 1];
        double[] c = _cumulative;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (c[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        return lo + 1;
    }
}
