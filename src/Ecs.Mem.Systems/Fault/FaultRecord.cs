using EcsMem.Ecs;
using EcsMem.Traces;

namespace EcsMem.Systems.Fault;

// A fault's life, as the seed's arrows number it: ① the access stage raises a FaultRequest; HandleMmFault
// classifies it into a FaultRecord (FaultClass says what it needs); the allocator ② and the page-cache or
// swap-cache read ③⑥ fill it in; the fault-install system ⑦ maps it (PteInstall). Each type is one pooled
// batch per tick.

/// <summary>① The access stage found no usable translation: the process's current access faults.</summary>
public readonly record struct FaultRequest(Entity Process, ulong Va, AccessKind Kind, int Cpu = 0);

/// <summary>How HandleMmFault classified a fault, which decides what the later systems do with it.</summary>
public enum FaultClass : byte
{
    /// <summary>A stale TLB entry or a fault another path already fixed: just retry.</summary>
    Spurious,
    /// <summary>Read of never-written anonymous memory: map the shared zero page (do_anonymous_page).</summary>
    ZeroPage,
    /// <summary>First write to anonymous memory: a zero-filled frame (do_anonymous_page).</summary>
    AnonNew,
    /// <summary>Write to a copy-on-write page still shared: copy it (do_wp_page → wp_page_copy).</summary>
    CowCopy,
    /// <summary>Write to a copy-on-write page no one else maps: make it writable (do_wp_page → wp_page_reuse).</summary>
    CowReuse,
    /// <summary>Write to a read-only PTE of a shared mapping: make it writable and dirty (wp_page_shared).</summary>
    SharedWrite,
    /// <summary>File page found in the page cache: minor fault (filemap_fault hit).</summary>
    FileCached,
    /// <summary>File page not cached: read it from disk, major fault (filemap_fault miss).</summary>
    FileRead,
    /// <summary>Swapped-out page still in the swap cache: minor fault (do_swap_page, cache hit).</summary>
    SwapCached,
    /// <summary>Swapped-out page: read it back from swap, major fault (do_swap_page → swapin).</summary>
    SwapRead,
    /// <summary>
    /// A PMD-sized anonymous page (do_huge_pmd_anonymous_page, or do_huge_zero_wp_pmd replacing the huge zero page):
    /// one order-9 allocation mapped by one PMD; falls back to <see cref="AnonNew"/> when no order-9 block is free.
    /// </summary>
    HugeAnon,
    /// <summary>Read of an empty PMD range that may use THP: map the huge zero folio read-only (do_huge_pmd_anonymous_page).</summary>
    HugeZeroPage,
    /// <summary>Write to a write-protected PMD mapping of an exclusive THP: make the whole PMD writable (do_huge_pmd_wp_page reuse).</summary>
    HugeReuse,
    /// <summary>A hugetlb page from the pool (or a shared hugetlb file's page cache) mapped by a PMD (hugetlb_no_page).</summary>
    Hugetlb,
    /// <summary>Write to a write-protected hugetlb PMD of a page nothing else maps: made writable (hugetlb_wp reuse).</summary>
    HugetlbReuse,
    /// <summary>Write to a private hugetlb page shared after fork: a new pool page replaces it (hugetlb_wp copy).</summary>
    HugetlbCopy,
    /// <summary>
    /// A new anonymous mTHP (do_anonymous_page → alloc_anon_folio): the highest enabled sub-PMD order whose aligned
    /// range is in the VMA and all pte_none, mapped by its PTEs at once; falls back order by order to <see cref="AnonNew"/>.
    /// </summary>
    AnonLarge,
}

/// <summary>
/// Which way handle_mm_fault goes for a fault, decided from the VMA and the PTE alone
/// (<see cref="FaultHandlingSystem.Classify"/>); the path then settles the <see cref="FaultClass"/>.
/// </summary>
public enum FaultPath : byte
{
    /// <summary>access_error: the VMA does not allow this access (a write to a read-only area, any access to PROT_NONE).</summary>
    SegvAccess,
    /// <summary>access_error: an instruction fetch from a present no-exec page.</summary>
    SegvNoExec,
    /// <summary>The PTE is present and allows the access: a stale TLB entry, retry (spurious fault).</summary>
    Spurious,
    /// <summary>Write to a read-only PTE of a shared mapping (do_wp_page → wp_page_shared).</summary>
    SharedWrite,
    /// <summary>Write to a read-only PTE of a private mapping (do_wp_page: reuse if mapped only here, else copy).</summary>
    WriteProtect,
    /// <summary>PTE none, anonymous area, read: map the shared zero page (do_anonymous_page).</summary>
    ZeroPage,
    /// <summary>PTE none, anonymous area, write (or shared anonymous): a new zeroed page (do_anonymous_page).</summary>
    AnonNew,
    /// <summary>PTE none, file area: do_fault → filemap_fault (page cache hit or read; a private write copies).</summary>
    FileFault,
    /// <summary>The PTE holds a swap entry: do_swap_page (swap cache hit or read).</summary>
    SwapPage,
    /// <summary>A non-present PROT_NONE entry in an accessible area: the handler refuses it.</summary>
    SegvProtNone,
}

