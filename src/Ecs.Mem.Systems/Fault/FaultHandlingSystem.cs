using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.AddressSpace;
using EcsMem.Traces;

namespace EcsMem.Systems.Fault;

/// <summary>
/// ① The page-fault handler (handle_mm_fault): classifies each fault the access stage raised this tick.
/// Faults that need no new frame are resolved into a <see cref="PteInstall"/> right away (zero page,
/// page-cache and swap-cache hits, COW reuse); faults that need a frame go to the allocator; bad accesses
/// kill the process with SIGSEGV, as Linux does, and the run goes on.
/// </summary>
public sealed class FaultHandlingSystem(Kernel.Kernel kernel) : ISystem
{
    public const int Sigsegv = 11;

    private readonly List<VmaChange> _changes = new();

    public string Name => "fault-handling";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<FaultRequest>();

    /// <summary>Acts only on this tick's FaultRequest work (nothing kept between ticks).</summary>
    public bool WorkOnly => true;

    public void Update(SimEnvironment env)
    {
        foreach (ref readonly FaultRequest req in env.WorkItems<FaultRequest>())
            HandleMmFault(env, req);
    }

    /// <summary>handle_mm_fault (with the VMA checks of do_user_addr_fault in front of it).</summary>
    private void HandleMmFault(SimEnvironment env, in FaultRequest req)
    {
        var world = kernel.World;
        if (!kernel.Tasks.IsIn(req.Process, ProcessState.Faulting))
            return;
        kernel.Smp.Enter(req.Cpu); // the fault runs on the CPU that raised it
        MmState mm = kernel.Tasks.MmOf(req.Process);
        ref ProcessStats stats = ref world.Get<ProcessStats>(req.Process);
        ulong va = req.Va;

        int idx = FindVma(mm, va, ref stats);
        // A trace without a layout gets the VMA it needs (created, or widened: exec for a fetch) before the checks.
        if (InferMapping(mm, va, req.Kind))
            idx = mm.Mm.Vmas.FindVma(va);
        if (idx < 0)
        {
            Segv(req, "no VMA");
            return;
        }
        ref readonly Vma vma = ref mm.Mm.Vmas[idx];
        ulong pte = mm.Tables.Lookup(va);
        FaultPath path = Classify(vma, pte, req.Kind, kernel.Options.UseZeroPage);
        switch (path)
        {
            case FaultPath.SegvAccess:
                Segv(req, "access not permitted by the VMA");
                return;
            case FaultPath.SegvNoExec:
                Segv(req, "instruction fetch from a no-exec page");
                return;
        }

        if (path is FaultPath.ZeroPage or FaultPath.AnonNew or FaultPath.FileFault && PteAllocReclaims(env, req, vma, mm, path))
            return;
        env.Counters.Increment(kernel.C.PgFault);
        kernel.Memcg?.CountFault(mm.Id, major: false);
        var rec = new FaultRecord
        {
            Process = req.Process,
            MmId = mm.Id,
            Va = va & Pte.PageMask,
            Kind = req.Kind,
            Prot = Pte.ProtFromVmFlags(vma.Flags, mm.Mm.Mode),
            Pfn = -1,
            SourcePfn = -1,
            File = -1,
            Cpu = req.Cpu,
        };
        rec.OrigPte = pte;
        if ((vma.Flags & VmFlags.HugeTlb) != 0)
        {
            HugetlbFault(env, ref rec, vma, mm, path, req);
            return;
        }
        if (kernel.Thp.Possible && HugePmdFault(env, ref rec, vma, mm, ref path, ref pte))
            return;
        var p = new Pte(pte);
        switch (path)
        {
            case FaultPath.Spurious or FaultPath.SharedWrite or FaultPath.WriteProtect:
                DoWpPageOrSpurious(env, ref rec, p, path);
                break;
            case FaultPath.FileFault when kernel.OpenFiles.ShmemPastEof(vma.FileId, (long)(vma.PgOff + ((rec.Va - vma.Start) >> Pte.PageShift))):
                // shmem_fault → shmem_get_folio_gfp: the page lies at or past i_size (a memfd or tmpfs file shrunk
                // below its mapping, or mapped beyond its size): -EINVAL, VM_FAULT_SIGBUS.
                Sigbus(req, "shmem fault past the file's size");
                break;
            case FaultPath.ZeroPage or FaultPath.AnonNew or FaultPath.FileFault:
                DoPteNone(env, ref rec, vma, path, ref stats);
                break;
            case FaultPath.SwapPage:
                DoSwapPage(env, ref rec, p, ref stats, mm, vma.Start);
                break;
            default:
                Segv(req, "PROT_NONE mapping");
                break;
        }
    }

