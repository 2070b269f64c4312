using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.Policies;

namespace EcsMem.Systems.Vmscan;

/// <summary>enum lru_list (include/linux/mmzone.h): the order for_each_evictable_lru walks.</summary>
public enum LruList
{
    InactiveAnon = 0,
    ActiveAnon = 1,
    InactiveFile = 2,
    ActiveFile = 3,
    Unevictable = 4,
}

/// <summary>enum folio_references (mm/vmscan.c): folio_check_references's verdict on an inactive folio.</summary>
public enum FolioReferences
{
    Activate,
    Keep,
    Reclaim,
    ReclaimClean,
}

/// <summary>What became of a folio shrink_folio_list tried to reclaim after its references said it may go.</summary>
public enum FolioReclaimResult
{
    /// <summary>Unmapped and freed (or queued to be): counts in nr_reclaimed, leaves a shadow entry.</summary>
    Reclaimed,

    /// <summary>keep_locked: back to the inactive list (a dirty file page with PG_referenced, a pinned page).</summary>
    Keep,

    /// <summary>activate_locked: could not go (no swap slot; a lazily freed page written again).</summary>
    Activate,

    /// <summary>try_to_unmap found a VM_LOCKED mapping: the page moves to LRU_UNEVICTABLE.</summary>
    Mlocked,

    /// <summary>pageout started its write (PAGE_SUCCESS with PG_writeback): keep, back to the inactive list until the write ends.</summary>
    Writeback,
}

/// <summary>
/// What an lruvec needs from the rest of the kernel: the struct pages, the rmap walk that tests and clears the
/// PTE young bits (folio_referenced), and the unmap + pageout + page/swap-cache removal of one folio
/// (the tail of shrink_folio_list). The machine implements it over its zone and page tables; tests implement
/// it over a handful of frames.
/// </summary>
public interface ILruvecHost
{
    /// <summary>struct page of every frame: PG_active, PG_referenced, PG_workingset, PG_unevictable, PG_swapbacked live here.</summary>
    Frame[] Frames { get; }

    /// <summary>smp_processor_id(): whose lru_add batch a new page joins and which batch lru_add_drain empties.</summary>
    int CurrentCpu { get; }

    /// <summary>folio_trylock would fail: the page is under I/O or otherwise held; shrink_folio_list keeps it.</summary>
    bool IsPinned(int pfn);

    /// <summary>
    /// folio_referenced (mm/rmap.c): tests and clears the young bit of every PTE mapping <paramref name="pfn"/> and
    /// returns how many were young; <paramref name="vmFlags"/> gathers the flags of the VMAs where one was young,
    /// or is <see cref="VmFlags.Locked"/> alone when a VM_LOCKED VMA maps the page.
    /// </summary>
    int FolioReferenced(int pfn, out VmFlags vmFlags);

    /// <summary>
    /// The rest of shrink_folio_list for a folio whose references allow reclaim: add_to_swap, try_to_unmap, pageout,
    /// __remove_mapping. <paramref name="pageout"/> is true when the page was written (stat-&gt;nr_pageout).
    /// </summary>
    FolioReclaimResult ReclaimFolio(int pfn, FolioReferences references, out bool pageout);

    /// <summary>Pages the last <see cref="ReclaimFolio"/> that returned Reclaimed freed: its folio's (512 for a THP swapped out whole).</summary>
    int ReclaimedFolioPages => 1;

    /// <summary>Whether <paramref name="pfn"/>, isolated in this batch, already left with a large folio reclaimed before it.</summary>
    bool GoneWithFolio(int pfn) => false;

    /// <summary>
    /// lru_add_drain_cpu after the lru_add batch: <paramref name="cpu"/>'s per-CPU batches that are not one lruvec's
    /// (lru_lazyfree, see <see cref="CpuFolioBatches"/>).
    /// </summary>
    void LruAddDrainOtherBatches(int cpu) { }

    /// <summary>activate_locked's folio_free_swap: a kept swap-cache page may give its slot back (vm_swap_full).</summary>
    void ActivateLocked(int pfn);

    /// <summary>get_nr_swap_pages() &gt; 0: anon pages can be reclaimed (can_reclaim_anon_pages(NULL), the node-wide question).</summary>
    bool SwapSpaceLeft { get; }

    /// <summary>
    /// can_reclaim_anon_pages(memcg) for <paramref name="lruvec"/>'s group: mem_cgroup_get_nr_swap_pages &gt; 0, so a
    /// cgroup v2 group at its memory.swap.max scans no anon pages. The default is the node-wide answer.
    /// </summary>
    bool CanReclaimAnonPages(Lruvec lruvec) => SwapSpaceLeft;

    /// <summary>jiffies (HZ = <see cref="Memcontrol.MemcgController.Hz"/>): when the periodic memcg stats flush is due.</summary>
    ulong Jiffies => 0;

    /// <summary>total_swap_pages &gt; 0: the anon lists are worth aging (can_age_anon_pages).</summary>
    bool HasSwap { get; }

    /// <summary>NR_FREE_PAGES of the node (prepare_scan_control's file_is_tiny).</summary>
    long FreePages { get; }

    /// <summary>
    /// Frames reclaim took that are not free yet (their release waits for the tick's end): at most this many of a
    /// pass's reclaimed pages are missing from <see cref="FreePages"/>. The default host frees at the tick's end.
    /// </summary>
    long PendingReleases => long.MaxValue;

    /// <summary>The sum of the zones' high watermarks (file_is_tiny).</summary>
    long HighWatermark { get; }

    /// <summary>
    /// folio_wait_writeback (shrink_folio_list's case 3, memcg reclaim under cgroup v1): sleep until the page's write
    /// completes; false when the host cannot wait (writes complete inside reclaim) or the page is no longer under writeback.
    /// </summary>
    bool WaitOnWriteback(int pfn) => false;

    /// <summary>The end of shrink_folio_list's batch: the writes it started go to the disk as one request (the plug).</summary>
    void WritebackUnplug() { }

    /// <summary>
    /// shrink_folio_list's <c>free_folios</c> batch: <paramref name="full"/>, after a folio was handled, hands the folios
    /// freed so far back once they fill a folio_batch (PAGEVEC_SIZE); otherwise (the call's end) whatever it holds
    /// (mem_cgroup_uncharge_folios, try_to_unmap_flush, free_unref_folios). The default host frees at the tick's end.
    /// </summary>
    void FreeFolios(bool full) { }

    /// <summary>blk_start_plug in shrink_lruvec: the writes of its scan loop wait in the task's plug.</summary>
    void BlkStartPlug() { }

    /// <summary>blk_finish_plug at the end of shrink_lruvec's scan loop: the plugged writes go to the disk.</summary>
    void BlkFinishPlug() { }

    /// <summary>
    /// Before shrink_inactive_list isolates: the reclaimer's time passes with its work (<paramref name="pages"/> pages
    /// about to be scanned), and the writes that completed by then end (folio_end_writeback rotates them to the tail).
    /// </summary>
    void WritebackProgress(int pages) { }

    /// <summary>
    /// shrink_folio_list's time for the <paramref name="folios"/> folios it handled since the last call, every one back
    /// on a list (machine.reclaim_cost; the host knows which it wrote or freed), and the call's own when
    /// <paramref name="batch"/> (its end).
    /// </summary>
    void ShrinkFolioListTime(int folios, bool batch) { }

    /// <summary>shrink_active_list's time for the <paramref name="folios"/> folios it took.</summary>
    void ShrinkActiveListTime(int folios) { }

    /// <summary>
    /// The tracepoint at a shrink_*_list call's end (mm_vmscan_lru_shrink_inactive / _active): <paramref name="scanned"/>
    /// pages taken, <paramref name="moved"/> reclaimed (inactive) or deactivated (active). The default host has no events.
    /// </summary>
    void LruShrinkTrace(bool active, bool file, ScanControl sc, long scanned, long moved) { }

    /// <summary>folio_check_dirty_writeback's dirty: a file page, dirty (PG_dirty or a dirty PTE), not under writeback.</summary>
    bool FolioDirtyFile(int pfn) => false;

    /// <summary>Whether reclaiming the folio would write it (pageout of a dirty page-cache folio without the flushers); kept when !may_writepage.</summary>
    bool FolioNeedsPageout(int pfn) => false;

    /// <summary>wakeup_flusher_threads(WB_REASON_VMSCAN): every page reclaim took was dirty and not queued for I/O.</summary>
    void WakeupFlusherThreads() { }

    /// <summary>
    /// reclaim_throttle(pgdat, VMSCAN_THROTTLE_WRITEBACK) from shrink_inactive_list, for cgroup v1 memcg reclaim that
    /// took only unqueued dirty pages: the reclaimer sleeps while the woken flusher writes.
    /// </summary>
    void ReclaimThrottleWriteback() { }

