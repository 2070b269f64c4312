namespace EcsMem.Systems.Tlb;

/// <summary>
/// The TLB-relevant part of an mm_struct (Linux mm_context_t on x86): a ctx_id that is unique and never
/// reused, and tlb_gen, bumped every time the mm's page tables change in a way that needs a flush
/// (inc_mm_tlb_gen). A CPU whose ASID slot remembers an older tlb_gen for this ctx_id holds stale entries.
/// Create with <see cref="TlbSystem.CreateMm"/> (init_new_context).
/// </summary>
public sealed class MmContext
{
    internal MmContext(ulong ctxId, ulong nextTrim)
    {
        CtxId = ctxId;
        TlbGen = 1; // init_new_context starts every mm at generation 1
        NextTrimCpumask = nextTrim;
    }

    /// <summary>mm->context.ctx_id: identifies the mm forever (ASID slots remember it).</summary>
    public ulong CtxId { get; }

    /// <summary>mm->context.tlb_gen: generation of the mm's page tables.</summary>
    public ulong TlbGen { get; internal set; }

    /// <summary>
    /// mm_cpumask: bit i set once CPU i has loaded this mm. Since Linux 6.14 switch_mm leaves the bit set when
    /// the CPU switches away; a shootdown that reaches a CPU no longer running the mm clears it (trimming).
    /// </summary>
    public ulong CpuMask { get; internal set; }

    /// <summary>mm->context.next_trim_cpumask: the time after which a shootdown also visits (and trims) CPUs that left the mm.</summary>
    public ulong NextTrimCpumask { get; internal set; }

    public override string ToString() => $"mm(ctx {CtxId}, gen {TlbGen})";
}
