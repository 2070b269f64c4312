using EcsMem.Components;

namespace EcsMem.Systems.Vmscan;

/// <summary>
/// struct cpu_fbatches (mm/swap.c) beside lru_add, which each lruvec keeps itself (<see cref="Lruvec.OnInserted"/>):
/// the per-CPU lru_lazyfree folio batch that folio_mark_lazyfree (MADV_FREE) fills. A folio in the batch keeps
/// PG_lru, PG_swapbacked and its place on its anon list, and the batch holds a reference to it (folio_get, a pin
/// here): it cannot be freed (a zap leaves it allocated and charged), reclaim keeps it (EcsMem keeps it before any
/// work; Linux's shrink_folio_list fails its reference freeze after the work) and a write fault copies it rather
/// than reuse it (wp_can_reuse_anon_folio). The batch moves (folio_batch_move_lru with lru_lazyfree) when it holds
/// <see cref="Lruvec.FolioBatchSize"/> folios or a large one, and at every lru_add_drain of its CPU
/// (lru_add_drain_cpu: after that CPU's lru_add batches): each folio still on a list (folio_test_clear_lru; an
/// isolated one is skipped) that is still anonymous, swap-backed, out of the swap cache and evictable loses
/// PG_swapbacked, PG_active and PG_referenced, goes to the head of the inactive file list and counts in pglazyfree;
/// then the batch's references go (folios_put), freeing the folios that were zapped meanwhile. Measured on 6.18
/// (see docs/kernel.md): MADV_FREE drains its CPU first (madvise_free_single_vma's lru_add_drain), munmap,
/// MADV_DONTNEED and exit do not drain it, MADV_COLD/PAGEOUT and reclaim do.
/// </summary>
public sealed class CpuFolioBatches
{
    private readonly Kernel.Kernel _k;
    private readonly int[][] _lazyfree;
    private readonly int[] _lazyfreeCount;
    private int[] _held = [];

    /// <summary>One empty lru_lazyfree batch per CPU.</summary>
    public CpuFolioBatches(Kernel.Kernel k, int cpus)
    {
        _k = k;
        _lazyfree = new int[Math.Max(1, cpus)][];
        for (int i = 0; i < _lazyfree.Length; i++)
            _lazyfree[i] = new int[Lruvec.FolioBatchSize];
        _lazyfreeCount = new int[_lazyfree.Length];
    }

    /// <summary>Sizes the per-frame reference counts for <paramref name="frames"/> frames.</summary>
    public void Initialize(int frames) => _held = new int[frames];

    /// <summary>Folios waiting in the lru_lazyfree batches of all CPUs (a folio added twice counts twice).</summary>
    public int LazyfreePending
    {
        get
        {
            int n = 0;
            foreach (int c in _lazyfreeCount) n += c;
            return n;
        }
    }

    /// <summary>Folios waiting in <paramref name="cpu"/>'s lru_lazyfree batch.</summary>
    public int LazyfreeCount(int cpu) => _lazyfreeCount[cpu];

    /// <summary>The references the batches hold on <paramref name="pfn"/> (the slots it fills).</summary>
    public int Held(int pfn) => _held[pfn];

    /// <summary>
    /// folio_mark_lazyfree's folio_batch_add_and_move(folio, lru_lazyfree): the folio joins <paramref name="cpu"/>'s
    /// batch with a reference; the batch moves when full (folio_batch_add returns no space left), or at once for a
    /// large folio (folio_may_be_lru_cached).
    /// </summary>
    public void AddLazyfree(int pfn, int cpu, bool large)
    {
        cpu = Math.Clamp(cpu, 0, _lazyfree.Length - 1);
        _k.Zone.PinFrame(pfn); // folio_get
        _held[pfn]++;
        int n = _lazyfreeCount[cpu];
        _lazyfree[cpu][n++] = pfn;
        _lazyfreeCount[cpu] = n;
        if (n == Lruvec.FolioBatchSize || large)
            MoveLazyfree(cpu);
    }

    /// <summary>lru_add_drain_cpu's lru_lazyfree part for <paramref name="cpu"/> (the caller drained its lru_add batches first).</summary>
    public void DrainCpu(int cpu)
    {
        cpu = Math.Clamp(cpu, 0, _lazyfree.Length - 1);
        if (_lazyfreeCount[cpu] != 0)
            MoveLazyfree(cpu);
    }

    /// <summary>folio_batch_move_lru(fbatch, lru_lazyfree), then folios_put of the batch.</summary>
    private void MoveLazyfree(int cpu)
    {
        int n = _lazyfreeCount[cpu];
        int[] batch = _lazyfree[cpu];
        _lazyfreeCount[cpu] = 0;
        Frame[] frames = _k.Zone.Frames;
        for (int i = 0; i < n; i++)
        {
            int pfn = batch[i];
            // folio_test_clear_lru: a folio taken off the LRU meanwhile is left as it is.
            if ((frames[pfn].Flags & FrameFlags.Lru) == 0 || _k.LruvecOf(pfn) is not Lruvec lv || lv.ListOf(pfn) < 0)
                continue;
            LruLazyfree(lv, pfn);
        }
        for (int i = 0; i < n; i++)
            Put(batch[i], cpu);
    }

    /// <summary>
    /// lru_lazyfree (mm/swap.c): an anonymous, swap-backed folio out of the swap cache and not unevictable loses
    /// PG_swapbacked (a clean anonymous folio reclaim may discard) and goes to the inactive file list; pglazyfree.
    /// </summary>
    private void LruLazyfree(Lruvec lv, int pfn)
    {
        ref Frame f = ref _k.Zone.Frames[pfn];
        if (!f.IsAnon || (f.Flags & FrameFlags.SwapBacked) == 0 || (f.Flags & (FrameFlags.SwapCache | FrameFlags.Unevictable)) != 0)
            return;
        _k.Dirty?.Frame(pfn);
        f.Flags &= ~FrameFlags.SwapBacked;
        lv.MarkLazyFree(pfn);
        _k.Env.Counters.Increment(_k.C.PgLazyFree);
    }

    /// <summary>folios_put for one slot: the batch's reference goes; a folio nothing else uses is freed (on <paramref name="cpu"/>'s lists).</summary>
    private void Put(int pfn, int cpu)
    {
        _held[pfn]--;
        _k.Zone.UnpinFrame(pfn);
        ref Frame f = ref _k.Zone.Frames[pfn];
        // UnpinFrame clears the pinned mark; an unevictable folio keeps it.
        if ((f.Flags & FrameFlags.Unevictable) != 0)
            _k.Zone.Unevictable[pfn] = true;
        if (f.IsFree || f.MapCount > 0 || _k.Zone.Pins[pfn] > 0)
            return;
        if ((f.Flags & FrameFlags.SwapCache) == 0)
            _k.Zone.FreeIfOrphan(pfn, cpu);
        else
            _k.Memory.FreeSwapCacheIfUnused(pfn, cpu);
    }
}