    /// <summary>
    /// Writes complete in simulated time (a flusher cleans dirty file pages): MGLRU's sort_folio then holds dirty file
    /// folios back for the flusher. False where reclaim writes dirty pages itself (synchronous writeback).
    /// </summary>
    bool WritebackAsync => false;
}

/// <summary>
/// struct lruvec with the Linux 6.x (non-MGLRU) code that works on it: the five LRU lists (mm/swap.c's
/// folio_add_lru with its per-CPU lru_add batches, folio_mark_accessed, folio_mark_lazyfree), the reclaim of
/// one lruvec (mm/vmscan.c shrink_lruvec → get_scan_count, shrink_list, shrink_active_list,
/// shrink_inactive_list → shrink_folio_list with folio_check_references) and the workingset's eviction clock
/// (mm/workingset.c nonresident_age, workingset_eviction, workingset_refault). It is one object per
/// (memcg, node) as in Linux: the machine has one for the whole node; a memory cgroup gets its own.
/// It is also the zone's <see cref="IReplacementPolicy"/>, so the rest of the machine adds and removes pages
/// through the same hooks as with the simple policies.
/// </summary>
public sealed partial class Lruvec : IReplacementPolicy
{
    /// <summary>SWAP_CLUSTER_MAX: pages isolated per shrink_*_list call.</summary>
    public const int SwapClusterMax = 32;

    /// <summary>PAGEVEC_SIZE (include/linux/folio_batch.h, 31 since Linux 6.10): pages per per-CPU lru_add batch.</summary>
    public const int FolioBatchSize = 31;

    /// <summary>MAX_SWAPPINESS.</summary>
    public const int MaxSwappiness = 200;

    /// <summary>Bits of the eviction clock kept in a shadow entry (EVICTION_BITS; wraps as Linux's does).</summary>
    public const int EvictionBits = 29;

    private const int EvictionMask = (1 << EvictionBits) - 1;
    private const int NoShadow = int.MinValue;

    private readonly ILruvecHost _host;
    private readonly CounterRegistry _counters;
    private readonly KernelCounters _c;
    private LruAddBatches _lruAdd;
    private readonly int[] _isolated = new int[MinLruBatch]; // SWAP_CLUSTER_MAX here, MIN_LRU_BATCH for MGLRU
    // shrink_folio_list's hold: _isolated[_heldFrom.._heldTo) still carry folio_isolate_lru's reference, and the entry
    // being handled covers [_heldPfn, _heldPfn + _heldNr) (its pages stay held when it is split).
    private int _heldFrom, _heldTo, _heldPfn = -1, _heldNr;
    private FrameLists _lists = new(0, 5);
    private int[] _shadow = [];
    private bool _ownLruAdd = true; // no machine shares its batches: this lruvec keeps its own, without references

    // The host's struct pages, fetched once: every LRU step reads a folio's flags and order several times (folio_nr_pages,
    // page_folio, folio_lru_list), and each read through the interface property would be a call. The host's array is
    // fixed for its life, but it may not exist yet when the lruvec is made (the machine's zone comes after its policy).
    private Frame[]? _frames;

