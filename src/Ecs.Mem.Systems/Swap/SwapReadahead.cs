using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.Fault;

namespace EcsMem.Systems.Swap;

/// <summary>
/// Swap readahead (mm/swap_state.c swapin_readahead): when a swap-in misses the swap cache, the neighbours of the
/// faulting entry are read into the swap cache too, in the same disk request, without being mapped. A later fault
/// on one of them finds it in the swap cache and is minor; the first such hit of a readahead page counts
/// <c>swap_ra_hit</c> and feeds the window size. Two ways to pick the neighbours, as in Linux:
/// <list type="bullet">
/// <item>by swap offset (swap_cluster_readahead, <c>machine.swap_readahead: cluster</c>, what Linux uses while any
/// rotational swap device is on): the naturally aligned block of <see cref="SwapinNrPages"/> slots around the
/// faulting slot, the window sized from one global hit count;</item>
/// <item>by virtual address (swap_vma_readahead, <c>vma</c>): the swap entries in the PTEs around the faulting
/// address, within its VMA and page-table page, the window sized per VMA.</item>
/// </list>
/// Simplifications (docs/kernel.md): a readahead page is allocated only while free memory stays above the min
/// watermark (it never stalls for direct reclaim; Linux's readahead allocations may reclaim); the batch is one disk
/// request that completes with the faulting page's read (<c>latency.major_fault</c>, no per-page transfer time);
/// the per-VMA window state is keyed by the VMA's start, so it starts afresh when a VMA's start moves.
/// </summary>
public sealed class SwapReadahead : IEventHandler
{
    /// <summary>SWAP_RA_ORDER_CEILING (x86-64): VMA readahead reads at most 2^5 pages.</summary>
    public const int VmaOrderCeiling = 5;

    /// <summary>SWAP_RA_HITS_MAX: the per-VMA hit count saturates here (PAGE_SHIFT / 2 bits).</summary>
    public const int VmaHitsMax = (1 << (Pte.PageShift / 2)) - 1;

    private readonly Kernel.Kernel _k;
    private readonly int _doneKind;
    private readonly bool[] _readahead;                // PG_readahead per frame, for swap-cache pages only
    private readonly bool[] _reclaimHit;               // PG_reclaim already tested and cleared by a hit (TestClearReadahead)
    private readonly Dictionary<(int Mm, ulong Start), VmaRaInfo> _vmaInfo = new();

    // swapin_nr_pages' state (cluster mode): global, as Linux's statics are, and so what earlier processes left
    // (machine.swap_ra_hits / swap_ra_window; boot's 4 hits and no window by default).
    private int _hits;                         // swapin_readahead_hits
    private long _prevOffset;
    private int _lastReadaheadPages;
    // Whether the running readahead loop has read a slot with a bio yet: that read heads its blk plug (ReadPrecedesFault).
    private bool _loopRead;

    /// <summary>vma->swap_readahead_info unpacked: last fault address, window and hits (0/0/4 when never set).</summary>
    private record struct VmaRaInfo(ulong Addr, int Win, int Hits);

    /// <summary>Creates the readahead state of <paramref name="kernel"/> and registers its I/O-completion event.</summary>
    public SwapReadahead(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _readahead = new bool[Math.Max(kernel.Zone.Frames.Length, 1)];
        _reclaimHit = new bool[_readahead.Length];
        _hits = kernel.Options.SwapRaHits;
        _lastReadaheadPages = kernel.Options.SwapRaWindow;
        _prevOffset = kernel.Options.SwapRaPrevOffset;
        _doneKind = env.RegisterEventKind("swap-readahead-complete", this);
    }

    /// <summary>
    /// swapin_nr_pages' statics as they stand (swapin_readahead_hits, prev_offset, last_readahead_pages): global in
    /// Linux, so what a process leaves at its exit is where the next one's first cluster window starts
    /// (<c>machine.swap_ra_hits</c>, <c>swap_ra_prev_offset</c>, <c>swap_ra_window</c>).
    /// </summary>
    public (int Hits, long PrevOffset, int Window) ClusterState => (_hits, _prevOffset, _lastReadaheadPages);

