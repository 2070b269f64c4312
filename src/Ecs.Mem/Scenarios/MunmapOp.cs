namespace EcsMem.Scenarios;

/// <summary>munmap(2): remove the mappings in [Address, Address + Length).</summary>
/// <param name="Address">Page-aligned start.</param>
/// <param name="Length">Length in bytes (rounded up to whole pages).</param>
public sealed record MunmapOp(ulong Address, long Length) : TimelineOp;
