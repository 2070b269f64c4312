using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.AddressSpace;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// One CPU's paging-structure caches (Intel SDM vol. 3A §4.10.3): the PDE, PDPTE, PML4E and (LA57) PML5E caches,
/// indexed by the paging level of the entry they cache (1: PDE … 4: PML5E). On a TLB miss the walker looks the
/// PDE cache up first (a hit: the walk reads only the PTE), then the PDPTE cache (the PDE and the PTE), then the
/// PML4E cache, the PML5E cache, else walks from CR3 (§4.10.3.2); the walk fills the caches of the levels it read.
/// No PDE-cache entry is made for a PDE that maps a 2 MiB page (§4.10.3.1), so a 2 MiB translation ends its walk on
/// the PDE the PDPTE cache points at. Entries belong to the PCID they were filled under; INVLPG drops every entry
/// of the current PCID whatever its address, a CR3 write without NOFLUSH every entry of the new PCID, a CR3 write
/// without PCID all of them (§4.10.4.1) — <see cref="TlbHierarchy"/>'s invalidations call <see cref="FlushPcid"/> and
/// <see cref="FlushAll"/>.
/// </summary>
public sealed class PagingStructureCaches
{
    private readonly PagingStructureCache?[] _byLevel = new PagingStructureCache?[5];

    /// <summary>The caches <paramref name="config"/> names; a level it leaves out has none.</summary>
    public PagingStructureCaches(Scenarios.PscConfig config, CounterRegistry counters)
    {
        for (int level = 1; level <= 4; level++)
            if (config.At(level) is { } c)
                _byLevel[level] = new PagingStructureCache(Scenarios.PscConfig.Keys[level - 1], TlbGeometry.From(c), counters);
    }

    /// <summary>The cache of paging level <paramref name="level"/> (1: PDE … 4: PML5E), or null when the core has none.</summary>
    public PagingStructureCache? At(int level) => (uint)level < (uint)_byLevel.Length ? _byLevel[level] : null;

    /// <summary>
    /// Hits whose cached table was not the one the page table holds now (or a PDE-cache hit on an address now mapped
    /// by a 2 MiB PDE): a missed invalidation, which Linux never allows. Such an entry is dropped and counted as a miss
    /// (the walk stays right); tests assert this stays 0.
    /// </summary>
    public long StaleHits { get; private set; }

    /// <summary>
    /// The hardware walk of <paramref name="va"/> under <paramref name="pcid"/> through the caches: returns the leaf
    /// entry (as <see cref="PageTable.Walk"/>; null when a level is not present) and in <paramref name="levels"/> the
    /// page-table entries read from memory (a 2 MiB leaf ends one level above the PTEs).
    /// </summary>
    public ref ulong Walk(PageTable tables, ulong va, ushort pcid, out int levels)
    {
        int depth = tables.Mode.Levels;
        int bits = tables.Mode.BitsPerLevel;
        Span<int> path = stackalloc int[8];
        ref ulong pte = ref tables.WalkPath(va, path, out int touched);
        bool pmdLeaf = !Unsafe.IsNullRef(ref pte) && Pte.IsPmdMapped(pte);
        // start: the level whose cache gave the walk's first table (depth: none, the walk began at CR3).
        int start = depth;
        for (int level = 1; level < depth; level++)
        {
            PagingStructureCache? c = _byLevel[level];
            if (c is null)
                continue;
            int row = c.Probe(va >> (Pte.PageShift + (level * bits)), pcid);
            if (row < 0)
            {
                c.Miss();
                continue;
            }
            // The walk read the table at level - 1 when it touched depth - level + 1 levels.
            bool reached = touched >= depth - level + 1;
            if (reached && c.TableOf(row) == path[level - 1] && !(level == 1 && pmdLeaf))
            {
                c.Hit(row);
                start = level;
                break;
            }
            StaleHits++;
            c.Drop(row);
            c.Miss();
        }
        // Fill the caches of the levels read below the start whose entries point at a table.
        for (int level = 1; level < start; level++)
        {
            if (_byLevel[level] is not { } c || touched < depth - level + 1 || (level == 1 && pmdLeaf))
                continue;
            c.Insert(va >> (Pte.PageShift + (level * bits)), pcid, path[level - 1]);
        }
        levels = touched - (depth - start) - (pmdLeaf ? 1 : 0);
        return ref pte;
    }

    /// <summary>Drops every entry of <paramref name="pcid"/>.</summary>
    public void FlushPcid(ushort pcid)
    {
        foreach (PagingStructureCache? c in _byLevel)
            c?.FlushPcid(pcid);
    }

    /// <summary>Drops every entry.</summary>
    public void FlushAll()
    {
        foreach (PagingStructureCache? c in _byLevel)
            c?.FlushAll();
    }
}
