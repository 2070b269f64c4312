using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.Vmscan;

/// <summary>
/// ④⑤ Reclaim and swap-out (shrink_inactive_list → shrink_page_list): frees pages for stalled allocations
/// (direct reclaim) and for kswapd, which runs in simulated time from when free memory drops below the low
/// watermark until it is back above high. The replacement policy picks victims; a victim whose PTEs show
/// the accessed bit was used since the last scan gets a second chance (page_referenced → the policy hears
/// OnReferenced). Anonymous victims go to swap through the swap cache (⑥); dirty file pages are written
/// back, clean ones dropped. The PTE rewrites (⑦) are left to the page-table rewrite system. When nothing
/// can be reclaimed and memory is below min, the OOM killer picks a process.
/// </summary>
public sealed class SwapOutSystem : ISystem, IEventHandler
{
    private readonly Kernel.Kernel _k;
    private readonly List<(int Mm, ulong Va)> _maps = new();
    private readonly List<int> _skipped = new();
    private readonly HashSet<int> _memcgDone = new();
    private readonly List<Memcontrol.MemCgroup> _eligible = new();
    private readonly int _kswapdKind;
    private int _cpu; // the CPU the current reclaim pass runs on
    private bool _kswapdAwake;

    public SwapOutSystem(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _kswapdKind = env.RegisterEventKind("kswapd", this);
    }

    /// <summary>
    /// True while kswapd has a run scheduled or in progress (it sleeps once the zone is balanced). The zone's
    /// ZONE_RECLAIM_ACTIVE follows it (balance_pgdat sets it for its run, and clears it when done).
    /// </summary>
    public bool KswapdAwake
    {
        get => _kswapdAwake;
        private set
        {
            if (_kswapdAwake != value)
                _k.Events?.Kswapd(value, _k.Tlb.CurrentCpu);
            _kswapdAwake = value;
            _k.Zone.ReclaimActive = value;
        }
    }

    public string Name => "swap-out";

