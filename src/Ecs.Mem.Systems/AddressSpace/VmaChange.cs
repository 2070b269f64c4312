using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

/// <summary>What happened to a virtual range, so later systems can zap PTEs, flush TLB entries or copy page tables.</summary>
public enum VmaChangeKind : byte
{
    /// <summary>The range became mapped (new mapping, heap or stack growth, or copied by fork).</summary>
    Mapped,
    /// <summary>The range stopped being mapped: its pages and PTEs must go (zap_page_range + TLB flush).</summary>
    Unmapped,
    /// <summary>The range's flags changed (mprotect): PTE protections must be rewritten (change_protection).</summary>
    Protected,
    /// <summary>mremap moved the range's page tables to <see cref="VmaChange.To"/> (move_page_tables): PTEs move, pages stay.</summary>
    Moved,
    /// <summary>madvise(MADV_DONTNEED) zapped the range's pages; the VMA stays (zap_page_range_single).</summary>
    Zapped,
}

/// <summary>One changed range [Start, End) with the flags before and after; for <see cref="VmaChangeKind.Moved"/>, where it went.</summary>
public readonly record struct VmaChange(VmaChangeKind Kind, ulong Start, ulong End, VmFlags OldFlags, VmFlags NewFlags, ulong To = 0);