    /// <summary>Whether swap readahead is on at all (page_cluster &gt; 0).</summary>
    public bool Enabled => _k.Options.PageCluster > 0;

    /// <summary>Whether frame <paramref name="pfn"/> holds a readahead page no fault has found yet (PG_readahead).</summary>
    public bool IsReadahead(int pfn) => _readahead[pfn];

    /// <summary>
    /// add_to_swap_cache of a page that is not a readahead page (swap-out, or the faulting page's own read):
    /// clears PG_readahead, which a frame may still carry from an earlier life as an unused readahead page.
    /// </summary>
    public void ClearReadahead(int pfn)
    {
        _readahead[pfn] = false;
        _reclaimHit[pfn] = false;
    }

    /// <summary>
    /// __swapin_nr_pages: the readahead window after a swap-in at <paramref name="offset"/> (a swap offset, or a
    /// page number in VMA mode) with <paramref name="hits"/> readahead hits since the last one at
    /// <paramref name="prevOffset"/>, at most <paramref name="maxPages"/>, never below half the previous window.
    /// </summary>
    public static int SwapinNrPages(long prevOffset, long offset, int hits, int maxPages, int prevWin)
    {
        int pages = hits + 2;
        if (pages == 2)
        {
            // No hits to judge by: read ahead only when this fault is next to the previous one.
            if (offset != prevOffset + 1 && offset != prevOffset - 1)
                pages = 1;
        }
        else
        {
            int roundup = 4;
            while (roundup < pages)
                roundup <<= 1;
            pages = roundup;
        }
        if (pages > maxPages)
            pages = maxPages;
        int lastRa = prevWin / 2; // don't shrink readahead too fast
        return pages < lastRa ? lastRa : pages;
    }

    /// <summary>
    /// swap_cache_get_folio's readahead bookkeeping (swap_update_readahead) for a swap-in fault at
    /// <paramref name="va"/> of VMA [<paramref name="vmaStart"/>, ...) that found frame <paramref name="pfn"/> in the
    /// swap cache: a readahead page counts a hit (<c>swap_ra_hit</c>) once; in VMA mode the VMA remembers this
    /// fault's address and its hit count.
    /// </summary>
    public void CacheHit(SimEnvironment env, int pfn, MmState mm, ulong vmaStart, ulong va)
    {
        bool readahead = TestClearReadahead(pfn);
        if (_k.Options.SwapVmaReadahead)
        {
            VmaRaInfo info = VmaInfo(mm.Id, vmaStart);
            int hits = readahead ? Math.Min(info.Hits + 1, VmaHitsMax) : info.Hits;
            _vmaInfo[(mm.Id, vmaStart)] = new VmaRaInfo(va & Pte.PageMask, info.Win, hits);
        }
        if (readahead)
        {
            env.Counters.Increment(_k.C.SwapRaHit);
            if (!_k.Options.SwapVmaReadahead)
                _hits++;
        }
    }

    /// <summary>
    /// swap_cache_get_folio with no VMA (shmem_swapin_folio's lookup) that found <paramref name="pfn"/>: a readahead page
    /// counts a hit for the cluster window (swapin_readahead_hits) once.
    /// </summary>
    public void CacheHitNoVma(SimEnvironment env, int pfn)
    {
        if (!TestClearReadahead(pfn))
            return;
        env.Counters.Increment(_k.C.SwapRaHit);
        _hits++;
    }