    /// <summary>
    /// pte_alloc at the fault's start: do_anonymous_page allocates the page table before the page, and a file fault
    /// before it maps or reads (do_fault_around's and __do_fault's prealloc_pte, before filemap_map_pages and
    /// -&gt;fault with its readahead). GFP_PGTABLE_USER's memcg charge (try_charge_memcg) reclaims a group at its
    /// memory.max before it charges (<see cref="Memcontrol.MemcgController.ReclaimForPageTable"/>): then the fault
    /// stops here, the reclaim runs in this tick's reclaim stage, and the fault starts afresh in the next tick
    /// (<see cref="PteAllocRetry"/>, counted once), so it looks the page up only after the reclaim, as Linux does.
    /// The allocation returns its charges' outcome (<see cref="PageTable.PteAlloc"/>) and
    /// the reclaim is decided here, from that value. Returns true when the fault waits for that reclaim. Left out, as before: a hugetlb VMA, a range
    /// create_huge_pmd may fill, a shmem fault past EOF (it signals), and a zone that cannot spare the frames beyond
    /// those it holds back for granted faults (the table is then allocated at the install, its reclaim a tick later).
    /// </summary>
    private bool PteAllocReclaims(SimEnvironment env, in FaultRequest req, in Vma vma, MmState mm, FaultPath path)
    {
        ulong va = req.Va & Pte.PageMask;
        if ((vma.Flags & VmFlags.HugeTlb) != 0
            || (path != FaultPath.FileFault && kernel.Thp.Possible && kernel.Thp.VmaAllowsPmd(vma, va))
            || !System.Runtime.CompilerServices.Unsafe.IsNullRef(ref mm.Tables.Walk(va, out _))
            || (path == FaultPath.FileFault && kernel.OpenFiles.ShmemPastEof(vma.FileId, (long)(vma.PgOff + ((va - vma.Start) >> Pte.PageShift))))
            || kernel.Zone.MustStall(kernel.Zone.Buddy.NrFreePages, needsFrame: false))
            return false;
        mm.Tables.PteAlloc(va, out PageTableCharges charges);
        // A charge above memory.high owes its batch to this task's memcg_nr_pages_over_high, paid at the install.
        if (charges.OverHighPages > 0)
            kernel.Memcg!.AddOverHigh(req.Process, charges.OverHighPages);
        if (!charges.OverMax)
            return false;
        // The reclaim each charge at memory.max owes is this task's, in this tick's reclaim stage (still to run).
        kernel.Memcg!.ReclaimForPageTables(env, charges, req.Process, kernel.Tlb.CurrentCpu, thisTick: true);
        if (_pteAllocRetryKind < 0)
            _pteAllocRetryKind = env.RegisterEventKind("pte-alloc-reclaimed", new PteAllocRetry());
        env.Schedule(0, new SimEvent(_pteAllocRetryKind, req.Process, (long)req.Va, ((long)req.Kind << 16) | (uint)req.Cpu));
        return true;
    }

    private int _pteAllocRetryKind = -1;

    /// <summary>The fault whose page-table charge reclaimed the group goes on after that reclaim: the next tick's fault request.</summary>
    private sealed class PteAllocRetry : IEventHandler
    {
        public void Handle(SimEnvironment env, in SimEvent ev) =>
            env.Work<FaultRequest>().Add(new FaultRequest(ev.Target, (ulong)ev.Arg0, (AccessKind)(ev.Arg1 >> 16), (int)(ev.Arg1 & 0xffff)));
    }

