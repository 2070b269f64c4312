namespace EcsMem.Components;

/// <summary>
/// The per-process address-space descriptor (Linux mm_struct) with the fields the lecture's figure
/// shows: counters, the layout boundaries set by exec, reference counts and the page-table root.
/// A plain struct of scalars so it can be an ECS component; the VMA set and page tables live beside it.
/// </summary>
public struct MmStruct
{
    /// <summary>Id of this mm (what <see cref="Vma.MmId"/> refers to).</summary>
    public int Id;
    /// <summary>map_count: number of VMAs.</summary>
    public int MapCount;
    /// <summary>total_vm: mapped pages.</summary>
    public ulong TotalVm;
    /// <summary>locked_vm: pages in VM_LOCKED areas.</summary>
    public ulong LockedVm;
    /// <summary>pinned_vm: pages pinned by drivers (e.g. RDMA); kept for completeness.</summary>
    public ulong PinnedVm;
    /// <summary>data_vm: pages of private writable non-stack areas (VM_WRITE &amp; ~VM_SHARED &amp; ~VM_STACK).</summary>
    public ulong DataVm;
    /// <summary>exec_vm: pages of executable non-writable areas.</summary>
    public ulong ExecVm;
    /// <summary>stack_vm: pages of VM_GROWSDOWN areas.</summary>
    public ulong StackVm;
    /// <summary>rss_stat[MM_ANONPAGES]: resident anonymous pages.</summary>
    public ulong RssAnon;
    /// <summary>rss_stat[MM_FILEPAGES]: resident file pages.</summary>
    public ulong RssFile;
    /// <summary>rss_stat[MM_SHMEMPAGES]: resident shmem pages.</summary>
    public ulong RssShmem;
    /// <summary>rss_stat[MM_SWAPENTS]: swap entries in the page tables.</summary>
    public ulong SwapEnts;
    /// <summary>nr_ptes: leaf page-table pages (the old mm->nr_ptes).</summary>
    public ulong NrPtes;
    /// <summary>pgtables_bytes: bytes of all page-table pages below the root (mm_pgtables_bytes).</summary>
    public ulong PgtablesBytes;
    /// <summary>start_code: first byte of the text segment.</summary>
    public ulong StartCode;
    /// <summary>end_code: end of the text segment.</summary>
    public ulong EndCode;
    /// <summary>start_data: first byte of the initialised data segment.</summary>
    public ulong StartData;
    /// <summary>end_data: end of the initialised data (file bytes).</summary>
    public ulong EndData;
    /// <summary>start_brk: where the heap starts (page-aligned end of bss).</summary>
    public ulong StartBrk;
    /// <summary>brk: current program break (not necessarily page aligned).</summary>
    public ulong Brk;
    /// <summary>start_stack: the initial user stack pointer after exec.</summary>
    public ulong StartStack;
    /// <summary>arg_start: first byte of the argv strings.</summary>
    public ulong ArgStart;
    /// <summary>arg_end: end of the argv strings.</summary>
    public ulong ArgEnd;
    /// <summary>env_start: first byte of the environment strings.</summary>
    public ulong EnvStart;
    /// <summary>env_end: end of the environment strings.</summary>
    public ulong EnvEnd;
    /// <summary>mm_users: threads (and temporary users) sharing this address space.</summary>
    public int MmUsers;
    /// <summary>mm_count: references to the mm_struct itself (1 for all users together, plus lazy-TLB borrowers).</summary>
    public int MmCount;
    /// <summary>mmap_base: where top-down mmap placement starts searching.</summary>
    public ulong MmapBase;
    /// <summary>task_size: end of user space.</summary>
    public ulong TaskSize;
    /// <summary>pgd: id of the root page-table page (-1 before one is allocated).</summary>
    public int Pgd;
    /// <summary>Bumped on every VMA change (vmacache_seqnum) so per-thread lookup caches know to flush.</summary>
    public uint VmaSeq;
}