    /// <summary>
    /// folio_test_clear_readahead on a swap-cache page a fault found (swap_update_readahead): PG_readahead is PG_reclaim
    /// (include/linux/page-flags.h: <c>PG_readahead = PG_reclaim</c>), so a page that reclaim is writing out (pageout set
    /// PG_reclaim before the write; folio_end_writeback clears it) tests as a readahead page too: the fault counts a readahead
    /// hit (swap_ra_hit, and swapin_readahead_hits in cluster mode) and clears the bit. Measured on Linux 6.18
    /// (oracle/experiments/swap-ra-state, the statics read from kernel memory): the fill's rseq fault on the TLS page while
    /// reclaim writes it out adds 1 to swapin_readahead_hits in 17 of 36 traced runs of four swap programs (when the write
    /// is still in flight). EcsMem keeps the two flags apart (<see cref="FrameFlags.Reclaim"/>) and asks the writeback by the
    /// write's due time (<see cref="PageWriteback.Writeback.UnderReclaimWriteback"/>: with several CPUs the completion's
    /// dispatch depends on the batch size). With <c>machine.swap_ra_clear_reclaim</c> (Linux's rule, on by default since session 26;
    /// oracle/known-gaps.md's swap-fork-shared row for what it moves) the test clears the one bit: PG_reclaim goes, so folio_end_writeback, which
    /// rotates only a folio that still has it (folio_test_reclaim, then folio_rotate_reclaimable), leaves the page where
    /// it is, and a reclaim scan meeting it under writeback again finds no PG_reclaim (shrink_folio_list sets it anew).
    /// Remaining difference: when another CPU has already run the completion (it was due after this CPU's clock), the
    /// rotation has happened and stays; the hit still counts (one hit per write; not met in the kit: all 28 hits of its
    /// swap programs came while the write was in flight). Off, PG_reclaim stays to the write's end, which rotates the page.
    /// </summary>
    private bool TestClearReadahead(int pfn)
    {
        // With the clear, a page under writeback is judged by its flags (a reclaim scan may set PG_reclaim again after a
        // hit); a write another CPU has already completed, or any write without the clear, counts once (_reclaimHit).
        FrameFlags fl = _k.Zone.Frames[pfn].Flags;
        bool clear = _k.Options.SwapRaClearReclaim;
        bool reclaim = (_k.Writeback is null ? clear : clear && (fl & FrameFlags.Writeback) != 0) || !_reclaimHit[pfn];
        reclaim &= _k.Writeback is { } wb ? wb.UnderReclaimWriteback(pfn, _k.Env.Now) : (fl & FrameFlags.Reclaim) != 0;
        bool set = _readahead[pfn] || reclaim;
        _readahead[pfn] = false;
        _reclaimHit[pfn] |= reclaim;
        if (reclaim && clear)
            _k.Zone.Frames[pfn].Flags &= ~FrameFlags.Reclaim; // PG_readahead is PG_reclaim: folio_test_clear_readahead
        return set;
    }

    /// <summary>
    /// swapin_readahead for <paramref name="rec"/>, a swap-in that missed the swap cache and has just been granted
    /// its frame: reads the window's other swapped-out pages into the swap cache (each a new locked page, counted in
    /// <c>swap_ra</c>, <c>pswpin</c> and <c>pgpgin</c>), completing with the faulting page's read. The faulting page
    /// itself is read by the caller. Returns whether the window was more than one page, so that its lru_add_drain ran
    /// (<see cref="FaultRecord.SwapinDrained"/>).
    /// </summary>
    public bool Readahead(SimEnvironment env, in FaultRecord rec)
    {
        if (!Enabled)
            return false;
        return _k.Options.SwapVmaReadahead ? VmaReadahead(env, rec) : ClusterReadahead(env, rec);
    }

    /// <summary>
    /// Whether swapin_readahead for <paramref name="rec"/> (a swap-in that missed the swap cache) will run inside
    /// blk_start_plug: swap_vma_readahead and swap_cluster_readahead plug around their allocation loop, which
    /// allocates and charges the faulting page too, unless the window is one page (win == 1, mask == 0: the single
    /// read_swap_cache_async, no plug). Computes the window Readahead will, without consuming the hit counts.
    /// </summary>
    public bool WillPlug(in FaultRecord rec) => Window(rec, out _, out _);

