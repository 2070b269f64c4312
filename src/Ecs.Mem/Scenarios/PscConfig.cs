namespace EcsMem.Scenarios;

/// <summary>
/// The paging-structure caches of each CPU (Intel SDM vol. 3A §4.10.3, <c>machine.tlb.psc</c>): one cache per
/// upper paging level, each holding the address of the next table for a range of linear addresses. A null level is
/// a cache the core does not have. The caches a paging mode cannot use are ignored (the PML5E cache without LA57,
/// the PDPTE and PML4E caches with 32-bit paging). Absent (<see cref="MachineConfig.Psc"/> null): no caches, every
/// walk reads all its levels.
/// </summary>
/// <param name="Pde">PDE cache (linear-address bits 47:21 → the page table).</param>
/// <param name="Pdpte">PDPTE cache (bits 47:30 → the page directory).</param>
/// <param name="Pml4e">PML4E cache (bits 47:39 → the page-directory-pointer table).</param>
/// <param name="Pml5e">PML5E cache (5-level paging only: bits 56:48 → the PML4 table).</param>
public sealed record PscConfig(TlbConfig? Pde, TlbConfig? Pdpte, TlbConfig? Pml4e, TlbConfig? Pml5e)
{
    /// <summary>The scenario key of each cache, by the level of the entry it caches (1: PDE … 4: PML5E).</summary>
    public static readonly string[] Keys = ["pde", "pdpte", "pml4e", "pml5e"];

    /// <summary>The cache of entries at paging level <paramref name="level"/> (1: PDE, 2: PDPTE, 3: PML4E, 4: PML5E).</summary>
    public TlbConfig? At(int level) => level switch
    {
        1 => Pde,
        2 => Pdpte,
        3 => Pml4e,
        4 => Pml5e,
        _ => null,
    };
}
