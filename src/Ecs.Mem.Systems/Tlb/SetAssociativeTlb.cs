using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.Tlb;

/// <summary>
/// One set-associative TLB with true LRU inside each set. Its slots are the entities of a pinned
/// <see cref="Table"/> (row = set × ways + way); the <see cref="TlbEntry"/> column is used directly as the
/// TLB array, so a lookup is a handful of loads and compares with no allocation and no virtual call.
/// A 4 KiB entry is indexed by the low bits of va &gt;&gt; 12, a 2 MiB entry by the low bits of va &gt;&gt; 21; the
/// 2 MiB probe only happens while the TLB holds at least one 2 MiB entry.
/// </summary>
public sealed class SetAssociativeTlb
{
    private readonly TlbEntry[] _entries;
    // Each slot's probe key beside the slots (KeyOf its tag and size while valid, 0 while invalid), so a probe scans a
    // set's keys, 8 bytes a way, instead of its 24-byte entries: the STLB's 12 ways are 96 bytes instead of 288, the
    // probe on every L1 miss. Insert and Kill, the only writers of a slot's tag, size and validity, keep it.
    private readonly ulong[] _keys;
    // Each slot's LRU stamp (the access clock at its last hit or fill) beside the keys, so Insert's victim search reads
    // 16 bytes a way (key and stamp) instead of the entry, and a hit writes 8 bytes away from the entry. A
    // stamp is only read while its slot is valid; Insert writes it whenever it makes a slot valid.
    private readonly ulong[] _stamps;
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly CounterRegistry _counters;
    private readonly CounterId _hit, _miss, _fill, _evict;
    private ulong _clock;
    private int _hugeValid;
    // Lookup memo: the row the last successful 4 KiB probe found for (_memoVpn, _memoPcid), or -1. Consecutive
    // accesses mostly touch the same page, and a probe's answer only changes when an entry's tag, size, PCID
    // or flags change, which every such change here follows with ForgetMemo(); the memo skips the way scan.
    private ulong _memoVpn;
    private ushort _memoPcid;
    private int _memoRow = -1;
    // The valid non-global entries of each PCID bucket (pcid & PcidBucketMask) as a doubly linked list of rows
    // (_next/_prev, -1 ends; _head per bucket), kept by Insert and Kill, so a per-PCID flush visits only the entries
    // it may drop instead of every slot (a CR3 reload on a context switch or a local full flush; the STLB alone has
    // 1,536). PCIDs sharing a bucket are told apart by the entry's Pcid. Fixed arrays: nothing allocated after this.
    private const int PcidBucketMask = 63;
    private readonly int[] _head = new int[PcidBucketMask + 1];
    private readonly int[] _next;
    private readonly int[] _prev;

    /// <summary>
    /// Creates the TLB's table in <paramref name="world"/> and registers counters
    /// <c>{name}_hit</c>, <c>{name}_miss</c>, <c>{name}_fill</c>, <c>{name}_evict</c>.
    /// </summary>
    public SetAssociativeTlb(World world, string name, TlbGeometry geometry, CounterRegistry counters)
    {
        geometry.Validate("TLB config", name);
        Name = name;
        Geometry = geometry;
        Table = world.CreateTable(geometry.Entries, ComponentType.Of<TlbEntry>());
        _entries = Table.ColumnArray<TlbEntry>();
        _keys = new ulong[geometry.Entries];
        _stamps = new ulong[geometry.Entries];
        _ways = geometry.Ways;
        _setMask = (ulong)geometry.Sets - 1;
        _counters = counters;
        _hit = counters.Register(name + "_hit");
        _miss = counters.Register(name + "_miss");
        _fill = counters.Register(name + "_fill");
        _evict = counters.Register(name + "_evict");
        _next = new int[geometry.Entries];
        _prev = new int[geometry.Entries];
        Array.Fill(_head, -1);
    }