    /// <summary>
    /// The fault handler's decision for a fault at a page whose VMA is <paramref name="vma"/> and whose PTE is
    /// <paramref name="pte"/> (0 when none), from those two alone: access_error, then handle_pte_fault's choice
    /// (do_wp_page, do_anonymous_page, do_fault, do_swap_page). What depends on other state — whether a COW page
    /// can be reused, whether a file or swap page is cached — is decided later by the path itself. Pure, so
    /// tools (ecsmem explain) can say what a fault would do with the handler's own rules.
    /// </summary>
    public static FaultPath Classify(in Vma vma, ulong pte, AccessKind kind, bool useZeroPage)
    {
        if (!AccessPermitted(vma.Flags, kind))
            return FaultPath.SegvAccess;
        var p = new Pte(pte);
        if (kind == AccessKind.Instr && p.Present && !p.Executable)
        {
            // The fetch hit a present no-exec page (X86_PF_PROT | X86_PF_INSTR): access_error's "read,
            // present" case. A fetch from a page not yet present got this far the first time, like a read.
            return FaultPath.SegvNoExec;
        }
        bool write = kind is AccessKind.Store or AccessKind.Modify;
        if (p.Present)
        {
            if (!write || p.Writable)
                return FaultPath.Spurious;
            return (vma.Flags & VmFlags.Shared) != 0 ? FaultPath.SharedWrite : FaultPath.WriteProtect;
        }
        if (pte == 0)
        {
            // A MAP_SHARED anonymous area maps its shmem object (shmem_zero_setup): shmem_fault, like a memfd's.
            if ((vma.Kind == VmaKind.File || vma.ShmemId != 0) && vma.FileId >= 0)
                return FaultPath.FileFault;
            // Shared anonymous memory without its object (an mm made outside a kernel) is never given the zero page
            // (a later write would otherwise make the shared zero page writable).
            return !write && useZeroPage && (vma.Flags & VmFlags.Shared) == 0 ? FaultPath.ZeroPage : FaultPath.AnonNew;
        }
        return p.IsSwap ? FaultPath.SwapPage : FaultPath.SegvProtNone;
    }

    /// <summary>
    /// __handle_mm_fault's PMD level, before handle_pte_fault: an empty PMD (no page table yet) in a range that may
    /// use THP takes create_huge_pmd → do_huge_pmd_anonymous_page (a read maps the huge zero folio when
    /// use_zero_page is set, a write asks for an order-9 folio); a write to a write-protected PMD mapping takes
    /// wp_huge_pmd → do_huge_pmd_wp_page: the huge zero page is replaced by a new THP (do_huge_zero_wp_pmd), an
    /// exclusive THP is reused whole, and a shared one (after fork) has its PMD split and the fault goes on as a
    /// 4 KiB write fault on the split entry (VM_FAULT_FALLBACK: copy-on-write of one page). Returns true when the
    /// fault is on its way; false when the 4 KiB path handles it (with <paramref name="pte"/> and
    /// <paramref name="path"/> updated after a split).
    /// </summary>
    private bool HugePmdFault(SimEnvironment env, ref FaultRecord rec, in Vma vma, MmState mm, ref FaultPath path, ref ulong pte)
    {
        var thp = kernel.Thp;
        if (path is FaultPath.ZeroPage or FaultPath.AnonNew)
        {
            if (!thp.VmaAllowsPmd(vma, rec.Va)
                || !System.Runtime.CompilerServices.Unsafe.IsNullRef(ref mm.Tables.Walk(rec.Va, out _)))
                return false; // pmd_none is false once a page table covers the range: the 4 KiB path
            // do_huge_pmd_anonymous_page: vmf_anon_prepare, then khugepaged_enter_vma.
            int vi = mm.Mm.Vmas.FindVma(rec.Va);
            bool hadAnonVma = mm.Mm.Vmas[vi].AnonVma != 0;
            mm.Mm.AnonVmaPrepare(vi);
            if (!hadAnonVma)
                kernel.Memcg?.SyncMmObjects(mm.Id, mm.Mm, kernel.Tlb.CurrentCpu);
            kernel.Khugepaged.EnterVma(mm, mm.Mm.Vmas[vi]);
            bool write = rec.Kind is AccessKind.Store or AccessKind.Modify;
            if (!write && kernel.Options.Thp.UseZeroPage)
            {
                int hz = thp.GetHugeZeroFolio();
                if (hz < 0)
                {
                    env.Counters.Increment(kernel.C.ThpFaultFallback);
                    return false;
                }
                rec.Class = FaultClass.HugeZeroPage;
                Resolve(ref rec, hz);
                return true;
            }
            rec.Class = FaultClass.HugeAnon;
            env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
            return true;
        }
        var p = new Pte(pte);
        if (path != FaultPath.WriteProtect || !p.PmdMapped)
            return false;
        int pfn = (int)p.Pfn;
        if (thp.IsHugeZero(pfn))
        {
            rec.Class = FaultClass.HugeAnon; // do_huge_zero_wp_pmd: OrigPte is the huge zero entry it replaces
            env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
            return true;
        }
        if (CanReuseHuge(kernel, pfn))
        {
            rec.Class = FaultClass.HugeReuse;
            Resolve(ref rec, pfn);
            return true;
        }
        thp.SplitPmd(mm, rec.Va);
        pte = mm.Tables.Lookup(rec.Va);
        rec.OrigPte = pte;
        path = Classify(vma, pte, rec.Kind, kernel.Options.UseZeroPage);
        return false;
    }