    /// <summary>kswapd's turn: one SWAP_CLUSTER_MAX batch of background reclaim.</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        env.Work<ReclaimRequest>().Add(new ReclaimRequest(false, _k.Options.SwapClusterMax, Entity.Null, 0, env.EventTime));
    }

    public void Update(SimEnvironment env)
    {
        if (env.WorkCount<KswapdWakeup>() > 0 && !KswapdAwake)
        {
            // wakeup_kswapd: the first run comes at once (as the next tick's event), later ones as KswapdAfterRun says.
            KswapdAwake = true;
            env.Counters.Increment(_k.C.KswapdWakeups);
            env.Schedule(0, new SimEvent(_kswapdKind, Entity.Null));
        }
        var requests = env.WorkItems<ReclaimRequest>();
        if (requests.Length == 0)
            return;
        bool directDone = false, kswapdDone = false;
        _memcgDone.Clear();
        foreach (ref readonly ReclaimRequest r in requests)
        {
            if (r.Memcg >= 0)
            {
                // One cgroup reclaim per group per tick: the charges stalled on it share it.
                if (_memcgDone.Add(r.Memcg))
                    MemcgReclaim(env, r);
                continue;
            }
            // One pass per kind per tick: several stalled faults in one tick share one direct reclaim.
            if (r.Direct ? directDone : kswapdDone)
                continue;
            if (r.Direct) directDone = true;
            else kswapdDone = true;
            // Direct reclaim runs in the stalled task, on its CPU; kswapd is a kernel thread, simulated on CPU 0.
            _cpu = r.Direct ? r.Cpu : 0;
            _k.Smp.Enter(_cpu);
            _k.Smp.CatchUp(r.NotBefore);
            if (!r.Direct && _k.Zone.Watermarks.AboveHigh(_k.Zone.Buddy.NrFreePages + env.WorkCount<FrameRelease>()))
            {
                // balance_pgdat finds the node balanced already (memory was freed since the wakeup): sleep.
                KswapdAwake = false;
                continue;
            }
            int freed = _k.Memcg is { } mc
                ? ShrinkNodeMemcgs(env, mc.Root, r.Pages, r.Direct, r.ForProcess, cgroupReclaim: false)
                : ShrinkInactiveList(env, _k.Zone.Lru, null, r.Pages, r.Direct, r.ForProcess, cgroupReclaim: false);
            // Nothing reclaimable while the allocation still could not proceed, counting the frames this
            // tick will free: OOM.
            long freeSoon = _k.Zone.Buddy.NrFreePages + env.WorkCount<FrameRelease>();
            if (r.Direct && r.MayOom && freed == 0 && _k.Zone.MustStall(freeSoon, needsFrame: true))
            {
                // Before the OOM killer, the free pages parked on per-CPU lists go back to the buddy allocator
                // (drain_all_pages) and the allocation is looked at once more. Linux 6.6 skips this drain when
                // reclaim made no progress and only gets there after should_reclaim_retry's retries; the
                // simulator declares OOM after one fruitless pass, so it drains first (docs/physical.md).
                if (_k.Zone.DrainAllPages() > 0)
                    freeSoon = _k.Zone.Buddy.NrFreePages + env.WorkCount<FrameRelease>();
                if (_k.Zone.MustStall(freeSoon, needsFrame: true))
                    _k.Oom.OutOfMemory(r.ForProcess);
            }
            if (!r.Direct)
                KswapdAfterRun(env, freed);
        }
    }

    /// <summary>
    /// try_to_free_mem_cgroup_pages for a charge that found <see cref="ReclaimRequest.Memcg"/> at its memory.max: reclaims
    /// at least SWAP_CLUSTER_MAX pages (and what the group stands above its limit, which readahead charges can leave)
    /// from the group's subtree only. A fault's charge that got nothing back uses up one of its MAX_RECLAIM_RETRIES;
    /// with none left, mem_cgroup_out_of_memory kills inside the group.
    /// </summary>
    private void MemcgReclaim(SimEnvironment env, in ReclaimRequest r)
    {
        var mc = _k.Memcg!;
        Memcontrol.MemCgroup g = mc.Groups[r.Memcg];
        _cpu = r.Cpu;
        _k.Smp.Enter(_cpu);
        _k.Smp.CatchUp(r.NotBefore);
        long excess = g.Max == long.MaxValue ? 0 : g.Usage - g.Max + 1;
        int cluster = _k.Options.SwapClusterMax;
        int target = (int)Math.Max(r.Pages, (excess + cluster - 1) / cluster * cluster);
        int freed = ShrinkNodeMemcgs(env, g, target, direct: true, r.ForProcess, cgroupReclaim: true);
        if (freed == 0 && r.MayOom && !r.ForProcess.IsNull && mc.NoProgress(r.ForProcess))
            _k.Oom.MemcgOutOfMemory(g, r.ForProcess);
    }

    /// <summary>
    /// shrink_node_memcgs: reclaim walks <paramref name="target"/>'s subtree (mem_cgroup_iter, pre-order) and shrinks
    /// each group's lruvec, its share of <paramref name="nrToReclaim"/> proportional to its LRU size (as get_scan_count's
    /// size &gt;&gt; priority makes it). Groups at or below their effective memory.min are skipped; those below memory.low
    /// too, unless nothing else could be reclaimed, and then the pass is made again with them (memcg_low_reclaim) and
    /// each counts a memory.events low.
    /// </summary>
    private int ShrinkNodeMemcgs(SimEnvironment env, Memcontrol.MemCgroup target, int nrToReclaim, bool direct, Entity forProcess, bool cgroupReclaim)
    {
        var mc = _k.Memcg!;
        mc.CalculateProtection(target);
        int reclaimed = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            bool lowReclaim = pass == 1, lowSkipped = false;
            long total = 0;
            _eligible.Clear();
            foreach (Memcontrol.MemCgroup g in target.Subtree())
            {
                if (Memcontrol.MemcgController.BelowMin(target, g))
                    continue;
                if (Memcontrol.MemcgController.BelowLow(target, g))
                {
                    if (!lowReclaim)
                    {
                        lowSkipped = true;
                        continue;
                    }
                    Memcontrol.MemcgController.MemoryEvent(g, Memcontrol.MemcgEvent.Low);
                }
                if (g.LruPages == 0)
                    continue;
                _eligible.Add(g);
                total += g.LruPages;
            }
            foreach (Memcontrol.MemCgroup g in _eligible)
            {
                int share = (int)Math.Max(1, ((long)nrToReclaim * g.LruPages + total - 1) / total);
                reclaimed += ShrinkInactiveList(env, g.Lruvec, g, share, direct, forProcess, cgroupReclaim);
            }
            if (reclaimed > 0 || !lowSkipped)
                break;
        }
        return reclaimed;
    }

    /// <summary>After a kswapd batch: sleep when balanced (free above high), else run again shortly.</summary>
    private void KswapdAfterRun(SimEnvironment env, int freed)
    {
        env.Counters.Increment(_k.C.PageOutRun);
        long freeAfter = _k.Zone.Buddy.NrFreePages + env.WorkCount<FrameRelease>();
        if (_k.Zone.Watermarks.AboveHigh(freeAfter) || freed == 0)
        {
            KswapdAwake = false;
            return;
        }
        // kswapd is a kernel thread: its next batch comes after the time this one's writes took.
        ulong delay = (ulong)Math.Max(1, _k.Timing.SwapOutCycles);
        env.Schedule(delay, new SimEvent(_kswapdKind, Entity.Null));
    }

    /// <summary>
    /// shrink_inactive_list + shrink_page_list: asks the policy for victims until <paramref name="target"/>
    /// pages are on their way out or the scan budget is spent. Returns the pages reclaimed.
    /// </summary>
    private int ShrinkInactiveList(SimEnvironment env, Policies.IReplacementPolicy lru, Memcontrol.MemCgroup? memcg, int target, bool direct, Entity forProcess, bool cgroupReclaim)
    {
        var k = _k;
        int reclaimed = 0, scanned = 0;
        // Each resident page can be passed over once for its accessed bit and once more: that bounds the scan.
        int budget = memcg is null
            ? 2 * (k.Zone.Buddy.ManagedPages - (int)k.Zone.Buddy.NrFreePages) + target
            : (int)Math.Min(int.MaxValue / 2, 2 * memcg.LruPages) + target;
        _skipped.Clear();
        while (reclaimed < target && scanned < budget)
        {
            int pfn = lru.ChooseVictim(k.Zone.Unevictable);
            if (pfn < 0)
                break;
            scanned++;
            if (PageReferenced(pfn))
            {
                // shrink_folio_list's activate_locked: a kept swap-cache page gives its slot back once swap is
                // more than half full (vm_swap_full), if no PTE holds its swap entry any more.
                if (k.Swap.VmSwapFull)
                    k.Memory.FreeSwapCacheOf(pfn);
                env.Counters.Increment(k.C.Referenced);
                lru.OnReferenced(pfn);
                continue;
            }
            int outcome = ShrinkPage(env, pfn);
            if (outcome == -2)
                continue; // mlocked: now on the unevictable list
            if (outcome < 0)
            {
                // A lazily freed page written again: swap-backed once more and activated (try_to_unmap_one).
                lru.OnReferenced(pfn);
                continue;
            }
            if (outcome == 0)
            {
                // Cannot go now (no swap slot): keep it out of this pass's way.
                k.Zone.Unevictable[pfn] = true;
                _skipped.Add(pfn);
                continue;
            }
            reclaimed++;
        }
        foreach (int pfn in _skipped)
            k.Zone.Unevictable[pfn] = k.Zone.Pins[pfn] > 0;
        // shrink_inactive_list counts cgroup reclaim in the group's memory.stat only, not in /proc/vmstat.
        if (!cgroupReclaim)
        {
            env.Counters.Add(direct ? k.C.PgScanDirect : k.C.PgScanKswapd, scanned);
            env.Counters.Add(direct ? k.C.PgStealDirect : k.C.PgStealKswapd, reclaimed);
        }
        if (memcg is not null)
        {
            if (direct)
            {
                memcg.PgScanDirect += scanned;
                memcg.PgStealDirect += reclaimed;
            }
            else
            {
                memcg.PgScanKswapd += scanned;
                memcg.PgStealKswapd += reclaimed;
            }
        }
        k.Events?.Reclaim(direct, _cpu, forProcess, scanned, reclaimed);
        return reclaimed;
    }

    /// <summary>
    /// page_referenced: test-and-clear the accessed bit of every PTE mapping the frame
    /// (ptep_clear_flush_young also drops the TLB entry, so the next access walks and sets it again).
    /// </summary>
    private bool PageReferenced(int pfn)
    {
        var k = _k;
        k.Rmap.CopyTo(pfn, _maps);
        bool young = false;
        foreach (var (mmId, va) in _maps)
        {
            MmState mm = k.Tasks.MmById(mmId)!;
            ref ulong pte = ref mm.Tables.Walk(va, false, out _);
            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref pte) && (pte & Pte.AccessedBit) != 0)
            {
                pte &= ~Pte.AccessedBit;
                k.Tlb.FlushTlbPage(mm.Tlb, va);
                young = true;
            }
        }
        return young;
    }

    /// <summary>
    /// shrink_page_list for one unreferenced victim: anonymous pages get a swap slot and enter the swap cache
    /// (add_to_swap) and are written if dirty (pageout → swap_writepage); file pages are written back when
    /// dirty and dropped. A clean MADV_FREE page (anonymous, not swap-backed) is discarded without a swap
    /// slot; a dirty one is made swap-backed again and kept. The PTE rewrites and the final free are queued
    /// for the page-table rewrite system. Returns 1 when the page goes, 0 when it cannot (no swap slot), -1
    /// when it is kept and activated, -2 when a VM_LOCKED area maps it (try_to_unmap_one's mlock_vma_folio:
    /// it goes to the unevictable list and stays until munlock).
    /// </summary>
    private int ShrinkPage(SimEnvironment env, int pfn)
    {
        var k = _k;
        ref Frame f = ref k.Zone.Frames[pfn];
        k.Rmap.CopyTo(pfn, _maps);
        foreach (var (mmId, va) in _maps)
        {
            var owner = k.Tasks.MmById(mmId)!.Mm;
            int vi = owner.VmaLookup(va);
            if (vi >= 0 && (owner.Vmas[vi].Flags & VmFlags.Locked) != 0)
            {
                k.Zone.Unevictable[pfn] = true;
                return -2;
            }
        }

        // A page of a THP: the folio is split (its PMDs, then itself) and reclaim goes on with this 4 KiB page.
        if ((f.Flags & FrameFlags.Thp) != 0)
            k.Thp.SplitForReclaim(pfn);

        bool dirty = (f.Flags & FrameFlags.Dirty) != 0;
        foreach (var (mmId, va) in _maps)
            dirty |= (k.Tasks.MmById(mmId)!.Tables.Lookup(va) & Pte.DirtyBit) != 0;

        if (f.IsAnon && (f.Flags & (FrameFlags.SwapBacked | FrameFlags.SwapCache)) == 0)
        {
            if (dirty)
            {
                f.Flags |= FrameFlags.SwapBacked;
                return -1;
            }

            foreach (var (mmId, va) in _maps)
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, pfn, 0, _cpu));
            env.Counters.Increment(k.C.PgStealAnon);
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
            if (dirty || fresh)
            {
                k.Swap.Write(slot, f.ContentToken);
                env.Counters.Increment(k.C.PswpOut);
                if (k.Events is { } ev)
                    ev.SwapOut(pfn, slot, _cpu, _maps.Count > 0 ? _maps[0].Mm : -1, _maps.Count > 0 ? _maps[0].Va : 0);
                env.Counters.Add(k.C.PgPgOut, (long)(Pte.PageSize / 1024));
                k.Cycles.Charge(Timing.CycleCategory.Reclaim, k.Timing.SwapOutCycles);
            }
            f.Flags &= ~FrameFlags.Dirty;
            ulong swapPte = new SwapEntry(0, (ulong)slot).ToPteValue();
            // try_to_unmap_one keeps PageAnonExclusive in the swap PTE (pte_swp_mkexclusive): a page mapped by
            // one PTE that no fork shares (no COW protection) comes back writable without a copy.
            if (_maps.Count == 1 && (k.Tasks.MmById(_maps[0].Mm)!.Tables.Lookup(_maps[0].Va) & Pte.CowBit) == 0)
                swapPte |= Pte.SwpExclusiveBit;
            foreach (var (mmId, va) in _maps)
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, pfn, swapPte, _cpu));
            env.Counters.Increment(k.C.PgStealAnon);
        }
        else
        {
            if (dirty)
            {
                env.Counters.Increment(k.C.FileWriteback);
                env.Counters.Add(k.C.PgPgOut, (long)(Pte.PageSize / 1024));
                k.Cycles.Charge(Timing.CycleCategory.Reclaim, k.Timing.SwapOutCycles);
                f.Flags &= ~FrameFlags.Dirty;
            }
            foreach (var (mmId, va) in _maps)
                env.Work<PteRewrite>().Add(new PteRewrite(mmId, va, pfn, 0, _cpu));
            env.Counters.Increment(k.C.PgStealFile);
        }
        // Off the policy's lists now, so it is not chosen twice before the rewrite frees it.
        k.Zone.LruDel(pfn);
        f.Flags &= ~FrameFlags.Lru;
        k.Zone.PinFrame(pfn);
        env.Work<FrameRelease>().Add(new FrameRelease(pfn));
        return 1;
    }
}
