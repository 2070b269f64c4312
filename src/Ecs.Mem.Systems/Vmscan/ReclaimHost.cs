using System.Runtime.InteropServices;
using EcsMem.Components;
using EcsMem.Simulation;

namespace EcsMem.Systems.Vmscan;

/// <summary>
/// The machine's side of reclaim for one page, shared by the Linux lruvec (<see cref="ILruvecHost"/>) and the
/// simple policies' scan in <see cref="SwapOutSystem"/>: the rmap walk over the PTE young bits (folio_referenced)
/// and the unmap, swap-out or write-back, and release of a victim (the tail of shrink_folio_list).
/// </summary>
public sealed class ReclaimHost : ILruvecHost
{
    private readonly Kernel.Kernel _k;
    // The scratch copy of a page's reverse map. Loops walk it as a span (CollectionsMarshal.AsSpan): nothing changes
    // the list while they run, and List's enumerator struct cost a store-forwarding stall on every loop's entry.
    private readonly List<(int Mm, ulong Va)> _maps = new();

    public ReclaimHost(Kernel.Kernel kernel)
    {
        _k = kernel;
        // machine.reclaim_cost in cycles of the simulated clock.
        double ghz = kernel.Options.Timing.ClockGHz;
        var rc = kernel.Options.ReclaimCost;
        long C(long ns) => (long)Math.Round(ns * ghz);
        _callCycles = C(rc.CallNs);
        _batchCycles = C(rc.BatchNs);
        _isolateCycles = C(rc.IsolateNs);
        _activeCycles = C(rc.ActiveNs);
        _keepCycles = C(rc.KeepNs);
        _freeCycles = C(rc.FreeNs);
        _writeCycles = C(rc.WriteNs);
        _shmemWriteCycles = C(rc.ShmemWriteNs);
    }

    private readonly long _callCycles, _batchCycles, _isolateCycles, _activeCycles, _keepCycles, _freeCycles, _writeCycles, _shmemWriteCycles;

    /// <summary>The current shrink_folio_list call's folios freed or written so far, and their cycles.</summary>
    private int _pendingFolios;
    private long _pendingCycles;

    /// <summary>The CPU the current reclaim pass runs on (the stalled task's for direct reclaim, 0 for kswapd).</summary>
    public int Cpu { get; set; }

    public void LruShrinkTrace(bool active, bool file, ScanControl sc, long scanned, long moved)
    {
        if (_k.Events is { VmscanCalls: true } ev)
            ev.LruShrink(active, file, sc.Priority, scanned, moved, !sc.Kswapd, Cpu, sc.Task);
    }

    public Frame[] Frames => _k.Zone.Frames;

    public int CurrentCpu => _k.Tlb.CurrentCpu;

    public bool IsPinned(int pfn) => _k.Zone.Pins[pfn] > 0;

    /// <summary>lru_add_drain_cpu's lru_lazyfree batch (the kernel's per-CPU batches).</summary>
    public void LruAddDrainOtherBatches(int cpu) => _k.FolioBatches?.DrainCpu(cpu);

    public bool SwapSpaceLeft => _k.Swap.FreePages > 0;

    /// <summary>can_reclaim_anon_pages(memcg): the lruvec's group may still swap (mem_cgroup_get_nr_swap_pages &gt; 0).</summary>
    public bool CanReclaimAnonPages(Lruvec lruvec) => _k.MemCgroupNrSwapPages(lruvec.Memcg) > 0;

    public bool HasSwap => _k.Swap.UsablePages > 0;

    /// <summary>jiffies at HZ = <see cref="Memcontrol.MemcgController.Hz"/> from the simulated clock (the memcg stats flush period).</summary>
    public ulong Jiffies => _k.Env.Now / (ulong)Math.Max(1, Math.Round(_k.Options.Timing.ClockGHz * 1e9 / Memcontrol.MemcgController.Hz));

    public long FreePages => _k.Zone.Buddy.NrFreePages;

    public long HighWatermark => _k.Zone.Watermarks.High;

    /// <summary>
    /// folio_referenced: test-and-clear the accessed bit of every PTE mapping the frame (ptep_clear_flush_young also
    /// drops the TLB entry, so the next access walks and sets it again). Counts the young PTEs and gathers the
    /// flags of their VMAs; a VM_LOCKED VMA mapping the page stops the walk with <see cref="VmFlags.Locked"/>.
    /// </summary>
    public int FolioReferenced(int pfn, out VmFlags vmFlags)
    {
        var k = _k;
        Frame[] frames = k.Zone.Frames;
        if (frames[pfn].FolioOrder != 0)
            return LargeFolioReferenced(Filemap.PageCacheFolio.Head(frames, pfn), Filemap.PageCacheFolio.NrPages(frames, pfn), out vmFlags);
        if ((frames[pfn].Flags & FrameFlags.Thp) != 0)
            return LargeFolioReferenced(HugeMemory.HugeMemory.HeadOf(pfn), HugeMemory.HugeMemory.PmdPages, out vmFlags);
        k.Rmap.CopyTo(pfn, _maps);
        int young = 0;
        vmFlags = VmFlags.None;
        foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
        {
            MmState mm = k.Tasks.MmById(mmId)!;
            AddressSpace.VmaSet vmas = mm.Mm.Vmas;
            // The VMA is looked up for its VM_LOCKED test only when the mm has a locked area at all; otherwise only
            // a young PTE's VMA is wanted (for its flags), and the lookup waits for that.
            VmFlags flags = VmFlags.None;
            bool looked = vmas.LockedCount != 0;
            if (looked)
            {
                flags = vmas.FlagsAt(va);
                if ((flags & VmFlags.Locked) != 0)
                {
                    k.Zone.Unevictable[pfn] = true;
                    vmFlags = VmFlags.Locked;
                    return 1;
                }
            }
            if (k.PtepTestAndClearYoung(mm, va) != 0)
            {
                k.Tlb.FlushTlbPage(mm.Tlb, va);
                young++;
                if (!looked)
                    flags = vmas.FlagsAt(va);
                vmFlags |= flags & ~VmFlags.Locked;
            }
        }
        return young;
    }

