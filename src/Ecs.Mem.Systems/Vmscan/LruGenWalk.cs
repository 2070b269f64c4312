using EcsMem.Components;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;

namespace EcsMem.Systems.Vmscan;

/// <summary>
/// The machine's side of the multi-gen LRU (<see cref="ILruGenHost"/>) over its page tables, rmap, swap and clock: the
/// aging's page-table walk (walk_mm → walk_pud_range → walk_pmd_range → walk_pte_range with should_skip_vma, the Bloom
/// filter over PTE tables and suitable_to_scan), folio_referenced with lru_gen_look_around, and the jiffies clock.
/// Young bits are cleared without a TLB flush, as ptep_test_and_clear_young does; the cached translation keeps the bit
/// clear until the next walk of the entry. Simplified: each VMA's part of a PTE table is scanned and judged on its own
/// (Linux finishes a PTE table across neighbouring VMAs, get_next_vma); non-leaf PMD young bits are not kept by the
/// simulated walker, so LRU_GEN_NONLEAF_YOUNG has nothing to clear; the walk is not cut into MAX_LRU_BATCH pieces.
/// </summary>
public sealed class LruGenMachine(Kernel.Kernel k) : ILruGenHost
{
    private readonly List<(int Mm, ulong Va)> _maps = new();
    private readonly ulong _cyclesPerJiffy = (ulong)Math.Max(1, Math.Round(k.Options.Timing.ClockGHz * 1e9 / Memcontrol.MemcgController.Hz));

    public ulong Jiffies => k.Env.Now / _cyclesPerJiffy;

    public bool InLruFault => !k.Readahead.InWillNeed;

    /// <summary>mem_cgroup_get_nr_swap_pages: free swap, limited by memory.swap.max − swap usage up the hierarchy (v2).</summary>
    public long NrSwapPages(Lruvec lruvec) => k.MemCgroupNrSwapPages(lruvec.Memcg);

    /// <summary>The lru_gen mm_list of the lruvec's cgroup: each live mm whose owner is charged there, in creation order.</summary>
    public void MmList(Lruvec lruvec, List<int> mms)
    {
        mms.Clear();
        for (int id = 0; id < k.Tasks.MmIdLimit; id++)
        {
            if (k.Tasks.MmById(id) is not { } mm || mm.Tables.IsReleased)
                continue;
            var lv = k.Memcg is { } mc ? mc.OfMm(mm.Id).Lruvec : k.Lruvec;
            if (lv == lruvec)
                mms.Add(mm.Id);
        }
    }

    /// <summary>
    /// should_skip_vma: inaccessible, hugetlb, VM_SEQ_READ/VM_RAND_READ (no recency), VM_LOCKED and VM_SPECIAL areas are skipped;
    /// anon and shmem areas when swappiness is 0.
    /// </summary>
    private static bool ShouldSkipVma(in Vma v, int swappiness)
    {
        if ((v.Flags & VmFlags.AccessMask) == 0)
            return true;
        // is_vm_hugetlb_page: a hugetlb area's pages are never on the LRU.
        if ((v.Flags & VmFlags.HugeTlb) != 0)
            return true;
        if ((v.Flags & (VmFlags.SeqRead | VmFlags.RandRead | VmFlags.Locked | VmFlags.Special)) != 0)
            return true;
        if (!v.HasFile || v.ShmemId != 0)
            return swappiness == 0;
        return swappiness > Lruvec.MaxSwappiness;
    }

    /// <summary>walk_mm: every VMA should_skip_vma lets through, its present upper tables descended (walk_page_range).</summary>
    public void WalkMm(Lruvec lruvec, int mm, LruGenWalk walk)
    {
        MmState? m = k.Tasks.MmById(mm);
        if (m is null || m.Tables.IsReleased)
            return;
        PageTable t = m.Tables;
        VmaSet vmas = m.Mm.Vmas;
        for (int i = 0; i < vmas.Count; i++)
        {
            Vma v = vmas[i];
            if (ShouldSkipVma(v, walk.Swappiness))
                continue;
            Descend(lruvec, m, t, t.Root, t.Mode.Levels - 1, 0, v.Start, v.End, walk);
        }
    }