    public string Name { get; }
    public TlbGeometry Geometry { get; }

    /// <summary>The table whose rows are this TLB's slots.</summary>
    public Table Table { get; }

    /// <summary>
    /// The slot in row <paramref name="row"/> (set × ways + way). Read it only: a slot's validity, PCID and Global
    /// flag are mirrored in the per-PCID lists, which only <see cref="Insert"/> and the flushes keep.
    /// </summary>
    public ref TlbEntry this[int row] => ref _entries[row];

    /// <summary>Set a page with tag <paramref name="tag"/> maps to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int SetOf(ulong tag) => (int)(tag & _setMask);

    /// <summary>
    /// Looks up <paramref name="va"/> for PCID <paramref name="pcid"/> (global entries match any PCID).
    /// On a hit, refreshes the entry's LRU stamp and returns its row; on a miss returns -1.
    /// Counts a hit or a miss.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup(ulong va, ushort pcid)
    {
        ulong vpn = va >> 12;
        int row;
        if (vpn == _memoVpn && pcid == _memoPcid && _memoRow >= 0)
        {
            row = _memoRow;
        }
        else
        {
            row = Probe(vpn, PageSizeClass.Base4K, pcid);
            if (row >= 0)
            {
                _memoVpn = vpn;
                _memoPcid = pcid;
                _memoRow = row;
            }
            else if (_hugeValid > 0)
            {
                row = Probe(va >> 21, PageSizeClass.Huge2M, pcid);
            }
        }
        if (row >= 0)
        {
            _stamps[row] = ++_clock;
            _counters.Increment(_hit);
        }
        else
        {
            _counters.Increment(_miss);
        }
        return row;
    }

    /// <summary>Whether the TLB holds a 2 MiB entry (a 2 MiB-only array is probed only then).</summary>
    public bool HoldsHuge => _hugeValid > 0;

    /// <summary>
    /// Lookup in an array that holds only 2 MiB entries (the L1 2M/4M dTLB and iTLB): probes va &gt;&gt; 21 and, on a
    /// hit, refreshes the LRU stamp and counts <c>{name}_hit</c>. Misses are counted by the hierarchy
    /// (<see cref="CountMiss"/>) once the walk or the STLB says the page was a 2 MiB one.
    /// </summary>
    public int LookupHuge(ulong va, ushort pcid)
    {
        int row = Probe(va >> 21, PageSizeClass.Huge2M, pcid);
        if (row >= 0)
        {
            _stamps[row] = ++_clock;
            _counters.Increment(_hit);
        }
        return row;
    }

    /// <summary>Counts one <c>{name}_miss</c> (for a 2 MiB-only array: a 2 MiB page the L1 did not hold).</summary>
    public void CountMiss() => _counters.Increment(_miss);

    /// <summary>
    /// The row <see cref="Lookup"/> would hit for a 4 KiB page, or -1, without refreshing the LRU stamp or counting
    /// (used on the L1 4 KiB arrays, which never hold a 2 MiB entry: those go to the separate 2M/4M array; should one
    /// be there, -1 leaves it to <see cref="Lookup"/>'s 2 MiB probe, so the answer stays right): the caller then calls <see cref="Touch"/> and <see cref="CountHits"/>, or leaves the
    /// access to <see cref="Lookup"/>, which finds the same row. Remembers a probed row in the lookup memo exactly as
    /// <see cref="Lookup"/> does, so either order gives the same state.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PeekRow(ulong va, ushort pcid)
    {
        ulong vpn = va >> 12;
        if (vpn == _memoVpn && pcid == _memoPcid && _memoRow >= 0)
            return _memoRow;
        int row = Probe(vpn, PageSizeClass.Base4K, pcid);
        if (row >= 0)
        {
            _memoVpn = vpn;
            _memoPcid = pcid;
            _memoRow = row;
        }
        return row;
    }

