using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// The multi-level page table of one mm. Each table page is identified by a page id local to this mm (the
/// root first); its <see cref="PagingMode.EntriesPerTable"/> entries (512, or 1024 in 32-bit mode) live in the
/// World, in the <see cref="PageTableEntries"/> component of the page-table page's entity, a row of a
/// <see cref="PageTableStore"/> shared by all mms; <c>_slot[id]</c> is that row's number. An upper-level
/// entry points at its child with the child's id in the PFN field plus _PAGE_TABLE bits (present, RW, user,
/// accessed). Tables are allocated on demand by <see cref="PteAlloc"/> and freed when they become empty by
/// <see cref="UnmapRange{TVisitor}"/>. Huge (PSE) leaf entries in upper levels are not modelled.
/// </summary>
public sealed class PageTable
{
    /// <summary>_PAGE_TABLE: what an upper-level entry pointing at a table carries.</summary>
    public const ulong TableEntryBits = Pte.PresentBit | Pte.RwBit | Pte.UserBit | Pte.AccessedBit;

    private readonly int _entries;
    private readonly int _levels;
    private readonly int _bits;
    private readonly PageTableStore _store;
    private int[] _slot;
    private sbyte[] _levelOf;
    private int _highWater;
    private int[] _free = new int[16];
    private int _freeCount;
    private readonly long[] _perLevel;
    private bool _released;
    // A software cache of the walk's last step, like the paging-structure caches' PDE cache but invisible to the model:
    // for a few 2 MiB regions (direct-mapped by va >> 21), the store row of the leaf table the walk reached, so a
    // walk of a region seen before reads only its PTE instead of every level's entry (a chain of dependent loads per
    // TLB miss). The walk's answer and its levels count are the same either way. Emptied whenever an upper-level
    // entry changes or a table is freed (AllocatingWalk, FreeTable, Release); rows never move while their table lives.
    private const int LeafCacheSize = 16;
    private readonly ulong[] _leafTag = new ulong[LeafCacheSize];
    private readonly int[] _leafRow = new int[LeafCacheSize];

    /// <summary>
    /// An empty page table (just the root) whose tables are rows of <paramref name="store"/>, or of a private
    /// store in a private World when none is given (standalone tools and tests).
    /// </summary>
    public PageTable(PagingMode mode, IPageTableAllocator? allocator = null, PageTableStore? store = null)
    {
        store ??= new PageTableStore(new World(), mode);
        if (store.EntriesPerTable != mode.EntriesPerTable)
        {
            throw new ArgumentException($"the store holds tables of {store.EntriesPerTable} entries, {mode.Name} needs {mode.EntriesPerTable}", nameof(store));
        }

        Mode = mode;
        Allocator = allocator;
        _store = store;
        _entries = mode.EntriesPerTable;
        _levels = mode.Levels;
        _bits = mode.BitsPerLevel;
        _slot = new int[8];
        _levelOf = new sbyte[8];
        _perLevel = new long[_levels];
        Array.Fill(_leafRow, -1);
        // The root's charge (mm_alloc_pgd) is made before any task uses the mm: no one to reclaim for.
        Root = AllocTable(_levels - 1, out _);
    }

    /// <summary>The paging geometry.</summary>
    public PagingMode Mode { get; }

    /// <summary>Charged on every table allocation and free.</summary>
    public IPageTableAllocator? Allocator { get; set; }

    /// <summary>Page id of the root table (mm->pgd).</summary>
    public int Root { get; }

    /// <summary>The store whose rows hold this table's entries.</summary>
    public PageTableStore Store => _store;

    /// <summary>True after <see cref="Release"/>: every table, the root included, went back to the store.</summary>
    public bool IsReleased => _released;

    /// <summary>Leaf (PTE-level) tables allocated: Linux's old mm->nr_ptes.</summary>
    public ulong NrPtes => (ulong)_perLevel[0];

