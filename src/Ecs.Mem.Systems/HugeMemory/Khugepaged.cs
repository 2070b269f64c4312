using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Simulation;

namespace EcsMem.Systems.HugeMemory;

/// <summary>What one hpage_collapse_scan_pmd / collapse_huge_page found (mm/khugepaged.c's enum scan_result, the values EcsMem can reach).</summary>
public enum ScanResult : byte
{
    /// <summary>SCAN_FAIL.</summary>
    Fail,
    /// <summary>SCAN_SUCCEED: the range was collapsed.</summary>
    Succeed,
    /// <summary>SCAN_PMD_NULL / SCAN_PMD_NONE: no page table covers the range.</summary>
    PmdNull,
    /// <summary>SCAN_PMD_MAPPED: the range is PMD-mapped already.</summary>
    PmdMapped,
    /// <summary>SCAN_EXCEED_NONE_PTE: more than max_ptes_none empty or zero-page entries.</summary>
    ExceedNonePte,
    /// <summary>SCAN_EXCEED_SWAP_PTE: more than max_ptes_swap swap entries.</summary>
    ExceedSwapPte,
    /// <summary>SCAN_EXCEED_SHARED_PTE: more than max_ptes_shared pages mapped more than once.</summary>
    ExceedSharedPte,
    /// <summary>SCAN_PAGE_RO: no entry is writable.</summary>
    PageRo,
    /// <summary>SCAN_LACK_REFERENCED_PAGE: no young entry (or too few with swap entries).</summary>
    LackReferencedPage,
    /// <summary>SCAN_PAGE_NULL: a special entry (vm_normal_page returns NULL).</summary>
    PageNull,
    /// <summary>SCAN_PAGE_ANON: a page that is not anonymous.</summary>
    PageAnon,
    /// <summary>SCAN_PAGE_LRU: a page not on an LRU list.</summary>
    PageLru,
    /// <summary>SCAN_PAGE_LOCK: a locked page (under I/O).</summary>
    PageLock,
    /// <summary>SCAN_PAGE_COUNT: a page with references beyond its mappings (pinned).</summary>
    PageCount,
    /// <summary>SCAN_PAGE_COMPOUND: a page of a PTE-mapped THP (EcsMem does not collapse those, see docs/kernel.md).</summary>
    PageCompound,
    /// <summary>SCAN_ALLOC_HUGE_PAGE_FAIL: the order-9 allocation failed.</summary>
    AllocHugePageFail,
    /// <summary>SCAN_CGROUP_CHARGE_FAIL: the memcg charge of the new folio failed.</summary>
    CgroupChargeFail,
}

/// <summary>
/// khugepaged (mm/khugepaged.c) in simulated time: the kernel thread that collapses anonymous 2 MiB ranges mapped by
/// 4 KiB PTEs into PMD-mapped THPs. An mm joins its list (__khugepaged_enter) when a THP fault, MADV_HUGEPAGE, or in
/// <c>always</c> mode an mmap or brk, finds a VMA khugepaged may work on (thp_vma_allowable_order with
/// TVA_ENFORCE_SYSFS: an anon_vma, room for an aligned PMD); the thread, woken at once if the list was empty, scans
/// <see cref="KhugepagedConfig.PagesToScan"/> PTEs per wake (khugepaged_do_scan → khugepaged_scan_mm_slot →
/// hpage_collapse_scan_pmd), sleeps scan_sleep_millisecs between wakes, and alloc_sleep_millisecs after an order-9
/// allocation failed (a second failure in the same wake ends it). A wake is a simulated-time event, so it falls
/// between the same two accesses at any batch size; it runs on CPU 0 (as kswapd does), whose clock its work advances
/// (the <c>kernel</c> row of the cycles breakdown): each PTE hpage_collapse_scan_pmd examines costs
/// <see cref="ScanPteCycles"/>, and a collapse's copy of 512 pages <see cref="CopyPageCycles"/> each, so the collapse
/// completes (its PMD is mapped) that much later, in an event of its own, after the range is checked again
/// (hugepage_vma_revalidate, __collapse_huge_page_isolate); the scan then goes on from there.
/// </summary>
public sealed partial class Khugepaged : IEventHandler, ISystem, IDeferrableTimer
{
    private enum ThreadState : byte
    {
        /// <summary>wait_event(khugepaged_wait_event): no mm registered, waiting for one.</summary>
        Idle,
        /// <summary>A wake is scheduled (or was, before the list emptied): wait_event_timeout until khugepaged_sleep_expire.</summary>
        ScanSleep,
        /// <summary>khugepaged_alloc_sleep inside khugepaged_do_scan: any wake_up ends it early.</summary>
        AllocSleep,
        /// <summary>collapse_huge_page copying the range into the new folio (busy on its CPU until the copy's end).</summary>
        Collapsing,
    }

