using EcsMem.Components;
using EcsMem.Simulation;

namespace EcsMem.Systems.Fault;

/// <summary>
/// ⑦ The end of every fault path (finish_fault / set_pte_at at the end of do_anonymous_page, do_wp_page,
/// filemap_map_pages and do_swap_page): installs the PTE of each fault resolved this tick, per fault class,
/// after re-checking the VMA and the PTE as Linux does under the page-table lock, and wakes the task. It runs
/// after the rmap rewrite, so a page reclaim unmapped this tick is never mapped again by a stale fault.
/// Classification (<see cref="FaultHandlingSystem"/>) and install per class both live in this folder:
/// adding a fault class touches only Fault/.
/// </summary>
public sealed class FaultInstallSystem(Kernel.Kernel kernel) : ISystem
{
    public string Name => "fault-install";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<PteInstall>();

    /// <summary>Acts only on this tick's PteInstall work (nothing kept between ticks).</summary>
    public bool WorkOnly => true;

    public void Update(SimEnvironment env)
    {
        foreach (ref readonly PteInstall r in env.WorkItems<PteInstall>())
            Install(env, r.Fault);
    }

    /// <summary>folio_mark_dirty for a page-cache page a write fault maps writable (not shmem or anon: no writeback accounting).</summary>
    private static bool MarkDirty(Kernel.Kernel k, int pfn)
    {
        // Simplification (docs/kernel.md): a large page-cache folio written through a shared mapping is split, so the
        // dirty-page accounting and writeback keep following single pages (Linux dirties and writes the folio whole).
        Filemap.PageCacheFolio.Split(k, pfn);
        if (k.Flusher is not { } flusher)
            return false;
        ref Frame f = ref k.Zone.Frames[pfn];
        if (f.IsAnon || f.IsShmem || f.Mapping < 0)
            return false;
        flusher.FolioMarkDirty(pfn);
        return true;
    }