    private Frame[] HostFrames
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _frames ??= _host.Frames;
    }

    /// <summary>
    /// Creates the lruvec of a node (or of a memcg on it) with lru_add batches of its own, one per CPU, until
    /// <see cref="ShareLruAddBatches"/> gives it the machine's (one per CPU for every lruvec, as Linux keeps them).
    /// </summary>
    public Lruvec(ILruvecHost host, CounterRegistry counters, KernelCounters c, int cpus)
    {
        _host = host;
        _counters = counters;
        _c = c;
        _lruAdd = new LruAddBatches(cpus, _ => this);
    }

    /// <summary>cpu_fbatches.lru_add: this lruvec's folios join <paramref name="batches"/>, shared by every lruvec of the machine.</summary>
    public void ShareLruAddBatches(LruAddBatches batches)
    {
        _lruAdd = batches;
        _ownLruAdd = false;
    }

    /// <summary>The per-CPU lru_add batches this lruvec's new folios join.</summary>
    public LruAddBatches LruAddBatches => _lruAdd;

    public string Name => "linux";

    /// <summary>parent_lruvec: the lruvec of the parent memory cgroup on this node (null for the root's, and without cgroups).</summary>
    public Lruvec? Parent { get; private set; }

    private readonly List<Lruvec> _children = new();

    /// <summary>Makes this the lruvec of a child cgroup of <paramref name="parent"/>'s (costs and workingset activations propagate up).</summary>
    public void AttachTo(Lruvec parent)
    {
        Parent = parent;
        parent._children.Add(this);
    }

    /// <summary>
    /// lruvec_page_state of an LRU list: memcg lruvec statistics are hierarchical, so this lruvec's list plus its
    /// descendants' (the list itself without cgroups).
    /// </summary>
    public long SubtreeSize(LruList lru)
    {
        long n = Size(lru);
        foreach (Lruvec c in _children)
            n += c.SubtreeSize(lru);
        return n;
    }

    /// <summary>pgscan_kswapd, pgscan_direct, pgsteal_kswapd, pgsteal_direct of this lruvec (its memcg's memory.stat events).</summary>
    public long PgScanKswapd, PgScanDirect, PgStealKswapd, PgStealDirect;

    /// <summary>This lruvec's workingset_refault_{anon,file}, workingset_activate_*, workingset_restore_* (memory.stat).</summary>
    public long[] WorkingsetRefaults { get; } = new long[2];

    /// <summary>workingset_activate_{anon,file} counted on this lruvec alone (<see cref="WorkingsetActivations"/> is hierarchical).</summary>
    public long[] WorkingsetActivationsLocal { get; } = new long[2];

    /// <summary>workingset_restore_{anon,file} of this lruvec.</summary>
    public long[] WorkingsetRestores { get; } = new long[2];

    /// <summary>PGDAT_WRITEBACK on the node's lruvec: kswapd's last round found only pages under writeback (cleared when the node is balanced).</summary>
    public bool PgdatWriteback { get; set; }

    /// <summary>
    /// pgdat-&gt;kswapd_failures on the node's lruvec: balance_pgdat runs in a row that reclaimed nothing. At
    /// MAX_RECLAIM_RETRIES (16) the node is hopeless: kswapd sleeps and is not woken until a shrink_node reclaims.
    /// </summary>
    public int KswapdFailures { get; set; }

    /// <summary>The node's lruvec: the root cgroup's (this one's topmost ancestor), or this one without cgroups.</summary>
    public Lruvec NodeLruvec
    {
        get
        {
            Lruvec l = this;
            while (l.Parent is { } p)
                l = p;
            return l;
        }
    }

    /// <summary>lruvec-&gt;nonresident_age: evictions and activations so far (the workingset clock).</summary>
    public long NonresidentAge { get; private set; }

    /// <summary>lruvec-&gt;anon_cost: recent cost of reclaiming anon pages (lru_note_cost).</summary>
    public long AnonCost { get; private set; }

    /// <summary>lruvec-&gt;file_cost.</summary>
    public long FileCost { get; private set; }

    /// <summary>WORKINGSET_ACTIVATE_ANON / _FILE of this lruvec (prepare_scan_control compares them with <see cref="RefaultSnapshot"/>).</summary>
    public long[] WorkingsetActivations { get; } = new long[2];

    /// <summary>lruvec-&gt;refaults[]: the activations seen when reclaim last finished (snapshot_refaults).</summary>
    public long[] RefaultSnapshot { get; } = new long[2];

    /// <summary>Pages on <paramref name="lru"/> (lruvec_page_state of NR_LRU_BASE + lru).</summary>
    public long Size(LruList lru) => _lruGen && lru != LruList.Unevictable ? LruGenSize(lru) : _lists.Count((int)lru);

    /// <summary>Folios waiting in the per-CPU lru_add batches (of every lruvec once they are shared; not on a list yet, so invisible to reclaim).</summary>
    public int BatchedPages => _lruAdd.Pending;

    /// <summary>The list <paramref name="pfn"/> is on, or -1 (not on the LRU, or still in an lru_add batch).</summary>
    public int ListOf(int pfn) => _lruGen && _genLists.ListOf(pfn) is int g and >= 0
        ? (g % 2 == 0 ? 0 : 2) + (GenIsActive(LruGenFolioGen(pfn)) ? 1 : 0)
        : _lists.ListOf(pfn);

    /// <summary>True while <paramref name="pfn"/> waits in an lru_add batch.</summary>
    public bool InBatch(int pfn) => _lruAdd.InBatch(pfn);

    /// <summary>The frames of <paramref name="lru"/> from head (most recent) to tail.</summary>
    public IEnumerable<int> Frames(LruList lru)
    {
        for (int f = _lists.Head((int)lru); f >= 0; f = _lists.Next(f))
            yield return f;
    }

    public void Initialize(int frameCount)
    {
        _lists = new FrameLists(frameCount, 5, weighted: true);
        _shadow = new int[frameCount];
        Array.Fill(_shadow, NoShadow);
        if (_ownLruAdd)
            _lruAdd.Initialize(frameCount, null);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    /// <summary>
    /// folio_add_lru (mm/swap.c): the page joins this CPU's lru_add batch, which is moved onto the lists when it
    /// is full (folio_batch_add_and_move). New pages start inactive in Linux 6.x (anon too, since 5.9) unless
    /// workingset_refault activated them first; the page's PG_active says which.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        // A page of a PMD-sized THP other than its head: the folio's one entry is its head's (lruvec_add_folio adds a
        // folio once); the page only carries PG_lru, which the caller set.
        if (IsThp(frame) && (frame & (FolioPmdPages - 1)) != 0)
            return;
        // folio_add_lru with MGLRU: a page added in a fault starts active (the second youngest generation).
        if (_lruGen && (HostFrames[frame].Flags & FrameFlags.Unevictable) == 0 && (_genHost?.InLruFault ?? true))
            HostFrames[frame].Flags |= FrameFlags.Active;
        // folio_batch_add_and_move: a full batch, or a large folio (folio_may_be_lru_cached is false for one), moves
        // the batch onto the lists at once.
        _lruAdd.Add(frame, _host.CurrentCpu, Nr(frame) != 1);
    }

    /// <summary>lru_add_drain on the current CPU (reclaim calls it before isolating): its lru_add batch, then the CPU's other batches.</summary>
    public void LruAddDrain() => LruAddDrainCpu(_host.CurrentCpu);

    /// <summary>lru_add_drain on <paramref name="cpu"/> (lru_add_drain_cpu: the lru_add batch first, then the CPU's other batches).</summary>
    public void LruAddDrainCpu(int cpu)
    {
        _lruAdd.DrainCpu(cpu);
        _host.LruAddDrainOtherBatches(cpu);
    }

    /// <summary>lru_add_drain_all: every CPU's batches.</summary>
    public void LruAddDrainAll()
    {
        for (int cpu = 0; cpu < _lruAdd.Cpus; cpu++) LruAddDrainCpu(cpu);
    }

    /// <summary>
    /// lru_add (mm/swap.c) when the folio's lru_add batch moves: it goes to the head of the list its flags name
    /// (lruvec_add_folio), and folio_batch_move_lru sets PG_lru only now (folio_set_lru): until then
    /// folio_test_lru is false and folio_isolate_lru fails.
    /// </summary>
    internal void LruAdd(int f)
    {
        HostFrames[f].Flags |= FrameFlags.Lru;
        SyncTails(f);
        if (_lruGen && LruGenAddFolio(f, false))
            return;
        _lists.SetWeight(f, Nr(f)); // lruvec_add_folio counts folio_nr_pages
        _lists.PushHead((int)FolioLru(f), f);
    }

    /// <summary>folio_lru_list: unevictable, else anon (swap-backed) or file, active or not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private LruList FolioLru(int pfn)
    {
        FrameFlags fl = HostFrames[pfn].Flags;
        if ((fl & FrameFlags.Unevictable) != 0) return LruList.Unevictable;
        int lru = (fl & FrameFlags.SwapBacked) != 0 ? 0 : 2;
        return (LruList)(lru + ((fl & FrameFlags.Active) != 0 ? 1 : 0));
    }

    /// <summary>
    /// folio_nr_pages: 2^order for a large page-cache folio, 512 for a PMD-sized THP (on the classic lists; MGLRU ranks
    /// a THP's pages one by one), else 1. A large folio's head is its one LRU entry, weighted by this.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Nr(int pfn)
    {
        int o = HostFrames[pfn].FolioOrder;
        if (o != 0)
            return 1 << o;
        return IsThp(pfn) ? FolioPmdPages : 1;
    }

    /// <summary>folio_nr_pages of the folio whose head is <paramref name="head"/>.</summary>
    public int FolioNrPages(int head) => Nr(head);

    /// <summary>page_folio: the head of the large folio (page-cache folio or THP) <paramref name="pfn"/> is a page of (itself otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Head(int pfn)
    {
        int o = HostFrames[pfn].FolioOrder;
        if (o != 0)
            return pfn & ~((1 << o) - 1);
        return IsThp(pfn) ? pfn & ~(FolioPmdPages - 1) : pfn;
    }

    /// <summary>
    /// A large folio's flags live on its head: its other pages mirror the folio-wide ones (PG_lru, PG_active,
    /// PG_referenced, PG_workingset, PG_unevictable, PG_readahead), so what reads them a page at a time sees the
    /// folio's, as PageActive(tail) reads the head's in Linux.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SyncTails(int head)
    {
        int nr = Nr(head);
        if (nr == 1)
            return;
        Frame[] frames = HostFrames;
        FrameFlags bits = frames[head].Flags & Filemap.PageCacheFolio.FolioWide;
        for (int p = head + 1; p < head + nr; p++)
            frames[p].Flags = (frames[p].Flags & ~Filemap.PageCacheFolio.FolioWide) | bits;
    }

    /// <summary>
    /// lru_add_split_folio (__split_huge_page's list argument): a large folio on this lruvec (a page-cache folio or a
    /// THP) is split into single pages, its other pages taking the folio's flags: the head stays where it is, now one
    /// page, and each other page joins the same list beside it (newer than the head, as list_add_tail on the folio's
    /// entry puts it); one still in an lru_add batch is moved onto the lists first. An isolated folio (reclaim holds
    /// it: off every list) leaves its other pages isolated with PG_lru, for the caller's shrink_folio_list to take
    /// them one by one (split_folio_to_list). The caller clears the frames' order or THP mark afterwards.
    /// </summary>
    public void SplitFolio(int head)
    {
        int nr = Nr(head);
        if (nr == 1)
            return;
        if (_lruAdd.InBatch(head))
            _lruAdd.DrainCpu(_lruAdd.CpuOf(head));
        SyncTails(head);
        int list = _lists.ListOf(head);
        if (list >= 0)
            _lists.Reweight(head, 1);
        else
            _lists.SetWeight(head, 1);
        for (int p = head + 1; p < head + nr; p++)
        {
            _lists.SetWeight(p, 1);
            if (list >= 0)
                _lists.InsertBefore(head, p);
        }
    }

    /// <summary>folio_is_file_lru: !PG_swapbacked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsFileLru(int pfn) => (HostFrames[pfn].Flags & FrameFlags.SwapBacked) == 0;

    /// <summary>
    /// folio_mark_accessed (mm/swap.c): inactive,unreferenced → referenced; inactive,referenced → activated with the
    /// bit cleared and the workingset clock advanced (workingset_activation). Activated means folio_activate for a folio
    /// on the LRU (PG_lru), else __lru_cache_activate_folio, which sets PG_active only if the folio waits in the CURRENT
    /// CPU's lru_add batch (a remote batch may be draining): a folio in another CPU's batch, or isolated, loses
    /// PG_referenced and ages the workingset clock but stays inactive.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame)
    {
        if (_lruGen)
        {
            LruGenIncRefs(frame);
            return;
        }
        frame = Head(frame);
        ref FrameFlags fl = ref HostFrames[frame].Flags;
        if ((fl & FrameFlags.Referenced) == 0)
        {
            fl |= FrameFlags.Referenced;
            SyncTails(frame);
            return;
        }
        if ((fl & (FrameFlags.Unevictable | FrameFlags.Active)) != 0)
            return;
        bool onLru = !_lruAdd.InBatch(frame) && _lists.ListOf(frame) >= 0;
        if (onLru || _lruAdd.InBatchOf(frame, _host.CurrentCpu))
            fl |= FrameFlags.Active;
        fl &= ~FrameFlags.Referenced;
        SyncTails(frame);
        int nr = Nr(frame);
        if (onLru)
        {
            // folio_activate_fn: off the inactive list onto the active head.
            _lists.MoveToHead((int)FolioLru(frame), frame);
            _counters.Add(_c.PgActivate, nr);
        }
        NonresidentAge += nr; // workingset_activation ages by folio_nr_pages
    }

    /// <summary>
    /// The reclaim interface of the simple policies; the machine reclaims through <see cref="ShrinkLruvec"/> instead.
    /// Here: the tail of the inactive file list, else of the inactive anon list, skipping pinned frames.
    /// </summary>
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        LruAddDrainAll();
        if (_lruGen)
            return LruGenChooseVictim(unevictable);
        foreach (LruList lru in (ReadOnlySpan<LruList>)[LruList.InactiveFile, LruList.InactiveAnon, LruList.ActiveFile, LruList.ActiveAnon])
        {
            for (int f = _lists.Tail((int)lru); f >= 0; f = _lists.Prev(f))
                if (!Evictability.IsPinned(unevictable, f))
                    return f;
        }
        return -1;
    }

    /// <summary>lruvec_del_folio (or the page leaves its lru_add batch): it is no longer on this lruvec.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame)
    {
        frame = Head(frame);
        if (_lruAdd.InBatch(frame))
        {
            _lruAdd.Remove(frame);
            return;
        }
        if (_lruGen && LruGenDelFolio(frame, false))
            return;
        if (_lists.ListOf(frame) >= 0)
            _lists.Remove(frame);
    }

    /// <summary>
    /// folio_deactivate's lru_deactivate_fn (mm/swap.c), for MADV_COLD: PG_referenced is cleared (madvise_cold's
    /// folio_clear_referenced); a page on an active list moves to the head of its type's inactive list with PG_active
    /// cleared and counts in pgdeactivate (true). A page still in an lru_add batch has no PG_lru yet and is left alone.
    /// </summary>
    public bool OnDeactivate(int frame)
    {
        if (_lruGen)
            return !_lruAdd.InBatch(frame) && LruGenDeactivate(frame);
        frame = Head(frame);
        ref FrameFlags fl = ref HostFrames[frame].Flags;
        fl &= ~FrameFlags.Referenced;
        SyncTails(frame);
        if (_lruAdd.InBatch(frame))
            return false;
        int list = _lists.ListOf(frame);
        if (list != (int)LruList.ActiveAnon && list != (int)LruList.ActiveFile)
            return false;
        fl &= ~FrameFlags.Active;
        SyncTails(frame);
        _lists.MoveToHead((int)FolioLru(frame), frame);
        return true;
    }

    /// <summary>
    /// folio_deactivate (mm/swap.c) before its batch, for MADV_COLD on the classic lists: PG_referenced is cleared
    /// (madvise_cold's folio_clear_referenced); true when the folio (<paramref name="head"/>) would join the CPU's
    /// lru_deactivate batch: on the LRU (PG_lru: on a list, not in an lru_add batch), evictable and active.
    /// </summary>
    public bool FolioDeactivate(int frame, out int head, out int nr)
    {
        head = Head(frame);
        nr = Nr(head);
        ref FrameFlags fl = ref _host.Frames[head].Flags;
        fl &= ~FrameFlags.Referenced;
        SyncTails(head);
        if (_lruAdd.InBatch(head))
            return false;
        int list = _lists.ListOf(head);
        return list == (int)LruList.ActiveAnon || list == (int)LruList.ActiveFile;
    }

    /// <summary>
    /// lru_deactivate (mm/swap.c) when the lru_deactivate batch moves: a folio still on a list (folio_test_clear_lru),
    /// evictable and active goes to the head of its type's inactive list with PG_active and PG_referenced cleared;
    /// true when it moved (pgdeactivate).
    /// </summary>
    public bool LruDeactivate(int head)
    {
        int list = _lists.ListOf(head);
        ref FrameFlags fl = ref _host.Frames[head].Flags;
        if (list < 0 || (fl & (FrameFlags.Unevictable | FrameFlags.Active)) != FrameFlags.Active)
            return false;
        fl &= ~(FrameFlags.Active | FrameFlags.Referenced);
        SyncTails(head);
        _lists.MoveToHead((int)FolioLru(head), head);
        return true;
    }

    /// <summary>
    /// folio_mark_lazyfree's lru_lazyfree_fn (mm/swap.c): a clean anonymous page given up with MADV_FREE moves to the
    /// inactive file list (its PG_swapbacked was just cleared) with PG_active and PG_referenced cleared; pglazyfree.
    /// </summary>
    public void MarkLazyFree(int pfn)
    {
        ref FrameFlags fl = ref HostFrames[pfn].Flags;
        if (_lruGen)
        {
            // lruvec_del_folio, the flags cleared, lruvec_add_folio: a clean file-type folio joins the oldest generation.
            bool was = !_lruAdd.InBatch(pfn) && LruGenDelFolio(pfn, false);
            fl &= ~(FrameFlags.Active | FrameFlags.Referenced);
            if (was) LruGenAddFolio(pfn, false);
            return;
        }
        fl &= ~(FrameFlags.Active | FrameFlags.Referenced);
        if (!_lruAdd.InBatch(pfn) && _lists.ListOf(pfn) >= 0)
            _lists.MoveToHead((int)FolioLru(pfn), pfn);
    }

    /// <summary>
    /// The mlocked page reclaim found (folio_evictable false) goes to LRU_UNEVICTABLE with PG_unevictable and
    /// without PG_active (mlock_folio's bookkeeping).
    /// </summary>
    public void MoveToUnevictable(int pfn)
    {
        if (_lruGen && !_lruAdd.InBatch(pfn))
            LruGenDelFolio(pfn, true);
        pfn = Head(pfn);
        ref FrameFlags fl = ref HostFrames[pfn].Flags;
        fl = (fl & ~FrameFlags.Active) | FrameFlags.Unevictable;
        SyncTails(pfn);
        if (!_lruAdd.InBatch(pfn))
        {
            if (_lists.ListOf(pfn) >= 0) _lists.MoveToHead((int)LruList.Unevictable, pfn);
            else _lists.PushHead((int)LruList.Unevictable, pfn);
        }
    }

    /// <summary>
    /// folio_rotate_reclaimable (mm/swap.c) at the end of a PG_reclaim page's writeback: unless it is locked, dirty,
    /// unevictable or off the LRU (isolated, or still in an lru_add batch), lru_move_tail clears PG_active and moves it
    /// to the tail of its inactive list, where reclaim looks first; pgrotated. Simplified: at once, not through the
    /// per-CPU lru_rotate batch.
    /// </summary>
    public void RotateReclaimable(int pfn)
    {
        // folio_end_writeback runs once for a folio, when its whole bio completed: a large folio's pages complete in
        // one request, in order, so its last page's completion stands for the folio's.
        int head = Head(pfn);
        if (head != pfn && pfn != head + Nr(head) - 1)
            return;
        if (head == pfn && Nr(head) != 1)
            return;
        pfn = head;
        ref FrameFlags fl = ref HostFrames[pfn].Flags;
        if ((fl & (FrameFlags.Locked | FrameFlags.Dirty | FrameFlags.Unevictable)) != 0)
            return;
        if (_lruGen)
        {
            LruGenRotateReclaimable(pfn);
            return;
        }
        int list = _lists.ListOf(pfn);
        if (list < 0 || list == (int)LruList.Unevictable)
            return;
        _lists.Remove(pfn);
        fl &= ~FrameFlags.Active;
        SyncTails(pfn);
        _lists.PushTail((int)FolioLru(pfn), pfn);
        _counters.Add(_c.PgRotated, Nr(pfn));
    }

    /// <summary>munlock_folio → __munlock_folio: an unlocked page leaves LRU_UNEVICTABLE for the inactive list of its type.</summary>
    public void PutbackEvictable(int pfn)
    {
        pfn = Head(pfn);
        ref FrameFlags fl = ref HostFrames[pfn].Flags;
        if ((fl & FrameFlags.Unevictable) == 0)
            return;
        fl &= ~FrameFlags.Unevictable;
        SyncTails(pfn);
        if (_lruGen && !_lruAdd.InBatch(pfn) && _lists.ListOf(pfn) >= 0)
        {
            _lists.Remove(pfn);
            LruGenAddFolio(pfn, false);
            return;
        }
        if (!_lruAdd.InBatch(pfn) && _lists.ListOf(pfn) >= 0)
            _lists.MoveToHead((int)FolioLru(pfn), pfn);
    }

    // ---------------------------------------------------------------- workingset (mm/workingset.c)

    /// <summary>
    /// workingset_eviction: the shadow entry of a page being evicted now — the eviction clock
    /// (nonresident_age, bucket_order 0) and PG_workingset — and the clock advances by the page.
    /// Returns a value &gt;= 0.
    /// </summary>
    public int WorkingsetEviction(int pfn)
    {
        if (_lruGen)
            return LruGenEviction(pfn);
        int eviction = (int)(NonresidentAge & EvictionMask);
        NonresidentAge++;
        bool workingset = (HostFrames[pfn].Flags & FrameFlags.Workingset) != 0;
        return (eviction << 1) | (workingset ? 1 : 0);
    }

    /// <summary>
    /// workingset_eviction for a large folio: one shadow for all its pages (__delete_from_swap_cache stores it in each
    /// slot) and the nonresident clock advanced by the folio's pages (workingset_age_nonresident with folio_nr_pages).
    /// </summary>
    private void FolioShadow(int pfn, int nr)
    {
        int head = pfn & ~(nr - 1), shadow = _shadow[pfn];
        for (int p = head; p < head + nr; p++)
            _shadow[p] = shadow;
        if (!_lruGen)
            NonresidentAge += nr - 1;
    }

    /// <summary>The shadow <see cref="ShrinkLruvec"/> computed for a frame it reclaimed, until the frame is freed (then cleared).</summary>
    public int TakeShadow(int pfn)
    {
        int s = _shadow[pfn];
        _shadow[pfn] = NoShadow;
        return s;
    }

    /// <summary>
    /// workingset_test_recent: the refault distance (clock now minus clock at eviction, modulo the shadow's bits)
    /// against the workingset that could have held the page: the active file list, plus the inactive file list for
    /// an anon page, plus the anon lists (inactive anon only for a file page) while swap space is left.
    /// </summary>
    public bool WorkingsetTestRecent(int shadow, bool file)
    {
        long eviction = shadow >> 1;
        long refaultDistance = (NonresidentAge - eviction) & EvictionMask;
        long workingset = WorkingsetPageState(LruList.ActiveFile);
        if (!file)
            workingset += WorkingsetPageState(LruList.InactiveFile);
        // mem_cgroup_get_nr_swap_pages(eviction_memcg) > 0: anon competes for the workingset while the group can swap.
        if (_host.CanReclaimAnonPages(this))
        {
            workingset += WorkingsetPageState(LruList.ActiveAnon);
            if (file)
                workingset += WorkingsetPageState(LruList.InactiveAnon);
        }
        return refaultDistance <= workingset;
    }

    /// <summary>
    /// workingset_refault: a page read back in over the shadow it left. workingset_refault_*; when the distance is
    /// within the workingset the page starts active (workingset_activate_*, the clock advances) and, if it was
    /// active before eviction, gets PG_workingset and bills the refault to its list's cost (workingset_restore_*,
    /// lru_note_cost_refault). Call before <see cref="OnInserted"/>.
    /// </summary>
    public void WorkingsetRefault(int pfn, int shadow)
    {
        if (_lruGen)
        {
            LruGenRefault(pfn, shadow);
            return;
        }
        bool file = IsFileLru(pfn);
        int t = file ? 1 : 0;
        // A large folio refaults as one: every count is its folio_nr_pages (mod_lruvec_state(..., nr)).
        int nr = Nr(pfn);
        _counters.Add(file ? _c.WorkingsetRefaultFile : _c.WorkingsetRefaultAnon, nr);
        WorkingsetRefaults[t] += nr;
        if (!WorkingsetTestRecent(shadow, file))
            return;
        ref FrameFlags fl = ref HostFrames[pfn].Flags;
        fl |= FrameFlags.Active;
        NonresidentAge += nr;
        // mod_lruvec_state(WORKINGSET_ACTIVATE): a memcg's statistics are hierarchical, its ancestors' count it too.
        for (Lruvec? l = this; l is not null; l = l.Parent)
            l.WorkingsetActivations[t] += nr;
        WorkingsetActivationsLocal[t] += nr;
        _counters.Add(file ? _c.WorkingsetActivateFile : _c.WorkingsetActivateAnon, nr);
        if ((shadow & 1) != 0)
        {
            fl |= FrameFlags.Workingset;
            LruNoteCost(file, nr, 0); // lru_note_cost_refault: folio_nr_pages of I/O
            _counters.Add(file ? _c.WorkingsetRestoreFile : _c.WorkingsetRestoreAnon, nr);
            WorkingsetRestores[t] += nr;
        }
    }

    /// <summary>lru_note_cost: cost = nr_io × SWAP_CLUSTER_MAX + nr_rotated, halved with the other when both exceed a quarter of the lists.</summary>
    private void LruNoteCost(bool file, long nrIo, long nrRotated)
    {
        long cost = nrIo * SwapClusterMax + nrRotated;
        if (cost == 0) return;
        // The cost goes to this lruvec and each ancestor's (parent_lruvec), each halving against its own hierarchical size.
        for (Lruvec? l = this; l is not null; l = l.Parent)
        {
            if (file) l.FileCost += cost;
            else l.AnonCost += cost;
            long lrusize = l.SubtreeSize(LruList.InactiveAnon) + l.SubtreeSize(LruList.ActiveAnon)
                + l.SubtreeSize(LruList.InactiveFile) + l.SubtreeSize(LruList.ActiveFile);
            if (l.FileCost + l.AnonCost > lrusize / 4)
            {
                l.FileCost /= 2;
                l.AnonCost /= 2;
            }
        }
    }

    // ---------------------------------------------------------------- reclaim (mm/vmscan.c)

    /// <summary>
    /// inactive_is_low: inactive × inactive_ratio &lt; active, inactive_ratio = int_sqrt(10 × GiB of the pair) or 1 below 1 GiB.
    /// </summary>
    public bool InactiveIsLow(LruList inactiveLru)
    {
        long inactive = LruPageState(inactiveLru), active = LruPageState(inactiveLru + 1);
        long gb = (inactive + active) >> (30 - (int)Pte.PageShift);
        long ratio = gb > 0 ? PageAlloc.Watermarks.IntSqrt((ulong)(10 * gb)) : 1;
        return inactive * ratio < active;
    }

    /// <summary>lruvec_memcg: the memory cgroup whose lruvec this is (null on a machine without cgroups).</summary>
    public Memcontrol.MemCgroup? Memcg { get; set; }

    /// <summary>
    /// apply_proportional_protection for this lruvec's cgroup (see
    /// <see cref="Memcontrol.MemcgController.ApplyProportionalProtection"/>); unchanged without cgroups.
    /// </summary>
    internal long ApplyProportionalProtection(ScanControl sc, long scan)
    {
        if (Memcg is not { } memcg || sc.Target is not { } target)
            return scan;
        return Memcontrol.MemcgController.ApplyProportionalProtection(target, memcg, scan, sc.MemcgLowReclaim, ref sc.MemcgLowSkipped, SwapClusterMax);
    }

    /// <summary>
    /// get_scan_count: how many pages of each evictable list this priority scans. SCAN_FILE without swap space (or a
    /// cgroup reclaim at swappiness 0), SCAN_EQUAL at priority 0, SCAN_ANON when file_is_tiny, SCAN_FILE in
    /// cache_trim_mode, else SCAN_FRACT: anon gets swappiness × (total+1)/(anon_cost+1), file (200 − swappiness) ×
    /// (total+1)/(file_cost+1), each list size (scaled down by a cgroup's memory.low/min protection) &gt;&gt; priority
    /// times its type's share.
    /// </summary>
    public void GetScanCount(ScanControl sc, Span<long> nr)
    {
        int swappiness = sc.Swappiness;
        ScanBalance balance;
        ulong ap = 0, fp = 0, denominator = 1;
        if (!sc.MaySwap || !_host.CanReclaimAnonPages(this))
            balance = ScanBalance.File;
        else if (sc.CgroupReclaim && swappiness == 0)
            balance = ScanBalance.File;
        else if (sc.Priority == 0 && swappiness != 0)
            balance = ScanBalance.Equal;
        else if (sc.FileIsTiny)
            balance = ScanBalance.Anon;
        else if (sc.CacheTrimMode)
            balance = ScanBalance.File;
        else
        {
            balance = ScanBalance.Fract;
            ulong total = (ulong)(sc.AnonCost + sc.FileCost);
            ulong anonCost = total + (ulong)sc.AnonCost;
            ulong fileCost = total + (ulong)sc.FileCost;
            total = anonCost + fileCost;
            ap = (ulong)swappiness * (total + 1) / (anonCost + 1);
            fp = (ulong)(MaxSwappiness - swappiness) * (total + 1) / (fileCost + 1);
            denominator = ap + fp;
        }
        sc.LastBalance = balance;
        for (int lru = 0; lru < 4; lru++)
        {
            bool file = lru >= 2;
            // A protected cgroup's list counts less (apply_proportional_protection), before the priority shift.
            ulong scan = (ulong)ApplyProportionalProtection(sc, Size((LruList)lru)) >> sc.Priority;
            switch (balance)
            {
                case ScanBalance.Equal:
                    break;
                case ScanBalance.Fract:
                    scan = denominator == 0 ? 0 : scan * (file ? fp : ap) / denominator;
                    break;
                default:
                    if ((balance == ScanBalance.File) != file) scan = 0;
                    break;
            }
            nr[lru] = (long)scan;
        }
    }

    /// <summary>
    /// prepare_scan_control's per-lruvec part: the cost snapshot, may_deactivate (refaults since the last snapshot
    /// or inactive_is_low, per type, unless force_deactivate), cache_trim_mode, and file_is_tiny for global reclaim.
    /// </summary>
    public void PrepareScanControl(ScanControl sc)
    {
        if (_lruGen)
            return;
        sc.AnonCost = AnonCost;
        sc.FileCost = FileCost;
        if (!sc.ForceDeactivate)
        {
            sc.MayDeactivate = 0;
            if (WorkingsetActivatePageState(0) != RefaultSnapshot[0] || InactiveIsLow(LruList.InactiveAnon))
                sc.MayDeactivate |= ScanControl.DeactivateAnon;
            if (WorkingsetActivatePageState(1) != RefaultSnapshot[1] || InactiveIsLow(LruList.InactiveFile))
                sc.MayDeactivate |= ScanControl.DeactivateFile;
        }
        else
        {
            sc.MayDeactivate = ScanControl.DeactivateAnon | ScanControl.DeactivateFile;
        }
        long inactiveFile = LruPageState(LruList.InactiveFile);
        sc.CacheTrimMode = (inactiveFile >> sc.Priority) != 0 && (sc.MayDeactivate & ScanControl.DeactivateFile) == 0;
        if (!sc.CgroupReclaim)
        {
            long file = SubtreeSize(LruList.ActiveFile) + inactiveFile;
            long anon = SubtreeSize(LruList.InactiveAnon);
            sc.FileIsTiny = file + _host.FreePages <= _host.HighWatermark
                && (sc.MayDeactivate & ScanControl.DeactivateAnon) == 0
                && (anon >> sc.Priority) != 0;
        }
    }

    /// <summary>snapshot_refaults: reclaim is done; remember the activations it has seen.</summary>
    public void SnapshotRefaults()
    {
        RefaultSnapshot[0] = WorkingsetActivatePageState(0);
        RefaultSnapshot[1] = WorkingsetActivatePageState(1);
    }

    /// <summary>
    /// shrink_lruvec: scans the evictable lists in SWAP_CLUSTER_MAX chunks of get_scan_count's targets; once enough
    /// is reclaimed (and not a proportional direct reclaim at DEF_PRIORITY) it stops the smaller type and scales the
    /// other down to the share already scanned; then ages the anon lists if inactive anon is low.
    /// Adds to <see cref="ScanControl.NrReclaimed"/> and <see cref="ScanControl.NrScanned"/>.
    /// </summary>
    public void ShrinkLruvec(ScanControl sc)
    {
        if (_lruGen)
        {
            LruGenShrink(sc, false, sc.NrReclaimed); // lru_gen_shrink_lruvec (cgroup reclaim)
            return;
        }
        Span<long> nr = stackalloc long[4];
        Span<long> targets = stackalloc long[4];
        GetScanCount(sc, nr);
        nr.CopyTo(targets);
        long nrReclaimed = 0, nrToReclaim = sc.NrToReclaim;
        bool proportional = !sc.CgroupReclaim && !sc.Kswapd && sc.Priority == ScanControl.DefPriority;
        // blk_start_plug: the loop's swap writes wait in the reclaimer's plug until it ends (or the plug flushes as
        // blk_add_rq_to_plug does), so a pass cannot free a page it wrote itself (measured on 6.18:
        // oracle/experiments/swap-cache-residue, "The fill's end").
        _host.BlkStartPlug();
        while (nr[(int)LruList.InactiveAnon] != 0 || nr[(int)LruList.ActiveFile] != 0 || nr[(int)LruList.InactiveFile] != 0)
        {
            for (int lru = 0; lru < 4; lru++)
            {
                if (nr[lru] == 0) continue;
                int toScan = (int)Math.Min(nr[lru], SwapClusterMax);
                nr[lru] -= toScan;
                nrReclaimed += ShrinkList((LruList)lru, toScan, sc);
            }
            if (nrReclaimed < nrToReclaim || proportional)
                continue;
            long nrFile = nr[2] + nr[3], nrAnon = nr[0] + nr[1];
            if (nrFile == 0 || nrAnon == 0)
                break;
            int stop;
            long percentage;
            if (nrFile > nrAnon)
            {
                stop = 0;
                percentage = nrAnon * 100 / (targets[0] + targets[1] + 1);
            }
            else
            {
                stop = 2;
                percentage = nrFile * 100 / (targets[2] + targets[3] + 1);
            }
            nr[stop] = 0;
            nr[stop + 1] = 0;
            int other = stop == 2 ? 0 : 2;
            for (int l = other; l <= other + 1; l++)
            {
                long scanned = targets[l] - nr[l];
                nr[l] = targets[l] * (100 - percentage) / 100;
                nr[l] -= Math.Min(nr[l], scanned);
            }
        }
        _host.BlkFinishPlug();
        sc.NrReclaimed += nrReclaimed;
        if (_host.HasSwap && InactiveIsLow(LruList.InactiveAnon))
            ShrinkActiveList(SwapClusterMax, sc, LruList.ActiveAnon);
    }

    /// <summary>shrink_list: active lists are only deactivated when may_deactivate allows their type (else skipped_deactivate).</summary>
    private long ShrinkList(LruList lru, int toScan, ScanControl sc)
    {
        if (lru is LruList.ActiveAnon or LruList.ActiveFile)
        {
            int bit = lru == LruList.ActiveFile ? ScanControl.DeactivateFile : ScanControl.DeactivateAnon;
            if ((sc.MayDeactivate & bit) != 0)
                ShrinkActiveList(toScan, sc, lru);
            else
                sc.SkippedDeactivate = true;
            return 0;
        }
        return ShrinkInactiveList(toScan, sc, lru);
    }

    /// <summary>
    /// isolate_lru_folios: folios off the tail of <paramref name="lru"/> (oldest first) while fewer than
    /// <paramref name="toScan"/> pages were scanned and taken, a folio counting its folio_nr_pages (so the last one may
    /// take the total past it): a large page-cache folio is one weighted entry. A page of a PMD-sized THP takes its
    /// whole folio (every page of it on this list), so one THP fills a SWAP_CLUSTER_MAX batch. Returns the entries in
    /// <see cref="_isolated"/> (a THP's is the page found at the tail); <paramref name="pages"/> the pages taken.
    /// </summary>
    private int Isolate(LruList lru, int toScan, out int pages)
    {
        int n = 0;
        pages = 0;
        while (pages < toScan && n < _isolated.Length)
        {
            int f = _lists.Tail((int)lru);
            if (f < 0) break;
            _isolated[n++] = f;
            pages += _lists.Weight(f);
            _lists.Remove(f);
        }
        return n;
    }

    /// <summary>HPAGE_PMD_NR: the pages of a PMD-sized folio, which the classic lists move as one.</summary>
    private const int FolioPmdPages = HugeMemory.HugeMemory.PmdPages;

    /// <summary>A page of a PMD-sized THP not split yet (the classic lists isolate, age and put back its folio whole).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsThp(int pfn) => !_lruGen && (HostFrames[pfn].Flags & FrameFlags.Thp) != 0;

    /// <summary>
    /// A page <paramref name="p"/> of a folio split while reclaim held it isolated: PG_lru, on no list and in no lru_add
    /// batch (split_folio_to_list left it on reclaim's list).
    /// </summary>
    private bool FolioPageIsolated(int p) =>
        (HostFrames[p].Flags & FrameFlags.Lru) != 0 && _lists.ListOf(p) < 0;

    /// <summary>
    /// Whether shrink_folio_list holds <paramref name="pfn"/>'s folio isolated: folio_isolate_lru took a reference that
    /// only the putback or the free at the loop's end drops, so a write's completion meanwhile (folio_end_writeback, when
    /// case 3 waits on it or reclaim's time passes) cannot free the folio under reclaim (mm/vmscan.c, folio_isolate_lru).
    /// </summary>
    public bool HeldIsolated(int pfn)
    {
        if ((uint)(pfn - _heldPfn) < (uint)_heldNr)
            return true;
        for (int i = _heldFrom; i < _heldTo; i++)
        {
            int e = _isolated[i];
            if (e == pfn || (IsThp(e) && IsThp(pfn) && HugeMemory.HugeMemory.HeadOf(e) == HugeMemory.HugeMemory.HeadOf(pfn)))
                return true;
        }
        return false;
    }

    /// <summary>folio_trylock of a large folio fails when any of its pages is held (I/O, an install).</summary>
    private bool FolioPinned(int pfn)
    {
        int nr = Nr(pfn);
        if (nr == 1)
            return _host.IsPinned(pfn);
        for (int p = pfn; p < pfn + nr; p++)
            if (_host.IsPinned(p))
                return true;
        return false;
    }

    /// <summary>move_folios_to_lru for one page: head of the list its flags name; an active one advances the workingset clock.</summary>
    private void Putback(int pfn)
    {
        if (_lruGen)
        {
            LruGenPutback(pfn);
            return;
        }
        LruList lru = FolioLru(pfn);
        SyncTails(pfn);
        _lists.PushHead((int)lru, pfn);
        if (lru is LruList.ActiveAnon or LruList.ActiveFile)
            NonresidentAge += _lists.Weight(pfn); // workingset_age_nonresident(folio_nr_pages)
    }

    /// <summary>
    /// shrink_active_list: pgrefill for the pages isolated; a referenced page of an executable file mapping (VM_EXEC)
    /// gets another trip round the active list (nr_rotated); every other page is deactivated (PG_active cleared,
    /// PG_workingset set; PG_referenced left alone) to the inactive head; pgdeactivate; lru_note_cost of the rotations.
    /// </summary>
    public void ShrinkActiveList(int toScan, ScanControl sc, LruList lru)
    {
        LruAddDrain();
        bool file = lru == LruList.ActiveFile;
        int taken = Isolate(lru, toScan, out int takenPages);
        _counters.Add(_c.PgRefill, takenPages);
        sc.NrScannedActive += takenPages;
        int rotated = 0, deactivated = 0, activeBack = 0, deactivatedPages = 0;
        Span<int> keep = stackalloc int[SwapClusterMax];
        for (int i = 0; i < taken; i++)
        {
            int pfn = _isolated[i];
            int nr = Nr(pfn);
            ref FrameFlags fl = ref HostFrames[pfn].Flags;
            if (_host.FolioReferenced(pfn, out VmFlags vmFlags) != 0)
            {
                if ((vmFlags & VmFlags.Locked) != 0)
                {
                    // folio_evictable fails once the rmap walk found VM_LOCKED (mlock_vma_folio): off to unevictable.
                    ActivateLockedFolio(pfn);
                    MoveToUnevictable(pfn);
                    continue;
                }
                if ((vmFlags & VmFlags.Exec) != 0 && file)
                {
                    rotated += nr;
                    keep[activeBack++] = pfn;
                    continue;
                }
            }
            fl = (fl & ~FrameFlags.Active) | FrameFlags.Workingset;
            _isolated[deactivated++] = pfn;
            deactivatedPages += nr;
        }
        // move_folios_to_lru(l_active) then (l_inactive): each list in the order its pages were processed.
        for (int i = 0; i < activeBack; i++) Putback(keep[i]);
        for (int i = 0; i < deactivated; i++) Putback(_isolated[i]);
        _counters.Add(_c.PgDeactivate, deactivatedPages);
        LruNoteCost(file, 0, rotated);
        _host.LruShrinkTrace(active: true, file, sc, takenPages, deactivatedPages);
        _host.ShrinkActiveListTime(taken);
    }

    /// <summary>activate_locked's folio_free_swap: the swap slots of every page of the entry's folio.</summary>
    private void ActivateLockedFolio(int pfn)
    {
        int nr = Nr(pfn);
        for (int p = pfn; p < pfn + nr; p++)
            _host.ActivateLocked(p);
    }

    /// <summary>
    /// shrink_inactive_list: isolate, pgscan_{kswapd,direct} and pgscan_{anon,file}, shrink_folio_list, put back what
    /// stays, pgsteal_{kswapd,direct} and pgsteal_{anon,file}, lru_note_cost(pageouts, scanned − reclaimed).
    /// Returns the pages reclaimed.
    /// </summary>
    private long ShrinkInactiveList(int toScan, ScanControl sc, LruList lru)
    {
        LruAddDrain();
        bool file = lru == LruList.InactiveFile;
        _host.WritebackProgress(toScan);
        int entries = Isolate(lru, toScan, out int taken);
        sc.NrScanned += taken;
        sc.NrTaken += taken;
        // Cgroup reclaim counts pgscan_kswapd/direct in the memcg's statistics only, not in /proc/vmstat.
        if (!sc.CgroupReclaim)
            _counters.Add(sc.Kswapd ? _c.PgScanKswapd : _c.PgScanDirect, taken);
        if (sc.Kswapd) PgScanKswapd += taken;
        else PgScanDirect += taken;
        _counters.Add(file ? _c.PgScanFile : _c.PgScanAnon, taken);
        if (taken == 0)
            return 0;
        int reclaimed = ShrinkFolioList(entries, taken, sc, out int pageouts);
        _host.WritebackUnplug();
        if (!sc.CgroupReclaim)
            _counters.Add(sc.Kswapd ? _c.PgStealKswapd : _c.PgStealDirect, reclaimed);
        if (sc.Kswapd) PgStealKswapd += reclaimed;
        else PgStealDirect += reclaimed;
        _counters.Add(file ? _c.PgStealFile : _c.PgStealAnon, reclaimed);
        LruNoteCost(file, pageouts, Math.Max(taken - reclaimed, 0)); // a THP swapped whole frees more than was isolated
        // shrink_inactive_list returns before its tracepoint when it took nothing; so does this.
        _host.LruShrinkTrace(active: false, file, sc, taken, reclaimed);
        return reclaimed;
    }

    /// <summary>
    /// shrink_folio_list over the isolated folios, oldest first: a pinned folio (folio_trylock fails) is kept; otherwise
    /// folio_check_references decides — activate (to the active head, pgactivate; or to LRU_UNEVICTABLE when a VM_LOCKED
    /// area maps it), keep (back to the inactive head), or reclaim (the host unmaps and frees it, its shadow is taken).
    /// A THP is one entry whose counts are its pages'; when reclaim splits it (thp_swpout_fallback), its other pages
    /// join the list (split_folio_to_list) and go through the same steps one by one.
    /// </summary>
    private int ShrinkFolioList(int entries, int taken, ScanControl sc, out int pageouts)
    {
        int reclaimed = 0, unqueuedDirty = 0, folios = 0;
        pageouts = 0;
        _heldTo = entries;
        for (int i = 0; i < entries; i++)
        {
            int pfn = _isolated[i];
            folios++;
            int nr = Nr(pfn);
            (_heldFrom, _heldPfn, _heldNr) = (i + 1, pfn, nr);
            ShrinkFolio(pfn, sc, ref reclaimed, ref pageouts, ref unqueuedDirty);
            _host.FreeFolios(full: true);
            if (nr == 1 || Nr(pfn) != 1)
                continue;
            // Split (split_folio_to_list): the folio's other pages are order-0 pages on reclaim's list now, each
            // handled (and taking the reclaimer's time) as a page isolated on its own would be. Last page first:
            // __split_unmapped_folio hands them to lru_add_split_folio in address order, which list_add_tails each
            // onto the list shrink_folio_list takes from the tail (lru_to_folio), so they get their swap slots in
            // descending order after the head's (traced on 6.18: head at slot S, page 511 at S + 1, page 1 at S + 511).
            for (int p = pfn + nr - 1; p > pfn; p--)
            {
                if (!FolioPageIsolated(p))
                    continue;
                _host.WritebackProgress(1);
                ShrinkFolio(p, sc, ref reclaimed, ref pageouts, ref unqueuedDirty);
                _host.FreeFolios(full: true);
                // Its time passes here, as the loop's does on Linux, so the first writes complete while later
                // pages are still being handled.
                _host.ShrinkFolioListTime(folios + 1, batch: false);
                folios = 0;
            }
        }
        (_heldFrom, _heldTo, _heldPfn, _heldNr) = (0, 0, -1, 0);
        _host.FreeFolios(full: false);
        _host.ShrinkFolioListTime(folios, batch: true);
        // shrink_inactive_list: the flushers are not keeping up, nudge them. evict_folios only adds the count to
        // sc->nr.unqueued_dirty; try_to_shrink_lruvec decides.
        if (_lruGen)
            sc.NrUnqueuedDirty += unqueuedDirty;
        else if (unqueuedDirty > 0 && unqueuedDirty == taken)
        {
            _host.WakeupFlusherThreads();
            // cgroup v1 has no dirty throttling of its own: the memcg reclaimer waits for the flusher it woke
            // (reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK)) instead of scanning on through dirty pages.
            if (!sc.WritebackThrottlingSane)
                _host.ReclaimThrottleWriteback();
        }
        return reclaimed;
    }

    /// <summary>shrink_folio_list's loop body for one isolated folio (a page, or a THP's entry standing for its folio).</summary>
    private void ShrinkFolio(int pfn, ScanControl sc, ref int reclaimed, ref int pageouts, ref int unqueuedDirty)
    {
        if (_host.GoneWithFolio(pfn))
            return; // counted with its folio
        if (FolioPinned(pfn))
        {
            Putback(pfn);
            return;
        }
        int nrPages = Nr(pfn);
        if (_host.FolioDirtyFile(pfn))
            unqueuedDirty += nrPages;
        if ((HostFrames[pfn].Flags & FrameFlags.Writeback) != 0 && !FolioUnderWriteback(pfn, sc))
        {
            // Cases 1 and 2: activate_locked, out of the way until the write ends and rotates it back.
            HostFrames[pfn].Flags |= FrameFlags.Active;
            _counters.Add(_c.PgActivate, nrPages);
            Putback(pfn);
            return;
        }
        FolioReferences refs = FolioCheckReferences(pfn, out bool mlocked);
        if (mlocked)
        {
            ActivateLockedFolio(pfn);
            MoveToUnevictable(pfn);
            return;
        }
        if (refs is FolioReferences.Activate or FolioReferences.Keep)
            _counters.Add(_c.Referenced, nrPages);
        FolioReclaimResult result;
        if (refs == FolioReferences.Activate)
            result = FolioReclaimResult.Activate;
        else if (refs == FolioReferences.Keep)
            result = FolioReclaimResult.Keep;
        else if (!sc.MayWritepage && _host.FolioNeedsPageout(pfn))
            result = FolioReclaimResult.Keep; // shrink_folio_list: !may_writepage → keep_locked
        else
        {
            result = _host.ReclaimFolio(pfn, refs, out bool wrote);
            if (wrote) pageouts += _host.ReclaimedFolioPages; // stat->nr_pageout counts a folio's pages
        }
        switch (result)
        {
            case FolioReclaimResult.Reclaimed:
                if (IsFileLru(pfn) && (HostFrames[pfn].Flags & FrameFlags.Anon) != 0)
                    _counters.Increment(_c.PgLazyFreed); // a lazily freed page discarded (no shadow: no cache holds it)
                else
                    _shadow[pfn] = WorkingsetEviction(pfn);
                int nr = _host.ReclaimedFolioPages;
                if (nr > 1)
                    FolioShadow(pfn, nr);
                reclaimed += nr;
                break;
            case FolioReclaimResult.Mlocked:
                ActivateLockedFolio(pfn);
                MoveToUnevictable(pfn);
                break;
            case FolioReclaimResult.Writeback:
                // pageout's PAGE_SUCCESS with PG_writeback set: keep (back to the inactive head) until the write ends.
                Putback(pfn);
                break;
            case FolioReclaimResult.Activate:
                // activate_locked: PG_active set, pgactivate, back on the active list.
                ActivateLockedFolio(pfn);
                HostFrames[pfn].Flags |= FrameFlags.Active;
                _counters.Add(_c.PgActivate, Nr(pfn));
                Putback(pfn);
                break;
            default:
                Putback(pfn);
                break;
        }
    }

    /// <summary>
    /// shrink_folio_list meeting a page under writeback. Case 1: kswapd finds a PG_reclaim page while the node is
    /// flagged PGDAT_WRITEBACK (its last round found only pages under writeback): nr_immediate. Case 2: global reclaim
    /// or cgroup v2 (writeback_throttling_sane), or the page's first encounter (no PG_reclaim yet): PG_reclaim set,
    /// nr_writeback. Both return false (the caller activates the page). Case 3: memcg reclaim under cgroup v1 waits for
    /// the write (folio_wait_writeback) and tries the same page again (true); when the host cannot wait it is case 2.
    /// </summary>
    private bool FolioUnderWriteback(int pfn, ScanControl sc)
    {
        ref FrameFlags fl = ref HostFrames[pfn].Flags;
        if (sc.Kswapd && (fl & FrameFlags.Reclaim) != 0 && sc.PgdatWriteback)
        {
            sc.NrImmediate++;
            return false;
        }
        if (sc.WritebackThrottlingSane || (fl & FrameFlags.Reclaim) == 0)
        {
            fl |= FrameFlags.Reclaim;
            sc.NrWriteback++;
            return false;
        }
        if (_host.WaitOnWriteback(pfn))
            return true;
        sc.NrWriteback++;
        return false;
    }

    /// <summary>
    /// folio_check_references: the PTE young bits (folio_referenced, which clears them) and PG_referenced (test and
    /// clear) are looked at apart. VM_LOCKED → to the unevictable list. Young PTEs: PG_referenced is set, and the page
    /// is activated if it was referenced already or more than one PTE was young, or it is an executable file page;
    /// else kept for another trip round the inactive list. No young PTE: reclaim (a file page that had PG_referenced
    /// only if clean: RECLAIM_CLEAN).
    /// </summary>
    public FolioReferences FolioCheckReferences(int pfn, out bool mlocked)
    {
        if (_lruGen)
            return LruGenCheckReferences(pfn, out mlocked);
        int referencedPtes = _host.FolioReferenced(pfn, out VmFlags vmFlags);
        ref FrameFlags fl = ref HostFrames[pfn].Flags;
        bool referencedFolio = (fl & FrameFlags.Referenced) != 0;
        fl &= ~FrameFlags.Referenced;
        mlocked = (vmFlags & VmFlags.Locked) != 0;
        if (mlocked)
            return FolioReferences.Activate;
        if (referencedPtes > 0)
        {
            fl |= FrameFlags.Referenced;
            if (referencedFolio || referencedPtes > 1)
                return FolioReferences.Activate;
            if ((vmFlags & VmFlags.Exec) != 0 && IsFileLru(pfn))
                return FolioReferences.Activate;
            return FolioReferences.Keep;
        }
        if (referencedFolio && IsFileLru(pfn))
            return FolioReferences.ReclaimClean;
        return FolioReferences.Reclaim;
    }
}