    /// <summary>walk_pud_range / walk_pmd_range over [start, end) of the table <paramref name="page"/> at <paramref name="level"/>, which maps from <paramref name="baseVa"/>.</summary>
    private void Descend(Lruvec lruvec, MmState m, PageTable t, int page, int level, ulong baseVa, ulong start, ulong end, LruGenWalk walk)
    {
        int bits = t.Mode.BitsPerLevel;
        int shift = Pte.PageShift + (level * bits);
        ulong span = 1UL << shift;
        int entries = t.Mode.EntriesPerTable;
        int first = (int)((start - baseVa) >> shift);
        int row = t.RowOf(page);
        for (int i = first; i < entries; i++)
        {
            ulong va = baseVa + ((ulong)i << shift);
            if (va >= end)
                break;
            ulong e = t.Store.Entry(row, i);
            if ((e & Pte.PresentBit) == 0)
                continue;
            int child = (int)((e & Pte.PfnMask) >> Pte.PageShift);
            ulong lo = Math.Max(start, va), hi = Math.Min(end, va + span);
            if (level > 1)
            {
                Descend(lruvec, m, t, child, level - 1, va, lo, hi, walk);
                continue;
            }
            // A PMD entry: its PTE table is walked when the Bloom filter says it may hold young PTEs.
            ulong item = PmdItem(row, i);
            if (!walk.ForceScan && !lruvec.LruGenTestBloomFilter(walk.Seq, item))
                continue;
            walk.NonleafFound++;
            if (!WalkPteRange(lruvec, m, t, child, va, lo, hi, walk))
                continue;
            walk.NonleafAdded++;
            // carry over to the next generation
            lruvec.LruGenUpdateBloomFilter(walk.Seq + 1, item);
        }
    }

    /// <summary>The Bloom filter's item for a PMD entry: its address in the simulated PMD table (store row, index).</summary>
    private static ulong PmdItem(int row, int index) => ((ulong)(uint)row << Pte.PageShift) | ((ulong)index << 3);

    /// <summary>
    /// walk_pte_range: each present young PTE of a frame on this lruvec's generations has its young bit cleared and its
    /// folio promoted (walk_update_folio). True when the table was worth it: at least one young PTE per cache line of
    /// eight (suitable_to_scan).
    /// </summary>
    private bool WalkPteRange(Lruvec lruvec, MmState m, PageTable t, int ptePage, ulong baseVa, ulong start, ulong end, LruGenWalk walk)
    {
        int row = t.RowOf(ptePage);
        int total = 0, young = 0;
        for (ulong va = start; va < end; va += Pte.PageSize)
        {
            total++;
            walk.LeafTotal++;
            ref ulong pte = ref t.Store.Entry(row, (int)((va - baseVa) >> Pte.PageShift));
            int pfn = YoungPfn(lruvec, pte);
            if (pfn < 0)
                continue;
            k.Dirty?.Pte(m, va, pte);
            pte &= ~Pte.AccessedBit;
            lruvec.LruGenWalkPte(pfn, walk);
            young++;
            walk.LeafYoung++;
        }
        return SuitableToScan(total, young);
    }

    /// <summary>get_pte_pfn + get_pfn_folio: the frame of a present, young PTE that is on a generation list of this lruvec, or -1.</summary>
    private int YoungPfn(Lruvec lruvec, ulong pte)
    {
        if ((pte & (Pte.PresentBit | Pte.AccessedBit)) != (Pte.PresentBit | Pte.AccessedBit))
            return -1;
        long pfn = (long)((pte & Pte.PfnMask) >> Pte.PageShift);
        if (pfn >= k.Zone.Frames.Length || pfn == k.Zone.ZeroPfn)
            return -1;
        int p = (int)pfn;
        if (lruvec.LruGenFolioGen(p) < 0 || k.LruvecOf(p) != lruvec)
            return -1;
        return p;
    }

