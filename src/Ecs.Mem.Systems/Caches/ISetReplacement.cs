namespace EcsMem.Systems.Caches;

/// <summary>
/// Replacement within one set. The cache owns a per-line 64-bit <em>stamp</em> column and passes
/// the slice for the set, so a policy is stateless or carries only a tiny state (a PRNG).
/// Implementations are structs: <see cref="SetAssociativeCache{TPolicy}"/> is generic over them,
/// so the JIT specialises every call and the access path makes no virtual call.
/// </summary>
public interface ISetReplacement
{
    /// <summary>A hit on <paramref name="way"/> at time <paramref name="tick"/>.</summary>
    void OnHit(Span<ulong> stamps, int way, ulong tick);

    /// <summary>A line was installed in <paramref name="way"/> at time <paramref name="tick"/>.</summary>
    void OnFill(Span<ulong> stamps, int way, ulong tick);

    /// <summary>Chooses the way to evict from a full set.</summary>
    int Victim(ReadOnlySpan<ulong> stamps);
}
