using System.Runtime.CompilerServices;
using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// The multi-level page table of one mm. Each table page is a run of <see cref="PagingMode.EntriesPerTable"/>
/// ulong entries (512, or 1024 in 32-bit mode) inside one flat arena, identified by a page id; an upper-level
/// entry points at its child with the child's id in the PFN field plus _PAGE_TABLE bits (present, RW, user,
/// accessed). The layout is one contiguous 4 KiB-or-8 KiB block per table, so moving a table into an ECS
/// component with an [InlineArray] buffer later is a copy. Tables are allocated on demand by
/// <see cref="Walk"/> and freed when they become empty by <see cref="UnmapRange{TVisitor}"/>.
/// Huge (PSE) leaf entries in upper levels are not modelled.
/// </summary>
public sealed class PageTable
{
    /// <summary>_PAGE_TABLE: what an upper-level entry pointing at a table carries.</summary>
    public const ulong TableEntryBits = Pte.PresentBit | Pte.RwBit | Pte.UserBit | Pte.AccessedBit;

    private readonly int _entries;
    private readonly int _levels;
    private readonly int _bits;
    private ulong[] _arena;
    private sbyte[] _levelOf;
    private int _highWater;
    private int[] _free = new int[16];
    private int _freeCount;
    private readonly long[] _perLevel;

    public PageTable(PagingMode mode, IPageTableAllocator? allocator = null)
    {
        Mode = mode;
        Allocator = allocator;
        _entries = mode.EntriesPerTable;
        _levels = mode.Levels;
        _bits = mode.BitsPerLevel;
        _arena = new ulong[_entries * 8];
        _levelOf = new sbyte[8];
        _perLevel = new long[_levels];
        Root = AllocTable(_levels - 1);
    }

    /// <summary>The paging geometry.</summary>
    public PagingMode Mode { get; }

    /// <summary>Charged on every table allocation and free.</summary>
    public IPageTableAllocator? Allocator { get; set; }

    /// <summary>Page id of the root table (mm->pgd).</summary>
    public int Root { get; }

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
    /// Walks the levels for <paramref name="va"/> and returns a reference to its leaf entry (the PTE),
    /// allocating missing tables when <paramref name="allocate"/> is set (__pte_alloc and friends).
    /// <paramref name="levelsTouched"/> counts the table pages read, as a hardware walker would.
    /// Without allocation a missing table gives a null reference (check with Unsafe.IsNullRef).
    /// The reference stays valid until the next allocating walk.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Walk(ulong va, bool allocate, out int levelsTouched)
    {
        int page = Root;
        int mask = _entries - 1;
        levelsTouched = 0;
        for (int level = _levels - 1; level > 0; level--)
        {
            levelsTouched++;
            int slot = (page * _entries) + (int)((va >> (Pte.PageShift + (level * _bits))) & (ulong)mask);
            ulong e = _arena[slot];
            if ((e & Pte.PresentBit) == 0)
            {
                if (!allocate)
                {
                    return ref Unsafe.NullRef<ulong>();
                }

                int child = AllocTable(level - 1);
                _arena[slot] = ((ulong)child << Pte.PageShift) | TableEntryBits;
                page = child;
            }
            else
            {
                page = (int)((e & Pte.PfnMask) >> Pte.PageShift);
            }
        }

        levelsTouched++;
        return ref _arena[(page * _entries) + (int)((va >> Pte.PageShift) & (ulong)mask)];
    }

    /// <summary>The leaf entry for <paramref name="va"/>, or 0 when no table covers it.</summary>
    public ulong Lookup(ulong va)
    {
        ref ulong e = ref Walk(va, false, out _);
        return Unsafe.IsNullRef(ref e) ? 0 : e;
    }

    /// <summary>set_pte_at: stores a leaf entry, allocating tables as needed.</summary>
    public void Set(ulong va, ulong pte) => Walk(va, true, out _) = pte;

    /// <summary>
    /// zap_page_range + free_pgtables for [start, end): clears every leaf entry in the range, handing each
    /// non-empty one to the visitor, and frees tables left completely empty (their parent entry is cleared).
    /// Returns the number of non-empty entries cleared. The root is never freed.
    /// </summary>
    public long UnmapRange<TVisitor>(ulong start, ulong end, ref TVisitor visitor)
        where TVisitor : struct, IPteVisitor
    {
        if (end <= start)
        {
            return 0;
        }

        return Zap(Root, _levels - 1, 0, start, end - 1, ref visitor);
    }

