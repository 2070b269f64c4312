using EcsMem.Traces;

namespace EcsMem.Systems.Tlb;

/// <summary>⑧ A page walk found a usable PTE: fill the TLB with it.</summary>
public readonly record struct TlbFillRequest(ulong Va, ulong Pte, AccessKind Kind, int Cpu = 0);