    /// <summary>
    /// do_huge_pmd_wp_page's reuse test (PageAnonExclusive, or a folio referenced only by this mapping): every page of
    /// the THP mapped once, unpinned, and its swap copy (if any) not referenced by another entry.
    /// </summary>
    public static bool CanReuseHuge(Kernel.Kernel kernel, int pfn)
    {
        int head = HugeMemory.HugeMemory.HeadOf(pfn);
        for (int i = 0; i < HugeMemory.HugeMemory.PmdPages; i++)
        {
            if (!CanReuse(kernel, head + i))
                return false;
        }
        return true;
    }

    /// <summary>find_vma plus stack growth (expand_stack): the VMA containing <paramref name="va"/>, or -1.</summary>
    private int FindVma(MmState mm, ulong va, ref ProcessStats stats)
    {
        var vmas = mm.Mm.Vmas;
        int idx = vmas.FindVma(va, mm.VmaCache);
        if (idx >= 0 && va >= vmas[idx].Start)
            return idx;
        if (idx >= 0 && (vmas[idx].Flags & VmFlags.GrowsDown) != 0 && mm.Mm.ExpandDownwards(idx, va) >= 0)
        {
            stats.StackGrowths++;
            kernel.Env.Counters.Increment(kernel.C.StackGrowth);
            return vmas.FindVma(va);
        }
        return -1;
    }

    /// <summary>
    /// For a trace without a layout: creates or widens the inferred VMA so it allows this access. Widening is
    /// an mprotect, so the PTEs already in the range get the new protection too (change_protection): a page
    /// first read and later fetched would otherwise keep its no-exec PTE and fault for ever.
    /// </summary>
    private bool InferMapping(MmState mm, ulong va, AccessKind kind)
    {
        if (mm.Inferred is null)
            return false;
        _changes.Clear();
        if (!mm.Inferred.EnsureMapped(va, kind, _changes))
            return false;
        foreach (VmaChange c in _changes)
        {
            if (c.Kind == VmaChangeKind.Protected)
                kernel.Mprotect.ChangeProtection(mm, c);
        }
        return true;
    }

    /// <summary>
    /// access_error (arch/x86/mm/fault.c) for a fault on a page that is not present: a write needs VM_WRITE;
    /// a read or an instruction fetch needs only an accessible VMA (vma_is_accessible: read, write or exec).
    /// x86 does not check VM_EXEC here: a fetch from a readable no-exec area maps the page, and only the
    /// retried fetch, now on a present NX page, is refused (see <see cref="HandleMmFault"/>).
    /// </summary>
    internal static bool AccessPermitted(VmFlags flags, AccessKind kind) => kind switch
    {
        AccessKind.Instr or AccessKind.Load => (flags & (VmFlags.Read | VmFlags.Write | VmFlags.Exec)) != 0,
        _ => (flags & VmFlags.Write) != 0,
    };

    /// <summary>A present PTE faulted: a write to a read-only PTE (do_wp_page), or a spurious fault.</summary>
    private void DoWpPageOrSpurious(SimEnvironment env, ref FaultRecord rec, Pte pte, FaultPath path)
    {
        int pfn = (int)pte.Pfn;
        if (path == FaultPath.Spurious)
        {
            rec.Class = FaultClass.Spurious;
            Resolve(ref rec, pfn);
            return;
        }
        if (path == FaultPath.SharedWrite)
        {
            rec.Class = FaultClass.SharedWrite;
            Resolve(ref rec, pfn);
            return;
        }
        // wp_can_reuse_anon_folio: a folio not on the LRU yet may be referenced by this CPU's lru_add batch, so
        // lru_add_drain lets that reference go before the count is read (a remote CPU's batch still holds its own).
        if (kernel.LruAddBatches is { } lruAdd && lruAdd.InBatch(pfn) && kernel.Zone.Frames[pfn].IsAnon && kernel.Zone.Frames[pfn].MapCount == 1)
            kernel.LruAddDrainCpu(rec.Cpu);
        if (CanReuse(kernel, pfn))
        {
            kernel.Memory.FreeSwapCacheOf(pfn);
            rec.Class = FaultClass.CowReuse;
            Resolve(ref rec, pfn);
            return;
        }
        rec.Class = FaultClass.CowCopy;
        rec.SourcePfn = pfn;
        kernel.Zone.PinFrame(pfn);
        env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
    }

