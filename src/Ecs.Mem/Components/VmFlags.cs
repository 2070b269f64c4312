namespace EcsMem.Components;

/// <summary>
/// Per-VMA flags (vm_area_struct.vm_flags) with the bit values of Linux include/linux/mm.h,
/// so flag words read from kernel dumps or papers mean the same thing here.
/// </summary>
[Flags]
public enum VmFlags : ulong
{
    None = 0,
    /// <summary>VM_READ: pages may be read.</summary>
    Read = 0x0000_0001,
    /// <summary>VM_WRITE: pages may be written.</summary>
    Write = 0x0000_0002,
    /// <summary>VM_EXEC: pages may be executed.</summary>
    Exec = 0x0000_0004,
    /// <summary>VM_SHARED: writes go to the shared object (shared writable mapping).</summary>
    Shared = 0x0000_0008,
    /// <summary>VM_MAYREAD: mprotect may add READ.</summary>
    MayRead = 0x0000_0010,
    /// <summary>VM_MAYWRITE: mprotect may add WRITE.</summary>
    MayWrite = 0x0000_0020,
    /// <summary>VM_MAYEXEC: mprotect may add EXEC.</summary>
    MayExec = 0x0000_0040,
    /// <summary>VM_MAYSHARE: mapped MAP_SHARED (printed as 's' in /proc/pid/maps).</summary>
    MayShare = 0x0000_0080,
    /// <summary>VM_GROWSDOWN: a stack that grows down on faults below it.</summary>
    GrowsDown = 0x0000_0100,
    /// <summary>VM_UFFD_MISSING: userfaultfd missing-page tracking.</summary>
    UffdMissing = 0x0000_0200,
    /// <summary>VM_PFNMAP: raw PFNs, no struct page behind them.</summary>
    PfnMap = 0x0000_0400,
    /// <summary>VM_UFFD_WP: userfaultfd write-protect tracking.</summary>
    UffdWp = 0x0000_1000,
    /// <summary>VM_LOCKED: mlock()ed, never reclaimed; counted in locked_vm.</summary>
    Locked = 0x0000_2000,
    /// <summary>VM_IO: memory-mapped I/O.</summary>
    Io = 0x0000_4000,
    /// <summary>VM_SEQ_READ: madvise(MADV_SEQUENTIAL).</summary>
    SeqRead = 0x0000_8000,
    /// <summary>VM_RAND_READ: madvise(MADV_RANDOM).</summary>
    RandRead = 0x0001_0000,
    /// <summary>VM_DONTCOPY: not inherited by fork (MADV_DONTFORK).</summary>
    DontCopy = 0x0002_0000,
    /// <summary>VM_DONTEXPAND: cannot be grown by mremap.</summary>
    DontExpand = 0x0004_0000,
    /// <summary>VM_LOCKONFAULT: lock pages as they are faulted in.</summary>
    LockOnFault = 0x0008_0000,
    /// <summary>VM_ACCOUNT: charged to the overcommit accounting.</summary>
    Account = 0x0010_0000,
    /// <summary>VM_NORESERVE: no swap reservation (MAP_NORESERVE).</summary>
    NoReserve = 0x0020_0000,
    /// <summary>VM_HUGETLB: hugetlbfs mapping.</summary>
    HugeTlb = 0x0040_0000,
    /// <summary>VM_SYNC: synchronous page faults (DAX).</summary>
    Sync = 0x0080_0000,
    /// <summary>VM_WIPEONFORK: child gets zero pages (MADV_WIPEONFORK).</summary>
    WipeOnFork = 0x0200_0000,
    /// <summary>VM_DONTDUMP: excluded from core dumps.</summary>
    DontDump = 0x0400_0000,
    /// <summary>VM_SOFTDIRTY: soft-dirty tracking; ignored when deciding merges, as in Linux.</summary>
    SoftDirty = 0x0800_0000,
    /// <summary>VM_MIXEDMAP: mix of struct-page and raw PFN pages.</summary>
    MixedMap = 0x1000_0000,
    /// <summary>VM_HUGEPAGE: madvise(MADV_HUGEPAGE).</summary>
    HugePage = 0x2000_0000,
    /// <summary>VM_NOHUGEPAGE: madvise(MADV_NOHUGEPAGE).</summary>
    NoHugePage = 0x4000_0000,
    /// <summary>VM_MERGEABLE: KSM may merge these pages.</summary>
    Mergeable = 0x8000_0000,

    /// <summary>The access bits mprotect replaces (VM_READ|VM_WRITE|VM_EXEC).</summary>
    AccessMask = Read | Write | Exec,
    /// <summary>VM_SPECIAL: mappings vma_merge never merges or expands.</summary>
    Special = Io | DontExpand | PfnMap | MixedMap,
    /// <summary>VM_DATA_DEFAULT_FLAGS on x86 without READ_IMPLIES_EXEC, used for brk and anonymous data.</summary>
    DataDefault = Read | Write | MayRead | MayWrite | MayExec,
    /// <summary>VM_STACK_DEFAULT_FLAGS plus VM_GROWSDOWN and VM_ACCOUNT as setup_arg_pages gives the stack.</summary>
    StackDefault = Read | Write | MayRead | MayWrite | MayExec | GrowsDown | Account,
}
