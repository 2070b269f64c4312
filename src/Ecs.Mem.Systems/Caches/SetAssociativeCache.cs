using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.Caches;

/// <summary>
/// One set-associative, write-back, write-allocate cache. Its lines are entities: the rows of a pinned
/// <see cref="Ecs.Table"/> of <c>sets * ways</c> rows (row = set * ways + way) with components
/// <see cref="CacheLineTag"/>, <see cref="CacheLineStamp"/>, <see cref="CacheLineState"/> and a level marker
/// (<see cref="L1dLine"/>...). The cache keeps the table's three column arrays and indexes them directly,
/// so storage is struct-of-arrays, the lookup loop is the same scan of a flat tag array as without an ECS,
/// and a world query over the same components sees every line. An empty way holds <see cref="InvalidTag"/>.
/// The access path allocates nothing and, with a struct <typeparamref name="TPolicy"/>, calls nothing virtually.
/// Counting is split on purpose: <see cref="Access"/> counts demand traffic; <see cref="Fill"/>,
/// <see cref="MarkDirty"/> and <see cref="BackInvalidate"/> are the hierarchy's internal moves.
/// </summary>
public sealed class SetAssociativeCache<TPolicy> where TPolicy : struct, ISetReplacement
{
    /// <summary>Tag of an empty way.</summary>
    public const ulong InvalidTag = CacheLineTag.Invalid;

    // The table's columns themselves (not copies): writes here are what queries read.
    private readonly CacheLineTag[] _tags;
    private readonly CacheLineStamp[] _stamps;
    private readonly CacheLineState[] _states;
    private readonly int _ways;
    private readonly ulong _setMask;
    private TPolicy _policy;
    private ulong _tick;
    // Find memo: the index where line _memoLine was last found or installed. Runs of accesses to one line (a
    // sequential scan, straight-line code) then skip the way scan. Only Fill and BackInvalidate change tags,
    // and both keep the memo true (code that rewrites the tag column through the table must call ForgetMemo).
    private ulong _memoLine = InvalidTag;
    private int _memoIndex;

    /// <summary>This level's event counts (a field so the hot path increments in place).</summary>
    public CacheCounters Counters;

    /// <summary>
    /// Creates the cache's table of lines in <paramref name="world"/>. <paramref name="level"/> is the marker
    /// component the lines carry (e.g. <c>ComponentType.Of&lt;L1dLine&gt;()</c>); null gives unmarked lines.
    /// </summary>
    public SetAssociativeCache(World world, string name, CacheGeometry geometry, TPolicy policy, ComponentType? level = null)
    {
        Name = name;
        Geometry = geometry;
        _ways = geometry.Ways;
        _setMask = (ulong)geometry.Sets - 1;
        int lines = geometry.Sets * geometry.Ways;
        ComponentType tag = ComponentType.Of<CacheLineTag>(), stamp = ComponentType.Of<CacheLineStamp>(),
            state = ComponentType.Of<CacheLineState>();
        Table = level is null ? world.CreateTable(lines, tag, stamp, state) : world.CreateTable(lines, tag, stamp, state, level);
        _tags = Table.ColumnArray<CacheLineTag>();
        _stamps = Table.ColumnArray<CacheLineStamp>();
        _states = Table.ColumnArray<CacheLineState>();
        _policy = policy;
        _tags.AsSpan().Fill(new CacheLineTag { Line = InvalidTag });
    }

    public string Name { get; }
    public CacheGeometry Geometry { get; }

    /// <summary>The table whose rows (set * ways + way) are this cache's lines.</summary>
    public Table Table { get; }

    /// <summary>The tag column (line number per way; <see cref="InvalidTag"/> when empty).</summary>
    public ReadOnlySpan<CacheLineTag> Tags => _tags;

    /// <summary>The replacement-stamp column.</summary>
    public ReadOnlySpan<CacheLineStamp> Stamps => _stamps;

    /// <summary>The state column.</summary>
    public ReadOnlySpan<CacheLineState> States => _states;

    /// <summary>Number of dirty lines, counted from the cache's own state column.</summary>
    public int DirtyLineCount()
    {
        int n = 0;
        foreach (ref readonly CacheLineState s in _states.AsSpan())
            if (s.IsDirty)
                n++;
        return n;
    }

    /// <summary>
    /// A set's stamps as the plain <c>ulong</c> run a replacement policy works on. A reinterpretation of the
    /// same memory (CacheLineStamp is one ulong), not a copy, so the policy updates the table column.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<ulong> SetStamps(int firstRow) => MemoryMarshal.Cast<CacheLineStamp, ulong>(_stamps.AsSpan(firstRow, _ways));

    /// <summary>Line number of an address at this cache's line size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong LineOf(ulong address) => address >> Geometry.LineBits;

    /// <summary>Index (set*ways+way) of <paramref name="line"/>, or -1 when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ulong line)
    {
        if (line == _memoLine)
            return _memoIndex;
        return Scan(line);
    }

