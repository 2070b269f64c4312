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
/// back, clean ones dropped. The PTE rewrites (⑦) are left to the page-table rewrite system. What a direct pass
/// reclaimed is the stalled allocations' did_some_progress: their slow path (PageAlloc/ReclaimRetry.cs) retries or
/// calls the OOM killer; a charge's memcg reclaim that exhausts try_charge_memcg's retries calls the group's here.
/// </summary>
public sealed class SwapOutSystem : ISystem, IEventHandler
{
    private readonly Kernel.Kernel _k;
    private readonly List<int> _skipped = new();
    private readonly HashSet<int> _memcgDone = new();
    private readonly List<(Memcontrol.MemCgroup Group, long Weight)> _eligible = new();
    private readonly ScanControl _sc = new();
    private readonly ScanControl _kswapdSc = new();
    private readonly int _kswapdKind;
    private int _cpu; // the CPU the current reclaim pass runs on
    private bool _kswapdAwake;
    private bool _kswapdRunActive;
    // balance_pgdat's boost accounting: the zone's boost when the run began (zone_boosts[]), the part of it still to
    // reclaim (nr_boost_reclaim), and whether the snapshot was taken for the current run.
    private long _zoneBoost, _nrBoostReclaim;
    private bool _boostTaken;

    public SwapOutSystem(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _kswapdKind = env.RegisterEventKind("kswapd", this);
        // shrink_slab: the shrinkers EcsMem has, the THP deferred split queue's and (with cgroups) the workingset shadow nodes'.
        Func<int, Memcontrol.MemCgroup?, long> thp = kernel.Thp.ShrinkSlab;
        _sc.ShrinkSlab = _kswapdSc.ShrinkSlab = kernel.ShadowNodes is { } shadow
            ? (priority, memcg) => thp(priority, memcg) + shadow.ShrinkSlab(priority, memcg)
            : thp;
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
            bool sleeps = _kswapdAwake && !value;
            _kswapdAwake = value;
            _k.Zone.ReclaimActive = value;
            // kswapd_try_to_sleep: a balanced node wakes kcompactd for the order kswapd was woken for.
            if (sleeps)
                EndKswapdBoost();
            if (sleeps)
                _k.Kcompactd.KswapdSleeps(_k.Zone.Watermarks.AboveHigh(_k.Zone.Buddy.NrFreePages + _k.ReclaimHost.PendingReleases));
        }
    }

    public string Name => "swap-out";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<ReclaimRequest>().Of<KswapdWakeup>();

    /// <summary>
    /// The node is hopeless for kswapd: MAX_RECLAIM_RETRIES balance_pgdat runs in a row reclaimed nothing
    /// (pgdat-&gt;kswapd_failures, the Linux lruvec's; the simple policies' kswapd has none).
    /// </summary>
    public bool KswapdHopeless => _k.Lruvec is { } lv && lv.KswapdFailures >= MaxReclaimRetries;

    /// <summary>kswapd's turn: one SWAP_CLUSTER_MAX batch of background reclaim.</summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        env.Work<ReclaimRequest>().Add(new ReclaimRequest(false, _k.Options.SwapClusterMax, Entity.Null, 0, env.EventTime));
    }

    /// <summary>Acts only on this tick's KswapdWakeup and ReclaimRequest work (nothing kept between ticks).</summary>
    public bool WorkOnly => true;

    public void Update(SimEnvironment env)
    {
        // wakeup_kswapd leaves a hopeless node (kswapd_failures at MAX_RECLAIM_RETRIES) to direct reclaim.
        if (env.WorkCount<KswapdWakeup>() > 0 && !KswapdAwake && !KswapdHopeless)
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
            if (!r.Direct && KswapdBalanced(env))
            {
                // balance_pgdat finds the node balanced already (memory was freed since the wakeup): sleep.
                if (_k.Lruvec is { } lv)
                    EndKswapdRun(lv);
                KswapdAwake = false;
                continue;
            }
            _k.ReclaimHost.Cpu = _cpu;
            long scannedBefore = env.Counters[_k.C.PgScanDirect];
            int freed = _k.Lruvec is { } lruvec
                ? (r.Direct ? TryToFreePages(lruvec, r.Pages, r.ForProcess) : BalancePgdatRound(env, lruvec))
                : _k.Memcg is { } mc
                    ? ShrinkNodeMemcgs(env, mc.Root, r.Pages, r.Direct, r.ForProcess, cgroupReclaim: false)
                    : ShrinkInactiveList(env, _k.Zone.Lru, null, r.Pages, r.Direct, r.ForProcess, cgroupReclaim: false);
            // The stalled allocations read what this pass reclaimed at their next attempt (did_some_progress): their
            // slow path, not reclaim, decides between another round and the OOM killer (AllocatorSystem.ReclaimRetry).
            if (r.Direct)
            {
                _k.Zone.DirectReclaimProgress = freed;
                if (freed == 0)
                    _k.ReclaimHost.FruitlessPassTime(env.Counters[_k.C.PgScanDirect] - scannedBefore);
            }
            if (!r.Direct && _k.Lruvec is null)
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
        _k.ReclaimHost.Cpu = _cpu;
        int freed = _k.Lruvec is not null
            ? TryToFreeMemCgroupPages(g, target, r.ForProcess, r.Plugged, r.PlugHeadRead)
            : ShrinkNodeMemcgs(env, g, target, direct: true, r.ForProcess, cgroupReclaim: true);
        // The charging task is switched out during its direct reclaim (the per-CPU kworkers its swap writes and LRU
        // work wake preempt it: cond_resched in shrink_node_memcgs), so prepare_task_switch's rseq_preempt: on its way
        // back to user space it reads its struct rseq, a fault if this reclaim unmapped that TLS page. Measured on 6.18
        // in 6 of 6 runs (oracle/experiments/sw60-harness-reclaim, results/rseq-reclaim.txt): switches inside the
        // group's first reclaim and the rseq fault before its second.
        if (!r.ForProcess.IsNull)
            Task.Rseq.RseqPreempt(_k, r.ForProcess);
        // try_charge_memcg after the reclaim: a charge that may OOM counts its rounds (and drains the stocks once) in
        // ChargeRetryExhausted; one that may not (a THP's, a swap-in's under the plug) still drains once before it retries.
        if (!r.MayOom && r.ChargePages > 0 && !r.ForProcess.IsNull)
            mc.DrainAfterReclaim(g, r.ForProcess, r.ChargePages);
        if (r.MayOom && !r.ForProcess.IsNull && mc.ChargeRetryExhausted(r.ForProcess, g, freed, Math.Max(1, r.ChargePages), Math.Min(freed, _k.ReclaimHost.PendingReleases)))
            _k.Oom.MemcgOutOfMemory(g, r.ForProcess);
    }

    /// <summary>
    /// try_to_free_mem_cgroup_pages with the Linux lruvecs: a scan_control for cgroup reclaim (target_mem_cgroup
    /// <paramref name="g"/>, nr_to_reclaim at least SWAP_CLUSTER_MAX, may_swap) through do_try_to_free_pages, whose
    /// shrink_node walks the group's subtree (<see cref="NodeReclaim.ShrinkNode"/>). Returns the pages reclaimed.
    /// </summary>
    private int TryToFreeMemCgroupPages(Memcontrol.MemCgroup g, int nrPages, Entity forProcess, bool plugged, bool plugHeadRead)
    {
        _sc.Reset(kswapd: false, Math.Max(nrPages, Lruvec.SwapClusterMax), _k.Options.Swappiness);
        _sc.Task = forProcess;
        _sc.CgroupReclaim = true;
        // writeback_throttling_sane: cgroup v1's memcg reclaim waits on writeback instead (shrink_folio_list case 3).
        _sc.WritebackThrottlingSane = _k.Options.CgroupVersion != 1;
        _sc.Memcg = _k.Memcg;
        _sc.Target = g;
        // A reclaim entered from a swap-in's charge runs inside swap readahead's plug (blk_start_plug in
        // swap_cluster_readahead; shrink_lruvec's own plug nests in it and flushes nothing). Behind a read the loop
        // put there first its writes are issued only when it ends, so none completes, and none of its pages is freed,
        // while it scans: measured on 6.18 (oracle/experiments/shmem-swap-disk), such a reclaim writes its whole
        // inactive list down to priority 0. With no read ahead of them (zeromap slots, or the window's first slot
        // charging) its first write request heads the plug, and blk_add_rq_to_plug flushes the plug once that request
        // holds 128 KiB and another starts: the reclaim then frees those pages when their writes complete
        // (oracle/experiments/sw60-rounds, results/session29.txt: swap-fork-shared's fork). That needs
        // machine.swap_ra_plug_flush (off by default: the kit agrees on one program fewer with it); without it every
        // such reclaim is taken to be behind a read.
        if (plugged)
            _k.Writeback?.HoldPlug(plugHeadRead || !_k.Options.SwapRaPlugFlush);
        _k.ReclaimHost.ReclaimCallTime();
        NodeReclaim.DoTryToFreePages((Lruvec)g.Lruvec, _sc);
        if (plugged)
            _k.Writeback?.ReleasePlug();
        _k.Events?.Reclaim(true, _cpu, forProcess, (int)_sc.NrScanned, (int)_sc.NrReclaimed);
        return (int)_sc.NrReclaimed;
    }

    /// <summary>
    /// shrink_node_memcgs (the simple policies): reclaim walks <paramref name="target"/>'s subtree (mem_cgroup_iter, pre-order) and shrinks
    /// each group's lruvec, its share of <paramref name="nrToReclaim"/> proportional to its LRU size (as get_scan_count's
    /// size &gt;&gt; priority makes it), the size of a group above its protection scaled down by the protected share of its
    /// usage (apply_proportional_protection). Groups at or below their effective memory.min are skipped; those below
    /// memory.low too, unless nothing else could be reclaimed, and then the pass is made again with them (memcg_low_reclaim)
    /// and each counts a memory.events low.
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
                // get_scan_count's weight: the group's lists, scaled down by its protected share (apply_proportional_protection).
                long weight = Memcontrol.MemcgController.ApplyProportionalProtection(target, g, g.LruPages, lowReclaim, ref lowSkipped, _k.Options.SwapClusterMax);
                _eligible.Add((g, weight));
                total += weight;
            }
            foreach (var (g, weight) in _eligible)
            {
                int share = (int)Math.Max(1, ((long)nrToReclaim * weight + total - 1) / total);
                reclaimed += ShrinkInactiveList(env, g.Lruvec, g, share, direct, forProcess, cgroupReclaim);
            }
            if (reclaimed > 0 || !lowSkipped)
                break;
        }
        return reclaimed;
    }

    /// <summary>MAX_RECLAIM_RETRIES (mm/internal.h): fruitless direct reclaims before the allocator gives up.</summary>
    public const int MaxReclaimRetries = 16;

    /// <summary>
    /// try_to_free_pages → do_try_to_free_pages on the node's lruvec (nr_to_reclaim SWAP_CLUSTER_MAX): one pass, from
    /// DEF_PRIORITY down. The allocator's should_reclaim_retry loop calls it again, a tick later, while its estimate
    /// says reclaim may still help (PageAlloc/ReclaimRetry.cs). A pass that reclaimed nothing drains every CPU's
    /// lru_add batch (lru_add_drain_all), so that a small machine's pages do not sit invisible to the next pass in the
    /// other CPUs' batches (a simplification, see docs/kernel.md).
    /// </summary>
    private int TryToFreePages(Lruvec lruvec, int pages, Entity forProcess)
    {
        _sc.Reset(kswapd: false, pages, _k.Options.Swappiness);
        _sc.Task = forProcess;
        _sc.Memcg = _k.Memcg;
        _sc.Target = _k.Memcg?.Root;
        _k.ReclaimHost.ReclaimCallTime();
        NodeReclaim.DoTryToFreePages(lruvec, _sc);
        if (_sc.NrReclaimed == 0)
            NodeReclaim.LruAddDrainAll(lruvec, _sc);
        _k.Events?.Reclaim(true, _cpu, forProcess, (int)_sc.NrScanned, (int)_sc.NrReclaimed);
        return (int)_sc.NrReclaimed;
    }

    /// <summary>
    /// One round of balance_pgdat: the run's scan_control (priority from DEF_PRIORITY down) persists between rounds;
    /// after the round kswapd sleeps when the node is balanced (pgdat_balanced: free pages above high), starts a new
    /// run at DEF_PRIORITY when the priority is spent (a run that reclaimed nothing counts a kswapd failure, and the
    /// MAX_RECLAIM_RETRIES-th in a row puts kswapd to sleep on a hopeless node), or else runs again after the time
    /// its work took.
    /// </summary>
    private int BalancePgdatRound(SimEnvironment env, Lruvec lruvec)
    {
        var k = _k;
        if (!_kswapdRunActive)
        {
            // balance_pgdat starts: pageoutrun counts runs, not priority rounds.
            _kswapdSc.Reset(kswapd: true, 0, k.Options.Swappiness);
            _kswapdSc.Memcg = k.Memcg;
            _kswapdSc.Target = k.Memcg?.Root;
            _kswapdRunActive = true;
            env.Counters.Increment(k.C.PageOutRun);
        }
        k.ReclaimHost.ReclaimCallTime();
        int priorityBefore = _kswapdSc.Priority;
        BoostedReclaimControl();
        long freed = NodeReclaim.KswapdRound(lruvec, _kswapdSc, k.Zone.Watermarks.High, k.Swap.UsablePages > 0);
        k.Events?.Reclaim(false, _cpu, Entity.Null, (int)_kswapdSc.NrScanned, (int)freed);
        long freeAfter = k.Zone.Buddy.NrFreePages + _k.ReclaimHost.PendingReleases;
        if (AfterBoostedRound(lruvec, priorityBefore, freed))
            return (int)freed;
        if (_nrBoostReclaim == 0 && k.Zone.Watermarks.AboveHigh(freeAfter))
        {
            EndKswapdRun(lruvec);
            return (int)freed;
        }
        if (_kswapdSc.Priority < 1)
        {
            // The run reclaimed nothing: one more kswapd failure. kswapd_try_to_sleep (prepare_kswapd_sleep) sleeps
            // on a hopeless node; otherwise, the node still unbalanced, it does not sleep and runs balance_pgdat again.
            if (_kswapdSc.NrReclaimed == 0 && ++lruvec.KswapdFailures >= MaxReclaimRetries)
            {
                EndKswapdRun(lruvec);
                return (int)freed;
            }
            // The run ends unbalanced: kswapd_try_to_sleep does not sleep, the next balance_pgdat starts over.
            lruvec.SnapshotRefaults();
            EndKswapdBoost();
            TakeBoostSnapshot();
            _kswapdSc.Reset(kswapd: true, 0, k.Options.Swappiness);
            _kswapdSc.Memcg = k.Memcg;
            _kswapdSc.Target = k.Memcg?.Root;
            _kswapdRunActive = true;
            env.Counters.Increment(k.C.PageOutRun);
        }
        // kswapd is a kernel thread: its next round comes after the time this one's writes took, one swap-out's worth
        // per SWAP_CLUSTER_MAX pages reclaimed (the pace of the simple policies' one batch per event); a round that
        // reclaimed nothing (priority too high to scan a small list) is followed at once by the next priority.
        long batches = (freed + Lruvec.SwapClusterMax - 1) / Lruvec.SwapClusterMax;
        ulong delay = Math.Max(1UL, (ulong)Math.Max(1, k.Timing.SwapOutCycles) * (ulong)batches);
        // shrink_node: kswapd met pages marked for immediate reclaim still under writeback: reclaim_throttle
        // (VMSCAN_THROTTLE_WRITEBACK) until writes complete (acct_reclaim_writeback wakes it), at most HZ/10.
        if (_kswapdSc.NrImmediate > 0 && k.Writeback is { } wb)
            delay = Math.Max(delay, wb.ThrottleDelay(env.Now));
        env.Schedule(delay, new SimEvent(_kswapdKind, Entity.Null));
        return (int)freed;
    }

    /// <summary>balance_pgdat's start: nr_boost_reclaim and zone_boosts[] from the zone's watermark_boost.</summary>
    private void TakeBoostSnapshot()
    {
        _zoneBoost = _nrBoostReclaim = _k.Zone.Watermarks.Boost;
        _boostTaken = true;
    }

    /// <summary>
    /// The test at the top of each balance_pgdat iteration (kswapd's turn, before its round): pgdat_balanced (free
    /// pages above high_wmark_pages, which include the boost). An unbalanced node drops the boosted reclaim
    /// (nr_boost_reclaim = 0, restart at DEF_PRIORITY: reclaim as usual, with swap and writeback); a balanced one ends
    /// the run unless boosted reclaim is still owed. Returns whether kswapd is done.
    /// </summary>
    private bool KswapdBalanced(SimEnvironment env)
    {
        if (!_boostTaken)
            TakeBoostSnapshot();
        bool balanced = _k.Zone.Watermarks.AboveHigh(_k.Zone.Buddy.NrFreePages + _k.ReclaimHost.PendingReleases);
        if (!balanced && _nrBoostReclaim > 0)
        {
            _nrBoostReclaim = 0;
            if (_kswapdRunActive)
                _kswapdSc.Priority = ScanControl.DefPriority; // goto restart
        }
        return balanced && _nrBoostReclaim == 0;
    }

    /// <summary>
    /// balance_pgdat for a boosted round: no writeback and no swap (may_writepage, may_swap = !nr_boost_reclaim): the
    /// boost is there to relieve fragmentation pressure, not to issue I/O.
    /// </summary>
    private void BoostedReclaimControl()
    {
        _kswapdSc.MaySwap = _nrBoostReclaim == 0;
        _kswapdSc.MayWritepage = _nrBoostReclaim == 0;
    }

    /// <summary>
    /// The end of a balance_pgdat iteration with boosted reclaim owed: nr_boost_reclaim goes down by the round's
    /// reclaim; a boosted round that reclaimed nothing ends the loop (no I/O can be queued: kswapd_failures counts a
    /// run that reclaimed nothing at all); the priority stops at DEF_PRIORITY - 2 while boosting (no writeback at
    /// higher pressure). Returns whether the run ended.
    /// </summary>
    private bool AfterBoostedRound(Lruvec lruvec, int priorityBefore, long freed)
    {
        if (_nrBoostReclaim == 0)
            return false;
        _nrBoostReclaim -= Math.Min(_nrBoostReclaim, freed);
        if (_nrBoostReclaim > 0 && freed == 0)
        {
            if (_kswapdSc.NrReclaimed == 0)
                lruvec.KswapdFailures++;
            EndKswapdRun(lruvec);
            return true;
        }
        if (priorityBefore == ScanControl.DefPriority - 2 && freed > 0)
            _kswapdSc.Priority = priorityBefore;
        return false;
    }

    /// <summary>
    /// The end of balance_pgdat when the run was boosted: the zone's boost goes down by what it was when the run began
    /// (a boost raised during the run stays for the next one), and kcompactd is woken for pageblock_order, as there is
    /// now likely space to defragment pageblocks.
    /// </summary>
    private void EndKswapdBoost()
    {
        long boosted = _zoneBoost;
        _zoneBoost = _nrBoostReclaim = 0;
        _boostTaken = false;
        if (boosted == 0)
            return;
        var wm = _k.Zone.Watermarks;
        wm.Boost -= Math.Min(wm.Boost, boosted);
        _k.Kcompactd.WakeupKcompactd(PageAlloc.BuddyAllocator.PageblockOrder);
    }

    /// <summary>The end of balance_pgdat: snapshot_refaults, and kswapd goes back to sleep.</summary>
    private void EndKswapdRun(Lruvec lruvec)
    {
        lruvec.SnapshotRefaults();
        lruvec.PgdatWriteback = false; // clear_pgdat_congested
        _kswapdRunActive = false;
        KswapdAwake = false;
    }

    /// <summary>After a kswapd batch: sleep when balanced (free above high), else run again shortly.</summary>
    private void KswapdAfterRun(SimEnvironment env, int freed)
    {
        env.Counters.Increment(_k.C.PageOutRun);
        long freeAfter = _k.Zone.Buddy.NrFreePages + _k.ReclaimHost.PendingReleases;
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
            if (k.ReclaimHost.PageReferenced(pfn))
            {
                // shrink_folio_list's activate_locked: a kept swap-cache page gives its slot back once swap is
                // (or its group's memory.swap.max) is half used (mem_cgroup_swap_full), if no PTE holds its swap entry any more.
                if (k.MemCgroupSwapFull(pfn))
                    k.Memory.FreeSwapCacheOf(pfn);
                env.Counters.Increment(k.C.Referenced);
                lru.OnReferenced(pfn);
                continue;
            }
            bool anon = k.Zone.Frames[pfn].IsAnon;
            int outcome = k.ReclaimHost.ShrinkPage(env, pfn, out _);
            if (outcome == -2)
                continue; // mlocked: now on the unevictable list
            if (outcome < 0)
            {
                // A lazily freed page written again: swap-backed once more and activated (try_to_unmap_one).
                lru.OnReferenced(pfn);
                continue;
            }
            if (outcome is 0 or 3)
            {
                // Cannot go now (no swap slot, or a swap-cache THP kept whole): keep it out of this pass's way.
                k.Zone.Unevictable[pfn] = true;
                _skipped.Add(pfn);
                continue;
            }
            int nr = k.ReclaimHost.ReclaimedFolioPages; // 512 for a THP swapped out whole
            env.Counters.Add(anon ? k.C.PgStealAnon : k.C.PgStealFile, nr);
            reclaimed += nr;
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
}
