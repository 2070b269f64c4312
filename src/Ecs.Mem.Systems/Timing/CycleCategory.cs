namespace EcsMem.Systems.Timing;

/// <summary>Where simulated cycles went (the columns of the cycles-per-access breakdown).</summary>
public enum CycleCategory : byte
{
    /// <summary>Address translation: STLB hits and page walks.</summary>
    Translation = 0,
    /// <summary>Caches and DRAM serving the access itself.</summary>
    Memory = 1,
    /// <summary>Page faults: minor (kernel work) and major (waiting for the disk).</summary>
    Fault = 2,
    /// <summary>Reclaim: writing pages out to swap or files, TLB shootdowns for unmapped pages.</summary>
    Reclaim = 3,
    /// <summary>Context switches.</summary>
    Switch = 4,
    /// <summary>TLB shootdowns: the initiator's wait for its IPIs and the receivers' remote flushes (several CPUs only).</summary>
    Shootdown = 5,
    /// <summary>
    /// Kernel work on a CPU that is neither a fault nor a switch: reclaim's own scanning when writes complete in
    /// simulated time (async writeback), khugepaged's scan and copies. Shown only when some was charged.
    /// </summary>
    Kernel = 6,
    /// <summary>
    /// Compaction's work (mm/compaction.c): the migrate and free scanners' pages and the migrated pages' copies, on the
    /// CPU that compacts — the allocating task's for direct compaction (it stalls meanwhile), CPU 0 for kcompactd.
    /// Shown only when some was charged.
    /// </summary>
    Compaction = 7,
}
