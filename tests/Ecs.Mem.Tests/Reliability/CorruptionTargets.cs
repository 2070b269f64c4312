using EcsMem.Components;

namespace EcsMem.Tests.Reliability;

/// <summary>Where the checker tests plant their corruptions: pages and swap entries found in a live machine.</summary>
internal static class CorruptionTargets
{
    /// <summary>The first present page (in pid, then address order) that exactly one PTE maps, anonymous or file, not in the swap cache.</summary>
    public static (MmState Mm, ulong Va, int Pfn) ExclusiveMapping(EcsMem.Systems.Kernel.Kernel k, bool anon)
    {
        foreach (MmState mm in LiveMms(k))
            foreach (var v in mm.Mm.Vmas)
                for (ulong va = v.Start; va < v.End; va += Pte.PageSize)
                {
                    var pte = new Pte(mm.Tables.Lookup(va));
                    if (!pte.Present || pte.Special)
                        continue;
                    ref Frame f = ref k.Zone.Frames[(int)pte.Pfn];
                    if (f.MapCount == 1 && f.IsAnon == anon && (f.Flags & FrameFlags.SwapCache) == 0)
                        return (mm, va, (int)pte.Pfn);
                }
        Assert.Fail("no exclusively mapped page found");
        return default;
    }

    /// <summary>The first PTE (in pid, then address order) that holds a swap entry.</summary>
    public static (MmState Mm, ulong Va, int Slot) SwapPte(EcsMem.Systems.Kernel.Kernel k)
    {
        foreach (MmState mm in LiveMms(k))
            foreach (var v in mm.Mm.Vmas)
                for (ulong va = v.Start; va < v.End; va += Pte.PageSize)
                {
                    var pte = new Pte(mm.Tables.Lookup(va));
                    if (pte.IsSwap)
                        return (mm, va, (int)pte.ToSwapEntry().Offset);
                }
        Assert.Fail("no swap PTE found");
        return default;
    }

    private static IEnumerable<MmState> LiveMms(EcsMem.Systems.Kernel.Kernel k)
    {
        foreach (var p in k.Tasks.Processes)
            if (k.World.Get<Process>(p).State is not (ProcessState.Exited or ProcessState.Killed))
                yield return k.Tasks.MmOf(p);
    }
}