    private readonly Kernel.Kernel _k;
    private readonly int _eventKind;
    private readonly List<int> _mmHead = new(); // khugepaged_scan.mm_head: mm ids in list order
    private readonly HashSet<int> _registered = new(); // MMF_VM_HUGEPAGE
    private ThreadState _state = ThreadState.Idle;
    private long _pendingSeq = -1; // the scheduled wake's event sequence, -1 when none is queued
    private ulong _pendingAt; // when the queued wake is due (while _pendingSeq >= 0)
    private ulong _sleepExpire; // khugepaged_sleep_expire, in cycles
    private int _scanMm = -1; // khugepaged_scan.mm_slot (an mm id), -1 for NULL
    private ulong _scanAddress; // khugepaged_scan.address
    private uint _resumeProgress, _resumePassThroughHead; // a do_scan interrupted by khugepaged_alloc_sleep or a collapse
    private bool _resumeWait; // khugepaged_do_scan's wait: no allocation has failed in this wake yet
    private int _collapseMm = -1, _collapseHead = -1; // the collapse in flight: its mm and new folio
    private ulong _collapseAddr;

    /// <summary>Creates the thread's state and registers its wake event with <paramref name="env"/>.</summary>
    public Khugepaged(Kernel.Kernel kernel, SimEnvironment env)
    {
        _k = kernel;
        _eventKind = env.RegisterEventKind("khugepaged", this);
        env.RegisterDeferrableTimer(_eventKind, this);
        ScanPteCycles = kernel.Timing.L3HitCycles;
        CopyPageCycles = 2 * kernel.Timing.MemoryCycles;
    }

    private KhugepagedConfig Config => _k.Options.Thp.Khugepaged;

    /// <summary>/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed: ranges collapsed so far.</summary>
    public long PagesCollapsed { get; private set; }

    /// <summary>/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans: passes over the whole mm list.</summary>
    public long FullScans { get; private set; }

    /// <summary>Wakes so far (khugepaged_do_scan calls, an alloc-sleep continuation counted apart): for tests and reports.</summary>
    public long Wakes { get; private set; }

    /// <summary>A collapse is in flight: the thread is copying a range (its PMD is mapped at the copy's end).</summary>
    public bool Collapsing => _state == ThreadState.Collapsing;

    /// <summary>When the last wake's work began (its timer's time), in cycles: for tests.</summary>
    public ulong LastWakeAt { get; private set; }

    /// <summary>When the last collapse in flight ended (its copy done, the PMD mapped or the folio freed), in cycles.</summary>
    public ulong LastCollapseAt { get; private set; }

    /// <summary>Whether <paramref name="pfn"/> belongs to the folio of the collapse in flight (for the invariant checker).</summary>
    public bool InFlight(int pfn) => _collapseHead >= 0 && pfn >= _collapseHead && pfn < _collapseHead + HugeMemory.PmdPages;

    /// <summary>
    /// Cycles per PTE hpage_collapse_scan_pmd examines: the entry (eight to a cache line) and the struct page of the
    /// folio it maps (a line of its own, seldom cached for a range left alone for scan_sleep_millisecs), taken as one
    /// L3 hit (<c>latency.l3</c>) — an estimate from the machine's latencies, not a measurement. A range without a page
    /// table, or mapped by a PMD, costs one entry.
    /// </summary>
    public long ScanPteCycles { get; set; }

    /// <summary>
    /// Cycles per page of a collapse's copy (__collapse_huge_page_copy: copy_mc_user_highpage, or clearing for an
    /// empty entry): a 4 KiB read and a 4 KiB write, taken as two DRAM latencies (<c>latency.memory</c>), the same
    /// per-page cost as compaction's migration. EcsMem has no memory-bandwidth model; at the default 200 cycles this
    /// is 400 cycles a page, 204,800 (68 µs at 3 GHz) a 2 MiB range.
    /// </summary>
    public long CopyPageCycles { get; set; }