    /// <summary>
    /// folio_referenced of a large folio (a page-cache folio of order 1–9, or a PMD-sized THP): the rmap walk visits
    /// each VMA mapping the folio once (folio_referenced_one walks all the folio's entries in it: its PTEs, or the PMD
    /// through pmdp_clear_flush_young), so what comes back is the number of mappings in which some entry of the folio
    /// was young (pra-&gt;referenced++ once per VMA), not the number of young entries; every young bit is cleared on
    /// the way. A PMD mapping is flushed once (its 512 entries stand for one 2 MiB translation). A VM_LOCKED mapping
    /// stops the walk and marks every page unevictable.
    /// </summary>
    private int LargeFolioReferenced(int head, int nr, out VmFlags vmFlags)
    {
        var k = _k;
        vmFlags = VmFlags.None;
        _youngVmas.Clear();
        _pmdsSeen.Clear();
        for (int p = head; p < head + nr; p++)
        {
            k.Rmap.CopyTo(p, _maps);
            foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
            {
                MmState mm = k.Tasks.MmById(mmId)!;
                int vi = mm.Mm.VmaLookup(va);
                VmFlags flags = vi >= 0 ? mm.Mm.Vmas.FlagsOf(vi) : VmFlags.None;
                if ((flags & VmFlags.Locked) != 0)
                {
                    for (int q = head; q < head + nr; q++)
                        k.Zone.Unevictable[q] = true;
                    vmFlags = VmFlags.Locked;
                    return 1;
                }
                ulong pte = k.PtepTestAndClearYoung(mm, va);
                if (pte == 0)
                    continue;
                if (Pte.IsPmdMapped(pte))
                {
                    ulong haddr = va & HugeMemory.HugeMemory.PmdMask;
                    if (!_pmdsSeen.Contains((mmId, haddr)))
                    {
                        _pmdsSeen.Add((mmId, haddr));
                        k.Tlb.FlushTlbPage(mm.Tlb, va);
                    }
                }
                else
                    k.Tlb.FlushTlbPage(mm.Tlb, va);
                ulong vmaStart = vi >= 0 ? mm.Mm.Vmas.StartOf(vi) : va;
                if (!_youngVmas.Contains((mmId, vmaStart)))
                    _youngVmas.Add((mmId, vmaStart));
                vmFlags |= flags & ~VmFlags.Locked;
            }
        }
        return _youngVmas.Count;
    }

    private readonly List<(int Mm, ulong Haddr)> _pmdsSeen = new();

    private readonly List<(int Mm, ulong VmaStart)> _youngVmas = new();

    /// <summary>page_referenced as the simple policies use it: was any PTE young (the bits are cleared)?</summary>
    public bool PageReferenced(int pfn)
    {
        var k = _k;
        k.Rmap.CopyTo(pfn, _maps);
        bool young = false;
        foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
        {
            MmState mm = k.Tasks.MmById(mmId)!;
            if (k.PtepTestAndClearYoung(mm, va) != 0)
            {
                k.Tlb.FlushTlbPage(mm.Tlb, va);
                young = true;
            }
        }
        return young;
    }

    /// <summary>shrink_folio_list's activate_locked: a kept swap-cache page gives its slot back once swap, or its group's memory.swap.max, is half used (mem_cgroup_swap_full).</summary>
    public void ActivateLocked(int pfn)
    {
        if (_k.MemCgroupSwapFull(pfn))
            _k.Memory.FreeSwapCacheOf(pfn);
    }

    /// <summary>The lruvec's reclaim of one folio; a dirty file page that had only PG_referenced (RECLAIM_CLEAN) is kept.</summary>
    public FolioReclaimResult ReclaimFolio(int pfn, FolioReferences references, out bool pageout)
    {
        pageout = false;
        ref Frame f = ref _k.Zone.Frames[pfn];
        if (f.FolioOrder != 0)
        {
            ReclaimedFolioPages = 1;
            // A page of the folio held by a fault or I/O: the folio's reference count cannot be frozen, it stays.
            int head = Filemap.PageCacheFolio.Head(_k.Zone.Frames, pfn), nr = Filemap.PageCacheFolio.NrPages(_k.Zone.Frames, pfn);
            for (int p = head; p < head + nr; p++)
            {
                if (_k.Zone.Pins[p] > 0)
                    return FolioReclaimResult.Keep;
            }
            // Simplification (docs/kernel.md): a dirty large folio, or one under writeback, is split and its head goes
            // on alone as a single page; Linux writes and reclaims it whole.
            for (int p = head; p < head + nr; p++)
            {
                if ((_k.Zone.Frames[p].Flags & FrameFlags.Writeback) != 0 || IsDirty(p))
                {
                    Filemap.PageCacheFolio.Split(_k, head);
                    break;
                }
            }
        }
        if (references == FolioReferences.ReclaimClean && !f.IsAnon && IsDirty(pfn))
            return FolioReclaimResult.Keep;
        if (_k.Flusher is { } flusher && !f.IsAnon && !f.IsShmem && f.Mapping >= 0 && IsDirty(pfn))
            return DirtyFileFolio(flusher, pfn);
        bool shmem = f.IsShmem;
        int outcome = ShrinkPage(_k.Env, pfn, out pageout, _k.Writeback);
        if (outcome == 1)
            _freeFolios++; // folio_batch_add(&free_folios, folio)
        if (_k.Writeback is not null && (pageout || outcome == 1))
        {
            // Charged when the call ends (ShrinkFolioListTime), once every folio is back on a list.
            _pendingFolios++;
            _pendingCycles += pageout ? (shmem ? _shmemWriteCycles : _writeCycles) : _freeCycles;
        }
        return outcome switch
        {
            1 => FolioReclaimResult.Reclaimed,
            2 => FolioReclaimResult.Writeback,
            3 => FolioReclaimResult.Keep,
            -2 => FolioReclaimResult.Mlocked,
            _ => FolioReclaimResult.Activate, // no swap slot (add_to_swap failed), or a lazily freed page written again
        };
    }