/// <summary>get_scan_count's enum scan_balance.</summary>
public enum ScanBalance
{
    Equal,
    Fract,
    Anon,
    File,
}

/// <summary>struct scan_control (mm/vmscan.c): one reclaim invocation's targets, priority and findings. Reused, never reallocated.</summary>
public sealed class ScanControl
{
    /// <summary>DEF_PRIORITY: the first pass scans 1/4096 of each list.</summary>
    public const int DefPriority = 12;

    public const int DeactivateAnon = 1;
    public const int DeactivateFile = 2;

    public long NrToReclaim;
    public long NrReclaimed;

    /// <summary>Inactive pages isolated (sc-&gt;nr_scanned counts shrink_inactive_list's).</summary>
    public long NrScanned;

    /// <summary>Active pages isolated by shrink_active_list (pgrefill), kept apart for the simulated time of the work.</summary>
    public long NrScannedActive;

    public int Priority = DefPriority;
    public int Swappiness = 60;
    public bool MaySwap = true;

    /// <summary>shrink_slab(gfp, nid, memcg, priority) for the shrinkers EcsMem has (the THP deferred split queue's); null: none.</summary>
    public Func<int, Memcontrol.MemCgroup?, long>? ShrinkSlab;

    /// <summary>sc-&gt;may_writepage: false for kswapd's boosted reclaim (balance_pgdat), which keeps dirty folios rather than write them.</summary>
    public bool MayWritepage = true;
    public bool Kswapd;
    public bool CgroupReclaim;
    public bool ForceDeactivate;
    public bool SkippedDeactivate;
    public bool CacheTrimMode;
    public bool FileIsTiny;
    public int MayDeactivate;
    public long AnonCost, FileCost;

