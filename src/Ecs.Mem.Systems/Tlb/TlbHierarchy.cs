using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Traces;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// One CPU's TLBs: L1 dTLB and L1 iTLB backed by a unified second-level STLB. A lookup tries the L1 that
/// matches the access kind, then the STLB (filling the L1 on a hit); on a double miss the caller walks the
/// page table and calls <see cref="Fill"/>, which installs the translation in the STLB and that L1.
/// Entries are tagged with <see cref="CurrentPcid"/>, which the ASID code sets on every switch.
/// </summary>
public sealed class TlbHierarchy
{
    public TlbHierarchy(World world, TlbConfig config, CounterRegistry counters)
    {
        config.Validate();
        Dtlb = new SetAssociativeTlb(world, "dtlb", config.Dtlb, counters);
        Itlb = new SetAssociativeTlb(world, "itlb", config.Itlb, counters);
        Stlb = new SetAssociativeTlb(world, "stlb", config.Stlb, counters);
    }

    public SetAssociativeTlb Dtlb { get; }
    public SetAssociativeTlb Itlb { get; }
    public SetAssociativeTlb Stlb { get; }

    /// <summary>Hardware PCID of the running context (kern_pcid(asid) = asid + 1; 0 without PCID).</summary>
    public ushort CurrentPcid { get; internal set; }

    /// <summary>
    /// Translates <paramref name="va"/> for an access of <paramref name="kind"/>. On a hit,
    /// <paramref name="entry"/> is a copy of the entry used (check <see cref="TlbEntry.Permits"/>, translate
    /// with <see cref="TlbEntry.TranslatePfn"/>); on a miss it is default.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TlbOutcome Lookup(ulong va, AccessKind kind, out TlbEntry entry)
    {
        SetAssociativeTlb l1 = kind == AccessKind.Instr ? Itlb : Dtlb;
        ushort pcid = CurrentPcid;
        int row = l1.Lookup(va, pcid);
        if (row >= 0)
        {
            entry = l1[row];
            return TlbOutcome.L1Hit;
        }
        return LookupStlb(va, l1, pcid, out entry);
    }

    // Kept out of line so the L1-hit path above stays small enough to inline into the caller.
    private TlbOutcome LookupStlb(ulong va, SetAssociativeTlb l1, ushort pcid, out TlbEntry entry)
    {
        int row = Stlb.Lookup(va, pcid);
        if (row >= 0)
        {
            entry = Stlb[row];
            l1.Insert(entry);
            return TlbOutcome.StlbHit;
        }
        entry = default;
        return TlbOutcome.Miss;
    }

    /// <summary>
    /// Installs the translation found by a page walk: <paramref name="va"/> → frame <paramref name="pfn"/>
    /// (first frame of the page for a 2 MiB page) with PTE permissions <paramref name="flags"/>, in the
    /// STLB and in the L1 matching <paramref name="kind"/>, tagged with the current PCID.
    /// </summary>
    public void Fill(ulong va, ulong pfn, TlbFlags flags, AccessKind kind, PageSizeClass size = PageSizeClass.Base4K)
    {
        var e = new TlbEntry
        {
            Vpn = size == PageSizeClass.Huge2M ? va >> 21 : va >> 12,
            Pfn = pfn,
            Pcid = CurrentPcid,
            Flags = flags | TlbFlags.Valid,
            Size = size,
        };
        Stlb.Insert(e);
        (kind == AccessKind.Instr ? Itlb : Dtlb).Insert(e);
    }

    /// <summary>INVLPG of <paramref name="va"/> for <paramref name="pcid"/> in all three TLBs.</summary>
    public int InvalidatePage(ulong va, ushort pcid) =>
        Dtlb.InvalidatePage(va, pcid) + Itlb.InvalidatePage(va, pcid) + Stlb.InvalidatePage(va, pcid);

    /// <summary>Drops the non-global entries of <paramref name="pcid"/> everywhere.</summary>
    public int FlushPcid(ushort pcid) => Dtlb.FlushPcid(pcid) + Itlb.FlushPcid(pcid) + Stlb.FlushPcid(pcid);

    /// <summary>Drops every non-global entry (CR3 write without PCID).</summary>
    public int FlushNonGlobal() => Dtlb.FlushNonGlobal() + Itlb.FlushNonGlobal() + Stlb.FlushNonGlobal();

    /// <summary>Drops everything, global entries included.</summary>
    public int FlushAll() => Dtlb.FlushAll() + Itlb.FlushAll() + Stlb.FlushAll();
}
