using EcsMem.Simulation;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// Flush and ASID counters. The first four carry Linux's /proc/vmstat names (CONFIG_DEBUG_TLBFLUSH,
/// enum vm_event_item NR_TLB_*), counted where Linux counts them; the switch counters are EcsMem's own.
/// Per-TLB hit/miss/fill/evict counters are registered by <see cref="SetAssociativeTlb"/>.
/// </summary>
internal readonly struct TlbCounters
{
    public TlbCounters(CounterRegistry registry)
    {
        LocalFlushAll = registry.Register("nr_tlb_local_flush_all");
        LocalFlushOne = registry.Register("nr_tlb_local_flush_one");
        RemoteFlush = registry.Register("nr_tlb_remote_flush");
        RemoteFlushReceived = registry.Register("nr_tlb_remote_flush_received");
        SwitchFlush = registry.Register("tlb_asid_switch_flush");
        SwitchNoFlush = registry.Register("tlb_asid_switch_noflush");
    }

    /// <summary>Full local flushes of the current ASID done by flush_tlb_func on the initiating CPU.</summary>
    public readonly CounterId LocalFlushAll;
    /// <summary>Pages invalidated one by one (INVLPG) on the initiating CPU.</summary>
    public readonly CounterId LocalFlushOne;
    /// <summary>Shootdowns sent to other CPUs (one per flush request, however many CPUs receive it).</summary>
    public readonly CounterId RemoteFlush;
    /// <summary>Shootdown requests handled by a CPU on behalf of another.</summary>
    public readonly CounterId RemoteFlushReceived;
    /// <summary>Switches to another mm that had to flush the new ASID (or, without PCID, the whole TLB).</summary>
    public readonly CounterId SwitchFlush;
    /// <summary>Switches to another mm that kept the ASID's entries (PCID reuse).</summary>
    public readonly CounterId SwitchNoFlush;
}
