using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Allocator;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Policies;
using EcsMem.Systems.Rmap;
using EcsMem.Systems.Swap;
using EcsMem.Systems.Timing;
using EcsMem.Systems.Tlb;
using PageCacheIndex = EcsMem.Systems.PageCache.PageCache;

namespace EcsMem.Systems.Kernel;

/// <summary>
/// The simulated kernel's shared state: the frame table (one entity per physical page, row = pfn), the
/// buddy allocator, the replacement policy, page cache, swap area and swap cache, reverse map, TLBs,
/// caches and the timing model. Systems change it; the helpers here are the operations several systems
/// share (allocating and freeing frames, installing and zapping PTEs, tearing a process down), each named
/// after the Linux function it mirrors.
/// </summary>
public sealed partial class Kernel
{
    private readonly List<string> _names = new();
    private readonly List<MmState?> _mms = new();
    private readonly List<Entity> _processes = new();
    private ulong _contentSeq;

    public Kernel(SimEnvironment env, KernelOptions options, string source = "configuration")
    {
        Env = env;
        Options = options;
        Validate(options, source);
        World = env.World;
        C = new KernelCounters(env.Counters);

        int pages = (int)options.PageCount;
        FrameTable = World.CreateTable(pages, ComponentType.Of<Frame>());
        Frames = FrameTable.ColumnArray<Frame>();
        for (int pfn = 0; pfn < pages; pfn++)
            Frames[pfn] = Frame.Fresh(pfn) with { RefCount = 0, Flags = FrameFlags.Buddy };
        Buddy = new BuddyAllocator(pages);
        Watermarks = Watermarks.Compute(pages, (int)Pte.PageSize, options.MinFreeKbytes);
        Unevictable = new bool[pages];
        Pins = new int[pages];

        Policy = PolicyRegistry.Create(options.Policy, new PolicyOptions(options.Seed), source);
        if (Policy is IFutureAwarePolicy)
            throw new InputException(source, 0, options.Policy,
                "this policy needs the whole future reference string; use it in the ideal mode (ecsmem run --ideal)");
        Policy.Initialize(pages);

        Swap = new SwapArea(options.SwapSlots);
        SwapCache = new SwapCache(options.SwapSlots);
        PageCache = new PageCacheIndex();
        Rmap = new ReverseMap(pages);
        Files = new FileTable();
        // One store for every mm's page-table pages: each is a row entity with its entries and its PageTableFrame.
        PageTables = new PageTableStore(World, options.Paging, ComponentType.Of<PageTableFrame>());
        Tlb = new TlbSystem(World, options.Tlb, env.Counters);
        Caches = CacheHierarchyFactory.Create(World, options.Caches, "lru", options.Seed, source);
        Timing = options.Timing;
        Cycles = new CycleAccounting();

        // The shared zero page: one reserved frame every never-written anonymous page can map read-only.
        ZeroPfn = Buddy.AllocPages(0);
        Frames[ZeroPfn] = Frame.Fresh(ZeroPfn) with { Flags = FrameFlags.Locked };
        PinFrame(ZeroPfn);
    }

    public SimEnvironment Env { get; }
    public World World { get; }
    public KernelOptions Options { get; }
    public KernelCounters C { get; }
    public Table FrameTable { get; }

    /// <summary>The Frame column of <see cref="FrameTable"/>: element pfn is that frame's struct page.</summary>
    public Frame[] Frames { get; }

    public BuddyAllocator Buddy { get; }
    public Watermarks Watermarks { get; }

    /// <summary>Frames the policy must not pick now: pinned ones (page tables, the zero page, pages under I/O or about to be mapped).</summary>
    public bool[] Unevictable { get; }

    /// <summary>Pin counts per frame (a reference that stops reclaim, like an elevated page refcount).</summary>
    public int[] Pins { get; }

    /// <summary>Keeps reclaim away from <paramref name="pfn"/> until the matching <see cref="UnpinFrame"/>.</summary>
    public void PinFrame(int pfn)
    {
        Pins[pfn]++;
        Unevictable[pfn] = true;
    }

    public void UnpinFrame(int pfn)
    {
        if (--Pins[pfn] == 0)
            Unevictable[pfn] = false;
        else if (Pins[pfn] < 0)
            throw new InvalidOperationException($"frame {pfn} unpinned more often than pinned");
    }

    public IReplacementPolicy Policy { get; }
    public SwapArea Swap { get; }
    public SwapCache SwapCache { get; }
    public PageCacheIndex PageCache { get; }
    public ReverseMap Rmap { get; }
    public FileTable Files { get; }