    /// <summary>The balance get_scan_count chose last (for tests and the event trace).</summary>
    public ScanBalance LastBalance;

    /// <summary>The memory controller when the machine has cgroups: shrink_node walks <see cref="Target"/>'s subtree.</summary>
    public Memcontrol.MemcgController? Memcg;

    /// <summary>sc-&gt;target_mem_cgroup (the root cgroup for global reclaim).</summary>
    public Memcontrol.MemCgroup? Target;

    /// <summary>memcg_low_reclaim: groups below memory.low are reclaimed too; memcg_low_skipped: one was passed over.</summary>
    public bool MemcgLowReclaim, MemcgLowSkipped;

    /// <summary>
    /// writeback_throttling_sane: false only for memcg reclaim under cgroup v1, whose reclaim waits on the pages it
    /// finds under writeback instead of throttling (shrink_folio_list's case 3).
    /// </summary>
    public bool WritebackThrottlingSane = true;

    /// <summary>sc-&gt;nr.writeback, sc-&gt;nr.immediate, sc-&gt;nr.taken: pages found under writeback, those marked for immediate reclaim, pages isolated.</summary>
    public long NrWriteback, NrImmediate, NrTaken;

    /// <summary>PGDAT_WRITEBACK as kswapd saw it when its round began (the node's flag lives on the node's lruvec).</summary>
    public bool PgdatWriteback;

