namespace EcsMem.Scenarios;

/// <summary>mprotect(2): change the protection of [Address, Address + Length).</summary>
/// <param name="Address">Page-aligned start.</param>
/// <param name="Length">Length in bytes (rounded up to whole pages).</param>
/// <param name="Protection">New PROT_* bits.</param>
public sealed record MprotectOp(ulong Address, long Length, Protection Protection) : TimelineOp;
