using System.Runtime.CompilerServices;
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

    /// <summary>
    /// Creates the cache's table in <paramref name="world"/>; its lines carry the marker component
    /// <paramref name="level"/> (e.g. <c>ComponentType.Of&lt;L1dLine&gt;()</c>), or none when null.
    /// </summary>
    public CachegrindCache(World world, CacheGeometry geometry, ComponentType? level = null)
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

    /// <summary>Looks up one line, makes it most recent, and returns true when it had to be brought in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool LineMiss(ulong line)
    {
        int b = (int)(line & _setMask) * _ways;
        CacheLineTag[] set = _lines;
        if (set[b].Line == line)
            return false;
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
}
