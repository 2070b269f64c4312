using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Caches.Cachegrind;

/// <summary>
/// One cache as Cachegrind models it (cg_sim.c, described in the Cachegrind manual): LRU,
/// write-allocate, no dirty state (writes behave exactly like reads), set = line number modulo the
/// power-of-two set count. An access that straddles two lines is one reference: both lines are
/// looked up (state changes for both) and it misses if either misses.
/// Storage: one flat column of <c>sets * ways</c> line numbers, each set kept in recency order
/// (slot 0 most recent). Empty slots hold <see cref="EmptyTag"/>.
/// </summary>
public sealed class CachegrindCache
{
    /// <summary>Tag of a slot that has never been filled.</summary>
    public const ulong EmptyTag = ulong.MaxValue;

    private readonly ulong[] _lines;
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly int _lineBits;

    public CachegrindCache(CacheGeometry geometry)
    {
        Geometry = geometry;
        _ways = geometry.Ways;
        _setMask = (ulong)geometry.Sets - 1;
        _lineBits = geometry.LineBits;
        _lines = new ulong[geometry.Sets * geometry.Ways];
        Array.Fill(_lines, EmptyTag);
    }

    public CacheGeometry Geometry { get; }

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

    /// <summary>Looks up one line, makes it most recent, and returns true when it had to be brought in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool LineMiss(ulong line)
    {
        int b = (int)(line & _setMask) * _ways;
        ulong[] set = _lines;
        if (set[b] == line)
            return false;
        // Find the line (or fall off the end: a miss evicts the least recent slot, the last one),
        // then shift the more recent slots down by one and put the line in front.
        int pos = _ways - 1;
        bool hit = false;
        for (int i = 1; i < _ways; i++)
        {
            if (set[b + i] == line)
            {
                pos = i;
                hit = true;
                break;
            }
        }
        for (int i = pos; i > 0; i--)
            set[b + i] = set[b + i - 1];
        set[b] = line;
        return !hit;
    }
}
