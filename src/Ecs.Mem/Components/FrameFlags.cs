namespace EcsMem.Components;

/// <summary>
/// State bits of a physical page frame, mirroring the Linux <c>enum pageflags</c> bits (include/linux/page-flags.h)
/// plus the page-type and mapping tags Linux keeps outside <c>page-&gt;flags</c>.
/// </summary>
[Flags]
public enum FrameFlags : uint
{
    /// <summary>No flag set: an allocated page nobody has described yet.</summary>
    None = 0,

    /// <summary>PG_locked: the page is under I/O or otherwise pinned by a lock holder (lock_page()).</summary>
    Locked = 1u << 0,

    /// <summary>PG_referenced: accessed since the LRU last looked (mark_page_accessed(), second-chance bit).</summary>
    Referenced = 1u << 1,

    /// <summary>PG_dirty: content differs from its backing store and must be written before reuse.</summary>
    Dirty = 1u << 2,

    /// <summary>PG_lru: the page sits on one of the LRU lists.</summary>
    Lru = 1u << 3,

    /// <summary>PG_active: on the active rather than the inactive LRU list.</summary>
    Active = 1u << 4,

    /// <summary>PG_swapbacked: backed by swap (anonymous or shmem) rather than by a file.</summary>
    SwapBacked = 1u << 5,

    /// <summary>PG_swapcache: the page is in the swap cache (has a swap slot in <c>private</c>).</summary>
    SwapCache = 1u << 6,

    /// <summary>PG_writeback: write-out to the backing store is in flight.</summary>
    Writeback = 1u << 7,

    /// <summary>PageBuddy page type: the frame heads a free block owned by the buddy allocator.</summary>
    Buddy = 1u << 8,

    /// <summary>PG_slab (now a page type): the frame belongs to a slab cache.</summary>
    Slab = 1u << 9,

    /// <summary>PAGE_MAPPING_ANON, the low bit of <c>page-&gt;mapping</c>: the mapping field names an anonymous owner, not a file.</summary>
    Anon = 1u << 10,

    /// <summary>
    /// Free on a per-CPU page list (pcp-&gt;lists): not in the buddy allocator, not counted in NR_FREE_PAGES, not in
    /// use. Linux marks such a page with nothing but its zero refcount; the simulator tags it to catch double frees.
    /// </summary>
    PcpList = 1u << 11,

    /// <summary>
    /// PG_readahead: the marker page of a readahead window; a fault or read that finds it starts the next window
    /// asynchronously (page_cache_async_ra). Fault-around leaves it unmapped so that the fault happens.
    /// </summary>
    Readahead = 1u << 12,

    /// <summary>
    /// A shmem page: a page of a shmem object's page cache (a MAP_SHARED|MAP_ANONYMOUS area's, shmem_zero_setup, or
    /// a memfd's). Counted in MM_SHMEMPAGES (RssShmem), smaps' Pss_Shmem and NR_SHMEM, not in MM_ANONPAGES. As in
    /// Linux it is swap-backed (on the anon LRU) but not <see cref="Anon"/>: it takes the page-cache rmap, and
    /// reclaim swaps it out through shmem_writeout (docs/kernel.md, "Shmem").
    /// </summary>
    Shmem = 1u << 13,

    /// <summary>
    /// A page of an order-9 anonymous folio not split yet (PG_head on the first, a compound tail on the others): the
    /// folio a THP fault allocated (do_huge_pmd_anonymous_page). Its head is the 512-aligned pfn. split_huge_page
    /// clears it on all 512 pages.
    /// </summary>
    Thp = 1u << 14,

    /// <summary>On a THP's head page: the folio is on the deferred split queue (deferred_split_folio), partly unmapped.</summary>
    DeferredSplit = 1u << 15,

    /// <summary>PG_workingset: the page was active before (deactivated by shrink_active_list, or refaulted while part of the workingset).</summary>
    Workingset = 1u << 16,

    /// <summary>PG_unevictable: on LRU_UNEVICTABLE (found in a VM_LOCKED area by reclaim), skipped by every scan until munlock.</summary>
    Unevictable = 1u << 17,

    /// <summary>
    /// PG_reclaim: reclaim wants the page gone once its writeback ends (pageout sets it before the write;
    /// folio_end_writeback then rotates the page to the inactive tail, folio_rotate_reclaimable). Linux shares the bit
    /// with PG_readahead; EcsMem keeps it apart.
    /// </summary>
    Reclaim = 1u << 18,

    /// <summary>
    /// A page of a hugetlb pool folio (PG_hugetlb on the head): one of the 512 frames of a 2 MiB page the pool took from
    /// the buddy allocator. Never on the LRU, never swapped, never freed to the buddy allocator page by page.
    /// </summary>
    Hugetlb = 1u << 19,

    /// <summary>
    /// The page holds only zeros (EcsMem's stand-in for is_folio_zero_filled, which reads the data): set where the
    /// scenario says the program stored zeros into a mapped page (the timeline's <c>zero_fill</c>) and on a swap-in
    /// from a slot in the swap area's zeromap; cleared by any store the trace makes (a trace's stores write data),
    /// which for such a page always takes the page walk (its TLB entry never carries the dirty permission). Read by
    /// swap_writeout: a zero-filled page is not written, its slot is marked in the zeromap (swpout_zero).
    /// </summary>
    ZeroFilled = 1u << 20,

    /// <summary>
    /// PG_reserved, as EcsMem uses it: a page the simulated programs never get, held from boot by the machine's other
    /// users (<c>machine.free_area</c>'s held pages; the kernel image's pages in Linux). Never on the LRU, never
    /// mapped, freed or reclaimed; compaction moves one (the flag and the pin go with it), as the movable memory it
    /// stands for.
    /// </summary>
    Reserved = 1u << 21,
}
