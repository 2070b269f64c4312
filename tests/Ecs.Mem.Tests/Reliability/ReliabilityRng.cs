namespace EcsMem.Tests.Reliability;

/// <summary>Seeded SplitMix64 for the reliability tests: the same seed replays the same cases on any runtime.</summary>
internal struct ReliabilityRng
{
    private ulong _state;

    public ReliabilityRng(ulong seed) => _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>An integer in [0, n) (the modulo bias is irrelevant for tests).</summary>
    public int Below(int n) => (int)(Next() % (ulong)n);

    public bool Chance(int percent) => Below(100) < percent;
}
