using System.Globalization;
using EcsMem.Components;
using EcsMem.Ecs;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Systems.Machine;

/// <summary>
/// Cross-checks the simulated kernel's redundant bookkeeping between ticks, the way CONFIG_DEBUG_VM's
/// VM_BUG_ON_PAGE and the page-owner / swap_map audits do in Linux: every frame is accounted for exactly once
/// (free in the buddy allocator, free on a per-CPU list, or in use), the buddy free lists and the per-CPU
/// lists are well formed, every mm's RSS and swap counts match its page tables, every frame's
/// mapcount matches the PTEs and the reverse map, swap slot counts match the swap entries in PTEs and the
/// swap cache, the page cache agrees with the frames, the VMA entities in the World are exactly the ones
/// each mm's VMA index holds, and the page-table page entities are exactly the charged tables. It walks every page table of every mm, so it costs
/// O(frames + swap slots + page-table pages) per call: a debugging aid (<c>--check</c>, the reliability tests),
/// not something the simulation does on its own.
/// </summary>
/// <remarks>
/// Only valid between ticks: inside a tick the systems legitimately hold half-done work (a frame isolated by
/// reclaim but not yet unmapped). Messages name the object (frame pfn, mm id, swap slot) and both sides of the
/// disagreement; their order is fixed (frames, buddy, per-CPU lists, page tables, per-frame mapping, swap, page cache,
/// processes, VMA entities, page-table entities) so the same broken state always gives the same list.
/// </remarks>
public sealed class InvariantChecker
{
    private readonly Kernel.Kernel _k;
    private readonly List<string> _violations = new();
    private readonly List<(int Mm, ulong Va)> _maps = new();
    private int[] _ptesPerFrame = [];
    private int[] _anonPtesPerFrame = [];
    private int[] _swapRefs = [];
    private int[] _tableOwner = [];
    private int[] _freeList = [];
    private bool[] _inFreeBlock = [];
    private int[] _vmaEntitiesPerMm = [];
    private static readonly QueryDescription AllVmas = new QueryDescription().WithAll<Vma>();
    private static readonly QueryDescription AllTablePages = new QueryDescription().WithAll<PageTableFrame>();

    public InvariantChecker(Kernel.Kernel kernel) => _k = kernel;

    /// <summary>Checks <paramref name="machine"/>'s kernel; returns the violations (empty when consistent).</summary>
    public static IReadOnlyList<string> Check(SimMachine machine) => new InvariantChecker(machine.Kernel).Check();

    /// <summary>Throws <see cref="InvariantViolationException"/> listing every violation, if there is any.</summary>
    public static void Verify(SimMachine machine, string? when = null)
    {
        var v = Check(machine);
        if (v.Count > 0)
            throw new InvariantViolationException(v, when);
    }

    /// <summary>Runs every check; the returned list is a fresh copy (the checker reuses its buffers).</summary>
    public IReadOnlyList<string> Check()
    {
        _violations.Clear();
        int frames = _k.Zone.Frames.Length;
        Ensure(ref _ptesPerFrame, frames);
        Ensure(ref _anonPtesPerFrame, frames);
        Ensure(ref _tableOwner, frames);
        Ensure(ref _freeList, frames);
        Ensure(ref _swapRefs, Math.Max(_k.Swap.Slots, 1));
        if (_inFreeBlock.Length != frames)
            _inFreeBlock = new bool[frames];
        Array.Clear(_ptesPerFrame);
        Array.Clear(_anonPtesPerFrame);
        Array.Clear(_swapRefs);
        Array.Clear(_inFreeBlock);
        Array.Fill(_tableOwner, -1);

        CheckBuddy();
        CheckPcp();
        CheckPageTables();
        CheckFrames();
        CheckSwap();
        CheckThpSwapCache();
        CheckPageCache();
        CheckLruvec();
        CheckProcesses();
        CheckCpus();
        CheckVmaEntities();
        CheckPageTableEntities();
        CheckMemcg();
        CheckKhugepaged();
        CheckLateWork();
        return _violations.ToArray();
    }

