namespace EcsMem.Scenarios;

/// <summary>
/// The page-table format of the simulated MMU. The numeric value is the number of page-table levels
/// a hardware walk visits, so a walk costs <c>(int)mode × walk_level</c> cycles in the simplest model.
/// </summary>
public enum PagingMode
{
    /// <summary>32-bit x86 without PAE: 2 levels (page directory, page table), 4 GiB virtual and physical.</summary>
    X86 = 2,

    /// <summary>x86-64 4-level paging (PGD, PUD, PMD, PTE): 48-bit virtual addresses.</summary>
    X86_64 = 4,

    /// <summary>x86-64 with LA57 5-level paging (adds P4D): 57-bit virtual addresses.</summary>
    X86_64La57 = 5,
}