    /// <summary>
    /// Whether swap readahead's loop puts a read into its plug before it allocates and charges the faulting page of
    /// <paramref name="rec"/>: the loop runs upwards from the window's start, and a slot below the faulting one that is
    /// in use, not in the swap cache and not in the zeromap is read with a bio first (swap_read_folio; a zeromap slot
    /// is filled without one). blk_add_rq_to_plug compares the plug's first request with BLK_PLUG_FLUSH_SIZE, so a
    /// reclaim that charge enters keeps its writes plugged only behind such a read
    /// (<see cref="PageWriteback.Writeback.HoldPlug"/>). False when the swap-in does not plug.
    /// </summary>
    public bool ReadPrecedesFault(in FaultRecord rec)
    {
        if (!Window(rec, out long start, out long end))
            return false;
        if (!_k.Options.SwapVmaReadahead || rec.Class != FaultClass.SwapRead)
        {
            for (long slot = start; slot < rec.SwapSlot && slot <= end; slot++)
                if (ReadsWithBio((int)slot))
                    return true;
            return false;
        }
        MmState mm = _k.Tasks.MmById(rec.MmId)!;
        for (long p = start; p < end && ((ulong)p << Pte.PageShift) < (rec.Va & Pte.PageMask); p++)
        {
            var pte = new Pte(mm.Tables.Lookup((ulong)p << Pte.PageShift));
            if (pte.IsSwap && ReadsWithBio((int)pte.ToSwapEntry().Offset))
                return true;
        }
        return false;
    }

    /// <summary>Whether __read_swap_cache_async would allocate a page for <paramref name="slot"/> and read it with a bio.</summary>
    private bool ReadsWithBio(int slot) =>
        slot > 0 && slot < _k.Swap.Slots && _k.Swap.Count(slot) > 0 && _k.SwapCache.Lookup(slot) < 0 && !_k.Swap.IsZero(slot);

    /// <summary>
    /// The readahead window of <paramref name="rec"/> as swapin_readahead will compute it, without consuming the hit
    /// counts: slots [start, end] (cluster) or page numbers [start, end) (VMA). False for a one-page window (no plug).
    /// </summary>
    private bool Window(in FaultRecord rec, out long start, out long end)
    {
        start = end = 0;
        if (!Enabled)
            return false;
        if (!_k.Options.SwapVmaReadahead || rec.Class != FaultClass.SwapRead)
        {
            int pages = SwapinNrPages(_prevOffset, rec.SwapSlot, _hits, 1 << _k.Options.PageCluster, _lastReadaheadPages);
            if (pages <= 1)
                return false;
            ClusterWindow(rec.SwapSlot, pages, out start, out end);
            return true;
        }
        MmState? mm = _k.Tasks.MmById(rec.MmId);
        if (mm is null)
            return false;
        int vi = mm.Mm.Vmas.FindVma(rec.Va);
        if (vi < 0 || mm.Mm.Vmas[vi].Start > rec.Va)
            return false;
        VmaRaInfo info = VmaInfo(mm.Id, mm.Mm.Vmas[vi].Start);
        int maxWin = 1 << Math.Min(_k.Options.PageCluster, VmaOrderCeiling);
        int win = SwapinNrPages((long)(info.Addr >> Pte.PageShift), (long)(rec.Va >> Pte.PageShift), info.Hits, maxWin, info.Win);
        if (win == 1)
            return false;
        VmaWindow(mm, vi, rec.Va, info, win, out start, out end);
        return true;
    }

