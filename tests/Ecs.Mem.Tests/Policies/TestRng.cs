namespace EcsMem.Tests.Policies;

/// <summary>
/// The test project's own xoshiro256** (seeded by SplitMix64) and Lemire bounded draw, written from the
/// published algorithm descriptions, so the Random policy is checked against an independent generator.
/// </summary>
internal struct TestRng
{
    private ulong _a, _b, _c, _d;

    public TestRng(ulong seed)
    {
        _a = Mix(ref seed);
        _b = Mix(ref seed);
        _c = Mix(ref seed);
        _d = Mix(ref seed);
    }

    private static ulong Mix(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Rotl(ulong x, int k) => (x << k) | (x >> (64 - k));

    public ulong Next()
    {
        ulong result = Rotl(_b * 5, 7) * 9;
        ulong t = _b << 17;
        _c ^= _a;
        _d ^= _b;
        _b ^= _c;
        _a ^= _d;
        _c ^= t;
        _d = Rotl(_d, 45);
        return result;
    }

    /// <summary>Uniform in [0, n): 32-bit multiply-shift, rejecting the biased low products.</summary>
    public uint Below(uint n)
    {
        while (true)
        {
            ulong m = (Next() >> 32) * n;
            if ((uint)m >= (0u - n) % n) return (uint)(m >> 32);
        }
    }

    public double Unit() => (Next() >> 11) / 9007199254740992.0;
}

/// <summary>Seeded reference strings for the tests: uniform and zipf-like.</summary>
internal static class TestTraces
{
    public static ulong[] Uniform(ulong seed, int length, int distinct)
    {
        var rng = new TestRng(seed);
        var pages = new ulong[length];
        for (int i = 0; i < length; i++) pages[i] = Scramble(rng.Below((uint)distinct));
        return pages;
    }

    /// <summary>Zipf-like: rank r (1-based) drawn with weight 1/r^alpha by inverse CDF (linear scan; small n).</summary>
    public static ulong[] Zipf(ulong seed, int length, int distinct, double alpha)
    {
        var cdf = new double[distinct];
        double sum = 0;
        for (int r = 0; r < distinct; r++)
        {
            sum += 1.0 / Math.Pow(r + 1, alpha);
            cdf[r] = sum;
        }
        var rng = new TestRng(seed);
        var pages = new ulong[length];
        for (int i = 0; i < length; i++)
        {
            double u = rng.Unit() * sum;
            int r = 0;
            while (r < distinct - 1 && cdf[r] <= u) r++;
            pages[i] = Scramble((uint)r);
        }
        return pages;
    }

    /// <summary>Spreads small ranks over the 64-bit page space so the page→frame map sees realistic keys.</summary>
    private static ulong Scramble(uint r) => r * 0x0000_0F3D_5A1B_C001UL % ((1UL << 52) - 1);
}