    /// <summary>suitable_to_scan: young × clamp(64-byte line / 8-byte PTE, 2, 8) ≥ total.</summary>
    private static bool SuitableToScan(int total, int young) => young * 8 >= total;

    /// <summary>
    /// folio_referenced with MGLRU: each mapping's PTE goes through lru_gen_look_around — if young, its bit is cleared
    /// (no flush), it counts, and unless the area is VM_SPECIAL the up to MIN_LRU_BATCH PTEs around it in the same PMD
    /// and VMA are scanned: young ones of this lruvec's folios are cleared and promoted, and a dense window puts the PTE
    /// table in the Bloom filter of max_seq. A VM_LOCKED mapping ends the walk as in folio_referenced_one.
    /// </summary>
    public int FolioReferenced(Lruvec lruvec, int pfn, LruGenWalk? walk, out VmFlags vmFlags)
    {
        k.Rmap.CopyTo(pfn, _maps);
        int referenced = 0;
        vmFlags = VmFlags.None;
        foreach (var (mmId, va) in _maps)
        {
            MmState mm = k.Tasks.MmById(mmId)!;
            int vi = mm.Mm.VmaLookup(va);
            if (vi < 0)
                continue;
            Vma v = mm.Mm.Vmas[vi];
            if ((v.Flags & VmFlags.Locked) != 0)
            {
                k.Zone.Unevictable[pfn] = true;
                vmFlags = VmFlags.Locked;
                return 1;
            }
            if (k.PtepTestAndClearYoung(mm, va) == 0)
                continue;
            referenced++;
            vmFlags |= v.Flags & ~VmFlags.Locked;
            if ((v.Flags & VmFlags.Special) == 0)
                LookAround(lruvec, mm, v, va, walk);
        }
        return referenced;
    }

    /// <summary>lru_gen_look_around's scan of the neighbours of the young PTE at <paramref name="addr"/>.</summary>
    private void LookAround(Lruvec lruvec, MmState mm, in Vma v, ulong addr, LruGenWalk? walk)
    {
        const ulong window = (ulong)Lruvec.MinLruBatch * Pte.PageSize;
        ulong pmdSize = 1UL << (Pte.PageShift + mm.Tables.Mode.BitsPerLevel);
        ulong pmdMask = ~(pmdSize - 1);
        ulong start = Math.Max(addr & pmdMask, v.Start);
        ulong end = Math.Min(addr | ~pmdMask, v.End - 1) + 1;
        if (end - start == Pte.PageSize)
            return;
        if (end - start > window)
        {
            if (addr - start < window / 2)
                end = start + window;
            else if (end - addr < window / 2)
                start = end - window;
            else
            {
                start = addr - (window / 2);
                end = addr + (window / 2);
            }
        }
        PageTable t = mm.Tables;
        int ptePage = t.TableAt(addr, 0);
        if (ptePage < 0)
            return;
        int row = t.RowOf(ptePage);
        ulong baseVa = addr & pmdMask;
        int i = 0, young = 1;
        for (ulong va = start; va != end; va += Pte.PageSize, i++)
        {
            ref ulong pte = ref t.Store.Entry(row, (int)((va - baseVa) >> Pte.PageShift));
            int pfn = YoungPfn(lruvec, pte);
            if (pfn < 0)
                continue;
            k.Dirty?.Pte(mm, va, pte);
            pte &= ~Pte.AccessedBit;
            lruvec.LruGenWalkPte(pfn, walk);
            young++;
        }
        if (SuitableToScan(i, young))
        {
            int pmdPage = t.TableAt(addr, 1);
            if (pmdPage >= 0)
            {
                int shift = Pte.PageShift + t.Mode.BitsPerLevel;
                int index = (int)((addr >> shift) & (ulong)(t.Mode.EntriesPerTable - 1));
                lruvec.LruGenUpdateBloomFilter(lruvec.MaxSeq, PmdItem(t.RowOf(pmdPage), index));
            }
        }
    }

    /// <summary>lru_gen_age_node's out_of_memory: the OOM killer picks its victim as for any global OOM.</summary>
    public void OutOfMemory() => k.Oom.OutOfMemory(Ecs.Entity.Null);
}