    /// <summary>
    /// swap_cluster_readahead: the aligned block of slots around the faulting one. shmem_swapin_cluster always reads
    /// this way (a shmem object has no PTEs to go by), whichever mode anonymous memory uses.
    /// </summary>
    public bool ClusterReadahead(SimEnvironment env, in FaultRecord rec)
    {
        if (!Enabled)
            return false;
        long offset = rec.SwapSlot;
        int maxPages = 1 << _k.Options.PageCluster;
        // swapin_nr_pages: the hits since the last swap-in are consumed by this one.
        int hits = _hits;
        _hits = 0;
        int pages = SwapinNrPages(_prevOffset, offset, hits, maxPages, _lastReadaheadPages);
        if (hits == 0)
            _prevOffset = offset;
        _lastReadaheadPages = pages;
        if (pages == 1)
            return false;
        ClusterWindow(offset, pages, out long start, out long end);
        _loopRead = false;
        for (long slot = start; slot <= end; slot++)
        {
            if (slot == offset)
            {
                AddFaultingFolioInLoop(rec);
                _loopRead |= !_k.Swap.IsZero((int)offset); // the faulting page's read joins the plug in its place
                continue;
            }
            // Without a VMA to go by, the page's LRU identity is guessed from the slot's distance to the fault's.
            ulong va = rec.Va + (ulong)((slot - offset) * (long)Pte.PageSize);
            if (!ReadSwapCacheAsync(env, rec, (int)slot, va))
                break;
        }
        LruAddDrainAfterReadahead(rec.Cpu);
        return true;
    }

    /// <summary>
    /// swap_cluster_readahead's and swap_vma_readahead's lru_add_drain after their loop ("Push any new pages onto the
    /// LRU now"; skipped with a one-page window): the CPU's lru_add batch, the window's pages with whatever else it
    /// held, reaches the lists, where a memcg's next statistics flush counts it (oracle/experiments/sw200-stack-top).
    /// Linux's loop allocates the faulting page too, in its place (<see cref="AddFaultingFolioInLoop"/>), so it is drained
    /// with them; only a loop cut short before the faulting slot leaves it to the insert after (PageCacheInsertRequest).
    /// </summary>
    private void LruAddDrainAfterReadahead(int cpu) => _k.LruAddDrainCpu(cpu);

    /// <summary>
    /// __read_swap_cache_async for the faulting slot inside swap_cluster_readahead's and swap_vma_readahead's loop
    /// (mm/swap_state.c: the loop runs over the whole window, the faulting entry included, and each new folio goes into
    /// the swap cache and the CPU's lru_add batch in turn; read_swap_cache_async after the loop finds it cached): an
    /// anonymous swap-in's faulting page, already granted and charged, joins the swap cache and the batch between the
    /// window's lower and higher slots, so the window's pages reach the LRU in slot order and reclaim later gives them
    /// swap slots in that order. Measured on Linux 6.18 (oracle/experiments/swap-slots-harness, pagemap at the last
    /// phase_end): the read pass writes <c>buf</c>'s pages 1, 2, 3, 4 to consecutive slots in page order in 30 of 30 runs
    /// of swap-anon-read, memfd-swap-memcg and swap-fork-shared; the fill's phase_end swaps page 1 in with a window of
    /// slots 148–151 that reads pages 2 and 3 ahead, and with the faulting page inserted after the window's drain
    /// EcsMem's pass wrote them 2, 3, 1, 4. Off by default (<c>machine.swapin_fault_in_window</c>: the kit agrees on
    /// one program fewer with it, oracle/known-gaps.md). A shmem swap-in's page (it goes to
    /// its object's page cache, shmem_swapin_folio) and a slot another fault took into the swap cache first are left to
    /// the insert. The read itself is still issued by the insert (PageCacheInsertSystem), which finds the page its own.
    /// </summary>
    private void AddFaultingFolioInLoop(in FaultRecord rec)
    {
        if (!_k.Options.SwapinFaultInWindow || rec.Class != FaultClass.SwapRead || rec.Pfn < 0 || _k.SwapCache.Lookup(rec.SwapSlot) >= 0)
            return;
        AddFaultingFolio(rec);
        _k.Zone.Frames[rec.Pfn].Flags |= FrameFlags.Locked; // PG_locked from the allocation until the read completes
    }

