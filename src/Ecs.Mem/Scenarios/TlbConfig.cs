namespace EcsMem.Scenarios;

/// <summary>Geometry of one TLB (4 KiB-page entries).</summary>
/// <param name="Entries">Total entries.</param>
/// <param name="Ways">Associativity; equal to <paramref name="Entries"/> for a fully associative TLB.</param>
public sealed record TlbConfig(int Entries, int Ways)
{
    /// <summary>Number of sets: entries / ways. The parser guarantees it is a power of two.</summary>
    public int Sets => Entries / Ways;
}
