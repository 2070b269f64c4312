using EcsMem.Components;

namespace EcsMem.Systems.Kernel;

/// <summary>
/// What the current tick changed, for the incremental invariant checker (<c>--check</c>): the frames, PTEs
/// (mm, va), swap slots, page-cache entries and mms the kernel's mutation points touched. Each mechanism holds
/// a nullable reference to it (<see cref="Kernel.Dirty"/> sets them all), so with checking off a mutation
/// point pays one null test. A hook is called <em>before</em> the change it reports: the first report of an
/// object in a tick records what it was, so the checker can tell what the tick did to the counts that
/// depend on it (RSS, swap entries, swap_map, inuse_pages, the swap and page cache sizes).
/// </summary>
public sealed class DirtySet
{
    private readonly Kernel _k;
    private readonly bool[] _frameMarked;
    private readonly bool[] _slotMarked;

    internal DirtySet(Kernel kernel)
    {
        _k = kernel;
        _frameMarked = new bool[kernel.Zone.Frames.Length];
        _slotMarked = new bool[Math.Max(kernel.Swap.Slots, 1)];
    }

    /// <summary>Frames touched this tick, in first-touch order.</summary>
    public List<int> Frames { get; } = new();

    /// <summary>PTEs touched this tick, each with the entry it held before the tick's first change to it.</summary>
    public Dictionary<(int Mm, ulong Va), PteShadow> Ptes { get; } = new();

    /// <summary>Swap slots touched this tick, each with whether it was in use and cached before.</summary>
    public List<(int Slot, bool WasInUse, bool WasInSwapCache)> Slots { get; } = new();

    /// <summary>Page-cache keys touched this tick, each with whether it was cached before and the swap entry it held (0: none).</summary>
    public Dictionary<(int File, long Index), (bool WasCached, int WasSwapSlot)> PageCacheKeys { get; } = new();

    /// <summary>mms whose VMAs, tasks or mm_struct an operation changed this tick.</summary>
    public HashSet<int> Mms { get; } = new();

    /// <summary>struct page of <paramref name="pfn"/> is about to change.</summary>
    public void Frame(int pfn)
    {
        if ((uint)pfn < (uint)_frameMarked.Length && !_frameMarked[pfn])
        {
            _frameMarked[pfn] = true;
            Frames.Add(pfn);
        }
    }

    /// <summary>The PTE of (<paramref name="mm"/>, <paramref name="va"/>), now holding <paramref name="before"/>, is about to change.</summary>
    public void Pte(MmState mm, ulong va, ulong before)
    {
        if (Ptes.ContainsKey((mm.Id, va)))
            return;
        Ptes.Add((mm.Id, va), PteShadow.Of(before, _k.Zone));
    }

    /// <summary>The PTE of (<paramref name="mm"/>, <paramref name="va"/>) is about to change (its current value is read).</summary>
    public void Pte(MmState mm, ulong va)
    {
        if (!Ptes.ContainsKey((mm.Id, va)))
            Ptes.Add((mm.Id, va), PteShadow.Of(mm.Tables.Lookup(va), _k.Zone));
    }

    /// <summary>swap_map / SWAP_HAS_CACHE / the swap cache entry of <paramref name="slot"/> is about to change.</summary>
    public void Slot(int slot)
    {
        if ((uint)slot < (uint)_slotMarked.Length && !_slotMarked[slot])
        {
            _slotMarked[slot] = true;
            Slots.Add((slot, _k.Swap.InUse(slot), _k.SwapCache.Lookup(slot) >= 0));
        }
    }

    /// <summary>The page-cache entry (<paramref name="file"/>, <paramref name="index"/>) is about to be added or deleted.</summary>
    public void PageCacheKey(int file, long index)
    {
        if (!PageCacheKeys.ContainsKey((file, index)))
            PageCacheKeys.Add((file, index), (_k.PageCache.Find(file, index) >= 0, _k.PageCache.SwapEntry(file, index)));
    }

    /// <summary>mm <paramref name="mm"/>'s VMAs, users or counters are about to change.</summary>
    public void Mm(int mm) => Mms.Add(mm);

    /// <summary>Forgets the tick (after it was checked).</summary>
    public void Clear()
    {
        foreach (int pfn in Frames)
            _frameMarked[pfn] = false;
        foreach (var (slot, _, _) in Slots)
            _slotMarked[slot] = false;
        Frames.Clear();
        Ptes.Clear();
        Slots.Clear();
        PageCacheKeys.Clear();
        Mms.Clear();
    }
}

/// <summary>What a PTE counted for when it was first touched in a tick: a present page (anon or not), a swap slot, or nothing.</summary>
public readonly record struct PteShadow(PteKind Kind, int Target)
{
    /// <summary>Classifies <paramref name="e"/> as the RSS / swap-entry / swap_map bookkeeping counts it.</summary>
    public static PteShadow Of(ulong e, PageAlloc.Zone zone)
    {
        if (e == 0)
            return default;
        var pte = new Pte(e);
        if (pte.Present || (e & Pte.ProtNoneBit) != 0)
        {
            if (pte.Special || pte.Pfn >= (ulong)zone.Frames.Length || (int)pte.Pfn == zone.ZeroPfn)
                return default;
            int pfn = (int)pte.Pfn;
            return new PteShadow(zone.Frames[pfn].IsAnon && !zone.Frames[pfn].IsShmem ? PteKind.Anon : PteKind.File, pfn);
        }
        if (pte.IsSwap && pte.ToSwapEntry().Offset < int.MaxValue)
            return new PteShadow(PteKind.Swap, (int)pte.ToSwapEntry().Offset);
        return default;
    }
}

/// <summary>The kind of a PTE for the counts (see <see cref="PteShadow"/>).</summary>
public enum PteKind : byte
{
    None,
    Anon,
    File,
    Swap,
}
