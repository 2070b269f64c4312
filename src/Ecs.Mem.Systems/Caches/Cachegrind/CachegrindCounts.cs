namespace EcsMem.Systems.Caches.Cachegrind;

/// <summary>
/// Cachegrind's event totals under its own names: I = instruction reads, Dr = data reads
/// (loads and modifies), Dw = data writes; "1" = first-level misses, "L" = last-level misses.
/// </summary>
public struct CachegrindCounts
{
    public long Ir, I1mr, ILmr;
    public long Dr, D1mr, DLmr;
    public long Dw, D1mw, DLmw;

    /// <summary>LL references: every first-level miss goes to LL.</summary>
    public readonly long LLrefs => I1mr + D1mr + D1mw;
    public readonly long LLrefsRead => I1mr + D1mr;
    public readonly long LLmisses => ILmr + DLmr + DLmw;
    public readonly long LLmissesRead => ILmr + DLmr;
}
