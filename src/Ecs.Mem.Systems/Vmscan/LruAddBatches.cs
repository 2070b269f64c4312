namespace EcsMem.Systems.Vmscan;

/// <summary>
/// The folio references a per-CPU batch holds (folio_get when a folio joins it, folios_put when the batch moves): the
/// machine keeps them as pins (<see cref="CpuFolioBatches"/>), so a folio zapped while in a batch stays allocated and
/// charged until then. A lruvec without a machine (tests) holds none.
/// </summary>
public interface IFolioBatchRefs
{
    /// <summary>folio_get: the batch's reference on <paramref name="pfn"/>.</summary>
    void FolioGet(int pfn);

    /// <summary>folios_put for one slot: the batch's reference goes; a folio nothing else uses is freed on <paramref name="cpu"/>.</summary>
    void FolioPut(int pfn, int cpu);

    /// <summary>The folio left its batch without a move (the caller took it off the LRU to free or move it itself): its reference goes, nothing is freed.</summary>
    void FolioForget(int pfn);
}

/// <summary>
/// cpu_fbatches.lru_add (mm/swap.c): ONE lru_add folio batch per CPU for every lruvec (memcg) of the node.
/// folio_add_lru puts a new folio in the current CPU's batch with a reference (__folio_batch_add_and_move's
/// folio_get); the batch moves (folio_batch_move_lru with lru_add: each folio onto its own lruvec's list, then
/// folios_put_refs of the batch) when an add fills it (FOLIO_BATCH_SIZE, 31), at once for a large folio
/// (folio_may_be_lru_cached), and at lru_add_drain_cpu of its CPU, first of that CPU's batches. A folio zapped while
/// in the batch is still allocated and charged until the move drops the batch's reference (then it is freed and
/// uncharged: pgpgout). Linux 6.18's exit (exit_mmap) does not drain it (measured: oracle/experiments/oom-late-free).
/// </summary>
public sealed class LruAddBatches
{
    private readonly int[][] _batch; // [cpu][slot]
    private readonly int[] _count; // [cpu]
    private readonly Func<int, Lruvec> _lruvecOf;
    private IFolioBatchRefs? _refs;
    private int[] _cpuOf = []; // the CPU whose batch holds the frame, or -1

    /// <summary>Empty batches for <paramref name="cpus"/> CPUs; a batch moves each folio onto <paramref name="lruvecOf"/>(pfn) (folio_lruvec).</summary>
    public LruAddBatches(int cpus, Func<int, Lruvec> lruvecOf)
    {
        cpus = Math.Max(1, cpus);
        _batch = new int[cpus][];
        for (int i = 0; i < cpus; i++)
            _batch[i] = new int[Lruvec.FolioBatchSize];
        _count = new int[cpus];
        _lruvecOf = lruvecOf;
    }

    /// <summary>CPUs with a batch.</summary>
    public int Cpus => _count.Length;

    /// <summary>Sizes the per-frame state for <paramref name="frames"/> frames; <paramref name="refs"/> holds the batch's references (null: none).</summary>
    public void Initialize(int frames, IFolioBatchRefs? refs)
    {
        _cpuOf = new int[frames];
        Array.Fill(_cpuOf, -1);
        _refs = refs;
    }

    /// <summary>True while <paramref name="pfn"/> waits in an lru_add batch (no list yet: folio_test_lru is false in Linux).</summary>
    public bool InBatch(int pfn) => _cpuOf[pfn] >= 0;

    /// <summary>The CPU whose batch holds <paramref name="pfn"/>, or -1.</summary>
    public int CpuOf(int pfn) => _cpuOf[pfn];

    /// <summary>
    /// Whether <paramref name="pfn"/> waits in <paramref name="cpu"/>'s own batch (the CPU numbered as <see cref="Add"/>
    /// numbers it): __lru_cache_activate_folio searches only this_cpu_ptr(&amp;cpu_fbatches.lru_add).
    /// </summary>
    public bool InBatchOf(int pfn, int cpu) => _cpuOf[pfn] >= 0 && _cpuOf[pfn] == ((uint)cpu >= (uint)_count.Length ? 0 : cpu);

    /// <summary>Folios waiting in <paramref name="cpu"/>'s batch.</summary>
    public int Count(int cpu) => _count[Math.Clamp(cpu, 0, _count.Length - 1)];

    /// <summary>Folios waiting in every CPU's batch.</summary>
    public int Pending
    {
        get
        {
            int n = 0;
            foreach (int c in _count) n += c;
            return n;
        }
    }

    /// <summary>folio_batch_add_and_move(folio, lru_add): joins <paramref name="cpu"/>'s batch with a reference; a full batch or a large folio moves it.</summary>
    public void Add(int pfn, int cpu, bool large)
    {
        if ((uint)cpu >= (uint)_count.Length) cpu = 0;
        _refs?.FolioGet(pfn);
        int n = _count[cpu];
        _batch[cpu][n++] = pfn;
        _cpuOf[pfn] = cpu;
        _count[cpu] = n;
        if (n == Lruvec.FolioBatchSize || large)
            Move(cpu);
    }

    /// <summary>lru_add_drain_cpu's lru_add part: <paramref name="cpu"/>'s batch moves if it holds any folio.</summary>
    public void DrainCpu(int cpu)
    {
        cpu = Math.Clamp(cpu, 0, _count.Length - 1);
        if (_count[cpu] != 0)
            Move(cpu);
    }

    /// <summary>
    /// The folio leaves its batch without a move (lruvec_del_folio of a folio EcsMem still batches: the caller frees
    /// or moves it itself), dropping the batch's reference.
    /// </summary>
    public void Remove(int pfn)
    {
        int cpu = _cpuOf[pfn];
        int[] batch = _batch[cpu];
        int n = _count[cpu];
        int i = Array.IndexOf(batch, pfn, 0, n);
        Array.Copy(batch, i + 1, batch, i, n - i - 1);
        _count[cpu] = n - 1;
        _cpuOf[pfn] = -1;
        _refs?.FolioForget(pfn);
    }

    /// <summary>folio_batch_move_lru(fbatch, lru_add): each folio onto its lruvec's list (lruvec_add_folio), then folios_put of the batch.</summary>
    private void Move(int cpu)
    {
        int n = _count[cpu];
        int[] batch = _batch[cpu];
        _count[cpu] = 0;
        for (int i = 0; i < n; i++)
        {
            int pfn = batch[i];
            _cpuOf[pfn] = -1;
            _lruvecOf(pfn).LruAdd(pfn);
        }
        if (_refs is { } refs)
            for (int i = 0; i < n; i++)
                refs.FolioPut(batch[i], cpu);
    }
}