    /// <summary>The result of the last hpage_collapse_scan_pmd (for tests).</summary>
    public ScanResult LastResult { get; private set; } = ScanResult.Fail;

    /// <summary>The mm ids on khugepaged's list, in scan order (for tests).</summary>
    public IReadOnlyList<int> MmList => _mmHead;

    /// <summary>khugepaged_scan.mm_slot: the mm the scan goes on with, or -1 (NULL: the next scan starts at the list's head).</summary>
    public int ScanMm => _scanMm;

    /// <summary>When the thread's queued wake is due, <see cref="ulong.MaxValue"/> when none is queued.</summary>
    public ulong PendingWake => _pendingSeq >= 0 ? _pendingAt : ulong.MaxValue;

    /// <summary>khugepaged_scan.address: where the scan of <see cref="ScanMm"/> goes on (for tests).</summary>
    public ulong ScanAddress => _scanAddress;

    /// <summary>Whether <paramref name="mmId"/> is registered (MMF_VM_HUGEPAGE).</summary>
    public bool IsRegistered(int mmId) => _registered.Contains(mmId);

    private ulong MsToCycles(long ms) => (ulong)Math.Round(ms * _k.Options.Timing.ClockGHz * 1e6);

    /// <summary>hugepage_pmd_enabled: THP possible at all (not <c>never</c>, a paging mode with 2 MiB PMDs).</summary>
    private bool PmdEnabled => _k.Thp.Possible;

    /// <summary>khugepaged_has_work: an mm on the list and THP enabled.</summary>
    private bool HasWork => _mmHead.Count > 0 && PmdEnabled;

    /// <summary>
    /// thp_vma_allowable_order(vma, vm_flags, TVA_ENFORCE_SYSFS, PMD_ORDER) for an anonymous VMA outside a fault: THP
    /// enabled for it by the sysfs mode (<c>always</c>, or <c>madvise</c> and VM_HUGEPAGE), not VM_NOHUGEPAGE or
    /// VM_NO_KHUGEPAGED (VM_SPECIAL, VM_HUGETLB), private anonymous memory (shmem follows shmem_enabled, <c>never</c>),
    /// the last 2 MiB-aligned block below vm_end inside the VMA, and an anon_vma (nothing was ever faulted in otherwise).
    /// </summary>
    public bool VmaAllowable(in Vma vma, VmFlags flags)
    {
        if (!PmdEnabled || vma.Kind is VmaKind.File or VmaKind.Special
            || (flags & (VmFlags.Shared | VmFlags.NoHugePage | VmFlags.Special | VmFlags.HugeTlb)) != 0)
            return false;
        if (_k.Options.Thp.Enabled == ThpEnabled.Madvise && (flags & VmFlags.HugePage) == 0)
            return false;
        if (vma.End < HugeMemory.PmdSize)
            return false;
        ulong haddr = (vma.End - HugeMemory.PmdSize) & HugeMemory.PmdMask;
        if (haddr < vma.Start)
            return false;
        return vma.AnonVma != 0;
    }

    /// <summary>khugepaged_enter_vma: registers the VMA's mm when khugepaged may work on it.</summary>
    public void EnterVma(MmState mm, in Vma vma)
    {
        if (!_registered.Contains(mm.Id) && VmaAllowable(vma, vma.Flags))
            Enter(mm.Id);
    }

    /// <summary>
    /// The calls that end in khugepaged_enter_vma: MADV_HUGEPAGE (hugepage_madvise, for every VMA of the range with its
    /// new flags), and in <c>always</c> mode mmap (__mmap_region) and brk (do_brk_flags) for the VMA they made or grew.
    /// </summary>
    public void AfterCall(MmState mm, AddressSpaceOpKind kind, ulong addr, ulong len, MadviseAdvice advice, long result)
    {
        if (result < 0 || _registered.Contains(mm.Id) || !PmdEnabled)
            return;
        var vmas = mm.Mm.Vmas;
        switch (kind)
        {
            case AddressSpaceOpKind.Madvise when advice == MadviseAdvice.HugePage:
                for (int i = vmas.FindVma(addr); i >= 0 && i < vmas.Count && vmas[i].Start < addr + len; i++)
                    EnterVma(mm, vmas[i]);
                break;
            case AddressSpaceOpKind.Mmap when _k.Options.Thp.Enabled == ThpEnabled.Always:
                EnterAt(mm, (ulong)result);
                break;
            case AddressSpaceOpKind.Brk when _k.Options.Thp.Enabled == ThpEnabled.Always && (ulong)result > 0:
                EnterAt(mm, (ulong)result - 1);
                break;
        }
    }

