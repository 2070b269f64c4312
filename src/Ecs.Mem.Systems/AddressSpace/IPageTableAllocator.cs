namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// Hook called when a page-table page is allocated or freed, so the physical-memory system can charge a
/// frame for it (pte_alloc_one / pte_free). Called once per table, never per access.
/// </summary>
public interface IPageTableAllocator
{
    /// <summary>
    /// A table page was allocated at <paramref name="level"/> (0 = PTE table, Levels-1 = PGD). Returns what its memcg
    /// charge did; the page table hands it back to the walk's caller (<see cref="PageTable.PteAlloc"/>), who owes the
    /// reclaim of a charge at memory.max.
    /// </summary>
    PageTableCharge TableAllocated(int pageId, int level);

    /// <summary>A table page was freed.</summary>
    void TableFreed(int pageId, int level);
}
