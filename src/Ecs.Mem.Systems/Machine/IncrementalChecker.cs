using EcsMem.Components;
using EcsMem.Systems.Kernel;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Systems.Machine;

/// <summary>
/// The invariant checker you can leave on (<c>ecsmem run --check</c>): after each tick it verifies only what
/// that tick changed — the frames, PTEs, swap slots, page-cache entries and mms the kernel's mutation points
/// reported to <see cref="DirtySet"/> — and every <see cref="FullEvery"/> ticks (and at the end, when the
/// caller asks) it runs the whole <see cref="InvariantChecker"/>.
/// </summary>
/// <remarks>
/// <para>Local checks, each a restatement of a full-check invariant for one object:</para>
/// <list type="bullet">
/// <item>a touched PTE: a mapped entry points at an allocated, non-page-table frame inside RAM whose reverse
/// map names this (mm, va) and lies inside a VMA; a special entry maps the zero page; a swap entry names a slot
/// of the area;</item>
/// <item>a touched frame: its pfn, free-ness (PG_buddy exactly when inside a buddy free block, a per-CPU page on a
/// list), no mapping/pin/LRU flag when free; mapcount = reverse-map length, each reverse mapping's PTE maps
/// the frame; not leaked, not an orphan anon page; swap-cache and page-cache back pointers;</item>
/// <item>a touched swap slot: swap_map count = the PTEs holding it, SWAP_HAS_CACHE ⇔ the swap cache has it, the
/// cached frame records the slot;</item>
/// <item>a touched page-cache entry: its frame is allocated and carries (file, index);</item>
/// <item>a touched mm: RSS / MM_ANONPAGES / MM_SWAPENTS = its present / anonymous / swap PTEs, hiwater_rss ≥ RSS,
/// map_count = the VMA index, VMAs sorted and disjoint, nothing left once exited;</item>
/// <item>every tick: the tasks and CPUs (mm_users, lazy TLB, mm_count), and the totals inuse_pages, the
/// swap-cache and page-cache sizes.</item>
/// </list>
/// <para>The counts that would need a walk of every page table (PTEs per mm, per slot) are kept as shadow
/// counts: taken from the kernel's own counters after a clean full check (which proved them equal to the
/// walk) and moved by every PTE the tick changed (the hooks record each PTE's value before its first change).
/// So the cost of a tick's check follows the tick's changes, not the machine's size.</para>
/// </remarks>
public sealed class IncrementalChecker
{
    /// <summary>Full checks every this many ticks unless told otherwise (the CLI's <c>--check-every</c>).</summary>
    public const int DefaultFullEvery = 1000;

    private readonly Kernel.Kernel _k;
    private readonly InvariantChecker _full;
    private readonly DirtySet _dirty;
    private readonly List<string> _violations = new();
    private readonly List<(int Mm, ulong Va)> _maps = new();
    private readonly HashSet<int> _frames = new();
    private readonly HashSet<int> _slots = new();
    private readonly HashSet<int> _mms = new();
    private readonly Dictionary<int, MmCounts> _mmCounts = new();
    private int[] _slotRefs;
    private long _usedPages, _swapCached, _pageCached;
    private long _ticks;

    private struct MmCounts
    {
        public long Anon;
        public long File;
        public long Swap;
    }