    /// <summary>The page-table page entities of every mm (their entries and <see cref="PageTableFrame"/>).</summary>
    public PageTableStore PageTables { get; }

    public TlbSystem Tlb { get; }
    public ICacheHierarchy Caches { get; }
    public TimingModel Timing { get; }
    public CycleAccounting Cycles { get; }
    public int ZeroPfn { get; }

    /// <summary>
    /// Set by an event handler that queued slow-path work for this tick (an install, a fault to resume, a
    /// kswapd batch): the access stage then runs no access before that work is done, as with a batch of one.
    /// </summary>
    public bool EventWorkPending { get; set; }

    /// <summary>True while some fault waits in the allocator for reclaim (it is retried after every access).</summary>
    public bool AllocationsDeferred { get; internal set; }

    /// <summary>True while kswapd has a run scheduled or in progress.</summary>
    public bool KswapdAwake { get; internal set; }

    /// <summary>Lines the OOM killer printed, in order (the report shows them).</summary>
    public List<string> OomLog { get; } = new();

    /// <summary>Processes in pid order (index = pid - 1).</summary>
    public IReadOnlyList<Entity> Processes => _processes;

    public string ProcessName(in Process p) => _names[p.NameIndex];

    public MmState? MmById(int id) => (uint)id < (uint)_mms.Count ? _mms[id] : null;

    public IEnumerable<MmState> LiveMms => _mms.Where(m => m is not null)!;

    /// <summary>A fresh token standing for new page content (proves content survives swap round trips).</summary>
    public ulong NextContentToken() => ++_contentSeq;

    private static void Validate(KernelOptions o, string source)
    {
        if (o.RamBytes < (long)Pte.PageSize * 16)
            throw new InputException(source, 0, o.RamBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "RAM must hold at least 16 pages (64 KiB)");
        if (o.RamBytes % (long)Pte.PageSize != 0)
            throw new InputException(source, 0, o.RamBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "RAM must be a whole number of 4 KiB pages");
        if (o.PageCount > int.MaxValue / 2)
            throw new InputException(source, 0, o.RamBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "RAM is too large to simulate (at most 4 TiB)");
        if (o.SwapBytes < 0 || o.SwapBytes % (long)Pte.PageSize != 0 || o.SwapBytes / (long)Pte.PageSize > int.MaxValue / 2)
            throw new InputException(source, 0, o.SwapBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "swap must be a whole number of 4 KiB pages (0 for none)");
        if (o.Quantum < 1)
            throw new InputException(source, 0, o.Quantum.ToString(System.Globalization.CultureInfo.InvariantCulture), "the scheduler quantum must be at least 1 access");
        if (o.BatchSize < 1)
            throw new InputException(source, 0, o.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "the batch size must be at least 1 access");
    }

    // ------------------------------------------------------------------ frames

    /// <summary>
    /// alloc_pages(order 0) without the watermark logic (the allocator system applies that): takes a frame from
    /// the buddy allocator and resets its struct page. Returns -1 when the buddy allocator is empty.
    /// </summary>
    public int AllocFrame()
    {
        int pfn = Buddy.AllocPages(0);
        if (pfn < 0)
            return -1;
        Frames[pfn] = Frame.Fresh(pfn);
        Env.Counters.Increment(C.PgAllocNormal);
        return pfn;
    }

    /// <summary>__free_pages: gives a frame back to the buddy allocator, after taking it off the policy's lists.</summary>
    public void FreeFrame(int pfn)
    {
        ref Frame f = ref Frames[pfn];
        if ((f.Flags & FrameFlags.Lru) != 0)
            Policy.OnRemoved(pfn);
        f = Frame.Fresh(pfn) with { RefCount = 0, Flags = FrameFlags.Buddy };
        Unevictable[pfn] = false;
        Pins[pfn] = 0;
        Buddy.FreePages(pfn, 0);
        Env.Counters.Increment(C.PgFree);
    }

    /// <summary>lru_cache_add: the frame now holds a reclaimable page the policy should rank.</summary>
    public void LruAdd(int pfn, ulong pageKey)
    {
        ref Frame f = ref Frames[pfn];
        f.Flags |= FrameFlags.Lru;
        Policy.OnInserted(pfn, pageKey);
    }

    /// <summary>Identity of an anonymous page for history-keeping policies (ARC): owner mm and page number.</summary>
    public static ulong AnonKey(int mmId, ulong va) => ((ulong)(uint)mmId << 44) ^ (va >> Pte.PageShift);