    /// <summary>sc-&gt;nr.unqueued_dirty and sc-&gt;nr.file_taken as MGLRU's eviction counts them (try_to_shrink_lruvec wakes the flushers when they are equal).</summary>
    public long NrUnqueuedDirty, NrFileTaken;

    /// <summary>current: the task whose direct reclaim this is (null for kswapd); the lru_shrink events' pid.</summary>
    public Ecs.Entity Task;

    /// <summary>Resets for a new reclaim invocation.</summary>
    public void Reset(bool kswapd, long nrToReclaim, int swappiness)
    {
        NrToReclaim = nrToReclaim;
        NrReclaimed = 0;
        NrScanned = 0;
        NrScannedActive = 0;
        Priority = DefPriority;
        Swappiness = swappiness;
        MaySwap = true;
        MayWritepage = true;
        Kswapd = kswapd;
        CgroupReclaim = false;
        ForceDeactivate = false;
        SkippedDeactivate = false;
        CacheTrimMode = false;
        FileIsTiny = false;
        MayDeactivate = 0;
        Memcg = null;
        Target = null;
        MemcgLowReclaim = false;
        MemcgLowSkipped = false;
        WritebackThrottlingSane = true;
        NrWriteback = 0;
        NrImmediate = 0;
        NrTaken = 0;
        PgdatWriteback = false;
        NrUnqueuedDirty = 0;
        NrFileTaken = 0;
        Task = Ecs.Entity.Null;
    }
}