    /// <summary>
    /// The faulting anonymous page of a swap-in that missed the swap cache: into the swap cache (its slot's shadow
    /// refaults: workingset_refault) and the CPU's lru_add batch, its content read from the slot (swap_read_folio).
    /// Returns whether the slot was in the zeromap (no I/O).
    /// </summary>
    public bool AddFaultingFolio(in FaultRecord rec)
    {
        var k = _k;
        ref Frame f = ref k.Zone.Frames[rec.Pfn];
        f.Flags |= FrameFlags.Anon | FrameFlags.SwapBacked | FrameFlags.SwapCache;
        f.Mapping = rec.MmId;
        f.Index = rec.SwapSlot; // page_private: the swap entry while in the swap cache
        bool zero = SwapReadFolio(rec.Pfn, rec.SwapSlot);
        int shadow = k.SwapCache.Add(rec.SwapSlot, rec.Pfn);
        k.Swap.SetCached(rec.SwapSlot, true);
        if (shadow >= 0)
            k.LruvecOf(rec.Pfn)?.WorkingsetRefault(rec.Pfn, shadow);
        k.Zone.LruAdd(rec.Pfn, PageAlloc.Zone.AnonKey(rec.MmId, rec.Va));
        return zero;
    }

    /// <summary>swap_vma_readahead: the swap entries of the PTEs around the faulting address (swap_vma_ra_win).</summary>
    private bool VmaReadahead(SimEnvironment env, in FaultRecord rec)
    {
        MmState mm = _k.Tasks.MmById(rec.MmId)!;
        int vi = mm.Mm.Vmas.FindVma(rec.Va);
        if (vi < 0 || mm.Mm.Vmas[vi].Start > rec.Va)
            return false;
        ulong vmStart = mm.Mm.Vmas[vi].Start;
        int maxWin = 1 << Math.Min(_k.Options.PageCluster, VmaOrderCeiling);
        long fpfn = (long)(rec.Va >> Pte.PageShift);
        VmaRaInfo info = VmaInfo(mm.Id, vmStart);
        long pfn = (long)(info.Addr >> Pte.PageShift);
        int win = SwapinNrPages(pfn, fpfn, info.Hits, maxWin, info.Win);
        _vmaInfo[(mm.Id, vmStart)] = new VmaRaInfo(rec.Va & Pte.PageMask, win, 0);
        if (win == 1)
            return false;
        VmaWindow(mm, vi, rec.Va, info, win, out long start, out long end);
        _loopRead = false;
        for (long p = start; p < end; p++)
        {
            ulong va = (ulong)p << Pte.PageShift;
            if (va == (rec.Va & Pte.PageMask))
            {
                AddFaultingFolioInLoop(rec);
                _loopRead |= !_k.Swap.IsZero(rec.SwapSlot); // the faulting page's read joins the plug in its place
                continue;
            }
            var pte = new Pte(mm.Tables.Lookup(va));
            if (!pte.IsSwap)
                continue;
            if (!ReadSwapCacheAsync(env, rec, (int)pte.ToSwapEntry().Offset, va))
                break;
        }
        LruAddDrainAfterReadahead(rec.Cpu);
        return true;
    }

    /// <summary>
    /// swap_cluster_readahead's window: the <paramref name="pages"/>-aligned block of slots around
    /// <paramref name="offset"/>, [start, end], without slot 0 (the swap header) and within the swap area.
    /// </summary>
    private void ClusterWindow(long offset, int pages, out long start, out long end)
    {
        long mask = pages - 1;
        start = Math.Max(1, offset & ~mask);
        end = Math.Min(offset | mask, _k.Swap.Slots - 1);
    }