    /// <summary>
    /// The memory controller's counters against the frames and swap entries (page_counter, swap_cgroup): each
    /// group's memory.current is the frames charged to it and its descendants plus the pages the CPUs' charge stocks hold for them (a charge taken for a readahead page
    /// is on its frame), its swap charge the swap entries charged to the subtree, its pagetables the page-table
    /// frames among them; a free frame carries no charge, and each charged swap entry is in use.
    /// </summary>
    private void CheckMemcg()
    {
        if (_k.Memcg is not { } mc)
            return;
        var own = new long[mc.Groups.Count];
        var tables = new long[mc.Groups.Count];
        var swap = new long[mc.Groups.Count];
        Frame[] fr = _k.Zone.Frames;
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            if (mc.OfFrame(pfn) is not { } g)
                continue;
            if (fr[pfn].IsFree)
                Fail($"memcg: free frame {pfn} is still charged to {g.Path}");
            own[g.Id]++;
            if ((fr[pfn].Flags & FrameFlags.Slab) != 0)
                tables[g.Id]++;
        }
        for (int slot = 1; slot < _k.Swap.Slots; slot++)
        {
            if (mc.OfSlot(slot) is not { } g)
                continue;
            if (!_k.Swap.InUse(slot))
                Fail($"memcg: free swap slot {slot} is still charged to {g.Path}");
            swap[g.Id]++;
        }
        foreach (Memcontrol.MemCgroup g in mc.Groups)
        {
            long usage = 0, sw = 0, pt = 0;
            foreach (Memcontrol.MemCgroup d in g.Subtree())
            {
                usage += own[d.Id] + mc.Stocked(d); // charged, and held in the CPUs' stocks (MEMCG_CHARGE_BATCH)
                sw += swap[d.Id];
                pt += tables[d.Id];
            }
            usage += g.KmemObjPages; // slab objects, percpu chunks and kernel stacks: charged by size, no frame behind them
            usage += g.PgdUserPages; // the PGDs' second pages (order-1 under PTI): charged, no frame behind them
            if (usage != g.Usage)
                Fail($"memcg: {g.Path} memory.current is {g.Usage} pages but {usage} frames are charged to its subtree, stocked or kernel objects'");
            if (g.Kmem != g.PageTables + g.KmemObjPages)
                Fail($"memcg: {g.Path} kernel memory is {g.Kmem} pages but its page tables and kernel objects hold {g.PageTables} + {g.KmemObjPages}");
            if (sw != g.SwapUsage)
                Fail($"memcg: {g.Path} memory.swap.current is {g.SwapUsage} pages but {sw} swap entries are charged to its subtree");
            if (pt + g.PgdUserPages != g.PageTables)
                Fail($"memcg: {g.Path} pagetables is {g.PageTables} pages but {pt} page-table frames (and {g.PgdUserPages} PGD second pages) are charged to its subtree");
        }
    }

    /// <summary>
    /// Only the task and CPU checks (mm_users, the CPUs' active and lazy mms, mm_count): O(tasks + CPUs), what the
    /// incremental checker runs after every tick.
    /// </summary>
    internal IReadOnlyList<string> CheckTasksAndCpus()
    {
        _violations.Clear();
        CheckProcesses();
        CheckCpus();
        return _violations.Count == 0 ? [] : _violations.ToArray();
    }

    private static void Ensure(ref int[] a, int n)
    {
        if (a.Length != n)
            a = new int[n];
    }

    // Messages are formatted with the invariant culture so they are the same on every machine.
    private void Fail(FormattableString message) => _violations.Add(FormattableString.Invariant(message));

    // ------------------------------------------------------------------ buddy allocator

    /// <summary>Free lists: counts, alignment, order tags, no overlap, coalesced, and PG_buddy on exactly the free frames.</summary>
    private void CheckBuddy()
    {
        BuddyAllocator b = _k.Zone.Buddy;
        int start = b.StartPfn, end = b.StartPfn + b.ManagedPages;
        long freePages = 0;
        for (int order = 0; order <= BuddyAllocator.MaxOrder; order++)
        {
            int n = b.CopyFreeList(order, _freeList);
            if (n != b.NrFree[order])
                Fail($"buddy: order-{order} free list holds {n} blocks but nr_free says {b.NrFree[order]}");
            for (int i = 0; i < Math.Min(n, _freeList.Length); i++)
            {
                int head = _freeList[i];
                int size = 1 << order;
                if (head < start || head + size > end || (head & (size - 1)) != 0)
                {
                    Fail($"buddy: order-{order} block at pfn {head} is misaligned or outside the zone");
                    continue;
                }
                if (b.FreeBlockOrderAt(head) != order)
                    Fail($"buddy: block at pfn {head} is on the order-{order} list but tagged order {b.FreeBlockOrderAt(head)}");
                if (order < BuddyAllocator.MaxOrder)
                {
                    int buddy = head ^ size;
                    if (buddy >= start && buddy + size <= end && b.FreeBlockOrderAt(buddy) == order)
                        Fail($"buddy: order-{order} blocks at pfn {Math.Min(head, buddy)} and {Math.Max(head, buddy)} are free buddies but not merged");
                }
                for (int p = head; p < head + size; p++)
                {
                    if (_inFreeBlock[p - start])
                        Fail($"buddy: frame {p} is in two free blocks");
                    _inFreeBlock[p - start] = true;
                }
                freePages += size;
            }
        }
        if (freePages != b.NrFreePages)
            Fail($"buddy: free lists hold {freePages} pages but NR_FREE_PAGES is {b.NrFreePages}");

        long inUse = 0, onPcp = 0;
        Frame[] fr = _k.Zone.Frames;
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            bool flagged = (fr[pfn].Flags & FrameFlags.Buddy) != 0;
            bool free = pfn >= start && pfn < end && _inFreeBlock[pfn - start];
            if (flagged && !free)
                Fail($"frame {pfn}: flagged PG_buddy but on no free list");
            else if (!flagged && free)
                Fail($"frame {pfn}: on a free list but not flagged PG_buddy");
            if ((fr[pfn].Flags & FrameFlags.PcpList) != 0)
                onPcp++;
            else if (!flagged)
                inUse++;
        }
        // Conservation: every frame is free in the buddy allocator, free on a per-CPU list, or in use.
        if (_k.Zone.Pcp is null)
        {
            if (b.NrFreePages + inUse + onPcp != fr.Length)
                Fail($"frames: {b.NrFreePages} free in the buddy allocator + {inUse + onPcp} in use != {fr.Length} total");
        }
        else if (b.NrFreePages + onPcp + inUse != fr.Length)
        {
            Fail($"frames: {b.NrFreePages} free in the buddy allocator + {onPcp} on per-CPU lists + {inUse} in use != {fr.Length} total");
        }
    }

    // ------------------------------------------------------------------ per-CPU page lists

    /// <summary>
    /// Each CPU's list: its length is pcp-&gt;count, which is at most pcp-&gt;high in Linux 6.6 (a free that reaches
    /// the high mark returns pages at once; 6.7+: at most the larger of high_min and high_max plus a batch per type); every page on it is tagged as a pcp page, is on no buddy free list, is still
    /// allocated from the buddy allocator's point of view, and is on this list only. The tagged frames are
    /// exactly the listed ones, and nothing is tagged when the lists are off.
    /// </summary>
    private void CheckPcp()
    {
        Frame[] fr = _k.Zone.Frames;
        PerCpuPageSet? pcp = _k.Zone.Pcp;
        if (pcp is null)
        {
            for (int pfn = 0; pfn < fr.Length; pfn++)
                if ((fr[pfn].Flags & FrameFlags.PcpList) != 0)
                    Fail($"frame {pfn}: tagged as on a per-CPU list, but the lists are off");
            return;
        }
        BuddyAllocator b = _k.Zone.Buddy;
        long listed = 0;
        for (int cpu = 0; cpu < pcp.Cpus; cpu++)
        {
            int n = pcp.CopyList(cpu, _freeList);
            listed += n;
            if (n != pcp.Count(cpu))
                Fail($"pcp: CPU {cpu}'s list holds {n} pages but its count is {pcp.Count(cpu)}");
            // 6.6: a free at the high mark returns pages at once; only a high-order list's refill (no room check, as
            // __rmqueue_pcplist has none) may leave the CPU above it, by at most one refill per high-order list.
            int highOrderRefills = (PerCpuPageSet.NrPcpLists - BuddyAllocator.NrTypes) * Math.Max(pcp.Batch, 2 << PerCpuPageSet.PageAllocCostlyOrder);
            if (!pcp.HighTuning && pcp.Count(cpu) > pcp.High + highOrderRefills)
                Fail($"pcp: CPU {cpu} holds {pcp.Count(cpu)} pages, above its high mark {pcp.High}");
            // 6.7+: high moves and a shrink (reclaim, ZONE_BELOW_HIGH) may leave the list above it until the next
            // frees or decay; but a free at the clamped high returns pages, and a refill of a type's empty list
            // takes at most max(high - count - batch, batch) (a high-order list's max(batch >> order, 2) blocks), so no
            // CPU passes the larger bound by more than one refill per list.
            int bound = Math.Max(pcp.HighMin, pcp.HighMax);
            int refill = Math.Max(pcp.Batch, 2 << PerCpuPageSet.PageAllocCostlyOrder);
            if (pcp.HighTuning && (pcp.Count(cpu) > bound + (PerCpuPageSet.NrPcpLists * refill) || pcp.HighOf(cpu) > bound))
                Fail($"pcp: CPU {cpu} holds {pcp.Count(cpu)} pages with high {pcp.HighOf(cpu)}, beyond high_min {pcp.HighMin}, high_max {pcp.HighMax} and batch {pcp.Batch}");
            for (int i = 0; i < Math.Min(n, _freeList.Length); i++)
            {
                int pfn = _freeList[i];
                if ((uint)pfn >= (uint)fr.Length)
                {
                    Fail($"pcp: CPU {cpu}'s list holds pfn {pfn}, outside RAM");
                    continue;
                }
                if ((fr[pfn].Flags & FrameFlags.PcpList) == 0)
                    Fail($"pcp: frame {pfn} is on CPU {cpu}'s list but its struct page says {fr[pfn].Flags}");
                if (pfn >= b.StartPfn && pfn < b.StartPfn + b.ManagedPages && _inFreeBlock[pfn - b.StartPfn])
                    Fail($"pcp: frame {pfn} is on CPU {cpu}'s list and in a buddy free block");
                else if (pcp.BlockOf(pfn, out int order) is int head && (head < 0 || !b.IsAllocatedHead(head, order)))
                    Fail($"pcp: frame {pfn} is on CPU {cpu}'s list but the buddy allocator never handed out its order-{order} block at {head}");
                if (pcp.CpuOf(pfn) != cpu)
                    Fail($"pcp: frame {pfn} is on CPU {cpu}'s list but recorded on CPU {pcp.CpuOf(pfn)}'s");
            }
        }
        long tagged = 0;
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            if ((fr[pfn].Flags & FrameFlags.PcpList) == 0)
                continue;
            tagged++;
            if (pcp.CpuOf(pfn) < 0)
                Fail($"frame {pfn}: tagged as on a per-CPU list but on none");
        }
        if (tagged != listed || listed != pcp.TotalCount)
            Fail($"pcp: {tagged} frames tagged, {listed} listed, {pcp.TotalCount} counted on per-CPU lists");
    }

    // ------------------------------------------------------------------ page tables

    /// <summary>Walks every mm's tables: table pages and their frames, PTE targets, RSS and swap-entry counts.</summary>
    private void CheckPageTables()
    {
        foreach (MmState mm in _k.Tasks.LiveMms)
        {
            var walk = new MmWalk { Mm = mm };
            bool dead = mm.Mm.Struct.MmUsers <= 0;
            WalkTable(ref walk, mm.Tables.Root, mm.Tables.Mode.Levels - 1, 0);
            if (dead)
            {
                if (mm.TablePages.Count != 0)
                    Fail($"mm {mm.Id}: exited but still owns {mm.TablePages.Count} page-table pages");
            }
            else
            {
                if (mm.TablePages.Count != walk.Tables)
                    Fail($"mm {mm.Id}: {mm.TablePages.Count} page-table frames charged but {walk.Tables} tables reachable");
                foreach (var (id, (_, pfn)) in mm.TablePages)
                {
                    if ((uint)pfn >= (uint)_k.Zone.Frames.Length)
                    {
                        Fail($"mm {mm.Id}: page table {id} charged to pfn {pfn} outside RAM");
                        continue;
                    }
                    if (_tableOwner[pfn] >= 0)
                        Fail($"frame {pfn}: backs page tables of mm {_tableOwner[pfn]} and mm {mm.Id}");
                    _tableOwner[pfn] = mm.Id;
                    if (mm.Tables.LevelOf(id) < 0)
                        Fail($"mm {mm.Id}: page table {id} is charged to frame {pfn} but is free");
                }
            }
            ref MmStruct s = ref mm.Mm.Struct;
            ulong rss = s.RssAnon + s.RssFile + s.RssShmem;
            if (rss != (ulong)walk.Present)
                Fail($"mm {mm.Id}: RSS {rss} (anon {s.RssAnon} + file {s.RssFile} + shmem {s.RssShmem}) but {walk.Present} present PTEs map pages");
            else if (s.RssAnon != (ulong)walk.PresentAnon)
                Fail($"mm {mm.Id}: MM_ANONPAGES {s.RssAnon} but {walk.PresentAnon} present PTEs map anonymous pages");
            if (s.SwapEnts != (ulong)walk.Swap)
                Fail($"mm {mm.Id}: MM_SWAPENTS {s.SwapEnts} but {walk.Swap} swap PTEs");
            if (mm.HiwaterRss < rss)
                Fail($"mm {mm.Id}: hiwater_rss {mm.HiwaterRss} below RSS {rss}");
        }
    }

    private struct MmWalk
    {
        public MmState Mm;
        public long Tables;
        public long Present;
        public long PresentAnon;
        public long Swap;
    }

    private void WalkTable(ref MmWalk w, int page, int level, ulong vaBase)
    {
        var tables = w.Mm.Tables;
        int bits = tables.Mode.BitsPerLevel;
        w.Tables++;
        ReadOnlySpan<ulong> entries = tables.Entries(page);
        int shift = Pte.PageShift + (level * bits);
        for (int i = 0; i < entries.Length; i++)
        {
            ulong e = entries[i];
            if (e == 0)
                continue;
            ulong va = vaBase + ((ulong)i << shift);
            if (level > 0)
            {
                int child = (int)((e & Pte.PfnMask) >> Pte.PageShift);
                if ((e & Pte.PresentBit) == 0 || tables.LevelOf(child) != level - 1)
                {
                    Fail($"mm {w.Mm.Id}: level-{level} entry for 0x{va:x} = 0x{e:x} does not point at a level-{level - 1} table");
                    continue;
                }
                WalkTable(ref w, child, level - 1, va);
                continue;
            }
            CheckLeaf(ref w, va, e);
        }
    }

    private void CheckLeaf(ref MmWalk w, ulong va, ulong e)
    {
        var pte = new Pte(e);
        MmState mm = w.Mm;
        int idx = mm.Mm.Vmas.FindVma(va);
        if (idx < 0 || va < mm.Mm.Vmas.StartOf(idx))
            Fail($"mm {mm.Id}: PTE 0x{e:x} at 0x{va:x} lies outside every VMA");
        else if (pte.PmdMapped)
            CheckPmdMapped(mm, idx, va, e);
        // A PROT_NONE page keeps its frame with the present bit cleared and _PAGE_PROTNONE set; Linux's
        // pte_present() is true for it, and so it counts as a mapping here (RSS, mapcount, rmap).
        if (pte.Present || (e & Pte.ProtNoneBit) != 0)
        {
            ulong pfn = pte.Pfn;
            if (pfn >= (ulong)_k.Zone.Frames.Length)
            {
                Fail($"mm {mm.Id}: PTE at 0x{va:x} maps pfn {pfn} beyond RAM");
                return;
            }
            if (pte.Special)
            {
                if ((int)pfn != _k.Zone.ZeroPfn && !((_k.Thp.IsHugeZero((int)pfn) || _k.Hugetlb.IsHugetlb((int)pfn)) && pte.PmdMapped))
                    Fail($"mm {mm.Id}: special PTE at 0x{va:x} maps pfn {pfn}, not the zero page");
                return;
            }
            if (_k.Thp.IsHugeZero((int)pfn))
            {
                Fail($"mm {mm.Id}: PTE at 0x{va:x} maps the huge zero page without the special bit");
                return;
            }
            if ((int)pfn == _k.Zone.ZeroPfn)
            {
                Fail($"mm {mm.Id}: PTE at 0x{va:x} maps the zero page without the special bit");
                return;
            }
            ref Frame f = ref _k.Zone.Frames[(int)pfn];
            if (f.IsFree)
                Fail($"mm {mm.Id}: present PTE at 0x{va:x} maps free frame {pfn}");
            if ((f.Flags & FrameFlags.Slab) != 0)
                Fail($"mm {mm.Id}: present PTE at 0x{va:x} maps page-table frame {pfn}");
            _ptesPerFrame[pfn]++;
            w.Present++;
            if (f.IsAnon && !f.IsShmem)
                w.PresentAnon++;
            return;
        }
        if (pte.IsSwap)
        {
            SwapEntry se = pte.ToSwapEntry();
            w.Swap++;
            if (se.Type != 0 || se.Offset == 0 || se.Offset >= (ulong)_k.Swap.Slots)
            {
                Fail($"mm {mm.Id}: swap PTE at 0x{va:x} names {se}, outside the swap area");
                return;
            }
            _swapRefs[(int)se.Offset]++;
            return;
        }
        Fail($"mm {mm.Id}: PTE 0x{e:x} at 0x{va:x} is neither present, PROT_NONE nor a swap entry");
    }

    /// <summary>
    /// A PMD mapping's 512 entries agree: each entry's block lies wholly inside its VMA, the block's first entry is
    /// PMD-mapped too, this entry maps the first one's frame plus its index with the same protection, and a huge page
    /// of anonymous memory is an unsplit order-9 folio (every page flagged Thp, the first 512-aligned). At the first
    /// entry the other 511 are checked to be there.
    /// </summary>
    private void CheckPmdMapped(MmState mm, int vmaIdx, ulong va, ulong e)
    {
        const ulong size = HugeMemory.HugeMemory.PmdSize;
        ulong haddr = va & HugeMemory.HugeMemory.PmdMask;
        ref readonly Vma v = ref mm.Mm.Vmas[vmaIdx];
        if (haddr < v.Start || haddr + size > v.End)
            Fail($"mm {mm.Id}: PMD mapping at 0x{haddr:x} crosses the VMA [0x{v.Start:x}, 0x{v.End:x})");
        ulong first = mm.Tables.Lookup(haddr);
        int index = (int)((va - haddr) >> Pte.PageShift);
        const ulong Same = Pte.PresentBit | Pte.RwBit | Pte.UserBit | Pte.NxBit | Pte.CowBit | Pte.SpecialBit | Pte.PmdMappedBit | Pte.ProtNoneBit;
        if (!Pte.IsPmdMapped(first) || ((first ^ e) & Same) != 0 || new Pte(first).Pfn + (ulong)index != new Pte(e).Pfn)
        {
            Fail($"mm {mm.Id}: entry {index} of the PMD mapping at 0x{haddr:x} (0x{e:x}) disagrees with its first (0x{first:x})");
            return;
        }
        int pfn = (int)new Pte(e).Pfn;
        if (!new Pte(e).Special && (pfn - index) % HugeMemory.HugeMemory.PmdPages != 0)
            Fail($"mm {mm.Id}: PMD mapping at 0x{haddr:x} maps frames from {pfn - index}, not a 512-aligned folio");
        if (!new Pte(e).Special && pfn < _k.Zone.Frames.Length && (_k.Zone.Frames[pfn].Flags & FrameFlags.Thp) == 0)
            Fail($"mm {mm.Id}: PMD mapping at 0x{haddr:x} maps frame {pfn}, which is not part of a THP");
        if (index != 0)
            return;
        for (int i = 1; i < HugeMemory.HugeMemory.PmdPages; i++)
        {
            if (!Pte.IsPmdMapped(mm.Tables.Lookup(haddr + ((ulong)i << Pte.PageShift))))
            {
                Fail($"mm {mm.Id}: PMD mapping at 0x{haddr:x} lacks its entry {i}");
                return;
            }
        }
    }

    // ------------------------------------------------------------------ frames

    /// <summary>
    /// A page held through the reclaim its failed charge made (<see cref="Kernel.Kernel.AwaitsCharge"/>) must be
    /// allocated, pinned, uncharged and on no list or mapping: the violation, or null.
    /// </summary>
    internal static string? HeldForChargeProblem(Kernel.Kernel k, int pfn, int rmap)
    {
        ref Frame f = ref k.Zone.Frames[pfn];
        if (f.MapCount != 0 || rmap != 0 || (f.Flags & FrameFlags.Lru) != 0 || k.Zone.Pins[pfn] == 0 || k.Memcg?.OfFrame(pfn) is not null)
            return $"frame {pfn}: held for its charge with mapcount {f.MapCount}, {rmap} reverse mappings, {k.Zone.Pins[pfn]} pins, flags {f.Flags}";
        return null;
    }

    /// <summary>Per frame: identity, ownership (free / page table / zero page / holds a page), mapcount vs PTEs vs rmap.</summary>
    private void CheckFrames()
    {
        Frame[] fr = _k.Zone.Frames;
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            ref Frame f = ref fr[pfn];
            if (f.Pfn != pfn)
                Fail($"frame {pfn}: struct page says pfn {f.Pfn}");
            int rmap = _k.Rmap.Count(pfn);
            if (f.IsFree)
            {
                if (f.MapCount != 0 || rmap != 0 || _ptesPerFrame[pfn] != 0)
                    Fail($"frame {pfn}: free but mapcount {f.MapCount}, {rmap} reverse mappings, {_ptesPerFrame[pfn]} PTEs");
                if ((f.Flags & (FrameFlags.Lru | FrameFlags.SwapCache | FrameFlags.Slab)) != 0)
                    Fail($"frame {pfn}: free but flagged {f.Flags}");
                if (_k.Zone.Pins[pfn] != 0)
                    Fail($"frame {pfn}: free but pinned {_k.Zone.Pins[pfn]} time(s)");
                continue;
            }
            if ((f.Flags & FrameFlags.Hugetlb) != 0)
            {
                // A hugetlb pool page: mapped only by special entries, never through the rmap or the mapcount.
                if (f.MapCount != 0 || rmap != 0 || _k.Zone.Pins[pfn] == 0)
                    Fail($"frame {pfn}: hugetlb page with mapcount {f.MapCount}, {rmap} reverse mappings, {_k.Zone.Pins[pfn]} pins");
                continue;
            }
            if (pfn == _k.Zone.ZeroPfn || _k.Thp.IsHugeZero(pfn))
            {
                if (f.MapCount != 0 || rmap != 0)
                    Fail($"frame {pfn}: the zero page has mapcount {f.MapCount} and {rmap} reverse mappings (it must have none)");
                continue;
            }
            if ((f.Flags & FrameFlags.Reserved) != 0)
            {
                // Held from boot by the machine's other users (machine.free_area): never mapped, always pinned.
                if (f.MapCount != 0 || rmap != 0 || _ptesPerFrame[pfn] != 0 || _k.Zone.Pins[pfn] == 0 || f.Flags != FrameFlags.Reserved)
                    Fail($"frame {pfn}: a held page with mapcount {f.MapCount}, {rmap} reverse mappings, {_ptesPerFrame[pfn]} PTEs, {_k.Zone.Pins[pfn]} pins, flags {f.Flags}");
                continue;
            }
            if ((f.Flags & FrameFlags.Slab) != 0)
            {
                if (_tableOwner[pfn] < 0)
                    Fail($"frame {pfn}: flagged as a page table but no live mm's table uses it");
                if (f.MapCount != 0 || rmap != 0)
                    Fail($"frame {pfn}: page-table frame with mapcount {f.MapCount} and {rmap} reverse mappings");
                continue;
            }
            if (_k.Khugepaged.InFlight(pfn))
            {
                // The folio of a collapse still copying: allocated, not yet mapped or on the LRU.
                if (f.MapCount != 0 || rmap != 0 || (f.Flags & FrameFlags.Lru) != 0)
                    Fail($"frame {pfn}: khugepaged's folio in flight with mapcount {f.MapCount}, {rmap} reverse mappings, flags {f.Flags}");
                continue;
            }
            if (_k.AwaitsCharge(pfn))
            {
                if (HeldForChargeProblem(_k, pfn, rmap) is { } problem)
                    Fail($"{problem}");
                continue;
            }
            if (_tableOwner[pfn] >= 0)
                Fail($"frame {pfn}: backs a page table of mm {_tableOwner[pfn]} but is not flagged as one");

            if (f.MapCount != _ptesPerFrame[pfn])
                Fail($"frame {pfn}: mapcount {f.MapCount} but {_ptesPerFrame[pfn]} PTEs map it");
            if (rmap != _ptesPerFrame[pfn])
                Fail($"frame {pfn}: reverse map holds {rmap} mappings but {_ptesPerFrame[pfn]} PTEs map it");
            else if (rmap > 0)
                CheckRmapTargets(pfn);

            // A folio waiting in an lru_add batch has no PG_lru yet (lru_add sets it), but the batch frees it.
            bool onLru = (f.Flags & FrameFlags.Lru) != 0 || _k.Zone.InLruAddBatch(pfn);
            bool inSwapCache = (f.Flags & FrameFlags.SwapCache) != 0;
            bool inPageCache = !f.IsAnon && f.Mapping >= 0;
            if (!onLru && !inSwapCache && !inPageCache && f.MapCount == 0 && _ptesPerFrame[pfn] == 0)
                Fail($"frame {pfn}: leaked (allocated, but not a page table, not the zero page, not on the LRU, not cached and not mapped)");
            else if (f.IsAnon && !inSwapCache && _ptesPerFrame[pfn] == 0 && _k.Zone.Pins[pfn] == 0 && !HeldByPartlyMappedThp(f, pfn))
                Fail($"frame {pfn}: anonymous page neither mapped nor in the swap cache (should have been freed)");
        }
    }

    /// <summary>
    /// khugepaged's list (mm_slots): each mm once, registered (MMF_VM_HUGEPAGE), alive (an mm leaves at its last mmput),
    /// and the scan cursor on the list or NULL. (Migrated and collapsed pages are held by the PTE, rmap and frame checks.)
    /// </summary>
    /// <summary>
    /// The late-work guard's record (<see cref="Simulation.SimEnvironment.LateWork"/>): work added to a tick's batch after
    /// its consumer ran was dropped unread at some tick so far.
    /// </summary>
    private void CheckLateWork()
    {
        if (_k.Env.LateWork is { } w)
            Fail($"{w} ({_k.Env.LateWorkCount} found so far)");
    }

    private void CheckKhugepaged()
    {
        var k = _k.Khugepaged;
        var seen = new HashSet<int>();
        foreach (int id in k.MmList)
        {
            if (!seen.Add(id))
                Fail($"khugepaged: mm {id} is on its list twice");
            if (!k.IsRegistered(id))
                Fail($"khugepaged: mm {id} is on its list but not registered");
            if (_k.Tasks.MmById(id) is not { } mm || mm.Mm.Struct.MmUsers <= 0)
                Fail($"khugepaged: mm {id} on its list has exited");
        }
        if (k.ScanMm >= 0 && !seen.Contains(k.ScanMm))
            Fail($"khugepaged: the scan cursor names mm {k.ScanMm}, which is not on its list");
    }

    /// <summary>Every reverse mapping of <paramref name="pfn"/> names a PTE that really maps it.</summary>
    private void CheckRmapTargets(int pfn)
    {
        _k.Rmap.CopyTo(pfn, _maps);
        foreach (var (mmId, va) in _maps)
        {
            MmState? mm = _k.Tasks.MmById(mmId);
            ulong e = mm?.Tables.Lookup(va) ?? 0;
            var pte = new Pte(e);
            if ((!pte.Present && (e & Pte.ProtNoneBit) == 0) || (int)pte.Pfn != pfn)
                Fail($"frame {pfn}: reverse map names mm {mmId} va 0x{va:x}, whose PTE is 0x{e:x}");
        }
    }

    // ------------------------------------------------------------------ swap

    /// <summary>swap_map counts vs swap PTEs, SWAP_HAS_CACHE vs the swap cache, and the in-use total.</summary>
    private void CheckSwap()
    {
        var swap = _k.Swap;
        int used = 0, cached = 0;
        // A shmem object's slot holding a swap entry holds one swap_map reference, as a swap PTE does.
        foreach (var (file, index, slot) in _k.PageCache.SwapValueEntries())
        {
            if (slot <= 0 || slot >= swap.Slots)
                Fail($"page {index} of file {file}: its swap entry names slot {slot}, outside the swap area");
            else
                _swapRefs[slot]++;
        }
        for (int slot = 1; slot < swap.Slots; slot++)
        {
            int count = swap.Count(slot);
            if (count != _swapRefs[slot])
                Fail($"swap slot {slot}: swap_map count {count} but {_swapRefs[slot]} PTEs and shmem slots hold it");
            int pfn = _k.SwapCache.Lookup(slot);
            if (swap.IsCached(slot) != (pfn >= 0))
                Fail($"swap slot {slot}: SWAP_HAS_CACHE is {swap.IsCached(slot)} but the swap cache {(pfn >= 0 ? "holds frame " + pfn.ToString(CultureInfo.InvariantCulture) : "has no page")}");
            if (pfn >= 0)
            {
                cached++;
                ref Frame f = ref _k.Zone.Frames[pfn];
                if (f.IsFree)
                    Fail($"swap slot {slot}: swap cache holds free frame {pfn}");
                else if ((f.Flags & FrameFlags.SwapCache) == 0 || f.Index != slot)
                    Fail($"swap slot {slot}: swap cache holds frame {pfn}, whose struct page says swapcache={(f.Flags & FrameFlags.SwapCache) != 0} slot {f.Index}");
            }
            if (swap.InUse(slot))
                used++;
            if (!swap.InUseBitAgrees(slot))
                Fail($"swap slot {slot}: the free-slot bitmap says {(swap.InUse(slot) ? "free" : "in use")}, its counts the opposite");
        }
        if (used != swap.UsedPages)
            Fail($"swap: {used} slots referenced or cached but inuse_pages is {swap.UsedPages}");
        if (cached != _k.SwapCache.Count)
            Fail($"swap cache: {cached} slots cached but its count is {_k.SwapCache.Count}");
        Frame[] fr = _k.Zone.Frames;
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            if ((fr[pfn].Flags & FrameFlags.SwapCache) == 0)
                continue;
            long slot = fr[pfn].Index;
            if (slot <= 0 || slot >= swap.Slots || _k.SwapCache.Lookup((int)slot) != pfn)
                Fail($"frame {pfn}: flagged PG_swapcache for slot {slot}, but the swap cache does not hold it there");
        }
    }

    /// <summary>
    /// A THP and the swap cache (add_to_swap of a large folio, __remove_mapping, split_huge_page): while its 512 pages
    /// are one folio they are in the swap cache all together, at the 512 consecutive slots of one swap cluster from a
    /// 512-aligned slot (folio_alloc_swap of order 9), or none is; a split folio's pages leave it as order-0 pages.
    /// </summary>
    private void CheckThpSwapCache()
    {
        Frame[] fr = _k.Zone.Frames;
        const int Huge = HugeMemory.HugeMemory.PmdPages;
        for (int head = 0; head + Huge <= fr.Length; head += Huge)
        {
            if ((fr[head].Flags & FrameFlags.Thp) == 0)
                continue;
            int cached = 0;
            for (int i = 0; i < Huge; i++)
                if ((fr[head + i].Flags & FrameFlags.SwapCache) != 0)
                    cached++;
            if (cached == 0)
                continue;
            if (cached != Huge)
            {
                Fail($"THP at frame {head}: {cached} of its {Huge} pages in the swap cache (a THP's are all or none)");
                continue;
            }
            long first = fr[head].Index;
            if (first % Huge != 0)
                Fail($"THP at frame {head}: in the swap cache from slot {first}, not the start of a swap cluster");
            for (int i = 1; i < Huge; i++)
            {
                if (fr[head + i].Index != first + i)
                {
                    Fail($"THP at frame {head}: page {i} at swap slot {fr[head + i].Index}, not {first + i}");
                    break;
                }
            }
        }
    }

    // ------------------------------------------------------------------ page cache

    /// <summary>What is wrong with the page-cache entry (file, index) → pfn, or null: its frame must be in RAM, in use and hold that page.</summary>
    internal static string? PageCacheEntryProblem(Kernel.Kernel k, int file, long index, int pfn)
    {
        if ((uint)pfn >= (uint)k.Zone.Frames.Length)
            return $"page cache: file {file} page {index} points at pfn {pfn} outside RAM";
        ref Frame f = ref k.Zone.Frames[pfn];
        if (f.IsFree)
            return $"page cache: file {file} page {index} points at free frame {pfn}";
        if (f.IsAnon || f.Mapping != file || f.Index != index)
            return $"page cache: file {file} page {index} points at frame {pfn}, which holds {(f.IsAnon ? "anon" : "file")} {f.Mapping} page {f.Index}";
        return null;
    }

    /// <summary>Each page-cache entry's frame carries its (file, index) and is in use; each file frame is indexed.</summary>
    /// <summary>
    /// The Linux LRU (policy <c>linux</c>): every frame flagged PG_lru is on exactly one list of the lruvec or in one
    /// lru_add batch, and on the list its flags name (PG_unevictable; else PG_swapbacked and PG_active); nothing
    /// else is on a list; each list's size is the number of frames on it.
    /// </summary>
    private void CheckLruvec()
    {
        if (_k.Lruvec is null)
            return;
        if (_k.Memcg is { } mc)
        {
            foreach (Memcontrol.MemCgroup g in mc.Groups)
                CheckLruvec((Lruvec)g.Lruvec, g.Path);
        }
        else
        {
            CheckLruvec(_k.Lruvec, "");
        }
        CheckFolioBatches();
    }

    /// <summary>
    /// The lru_deactivate and lru_lazyfree batches: every folio in one is allocated, a small folio with PG_lru (on a list,
    /// or unmapped by a zap the batch outlives) and holds one reference (a pin) per slot it fills.
    /// </summary>
    private void CheckFolioBatches()
    {
        if (_k.FolioBatches is not { } b)
            return;
        Frame[] fr = _k.Zone.Frames;
        int held = 0;
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            int n = b.Held(pfn);
            if (n == 0)
                continue;
            held += n;
            if (n < 0 || fr[pfn].IsFree || _k.Zone.Pins[pfn] < n)
                Fail($"frame {pfn}: in an lru_add, lru_deactivate or lru_lazyfree batch {n} time(s) but free or pinned only {_k.Zone.Pins[pfn]} time(s) ({fr[pfn].Flags})");
            // PG_lru: set on a folio in the lru_deactivate or lru_lazyfree batch (it is on a list), not yet on one in lru_add's.
            FrameFlags want = _k.LruAddBatches?.InBatch(pfn) == true ? FrameFlags.None : FrameFlags.Lru;
            if ((fr[pfn].Flags & (FrameFlags.Thp | FrameFlags.Lru)) != want || fr[pfn].FolioOrder != 0)
                Fail($"frame {pfn}: in an lru_add, lru_deactivate or lru_lazyfree batch but not a small folio, PG_lru {(want == FrameFlags.None ? "clear until lru_add" : "set")} ({fr[pfn].Flags})");
        }
        int pending = b.AllPending + (_k.LruAddBatches?.Pending ?? 0);
        if (held != pending)
            Fail($"lru_add, lru_deactivate and lru_lazyfree batches hold {pending} folio(s) but {held} reference(s) are counted");
    }

    /// <summary>Each frame on <paramref name="lv"/> is on the list its flags name (or in an lru_add batch), and the list sizes agree.</summary>
    private void CheckLruvec(Lruvec lv, string group)
    {
        string where = group.Length == 0 ? "" : $" (cgroup {group})";
        if (lv.LruGenEnabled)
        {
            CheckLruGen(lv, where);
            return;
        }
        Frame[] fr = _k.Zone.Frames;
        Span<long> counted = stackalloc long[5];
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            FrameFlags fl = fr[pfn].Flags;
            int list = lv.ListOf(pfn);
            bool batched = lv.InBatch(pfn);
            bool thp = (fl & FrameFlags.Thp) != 0; // a PMD-sized THP: one entry of 512 pages on the classic lists
            if (list >= 0) counted[list] += thp ? HugeMemory.HugeMemory.PmdPages : Filemap.PageCacheFolio.NrPages(fr, pfn);
            bool mine = _k.LruvecOf(pfn) == lv;
            if (thp && HugeMemory.HugeMemory.HeadOf(pfn) is int thpHead && thpHead != pfn)
            {
                if (list >= 0 || batched)
                    Fail($"frame {pfn}: a page of the THP at {thpHead} but itself on LRU list {(LruList)Math.Max(list, 0)} or an lru_add batch{where}");
                if ((((fr[thpHead].Flags ^ fl) & Filemap.PageCacheFolio.FolioWide) != 0 && (fr[thpHead].Flags & FrameFlags.Thp) != 0)
                    || _k.LruvecOf(thpHead) != _k.LruvecOf(pfn))
                    Fail($"frame {pfn}: a page of the THP at {thpHead} whose flags ({fl}) or memcg differ from its head's ({fr[thpHead].Flags})");
                continue;
            }
            if (fr[pfn].FolioOrder != 0 && Filemap.PageCacheFolio.Head(fr, pfn) is int head && head != pfn)
            {
                // A page of a large folio other than its head: never an LRU entry of its own; its folio-wide flags,
                // memcg and order are its head's.
                if (list >= 0 || batched)
                    Fail($"frame {pfn}: a page of the large folio at {head} but itself on LRU list {(LruList)Math.Max(list, 0)} or an lru_add batch{where}");
                if (fr[head].FolioOrder != fr[pfn].FolioOrder || ((fr[head].Flags ^ fl) & Filemap.PageCacheFolio.FolioWide) != 0
                    || _k.LruvecOf(head) != _k.LruvecOf(pfn))
                    Fail($"frame {pfn}: a page of the large folio at {head} whose order, flags ({fl}) or memcg differ from its head's ({fr[head].Flags}, order {fr[head].FolioOrder})");
                continue;
            }
            if (batched)
            {
                // The lru_add batches are every lruvec's (cpu_fbatches.lru_add): another group's folio may wait there.
                // It is on no list and has no PG_lru until the batch moves it (lru_add, folio_set_lru).
                if (list >= 0 || (fl & FrameFlags.Lru) != 0)
                    Fail($"frame {pfn}: in an lru_add batch{where} but on LRU list {(LruList)Math.Max(list, 0)} or with PG_lru ({fl})");
                continue;
            }
            if ((fl & FrameFlags.Lru) == 0 || !mine)
            {
                if (list >= 0)
                    Fail($"frame {pfn}: on LRU list {(LruList)list}{where} without PG_lru or its memcg's lruvec ({fl})");
                continue;
            }
            if (list < 0)
                Fail($"frame {pfn}: PG_lru but on no LRU list and in no lru_add batch{where}");
            else
            {
                LruList want = (fl & FrameFlags.Unevictable) != 0 ? LruList.Unevictable
                    : (LruList)(((fl & FrameFlags.SwapBacked) != 0 ? 0 : 2) + ((fl & FrameFlags.Active) != 0 ? 1 : 0));
                if ((LruList)list != want)
                    Fail($"frame {pfn}: on {(LruList)list}{where} but its flags ({fl}) say {want}");
            }
        }
        for (int l = 0; l < 5; l++)
            if (counted[l] != lv.Size((LruList)l))
                Fail($"LRU list {(LruList)l}{where}: size {lv.Size((LruList)l)} but {counted[l]} frames are on it");
    }

    /// <summary>
    /// The multi-gen LRU: every frame with PG_lru of this lruvec is on exactly one generation list, on LRU_UNEVICTABLE or in
    /// an lru_add batch; each generation list holds its type's frames with a generation in min_seq..max_seq in their flags
    /// and no PG_active, and the counts agree (<see cref="Lruvec.LruGenProblem"/>).
    /// </summary>
    private void CheckLruGen(Lruvec lv, string where)
    {
        if (lv.LruGenProblem() is { } problem)
            Fail($"{problem}{where}");
        Frame[] fr = _k.Zone.Frames;
        long unevictable = 0;
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            FrameFlags fl = fr[pfn].Flags;
            int list = lv.ListOf(pfn);
            bool batched = lv.InBatch(pfn);
            bool onGen = lv.LruGenFolioGen(pfn) >= 0;
            if (list == (int)LruList.Unevictable) unevictable++;
            if (batched)
            {
                // No PG_lru and no list until the batch moves it (lru_add, folio_set_lru).
                if (list >= 0 || (fl & FrameFlags.Lru) != 0)
                    Fail($"frame {pfn}: in an lru_add batch{where} but on an LRU list or with PG_lru ({fl})");
                continue;
            }
            if ((fl & FrameFlags.Lru) == 0 || _k.LruvecOf(pfn) != lv)
            {
                if (list >= 0)
                    Fail($"frame {pfn}: on an LRU list{where} without PG_lru or its memcg's lruvec ({fl})");
                else if (onGen && _k.LruvecOf(pfn) == lv)
                    Fail($"frame {pfn}: a generation in its flags{where} without PG_lru ({fl})");
                continue;
            }
            int places = list >= 0 ? 1 : 0;
            if (places != 1)
                Fail($"frame {pfn}: PG_lru but on {places} of the generation lists, LRU_UNEVICTABLE and the lru_add batches{where}");
            else if (list == (int)LruList.Unevictable && (fl & FrameFlags.Unevictable) == 0)
                Fail($"frame {pfn}: on LRU_UNEVICTABLE{where} without PG_unevictable ({fl})");
            else if (list >= 0 && list != (int)LruList.Unevictable && !onGen)
                Fail($"frame {pfn}: on an evictable list{where} but in no generation ({fl})");
        }
        if (unevictable != lv.Size(LruList.Unevictable))
            Fail($"LRU_UNEVICTABLE{where}: size {lv.Size(LruList.Unevictable)} but {unevictable} frames are on it");
    }

    private void CheckPageCache()
    {
        int n = 0;
        foreach (var (file, index, pfn) in _k.PageCache.Entries())
        {
            n++;
            if (PageCacheEntryProblem(_k, file, index, pfn) is { } problem)
                Fail($"{problem}");
        }
        Frame[] fr = _k.Zone.Frames;
        for (int pfn = 0; pfn < fr.Length; pfn++)
        {
            ref Frame f = ref fr[pfn];
            if ((f.Flags & (FrameFlags.Buddy | FrameFlags.PcpList | FrameFlags.Slab | FrameFlags.Anon | FrameFlags.Reserved)) != 0 || f.Mapping < 0 || pfn == _k.Zone.ZeroPfn)
                continue;
            if (_k.PageCache.Find(f.Mapping, f.Index) != pfn)
                Fail($"frame {pfn}: holds page {f.Index} of file {f.Mapping} but the page cache does not index it");
        }
        if (n != _k.PageCache.Count)
            Fail($"page cache: enumerated {n} entries but its count is {_k.PageCache.Count}");
    }

    // ------------------------------------------------------------------ processes

    /// <summary>A running process has a live mm; a finished one has released it.</summary>
    private void CheckProcesses()
    {
        // mm_users counts the live tasks using an mm (the threads of a process share one).
        var users = new Dictionary<int, int>();
        foreach (var e in _k.Tasks.Processes)
        {
            ref Process p = ref _k.World.Get<Process>(e);
            MmState mm = _k.Tasks.MmOf(e);
            bool finished = p.State is ProcessState.Exited or ProcessState.Killed;
            users.TryAdd(mm.Id, 0);
            if (!finished)
                users[mm.Id]++;
        }
        foreach (var e in _k.Tasks.Processes)
        {
            ref Process p = ref _k.World.Get<Process>(e);
            MmState mm = _k.Tasks.MmOf(e);
            bool finished = p.State is ProcessState.Exited or ProcessState.Killed;
            int mmUsers = mm.Mm.Struct.MmUsers;
            if (mmUsers != users[mm.Id])
                Fail($"process {p.Pid} ({_k.Tasks.ProcessName(p)}): its mm {mm.Id} has mm_users {mmUsers} but {users[mm.Id]} live tasks use it");
            if (finished && mmUsers == 0 && (mm.Rss != 0 || mm.Mm.Struct.SwapEnts != 0))
                Fail($"process {p.Pid} ({_k.Tasks.ProcessName(p)}): {p.State} but its mm {mm.Id} still has RSS {mm.Rss} and {mm.Mm.Struct.SwapEnts} swap entries");
        }
    }

    /// <summary>
    /// Per-CPU state: a task runs on at most one CPU, and a CPU running a task has that task's mm active and
    /// loaded in its TLB (and is in the mm's cpumask, which a loaded mm always is); only an idle CPU is lazy
    /// or holds a lazy mm reference; mm_count is one for the users while there are any, plus one per CPU
    /// holding the mm lazily.
    /// </summary>
    private void CheckCpus()
    {
        Smp smp = _k.Smp;
        var procs = _k.Tasks.Processes;
        var lazyRefs = new Dictionary<int, int>();
        for (int c = 0; c < smp.Count; c++)
        {
            CpuState cpu = smp[c];
            Tlb.CpuTlbState tlb = _k.Tlb.Cpu(c);
            if (cpu.Task >= procs.Count)
                Fail($"cpu {c}: runs task index {cpu.Task}, but there are {procs.Count} tasks");
            if (cpu.Task >= 0 && cpu.Task < procs.Count)
            {
                for (int d = c + 1; d < smp.Count; d++)
                    if (smp[d].Task == cpu.Task)
                        Fail($"cpu {c} and cpu {d} both run task index {cpu.Task}");
                ref Process p = ref _k.World.Get<Process>(procs[cpu.Task]);
                if (p.State == ProcessState.Runnable)
                {
                    MmState mm = _k.Tasks.MmOf(procs[cpu.Task]);
                    if (!ReferenceEquals(cpu.ActiveMm, mm))
                        Fail($"cpu {c}: runs pid {p.Pid} but its active mm is not that task's mm {mm.Id}");
                    if (!ReferenceEquals(tlb.LoadedMm, mm.Tlb))
                        Fail($"cpu {c}: runs pid {p.Pid} but its TLB has another mm loaded");
                    if (cpu.HoldsLazyMm || tlb.IsLazy)
                        Fail($"cpu {c}: runs pid {p.Pid} but is in lazy TLB mode");
                }
            }
            if (tlb.LoadedMm is { } loaded && (loaded.CpuMask & (1UL << c)) == 0)
                Fail($"cpu {c}: has {loaded} loaded but is not in its mm_cpumask");
            if (tlb.IsLazy && cpu.Task >= 0)
                Fail($"cpu {c}: is lazy but runs task index {cpu.Task}");
            if (cpu.HoldsLazyMm)
            {
                if (cpu.ActiveMm is null)
                    Fail($"cpu {c}: holds a lazy mm reference without an active mm");
                else
                {
                    lazyRefs.TryGetValue(cpu.ActiveMm.Id, out int n);
                    lazyRefs[cpu.ActiveMm.Id] = n + 1;
                }
            }
        }
        foreach (MmState mm in _k.Tasks.LiveMms)
        {
            lazyRefs.TryGetValue(mm.Id, out int lazy);
            int expected = (mm.Mm.Struct.MmUsers > 0 ? 1 : 0) + lazy;
            if (mm.Mm.Struct.MmCount != expected)
                Fail($"mm {mm.Id}: mm_count {mm.Mm.Struct.MmCount}, expected {expected} (users {mm.Mm.Struct.MmUsers}, lazy CPUs {lazy})");
        }
    }

    // ------------------------------------------------------------------ VMA entities

    /// <summary>
    /// Every mm's VMA index (the maple-tree analogue) against the Vma entities of the World: map_count equals
    /// the index's size, each indexed entity is alive and carries the index's bounds and its owner's id, the
    /// ranges are sorted and disjoint, an exited mm has none left, and no Vma entity belongs to an mm that
    /// does not index it (an orphan).
    /// </summary>
    private void CheckVmaEntities()
    {
        int mmIds = 0;
        foreach (MmState mm in _k.Tasks.LiveMms)
            mmIds = Math.Max(mmIds, mm.Id + 1);
        Ensure(ref _vmaEntitiesPerMm, mmIds);
        Array.Clear(_vmaEntitiesPerMm);

        World world = _k.World;
        foreach (Chunk chunk in world.GetQuery(AllVmas))
        {
            foreach (ref readonly Vma v in chunk.GetSpan<Vma>())
            {
                if ((uint)v.MmId < (uint)mmIds && _k.Tasks.MmById(v.MmId) is not null)
                    _vmaEntitiesPerMm[v.MmId]++;
                else
                    Fail($"vma {v.Start:x}-{v.End:x}: entity of mm {v.MmId}, which does not exist (orphan)");
            }
        }

        foreach (MmState mm in _k.Tasks.LiveMms)
        {
            var set = mm.Mm.Vmas;
            if (!ReferenceEquals(set.World, world))
                Fail($"mm {mm.Id}: its VMA entities live in another World");
            if (set.Count != mm.Mm.Struct.MapCount)
                Fail($"mm {mm.Id}: map_count {mm.Mm.Struct.MapCount} but {set.Count} VMAs indexed");
            if (_vmaEntitiesPerMm[mm.Id] != set.Count)
                Fail($"mm {mm.Id}: {_vmaEntitiesPerMm[mm.Id]} Vma entities in the World but {set.Count} VMAs indexed");
            if (mm.Mm.Struct.MmUsers <= 0 && set.Count != 0)
                Fail($"mm {mm.Id}: exited but still has {set.Count} VMAs");
            ulong prevEnd = 0;
            int locked = 0;
            for (int i = 0; i < set.Count; i++)
            {
                Entity e = set.EntityAt(i);
                ulong start = set.StartOf(i), end = set.EndOf(i);
                if (!world.IsAlive(e) || !world.Has<Vma>(e))
                {
                    Fail($"mm {mm.Id}: VMA {i} ({start:x}-{end:x}) is indexed but its entity {e} is not a live Vma");
                    continue;
                }
                ref readonly Vma v = ref world.Get<Vma>(e);
                if (v.Start != start || v.End != end)
                    Fail($"mm {mm.Id}: VMA {i} is indexed as {start:x}-{end:x} but its entity says {v.Start:x}-{v.End:x}");
                if (v.Flags != set.FlagsOf(i))
                    Fail($"mm {mm.Id}: VMA {i} ({start:x}-{end:x}) is indexed with flags {set.FlagsOf(i)} but its entity says {v.Flags}");
                if ((v.Flags & VmFlags.Locked) != 0)
                    locked++;
                if (v.MmId != mm.Id)
                    Fail($"mm {mm.Id}: VMA {i} ({start:x}-{end:x}) is owned by mm {v.MmId}");
                if (start >= end || start < prevEnd)
                    Fail($"mm {mm.Id}: VMA {i} ({start:x}-{end:x}) is empty, unsorted or overlaps the previous one ending at {prevEnd:x}");
                prevEnd = end;
            }
            if (locked != set.LockedCount)
                Fail($"mm {mm.Id}: {locked} VM_LOCKED VMAs but the set counts {set.LockedCount}");
        }
    }

    // ------------------------------------------------------------------ page-table page entities

    /// <summary>
    /// Each charged table's entity is the store row holding its entries and says so (in use, owner, page id,
    /// level, pfn); the World holds exactly as many in-use page-table entities as tables are charged, and the
    /// store hands out exactly those.
    /// </summary>
    private void CheckPageTableEntities()
    {
        World world = _k.World;
        long charged = 0;
        foreach (MmState mm in _k.Tasks.LiveMms)
        {
            foreach (var (id, (e, pfn)) in mm.TablePages)
            {
                charged++;
                int level = mm.Tables.LevelOf(id);
                if (level < 0)
                    continue; // a free id: CheckPageTables reports it
                Entity holder = mm.Tables.EntityOf(id);
                if (holder != e)
                    Fail($"mm {mm.Id}: page table {id} is charged to entity {e} but its entries live in {holder}");
                if (!world.TryGet(e, out PageTableFrame f))
                {
                    Fail($"mm {mm.Id}: page table {id}'s entity {e} is not a page-table page");
                    continue;
                }
                if (!f.InUse || f.MmId != mm.Id || f.PageId != id || f.Level != level || f.Pfn != pfn)
                    Fail($"mm {mm.Id}: page table {id} (level {level}, pfn {pfn}) but its entity says mm {f.MmId} page {f.PageId} level {f.Level} pfn {f.Pfn} in use {f.InUse}");
            }
        }

        long inUse = 0;
        foreach (Chunk chunk in world.GetQuery(AllTablePages))
        {
            foreach (ref readonly PageTableFrame f in chunk.GetSpan<PageTableFrame>())
            {
                if (f.InUse)
                    inUse++;
            }
        }
        if (inUse != charged)
            Fail($"page tables: {inUse} page-table entities in use but {charged} tables charged");
        if (_k.PageTables.InUse != charged)
            Fail($"page tables: the store hands out {_k.PageTables.InUse} tables but {charged} are charged");
    }

    /// <summary>A page a partly mapped THP keeps until the deferred split queue's shrinker splits it (PG_partially_mapped on the head).</summary>
    private bool HeldByPartlyMappedThp(in Frame f, int pfn) =>
        (f.Flags & FrameFlags.Thp) != 0
        && (_k.Zone.Frames[HugeMemory.HugeMemory.HeadOf(pfn)].Flags & (FrameFlags.Thp | FrameFlags.DeferredSplit)) == (FrameFlags.Thp | FrameFlags.DeferredSplit);
}