    /// <summary>
    /// The LRU stamp <see cref="Lookup"/> gives the row <see cref="PeekRow"/> found on a hit; the caller counts the
    /// hit with <see cref="CountHits"/> (per batch of hits: nothing reads the count in between).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Touch(int row) => _stamps[row] = ++_clock;

    /// <summary>Adds <paramref name="hits"/> hits made through <see cref="PeekRow"/> and <see cref="Touch"/> to the hit counter.</summary>
    public void CountHits(long hits) => _counters.Add(_hit, hits);

    /// <summary>Row of the entry for (tag, size) usable by <paramref name="pcid"/>, or -1. No LRU update, no counting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Probe(ulong tag, PageSizeClass size, ushort pcid)
    {
        int row = (int)(tag & _setMask) * _ways;
        ulong want = KeyOf(tag, size);
        ReadOnlySpan<ulong> set = _keys.AsSpan(row, _ways);
        for (int w = 0; w < set.Length; w++)
        {
            if (set[w] != want)
                continue;
            ref TlbEntry x = ref _entries[row + w];
            if (x.Pcid == pcid || (x.Flags & TlbFlags.Global) != 0)
                return row + w;
        }
        return -1;
    }

    /// <summary>
    /// A valid slot's probe key: its tag and size, never 0 (the low bit is set), so an invalid slot (key 0) matches no
    /// probe. Tags are at most 52 bits (va &gt;&gt; 12), so the shift loses nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong KeyOf(ulong tag, PageSizeClass size) => (tag << 2) | ((ulong)size << 1) | 1;

    /// <summary>
    /// Installs a translation (its <see cref="TlbEntry.Vpn"/> is the tag for its size). Reuses the slot of
    /// an entry with the same tag, size and PCID; otherwise takes an invalid way, otherwise evicts the
    /// least recently used way of the set. Returns the row. Counts a fill, and an eviction when a valid
    /// entry was replaced.
    /// </summary>
    public int Insert(in TlbEntry entry)
    {
        _memoRow = -1;
        // Rows are set × ways (a multiply: ways need not be a power of two, e.g. the 12-way STLB).
        int baseRow = (int)(entry.Vpn & _setMask) * _ways;
        TlbEntry[] e = _entries;
        ulong want = KeyOf(entry.Vpn, entry.Size);
        // The set's keys and stamps as spans: one bounds check each, not one per way. Key 0 is an invalid slot; a key
        // equal to want is a valid slot with the same tag and size (KeyOf), so only its PCID is left to compare.
        ReadOnlySpan<ulong> keys = _keys.AsSpan(baseRow, _ways);
        ReadOnlySpan<ulong> stamps = _stamps.AsSpan(baseRow, keys.Length);
        int victim = -1;
        int free = -1;
        ulong oldest = ulong.MaxValue;
        for (int w = 0; w < keys.Length; w++)
        {
            ulong k = keys[w];
            if (k == 0)
            {
                if (free < 0) free = baseRow + w;
                continue;
            }
            if (k == want && e[baseRow + w].Pcid == entry.Pcid)
            {
                victim = baseRow + w; // refresh in place: never two copies of one translation in a set
                free = -2;
                break;
            }
            if (stamps[w] < oldest)
            {
                oldest = stamps[w];
                victim = baseRow + w;
            }
        }
        int target;
        if (free >= 0)
        {
            target = free;
        }
        else
        {
            target = victim;
            if (free == -1)
                _counters.Increment(_evict);
            Kill(target);
        }
        ref TlbEntry t = ref e[target];
        t = entry;
        t.Flags |= TlbFlags.Valid;
        _stamps[target] = ++_clock;
        _keys[target] = KeyOf(t.Vpn, t.Size);
        if (t.Size == PageSizeClass.Huge2M) _hugeValid++;
        if ((t.Flags & TlbFlags.Global) == 0) Link(target, t.Pcid);
        _counters.Increment(_fill);
        return target;
    }

