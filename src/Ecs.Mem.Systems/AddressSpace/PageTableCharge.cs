using System.Runtime.CompilerServices;

namespace EcsMem.Systems.AddressSpace;

/// <summary>What the memcg charge of one page-table page did (pte_alloc_one's GFP_PGTABLE_USER, which has __GFP_ACCOUNT).</summary>
public enum PageTableChargeOutcome : byte
{
    /// <summary>No group was charged (no memory controller, or a table outside any mm's accounting).</summary>
    Uncharged,

    /// <summary>Charged within every memory.max (from the CPU's stock or the counters).</summary>
    Charged,

    /// <summary>
    /// The charge found a group at its memory.max (try_charge_memcg's mem_over_limit): the table is charged anyway and the
    /// caller owes that group a reclaim (Linux's try_charge_memcg reclaims before it charges).
    /// </summary>
    OverMax,
}

/// <summary>
/// The charge of one page-table page, returned by <see cref="IPageTableAllocator.TableAllocated"/>:
/// <paramref name="Outcome"/>, and for <see cref="PageTableChargeOutcome.OverMax"/> the id of the group found at its
/// memory.max (<paramref name="OverMemcg"/>, else -1). <paramref name="OverHighPages"/>: the pages a charge within the
/// limits put on the counters (its batch) while a group from its own up stood above memory.high, which try_charge_memcg
/// adds to current's memcg_nr_pages_over_high (0 when none was, or the CPU's stock served the charge).
/// </summary>
public readonly record struct PageTableCharge(PageTableChargeOutcome Outcome, int OverMemcg = -1, long OverHighPages = 0)
{
    /// <summary>No group charged.</summary>
    public static PageTableCharge Uncharged => default;

    /// <summary>Charged within the limits, <paramref name="overHighPages"/> of the batch above some memory.high.</summary>
    public static PageTableCharge Charged(long overHighPages = 0) => new(PageTableChargeOutcome.Charged, OverHighPages: overHighPages);

    /// <summary>Charged above the memory.max of group <paramref name="memcg"/>, which is owed a reclaim.</summary>
    public static PageTableCharge OverMax(int memcg) => new(PageTableChargeOutcome.OverMax, memcg);
}

/// <summary>
/// The charges of the page-table pages one allocating walk made (<see cref="PageTable.PteAlloc"/>: p4d_alloc, pud_alloc,
/// pmd_alloc, pte_alloc, at most one table a level below the root), returned to the caller, who decides on the reclaim
/// a charge at memory.max owes: <see cref="OverMax"/>, and the groups found at their limit in allocation order.
/// A value, no allocation: at most <see cref="MaxTables"/> tables a walk.
/// </summary>
public struct PageTableCharges
{
    /// <summary>Tables one walk can allocate: every level below the root of 5-level paging.</summary>
    public const int MaxTables = 4;

    private OverGroups _over;

    /// <summary>Tables the walk allocated.</summary>
    public int Allocated { get; private set; }

    /// <summary>How many of them found a group at its memory.max.</summary>
    public int OverMaxCount { get; private set; }

    /// <summary>True when some table's charge found a group at its memory.max: a reclaim is owed.</summary>
    public readonly bool OverMax => OverMaxCount > 0;

    /// <summary>
    /// The pages the walk's charges added above memory.high (<see cref="PageTableCharge.OverHighPages"/> summed): the
    /// caller adds them to its task's memcg_nr_pages_over_high, paid at the task's return to user space.
    /// </summary>
    public long OverHighPages { get; private set; }

    /// <summary>The group the <paramref name="i"/>-th charge above a limit found there (0 ≤ i &lt; <see cref="OverMaxCount"/>).</summary>
    public readonly int OverMemcg(int i) =>
        (uint)i < (uint)OverMaxCount ? _over[i] : throw new ArgumentOutOfRangeException(nameof(i), i, "no such charge above memory.max");

    /// <summary>Adds one allocated table's charge.</summary>
    internal void Add(in PageTableCharge charge)
    {
        Allocated++;
        OverHighPages += charge.OverHighPages;
        if (charge.Outcome == PageTableChargeOutcome.OverMax)
            _over[OverMaxCount++] = charge.OverMemcg;
    }

    [InlineArray(MaxTables)]
    private struct OverGroups
    {
        private int _first;
    }
}