    private void EnterAt(MmState mm, ulong va)
    {
        int i = mm.Mm.Vmas.FindVma(va);
        if (i >= 0 && mm.Mm.Vmas[i].Start <= va)
            EnterVma(mm, mm.Mm.Vmas[i]);
    }

    /// <summary>khugepaged_fork: a child of a registered mm is registered too (dup_mmap).</summary>
    public void Fork(MmState parent, MmState child)
    {
        if (_registered.Contains(parent.Id))
            Enter(child.Id);
    }

    /// <summary>
    /// __khugepaged_enter: the mm goes to the tail of the list ("just behind the scanning cursor, to let the area
    /// settle down a little"); if the list was empty the thread is woken: at once from its untimed wait or its alloc
    /// sleep, at its old sleep_expire if it was in a timed sleep (wait_event_timeout re-checks the time).
    /// </summary>
    public void Enter(int mmId)
    {
        if (!_registered.Add(mmId))
            return;
        bool wakeup = _mmHead.Count == 0;
        _mmHead.Add(mmId);
        if (!wakeup || _pendingSeq >= 0)
            return;
        ulong now = _k.Env.Now;
        Schedule(_state == ThreadState.ScanSleep ? Math.Max(now, _sleepExpire) : now);
    }

    /// <summary>
    /// __khugepaged_exit at the mm's last mmput: the mm leaves the list. Linux leaves the slot the scan cursor points at
    /// for the thread's next wake to collect (moving the cursor on, full_scans++ at the list's end); EcsMem does that
    /// step here, so a wake queued for an empty list does not keep the machine running after its last task.
    /// </summary>
    public void Exit(MmState mm)
    {
        if (!_registered.Remove(mm.Id))
            return;
        int idx = _mmHead.IndexOf(mm.Id);
        if (_scanMm == mm.Id)
            AdvanceSlot(idx);
        _mmHead.RemoveAt(idx);
        if (_mmHead.Count == 0 && _pendingSeq >= 0)
        {
            // Nothing left to scan: the wake would find no work. Dropping it keeps sleep_expire for a later Enter.
            _k.Env.Events.Cancel((ulong)_pendingSeq);
            _pendingSeq = -1;
            if (_state == ThreadState.Collapsing)
            {
                // The collapse in flight was this mm's (the last on the list): its revalidation would fail; the new
                // folio goes back now and the thread, with nothing left, waits for an mm.
                FreeCollapseFolio();
                _state = ThreadState.Idle;
            }
        }
    }

    private void Schedule(ulong at)
    {
        _pendingSeq = (long)_k.Env.ScheduleAt(at, new SimEvent(_eventKind, Entity.Null));
        _pendingAt = at;
    }

    public string Name => "khugepaged";

    /// <inheritdoc/>
    public void DeclareConsumes(WorkConsumers c) => c.Of<KhugepagedWake>();

    /// <summary>
    /// The wake's timer fired: the work is queued for this tick's <see cref="Update"/> (a pending work item also stops
    /// the access stage before its next access, so the scan comes between the same two accesses at any batch size).
    /// </summary>
    public void Handle(SimEnvironment env, in SimEvent ev)
    {
        _pendingSeq = -1;
        env.Work<KhugepagedWake>().Add(new KhugepagedWake(env.EventTime));
    }

    /// <summary>Acts only on this tick's KhugepagedWake work (nothing kept between ticks).</summary>
    public bool WorkOnly => true;

    /// <summary>The thread's wake: khugepaged_do_scan (or the rest of one after khugepaged_alloc_sleep), then khugepaged_wait_work.</summary>
    public void Update(SimEnvironment env)
    {
        var wakes = env.WorkItems<KhugepagedWake>();
        if (wakes.Length == 0)
            return;
        ThreadState state = _state;
        _k.Smp.Enter(0); // a kernel thread, simulated on CPU 0 as kswapd is
        _k.Smp.CatchUp(wakes[0].At);
        if (state != ThreadState.Collapsing)
            LastWakeAt = wakes[0].At;
        if (state == ThreadState.Collapsing)
        {
            LastCollapseAt = _k.Env.Now;
            LastResult = FinishCollapse();
            if (LastResult == ScanResult.Succeed)
                PagesCollapsed++;
        }
        if (DoScan(state))
            WaitWork(env);
    }

