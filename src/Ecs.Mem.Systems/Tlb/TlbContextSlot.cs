namespace EcsMem.Systems.Tlb;

/// <summary>
/// One dynamic ASID slot of a CPU (Linux struct tlb_context): which mm last used the ASID and up to which
/// tlb_gen the CPU's entries for that ASID are known to be current.
/// </summary>
public struct TlbContextSlot
{
    /// <summary>ctx_id of the mm that owns the slot; 0 = never used (real ctx_ids start at 1).</summary>
    public ulong CtxId;

    /// <summary>The mm tlb_gen the entries tagged with this ASID are up to date with.</summary>
    public ulong TlbGen;
}
