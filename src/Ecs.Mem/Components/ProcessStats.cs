namespace EcsMem.Components;

/// <summary>
/// Per-process counters, named after /proc/&lt;pid&gt;/stat (min_flt, maj_flt) where Linux has a name,
/// and after the seed's mechanisms otherwise.
/// </summary>
public struct ProcessStats
{
    public long Accesses;
    public long InstrFetches;
    public long Loads;
    public long Stores;
    public long Modifies;
    /// <summary>min_flt: faults resolved without I/O.</summary>
    public long MinFlt;
    /// <summary>maj_flt: faults that waited for disk (file read or swap-in).</summary>
    public long MajFlt;
    /// <summary>Writes to a copy-on-write page that copied it.</summary>
    public long CowCopies;
    /// <summary>Writes to a copy-on-write page that reused it (last mapper).</summary>
    public long CowReuses;
    /// <summary>Read faults on never-written anonymous memory that mapped the shared zero page.</summary>
    public long ZeroPageMaps;
    public long StackGrowths;
    /// <summary>File faults found in the page cache.</summary>
    public long PageCacheHits;
    /// <summary>Swap-ins: from disk (major) plus from the swap cache (minor).</summary>
    public long SwapIns;
    public long SwapCacheHits;
    public long DtlbHits;
    public long ItlbHits;
    public long StlbHits;
    public long TlbMisses;
    public long PageWalkLevels;
    public long L1Misses;
    public long L2Misses;
    public long L3Misses;
    /// <summary>Cycles spent running (accesses, faults) on the CPU.</summary>
    public long CpuCycles;
    /// <summary>Cycles spent asleep waiting for I/O.</summary>
    public long IoWaitCycles;
    /// <summary>Peak resident set (pages), VmHWM.</summary>
    public long RssPeak;
}