    /// <summary>
    /// INVLPG: drops every entry (either page size, global or not) that translates <paramref name="va"/>
    /// for <paramref name="pcid"/>. Returns how many were dropped.
    /// </summary>
    public int InvalidatePage(ulong va, ushort pcid)
    {
        int n = 0;
        int row;
        while ((row = Probe(va >> 12, PageSizeClass.Base4K, pcid)) >= 0) { Kill(row); n++; }
        if (_hugeValid > 0)
            while ((row = Probe(va >> 21, PageSizeClass.Huge2M, pcid)) >= 0) { Kill(row); n++; }
        return n;
    }

    /// <summary>CR3 write with PCID (no NOFLUSH bit) / INVPCID single-context: drops non-global entries of <paramref name="pcid"/>.</summary>
    /// <remarks>Visits only the PCID's bucket list (see <see cref="Link"/>); which rows die, and so the result, are those of a scan of every slot.</remarks>
    public int FlushPcid(ushort pcid)
    {
        int n = 0;
        TlbEntry[] e = _entries;
        int[] next = _next;
        for (int i = _head[pcid & PcidBucketMask]; i >= 0;)
        {
            int following = next[i]; // Kill unlinks i
            if (e[i].Pcid == pcid) { Kill(i); n++; }
            i = following;
        }
        return n;
    }

    /// <summary>CR3 write without PCID: drops every non-global entry.</summary>
    /// <remarks>Empties the per-PCID lists, which hold exactly the valid non-global entries.</remarks>
    public int FlushNonGlobal()
    {
        int n = 0;
        int[] head = _head;
        for (int b = 0; b < head.Length; b++)
            for (int i; (i = head[b]) >= 0; n++)
                Kill(i); // unlinks i: the next entry becomes the head
        return n;
    }

    /// <summary>Flush including global entries (CR4.PGE toggle / INVPCID all-context).</summary>
    public int FlushAll()
    {
        int n = 0;
        TlbEntry[] e = _entries;
        for (int i = 0; i < e.Length; i++)
            if (e[i].IsValid) { Kill(i); n++; }
        return n;
    }

    /// <summary>Number of valid entries (for reports and tests; walks the whole array).</summary>
    public int CountValid()
    {
        int n = 0;
        foreach (ref readonly TlbEntry x in _entries.AsSpan())
            if (x.IsValid) n++;
        return n;
    }

    /// <summary>
    /// Forgets the lookup memo. Every change to a slot made through this class calls it. Code outside must not rewrite
    /// a slot's tag, size, PCID or flags (through the indexer or the table): the per-PCID lists would go stale.
    /// </summary>
    public void ForgetMemo() => _memoRow = -1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Kill(int row)
    {
        ref TlbEntry x = ref _entries[row];
        _memoRow = -1;
        if ((x.Flags & TlbFlags.Valid) != 0)
        {
            if (x.Size == PageSizeClass.Huge2M) _hugeValid--;
            if ((x.Flags & TlbFlags.Global) == 0) Unlink(row, x.Pcid);
        }
        x.Flags = TlbFlags.None;
        _keys[row] = 0;
    }

    /// <summary>Puts <paramref name="row"/>, now a valid non-global entry of <paramref name="pcid"/>, at the head of its bucket's list.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Link(int row, ushort pcid)
    {
        ref int head = ref _head[pcid & PcidBucketMask];
        _prev[row] = -1;
        _next[row] = head;
        if (head >= 0) _prev[head] = row;
        head = row;
    }

    /// <summary>Takes <paramref name="row"/>, a valid non-global entry of <paramref name="pcid"/>, out of its bucket's list.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Unlink(int row, ushort pcid)
    {
        int p = _prev[row], n = _next[row];
        if (p >= 0) _next[p] = n;
        else _head[pcid & PcidBucketMask] = n;
        if (n >= 0) _prev[n] = p;
    }
}