    private void Install(SimEnvironment env, FaultRecord rec)
    {
        var k = kernel;
        var world = k.World;
        if (!k.Tasks.IsIn(rec.Process, ProcessState.Faulting))
        {
            k.Events?.Fault(rec, Events.FaultOutcome.Dropped);
            rec.Drop(kernel);
            return;
        }
        k.Smp.Enter(rec.Cpu);
        k.Smp.CatchUp(rec.NotBefore);
        MmState mm = k.Tasks.MmById(rec.MmId)!;
        bool write = rec.Kind is Traces.AccessKind.Store or Traces.AccessKind.Modify;
        ref ProcessStats stats = ref world.Get<ProcessStats>(rec.Process);
        // Re-validate as the end of a Linux fault does under the page-table lock: the VMA may have been
        // unmapped or reprotected, or the PTE changed, while the fault waited for disk or for reclaim
        // (pte_same fails). Then nothing is installed and the access simply retries (and faults afresh).
        int vi = mm.Mm.Vmas.FindVma(rec.Va);
        bool dirtied = false;
        bool stale = vi < 0 || mm.Mm.Vmas[vi].Start > rec.Va
            || !FaultHandlingSystem.AccessPermitted(mm.Mm.Vmas[vi].Flags, rec.Kind)
            || !PteSame(mm.Tables.Lookup(rec.Va), rec.OrigPte)
            || (rec.Class is FaultClass.HugeAnon or FaultClass.HugeZeroPage && !HugeStillFits(mm, mm.Mm.Vmas[vi], rec))
            || (rec.Class == FaultClass.AnonLarge && !LargeStillFits(mm, mm.Mm.Vmas[vi], rec));
        if (!stale)
        {
            VmFlags vmFlags = mm.Mm.Vmas[vi].Flags;
            ulong prot = Pte.ProtFromVmFlags(vmFlags, mm.Mm.Mode);
            bool vmWrite = (vmFlags & VmFlags.Write) != 0;
            // A page table the install allocates (a THP fault's fallback or its deposit, hugetlb, a zone too short at
            // the fault's start) is pte_alloc_one's in current's context: the faulting thread reclaims for it, not mm->owner.
            switch (rec.Class)
            {
                case FaultClass.Spurious:
                    break;
                case FaultClass.CowReuse:
                case FaultClass.SharedWrite:
                    {
                        ref ulong slot = ref mm.Tables.Walk(rec.Va, out _);
                        slot = new Pte(slot).MkWrite().MkDirty().Value;
                        k.Tlb.FlushTlbPage(mm.Tlb, rec.Va);
                        // wp_page_shared → fault_dirty_shared_page: a page-cache page becomes dirty.
                        if (rec.Class == FaultClass.SharedWrite)
                            dirtied = MarkDirty(k, rec.Pfn);
                        if (rec.Class == FaultClass.CowReuse)
                        {
                            stats.CowReuses++;
                            env.Counters.Increment(k.C.CowReuse);
                        }
                        break;
                    }
                case FaultClass.ZeroPage:
                    k.Memory.MapPage(mm, rec.Va, rec.Pfn, prot & ~Pte.RwBit, rec.Process);
                    stats.ZeroPageMaps++;
                    env.Counters.Increment(k.C.ZeroPageMap);
                    break;
                case FaultClass.AnonNew:
                    // do_anonymous_page maps a new page writable and dirty whenever the VMA allows writing,
                    // even on a read fault (no zero page); a read-only VMA gets a read-only PTE.
                    k.Memory.MapPage(mm, rec.Va, rec.Pfn, vmWrite ? prot | Pte.RwBit | Pte.DirtyBit : prot, rec.Process);
                    break;
                case FaultClass.AnonLarge:
                    {
                        // do_anonymous_page's set_ptes: every page of the mTHP mapped at once, writable and dirty when
                        // the VMA allows writing, as an order-0 new page is.
                        ulong addr = rec.Va & ~((Pte.PageSize << rec.Order) - 1);
                        for (int i = 0; i < 1 << rec.Order; i++)
                            k.Memory.MapPage(mm, addr + ((ulong)i << Pte.PageShift), rec.Pfn + i, vmWrite ? prot | Pte.RwBit | Pte.DirtyBit : prot, rec.Process);
                        break;
                    }
                case FaultClass.HugeAnon:
                    {
                        // map_anon_folio_pmd: one PMD, dirty, writable when the VMA is (maybe_pmd_mkwrite); replacing
                        // the huge zero page flushes its translation (pmdp_huge_clear_flush).
                        ulong haddr = rec.Va & HugeMemory.HugeMemory.PmdMask;
                        ulong hprot = (vmWrite ? prot | Pte.RwBit : prot) | Pte.DirtyBit | Pte.PmdMappedBit;
                        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
                            k.Memory.MapPage(mm, haddr + ((ulong)i << Pte.PageShift), rec.Pfn + i, hprot, rec.Process);
                        if (rec.OrigPte != 0)
                            k.Tlb.FlushTlbMmRange(mm.Tlb, haddr, haddr + HugeMemory.HugeMemory.PmdSize, freedTables: false);
                        k.Thp.NoteMapped();
                        k.Thp.DeferredSplitFolio(rec.Pfn, partiallyMapped: false); // a candidate for the underused split
                        break;
                    }
                case FaultClass.HugeZeroPage:
                    {
                        // set_huge_zero_folio: the huge zero folio mapped read-only (a special mapping: no rmap, no RSS).
                        ulong haddr = rec.Va & HugeMemory.HugeMemory.PmdMask;
                        int hz = k.Thp.HugeZeroPfn;
                        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
                            k.Memory.MapPage(mm, haddr + ((ulong)i << Pte.PageShift), hz + i, (prot & ~Pte.RwBit) | Pte.PmdMappedBit, rec.Process);
                        k.Thp.NoteMapped();
                        break;
                    }
                case FaultClass.HugeReuse:
                    {
                        // do_huge_pmd_wp_page's reuse: the PMD made writable and dirty, its translation flushed.
                        ulong haddr = rec.Va & HugeMemory.HugeMemory.PmdMask;
                        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
                        {
                            ulong va = haddr + ((ulong)i << Pte.PageShift);
                            ref ulong slot = ref mm.Tables.Walk(va, out _);
                            k.Dirty?.Pte(mm, va, slot);
                            slot = new Pte(slot).MkWrite().MkDirty().Value;
                        }
                        k.Tlb.FlushTlbMmRange(mm.Tlb, haddr, haddr + HugeMemory.HugeMemory.PmdSize, freedTables: false);
                        stats.CowReuses++;
                        env.Counters.Increment(k.C.CowReuse);
                        break;
                    }
                case FaultClass.Hugetlb:
                    {
                        // hugetlb_no_page: writable and dirty in a shared writable mapping, or on a private write fault
                        // (hugetlb_wp's reuse in the same fault); read-only otherwise.
                        bool shared = (vmFlags & VmFlags.MayShare) != 0;
                        ulong hprot = vmWrite && (shared || write) ? prot | Pte.RwBit | Pte.DirtyBit : prot & ~Pte.RwBit;
                        k.Hugetlb.Map(mm, rec.Va, rec.Pfn, hprot, rec.Process);
                        break;
                    }
                case FaultClass.HugetlbReuse:
                    k.Hugetlb.MakeWritable(mm, rec.Va);
                    break;
                case FaultClass.HugetlbCopy:
                    {
                        // hugetlb_wp's copy: the new page replaces the shared one in this mm only.
                        int old = (int)new Pte(mm.Tables.Lookup(rec.Va)).Pfn;
                        k.Hugetlb.Unmapped(mm, old);
                        k.Hugetlb.Map(mm, rec.Va, rec.Pfn, prot | Pte.RwBit | Pte.DirtyBit, rec.Process);
                        k.Tlb.FlushTlbMmRange(mm.Tlb, rec.Va, rec.Va + Hugetlb.Hugetlb.Size, freedTables: false);
                        stats.CowCopies++;
                        env.Counters.Increment(k.C.CowCopy);
                        break;
                    }
                case FaultClass.CowCopy:
                    k.Memory.MapPage(mm, rec.Va, rec.Pfn, (prot | Pte.RwBit | Pte.DirtyBit) & ~Pte.CowBit, rec.Process);
                    k.Tlb.FlushTlbPage(mm.Tlb, rec.Va);
                    stats.CowCopies++;
                    env.Counters.Increment(k.C.CowCopy);
                    break;
                case FaultClass.FileCached:
                case FaultClass.FileRead:
                    {
                        bool shared = (prot & Pte.RwBit) != 0; // only shared writable mappings carry RW in vm_page_prot
                        // shmem has no page_mkwrite, so a shared mapping of a memfd needs no write notification
                        // (vma_wants_writenotify): its vm_page_prot stays writable and read faults map pages writable.
                        ref Frame page = ref k.Zone.Frames[rec.Pfn];
                        ulong readProt = shared && page.IsShmem && !page.IsAnon ? prot : prot & ~Pte.RwBit;
                        k.Memory.MapPage(mm, rec.Va, rec.Pfn, shared && write ? prot | Pte.DirtyBit : readProt, rec.Process);
                        // do_shared_fault → fault_dirty_shared_page.
                        if (shared && write)
                            dirtied = MarkDirty(k, rec.Pfn);
                        // do_read_fault: a read fault maps the page's cached neighbours too (do_fault_around). A fault
                        // that slept on a read dropped the mmap lock and is retried once the page is uptodate
                        // (VM_FAULT_RETRY), and the retry's fault-around maps what that read brought in.
                        if (!write)
                            k.Readahead.FaultAround(mm, mm.Mm.Vmas[vi], rec.Va, rec.FileIndex, readProt, rec.Process);
                        break;
                    }
                case FaultClass.SwapCached:
                case FaultClass.SwapRead:
                    if (InstallSwapPage(mm, rec, prot, write, vmFlags) && write)
                    {
                        // do_swap_page ends with do_wp_page on a write fault: the page it just mapped read-only is
                        // not exclusive, so wp_page_copy copies it within this same fault. The copy's frame comes
                        // from the allocator at its next pass (the fault stays in progress, not counted yet); its
                        // install is a COW copy over the read-only PTE mapped here.
                        var copy = rec;
                        copy.Class = FaultClass.CowCopy;
                        copy.SourcePfn = rec.Pfn; // this fault's pin now holds the swap-cache page as the source
                        copy.Pfn = -1;
                        copy.OrigPte = mm.Tables.Lookup(rec.Va);
                        k.Zone.Stalled.Add(new AllocRequest(copy, NeedsFrame: true));
                        return;
                    }
                    break;
            }
        }
        // The faulting store writes data into the page it installed (the trace's stores are not zeros).
        if (!stale && write && rec.Pfn >= 0 && rec.Pfn < k.Zone.Frames.Length)
            k.Zone.Frames[rec.Pfn].Flags &= ~FrameFlags.ZeroFilled;
        stats.RssPeak = (long)mm.HiwaterRss;
        rec.Drop(kernel);
        if (rec.Major)
        {
            stats.MajFlt++;
            env.Counters.Increment(k.C.PgMajFault);
        }
        else
        {
            stats.MinFlt++;
        }
        long cost = k.Timing.MinorFaultCycles;
        // folio_zero_user: a THP fault clears its 512 pages after the charge, installed or not (a stale fault's
        // folio was cleared before the PMD lock found the entry changed).
        if (rec.Class == FaultClass.HugeAnon)
            cost += k.Timing.ClearHugePageCycles;
        stats.CpuCycles += cost;
        k.Cycles.Charge(Timing.CycleCategory.Fault, cost);
        k.Env.Clock.Advance((ulong)cost);
        if (k.Memcg is { } mc)
        {
            if (rec.Major)
                mc.CountFault(rec.MmId, major: true);
            // Back to user space: a task that charged pages above memory.high pays for them now.
            ulong sleep = mc.HandleOverHigh(env, rec.Process, rec.MmId, rec.Cpu, k.Options.SwapClusterMax, k.Timing.ClockGHz);
            if (sleep > 0)
                k.Env.Clock.Advance(sleep);
        }
        // balance_dirty_pages_ratelimited after a page was dirtied: the writer may pause while the flusher writes.
        if (dirtied && k.Flusher is { } flusher)
        {
            ulong pause = flusher.BalanceDirtyPagesRatelimited(rec.Process.Id);
            if (pause > 0)
                k.Env.Clock.Advance(pause);
        }
        ref Process task = ref world.Get<Process>(rec.Process);
        task.State = ProcessState.Runnable;
        task.ReadyTime = env.Now;
        k.Events?.Fault(rec, stale ? Events.FaultOutcome.Retried : Events.FaultOutcome.Installed);
    }