    /// <summary>
    /// khugepaged_do_scan: scan mm slots until pages_to_scan PTEs are done or the list was passed through twice; an
    /// allocation failure puts the thread to sleep for alloc_sleep_millisecs the first time (returns false: the scan
    /// goes on at that wake) and ends the scan the second.
    /// </summary>
    private bool DoScan(ThreadState from)
    {
        uint pages = (uint)Config.PagesToScan;
        uint progress = 0, passThroughHead = 0;
        bool wait = true;
        bool afterCollapse = from == ThreadState.Collapsing;
        if (from is ThreadState.AllocSleep or ThreadState.Collapsing)
        {
            progress = _resumeProgress;
            passThroughHead = _resumePassThroughHead;
            wait = from == ThreadState.Collapsing && _resumeWait;
        }
        else if (!_dry)
        {
            Wakes++;
            // lru_add_drain_all: pages still in a CPU's lru_add batch would fail the PageLRU test.
            for (int cpu = 0; cpu < _k.Smp.Count; cpu++)
                _k.LruAddDrainCpu(cpu);
        }
        while (true)
        {
            ScanResult result = ScanResult.Succeed;
            if (!afterCollapse)
            {
                if (_scanMm < 0)
                    passThroughHead++;
                if (HasWork && passThroughHead < 2)
                    progress += ScanMmSlot(pages - progress, ref result);
                else
                    progress = pages;
                if (_dryCollapse)
                    return true; // a dry run stops where collapse_huge_page would begin
                if (_collapseHead >= 0)
                {
                    // collapse_huge_page copies the range: the scan goes on (or the wake ends) when the copy is done.
                    _resumeProgress = progress;
                    _resumePassThroughHead = passThroughHead;
                    _resumeWait = wait;
                    _state = ThreadState.Collapsing;
                    // The copy keeps the thread's CPU busy; the PMD is mapped when it ends.
                    Work(CopyPageCycles * HugeMemory.PmdPages);
                    Schedule(_k.Env.Now);
                    return false;
                }
            }
            afterCollapse = false;
            if (progress >= pages)
                return true;
            if (result == ScanResult.AllocHugePageFail)
            {
                if (!wait)
                    return true;
                _resumeProgress = progress;
                _resumePassThroughHead = passThroughHead;
                _state = ThreadState.AllocSleep;
                Schedule(_k.Env.Now + MsToCycles(Config.AllocSleepMillisecs));
                return false;
            }
        }
    }

    /// <summary>khugepaged_wait_work: with work, sleep scan_sleep_millisecs; without, wait for an mm to register.</summary>
    private void WaitWork(SimEnvironment env)
    {
        if (HasWork)
        {
            _state = ThreadState.ScanSleep;
            _sleepExpire = env.Now + MsToCycles(Config.ScanSleepMillisecs);
            Schedule(_sleepExpire);
            return;
        }
        _state = ThreadState.Idle;
    }

    /// <summary>
    /// khugepaged_scan_mm_slot: from the cursor, every VMA khugepaged may work on is scanned 2 MiB at a time
    /// (HPAGE_PMD_NR progress each; an unsuitable VMA counts 1). A range that passed the scan goes to collapse_huge_page,
    /// which drops mmap_lock, and the slot is left there for the next round. At the end of the mm's VMAs the cursor
    /// moves to the next mm, or back to NULL with full_scans++ after the last one.
    /// </summary>
    private uint ScanMmSlot(uint pages, ref ScanResult result)
    {
        result = ScanResult.Fail;
        if (_scanMm < 0)
        {
            _scanMm = _mmHead[0];
            _scanAddress = 0;
        }
        MmState? mm = _k.Tasks.MmById(_scanMm);
        uint progress = 1; // mmap_read_trylock succeeded
        bool vmaLeft = false;
        if (mm is not null && mm.Mm.Struct.MmUsers > 0)
        {
            var vmas = mm.Mm.Vmas;
            for (int i = vmas.FindVma(_scanAddress); i >= 0 && i < vmas.Count; i++)
            {
                Vma vma = vmas[i];
                if (!VmaAllowable(vma, vma.Flags))
                {
                    progress++;
                    continue;
                }
                ulong hstart = (vma.Start + HugeMemory.PmdSize - 1) & HugeMemory.PmdMask;
                ulong hend = vma.End & HugeMemory.PmdMask;
                if (_scanAddress > hend)
                {
                    progress++;
                    continue;
                }
                if (_scanAddress < hstart)
                    _scanAddress = hstart;
                while (_scanAddress < hend)
                {
                    result = ScanPmd(mm, vma, _scanAddress, out bool unlocked);
                    _scanAddress += HugeMemory.PmdSize;
                    progress += HugeMemory.PmdPages;
                    if (unlocked || progress >= pages)
                    {
                        vmaLeft = true;
                        break;
                    }
                }
                if (vmaLeft)
                    break;
            }
        }
        if (!vmaLeft)
            AdvanceSlot(_mmHead.IndexOf(_scanMm));
        return progress;
    }

