namespace EcsMem.Traces.Synthetic;

/// <summary>
/// The xoshiro256** generator (Blackman and Vigna, 2018), seeded through SplitMix64 as its authors
/// recommend. Written here rather than using System.Random so a seed gives the same trace on every
/// machine and every .NET version.
/// </summary>
public struct Xoshiro256StarStar
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256StarStar(ulong seed)
    {
        // SplitMix64 spreads any seed (even 0) over the 256-bit state, which must not be all zero.
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>One step of SplitMix64 (Steele, Lea and Flood): advances <paramref name="x"/> and returns a mixed value.</summary>
    public static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// A uniform integer in [0, <paramref name="n"/>), without modulo bias: Lemire's multiply-shift
    /// with rejection of the few low products that would over-represent some results.
    /// </summary>
    public ulong NextBelow(ulong n)
    {
        ulong hi = Math.BigMul(NextUInt64(), n, out ulong lo);
        if (lo < n)
        {
            ulong threshold = (0 - n) % n;
            while (lo < threshold)
                hi = Math.BigMul(NextUInt64(), n, out lo);
        }
        return hi;
    }

    /// <summary>
    /// A uniform integer in [0, <paramref name="bound"/>) from the high 32 bits of one draw (Lemire's
    /// multiply with rejection, 32-bit form): the random replacement policy's victim choice.
    /// </summary>
    public uint NextBelow(uint bound)
    {
        ulong m = (NextUInt64() >> 32) * bound;
        uint low = (uint)m;
        if (low < bound)
        {
            uint threshold = (0u - bound) % bound;
            while (low < threshold)
            {
                m = (NextUInt64() >> 32) * bound;
                low = (uint)m;
            }
        }
        return (uint)(m >> 32);
    }
}