    /// <summary>
    /// The end of do_swap_page (Linux 6.x): the fault's reference to the swap entry goes (swap_free, in MapPage);
    /// should_try_to_free_swap then drops the page from the swap cache, freeing its slot, when swap is more than
    /// half full (vm_swap_full), the VMA is VM_LOCKED, or a write fault finds the page used by no one else (no
    /// other mapping or reference: folio_ref_count == 2) — folio_free_swap succeeds only if no other PTE holds
    /// the swap entry. A write fault on a swap-cache folio without PG_lru first drains this CPU's batches
    /// (do_swap_page's lru_add_drain), so a folio its own one-page swap-in left in the local lru_add batch passes
    /// the test; otherwise a batch's reference counts, in the reuse test below too (folio_ref_count == 1). The page
    /// is exclusive when the swap PTE says so (pte_swp_exclusive: it was mapped by this PTE alone when swapped out
    /// and no fork has shared the entry since) or when it is now used by this fault alone (out of the swap cache, no
    /// other mapping or reference); an exclusive page is mapped writable whenever the VMA
    /// allows writing, on a read fault too (dirty only on a write), so the next store does not fault. A page that
    /// is not exclusive is mapped read-only and write-protected (COW); on a write fault the caller then copies it
    /// within the same fault, as do_swap_page's closing do_wp_page does. The decision is taken here, at the install,
    /// so that faults of one tick see each other's effects in order whatever the batch size.
    /// </summary>
    /// <returns>True when the page was mapped read-only for COW (not exclusive).</returns>
    private bool InstallSwapPage(MmState mm, in FaultRecord rec, ulong vmProt, bool write, VmFlags vmFlags)
    {
        var k = kernel;
        int pfn = rec.Pfn;
        ref Frame f = ref k.Zone.Frames[pfn];
        bool inSwapCache = (f.Flags & FrameFlags.SwapCache) != 0;
        // Linux's PG_lru: set on a folio drained with its readahead window (EcsMem's waits in the batch instead).
        bool folioTestLru = (f.Flags & FrameFlags.Lru) != 0 || rec.SwapinDrained;
        if (write && inSwapCache && !folioTestLru)
            k.LruAddDrainCpu(rec.Cpu);
        // Only this fault's pin and no mapping: folio_ref_count is the swap cache's reference plus ours. A batch's
        // reference counts (a one-page window's folio on another CPU, or a read fault's), but not the one EcsMem's
        // insert after a drained window holds.
        int pins = rec.SwapinDrained ? k.PinsBesidesLruAdd(pfn) : k.Zone.Pins[pfn];
        bool soleUser = f.MapCount == 0 && pins == 1;
        bool tryFree = inSwapCache
            && (k.MemCgroupSwapFull(pfn) || (vmFlags & VmFlags.Locked) != 0 || (write && soleUser));
        // After this fault's swap_free, folio_free_swap can drop the page if no other PTE holds the entry.
        bool freed = tryFree && k.Swap.Count((int)f.Index) == 1;
        bool exclusive = (rec.OrigPte & Pte.SwpExclusiveBit) != 0 || ((!inSwapCache || freed) && soleUser);
        ulong prot = vmProt & ~Pte.RwBit;
        if (exclusive && (vmFlags & VmFlags.Write) != 0)
            prot |= write ? Pte.RwBit | Pte.DirtyBit : Pte.RwBit;
        else if (!exclusive)
            prot |= Pte.CowBit;
        k.Memory.MapPage(mm, rec.Va, pfn, prot, rec.Process);
        if (freed)
            k.Memory.FreeSwapCacheOf(pfn);
        return !exclusive;
    }