    /// <summary>
    /// wp_can_reuse_anon_folio: an anonymous page mapped only here. A swap-cache page qualifies when no
    /// other PTE holds its swap entry any more (it was swapped in by a read of an exclusive entry): the
    /// swap copy is dropped (folio_free_swap) and the page reused, instead of copying a page nobody shares.
    /// </summary>
    public static bool CanReuse(Kernel.Kernel kernel, int pfn)
    {
        ref Frame f = ref kernel.Zone.Frames[pfn];
        return pfn != kernel.Zone.ZeroPfn && f.IsAnon && f.MapCount == 1 && kernel.Zone.Pins[pfn] == 0
            && ((f.Flags & FrameFlags.SwapCache) == 0 || kernel.Swap.Count((int)f.Index) == 0);
    }

    /// <summary>No PTE yet: do_anonymous_page or do_fault (file) — the first touch of a page.</summary>
    private void DoPteNone(SimEnvironment env, ref FaultRecord rec, in Vma vma, FaultPath path, ref ProcessStats stats)
    {
        if (path == FaultPath.ZeroPage)
        {
            rec.Class = FaultClass.ZeroPage;
            Resolve(ref rec, kernel.Zone.ZeroPfn);
            return;
        }
        if (path == FaultPath.AnonNew)
        {
            // alloc_anon_folio: an mTHP when a sub-PMD size is enabled for this VMA and its aligned range is all none.
            rec.Orders = kernel.Options.Thp.AnyMthp ? kernel.Thp.AnonFaultOrders(kernel.Tasks.MmById(rec.MmId)!, vma, rec.Va) : 0;
            rec.Class = rec.Orders != 0 ? FaultClass.AnonLarge : FaultClass.AnonNew;
            env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
            return;
        }

        bool write = rec.Kind is AccessKind.Store or AccessKind.Modify;
        rec.File = vma.FileId;
        rec.FileIndex = (long)(vma.PgOff + ((rec.Va - vma.Start) >> Pte.PageShift));
        kernel.Readahead.NoteFileExtent(rec.File, (long)(vma.PgOff + ((vma.End - vma.Start) >> Pte.PageShift)));
        if (vma.ShmemId != 0)
            kernel.OpenFiles.ShmemZeroSetup(rec.File, rec.MmId);
        int cached = kernel.PageCache.Find(rec.File, rec.FileIndex);
        bool privateWrite = write && (vma.Flags & VmFlags.Shared) == 0;
        // A memfd's faults are shmem_fault's: no readahead, and a missing page is allocated, not read.
        bool shmem = kernel.OpenFiles.IsShmem(rec.File);
        if (cached < 0 && shmem && kernel.OpenFiles.ShmemSwapSlot(rec.File, rec.FileIndex) is int slot and > 0)
        {
            // shmem_get_folio found a swap entry in the page cache: shmem_swapin_folio.
            stats.SwapIns++;
            int sc = kernel.SwapCache.Lookup(slot);
            if (sc < 0)
            {
                // Not in the swap cache: read from swap (with cluster readahead) once the frame is granted — major.
                rec.Class = FaultClass.FileRead;
                rec.SwapSlot = slot;
                rec.Major = true;
                rec.CopyAfterRead = privateWrite;
                env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
                return;
            }
            // A swap-cache hit (an earlier readahead): the page goes back into the page cache, a minor fault.
            kernel.SwapReadahead.CacheHitNoVma(env, sc);
            stats.SwapCacheHits++;
            env.Counters.Increment(kernel.C.SwapCacheHit);
            kernel.OpenFiles.ShmemSwapin(sc, rec.File, rec.FileIndex, slot, inSwapCache: true);
            cached = sc;
        }
        if (cached >= 0)
        {
            // filemap_fault found the page: do_async_mmap_readahead (a marker page starts the next window, read inside
            // this fault: a window waiting for a reclaim round holds the fault until its loop ends).
            if (!write && !shmem && (kernel.Zone.Frames[cached].Flags & FrameFlags.Readahead) != 0 && kernel.Tasks.MmById(rec.MmId) is { } faultMm)
            {
                // do_read_fault runs do_fault_around before __do_fault: the marked page's cached neighbours are mapped
                // before filemap_fault starts the next window (its reclaim rounds can take only unmapped pages), and
                // again by the fault's retry after it (FaultInstallSystem). filemap_map_pages skips the marked page.
                kernel.Readahead.FaultAround(faultMm, vma, rec.Va, rec.FileIndex, Pte.ProtFromVmFlags(vma.Flags, faultMm.Mm.Mode) & ~Pte.RwBit, rec.Process);
            }
            int raWait = shmem ? 0 : kernel.Readahead.AsyncMmapReadahead(env, rec.Process, rec.MmId, rec.File, rec.FileIndex, vma.Flags, cached, rec.Cpu);
            stats.PageCacheHits++;
            env.Counters.Increment(kernel.C.PageCacheHit);
            if (privateWrite)
            {
                // do_cow_fault: a private copy of the cached page.
                rec.Class = FaultClass.CowCopy;
                rec.SourcePfn = cached;
                kernel.Zone.PinFrame(cached);
                Submit(new AllocRequest(rec, NeedsFrame: true), cached, raWait);
                return;
            }
            rec.Class = FaultClass.FileCached;
            rec.Pfn = cached;
            kernel.Zone.PinFrame(cached);
            Submit(new AllocRequest(rec, NeedsFrame: false), cached, raWait);
            return;
        }
        rec.Class = FaultClass.FileRead;
        rec.CopyAfterRead = privateWrite;
        if (shmem)
        {
            // shmem_get_folio allocates the page zero-filled: a minor fault (OpenFiles.ShmemFault once the frame is granted).
            env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
            return;
        }

        env.Counters.Increment(kernel.C.PageCacheMiss);
        rec.Major = true;
        // do_cow_fault on a page not yet cached: one major fault reads it and then copies it.
        rec.CopyAfterRead = privateWrite;
        env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
    }

