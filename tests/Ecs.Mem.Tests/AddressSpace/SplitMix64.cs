namespace EcsMem.Tests.AddressSpace;

/// <summary>Seeded SplitMix64 so randomised tests replay identically on any runtime.</summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform-ish integer in [0, n).</summary>
    public int Below(int n) => (int)(Next() % (ulong)n);
}
