using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Traces;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// One CPU's TLBs: L1 dTLB and L1 iTLB for 4 KiB pages, each with a separate L1 array for 2M/4M pages next to it
/// (as Skylake has: 32 entries 4-way for data, 8 fully associative for instructions), backed by a unified
/// second-level STLB that holds 4 KiB and 2 MiB entries. A lookup tries the L1 pair that matches the access kind
/// (the 2M array only while it holds an entry, as the hardware probes both in parallel), then the STLB (filling
/// the L1 array of the entry's size on a hit); on a double miss the caller walks the page table and calls
/// <see cref="Fill"/>, which installs the translation in the STLB and the L1 array of its size.
/// Entries are tagged with <see cref="CurrentPcid"/>, which the ASID code sets on every switch.
/// <para>
/// Counters: <c>dtlb_hit</c>/<c>dtlb_miss</c> are the 4 KiB array's probes (a 2 MiB hit follows a miss there);
/// <c>dtlb_2m_hit</c> counts hits in the 2M array and <c>dtlb_2m_miss</c> the accesses to 2 MiB pages that the L1
/// missed (found in the STLB or by a walk); the same for the iTLB; <c>stlb_2m_hit</c> and <c>stlb_2m_miss</c> count
/// STLB hits on 2 MiB entries and walks that ended on a 2 MiB (PMD) leaf. The report derives the 4 KiB figures.
/// </para>
/// </summary>
public sealed class TlbHierarchy
{
    public TlbHierarchy(World world, TlbConfig config, CounterRegistry counters)
    {
        config.Validate();
        Dtlb = new SetAssociativeTlb(world, "dtlb", config.Dtlb, counters);
        Itlb = new SetAssociativeTlb(world, "itlb", config.Itlb, counters);
        Stlb = new SetAssociativeTlb(world, "stlb", config.Stlb, counters);
        Dtlb2M = new SetAssociativeTlb(world, "dtlb_2m", config.Dtlb2M, counters);
        Itlb2M = new SetAssociativeTlb(world, "itlb_2m", config.Itlb2M, counters);
        if (config.Psc is { } psc)
            Psc = new PagingStructureCaches(psc, counters);
        _stlbHugeHit = counters.Register("stlb_2m_hit");
        _stlbHugeMiss = counters.Register("stlb_2m_miss");
        _counters = counters;
    }

    private readonly CounterRegistry _counters;
    private readonly CounterId _stlbHugeHit, _stlbHugeMiss;

    public SetAssociativeTlb Dtlb { get; }
    public SetAssociativeTlb Itlb { get; }
    public SetAssociativeTlb Stlb { get; }

    /// <summary>L1 data TLB for 2M/4M pages.</summary>
    public SetAssociativeTlb Dtlb2M { get; }

    /// <summary>L1 instruction TLB for 2M/4M pages.</summary>
    public SetAssociativeTlb Itlb2M { get; }

    /// <summary>The paging-structure caches the page walker uses, or null when the core has none (<c>tlb.psc</c>).</summary>
    public PagingStructureCaches? Psc { get; }

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
        return LookupStlb(va, kind, l1, pcid, out entry);
    }

    /// <summary>
    /// The lookup after the L1's 4 KiB array missed (its miss already counted): the L1 array for 2M/4M pages while it
    /// holds an entry (a hit there is an <see cref="TlbOutcome.L1Hit"/>), then the STLB, whose hit fills the L1 array
    /// of the entry's size. The access path calls this on an L1 miss; <see cref="Lookup"/> after its own 4 KiB probe.
    /// Kept out of line so the L1-hit path of <see cref="Lookup"/> stays small enough to inline into the caller.
    /// </summary>
    public TlbOutcome LookupStlb(ulong va, AccessKind kind, SetAssociativeTlb l1, ushort pcid, out TlbEntry entry)
    {
        SetAssociativeTlb l1Huge = kind == AccessKind.Instr ? Itlb2M : Dtlb2M;
        int row;
        if (l1Huge.HoldsHuge && (row = l1Huge.LookupHuge(va, pcid)) >= 0)
        {
            entry = l1Huge[row];
            return TlbOutcome.L1Hit;
        }
        row = Stlb.Lookup(va, pcid);
        if (row >= 0)
        {
            entry = Stlb[row];
            if (entry.Size == PageSizeClass.Huge2M)
            {
                _counters.Increment(_stlbHugeHit);
                l1Huge.CountMiss();
                l1Huge.Insert(entry);
            }
            else
            {
                l1.Insert(entry);
            }
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
        if (size == PageSizeClass.Huge2M)
        {
            // A walk that ended on a PMD leaf: the 2 MiB entry goes to the L1 array for large pages.
            SetAssociativeTlb l1Huge = kind == AccessKind.Instr ? Itlb2M : Dtlb2M;
            _counters.Increment(_stlbHugeMiss);
            l1Huge.CountMiss();
            l1Huge.Insert(e);
            return;
        }
        (kind == AccessKind.Instr ? Itlb : Dtlb).Insert(e);
    }

    /// <summary>
    /// INVLPG of <paramref name="va"/> for <paramref name="pcid"/> in every TLB (the 2M arrays only while they hold an
    /// entry); in the paging-structure caches it drops every entry of the PCID, whatever its address (SDM §4.10.4.1).
    /// </summary>
    public int InvalidatePage(ulong va, ushort pcid)
    {
        Psc?.FlushPcid(pcid);
        return Dtlb.InvalidatePage(va, pcid) + Itlb.InvalidatePage(va, pcid) + Stlb.InvalidatePage(va, pcid)
            + (Dtlb2M.HoldsHuge ? Dtlb2M.InvalidatePage(va, pcid) : 0) + (Itlb2M.HoldsHuge ? Itlb2M.InvalidatePage(va, pcid) : 0);
    }

    /// <summary>Drops the non-global entries of <paramref name="pcid"/> everywhere, and its paging-structure-cache entries.</summary>
    public int FlushPcid(ushort pcid)
    {
        Psc?.FlushPcid(pcid);
        return Dtlb.FlushPcid(pcid) + Itlb.FlushPcid(pcid) + Stlb.FlushPcid(pcid)
            + (Dtlb2M.HoldsHuge ? Dtlb2M.FlushPcid(pcid) : 0) + (Itlb2M.HoldsHuge ? Itlb2M.FlushPcid(pcid) : 0);
    }

    /// <summary>Drops every non-global entry (CR3 write without PCID), and every paging-structure-cache entry.</summary>
    public int FlushNonGlobal()
    {
        Psc?.FlushAll();
        return Dtlb.FlushNonGlobal() + Itlb.FlushNonGlobal() + Stlb.FlushNonGlobal()
            + (Dtlb2M.HoldsHuge ? Dtlb2M.FlushNonGlobal() : 0) + (Itlb2M.HoldsHuge ? Itlb2M.FlushNonGlobal() : 0);
    }

    /// <summary>Drops everything, global entries and the paging-structure caches included.</summary>
    public int FlushAll()
    {
        Psc?.FlushAll();
        return Dtlb.FlushAll() + Itlb.FlushAll() + Stlb.FlushAll()
            + (Dtlb2M.HoldsHuge ? Dtlb2M.FlushAll() : 0) + (Itlb2M.HoldsHuge ? Itlb2M.FlushAll() : 0);
    }
}
