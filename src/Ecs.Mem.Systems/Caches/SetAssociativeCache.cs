using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Caches;

/// <summary>
/// One set-associative, write-back, write-allocate cache. Storage is struct-of-arrays: three flat
/// columns of <c>sets * ways</c> entries (tag = line number, replacement stamp, flag bits), indexed
/// <c>set * ways + way</c>, so the lead can later back them with ECS chunk columns. An empty way holds
/// <see cref="InvalidTag"/> (no real line number reaches it: line numbers are addresses shifted right).
/// The access path allocates nothing and, with a struct <typeparamref name="TPolicy"/>, calls nothing virtually.
/// Counting is split on purpose: <see cref="Access"/> counts demand traffic; <see cref="Fill"/>,
/// <see cref="MarkDirty"/> and <see cref="BackInvalidate"/> are the hierarchy's internal moves.
/// </summary>
public sealed class SetAssociativeCache<TPolicy> where TPolicy : struct, ISetReplacement
{
    /// <summary>Tag of an empty way.</summary>
    public const ulong InvalidTag = ulong.MaxValue;

    private readonly ulong[] _tags;
    private readonly ulong[] _stamps;
    private readonly CacheLineFlags[] _flags;
    private readonly int _ways;
    private readonly ulong _setMask;
    private TPolicy _policy;
    private ulong _tick;
    // Find memo: the index where line _memoLine was last found or installed. Runs of accesses to one line (a
    // sequential scan, straight-line code) then skip the way scan. Only Fill and BackInvalidate change tags,
    // and both keep the memo true.
    private ulong _memoLine = InvalidTag;
    private int _memoIndex;

    /// <summary>This level's event counts (a field so the hot path increments in place).</summary>
    public CacheCounters Counters;

    public SetAssociativeCache(string name, CacheGeometry geometry, TPolicy policy)
    {
        Name = name;
        Geometry = geometry;
        _ways = geometry.Ways;
        _setMask = (ulong)geometry.Sets - 1;
        int lines = geometry.Sets * geometry.Ways;
        _tags = new ulong[lines];
        _stamps = new ulong[lines];
        _flags = new CacheLineFlags[lines];
        _policy = policy;
        Array.Fill(_tags, InvalidTag);
    }

    public string Name { get; }
    public CacheGeometry Geometry { get; }

    /// <summary>The tag column (line number per way; <see cref="InvalidTag"/> when empty).</summary>
    public ReadOnlySpan<ulong> Tags => _tags;

    /// <summary>The replacement-stamp column.</summary>
    public ReadOnlySpan<ulong> Stamps => _stamps;

    /// <summary>The flag column.</summary>
    public ReadOnlySpan<CacheLineFlags> Flags => _flags;

    /// <summary>Line number of an address at this cache's line size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong LineOf(ulong address) => address >> Geometry.LineBits;

    /// <summary>Index (set*ways+way) of <paramref name="line"/>, or -1 when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ulong line)
    {
        if (line == _memoLine)
            return _memoIndex;
        int b = (int)(line & _setMask) * _ways;
        ulong[] tags = _tags;
        for (int i = b; i < b + _ways; i++)
        {
            if (tags[i] == line)
            {
                _memoLine = line;
                _memoIndex = i;
                return i;
            }
        }
        return -1;
    }

    /// <summary>True when <paramref name="line"/> is present (no state change, nothing counted).</summary>
    public bool Contains(ulong line) => Find(line) >= 0;

    /// <summary>True when <paramref name="line"/> is present and dirty.</summary>
    public bool IsDirty(ulong line)
    {
        int i = Find(line);
        return i >= 0 && (_flags[i] & CacheLineFlags.Dirty) != 0;
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
            int b = (int)(line & _setMask) * _ways;
            _policy.OnHit(_stamps.AsSpan(b, _ways), i - b, ++_tick);
            if (write)
                _flags[i] |= CacheLineFlags.Dirty;
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
        for (int w = 0; w < _ways; w++)
        {
            if (_tags[b + w] == InvalidTag)
            {
                way = w;
                break;
            }
        }
        bool evicted = false;
        victim = InvalidTag;
        victimDirty = false;
        if (way < 0)
        {
            way = _policy.Victim(_stamps.AsSpan(b, _ways));
            victim = _tags[b + way];
            victimDirty = (_flags[b + way] & CacheLineFlags.Dirty) != 0;
            evicted = true;
            if (victimDirty)
                Counters.WriteBacks++;
        }
        _tags[b + way] = line;
        _memoLine = line; // also drops a memo of the victim, which lived in this very way
        _memoIndex = b + way;
        _flags[b + way] = dirty ? CacheLineFlags.Dirty : CacheLineFlags.None;
        _policy.OnFill(_stamps.AsSpan(b, _ways), way, ++_tick);
        return evicted;
    }

    /// <summary>Sets the dirty bit of a present line (a write-back arriving from above); false when absent.</summary>
    public bool MarkDirty(ulong line)
    {
        int i = Find(line);
        if (i < 0)
            return false;
        _flags[i] |= CacheLineFlags.Dirty;
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
        wasDirty = (_flags[i] & CacheLineFlags.Dirty) != 0;
        _memoLine = InvalidTag; // the memo pointed here (Find just hit it) or nowhere useful
        _tags[i] = InvalidTag;
        _flags[i] = CacheLineFlags.None;
        _stamps[i] = 0;
        Counters.BackInvalidations++;
        if (wasDirty)
            Counters.WriteBacks++;
        return true;
    }
}
