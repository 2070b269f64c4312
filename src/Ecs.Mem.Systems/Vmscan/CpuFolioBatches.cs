using EcsMem.Components;

namespace EcsMem.Systems.Vmscan;

/// <summary>
/// struct cpu_fbatches (mm/swap.c) after lru_add (<see cref="LruAddBatches"/>, whose references this holds too):
/// the per-CPU lru_deactivate folio batch that folio_deactivate (MADV_COLD, classic lists) fills and the lru_lazyfree
/// batch that folio_mark_lazyfree (MADV_FREE) fills; lru_add_drain_cpu moves them in that order. A lazily freed folio
/// in its batch keeps
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
/// MADV_DONTNEED and exit do not drain it, MADV_COLD/PAGEOUT and reclaim do. A folio in the lru_deactivate batch stays
/// active (and referenced no more) on its list until the batch moves (lru_deactivate: a folio still on a list,
/// evictable and active goes to the head of its inactive list with PG_active and PG_referenced cleared; pgdeactivate
/// by its pages).
/// </summary>
public sealed class CpuFolioBatches : IFolioBatchRefs
{
    /// <summary>The batches modelled here, in lru_add_drain_cpu's order.</summary>
    public enum Kind
    {
        /// <summary>lru_deactivate (folio_deactivate).</summary>
        Deactivate = 0,

        /// <summary>lru_lazyfree (folio_mark_lazyfree).</summary>
        Lazyfree = 1,
    }

    private const int Kinds = 2;

    private readonly Kernel.Kernel _k;
    private readonly int[][][] _batch; // [kind][cpu][slot]
    private readonly int[][] _count; // [kind][cpu]
    private int[] _held = [];

    /// <summary>Empty batches of each kind per CPU.</summary>
    public CpuFolioBatches(Kernel.Kernel k, int cpus)
    {
        _k = k;
        cpus = Math.Max(1, cpus);
        _batch = new int[Kinds][][];
        _count = new int[Kinds][];
        for (int kind = 0; kind < Kinds; kind++)
        {
            _batch[kind] = new int[cpus][];
            for (int i = 0; i < cpus; i++)
                _batch[kind][i] = new int[Lruvec.FolioBatchSize];
            _count[kind] = new int[cpus];
        }
    }

    /// <summary>Sizes the per-frame reference counts for <paramref name="frames"/> frames.</summary>
    public void Initialize(int frames) => _held = new int[frames];

    /// <summary>Folios waiting in the lru_lazyfree batches of all CPUs (a folio added twice counts twice).</summary>
    public int LazyfreePending => Pending(Kind.Lazyfree);

    /// <summary>Folios waiting in every batch of every CPU.</summary>
    public int AllPending => Pending(Kind.Deactivate) + Pending(Kind.Lazyfree);

    /// <summary>Folios waiting in the <paramref name="kind"/> batches of all CPUs.</summary>
    public int Pending(Kind kind)
    {
        int n = 0;
        foreach (int c in _count[(int)kind]) n += c;
        return n;
    }

    /// <summary>The references the batches (lru_add's too) hold on <paramref name="pfn"/> (the slots it fills).</summary>
    public int Held(int pfn) => _held[pfn];

    /// <summary>__folio_batch_add_and_move's folio_get for the lru_add batch (<see cref="LruAddBatches"/>): a pin.</summary>
    public void FolioGet(int pfn)
    {
        _k.Zone.PinFrame(pfn);
        _held[pfn]++;
    }

    /// <summary>folios_put of the lru_add batch's slot (see <see cref="Put"/>).</summary>
    public void FolioPut(int pfn, int cpu) => Put(pfn, cpu);

    /// <summary>The lru_add batch lets a folio go that the caller frees itself (its free clears the pins).</summary>
    public void FolioForget(int pfn)
    {
        _held[pfn]--;
        if (_k.Zone.Pins[pfn] > 0)
            _k.Zone.UnpinFrame(pfn);
    }

    /// <summary>folio_mark_lazyfree's folio_batch_add_and_move(folio, lru_lazyfree), see <see cref="Add"/>.</summary>
    public void AddLazyfree(int pfn, int cpu, bool large) => Add(Kind.Lazyfree, pfn, cpu, large);

    /// <summary>
    /// folio_batch_add_and_move: the folio joins <paramref name="cpu"/>'s <paramref name="kind"/> batch with a reference
    /// (folio_get); the batch moves when full (folio_batch_add returns no space left), or at once for a large folio
    /// (folio_may_be_lru_cached).
    /// </summary>
    public void Add(Kind kind, int pfn, int cpu, bool large)
    {
        cpu = Math.Clamp(cpu, 0, _count[(int)kind].Length - 1);
        FolioGet(pfn);
        int n = _count[(int)kind][cpu];
        _batch[(int)kind][cpu][n++] = pfn;
        _count[(int)kind][cpu] = n;
        if (n == Lruvec.FolioBatchSize || large)
            Move(kind, cpu);
    }

    /// <summary>lru_add_drain_cpu's lru_deactivate and lru_lazyfree parts for <paramref name="cpu"/> (the caller drained its lru_add batches first).</summary>
    public void DrainCpu(int cpu)
    {
        cpu = Math.Clamp(cpu, 0, _count[0].Length - 1);
        for (int kind = 0; kind < Kinds; kind++)
            if (_count[kind][cpu] != 0)
                Move((Kind)kind, cpu);
    }

    /// <summary>
    /// The <paramref name="kind"/> batch of <paramref name="cpu"/> alone moves now (folio_batch_add_and_move of a large
    /// folio, which the caller then handles itself).
    /// </summary>
    public void MoveNow(Kind kind, int cpu)
    {
        cpu = Math.Clamp(cpu, 0, _count[(int)kind].Length - 1);
        if (_count[(int)kind][cpu] != 0)
            Move(kind, cpu);
    }

    /// <summary>folio_batch_move_lru(fbatch, move_fn), then folios_put of the batch.</summary>
    private void Move(Kind kind, int cpu)
    {
        int n = _count[(int)kind][cpu];
        int[] batch = _batch[(int)kind][cpu];
        _count[(int)kind][cpu] = 0;
        Frame[] frames = _k.Zone.Frames;
        for (int i = 0; i < n; i++)
        {
            int pfn = batch[i];
            // folio_test_clear_lru: a folio taken off the LRU meanwhile is left as it is.
            if ((frames[pfn].Flags & FrameFlags.Lru) == 0 || _k.LruvecOf(pfn) is not Lruvec lv || lv.ListOf(pfn) < 0)
                continue;
            if (kind == Kind.Lazyfree)
                LruLazyfree(lv, pfn);
            else if (lv.LruDeactivate(pfn))
                _k.Env.Counters.Add(_k.C.PgDeactivate, lv.FolioNrPages(pfn));
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
