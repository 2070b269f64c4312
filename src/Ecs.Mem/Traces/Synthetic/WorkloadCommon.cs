namespace EcsMem.Traces.Synthetic;

/// <summary>
/// Parameters every synthetic workload shares.
/// </summary>
/// <param name="Count">Number of accesses to generate.</param>
/// <param name="Seed">PRNG seed; the same seed gives the same trace.</param>
/// <param name="Base">Lowest virtual address of the region.</param>
/// <param name="Process">Process id written into every access.</param>
/// <param name="Size">Bytes per access.</param>
/// <param name="Writes">Fraction of accesses that are stores (the rest are loads); 0 draws no random numbers for kinds.</param>
public readonly record struct WorkloadCommon(long Count, ulong Seed, ulong Base, int Process, ushort Size, double Writes);
