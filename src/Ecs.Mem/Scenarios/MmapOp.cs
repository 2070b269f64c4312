namespace EcsMem.Scenarios;

/// <summary>mmap(2): create a mapping.</summary>
/// <param name="Address">Requested address (a hint unless <paramref name="Fixed"/>), or null to let the kernel choose.</param>
/// <param name="Length">Length in bytes (the kernel rounds it up to whole pages).</param>
/// <param name="Protection">PROT_* bits.</param>
/// <param name="Shared">MAP_SHARED (true) or MAP_PRIVATE (false).</param>
/// <param name="File">Backing file path, or null for MAP_ANONYMOUS.</param>
/// <param name="FileOffset">Offset into <paramref name="File"/>, page aligned (0 for anonymous mappings).</param>
/// <param name="Fixed">MAP_FIXED: map exactly at <paramref name="Address"/>, replacing whatever was there.</param>
public sealed record MmapOp(ulong? Address, long Length, Protection Protection, bool Shared, string? File, long FileOffset, bool Fixed)
    : TimelineOp
{
    /// <summary>MAP_LOCKED: the mapping starts VM_LOCKED.</summary>
    public bool Locked { get; init; }

    /// <summary>MAP_POPULATE: the whole mapping is faulted in by the call (mm_populate), as the kernel does.</summary>
    public bool Populate { get; init; }

    /// <summary>MAP_NORESERVE: VM_NORESERVE, no commit charge.</summary>
    public bool NoReserve { get; init; }

    /// <summary>MAP_HUGETLB: an anonymous mapping of 2 MiB pages from the hugetlb pool.</summary>
    public bool HugeTlb { get; init; }

    /// <summary>The descriptor to map (an open or memfd_create made earlier), instead of <see cref="File"/>; null: none.</summary>
    public int? Fd { get; init; }
}