    /// <summary>Starts tracking <paramref name="kernel"/>'s changes; call <see cref="CheckFull"/> before the first tick.</summary>
    public IncrementalChecker(Kernel.Kernel kernel, int fullEvery = DefaultFullEvery)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fullEvery);
        _k = kernel;
        FullEvery = fullEvery;
        _full = new InvariantChecker(kernel);
        _dirty = kernel.TrackChanges();
        _slotRefs = new int[Math.Max(kernel.Swap.Slots, 1)];
    }

    public IncrementalChecker(SimMachine machine, int fullEvery = DefaultFullEvery)
        : this(machine.Kernel, fullEvery)
    {
    }

    /// <summary>Ticks between full checks.</summary>
    public int FullEvery { get; }

    /// <summary>Full checks run so far.</summary>
    public long FullChecks { get; private set; }

    /// <summary>
    /// After a tick: the full check every <see cref="FullEvery"/>-th call, the incremental one otherwise.
    /// Returns the violations (empty when consistent).
    /// </summary>
    public IReadOnlyList<string> AfterTick() => ++_ticks % FullEvery == 0 ? CheckFull() : CheckTick();

    /// <summary>
    /// The whole <see cref="InvariantChecker"/>; when it passes, the shadow counts restart from the kernel's
    /// counters and the tick's changes are forgotten.
    /// </summary>
    public IReadOnlyList<string> CheckFull()
    {
        FullChecks++;
        var v = _full.Check();
        _dirty.Clear();
        if (v.Count == 0)
            Resync();
        return v;
    }

    private void Resync()
    {
        var swap = _k.Swap;
        for (int slot = 0; slot < _slotRefs.Length && slot < swap.Slots; slot++)
            _slotRefs[slot] = swap.Count(slot); // PTEs and shmem slots, as the full check just found
        _usedPages = swap.UsedPages;
        _swapCached = _k.SwapCache.Count;
        _pageCached = _k.PageCache.Count;
        _mmCounts.Clear();
        foreach (MmState mm in _k.Tasks.LiveMms)
        {
            ref MmStruct s = ref mm.Mm.Struct;
            _mmCounts[mm.Id] = new MmCounts { Anon = (long)s.RssAnon, File = (long)(s.RssFile + s.RssShmem), Swap = (long)s.SwapEnts };
        }
    }

    /// <summary>Checks what the tick changed (see the remarks), then forgets it.</summary>
    public IReadOnlyList<string> CheckTick()
    {
        _violations.Clear();
        _frames.Clear();
        _slots.Clear();
        _mms.Clear();
        foreach (int pfn in _dirty.Frames)
            _frames.Add(pfn);
        foreach (var (slot, _, _) in _dirty.Slots)
            _slots.Add(slot);
        foreach (int mm in _dirty.Mms)
            _mms.Add(mm);

        // PTEs first: they move the shadow counts and name more frames, slots and mms to look at.
        foreach (var ((mmId, va), before) in _dirty.Ptes)
        {
            _mms.Add(mmId);
            MmState? mm = _k.Tasks.MmById(mmId);
            ulong e = mm?.Tables.Lookup(va) ?? 0;
            PteShadow after = PteShadow.Of(e, _k.Zone);
            if (before != after)
            {
                Count(mmId, before, -1);
                Count(mmId, after, +1);
            }
            if (mm is not null)
                CheckPte(mm, va, e);
        }

        CountShmemSwapEntries();
        foreach (int pfn in _frames)
            CheckFrame(pfn);
        CheckSlots();
        CheckPageCacheKeys();
        foreach (int mm in _mms)
            CheckMm(mm);
        foreach (string s in _full.CheckTasksAndCpus())
            _violations.Add(s);
        if (_k.Env.LateWork is { } late)
            Fail($"{late} ({_k.Env.LateWorkCount} found so far)");

        _dirty.Clear();
        return _violations.ToArray();
    }

    private void Count(int mmId, PteShadow s, int delta)
    {
        if (s.Kind == PteKind.None)
            return;
        _mmCounts.TryGetValue(mmId, out MmCounts c);
        switch (s.Kind)
        {
            case PteKind.Anon: c.Anon += delta; _frames.Add(s.Target); break;
            case PteKind.File: c.File += delta; _frames.Add(s.Target); break;
            case PteKind.Swap:
                c.Swap += delta;
                if ((uint)s.Target < (uint)_slotRefs.Length)
                {
                    _slotRefs[s.Target] += delta;
                    _slots.Add(s.Target);
                }
                break;
        }
        _mmCounts[mmId] = c;
    }

    private void Fail(FormattableString message) => _violations.Add(FormattableString.Invariant(message));

    // ------------------------------------------------------------------ PTEs

    private void CheckPte(MmState mm, ulong va, ulong e)
    {
        if (e == 0)
            return;
        int idx = mm.Mm.Vmas.FindVma(va);
        if (idx < 0 || va < mm.Mm.Vmas.StartOf(idx))
            Fail($"mm {mm.Id}: PTE 0x{e:x} at 0x{va:x} lies outside every VMA");
        var pte = new Pte(e);
        if (pte.Present || (e & Pte.ProtNoneBit) != 0)
        {
            ulong pfn = pte.Pfn;
            Frame[] fr = _k.Zone.Frames;
            if (pfn >= (ulong)fr.Length)
            {
                Fail($"mm {mm.Id}: PTE at 0x{va:x} maps pfn {pfn} beyond RAM");
                return;
            }
            if (pte.Special || (int)pfn == _k.Zone.ZeroPfn || _k.Thp.IsHugeZero((int)pfn))
            {
                if (!pte.Special || ((int)pfn != _k.Zone.ZeroPfn && !_k.Thp.IsHugeZero((int)pfn)))
                    Fail($"mm {mm.Id}: PTE at 0x{va:x} maps pfn {pfn}, special {pte.Special}: only the zero page is mapped by special PTEs");
                return;
            }
            ref Frame f = ref fr[(int)pfn];
            if (f.IsFree)
                Fail($"mm {mm.Id}: present PTE at 0x{va:x} maps free frame {pfn}");
            if ((f.Flags & FrameFlags.Slab) != 0)
                Fail($"mm {mm.Id}: present PTE at 0x{va:x} maps page-table frame {pfn}");
            if ((f.Flags & FrameFlags.Reserved) != 0)
                Fail($"mm {mm.Id}: present PTE at 0x{va:x} maps frame {pfn}, held by the machine's other users");
            _k.Rmap.CopyTo((int)pfn, _maps);
            if (!_maps.Contains((mm.Id, va)))
                Fail($"mm {mm.Id}: PTE at 0x{va:x} maps frame {pfn}, whose reverse map does not name it");
            return;
        }
        if (pte.IsSwap)
        {
            SwapEntry se = pte.ToSwapEntry();
            if (se.Type != 0 || se.Offset == 0 || se.Offset >= (ulong)_k.Swap.Slots)
                Fail($"mm {mm.Id}: swap PTE at 0x{va:x} names {se}, outside the swap area");
            return;
        }
        Fail($"mm {mm.Id}: PTE 0x{e:x} at 0x{va:x} is neither present, PROT_NONE nor a swap entry");
    }

    // ------------------------------------------------------------------ frames

    /// <summary>True when <paramref name="pfn"/> lies in a free block of the buddy allocator.</summary>
    private bool InFreeBlock(int pfn)
    {
        BuddyAllocator b = _k.Zone.Buddy;
        for (int order = 0; order <= BuddyAllocator.MaxOrder; order++)
        {
            int head = pfn & ~((1 << order) - 1);
            if (head < b.StartPfn)
                break;
            if (b.FreeBlockOrderAt(head) == order)
                return true;
        }
        return false;
    }

    private void CheckFrame(int pfn)
    {
        Frame[] fr = _k.Zone.Frames;
        if ((uint)pfn >= (uint)fr.Length)
            return;
        ref Frame f = ref fr[pfn];
        if (f.Pfn != pfn)
            Fail($"frame {pfn}: struct page says pfn {f.Pfn}");
        int rmap = _k.Rmap.Count(pfn);
        bool inBlock = InFreeBlock(pfn);
        if (f.IsFree)
        {
            if (f.MapCount != 0 || rmap != 0)
                Fail($"frame {pfn}: free but mapcount {f.MapCount}, {rmap} reverse mappings");
            if ((f.Flags & (FrameFlags.Lru | FrameFlags.SwapCache | FrameFlags.Slab)) != 0)
                Fail($"frame {pfn}: free but flagged {f.Flags}");
            if (_k.Zone.Pins[pfn] != 0)
                Fail($"frame {pfn}: free but pinned {_k.Zone.Pins[pfn]} time(s)");
            bool buddy = (f.Flags & FrameFlags.Buddy) != 0;
            if (buddy && !inBlock)
                Fail($"frame {pfn}: flagged PG_buddy but on no free list");
            if ((f.Flags & FrameFlags.PcpList) != 0 && (_k.Zone.Pcp is null || _k.Zone.Pcp.CpuOf(pfn) < 0))
                Fail($"frame {pfn}: tagged as on a per-CPU list but on none");
            return;
        }
        if (inBlock)
            Fail($"frame {pfn}: on a free list but not flagged PG_buddy");
        if ((f.Flags & FrameFlags.Reserved) != 0)
        {
            // Held from boot by the machine's other users (machine.free_area): never mapped, always pinned.
            if (f.MapCount != 0 || rmap != 0 || _k.Zone.Pins[pfn] == 0 || f.Flags != FrameFlags.Reserved)
                Fail($"frame {pfn}: a held page with mapcount {f.MapCount}, {rmap} reverse mappings, {_k.Zone.Pins[pfn]} pins, flags {f.Flags}");
            return;
        }
        if (pfn == _k.Zone.ZeroPfn || _k.Thp.IsHugeZero(pfn) || (f.Flags & FrameFlags.Slab) != 0)
        {
            if (f.MapCount != 0 || rmap != 0)
                Fail($"frame {pfn}: {(pfn == _k.Zone.ZeroPfn ? "the zero page" : "page-table frame")} has mapcount {f.MapCount} and {rmap} reverse mappings");
            return;
        }
        if (_k.AwaitsCharge(pfn))
        {
            if (InvariantChecker.HeldForChargeProblem(_k, pfn, rmap) is { } problem)
                Fail($"{problem}");
            return;
        }
        if (f.MapCount != rmap)
            Fail($"frame {pfn}: mapcount {f.MapCount} but the reverse map holds {rmap} mappings");
        if (rmap > 0)
        {
            _k.Rmap.CopyTo(pfn, _maps);
            foreach (var (mmId, va) in _maps)
            {
                ulong e = _k.Tasks.MmById(mmId)?.Tables.Lookup(va) ?? 0;
                var pte = new Pte(e);
                if ((!pte.Present && (e & Pte.ProtNoneBit) == 0) || (int)pte.Pfn != pfn)
                    Fail($"frame {pfn}: reverse map names mm {mmId} va 0x{va:x}, whose PTE is 0x{e:x}");
            }
        }
        bool onLru = (f.Flags & FrameFlags.Lru) != 0 || _k.Zone.InLruAddBatch(pfn); // PG_lru comes when its lru_add batch moves
        bool inSwapCache = (f.Flags & FrameFlags.SwapCache) != 0;
        bool inPageCache = !f.IsAnon && f.Mapping >= 0;
        if (!onLru && !inSwapCache && !inPageCache && f.MapCount == 0 && rmap == 0)
            Fail($"frame {pfn}: leaked (allocated, but not a page table, not the zero page, not on the LRU, not cached and not mapped)");
        else if (f.IsAnon && !inSwapCache && rmap == 0 && _k.Zone.Pins[pfn] == 0)
            Fail($"frame {pfn}: anonymous page neither mapped nor in the swap cache (should have been freed)");
        if (inSwapCache)
        {
            long slot = f.Index;
            if (slot <= 0 || slot >= _k.Swap.Slots || _k.SwapCache.Lookup((int)slot) != pfn)
                Fail($"frame {pfn}: flagged PG_swapcache for slot {slot}, but the swap cache does not hold it there");
        }
        else if (inPageCache && _k.PageCache.Find(f.Mapping, f.Index) != pfn)
        {
            Fail($"frame {pfn}: holds page {f.Index} of file {f.Mapping} but the page cache does not index it");
        }
    }

    // ------------------------------------------------------------------ swap and page cache

    /// <summary>
    /// A shmem object's slot that took or dropped a swap entry this tick (shmem_writeout, shmem_swapin_folio,
    /// shmem_free_swap) moves its swap slot's expected reference count, as a swap PTE does.
    /// </summary>
    private void CountShmemSwapEntries()
    {
        foreach (var ((file, index), (_, was)) in _dirty.PageCacheKeys)
        {
            int now = _k.PageCache.SwapEntry(file, index);
            if (now == was)
                continue;
            if (was > 0 && was < _slotRefs.Length)
            {
                _slotRefs[was]--;
                _slots.Add(was);
            }
            if (now > 0 && now < _slotRefs.Length)
            {
                _slotRefs[now]++;
                _slots.Add(now);
            }
        }
    }

    private void CheckSlots()
    {
        var swap = _k.Swap;
        foreach (var (slot, wasInUse, wasCached) in _dirty.Slots)
        {
            _usedPages += (swap.InUse(slot) ? 1 : 0) - (wasInUse ? 1 : 0);
            _swapCached += (_k.SwapCache.Lookup(slot) >= 0 ? 1 : 0) - (wasCached ? 1 : 0);
            if (!swap.InUseBitAgrees(slot))
                Fail($"swap slot {slot}: the free-slot bitmap says {(swap.InUse(slot) ? "free" : "in use")}, its counts the opposite");
        }
        foreach (int slot in _slots)
        {
            if (slot <= 0 || slot >= swap.Slots)
                continue;
            // Swap PTEs and shmem objects' slots (whose swap entries hold one reference each).
            if (swap.Count(slot) != _slotRefs[slot])
                Fail($"swap slot {slot}: swap_map count {swap.Count(slot)} but {_slotRefs[slot]} PTEs and shmem slots hold it");
            int pfn = _k.SwapCache.Lookup(slot);
            if (swap.IsCached(slot) != (pfn >= 0))
                Fail($"swap slot {slot}: SWAP_HAS_CACHE is {swap.IsCached(slot)} but the swap cache {(pfn >= 0 ? "holds frame " + pfn.ToString(System.Globalization.CultureInfo.InvariantCulture) : "has no page")}");
            if (pfn >= 0)
            {
                ref Frame f = ref _k.Zone.Frames[pfn];
                if (f.IsFree)
                    Fail($"swap slot {slot}: swap cache holds free frame {pfn}");
                else if ((f.Flags & FrameFlags.SwapCache) == 0 || f.Index != slot)
                    Fail($"swap slot {slot}: swap cache holds frame {pfn}, whose struct page says swapcache={(f.Flags & FrameFlags.SwapCache) != 0} slot {f.Index}");
            }
        }
        if (_usedPages != swap.UsedPages)
            Fail($"swap: {_usedPages} slots referenced or cached but inuse_pages is {swap.UsedPages}");
        if (_swapCached != _k.SwapCache.Count)
            Fail($"swap cache: {_swapCached} slots cached but its count is {_k.SwapCache.Count}");
    }

    private void CheckPageCacheKeys()
    {
        foreach (var ((file, index), (wasCached, _)) in _dirty.PageCacheKeys)
        {
            int pfn = _k.PageCache.Find(file, index);
            _pageCached += (pfn >= 0 ? 1 : 0) - (wasCached ? 1 : 0);
            if (pfn >= 0 && InvariantChecker.PageCacheEntryProblem(_k, file, index, pfn) is { } problem)
                Fail($"{problem}");
        }
        if (_pageCached != _k.PageCache.Count)
            Fail($"page cache: {_pageCached} entries expected but its count is {_k.PageCache.Count}");
    }

    // ------------------------------------------------------------------ mms

    private void CheckMm(int mmId)
    {
        MmState? mm = _k.Tasks.MmById(mmId);
        if (mm is null)
            return;
        _mmCounts.TryGetValue(mmId, out MmCounts c);
        ref MmStruct s = ref mm.Mm.Struct;
        ulong rss = s.RssAnon + s.RssFile + s.RssShmem;
        if (rss != (ulong)(c.Anon + c.File))
            Fail($"mm {mm.Id}: RSS {rss} (anon {s.RssAnon} + file {s.RssFile} + shmem {s.RssShmem}) but {c.Anon + c.File} present PTEs map pages");
        else if (s.RssAnon != (ulong)c.Anon)
            Fail($"mm {mm.Id}: MM_ANONPAGES {s.RssAnon} but {c.Anon} present PTEs map anonymous pages");
        if (s.SwapEnts != (ulong)c.Swap)
            Fail($"mm {mm.Id}: MM_SWAPENTS {s.SwapEnts} but {c.Swap} swap PTEs");
        if (mm.HiwaterRss < rss)
            Fail($"mm {mm.Id}: hiwater_rss {mm.HiwaterRss} below RSS {rss}");
        var set = mm.Mm.Vmas;
        if (set.Count != s.MapCount)
            Fail($"mm {mm.Id}: map_count {s.MapCount} but {set.Count} VMAs indexed");
        if (s.MmUsers <= 0 && (set.Count != 0 || mm.TablePages.Count != 0))
            Fail($"mm {mm.Id}: exited but still has {set.Count} VMAs and {mm.TablePages.Count} page-table pages");
        ulong prevEnd = 0;
        for (int i = 0; i < set.Count; i++)
        {
            ulong start = set.StartOf(i), end = set.EndOf(i);
            if (start >= end || start < prevEnd)
                Fail($"mm {mm.Id}: VMA {i} ({start:x}-{end:x}) is empty, unsorted or overlaps the previous one ending at {prevEnd:x}");
            prevEnd = end;
        }
    }
}