    /// <summary>Identity of a file page: file id and page index, tagged so it never equals an anonymous key.</summary>
    public static ulong FileKey(int file, long index) => (1UL << 63) | ((ulong)(uint)file << 40) | (ulong)index;

    // ------------------------------------------------------------------ processes and address spaces

    /// <summary>Creates an empty address space (mm_alloc) with its page table, TLB context and entity.</summary>
    public MmState CreateMm()
    {
        int id = _mms.Count;
        var mm = new Mm(id, Options.Paging, Files, World);
        var charger = new PageTableCharger(this, id);
        var tables = new PageTable(Options.Paging, charger, PageTables);
        var state = new MmState(mm, tables, Tlb.CreateMm());
        mm.Struct.Pgd = tables.Root;
        _mms.Add(state);
        state.Entity = World.Create(new MmRef { State = state });
        charger.Attach(state);
        return state;
    }

    /// <summary>dup_mm: a child address space with copies of the parent's VMAs and its own (empty) page table.</summary>
    public MmState ForkMm(MmState parent)
    {
        int id = _mms.Count;
        var mm = parent.Mm.DupMmap(id);
        var charger = new PageTableCharger(this, id);
        var tables = new PageTable(Options.Paging, charger, PageTables);
        var state = new MmState(mm, tables, Tlb.CreateMm());
        mm.Struct.Pgd = tables.Root;
        _mms.Add(state);
        state.Entity = World.Create(new MmRef { State = state });
        charger.Attach(state);
        state.NoteHiwaterVm();
        return state;
    }

    /// <summary>Creates a process entity (task_struct) using <paramref name="mm"/>.</summary>
    public Entity CreateProcess(string name, MmState mm, int parentPid, ulong startTime, ProcessState state)
    {
        _names.Add(name);
        var p = new Process
        {
            Pid = _processes.Count + 1,
            ParentPid = parentPid,
            State = state,
            Mm = mm.Entity,
            NameIndex = _names.Count - 1,
            StartTime = startTime,
        };
        Entity e = World.Create(p, new ProcessStats());
        _processes.Add(e);
        return e;
    }

    public MmState MmOf(Entity process) => World.Get<MmRef>(World.Get<Process>(process).Mm).State;

    /// <summary>
    /// Charges a frame for each page-table page an mm allocates and records it in the page's entity (the store
    /// row that holds its entries), so page tables show up in memory use (nr_ptes, VmPTE) and in the frame count
    /// as they do in Linux.
    /// </summary>
    private sealed class PageTableCharger(Kernel kernel, int mmId) : IPageTableAllocator
    {
        private MmState? _mm;
        private readonly List<(int PageId, int Level)> _early = new();

        public void Attach(MmState mm)
        {
            _mm = mm;
            foreach (var (id, level) in _early)
                TableAllocated(id, level);
            _early.Clear();
        }

        public void TableAllocated(int pageId, int level)
        {
            if (_mm is null)
            {
                _early.Add((pageId, level)); // the root, allocated inside the PageTable constructor
                return;
            }
            int pfn = kernel.AllocFrame();
            if (pfn < 0)
                throw new InvalidOperationException("no frame left for a page table: the fault handler must reserve frames before walking");
            kernel.Frames[pfn].Flags |= FrameFlags.Slab;
            kernel.PinFrame(pfn);
            kernel.Env.Counters.Increment(kernel.C.PageTablePages);
            Entity e = _mm.Tables.EntityOf(pageId);
            kernel.World.Get<PageTableFrame>(e) = new PageTableFrame { MmId = mmId, PageId = pageId, Level = level, Pfn = pfn, InUse = true };
            _mm.TablePages[pageId] = (e, pfn);
            _mm.Mm.Struct.NrPtes = _mm.Tables.NrPtes;
            _mm.Mm.Struct.PgtablesBytes = _mm.Tables.PgtablesBytes;
        }

        public void TableFreed(int pageId, int level)
        {
            var (e, pfn) = _mm!.TablePages[pageId];
            _mm.TablePages.Remove(pageId);
            kernel.World.Get<PageTableFrame>(e) = PageTableFrame.Free;
            kernel.FreeFrame(pfn);
            _mm.Mm.Struct.NrPtes = _mm.Tables.NrPtes;
            _mm.Mm.Struct.PgtablesBytes = _mm.Tables.PgtablesBytes;
        }
    }
}