    /// <summary>
    /// swap_vma_ra_win's window of <paramref name="win"/> pages around <paramref name="va"/> (page numbers [start,
    /// end)): forwards after a fault on the next page, backwards after one on the previous page, else centred; clipped
    /// to the VMA and to the page-table page (PMD) holding the faulting PTE.
    /// </summary>
    private static void VmaWindow(MmState mm, int vi, ulong va, VmaRaInfo info, int win, out long start, out long end)
    {
        long fpfn = (long)(va >> Pte.PageShift), pfn = (long)(info.Addr >> Pte.PageShift);
        long lpfn, rpfn;
        if (fpfn == pfn + 1)
        {
            lpfn = fpfn;
            rpfn = fpfn + win;
        }
        else if (pfn == fpfn + 1)
        {
            lpfn = fpfn - win + 1;
            rpfn = fpfn + 1;
        }
        else
        {
            long left = (win - 1) / 2;
            lpfn = fpfn - left;
            rpfn = fpfn + win - left;
        }
        ulong pmdSize = 1UL << mm.Mm.Mode.LevelShift(1);
        ulong pmdStart = va & ~(pmdSize - 1);
        ulong vmStart = mm.Mm.Vmas[vi].Start, vmEnd = mm.Mm.Vmas[vi].End;
        start = Math.Max(lpfn, Math.Max((long)(vmStart >> Pte.PageShift), (long)(pmdStart >> Pte.PageShift)));
        end = Math.Min(rpfn, Math.Min((long)(vmEnd >> Pte.PageShift), (long)((pmdStart + pmdSize) >> Pte.PageShift)));
    }

    private VmaRaInfo VmaInfo(int mm, ulong vmStart) =>
        _vmaInfo.TryGetValue((mm, vmStart), out VmaRaInfo v) ? v : new VmaRaInfo(0, 0, 4); // GET_SWAP_RA_VAL: 4 hits to start