    /// <summary>Bytes of all tables below the root (mm_pgtables_bytes counts PTE, PMD and PUD tables).</summary>
    public ulong PgtablesBytes
    {
        get
        {
            long n = 0;
            for (int l = 0; l < _levels - 1; l++)
            {
                n += _perLevel[l];
            }

            return (ulong)n * Pte.PageSize;
        }
    }

    /// <summary>Tables currently allocated at <paramref name="level"/> (the root counts at Levels-1).</summary>
    public long TablesAt(int level) => _perLevel[level];

    /// <summary>
    /// The hardware walk (no allocation): walks the levels for <paramref name="va"/> and returns a reference to its leaf
    /// entry (the PTE), or a null reference when a table on the way is missing (check with Unsafe.IsNullRef).
    /// <paramref name="levelsTouched"/> counts the table pages read, as a hardware walker would. Tables are allocated
    /// only by <see cref="PteAlloc"/>, which returns their charges, so this per-access lookup stays small and inlined.
    /// The reference points into the World (the leaf table entity's component) and stays valid while that table lives.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Walk(ulong va, out int levelsTouched)
    {
        levelsTouched = 0;
        if (_released)
        {
            return ref Unsafe.NullRef<ulong>();
        }

        int mask = _entries - 1;
        PageTableStore store = _store;
        ulong tag = va >> (Pte.PageShift + _bits);
        int c = (int)(tag & (LeafCacheSize - 1));
        int row = _leafRow[c];
        if (row >= 0 && _leafTag[c] == tag)
        {
            levelsTouched = _levels; // what the walk below reads to reach this leaf table
            return ref store.Entry(row, (int)((va >> Pte.PageShift) & (ulong)mask));
        }

        int page = Root;
        for (int level = _levels - 1; level > 0; level--)
        {
            levelsTouched++;
            ulong e = store.Entry(_slot[page], (int)((va >> (Pte.PageShift + (level * _bits))) & (ulong)mask));
            if ((e & Pte.PresentBit) == 0)
            {
                return ref Unsafe.NullRef<ulong>();
            }

            page = (int)((e & Pte.PfnMask) >> Pte.PageShift);
        }

        levelsTouched++;
        row = _slot[page];
        _leafTag[c] = tag;
        _leafRow[c] = row;
        return ref store.Entry(row, (int)((va >> Pte.PageShift) & (ulong)mask));
    }

    /// <summary>Forgets the walk's leaf-table cache (an upper-level entry changed or a table was freed).</summary>
    private void ForgetLeafTables() => Array.Fill(_leafRow, -1);

    /// <summary>
    /// pte_alloc with the upper levels' p4d_alloc, pud_alloc and pmd_alloc (__pte_alloc → pte_alloc_one): walks to
    /// <paramref name="va"/>'s leaf entry, allocating every missing table, and returns a reference to the entry.
    /// <paramref name="charges"/> says what each new table's memcg charge did (<see cref="IPageTableAllocator.TableAllocated"/>),
    /// so the caller decides on the reclaim a charge at memory.max owes (Linux's try_charge_memcg reclaims inside the
    /// allocation for the current task; EcsMem's reclaim is a later stage or tick, which only the caller knows).
    /// </summary>
    public ref ulong PteAlloc(ulong va, out PageTableCharges charges) => ref AllocatingWalk(va, out charges);