    /// <summary>
    /// try_to_unmap's VM_LOCKED test (mlock_vma_folio): copies the page's reverse map into the scratch list and, when a
    /// VM_LOCKED area maps the page, marks it unevictable. The caller's later loops reuse the copied map.
    /// </summary>
    private bool MappedByLockedVma(int pfn)
    {
        var k = _k;
        k.Rmap.CopyTo(pfn, _maps);
        foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
        {
            var owner = k.Tasks.MmById(mmId)!.Mm;
            if (owner.Vmas.LockedCount == 0)
                continue; // no VM_LOCKED area in this mm: nothing to look up
            if ((owner.Vmas.FlagsAt(va) & VmFlags.Locked) != 0)
            {
                k.Zone.Unevictable[pfn] = true;
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// A dirty page-cache page in shrink_folio_list (Linux 6.18): try_to_unmap first (the PTEs' dirty bits move to the
    /// folio when the rewrite clears them at the end of the tick), then, because reclaim no longer writes filesystem
    /// folios (pageout returns PAGE_ACTIVATE for them, and only kswapd would even try), PG_reclaim is set,
    /// nr_vmscan_immediate_reclaim counted and the page activated; the flusher writes it, and folio_end_writeback
    /// rotates it to the inactive tail for the next scan. A VM_LOCKED mapping sends it to the unevictable list instead.
    /// </summary>
    private FolioReclaimResult DirtyFileFolio(PageWriteback.Flusher flusher, int pfn)
    {
        var k = _k;
        if (MappedByLockedVma(pfn))
            return FolioReclaimResult.Mlocked;
        foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
            k.Env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, pfn, 0, Cpu));
        flusher.FolioMarkDirty(pfn);
        k.Zone.Frames[pfn].Flags |= FrameFlags.Reclaim;
        k.Env.Counters.Increment(k.Writeback!.NrVmscanImmediate);
        return FolioReclaimResult.Activate;
    }

    /// <summary>folio_check_dirty_writeback: a file page (not anon, not shmem) that is dirty and not under writeback.</summary>
    public bool FolioDirtyFile(int pfn)
    {
        ref Frame f = ref _k.Zone.Frames[pfn];
        return _k.Flusher is not null && !f.IsAnon && !f.IsShmem && f.Mapping >= 0 && (f.Flags & FrameFlags.Writeback) == 0 && IsDirty(pfn);
    }

    /// <summary>
    /// shrink_folio_list's pageout of a dirty page-cache folio, which reclaim does itself when there are no flusher
    /// threads (<c>writeback: sync</c>); with them a dirty file folio is activated before may_writepage is looked at.
    /// </summary>
    public bool FolioNeedsPageout(int pfn)
    {
        ref Frame f = ref _k.Zone.Frames[pfn];
        return _k.Flusher is null && !f.IsAnon && !f.IsShmem && f.Mapping >= 0 && IsDirty(pfn);
    }

    /// <summary>wakeup_flusher_threads(WB_REASON_VMSCAN).</summary>
    public void WakeupFlusherThreads() => _k.Flusher?.WakeupFlusherThreads();

    /// <summary>
    /// reclaim_throttle(pgdat, VMSCAN_THROTTLE_WRITEBACK) of a cgroup v1 memcg reclaimer: the flusher it just woke
    /// runs meanwhile on another CPU (its wb_workfn queues the dirty pages for I/O now), and the reclaimer sleeps until
    /// its writes start completing (<see cref="PageWriteback.Writeback.ReclaimThrottleWriteback"/>).
    /// </summary>
    public void ReclaimThrottleWriteback()
    {
        if (_k.Writeback is not { } wb)
            return;
        _k.Flusher?.RunKickedWork();
        wb.ReclaimThrottleWriteback();
    }

    /// <summary>Async writeback: a flusher cleans dirty file pages (MGLRU's sort_folio leaves them to it).</summary>
    public bool WritebackAsync => _k.Flusher is not null;

    /// <summary>folio_wait_writeback for cgroup v1 memcg reclaim (see <see cref="PageWriteback.Writeback.WaitOnWriteback"/>).</summary>
    public bool WaitOnWriteback(int pfn) => _k.Writeback?.WaitOnWriteback(pfn) ?? false;

    /// <summary>
    /// isolate_lru_folios' time for <paramref name="pages"/> pages (machine.reclaim_cost.isolate_ns); writes completed
    /// by then end (see <see cref="PageWriteback.Writeback.Progress"/>).
    /// </summary>
    public void WritebackProgress(int pages) => Progress(_isolateCycles * pages);

    /// <summary>
    /// A reclaim call's fixed time (try_to_free_mem_cgroup_pages, do_try_to_free_pages or a kswapd round up to its
    /// first isolation; machine.reclaim_cost.call_ns).
    /// </summary>
    public void ReclaimCallTime() => Progress(_callCycles);

    /// <summary>
    /// A direct reclaim pass that reclaimed nothing still took its time: the call's (machine.reclaim_cost.call_ns) and,
    /// for each of the <paramref name="scanned"/> pages it looked at and kept, isolate_ns + keep_ns. With async
    /// writeback the pass charged these as it went; the synchronous model charges reclaim no time, so here the clock
    /// advances by them: the allocator's retries (should_reclaim_retry) then pass in simulated time, and kswapd's
    /// events come due meanwhile.
    /// </summary>
    public void FruitlessPassTime(long scanned)
    {
        if (_k.Writeback is not null)
            return;
        long c = _callCycles + (scanned * (_isolateCycles + _keepCycles));
        if (c <= 0)
            return;
        _k.Env.Clock.Advance((ulong)c);
        _k.Cycles.Charge(Timing.CycleCategory.Kernel, c);
    }

    /// <summary>
    /// shrink_folio_list's time for the <paramref name="folios"/> folios handled since the last call: each written
    /// (write_ns or shmem_write_ns) or freed (free_ns), each other one kept, activated or put back (keep_ns), and at the
    /// call's end (<paramref name="batch"/>) its own time (batch_ns). Charged when the folios are back on a list, so a
    /// write that completes meanwhile never meets an isolated folio (a split THP's pages are charged one by one).
    /// </summary>
    public void ShrinkFolioListTime(int folios, bool batch)
    {
        long c = (batch ? _batchCycles : 0) + _pendingCycles + _keepCycles * Math.Max(folios - _pendingFolios, 0);
        _pendingFolios = 0;
        _pendingCycles = 0;
        Progress(c);
    }

    /// <summary>shrink_active_list's time for the <paramref name="folios"/> folios it took (machine.reclaim_cost.active_ns).</summary>
    public void ShrinkActiveListTime(int folios) => Progress(_activeCycles * folios);

    /// <summary>
    /// Reclaim's CPU time <paramref name="c"/> passes (the async writeback model's clock): the writes and the readahead
    /// reads the disk completed meanwhile end now, as their completion interrupts the reclaimer.
    /// </summary>
    private void Progress(long c)
    {
        if (_k.Writeback is not { } wb)
            return;
        wb.Progress(c);
        _k.Readahead.EndReadsCompletedBy(_k.Env.Now);
    }

    /// <summary>PAGEVEC_SIZE: the folios a folio_batch holds (shrink_folio_list's free_folios).</summary>
    public const int PagevecSize = 31;

    // The folios the current shrink_folio_list call freed since its free_folios batch was last handed back.
    private int _freeFolios;

    /// <summary>
    /// shrink_folio_list's free_folios (mm/vmscan.c): when the batch is full (<paramref name="full"/>: PAGEVEC_SIZE
    /// folios) or the call ends, its folios are uncharged, their PTEs flushed and their frames freed
    /// (mem_cgroup_uncharge_folios, try_to_unmap_flush, free_unref_folios) on the reclaimer's CPU, in the order they were
    /// freed, so the last one is at the head of its per-CPU list. With machine.reclaim_free_batch false (or no machine)
    /// they wait for the tick's end.
    /// </summary>
    public void FreeFolios(bool full)
    {
        if (full && _freeFolios < PagevecSize)
            return;
        _freeFolios = 0;
        if (!_k.Options.ReclaimFreeBatch || _k.PageTableRewrite is not { } rewrite)
            return;
        rewrite.RunBatch(_k.Env);
    }

    /// <summary>Frames reclaim queued this tick that are not free yet (all of them when they wait for the tick's end).</summary>
    public long PendingReleases => _k.PageTableRewrite?.PendingReleases(_k.Env) ?? _k.Env.WorkCount<FrameRelease>();

    /// <summary>The writes of this shrink_folio_list call go to the disk as one request.</summary>
    public void WritebackUnplug() => _k.Writeback?.Unplug();

    /// <summary>blk_start_plug around shrink_lruvec's loop (<see cref="PageWriteback.Writeback.BlkStartPlug"/>).</summary>
    public void BlkStartPlug() => _k.Writeback?.BlkStartPlug();

    /// <summary>blk_finish_plug at the end of shrink_lruvec's loop.</summary>
    public void BlkFinishPlug() => _k.Writeback?.BlkFinishPlug();

    private bool IsDirty(int pfn)
    {
        bool dirty = (_k.Zone.Frames[pfn].Flags & FrameFlags.Dirty) != 0;
        _k.Rmap.CopyTo(pfn, _maps);
        foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
            dirty |= (_k.Tasks.MmById(mmId)!.Tables.Lookup(va) & Pte.DirtyBit) != 0;
        return dirty;
    }

    /// <summary>
    /// shrink_folio_list for a clean, unpinned large page-cache folio: try_to_unmap clears the PTEs of all its pages (at
    /// the end of the tick), and __remove_mapping takes it out of the page cache whole, leaving one shadow in each of
    /// its slots (the lruvec stores it); its pages go back to the allocator. A VM_LOCKED mapping of any page sends the
    /// folio to the unevictable list (-2). Returns 1 with <see cref="ReclaimedFolioPages"/> its folio_nr_pages.
    /// </summary>
    private int ShrinkCleanFileFolio(SimEnvironment env, int pfn)
    {
        var k = _k;
        Frame[] frames = k.Zone.Frames;
        int head = Filemap.PageCacheFolio.Head(frames, pfn), nr = Filemap.PageCacheFolio.NrPages(frames, pfn);
        for (int p = head; p < head + nr; p++)
        {
            if (MappedByLockedVma(p))
            {
                for (int q = head; q < head + nr; q++)
                    k.Zone.Unevictable[q] = true;
                return -2;
            }
        }
        for (int p = head; p < head + nr; p++)
        {
            k.Rmap.CopyTo(p, _maps);
            foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, p, 0, Cpu));
        }
        k.Zone.LruDel(head); // the folio's one entry; PG_lru cleared on every page
        for (int p = head; p < head + nr; p++)
        {
            k.Zone.PinFrame(p);
            env.Work<FrameRelease>().Add(new FrameRelease(p));
        }
        ReclaimedFolioPages = nr;
        return 1;
    }

    /// <summary>Pages the last <see cref="ShrinkPage"/> reclaimed: 512 when it swapped a THP out whole, else 1.</summary>
    public int ReclaimedFolioPages { get; private set; } = 1;

    /// <summary>
    /// A page isolated in the same batch as a THP <see cref="SwapOutThp"/> took out whole: off the LRU (PG_lru cleared)
    /// and held until its release at the end of the tick.
    /// </summary>
    public bool GoneWithFolio(int pfn) => (_k.Zone.Frames[pfn].Flags & FrameFlags.Lru) == 0 && _k.Zone.Pins[pfn] > 0;

    /// <summary>
    /// shrink_folio_list for a PMD-sized anonymous folio with CONFIG_THP_SWAP (x86-64's default). A folio on the
    /// deferred split queue (partly mapped) is split at once, without a swap attempt. Otherwise folio_alloc_swap asks
    /// for an order-9 entry: a whole free cluster, which only a block device gives (a swap file refuses large entries,
    /// SWP_BLKDEV; measured on this kernel: a 1 GiB swap file gives thp_swpout_fallback for every THP reclaimed, a loop
    /// device thp_swpout), and the memcg must take the 512 slots' swap charge at once. Failing either, the folio is split
    /// and reclaim goes on with the one page (thp_swpout_fallback; the caller splits). Success: try_to_unmap with
    /// TTU_SPLIT_HUGE_PMD turns each PMD into 512 PTEs holding the folio's swap entries (thp_split_pmd), pageout writes
    /// the folio as one (thp_swpout, pswpout 512), and the folio leaves the swap cache whole. Returns whether it did.
    /// With <c>writeback: async</c> the 512 pages go to the disk as one request and the folio stays whole, resident and
    /// charged under PG_writeback in the swap cache; once written, the next reclaim that meets it frees it whole
    /// (<see cref="ReleaseSwapCachedThp"/>).
    /// </summary>
    private bool SwapOutThp(SimEnvironment env, int pfn, PageWriteback.Writeback? writeback)
    {
        var k = _k;
        Frame[] frames = k.Zone.Frames;
        int head = HugeMemory.HugeMemory.HeadOf(pfn);
        const FrameFlags Want = FrameFlags.Thp | FrameFlags.Anon | FrameFlags.SwapBacked;
        if ((frames[head].Flags & FrameFlags.DeferredSplit) != 0)
            return false;
        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
        {
            ref Frame sub = ref frames[head + i];
            // A lazily freed (MADV_FREE) or partly swap-cached folio, or a page held by I/O or an install: not a whole
            // swap-backed folio to write, so it goes the old way (split).
            if ((sub.Flags & (Want | FrameFlags.SwapCache)) != Want || (head + i != pfn && k.Zone.Pins[head + i] > 0))
                return false;
        }
        int first = k.Options.SwapBlockDevice ? k.Swap.GetSwapCluster() : 0;
        if (first != 0 && k.Memcg is { } mc)
        {
            // mem_cgroup_try_charge_swap for nr_pages: all of them or none (the slots go back, which uncharges).
            for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
            {
                if (mc.TryChargeSwap(head + i, first + i))
                    continue;
                for (int j = 0; j < HugeMemory.HugeMemory.PmdPages; j++)
                    k.Swap.SetCached(first + j, false);
                first = 0;
                break;
            }
        }
        if (first == 0)
        {
            env.Counters.Increment(k.C.ThpSwpoutFallback);
            k.Thp.SwpoutFallback[HugeMemory.HugeMemory.PmdOrder]++;
            return false;
        }
        // try_to_unmap's TTU_SPLIT_HUGE_PMD: every PMD mapping the folio becomes a page table of 512 entries.
        k.Rmap.CopyTo(head, _maps);
        foreach (var (mmId, va) in _maps)
        {
            if (k.Tasks.MmById(mmId) is { } mm)
                k.Thp.SplitPmd(mm, va);
        }
        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
        {
            int p = head + i, slot = first + i;
            ref Frame sub = ref frames[p];
            k.Rmap.CopyTo(p, _maps);
            k.Dirty?.Frame(p);
            k.SwapCache.Add(slot, p);
            k.SwapReadahead.ClearReadahead(p);
            sub.Flags = (sub.Flags | FrameFlags.SwapCache) & ~FrameFlags.Dirty;
            sub.Index = slot;
            k.Swap.Write(slot, sub.ContentToken);
            if (k.Events is { } ev)
                ev.SwapOut(p, slot, Cpu, _maps.Count > 0 ? _maps[0].Mm : -1, _maps.Count > 0 ? _maps[0].Va : 0);
            ulong swapPte = new SwapEntry(0, (ulong)slot).ToPteValue();
            // pte_swp_mkexclusive as for a single page: one mapping that no fork shares.
            if (_maps.Count == 1 && (k.Tasks.MmById(_maps[0].Mm)!.Tables.Lookup(_maps[0].Va) & Pte.CowBit) == 0)
                swapPte |= Pte.SwpExclusiveBit;
            foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, p, swapPte, Cpu));
            if (writeback is not null)
            {
                // As for a single page under async writeback: clean PTEs (their rewrite comes at the end of the tick),
                // the page in flight and resident until the request completes.
                foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
                {
                    MmState owner = k.Tasks.MmById(mmId)!;
                    ref ulong pte = ref owner.Tables.Walk(va, out _);
                    if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref pte) && (pte & Pte.DirtyBit) != 0)
                    {
                        k.Dirty?.Pte(owner, va, pte);
                        pte &= ~Pte.DirtyBit;
                    }
                }
                writeback.StartWriteback(p);
                continue;
            }
            k.Zone.LruDel(p);
            sub.Flags &= ~FrameFlags.Lru;
            k.Zone.PinFrame(p);
            env.Work<FrameRelease>().Add(new FrameRelease(p));
        }
        env.Counters.Add(k.C.PswpOut, HugeMemory.HugeMemory.PmdPages);
        env.Counters.Add(k.C.PgPgOut, HugeMemory.HugeMemory.PmdPages * (long)(Pte.PageSize / 1024));
        env.Counters.Increment(k.C.ThpSwpout);
        k.Thp.Swpout[HugeMemory.HugeMemory.PmdOrder]++;
        // One bio for the folio: one request of 512 pages (DiskWriteCycles), where a split folio pays a write a page.
        // An asynchronous write costs reclaim only its submission; the disk's time is the request's.
        if (writeback is null)
            k.Cycles.Charge(Timing.CycleCategory.Reclaim, k.Timing.DiskWriteCycles(HugeMemory.HugeMemory.PmdPages));
        return true;
    }

    /// <summary>
    /// shrink_folio_list → try_to_unmap, __remove_mapping for a THP swapped out whole whose write completed: every page
    /// in the swap cache, clean, not under writeback nor held: a page still mapped is unmapped to its swap entry
    /// (<see cref="UnmapToSwapEntry"/>), and the folio leaves the swap cache and is freed at once (its 512 pages
    /// reclaimed together; each slot keeps the folio's shadow). Anything else returns false: the folio stays whole.
    /// </summary>
    private bool ReleaseSwapCachedThp(SimEnvironment env, int pfn)
    {
        var k = _k;
        Frame[] frames = k.Zone.Frames;
        int head = HugeMemory.HugeMemory.HeadOf(pfn);
        const FrameFlags Want = FrameFlags.Thp | FrameFlags.SwapCache | FrameFlags.Lru;
        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
        {
            ref Frame sub = ref frames[head + i];
            if ((sub.Flags & (Want | FrameFlags.Writeback | FrameFlags.Dirty)) != Want
                || (head + i != pfn && k.Zone.Pins[head + i] > 0))
                return false;
        }
        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
        {
            int p = head + i;
            if (frames[p].MapCount > 0)
                UnmapToSwapEntry(env, p);
            k.Dirty?.Frame(p);
            k.Zone.LruDel(p);
            frames[p].Flags &= ~FrameFlags.Lru;
            k.Zone.PinFrame(p);
            env.Work<FrameRelease>().Add(new FrameRelease(p));
        }
        return true;
    }

    /// <summary>
    /// shrink_folio_list for a THP that is in the swap cache already (swapped out whole, its write complete): Linux
    /// 6.18 goes past add_to_swap (and its split) for a folio in the swap cache; try_to_unmap unmaps every page of the
    /// folio at once, each PTE taking its page's swap entry, and __remove_mapping frees the folio whole. EcsMem meets
    /// such a folio still mapped when the write completed during the reclaim that started it (the reclaim's own time
    /// completes writes: machine.reclaim_cost) and the folio was rotated to the inactive tail and isolated again in the
    /// same tick, before the page-table rewrite of its first unmap: the unmap is queued again (the later of the two
    /// finds the PTE changed and does nothing) and the folio freed once its PTEs are rewritten. A folio that cannot go
    /// now (a page held, dirty, under writeback or off the LRU) returns false: kept whole (keep_locked), never split.
    /// </summary>
    private bool ShrinkSwapCachedThp(SimEnvironment env, int pfn)
    {
        var k = _k;
        Frame[] frames = k.Zone.Frames;
        int head = HugeMemory.HugeMemory.HeadOf(pfn);
        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
        {
            int p = head + i;
            if (frames[p].MapCount == 0)
                continue;
            // try_to_unmap moves a dirty PTE's bit to the folio, which would then be written again (pageout): EcsMem
            // keeps such a folio instead (a swap-cache THP is split when a fault maps it, so only a PTE whose rewrite is
            // pending, cleaned for the write, maps it here).
            k.Rmap.CopyTo(p, _maps);
            foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
                if ((k.Tasks.MmById(mmId)!.Tables.Lookup(va) & Pte.DirtyBit) != 0)
                    return false;
        }
        return ReleaseSwapCachedThp(env, pfn);
    }

    /// <summary>
    /// try_to_unmap_one for a page in the swap cache: each PTE mapping <paramref name="p"/> is queued to become the page's
    /// swap entry (exclusive when one PTE no fork shares maps it, as at swap-out), rewritten at the end of the tick.
    /// </summary>
    private void UnmapToSwapEntry(SimEnvironment env, int p)
    {
        var k = _k;
        k.Rmap.CopyTo(p, _maps);
        ulong swapPte = new SwapEntry(0, (ulong)k.Zone.Frames[p].Index).ToPteValue();
        if (_maps.Count == 1 && (k.Tasks.MmById(_maps[0].Mm)!.Tables.Lookup(_maps[0].Va) & Pte.CowBit) == 0)
            swapPte |= Pte.SwpExclusiveBit;
        foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
            env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, p, swapPte, Cpu));
    }

    /// <summary>
    /// folio_clear_dirty_for_io after try_to_unmap for the page whose reverse map is in the scratch list: the PTEs
    /// (rewritten at the end of the tick) lose their dirty bits, the folio having taken them for the write.
    /// </summary>
    /// <summary>
    /// swap_writeout for one page in the swap cache at <paramref name="slot"/>: a zero-filled page
    /// (is_folio_zero_filled; <see cref="FrameFlags.ZeroFilled"/>) is only marked in the swap area's zeromap
    /// (swap_zeromap_folio_set, swpout_zero): no I/O, no PG_writeback, so shrink_folio_list frees it in the same pass,
    /// and pageout still counts it in nr_vmscan_write. Any other page clears the slot's bit and is written
    /// (__swap_writepage: pswpout, pgpgout). Returns true for the zero-filled page.
    /// </summary>
    private bool SwapWriteout(int pfn, int slot, PageWriteback.Writeback? writeback)
    {
        var k = _k;
        ref Frame f = ref k.Zone.Frames[pfn];
        if ((f.Flags & FrameFlags.ZeroFilled) != 0)
        {
            k.Swap.Write(slot, f.ContentToken, zero: true);
            k.Env.Counters.Increment(k.C.SwpoutZero);
            if (writeback is not null)
                k.Env.Counters.Increment(writeback.NrVmscanWrite);
            return true;
        }
        k.Swap.Write(slot, f.ContentToken);
        k.Env.Counters.Increment(k.C.PswpOut);
        k.Env.Counters.Add(k.C.PgPgOut, (long)(Pte.PageSize / 1024));
        // An asynchronous write costs reclaim only its submission; the disk's time is the request's.
        if (writeback is null)
            k.Cycles.Charge(Timing.CycleCategory.Reclaim, k.Timing.SwapOutCycles);
        return false;
    }

    private void CleanPtesForIo(int pfn)
    {
        var k = _k;
        foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
        {
            MmState mm = k.Tasks.MmById(mmId)!;
            ref ulong pte = ref mm.Tables.Walk(va, out _);
            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref pte) && (pte & Pte.DirtyBit) != 0)
            {
                k.Dirty?.Pte(mm, va, pte);
                pte &= ~Pte.DirtyBit;
            }
        }
    }

    /// <summary>
    /// shrink_page_list for one unreferenced victim: anonymous pages get a swap slot and enter the swap cache
    /// (add_to_swap) and are written if dirty (pageout → swap_writepage); file pages are written back when
    /// dirty and dropped. A clean MADV_FREE page (anonymous, not swap-backed) is discarded without a swap
    /// slot; a dirty one is made swap-backed again and kept. The PTE rewrites and the final free are queued
    /// for the page-table rewrite system. Returns 1 when the page goes, 0 when it cannot (no swap slot), -1
    /// when it is kept and activated, -2 when a VM_LOCKED area maps it (try_to_unmap_one's mlock_vma_folio:
    /// it goes to the unevictable list and stays until munlock), 2 when its write started under PG_writeback with
    /// <paramref name="writeback"/> (the page stays), 3 when a THP in the swap cache cannot be freed now and is kept
    /// whole (keep_locked). <paramref name="pageout"/>: the page was written.
    /// </summary>
    public int ShrinkPage(SimEnvironment env, int pfn, out bool pageout, PageWriteback.Writeback? writeback = null)
    {
        var k = _k;
        pageout = false;
        ref Frame f = ref k.Zone.Frames[pfn];
        if (f.FolioOrder != 0)
            return ShrinkCleanFileFolio(env, pfn);
        if (MappedByLockedVma(pfn))
            return -2;

        // A page of a THP: swapped out whole where THP_SWAP can (a free cluster on a block device), else the folio is
        // split (its PMDs, then itself) and reclaim goes on with this 4 KiB page.
        ReclaimedFolioPages = 1;
        if ((f.Flags & FrameFlags.Thp) != 0)
        {
            if ((f.Flags & FrameFlags.SwapCache) != 0)
            {
                // Already in the swap cache: shrink_folio_list never splits it (the split for want of swap entries is
                // only where the folio is not in the swap cache yet); it goes whole, or stays whole.
                if (!ShrinkSwapCachedThp(env, pfn))
                    return 3;
                ReclaimedFolioPages = HugeMemory.HugeMemory.PmdPages;
                return 1;
            }
            if (SwapOutThp(env, pfn, writeback))
            {
                pageout = true;
                ReclaimedFolioPages = HugeMemory.HugeMemory.PmdPages;
                return writeback is null ? 1 : 2;
            }
            k.Thp.SplitForReclaim(pfn);
        }

        bool dirty = (f.Flags & FrameFlags.Dirty) != 0;
        foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
            dirty |= (k.Tasks.MmById(mmId)!.Tables.Lookup(va) & Pte.DirtyBit) != 0;

        if (f.IsAnon && (f.Flags & (FrameFlags.SwapBacked | FrameFlags.SwapCache)) == 0)
        {
            if (dirty)
            {
                f.Flags |= FrameFlags.SwapBacked;
                return -1;
            }

            foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, pfn, 0, Cpu));
        }
        else if (f.IsAnon)
        {
            int slot;
            bool fresh = false;
            if ((f.Flags & FrameFlags.SwapCache) != 0)
            {
                slot = (int)f.Index;
            }
            else
            {
                slot = k.Swap.GetSwapPage();
                if (slot == 0)
                    return 0; // swap full: this page cannot go (get_swap_page failed)
                if (k.Memcg is { } mc && !mc.TryChargeSwap(pfn, slot))
                {
                    // The group is at its memory.swap.max: the slot goes back and the page stays.
                    k.Swap.SetCached(slot, false);
                    return 0;
                }
                k.SwapCache.Add(slot, pfn);
                k.SwapReadahead.ClearReadahead(pfn);
                f.Flags |= FrameFlags.SwapCache;
                f.Index = slot;
                fresh = true;
            }
            bool zero = false;
            if (dirty || fresh)
            {
                pageout = true;
                if (k.Events is { } ev)
                    ev.SwapOut(pfn, slot, Cpu, _maps.Count > 0 ? _maps[0].Mm : -1, _maps.Count > 0 ? _maps[0].Va : 0);
                zero = SwapWriteout(pfn, slot, writeback);
            }
            f.Flags &= ~FrameFlags.Dirty;
            ulong swapPte = new SwapEntry(0, (ulong)slot).ToPteValue();
            // try_to_unmap_one keeps PageAnonExclusive in the swap PTE (pte_swp_mkexclusive): a page mapped by
            // one PTE that no fork shares (no COW protection) comes back writable without a copy.
            if (_maps.Count == 1 && (k.Tasks.MmById(_maps[0].Mm)!.Tables.Lookup(_maps[0].Va) & Pte.CowBit) == 0)
                swapPte |= Pte.SwpExclusiveBit;
            foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, pfn, swapPte, Cpu));
            if (pageout && writeback is not null && !zero)
            {
                // try_to_unmap, then pageout: the write is in flight, the page stays in the swap cache, resident and
                // charged, until folio_end_writeback; the next reclaim that finds it clean frees it. try_to_unmap moves
                // the PTEs' dirty bits to the folio and folio_clear_dirty_for_io cleans it for the write: the PTEs, whose
                // rewrite to swap entries comes at the end of the tick, are clean from now on, so a reclaim meeting the
                // page again before that does not write it twice.
                CleanPtesForIo(pfn);
                writeback.StartWriteback(pfn);
                return 2;
            }
        }
        else if (f.IsShmem && f.Mapping >= 0)
        {
            // A shmem page (memfd, MAP_SHARED anonymous object, tmpfs file): try_to_unmap clears its PTEs (a file
            // page: no swap entry in them), and pageout's shmem_writeout gives it a swap slot, whose entry the object's
            // page cache keeps in its place; the page is written from the swap cache and freed (at once, or with
            // <paramref name="writeback"/> once its write completes and a later scan finds it clean).
            int slot = k.Swap.GetSwapPage();
            if (slot == 0)
                return 0; // no swap: shmem_writeout redirties it and it stays
            if (k.Memcg is { } mc && !mc.TryChargeSwap(pfn, slot))
            {
                k.Swap.SetCached(slot, false);
                return 0;
            }
            k.OpenFiles.ShmemWriteout(pfn, slot);
            k.SwapReadahead.ClearReadahead(pfn);
            pageout = true;
            if (k.Events is { } ev)
                ev.SwapOut(pfn, slot, Cpu, _maps.Count > 0 ? _maps[0].Mm : -1, _maps.Count > 0 ? _maps[0].Va : 0);
            bool zero = SwapWriteout(pfn, slot, writeback);
            f.Flags &= ~FrameFlags.Dirty;
            foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, pfn, 0, Cpu));
            if (writeback is not null && !zero)
            {
                // swap_writeout: the page, out of the object and in the swap cache, is written under PG_writeback and
                // stays resident, charged and on the anon LRU until folio_end_writeback; the PTEs' dirty bits went
                // with the folio's (folio_clear_dirty_for_io), so a scan meeting it before the rewrite does not write
                // it again. The next scan that finds it clean frees it from the swap cache (__remove_mapping).
                CleanPtesForIo(pfn);
                writeback.StartWriteback(pfn);
                return 2;
            }
        }
        else
        {
            if (dirty)
            {
                pageout = true;
                env.Counters.Increment(k.C.FileWriteback);
                env.Counters.Add(k.C.PgPgOut, (long)(Pte.PageSize / 1024));
                k.Cycles.Charge(Timing.CycleCategory.Reclaim, k.Timing.SwapOutCycles);
                f.Flags &= ~FrameFlags.Dirty;
            }
            foreach (var (mmId, va) in CollectionsMarshal.AsSpan(_maps))
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, pfn, 0, Cpu));
        }
        // Off the policy's lists now, so it is not chosen twice before the rewrite frees it.
        k.Zone.LruDel(pfn);
        f.Flags &= ~FrameFlags.Lru;
        k.Zone.PinFrame(pfn);
        env.Work<FrameRelease>().Add(new FrameRelease(pfn));
        return 1;
    }
}
