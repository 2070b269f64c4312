namespace EcsMem.Scenarios;

/// <summary>The madvise(2) advices a timeline can give.</summary>
public enum MadviseAdvice : byte
{
    /// <summary>MADV_NORMAL: clears VM_RAND_READ and VM_SEQ_READ.</summary>
    Normal,
    /// <summary>MADV_RANDOM: VM_RAND_READ, no readahead on faults.</summary>
    Random,
    /// <summary>MADV_SEQUENTIAL: VM_SEQ_READ, sync readahead instead of read-around.</summary>
    Sequential,
    /// <summary>MADV_WILLNEED: read the file range into the page cache now.</summary>
    WillNeed,
    /// <summary>MADV_DONTNEED: zap the range's pages now (anonymous memory reads back as zeroes).</summary>
    DontNeed,
    /// <summary>MADV_FREE: anonymous pages become lazily freeable (dropped by reclaim unless written again).</summary>
    Free,
    /// <summary>MADV_DONTFORK: VM_DONTCOPY, fork does not copy the range.</summary>
    DontFork,
    /// <summary>MADV_DOFORK: clears VM_DONTCOPY.</summary>
    DoFork,
    /// <summary>MADV_HUGEPAGE: VM_HUGEPAGE (recorded in vm_flags; no transparent huge pages are made yet).</summary>
    HugePage,
    /// <summary>MADV_NOHUGEPAGE: VM_NOHUGEPAGE.</summary>
    NoHugePage,
    /// <summary>MADV_COLD: the range's private pages are deactivated (moved to the inactive list, young bits cleared).</summary>
    Cold,
    /// <summary>MADV_PAGEOUT: the range's private pages are reclaimed now (anonymous ones written to swap).</summary>
    PageOut,
    /// <summary>
    /// MADV_POPULATE_WRITE: the range is write-faulted in now (madvise_populate → faultin_page_range: get_user_pages with
    /// FOLL_TOUCH | FOLL_WRITE), each page marked accessed as GUP finds it.
    /// </summary>
    PopulateWrite,
}

/// <summary>The posix_fadvise(2) advices a timeline can give.</summary>
public enum FadviseAdvice : byte
{
    /// <summary>POSIX_FADV_NORMAL: the device's readahead window, FMODE_RANDOM cleared.</summary>
    Normal,
    /// <summary>POSIX_FADV_RANDOM: FMODE_RANDOM.</summary>
    Random,
    /// <summary>POSIX_FADV_SEQUENTIAL: twice the device's readahead window.</summary>
    Sequential,
    /// <summary>POSIX_FADV_WILLNEED: read the range into the page cache now.</summary>
    WillNeed,
    /// <summary>POSIX_FADV_DONTNEED: drop the range's clean, unmapped pages from the page cache.</summary>
    DontNeed,
}

/// <summary>madvise(2) on [<paramref name="Address"/>, +<paramref name="Length"/>).</summary>
public sealed record MadviseOp(ulong Address, long Length, MadviseAdvice Advice) : TimelineOp;

/// <summary>
/// Not a system call: the stores the process made to the pages of [<paramref name="Address"/>, +<paramref name="Length"/>)
/// wrote zeros (a memset to 0, a loop storing 0). The pages mapped writable there now hold only zeros until the
/// process stores to them again (a trace's stores write data), so swap-out keeps them in the swap area's zeromap
/// without I/O (swap_writeout, Linux 6.12+). Pages not mapped, mapped read-only (copy-on-write) or by a huge PMD are
/// left as they are. The timeline's <c>zero_fill: {addr, length}</c>.
/// </summary>
public sealed record ZeroFillOp(ulong Address, long Length) : TimelineOp;

/// <summary>posix_fadvise(2) on <paramref name="File"/> (as the process opened it); length 0 = to the end.</summary>
public sealed record FadviseOp(string File, long Offset, long Length, FadviseAdvice Advice) : TimelineOp;

/// <summary>echo <paramref name="Value"/> &gt; /proc/sys/vm/drop_caches (1 page cache, 2 slab, 3 both).</summary>
public sealed record DropCachesOp(int Value) : TimelineOp;
