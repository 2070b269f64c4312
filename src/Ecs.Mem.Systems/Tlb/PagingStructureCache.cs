using System.Runtime.CompilerServices;
using EcsMem.Simulation;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// One paging-structure cache (Intel SDM vol. 3A §4.10.3.1): entries for one upper paging level, each tagged with the
/// linear-address bits above that level's table (for the PDE cache bits 47:21) and the PCID it was filled under
/// (§4.10.3: a cache entry is associated with a PCID and used only under it), holding the next table's id (the
/// simulator's page-table page, standing for its physical address). Sets × ways with true LRU, as the TLBs.
/// Counters <c>psc_{name}_hit</c> and <c>psc_{name}_miss</c> count the walker's lookups.
/// </summary>
public sealed class PagingStructureCache
{
    private readonly ulong[] _tag;
    private readonly ushort[] _pcid;
    private readonly int[] _table; // -1: invalid way
    private readonly ulong[] _stamp;
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly CounterRegistry _counters;
    private readonly CounterId _hit, _miss;
    private ulong _clock;
    private int _valid;

    /// <summary>The cache of <paramref name="name"/> (pde, pdpte, pml4e, pml5e) with <paramref name="geometry"/>.</summary>
    public PagingStructureCache(string name, TlbGeometry geometry, CounterRegistry counters)
    {
        geometry.Validate("TLB config", "psc." + name);
        Name = name;
        Geometry = geometry;
        _tag = new ulong[geometry.Entries];
        _pcid = new ushort[geometry.Entries];
        _table = new int[geometry.Entries];
        _stamp = new ulong[geometry.Entries];
        Array.Fill(_table, -1);
        _ways = geometry.Ways;
        _setMask = (ulong)geometry.Sets - 1;
        _counters = counters;
        _hit = counters.Register("psc_" + name + "_hit");
        _miss = counters.Register("psc_" + name + "_miss");
    }

    /// <summary>pde, pdpte, pml4e or pml5e.</summary>
    public string Name { get; }

    public TlbGeometry Geometry { get; }

    /// <summary>Valid entries (for tests and reports).</summary>
    public int Count => _valid;

    /// <summary>The row holding (<paramref name="tag"/>, <paramref name="pcid"/>), or -1. No LRU update, no counting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Probe(ulong tag, ushort pcid)
    {
        int row = (int)(tag & _setMask) * _ways;
        for (int end = row + _ways; row < end; row++)
            if (_table[row] >= 0 && _tag[row] == tag && _pcid[row] == pcid)
                return row;
        return -1;
    }

    /// <summary>The table id the entry in <paramref name="row"/> holds.</summary>
    public int TableOf(int row) => _table[row];

    /// <summary>A walker's hit on <paramref name="row"/>: refreshes its LRU stamp and counts the hit.</summary>
    public void Hit(int row)
    {
        _stamp[row] = ++_clock;
        _counters.Increment(_hit);
    }

    /// <summary>Counts a walker's miss.</summary>
    public void Miss() => _counters.Increment(_miss);

    /// <summary>Fills (<paramref name="tag"/>, <paramref name="pcid"/>) → <paramref name="table"/>: refreshes a matching entry, else takes an invalid way, else evicts the set's LRU way.</summary>
    public void Insert(ulong tag, ushort pcid, int table)
    {
        int baseRow = (int)(tag & _setMask) * _ways;
        int free = -1, lru = -1;
        ulong oldest = ulong.MaxValue;
        for (int row = baseRow, end = baseRow + _ways; row < end; row++)
        {
            if (_table[row] < 0)
            {
                if (free < 0)
                    free = row;
            }
            else if (_tag[row] == tag && _pcid[row] == pcid)
            {
                _table[row] = table; // never two copies of one entry in a set
                _stamp[row] = ++_clock;
                return;
            }
            else if (_stamp[row] < oldest)
            {
                oldest = _stamp[row];
                lru = row;
            }
        }
        int target = free >= 0 ? free : lru;
        if (_table[target] < 0)
            _valid++;
        _tag[target] = tag;
        _pcid[target] = pcid;
        _table[target] = table;
        _stamp[target] = ++_clock;
    }

    /// <summary>Drops the entry in <paramref name="row"/>.</summary>
    public void Drop(int row)
    {
        if (_table[row] >= 0)
        {
            _table[row] = -1;
            _valid--;
        }
    }

    /// <summary>Drops every entry of <paramref name="pcid"/> (INVLPG, a CR3 write without NOFLUSH, INVPCID single-context).</summary>
    public void FlushPcid(ushort pcid)
    {
        if (_valid == 0)
            return;
        for (int i = 0; i < _table.Length; i++)
            if (_table[i] >= 0 && _pcid[i] == pcid)
                Drop(i);
    }

    /// <summary>Drops every entry (a CR3 write without PCID, a global flush).</summary>
    public void FlushAll()
    {
        if (_valid == 0)
            return;
        Array.Fill(_table, -1);
        _valid = 0;
    }
}
