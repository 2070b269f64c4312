using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.Caches.Cachegrind;

/// <summary>
/// One cache as Cachegrind models it (cg_sim.c, described in the Cachegrind manual): LRU,
/// write-allocate, no dirty state (writes behave exactly like reads), set = line number modulo the
/// power-of-two set count. An access that straddles two lines is one reference: both lines are
/// looked up (state changes for both) and it misses if either misses.
/// Storage: the <see cref="CacheLineTag"/> column of a pinned table of <c>sets * ways</c> line entities
/// (row = set * ways + slot, plus a level marker), each set kept in recency order (slot 0 most recent),
/// so a world query sees the lines. Cachegrind keeps no stamps or dirty bits, so these lines have no
/// <see cref="CacheLineStamp"/> or <see cref="CacheLineState"/>. Empty slots hold <see cref="EmptyTag"/>.
/// </summary>
public sealed class CachegrindCache
{
    /// <summary>Tag of a slot that has never been filled.</summary>
    public const ulong EmptyTag = CacheLineTag.Invalid;

    // The table's tag column itself.
    private readonly CacheLineTag[] _lines;
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly int _lineBits;
    // Sets searched and reordered four slots at a time (PromoteVector) rather than slot by slot.
    private readonly bool _vectorWays;

    /// <summary>
    /// Creates the cache's table in <paramref name="world"/>; its lines carry the marker component
    /// <paramref name="level"/> (e.g. <c>ComponentType.Of&lt;L1dLine&gt;()</c>), or none when null.
    /// </summary>
    public CachegrindCache(World world, CacheGeometry geometry, ComponentType? level = null)
        : this(world, geometry, level, vectorWays: true)
    {
    }

    /// <summary>As the public constructor; <paramref name="vectorWays"/> false keeps every set on the slot-by-slot
    /// loop even where 256-bit vectors would serve (tests compare the two; the results are the same either way).</summary>
    internal CachegrindCache(World world, CacheGeometry geometry, ComponentType? level, bool vectorWays)
    {
        Geometry = geometry;
        _ways = geometry.Ways;
        _setMask = (ulong)geometry.Sets - 1;
        _lineBits = geometry.LineBits;
        int lines = geometry.Sets * geometry.Ways;
        Table = level is null
            ? world.CreateTable(lines, ComponentType.Of<CacheLineTag>())
            : world.CreateTable(lines, ComponentType.Of<CacheLineTag>(), level);
        _lines = Table.ColumnArray<CacheLineTag>();
        _lines.AsSpan().Fill(new CacheLineTag { Line = EmptyTag });
        _vectorWays = vectorWays && Vector256.IsHardwareAccelerated && _ways % 4 == 0;
    }

    public CacheGeometry Geometry { get; }

    /// <summary>The table whose rows are this cache's lines.</summary>
    public Table Table { get; }

    /// <summary>
    /// References <paramref name="size"/> bytes at <paramref name="address"/> (size at most one
    /// line, so at most two lines are covered) and returns true on a miss.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsMiss(ulong address, int size)
    {
        ulong first = address >> _lineBits;
        ulong last = (address + (ulong)size - 1) >> _lineBits;
        if (first == last)
            return LineMiss(first);
        // Both lines are always referenced, since each lookup updates that set's LRU order.
        bool missFirst = LineMiss(first);
        bool missSecond = LineMiss(last);
        return missFirst | missSecond;
    }

    /// <summary>Whether <paramref name="line"/> is the most recent line of its set: a reference to it alone is a hit
    /// that changes nothing (<see cref="IsMiss"/> would return false and leave the set as it is).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsMostRecent(ulong line) => _lines[(int)(line & _setMask) * _ways].Line == line;

    /// <summary>Looks up one line, makes it most recent, and returns true when it had to be brought in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool LineMiss(ulong line)
    {
        int b = (int)(line & _setMask) * _ways;
        CacheLineTag[] set = _lines;
        if (set[b].Line == line)
            return false;
        if (_vectorWays)
            return PromoteVector(b, line);
        // Find the line (or fall off the end: a miss evicts the least recent slot, the last one),
        // then shift the more recent slots down by one and put the line in front.
        int pos = _ways - 1;
        bool hit = false;
        for (int i = 1; i < _ways; i++)
        {
            if (set[b + i].Line == line)
            {
                pos = i;
                hit = true;
                break;
            }
        }
        for (int i = pos; i > 0; i--)
            set[b + i] = set[b + i - 1];
        set[b].Line = line;
        return !hit;
    }

    /// <summary>
    /// As the scalar part of <see cref="LineMiss"/> (the set's first slot already checked), four slots at a time,
    /// for associativities that are a multiple of four: one compare finds the line among four slots, and each group
    /// of four slots up to the line's slot moves down by one with one select (slot i takes slot i-1 when i is at most
    /// the line's slot), so the searches and moves of an 8-way set take no branch per slot.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool PromoteVector(int b, ulong line)
    {
        ref ulong set = ref Unsafe.Add(ref Unsafe.As<CacheLineTag, ulong>(ref MemoryMarshal.GetArrayDataReference(_lines)), b);
        var key = Vector256.Create(line);
        int ways = _ways;
        int pos = ways - 1;
        bool hit = false;
        for (int i = 0; i < ways; i += 4)
        {
            uint m = Vector256.Equals(Vector256.LoadUnsafe(ref set, (nuint)i), key).ExtractMostSignificantBits();
            if (m != 0)
            {
                pos = i + BitOperations.TrailingZeroCount(m);
                hit = true;
                break;
            }
        }
        // From the group holding slot pos down to the first: each group reads slots no lower group has moved yet.
        // Slot i + lane moves when lane <= pos - i: one broadcast per group against the constant lane numbers.
        var lanes = Vector256.Create(0L, 1, 2, 3);
        for (int i = pos & ~3; i > 0; i -= 4)
        {
            var moved = Vector256.LessThanOrEqual(lanes, Vector256.Create((long)(pos - i))).AsUInt64();
            var current = Vector256.LoadUnsafe(ref set, (nuint)i);
            var previous = Vector256.LoadUnsafe(ref set, (nuint)(i - 1));
            Vector256.ConditionalSelect(moved, previous, current).StoreUnsafe(ref set, (nuint)i);
        }
        var first = Vector256.LoadUnsafe(ref set);
        var firstMoved = Vector256.LessThanOrEqual(lanes, Vector256.Create((long)pos)).AsUInt64();
        // Slot 0 becomes the line; slots 1-3 take slots 0-2 where moved.
        var shifted = Vector256.Shuffle(first, Vector256.Create(0UL, 0, 1, 2));
        Vector256.ConditionalSelect(firstMoved, shifted, first).WithElement(0, line).StoreUnsafe(ref set);
        return !hit;
    }
}