    /// <summary>
    /// pte_alloc and its upper levels' p4d_alloc, pud_alloc and pmd_alloc for <see cref="PteAlloc"/>: the walk of
    /// <see cref="Walk"/>, allocating every missing table and adding each new table's charge to <paramref name="charges"/>.
    /// </summary>
    private ref ulong AllocatingWalk(ulong va, out PageTableCharges charges)
    {
        charges = default;
        if (_released)
        {
            ThrowReleased();
        }

        int page = Root;
        int mask = _entries - 1;
        PageTableStore store = _store;
        for (int level = _levels - 1; level > 0; level--)
        {
            // Store rows never move, so this reference survives the allocation below.
            ref ulong slot = ref store.Entry(_slot[page], (int)((va >> (Pte.PageShift + (level * _bits))) & (ulong)mask));
            ulong e = slot;
            if ((e & Pte.PresentBit) == 0)
            {
                int child = AllocTable(level - 1, out PageTableCharge charge);
                charges.Add(charge);
                slot = ((ulong)child << Pte.PageShift) | TableEntryBits;
                ForgetLeafTables();
                page = child;
            }
            else
            {
                page = (int)((e & Pte.PfnMask) >> Pte.PageShift);
            }
        }

        return ref store.Entry(_slot[page], (int)((va >> Pte.PageShift) & (ulong)mask));
    }

    /// <summary>
    /// The hardware walk of <see cref="Walk"/> (no allocation) that also records the table it read at each level:
    /// <paramref name="path"/>[level] is the page id of the table read at that level (0: the PTE table), for the
    /// <paramref name="levelsTouched"/> levels read from the root down; the paging-structure caches fill from it.
    /// </summary>
    public ref ulong WalkPath(ulong va, scoped Span<int> path, out int levelsTouched)
    {
        levelsTouched = 0;
        if (_released)
            return ref Unsafe.NullRef<ulong>();
        int page = Root;
        int mask = _entries - 1;
        for (int level = _levels - 1; level > 0; level--)
        {
            levelsTouched++;
            path[level] = page;
            ulong e = _store.Entry(_slot[page], (int)((va >> (Pte.PageShift + (level * _bits))) & (ulong)mask));
            if ((e & Pte.PresentBit) == 0)
                return ref Unsafe.NullRef<ulong>();
            page = (int)((e & Pte.PfnMask) >> Pte.PageShift);
        }
        levelsTouched++;
        path[0] = page;
        return ref _store.Entry(_slot[page], (int)((va >> Pte.PageShift) & (ulong)mask));
    }

    /// <summary>A released table maps nothing: allocating in it is a bug in the caller (the mm has exited).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowReleased() =>
        throw new InvalidOperationException("allocating walk of a released page table (the mm has exited)");

    /// <summary>
    /// The page id of the table at <paramref name="level"/> (0: the PTE table) covering <paramref name="va"/>, or -1 when
    /// there is none: a reader's walk that allocates nothing (the multi-gen LRU's page-table walks).
    /// </summary>
    public int TableAt(ulong va, int level)
    {
        if (_released || level < 0 || level >= _levels)
            return -1;
        int page = Root;
        int mask = _entries - 1;
        for (int l = _levels - 1; l > level; l--)
        {
            ulong e = _store.Entry(_slot[page], (int)((va >> (Pte.PageShift + (l * _bits))) & (ulong)mask));
            if ((e & Pte.PresentBit) == 0)
                return -1;
            page = (int)((e & Pte.PfnMask) >> Pte.PageShift);
        }
        return page;
    }

    /// <summary>The leaf entry for <paramref name="va"/>, or 0 when no table covers it.</summary>
    public ulong Lookup(ulong va)
    {
        ref ulong e = ref Walk(va, out _);
        return Unsafe.IsNullRef(ref e) ? 0 : e;
    }

    /// <summary>
    /// set_pte_at for tools and tests: stores a leaf entry, allocating tables as needed (<see cref="PteAlloc"/>). It has no
    /// task to reclaim for, so a table charge that found a group at memory.max would be dropped: that throws (a caller
    /// under a memory controller takes the charges from <see cref="PteAlloc"/> and reclaims).
    /// </summary>
    public void Set(ulong va, ulong pte)
    {
        ref ulong slot = ref PteAlloc(va, out PageTableCharges charges);
        if (charges.OverMax)
        {
            throw new InvalidOperationException("a page table's charge at memory.max was dropped: a walk under a memory controller allocates through PteAlloc");
        }

        slot = pte;
    }

