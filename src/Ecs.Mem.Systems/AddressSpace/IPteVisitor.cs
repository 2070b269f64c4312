namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// Receives each non-empty leaf entry that <see cref="PageTable.UnmapRange{TVisitor}"/> clears, so the
/// caller can drop the page's reference or free its swap slot (zap_pte_range). Implement on a struct:
/// the generic call is then devirtualised and allocation free.
/// </summary>
public interface IPteVisitor
{
    void Visit(ulong va, ulong pte);
}

/// <summary>
/// Receives each non-empty leaf entry that <see cref="PageTable.VisitRange{TVisitor}"/> walks, by reference so
/// the caller can rewrite it (fork's write-protect, mprotect's pte_modify). Implement on a struct.
/// </summary>
public interface IPteRefVisitor
{
    void Visit(ulong va, ref ulong pte);
}
