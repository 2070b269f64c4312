using EcsMem.Ecs;
using EcsMem.Traces;

namespace EcsMem.Systems.Kernel;

// The work items that flow between the systems of one tick (each type is one pooled batch per tick).
// They follow the seed's arrows: ① page request (FaultRequest) → ② allocate (AllocRequest) → ③ page
// cache (PageCacheInsertRequest) → ④⑤ swap out (ReclaimRequest) → ⑥ swap cache → ⑦ page-table rewrite
// (PteRewrite, PteInstall) → ⑧ TLB (TlbFillRequest).

/// <summary>① The access stage found no usable translation: the process's current access faults.</summary>
public readonly record struct FaultRequest(Entity Process, ulong Va, AccessKind Kind);

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
}

/// <summary>② A fault that needs a frame (or page-table pages) from the allocator.</summary>
public readonly record struct AllocRequest(FaultRecord Fault, bool NeedsFrame);

/// <summary>③/⑥ A freshly allocated frame to enter the page cache or swap cache and be read from disk.</summary>
public readonly record struct PageCacheInsertRequest(FaultRecord Fault);

/// <summary>④ Reclaim work: free <see cref="Pages"/> pages, directly (an allocation is stalled) or as kswapd.</summary>
public readonly record struct ReclaimRequest(bool Direct, int Pages, Entity ForProcess);

/// <summary>⑧ A page walk found a usable PTE: fill the TLB with it.</summary>
public readonly record struct TlbFillRequest(ulong Va, ulong Pte, AccessKind Kind);

/// <summary>⑦ Map a fault's page: the PTE to install once everything it needs is in place.</summary>
public readonly record struct PteInstall(FaultRecord Fault);

/// <summary>⑦ Rewrite one PTE that maps an evicted frame: to a swap entry (anonymous) or to none (file).</summary>
public readonly record struct PteRewrite(int MmId, ulong Va, int Pfn, ulong NewPte);

/// <summary>⑦ After its PTEs are rewritten, an evicted frame leaves its cache and returns to the buddy allocator.</summary>
public readonly record struct FrameRelease(int Pfn);

/// <summary>A process ends (its workload ran out, or a signal killed it).</summary>
public readonly record struct ExitRequest(Entity Process, int Signal);