    /// <summary>
    /// do_swap_page: the PTE holds a swap entry. A swap-cache hit (swap_cache_get_folio, which keeps the readahead
    /// statistics) is a minor fault; a miss reads the page, and swap readahead its neighbours, once the allocator
    /// has granted its frame (<see cref="FaultPaths.FrameGranted"/>), and is major.
    /// </summary>
    private void DoSwapPage(SimEnvironment env, ref FaultRecord rec, Pte pte, ref ProcessStats stats, MmState mm, ulong vmaStart)
    {
        rec.SwapSlot = (int)pte.ToSwapEntry().Offset;
        stats.SwapIns++;
        int cached = kernel.SwapCache.Lookup(rec.SwapSlot);
        if (cached >= 0)
        {
            // A THP swapped out whole and still in the swap cache: Linux 6.10+ maps the whole folio with PTEs when
            // every entry of its range is still its swap entry; EcsMem splits it here and maps the 4 KiB page
            // (docs/kernel.md, THP simplifications).
            if ((kernel.Zone.Frames[cached].Flags & FrameFlags.Thp) != 0)
                kernel.Thp.SplitFolio(HugeMemory.HugeMemory.HeadOf(cached));
            kernel.SwapReadahead.CacheHit(env, cached, mm, vmaStart, rec.Va);
            stats.SwapCacheHits++;
            env.Counters.Increment(kernel.C.SwapCacheHit);
            rec.Class = FaultClass.SwapCached;
            Resolve(ref rec, cached);
            return;
        }
        rec.Class = FaultClass.SwapRead;
        rec.Major = true;
        env.Work<AllocRequest>().Add(new AllocRequest(rec, NeedsFrame: true));
    }

    /// <summary>A fault whose page is already in memory: pin it and send it straight to the PTE install.</summary>
    private void Resolve(ref FaultRecord rec, int pfn)
    {
        rec.Pfn = pfn;
        kernel.Zone.PinFrame(pfn);
        // Mapping may need page-table pages, so it goes through the allocator's reserve check like any fault.
        Submit(new AllocRequest(rec, NeedsFrame: false), pfn);
    }