/// <summary>A fault on its way through the pipeline: what HandleMmFault decided plus what later systems added.</summary>
public struct FaultRecord
{
    public Entity Process;
    public int MmId;
    public ulong Va;
    public AccessKind Kind;
    public FaultClass Class;
    /// <summary>PTE protection bits to install.</summary>
    public ulong Prot;
    /// <summary>Frame to map: granted by the allocator, or found in a cache (pinned until installed).</summary>
    public int Pfn;
    /// <summary>The frame a COW copy copies from (pinned until installed), or -1.</summary>
    public int SourcePfn;
    public int SwapSlot;
    public int File;
    public long FileIndex;
    /// <summary>True when the fault waited for disk (counted as maj_flt).</summary>
    public bool Major;
    /// <summary>The PTE the fault saw (vmf->orig_pte): the install is dropped if it changed meanwhile (pte_same).</summary>
    public ulong OrigPte;
    /// <summary>A write to a private file mapping whose page was not cached: after the read, copy it (do_cow_fault).</summary>
    public bool CopyAfterRead;
    /// <summary>Simulated time the process went to sleep on the read (for its I/O-wait time).</summary>
    public ulong IoStart;
    /// <summary>The allocator granted this fault and holds page-table frames back for its install.</summary>
    public bool TablesReserved;
    /// <summary>Earliest time the fault may go on (its read's completion): its CPU catches up to it first.</summary>
    public ulong NotBefore;
    /// <summary>The CPU the faulting task was running on (its clock and TLB take the fault's costs and flushes).</summary>
    public int Cpu;
    /// <summary><see cref="FaultClass.AnonLarge"/>: the orders alloc_anon_folio may try (a bit per order), then the one granted.</summary>
    public int Orders, Order;
    /// <summary><see cref="FaultClass.HugeAnon"/>: the memcg reclaim rounds its charge has had so far (try_charge_memcg's retries).</summary>
    public int ChargeRetries;
    /// <summary>__alloc_pages_slowpath's no_progress_loops: direct reclaims in a row that made no progress (should_reclaim_retry).</summary>
    public int NoProgressLoops;
    /// <summary>
    /// A swap-in whose readahead window was more than one page: Linux's loop allocated the faulting folio too and its
    /// lru_add_drain moved it onto the LRU (PG_lru); EcsMem inserts it after that drain, so its batch reference is not
    /// Linux's. A one-page window skips the drain: the folio waits in the batch, holding a reference, in both.
    /// </summary>
    public bool SwapinDrained;
    /// <summary>
    /// machine.charge_after_alloc: <see cref="Pfn"/> was allocated for this fault and its memory cgroup charge failed;
    /// it is held, pinned and uncharged, through the group's reclaim, and the retry charges it (folio_prealloc's order).
    /// </summary>
    public bool AwaitsCharge;

    /// <summary>
    /// The fault ends without (or after) its install: give back what it holds — the page-table reservation and
    /// the pins on its page and on a COW source — freeing either page if nobody else wants it (put_page).
    /// </summary>
    public readonly void Drop(Kernel.Kernel kernel)
    {
        kernel.Zone.ReleaseTables(TablesReserved);
        if (Class == FaultClass.HugeAnon && Pfn >= 0)
        {
            // The order-9 folio: all 512 pages were pinned at the grant; those no PMD maps now are freed.
            for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
            {
                kernel.Zone.UnpinFrame(Pfn + i);
                kernel.Memory.ReleaseIfUnused(Pfn + i);
            }
        }
        else if (Class == FaultClass.AnonLarge && Pfn >= 0)
        {
            // An mTHP not mapped (its range changed meanwhile): its pages were all pinned at the grant.
            for (int i = 0; i < 1 << Order; i++)
            {
                kernel.Zone.UnpinFrame(Pfn + i);
                kernel.Memory.ReleaseIfUnused(Pfn + i);
            }
        }
        else if (Class is FaultClass.Hugetlb or FaultClass.HugetlbCopy && Pfn >= 0)
        {
            // A pool page this fault took but did not map (its VMA went meanwhile) goes back to the pool.
            kernel.Zone.UnpinFrame(Pfn);
            kernel.Hugetlb.DropUnmapped(Pfn);
        }
        else if (Pfn >= 0)
        {
            kernel.Zone.UnpinFrame(Pfn);
            kernel.Memory.ReleaseIfUnused(Pfn);
        }
        if (SourcePfn >= 0)
        {
            kernel.Zone.UnpinFrame(SourcePfn);
            kernel.Memory.ReleaseIfUnused(SourcePfn);
        }
    }
}

/// <summary>⑦ Map a fault's page: the PTE to install once everything it needs is in place.</summary>
public readonly record struct PteInstall(FaultRecord Fault);