    /// <summary>
    /// zap_page_range + free_pgtables for [start, end): clears every leaf entry in the range, handing each
    /// non-empty one to the visitor, and frees tables left completely empty (their parent entry is cleared).
    /// Returns the number of non-empty entries cleared. The root is never freed.
    /// </summary>
    public long UnmapRange<TVisitor>(ulong start, ulong end, ref TVisitor visitor)
        where TVisitor : struct, IPteVisitor
    {
        if (end <= start || _released)
        {
            return 0;
        }

        return Zap(Root, _levels - 1, 0, start, end - 1, ref visitor);
    }

    /// <summary>
    /// Hands every non-empty leaf entry in [start, end) to the visitor, by reference and in ascending address
    /// order, descending only into upper-level entries that point at a table (as copy_page_range and
    /// change_protection do with pmd_none_or_clear_bad and friends): the cost follows the populated tables, not
    /// the size of the range, so a fork or mprotect of a 64 TiB mapping with a few touched pages is quick. The
    /// visitor may change the entry it is given (and allocate tables in another page table) but must not free
    /// tables of this one. Returns the number of entries visited.
    /// </summary>
    public long VisitRange<TVisitor>(ulong start, ulong end, ref TVisitor visitor)
        where TVisitor : struct, IPteRefVisitor
    {
        if (end <= start || _released)
        {
            return 0;
        }

        return VisitTable(Root, _levels - 1, 0, start, end - 1, ref visitor);
    }

    /// <summary>Frees every table below the root and clears the root (teardown at exit).</summary>
    public void FreeAll()
    {
        var none = new NoVisitor();
        UnmapRange(0, ulong.MaxValue, ref none);
    }

    /// <summary>
    /// mm_free_pgd: frees every table below the root (through the allocator hook) and then gives the root's
    /// row back to the store (the hook is not called for it: the owner frees the pgd itself, as Linux's
    /// mm_free_pgd does). Afterwards the table maps nothing; its counters keep their last values.
    /// </summary>
    public void Release()
    {
        if (_released)
        {
            return;
        }

        FreeAll();
        ForgetLeafTables();
        _store.Free(_slot[Root]);
        _slot[Root] = -1;
        _released = true;
    }

