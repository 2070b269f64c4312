namespace EcsMem.Systems.Caches;

/// <summary>Random replacement from a seeded <see cref="SplitMix64"/>, so a run is reproducible.</summary>
public struct RandomReplacement : ISetReplacement
{
    private SplitMix64 _rng;

    public RandomReplacement(ulong seed) => _rng = new SplitMix64(seed);

    public readonly void OnHit(Span<ulong> stamps, int way, ulong tick) { }

    public readonly void OnFill(Span<ulong> stamps, int way, ulong tick) { }

    public int Victim(ReadOnlySpan<ulong> stamps) => (int)(_rng.Next() % (ulong)stamps.Length);
}