    /// <summary>Sends a fault on to the allocator, unless its cached page is still being read: then it waits for the read.</summary>
    /// <remarks><paramref name="raWait"/>: the wait key of the readahead window this fault runs (0: none), slept on first.</remarks>
    private void Submit(in AllocRequest req, int cachedPfn, int raWait = 0)
    {
        if (raWait != 0)
            kernel.PageWaits.WaitOnPageLocked(raWait, req); // the window's loop first, then the page's lock (WakeUpWindowWaiters)
        else if (cachedPfn != kernel.Zone.ZeroPfn && !kernel.Thp.IsHugeZero(cachedPfn)
            && (kernel.Zone.Frames[cachedPfn].Flags & FrameFlags.Locked) != 0)
            kernel.PageWaits.WaitOnPageLocked(cachedPfn, req);
        else
            kernel.Env.Work<AllocRequest>().Add(req);
    }

    /// <summary>
    /// hugetlb_fault for a fault in a hugetlb VMA (a 2 MiB page whatever the address inside it): an empty entry takes
    /// hugetlb_no_page — a shared file's cached page, else a page from the pool (its reservation if the index has one),
    /// mapped writable in a shared writable mapping, read-only in a private one unless the fault writes (then hugetlb_wp
    /// runs in the same fault and reuses the new page); no page left ends the task with SIGBUS. A write to a
    /// write-protected entry takes hugetlb_wp: reuse when this is the page's only mapping, else a copy into a new pool
    /// page (no reservation used: simplified, Linux lets the reservation's owner take one and unmaps the page from the
    /// children if none is free).
    /// </summary>
    private void HugetlbFault(SimEnvironment env, ref FaultRecord rec, in Vma vma, MmState mm, FaultPath path, in FaultRequest req)
    {
        var h = kernel.Hugetlb;
        long idx = Hugetlb.Hugetlb.IndexOf(vma, rec.Va & Hugetlb.Hugetlb.Mask);
        bool shared = (vma.Flags & VmFlags.MayShare) != 0;
        // The fault is the huge page's: its address and entry are the 2 MiB block's first (huge_pte_offset).
        rec.Va &= Hugetlb.Hugetlb.Mask;
        rec.OrigPte = mm.Tables.Lookup(rec.Va);
        var p = new Pte(rec.OrigPte);
        switch (path)
        {
            case FaultPath.Spurious:
                DoWpPageOrSpurious(env, ref rec, p, path);
                return;
            case FaultPath.ZeroPage or FaultPath.AnonNew:
                {
                    int head = shared ? h.LookupCache(vma.ShmemId, idx) : -1;
                    if (head < 0)
                    {
                        // Only the mapping that made a private reservation (HPAGE_RESV_OWNER) may use it; a fork child's
                        // copy of the VMA may not.
                        head = h.AllocFolio(vma.ShmemId, idx, useReserve: shared || h.IsOwner(vma.ShmemId, rec.MmId));
                        if (head < 0)
                        {
                            Sigbus(req, "no huge page left in the hugetlb pool");
                            return;
                        }
                        if (shared)
                            h.AddToCache(vma.ShmemId, idx, head);
                    }
                    rec.Class = FaultClass.Hugetlb;
                    Resolve(ref rec, head);
                    return;
                }
            case FaultPath.WriteProtect or FaultPath.SharedWrite when p.PmdMapped && h.IsHugetlb((int)p.Pfn):
                {
                    int head = (int)p.Pfn;
                    if (shared || h.MapCount(head) == 1)
                    {
                        rec.Class = FaultClass.HugetlbReuse;
                        Resolve(ref rec, head);
                        return;
                    }
                    int copy = h.AllocFolio(vma.ShmemId, idx, useReserve: false);
                    if (copy < 0)
                    {
                        Sigbus(req, "no huge page left in the hugetlb pool for copy-on-write");
                        return;
                    }
                    rec.Class = FaultClass.HugetlbCopy;
                    Resolve(ref rec, copy);
                    return;
                }
            default:
                Segv(req, "PROT_NONE mapping");
                return;
        }
    }

    private void Sigbus(in FaultRequest req, string why)
    {
        kernel.Tasks.KillProcess(req.Process, Hugetlb.Hugetlb.Sigbus, $"bus error at {req.Va:x} ({why})");
    }

    private void Segv(in FaultRequest req, string why)
    {
        kernel.Env.Counters.Increment(kernel.C.Segv);
        kernel.Events?.Segv(req);
        kernel.Tasks.KillProcess(req.Process, Sigsegv, $"segfault at {req.Va:x} ({why})");
    }
}
