namespace EcsMem.Systems.Tlb;

/// <summary>
/// Per-CPU TLB state (Linux per-CPU cpu_tlbstate): the CPU's TLB hierarchy, the loaded mm and its ASID,
/// the round-robin cursor for taking a new ASID, and one <see cref="TlbContextSlot"/> per dynamic ASID.
/// </summary>
public sealed class CpuTlbState
{
    internal CpuTlbState(int cpu, TlbHierarchy tlb, int dynamicAsids)
    {
        Cpu = cpu;
        Tlb = tlb;
        Contexts = new TlbContextSlot[dynamicAsids];
    }

    /// <summary>CPU number (bit in <see cref="MmContext.CpuMask"/>).</summary>
    public int Cpu { get; }

    public TlbHierarchy Tlb { get; }

    /// <summary>cpu_tlbstate.loaded_mm (null until the first switch: the boot mm, which owns ASID 0).</summary>
    public MmContext? LoadedMm { get; internal set; }

    /// <summary>
    /// cpu_tlbstate_shared.is_lazy: the CPU idles (runs a kernel thread) with <see cref="LoadedMm"/> still
    /// loaded. Shootdowns skip it unless page tables were freed; it catches up on its next switch_mm.
    /// </summary>
    public bool IsLazy { get; internal set; }

    /// <summary>cpu_tlbstate.loaded_mm_asid.</summary>
    public int LoadedAsid { get; internal set; }

    /// <summary>
    /// cpu_tlbstate.next_asid: the next slot choose_new_asid takes when the incoming mm owns none. Starts
    /// at 1 as in Linux, because ASID 0 is in use by the boot mm.
    /// </summary>
    public int NextAsid { get; internal set; } = 1;

    /// <summary>cpu_tlbstate.ctxs[]: one slot per dynamic ASID.</summary>
    public TlbContextSlot[] Contexts { get; }
}
