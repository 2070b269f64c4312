namespace EcsMem.Tests.Physical;

/// <summary>Seeded PRNG for the randomized tests (SplitMix64), so failures reproduce on every runtime.</summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) (bound is small, so the modulo bias is negligible for tests).</summary>
    public int NextInt(int bound) => (int)(Next() % (ulong)bound);
}