    /// <summary>
    /// The PMD-level re-check of a huge fault under the PMD lock: the block still lies wholly in a VMA that may use THP,
    /// and the PMD is still empty (no page table covers it) — or, replacing the huge zero page, still maps it.
    /// </summary>
    private bool HugeStillFits(MmState mm, in Vma vma, in FaultRecord rec)
    {
        if (!kernel.Thp.VmaAllowsPmd(vma, rec.Va))
            return false;
        if (rec.OrigPte != 0)
            return Pte.IsPmdMapped(mm.Tables.Lookup(rec.Va));
        return System.Runtime.CompilerServices.Unsafe.IsNullRef(ref mm.Tables.Walk(rec.Va, out _));
    }

    /// <summary>
    /// do_anonymous_page's re-check of an mTHP under the page-table lock (pte_range_none): the folio's range is still
    /// wholly inside the VMA and every entry in it still none; otherwise the folio is released and the access retries.
    /// </summary>
    private static bool LargeStillFits(MmState mm, in Vma vma, in FaultRecord rec)
    {
        ulong size = Pte.PageSize << rec.Order, addr = rec.Va & ~(size - 1);
        return addr >= vma.Start && addr + size <= vma.End && HugeMemory.HugeMemory.PteRangeNone(mm, addr, 1 << rec.Order);
    }

    /// <summary>pte_same, ignoring the accessed and dirty bits the hardware may set meanwhile.</summary>
    private static bool PteSame(ulong a, ulong b) =>
        ((a ^ b) & ~(Pte.AccessedBit | Pte.DirtyBit | Pte.SoftDirtyBit)) == 0;
}
