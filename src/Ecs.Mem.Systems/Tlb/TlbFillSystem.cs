using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.Kernel;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// ⑧ Fills the TLB after a page walk: the translation the access stage's walk found goes into the STLB and
/// the L1 TLB of its kind, tagged with the current ASID (global if the PTE says so).
/// </summary>
public sealed class TlbFillSystem(Kernel.Kernel kernel) : ISystem
{
    public string Name => "tlb-fill";

    public void Update(SimEnvironment env)
    {
        foreach (ref readonly TlbFillRequest r in env.Work<TlbFillRequest>().Items)
        {
            var pte = new Pte(r.Pte);
            var flags = TlbFlags.Valid;
            if (pte.Writable) flags |= TlbFlags.Writable;
            if (pte.User) flags |= TlbFlags.User;
            if (!pte.Executable) flags |= TlbFlags.NoExecute;
            if (pte.Dirty) flags |= TlbFlags.DirtyAllowed;
            if (pte.Global) flags |= TlbFlags.Global;
            kernel.Tlb.Fill(r.Va, pte.Pfn, flags, r.Kind);
        }
    }
}
