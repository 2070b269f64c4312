namespace EcsMem.Systems.Caches;

/// <summary>First in, first out: the stamp is the fill time and hits do not refresh it.</summary>
public struct FifoReplacement : ISetReplacement
{
    public readonly void OnHit(Span<ulong> stamps, int way, ulong tick) { }

    public readonly void OnFill(Span<ulong> stamps, int way, ulong tick) => stamps[way] = tick;

    public readonly int Victim(ReadOnlySpan<ulong> stamps) => OldestStamp.Of(stamps);
}
