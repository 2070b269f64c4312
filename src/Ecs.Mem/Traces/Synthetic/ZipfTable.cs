namespace EcsMem.Traces.Synthetic;

/// <summary>
/// Exact Zipf sampling by inverse CDF: rank k (1-based, of n) has probability
/// <c>k^-alpha / H(n, alpha)</c> where <c>H(n, alpha) = sum_{i=1..n} i^-alpha</c>. The cumulative
/// sums are precomputed once (8 bytes per rank) and a uniform draw is located by binary search,
/// so sampling costs O(log n) and has no approximation error beyond double rounding.
/// </summary>
public sealed class ZipfTable
{
    /// <summary>Largest n accepted: the table then takes 128 MiB.</summary>
    public const long MaxRanks = 1L << 24;

    private readonly double[] _cumulative;

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
    }

    public long N { get; }

    public double Alpha { get; }

    /// <summary>The generalised harmonic number H(n, alpha), the normalising constant.</summary>
    public double Harmonic { get; }

    /// <summary>Draws a rank in [1, N].</summary>
    public long Sample(ref Xoshiro256StarStar rng)
    {
        double u = rng.NextDouble() * Harmonic;
        // Smallest index whose cumulative sum exceeds u.
        long lo = 0, hi = N - 1;
        double[] c = _cumulative;
        while (lo < hi)
        {
            long mid = (lo + hi) >>> 1;
            if (c[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        return lo + 1;
    }
}