    /// <summary>Frees every table below the root and clears the root (teardown at exit).</summary>
    public void FreeAll()
    {
        var none = new NoVisitor();
        UnmapRange(0, ulong.MaxValue, ref none);
    }

    private long Zap<TVisitor>(int page, int level, ulong tableBase, ulong first, ulong last, ref TVisitor visitor)
        where TVisitor : struct, IPteVisitor
    {
        int shift = Pte.PageShift + (level * _bits);
        ulong span = 1UL << shift;
        ulong tableSpan = level == _levels - 1 ? 0 : span << _bits;
        ulong lo = Math.Max(first, tableBase);
        ulong hi = tableSpan == 0 ? last : Math.Min(last, tableBase + tableSpan - 1);
        int mask = _entries - 1;
        int i0 = (int)((lo >> shift) & (ulong)mask);
        int i1 = (int)((hi >> shift) & (ulong)mask);
        if (level == _levels - 1 && (hi >> shift) > (ulong)mask)
        {
            i1 = mask;
        }

        long cleared = 0;
        int baseSlot = page * _entries;
        for (int i = i0; i <= i1; i++)
        {
            ulong e = _arena[baseSlot + i];
            if (e == 0)
            {
                continue;
            }

            ulong va = tableBase + ((ulong)i << shift);
            if (level == 0)
            {
                visitor.Visit(va, e);
                _arena[baseSlot + i] = 0;
                cleared++;
                continue;
            }

            int child = (int)((e & Pte.PfnMask) >> Pte.PageShift);
            cleared += Zap(child, level - 1, va, first, last, ref visitor);
            if (IsEmpty(child))
            {
                _arena[baseSlot + i] = 0;
                FreeTable(child);
            }
        }

        return cleared;
    }

    /// <summary>The entries of table <paramref name="pageId"/> (read-only view into the arena).</summary>
    public ReadOnlySpan<ulong> Entries(int pageId) => _arena.AsSpan(pageId * _entries, _entries);

    /// <summary>Level of table <paramref name="pageId"/>, or -1 when that id is free.</summary>
    public int LevelOf(int pageId) => pageId < _highWater ? _levelOf[pageId] : -1;

    /// <summary>
    /// Copies a table into its ECS-storable form. In 32-bit mode the 1024 entries are packed to 32 bits as
    /// the hardware stores them; bits above 31 (the NX bit, which 2-level paging lacks) are dropped.
    /// </summary>
    public void ExportPage(int pageId, ref PageTablePage page)
    {
        ReadOnlySpan<ulong> src = Entries(pageId);
        page.Level = _levelOf[pageId];
        if (_entries == 512)
        {
            src.CopyTo(page.AsEntries64());
            return;
        }

        Span<uint> dst = page.AsEntries32();
        for (int i = 0; i < src.Length; i++)
        {
            dst[i] = (uint)src[i];
        }
    }

    private bool IsEmpty(int page)
    {
        return _arena.AsSpan(page * _entries, _entries).IndexOfAnyExcept(0UL) < 0;
    }

    private int AllocTable(int level)
    {
        int id;
        if (_freeCount > 0)
        {
            id = _free[--_freeCount];
        }
        else
        {
            id = _highWater++;
            if ((long)_highWater * _entries > _arena.Length)
            {
                Array.Resize(ref _arena, _arena.Length * 2);
                Array.Resize(ref _levelOf, _levelOf.Length * 2);
            }
        }

        _levelOf[id] = (sbyte)level;
        _perLevel[level]++;
        Allocator?.TableAllocated(id, level);
        return id;
    }

    private void FreeTable(int id)
    {
        int level = _levelOf[id];
        _levelOf[id] = -1;
        _perLevel[level]--;
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, _free.Length * 2);
        }

        _free[_freeCount++] = id;
        Allocator?.TableFreed(id, level);
    }

    private struct NoVisitor : IPteVisitor
    {
        public readonly void Visit(ulong va, ulong pte)
        {
        }
    }
}
