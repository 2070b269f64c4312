using System.Numerics;
using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// Where page-table entries live: every page-table page is an entity in a row of an ECS <see cref="Table"/>
/// whose <see cref="PageTableEntries"/> component (512 entries; <see cref="PageTableEntries1024"/> in 2-level
/// 32-bit mode) holds the page's entries, plus whatever components the owner adds (the kernel adds
/// <c>PageTableFrame</c>). Table rows never move, so a table is reached by a stable number with an index
/// computation and two array loads: the page walk never goes through an entity lookup. The store is shared by
/// every <see cref="PageTable"/> of one World and grows by segments, each a new table twice the size of the
/// previous one (tables have a fixed size), so nothing is ever copied and references stay valid. Rows are
/// recycled through a free list and handed out zeroed; a free row's entity stays alive (as a free frame's does).
/// </summary>
public sealed class PageTableStore
{
    /// <summary>log2 of the first segment's size (16 tables); segment s holds 16 &lt;&lt; s tables.</summary>
    private const int FirstSegmentShift = 4;
    private const int MaxSegments = 27;

    private readonly ComponentType[] _types;
    private readonly bool _wide;
    private readonly Table[] _segments = new Table[MaxSegments];
    private readonly PageTableEntries[][] _narrow = new PageTableEntries[MaxSegments][];
    private readonly PageTableEntries1024[][] _wideRows = new PageTableEntries1024[MaxSegments][];
    private int _segmentCount;
    private int _capacity;
    private int _highWater;
    private int[] _free = new int[16];
    private int _freeCount;
    private bool[] _isFree = new bool[16]; // per row: on the free list (a second Free would hand it out twice)

    /// <summary>
    /// A store for tables of <paramref name="mode"/> in <paramref name="world"/>; each row also gets the
    /// <paramref name="extra"/> component types (zeroed).
    /// </summary>
    public PageTableStore(World world, PagingMode mode, params ReadOnlySpan<ComponentType> extra)
    {
        ArgumentNullException.ThrowIfNull(world);
        World = world;
        EntriesPerTable = mode.EntriesPerTable;
        if (EntriesPerTable is not (512 or 1024))
        {
            throw new ArgumentException($"tables of {EntriesPerTable} entries are not supported (512 or 1024)", nameof(mode));
        }

        _wide = EntriesPerTable == 1024;
        _types = new ComponentType[extra.Length + 1];
        _types[0] = _wide ? ComponentType.Of<PageTableEntries1024>() : ComponentType.Of<PageTableEntries>();
        extra.CopyTo(_types.AsSpan(1));
    }

    /// <summary>The World holding the page-table page entities.</summary>
    public World World { get; }

    /// <summary>Entries per table: 512, or 1024 for 2-level 32-bit paging.</summary>
    public int EntriesPerTable { get; }

    /// <summary>Tables handed out and not yet freed.</summary>
    public int InUse => _highWater - _freeCount;

    /// <summary>Rows created so far (in use or free).</summary>
    public int Capacity => _capacity;

    /// <summary>A zeroed table; returns its number (stable until <see cref="Free"/>).</summary>
    public int Allocate()
    {
        if (_freeCount > 0)
        {
            int reused = _free[--_freeCount];
            _isFree[reused] = false;
            return reused;
        }

        if (_highWater == _capacity)
        {
            AddSegment();
        }

        return _highWater++;
    }

    /// <summary>Gives table <paramref name="table"/> back; its entries are cleared so the next user finds it empty.</summary>
    public void Free(int table)
    {
        if ((uint)table >= (uint)_highWater)
        {
            throw new ArgumentOutOfRangeException(nameof(table), table, "not a table of this store");
        }

        if (_isFree[table])
        {
            throw new InvalidOperationException($"table {table} is already free (freed twice)");
        }

        _isFree[table] = true;

        Entries(table).Clear();
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, _free.Length * 2);
        }

        _free[_freeCount++] = table;
    }

    /// <summary>The page-table page entity of table <paramref name="table"/>.</summary>
    public Entity EntityOf(int table)
    {
        Locate(table, out int seg, out int row);
        return _segments[seg][row];
    }

    /// <summary>Entry <paramref name="index"/> of table <paramref name="table"/>: the page walk's one access per level.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Entry(int table, int index)
    {
        Locate(table, out int seg, out int row);
        if (_wide)
        {
            return ref _wideRows[seg][row][index];
        }

        return ref _narrow[seg][row][index];
    }

    /// <summary>All entries of table <paramref name="table"/> (EntriesPerTable long), in the World's storage.</summary>
    public Span<ulong> Entries(int table)
    {
        Locate(table, out int seg, out int row);
        if (_wide)
        {
            return _wideRows[seg][row];
        }

        return _narrow[seg][row];
    }

    /// <summary>Segment s starts at table 16 * (2^s - 1): the segment is log2(table / 16 + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Locate(int table, out int seg, out int row)
    {
        seg = BitOperations.Log2((uint)(table >> FirstSegmentShift) + 1);
        row = table - (((1 << seg) - 1) << FirstSegmentShift);
    }

    private void AddSegment()
    {
        if (_segmentCount == MaxSegments)
        {
            throw new InvalidOperationException("page-table store is full");
        }

        int s = _segmentCount;
        Table t = World.CreateTable(1 << (FirstSegmentShift + s), _types);
        _segments[s] = t;
        if (_wide)
        {
            _wideRows[s] = t.ColumnArray<PageTableEntries1024>();
        }
        else
        {
            _narrow[s] = t.ColumnArray<PageTableEntries>();
        }

        _segmentCount++;
        _capacity += t.Count;
        if (_isFree.Length < _capacity)
        {
            Array.Resize(ref _isFree, _capacity);
        }
    }
}