    /// <summary>The end of an mm's scan: the cursor moves to the next mm, or to NULL with full_scans++ after the last.</summary>
    private void AdvanceSlot(int idx)
    {
        if (idx + 1 < _mmHead.Count)
        {
            _scanMm = _mmHead[idx + 1];
            _scanAddress = 0;
        }
        else
        {
            _scanMm = -1;
            FullScans++;
        }
    }

    /// <summary>
    /// hpage_collapse_scan_pmd: the 512 entries under the PMD at <paramref name="haddr"/> decide whether to collapse.
    /// Swap entries count against max_ptes_swap, empty and zero-page ones against max_ptes_none, pages mapped more than
    /// once against max_ptes_shared; every other page must be a normal anonymous LRU page, unlocked and unpinned; one
    /// writable entry and one young one (PTE accessed bit or PG_referenced) are needed, and with swap entries at least
    /// HPAGE_PMD_NR / 2 young ones. <paramref name="unlocked"/> tells that collapse_huge_page was tried (it drops mmap_lock).
    /// </summary>
    private ScanResult ScanPmd(MmState mm, in Vma vma, ulong haddr, out bool unlocked)
    {
        unlocked = false;
        ScanResult r = Check(mm, haddr, out int examined);
        Work(examined * ScanPteCycles);
        LastResult = r;
        if (r != ScanResult.Succeed)
            return r;
        unlocked = true;
        if (_dry)
        {
            _dryCollapse = true;
            return r;
        }
        r = BeginCollapse(mm, haddr);
        LastResult = r;
        return r;
    }

    /// <summary>The thread's CPU works <paramref name="cycles"/>: its clock advances, charged to the kernel row.</summary>
    private void Work(long cycles)
    {
        if (cycles <= 0)
            return;
        if (_dry)
        {
            _dryWork += cycles;
            return;
        }
        _k.Env.Clock.Advance((ulong)cycles);
        _k.Cycles.Charge(Timing.CycleCategory.Kernel, cycles);
    }