    /// <summary>
    /// __read_swap_cache_async + swap_read_folio for one readahead slot: nothing to do when the slot is already in
    /// the swap cache or no PTE refers to it any more; otherwise a new page, locked and pinned until the read
    /// completes, enters the swap cache and the LRU, marked PG_readahead. Returns false when no page could be
    /// allocated without going below the min watermark (the rest of the window is skipped).
    /// </summary>
    private bool ReadSwapCacheAsync(SimEnvironment env, in FaultRecord rec, int slot, ulong va)
    {
        var k = _k;
        if (slot <= 0 || slot >= k.Swap.Slots || k.Swap.Count(slot) == 0 || k.SwapCache.Lookup(slot) >= 0)
            return true;
        // __read_swap_cache_async's mem_cgroup_swapin_charge_folio: charged to the swap entry's group.
        Memcontrol.MemCgroup? memcg = k.Memcg is { } mc ? mc.OfSlot(slot) ?? mc.OfMm(rec.MmId) : null;
        // machine.charge_after_alloc: Linux's folio_alloc_mpol comes before the charge, so the page the charge's
        // reclaim is for is not one that reclaim frees; otherwise (EcsMem's older order) charged first.
        bool chargeFirst = memcg is not null && !k.Options.ChargeAfterAlloc;
        if (chargeFirst)
            k.Memcg!.ChargeOrReclaim(env, memcg!, rec.Process, rec.Cpu, plugged: true, plugHeadRead: _loopRead); // inside swap readahead's plug
        long free = k.Zone.Buddy.NrFreePages;
        if (k.Zone.Watermarks.BelowLow(free))
            env.Work<Vmscan.KswapdWakeup>().Add(default);
        if (k.Zone.MustStall(free, needsFrame: true))
        {
            if (chargeFirst) k.Memcg!.Uncharge(memcg!, 1);
            return false;
        }
        int pfn = k.Zone.AllocFrame(rec.Cpu);
        if (pfn < 0)
        {
            if (chargeFirst) k.Memcg!.Uncharge(memcg!, 1);
            return false;
        }
        if (memcg is not null && !chargeFirst)
            k.Memcg!.ChargeOrReclaim(env, memcg, rec.Process, rec.Cpu, plugged: true, plugHeadRead: _loopRead); // the new page is off every list meanwhile
        if (memcg is not null)
            k.Memcg!.CommitCharge(pfn, memcg);
        k.Dirty?.Frame(pfn);
        ref Frame f = ref k.Zone.Frames[pfn];
        f.Flags |= FrameFlags.Anon | FrameFlags.SwapBacked | FrameFlags.SwapCache | FrameFlags.Locked;
        f.Mapping = rec.MmId;
        f.Index = slot; // page_private: the swap entry
        bool zero = SwapReadFolio(pfn, slot);
        _loopRead |= !zero;
        int shadow = k.SwapCache.Add(slot, pfn);
        k.Swap.SetCached(slot, true);
        if (shadow >= 0)
            k.LruvecOf(pfn)?.WorkingsetRefault(pfn, shadow);
        k.Zone.LruAdd(pfn, PageAlloc.Zone.AnonKey(rec.MmId, va));
        k.Zone.PinFrame(pfn); // held by the read until it completes (reclaim skips it)
        _readahead[pfn] = true;
        env.Counters.Increment(k.C.SwapRa);
        // The read is issued by the faulting task (current), a thread of a threaded process too: its pid, not the mm's tgid.
        k.Events?.ReadAhead(k.World.IsAlive(rec.Process) ? k.World.Get<Process>(rec.Process).Pid : 0, rec.Cpu, va, pfn, -1, slot);
        // A zeromap slot is filled with zeros and marked uptodate at once (no bio): its page unlocks next.
        env.Schedule(zero ? 1UL : (ulong)k.Timing.MajorFaultReadCycles, new SimEvent(_doneKind, default, pfn));
        return true;
    }

    /// <summary>
    /// swap_read_folio for the new swap-cache page <paramref name="pfn"/> of <paramref name="slot"/>: a slot in the
    /// zeromap (swap_read_folio_zeromap, 6.12+) fills the page with zeros without I/O (swpin_zero; the page is
    /// <see cref="FrameFlags.ZeroFilled"/>); any other is read from the disk (pswpin, pgpgin). Returns true for the
    /// zeromap case, whose page is uptodate at once. A fault that needed it still counts as a major fault
    /// (do_swap_page sets VM_FAULT_MAJOR when the swap cache missed, before the read).
    /// </summary>
    public bool SwapReadFolio(int pfn, int slot)
    {
        var k = _k;
        ref Frame f = ref k.Zone.Frames[pfn];
        f.ContentToken = k.Swap.Read(slot);
        if (k.Swap.IsZero(slot))
        {
            f.Flags |= FrameFlags.ZeroFilled;
            k.Env.Counters.Increment(k.C.SwpinZero);
            return true;
        }
        f.Flags &= ~FrameFlags.ZeroFilled;
        k.Env.Counters.Increment(k.C.PswpIn);
        k.Env.Counters.Add(k.C.PgPgIn, (long)(Pte.PageSize / 1024));
        return false;
    }

    /// <summary>A readahead page's read completed: unlock it, wake the faults waiting for it, drop the read's hold.</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        var k = _k;
        int pfn = (int)ev.Arg0;
        k.Dirty?.Frame(pfn);
        k.Zone.Frames[pfn].Flags &= ~FrameFlags.Locked;
        k.PageWaits.WakeUpPageWaiters(env, pfn);
        k.Zone.UnpinFrame(pfn);
        // Its swap entry may have been dropped meanwhile (the owner exited): then the page is garbage.
        k.Memory.ReleaseIfUnused(pfn);
    }
}
