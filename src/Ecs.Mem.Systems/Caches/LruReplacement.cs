namespace EcsMem.Systems.Caches;

/// <summary>Least recently used: the stamp is the time of the last use; the oldest stamp is evicted.</summary>
public struct LruReplacement : ISetReplacement
{
    public readonly void OnHit(Span<ulong> stamps, int way, ulong tick) => stamps[way] = tick;

    public readonly void OnFill(Span<ulong> stamps, int way, ulong tick) => stamps[way] = tick;

    public readonly int Victim(ReadOnlySpan<ulong> stamps) => OldestStamp.Of(stamps);
}