    /// <summary>
    /// hpage_collapse_scan_pmd's checks (and __collapse_huge_page_isolate's, the same again when the copy is done):
    /// <paramref name="examined"/> counts the entries looked at before the verdict.
    /// </summary>
    private ScanResult Check(MmState mm, ulong haddr, out int examined)
    {
        int referenced = 0, unmapped = 0;
        examined = 1;
        var cfg = Config;
        ref ulong first = ref mm.Tables.Walk(haddr, out _);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref first))
            return ScanResult.PmdNull;
        if (Pte.IsPmdMapped(first))
            return ScanResult.PmdMapped;
        Frame[] frames = _k.Zone.Frames;
        int zero = _k.Zone.ZeroPfn;
        int noneOrZero = 0, shared = 0;
        bool writable = false;
        for (int i = 0; i < HugeMemory.PmdPages; i++)
        {
            examined = i + 1;
            ulong v = mm.Tables.Lookup(haddr + ((ulong)i << Pte.PageShift));
            var pte = new Pte(v);
            if (pte.IsSwap)
            {
                if (++unmapped > cfg.MaxPtesSwap)
                {
                    CountScan(_k.C.ThpScanExceedSwapPte, ref _drySwap);
                    return ScanResult.ExceedSwapPte;
                }
                continue;
            }
            if (v == 0 || (Memory.MemoryOps.IsMapped(v) && (int)pte.Pfn == zero))
            {
                if (++noneOrZero > cfg.MaxPtesNone)
                {
                    CountScan(_k.C.ThpScanExceedNonePte, ref _dryNone);
                    return ScanResult.ExceedNonePte;
                }
                continue;
            }
            if (pte.Writable)
                writable = true;
            int pfn = (int)pte.Pfn;
            if (pte.Special || _k.Thp.IsHugeZero(pfn))
                return ScanResult.PageNull;
            ref readonly Frame f = ref frames[pfn];
            if (!f.IsAnon || f.IsShmem)
                return ScanResult.PageAnon;
            if (f.MapCount > 1 && ++shared > cfg.MaxPtesShared)
            {
                CountScan(_k.C.ThpScanExceedSharePte, ref _dryShare);
                return ScanResult.ExceedSharedPte;
            }
            // folio_test_lru: a folio still in an lru_add batch has no PG_lru until the batch moves it.
            if ((f.Flags & FrameFlags.Lru) == 0)
                return ScanResult.PageLru;
            if ((f.Flags & (FrameFlags.Locked | FrameFlags.Writeback)) != 0)
                return ScanResult.PageLock;
            if (_k.Zone.Pins[pfn] > 0)
                return ScanResult.PageCount;
            if ((f.Flags & FrameFlags.Thp) != 0)
                return ScanResult.PageCompound;
            if (pte.Accessed || (f.Flags & FrameFlags.Referenced) != 0)
                referenced++;
        }
        if (!writable)
            return ScanResult.PageRo;
        if (referenced == 0 || (unmapped > 0 && referenced < HugeMemory.PmdPages / 2))
            return ScanResult.LackReferencedPage;
        return ScanResult.Succeed;
    }

    /// <summary>
    /// collapse_huge_page's start: an order-9 folio (alloc_charge_folio: thp_collapse_alloc, or thp_collapse_alloc_failed
    /// and SCAN_ALLOC_HUGE_PAGE_FAIL; the same watermark and free-block test as a THP fault, direct compaction first as
    /// khugepaged/defrag 1 asks). On success the collapse is in flight until its copy ends (<see cref="FinishCollapse"/>).
    /// </summary>
    private ScanResult BeginCollapse(MmState mm, ulong haddr)
    {
        int head = _k.Thp.AllocFolio();
        if (head < 0) // khugepaged/defrag 1 (GFP_TRANSHUGE): direct compaction first
            head = _k.Compaction.DirectCompact(HugeMemory.PmdOrder, _k.Thp.AllocFolio);
        if (head < 0)
        {
            _k.Env.Counters.Increment(_k.C.ThpCollapseAllocFailed);
            return ScanResult.AllocHugePageFail;
        }
        _k.Env.Counters.Increment(_k.C.ThpCollapseAlloc);
        _collapseMm = mm.Id;
        _collapseAddr = haddr;
        _collapseHead = head;
        return ScanResult.Succeed;
    }

    /// <summary>
    /// The end of collapse_huge_page's copy: hugepage_vma_revalidate (the mm still live, a VMA khugepaged may work on
    /// still covering the range) and __collapse_huge_page_isolate (the scan's checks again) — on failure the new folio
    /// is freed and the verdict returned — then <see cref="CollapseHugePage"/>. The thread's CPU was busy for the copy
    /// (charged when it began).
    /// </summary>
    private ScanResult FinishCollapse()
    {
        int mmId = _collapseMm;
        ulong haddr = _collapseAddr;
        MmState? mm = _k.Tasks.MmById(mmId);
        ScanResult r = ScanResult.Fail;
        if (mm is not null && mm.Mm.Struct.MmUsers > 0)
        {
            var vmas = mm.Mm.Vmas;
            int i = vmas.FindVma(haddr);
            if (i >= 0 && vmas[i].Start <= haddr && haddr + HugeMemory.PmdSize <= vmas[i].End && VmaAllowable(vmas[i], vmas[i].Flags))
            {
                r = Check(mm, haddr, out _);
                if (r == ScanResult.Succeed)
                {
                    int head = _collapseHead;
                    _collapseHead = -1;
                    _collapseMm = -1;
                    return CollapseHugePage(mm, vmas[i], haddr, head);
                }
            }
        }
        FreeCollapseFolio();
        return r;
    }

    /// <summary>The collapse did not happen: the new folio goes back to the buddy allocator.</summary>
    private void FreeCollapseFolio()
    {
        int cpu = _k.Tlb.CurrentCpu;
        for (int i = 0; i < HugeMemory.PmdPages; i++)
            _k.Zone.FreeFrame(_collapseHead + i, cpu);
        _collapseHead = -1;
        _collapseMm = -1;
    }

    /// <summary>
    /// collapse_huge_page once the range revalidated: the new folio <paramref name="head"/> charged to the mm's memcg;
    /// the range's translations flushed (pmdp_collapse_flush); swap entries read back in (__collapse_huge_page_swapin,
    /// done at once here: pgmajfault and pswpin for a page not in the swap cache); each page copied into the folio,
    /// empty and zero-page entries cleared (__collapse_huge_page_copy, whose time has passed); the old pages unmapped
    /// and freed unless mapped elsewhere; the folio on the LRU and mapped by one PMD, dirty, writable when the VMA is
    /// (the page table kept as the deposited one). Simplified: Linux clears the PMD before the copy and the mm's
    /// faults wait on mmap_lock; in EcsMem the old pages stay mapped and usable until the copy's end.
    /// </summary>
    private ScanResult CollapseHugePage(MmState mm, in Vma vma, ulong haddr, int head)
    {
        int cpu = _k.Tlb.CurrentCpu;
        if (_k.Memcg is { } mc)
        {
            Memcontrol.MemCgroup g = mc.OfMm(mm.Id);
            if (mc.TryCharge(g, HugeMemory.PmdPages, cpu) is not null)
            {
                for (int i = 0; i < HugeMemory.PmdPages; i++)
                    _k.Zone.FreeFrame(head + i, cpu);
                return ScanResult.CgroupChargeFail;
            }
            mc.CommitFolio(head, HugeMemory.PmdPages, g);
        }
        _k.Tlb.FlushTlbMmRange(mm.Tlb, haddr, haddr + HugeMemory.PmdSize, freedTables: false);

        Frame[] frames = _k.Zone.Frames;
        int zero = _k.Zone.ZeroPfn;
        ulong prot = Pte.ProtFromVmFlags(vma.Flags, mm.Mm.Mode);
        ulong hprot = ((vma.Flags & VmFlags.Write) != 0 ? prot | Pte.RwBit : prot) | Pte.DirtyBit | Pte.PmdMappedBit;
        for (int i = 0; i < HugeMemory.PmdPages; i++)
        {
            ulong va = haddr + ((ulong)i << Pte.PageShift);
            ulong old = mm.Tables.Lookup(va);
            var pte = new Pte(old);
            int pfn = head + i;
            ref Frame nf = ref frames[pfn];
            nf.Flags |= FrameFlags.Anon | FrameFlags.SwapBacked | FrameFlags.Thp;
            nf.Mapping = mm.Id;
            nf.Index = (long)(va >> Pte.PageShift);
            int oldPfn = -1, slot = -1;
            if (old == 0 || (Memory.MemoryOps.IsMapped(old) && (int)pte.Pfn == zero))
            {
                nf.ContentToken = _k.Zone.NextContentToken(); // clear_user_highpage
            }
            else if (pte.IsSwap)
            {
                slot = (int)pte.ToSwapEntry().Offset;
                int cached = _k.SwapCache.Lookup(slot);
                if (cached >= 0)
                {
                    nf.ContentToken = frames[cached].ContentToken;
                }
                else
                {
                    nf.ContentToken = _k.Swap.Read(slot);
                    _k.Env.Counters.Increment(_k.C.PswpIn);
                    _k.Env.Counters.Add(_k.C.PgPgIn, (long)(Pte.PageSize / 1024));
                }
                _k.Env.Counters.Increment(_k.C.PgMajFault);
            }
            else
            {
                oldPfn = (int)pte.Pfn;
                nf.ContentToken = frames[oldPfn].ContentToken;
            }
            _k.Zone.LruAdd(pfn, PageAlloc.Zone.AnonKey(mm.Id, va));
            // Run by khugepaged, a kernel thread (no user task as current): the range keeps its PTE table (the deposited
            // one), so the mapping allocates none and owes no reclaim.
            _k.Memory.MapPage(mm, va, pfn, hprot, Entity.Null);
            if (oldPfn >= 0)
                _k.Memory.ReleaseIfUnused(oldPfn);
            else if (slot >= 0)
                _k.Memory.ReleaseSwapCacheIfOrphan(slot);
        }
        _k.Thp.NoteMapped();
        _k.Thp.DeferredSplitFolio(head, partiallyMapped: false); // collapse_huge_page queues the new folio too
        return ScanResult.Succeed;
    }
}

/// <summary>khugepaged's timer fired at <paramref name="At"/> (its wake event, handed to the pipeline).</summary>
public readonly record struct KhugepagedWake(ulong At);
