using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Traces;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// ⑧ Fills the TLB after a page walk: the translation the access stage's walk found goes into the STLB and
/// the L1 TLB of its kind, tagged with the current ASID (global if the PTE says so).
/// </summary>
public sealed class TlbFillSystem(Kernel.Kernel kernel) : ISystem
{
    public string Name => "tlb-fill";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<TlbFillRequest>();

    /// <summary>Acts only on this tick's TlbFillRequest work (nothing kept between ticks).</summary>
    public bool WorkOnly => true;

    public void Update(SimEnvironment env)
    {
        foreach (ref readonly TlbFillRequest r in env.WorkItems<TlbFillRequest>())
        {
            kernel.Smp.Enter(r.Cpu); // the walk's CPU fills its own TLB
            Fill(kernel, r.Va, r.Pte, r.Kind);
        }
    }

    /// <summary>
    /// One fill. Also called directly by the access stage when nothing else is pending in the tick: the systems
    /// between it and this one would have nothing to do, so filling at once gives the same state.
    /// </summary>
    public static void Fill(Kernel.Kernel kernel, ulong va, ulong pteValue, AccessKind kind)
    {
        var pte = new Pte(pteValue);
        var flags = TlbFlags.Valid;
        if (pte.Writable) flags |= TlbFlags.Writable;
        if (pte.User) flags |= TlbFlags.User;
        if (!pte.Executable) flags |= TlbFlags.NoExecute;
        // A zero-filled page's entry never allows a write without a walk: the walk that sees a store clears the flag
        // (the trace's stores write data), which keeps that check off the TLB-hit path.
        if (pte.Dirty && (pte.PmdMapped || !ZeroFilled(kernel, pte.Pfn))) flags |= TlbFlags.DirtyAllowed;
        if (pte.Global) flags |= TlbFlags.Global;
        if (pte.PmdMapped)
        {
            // A PMD leaf: one 2 MiB translation whose frame is the huge page's first.
            kernel.Tlb.Fill(va, pte.Pfn - ((va >> Pte.PageShift) & 511), flags, kind, PageSizeClass.Huge2M);
            return;
        }
        kernel.Tlb.Fill(va, pte.Pfn, flags, kind);
    }

    /// <summary>The frame a 4 KiB PTE maps holds only zeros (<see cref="FrameFlags.ZeroFilled"/>).</summary>
    private static bool ZeroFilled(Kernel.Kernel kernel, ulong pfn)
    {
        Frame[] frames = kernel.Zone.Frames;
        return pfn < (ulong)frames.Length && (frames[pfn].Flags & FrameFlags.ZeroFilled) != 0;
    }
}