    /// <summary>The way scan behind <see cref="Find"/> (out of line: the memo hit above is the common case).</summary>
    private int Scan(ulong line)
    {
        int b = (int)(line & _setMask) * _ways;
        // The set's tags as a span (one bounds check for the set, none per way).
        ReadOnlySpan<CacheLineTag> set = new(_tags, b, _ways);
        for (int w = 0; w < set.Length; w++)
        {
            if (set[w].Line == line)
            {
                _memoLine = line;
                _memoIndex = b + w;
                return b + w;
            }
        }
        return -1;
    }

    /// <summary>Forgets the Find memo (for code that changes the tag column directly).</summary>
    public void ForgetMemo() => _memoLine = InvalidTag;

    /// <summary>True when <paramref name="line"/> is present (no state change, nothing counted).</summary>
    public bool Contains(ulong line) => Find(line) >= 0;

    /// <summary>True when <paramref name="line"/> is present and dirty.</summary>
    public bool IsDirty(ulong line)
    {
        int i = Find(line);
        return i >= 0 && (_states[i].Flags & CacheLineFlags.Dirty) != 0;
    }

    /// <summary>
    /// A demand access: counts it, and on a hit refreshes replacement state and (for a write) sets
    /// the dirty bit. Returns true on a hit. A miss changes nothing: the caller fetches the line
    /// from below and then calls <see cref="Fill"/> (write-allocate).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Access(ulong line, bool write)
    {
        if (write) Counters.WriteAccesses++;
        else Counters.ReadAccesses++;
        int i = Find(line);
        if (i >= 0)
        {
            if (typeof(TPolicy) == typeof(LruReplacement))
            {
                // LRU's OnHit only stamps the way hit (the JIT folds this test away per policy).
                _stamps[i].Tick = ++_tick;
            }
            else
            {
                int b = (int)(line & _setMask) * _ways;
                _policy.OnHit(SetStamps(b), i - b, ++_tick);
            }
            if (write)
                _states[i].Flags |= CacheLineFlags.Dirty;
            return true;
        }
        if (write) Counters.WriteMisses++;
        else Counters.ReadMisses++;
        return false;
    }

    /// <summary>
    /// Installs <paramref name="line"/> (which must be absent), in an empty way if the set has one,
    /// else in the policy's victim. Returns true when a valid line was evicted; a dirty victim is
    /// counted as a write-back and reported through <paramref name="victimDirty"/>.
    /// </summary>
    public bool Fill(ulong line, bool dirty, out ulong victim, out bool victimDirty)
    {
        int b = (int)(line & _setMask) * _ways;
        int way = -1;
        if (typeof(TPolicy) == typeof(LruReplacement) || typeof(TPolicy) == typeof(FifoReplacement))
        {
            // One scan instead of two: an empty way's stamp is 0 (never stamped, or cleared by BackInvalidate) and
            // a line's is at least 1 (stamps are ++_tick), so the first way with the smallest stamp is the first
            // empty way when there is one, else the oldest line (lowest way on ties): the same way as below.
            way = OldestStamp.Of(SetStamps(b));
            if (_tags[b + way].Line != InvalidTag)
                way = ~way; // a line is evicted from this way
        }
        else
        {
            ReadOnlySpan<CacheLineTag> set = new(_tags, b, _ways);
            for (int w = 0; w < set.Length; w++)
            {
                if (set[w].Line == InvalidTag)
                {
                    way = w;
                    break;
                }
            }
        }
        bool evicted = false;
        victim = InvalidTag;
        victimDirty = false;
        if (way < 0)
        {
            way = typeof(TPolicy) == typeof(LruReplacement) || typeof(TPolicy) == typeof(FifoReplacement)
                ? ~way
                : _policy.Victim(SetStamps(b));
            victim = _tags[b + way].Line;
            victimDirty = (_states[b + way].Flags & CacheLineFlags.Dirty) != 0;
            evicted = true;
            if (victimDirty)
                Counters.WriteBacks++;
        }
        _tags[b + way].Line = line;
        _memoLine = line; // also drops a memo of the victim, which lived in this very way
        _memoIndex = b + way;
        _states[b + way].Flags = dirty ? CacheLineFlags.Dirty : CacheLineFlags.None;
        _policy.OnFill(SetStamps(b), way, ++_tick);
        return evicted;
    }

    /// <summary>Sets the dirty bit of a present line (a write-back arriving from above); false when absent.</summary>
    public bool MarkDirty(ulong line)
    {
        int i = Find(line);
        if (i < 0)
            return false;
        _states[i].Flags |= CacheLineFlags.Dirty;
        return true;
    }

    /// <summary>
    /// Drops <paramref name="line"/> because an inclusive lower level evicted it. Counts a
    /// back-invalidation, and a write-back when the copy was dirty. Returns true when it was present.
    /// </summary>
    public bool BackInvalidate(ulong line, out bool wasDirty)
    {
        int i = Find(line);
        wasDirty = false;
        if (i < 0)
            return false;
        wasDirty = (_states[i].Flags & CacheLineFlags.Dirty) != 0;
        _memoLine = InvalidTag; // the memo pointed here (Find just hit it) or nowhere useful
        _tags[i].Line = InvalidTag;
        _states[i].Flags = CacheLineFlags.None;
        _stamps[i].Tick = 0;
        Counters.BackInvalidations++;
        if (wasDirty)
            Counters.WriteBacks++;
        return true;
    }
}