    /// <summary>The page-table page entity holding table <paramref name="pageId"/>'s entries.</summary>
    public Entity EntityOf(int pageId)
    {
        if (LevelOf(pageId) < 0 || _slot[pageId] < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pageId), pageId, "no such table");
        }

        return _store.EntityOf(_slot[pageId]);
    }

    /// <summary>The row of the <see cref="Store"/> holding table <paramref name="pageId"/>'s entries, or -1 for a free id.</summary>
    public int RowOf(int pageId) => LevelOf(pageId) < 0 ? -1 : _slot[pageId];

    /// <summary>
    /// The entries [<paramref name="i0"/>, <paramref name="i1"/>] of the level-<paramref name="level"/> table at
    /// <paramref name="tableBase"/> that cover [<paramref name="first"/>, <paramref name="last"/>]; returns the
    /// address shift of one entry at that level.
    /// </summary>
    private int EntryRange(int level, ulong tableBase, ulong first, ulong last, out int i0, out int i1)
    {
        int shift = Pte.PageShift + (level * _bits);
        ulong tableSpan = level == _levels - 1 ? 0 : (1UL << shift) << _bits;
        ulong lo = Math.Max(first, tableBase);
        ulong hi = tableSpan == 0 ? last : Math.Min(last, tableBase + tableSpan - 1);
        int mask = _entries - 1;
        i0 = (int)((lo >> shift) & (ulong)mask);
        i1 = (int)((hi >> shift) & (ulong)mask);
        if (level == _levels - 1 && (hi >> shift) > (ulong)mask)
        {
            i1 = mask;
        }

        return shift;
    }

    private long Zap<TVisitor>(int page, int level, ulong tableBase, ulong first, ulong last, ref TVisitor visitor)
        where TVisitor : struct, IPteVisitor
    {
        int shift = EntryRange(level, tableBase, first, last, out int i0, out int i1);
        long cleared = 0;
        // A span over the World's storage of this table: freeing children below clears their rows, not this one.
        Span<ulong> entries = _store.Entries(_slot[page]);
        for (int i = i0; i <= i1; i++)
        {
            ulong e = entries[i];
            if (e == 0)
            {
                continue;
            }

            ulong va = tableBase + ((ulong)i << shift);
            if (level == 0)
            {
                visitor.Visit(va, e);
                entries[i] = 0;
                cleared++;
                continue;
            }

            int child = (int)((e & Pte.PfnMask) >> Pte.PageShift);
            cleared += Zap(child, level - 1, va, first, last, ref visitor);
            if (IsEmpty(child))
            {
                entries[i] = 0;
                FreeTable(child);
            }
        }

        return cleared;
    }

    private long VisitTable<TVisitor>(int page, int level, ulong tableBase, ulong first, ulong last, ref TVisitor visitor)
        where TVisitor : struct, IPteRefVisitor
    {
        int shift = EntryRange(level, tableBase, first, last, out int i0, out int i1);
        long visited = 0;
        // Store rows never move, so this span stays valid while the visitor allocates rows for another table.
        Span<ulong> entries = _store.Entries(_slot[page]);
        for (int i = i0; i <= i1; i++)
        {
            ulong e = entries[i];
            if (e == 0)
            {
                continue;
            }

            ulong va = tableBase + ((ulong)i << shift);
            if (level == 0)
            {
                visitor.Visit(va, ref entries[i]);
                visited++;
                continue;
            }

            visited += VisitTable((int)((e & Pte.PfnMask) >> Pte.PageShift), level - 1, va, first, last, ref visitor);
        }

        return visited;
    }

    /// <summary>
    /// The entries of table <paramref name="pageId"/> (read-only view of its entity's component); empty for a
    /// free id or a released table.
    /// </summary>
    public ReadOnlySpan<ulong> Entries(int pageId) => LevelOf(pageId) < 0 || _slot[pageId] < 0 ? default : _store.Entries(_slot[pageId]);

    /// <summary>Level of table <paramref name="pageId"/>, or -1 when that id is free.</summary>
    public int LevelOf(int pageId) => (uint)pageId < (uint)_highWater ? _levelOf[pageId] : -1;

    private bool IsEmpty(int page)
    {
        return _store.Entries(_slot[page]).IndexOfAnyExcept(0UL) < 0;
    }

    private int AllocTable(int level, out PageTableCharge charge)
    {
        int id;
        if (_freeCount > 0)
        {
            id = _free[--_freeCount];
        }
        else
        {
            id = _highWater++;
            if (_highWater > _slot.Length)
            {
                Array.Resize(ref _slot, _slot.Length * 2);
                Array.Resize(ref _levelOf, _levelOf.Length * 2);
            }
        }

        // The store hands out zeroed rows, so a reused id starts empty.
        _slot[id] = _store.Allocate();
        _levelOf[id] = (sbyte)level;
        _perLevel[level]++;
        charge = Allocator?.TableAllocated(id, level) ?? PageTableCharge.Uncharged;
        return id;
    }

    private void FreeTable(int id)
    {
        ForgetLeafTables();
        int level = _levelOf[id];
        _levelOf[id] = -1;
        _perLevel[level]--;
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, _free.Length * 2);
        }

        _free[_freeCount++] = id;
        // The hook still sees the table's entity; the row goes back to the store after it.
        Allocator?.TableFreed(id, level);
        _store.Free(_slot[id]);
        _slot[id] = -1;
    }

    private struct NoVisitor : IPteVisitor
    {
        public readonly void Visit(ulong va, ulong pte)
        {
        }
    }
}
