using System.Globalization;
using System.Text;
using EcsMem.Components;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.PageAlloc;
using EcsMem.Systems.Swap;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// One process's /proc/PID/smaps_rollup: the header line and the fields in the file's order, values in kB.
/// </summary>
/// <param name="Header">The <c>START-END ---p 00000000 00:00 0 ... [rollup]</c> line, no newline.</param>
/// <param name="Fields">Rss … Locked in the order fs/proc/task_mmu.c prints them (kB).</param>
public sealed record SmapsRollupSnapshot(string Header, IReadOnlyList<NamedValue> Fields);

/// <summary>
/// show_smaps_rollup (fs/proc/task_mmu.c): walks every present and swap PTE of every VMA (the gate VMA is not
/// in the VMA tree, so not in the rollup) and adds them up as smaps_pte_entry/smaps_account do, PSS in Linux's
/// fixed point (each page's bytes shifted left by PSS_SHIFT, divided by its map count when two or more map it).
/// Not modelled here, so always 0: KSM, ShmemPmdMapped and FilePmdMapped (no shmem or file huge pages) and hugetlb.
/// AnonHugePages counts the anonymous pages of PMD mappings (smaps_pmd_entry's anonymous_thp); the huge zero page,
/// like the 4 KiB one, has no struct page for smaps and is not counted at all.
/// </summary>
public static class SmapsRollup
{
    /// <summary>PSS_SHIFT: the fixed-point shift of the proportional sizes.</summary>
    public const int PssShift = 12;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>struct mem_size_stats: the byte (and fixed-point PSS) totals the walk gathers.</summary>
    public struct MemSizeStats
    {
        public ulong Resident, SharedClean, SharedDirty, PrivateClean, PrivateDirty, Referenced, Anonymous, LazyFree, Swap;
        /// <summary>AnonHugePages: anonymous pages mapped by a PMD (smaps_pmd_entry), bytes.</summary>
        public ulong AnonHugePages;
        /// <summary>Shared_Hugetlb and Private_Hugetlb (smaps_hugetlb_range), bytes.</summary>
        public ulong SharedHugetlb, PrivateHugetlb;
        public ulong Pss, PssAnon, PssFile, PssShmem, PssDirty, PssLocked, SwapPss;
    }

    /// <summary>show_smaps_rollup for <paramref name="mm"/>.</summary>
    public static SmapsRollupSnapshot Build(Kernel.Kernel k, MmState mm)
    {
        MemSizeStats stats = Gather(k, mm);
        Mm m = mm.Mm;
        ulong start = 0, end = 0;
        bool first = true;
        foreach (ref readonly Vma v in m.Vmas)
        {
            if (first)
                start = v.Start;
            first = false;
            end = v.End;
        }
        return new SmapsRollupSnapshot(HeaderLine(start, end, m.Mode.PointerSize), Fields(stats));
    }

    /// <summary>smap_gather_stats over every VMA of <paramref name="mm"/>.</summary>
    public static MemSizeStats Gather(Kernel.Kernel k, MmState mm)
    {
        var stats = new MemSizeStats();
        foreach (ref readonly Vma v in mm.Mm.Vmas)
            GatherVma(k, mm, v, ref stats);
        return stats;
    }

    /// <summary>smap_gather_stats for one VMA: adds its pages to <paramref name="stats"/> (/proc/PID/smaps walks each VMA alone, smaps_rollup all into one).</summary>
    public static void GatherVma(Kernel.Kernel k, MmState mm, in Vma v, ref MemSizeStats stats)
    {
        if ((v.Flags & VmFlags.HugeTlb) != 0)
        {
            // walk_hugetlb_range: a hugetlb VMA adds to the Hugetlb fields only (not to Rss or Pss).
            var (shared, priv) = k.Hugetlb.SmapsOf(mm, v);
            stats.SharedHugetlb += shared;
            stats.PrivateHugetlb += priv;
            return;
        }
        var walker = new Walker(k.Zone.Frames, k.Zone.ZeroPfn, k.Swap) { Stats = stats, Locked = (v.Flags & VmFlags.Locked) != 0 };
        mm.Tables.VisitRange(v.Start, v.End, ref walker);
        stats = walker.Stats;
        // smap_gather_stats: a shared shmem mapping adds shmem_swap_usage, its object's pages out on swap in the
        // area's range (their swap entries are in the object, not in the PTEs; not in SwapPss).
        if (v.FileId >= 0 && (v.Flags & VmFlags.Shared) != 0 && k.OpenFiles.ShmemSwapped > 0 && k.OpenFiles.IsShmem(v.FileId))
            stats.Swap += (ulong)k.OpenFiles.ShmemSwappedIn(v.FileId, (long)v.PgOff, (long)(v.PgOff + v.Pages)) * Pte.PageSize;
    }

    /// <summary>
    /// The header: show_vma_header_prefix(first vm_start, last vm_end, no flags, 0, 0:0, 0), padded as seq_pad
    /// pads a maps line, then a space and <c>[rollup]</c>. An mm with no VMA prints 0-0 (the kernel's empty_set path).
    /// </summary>
    public static string HeaderLine(ulong start, ulong end, int pointerSize)
    {
        var sb = new StringBuilder(96);
        sb.Append(start.ToString("x8", Inv)).Append('-').Append(end.ToString("x8", Inv)).Append(" ---p 00000000 00:00 0 ");
        int pad = ProcMaps.PadWidth(pointerSize) - sb.Length;
        if (pad > 0)
            sb.Append(' ', pad);
        return sb.Append(" [rollup]").ToString();
    }

    /// <summary>__show_smap(rollup = true): the fields in the file's order, in kB (byte totals &gt;&gt; 10; PSS ones &gt;&gt; PSS_SHIFT first).</summary>
    public static List<NamedValue> Fields(in MemSizeStats s) =>
    [
        new("Rss", (long)(s.Resident >> 10)),
        new("Pss", (long)(s.Pss >> PssShift >> 10)),
        new("Pss_Dirty", (long)(s.PssDirty >> PssShift >> 10)),
        new("Pss_Anon", (long)(s.PssAnon >> PssShift >> 10)),
        new("Pss_File", (long)(s.PssFile >> PssShift >> 10)),
        new("Pss_Shmem", (long)(s.PssShmem >> PssShift >> 10)),
        new("Shared_Clean", (long)(s.SharedClean >> 10)),
        new("Shared_Dirty", (long)(s.SharedDirty >> 10)),
        new("Private_Clean", (long)(s.PrivateClean >> 10)),
        new("Private_Dirty", (long)(s.PrivateDirty >> 10)),
        new("Referenced", (long)(s.Referenced >> 10)),
        new("Anonymous", (long)(s.Anonymous >> 10)),
        new("KSM", 0),
        new("LazyFree", (long)(s.LazyFree >> 10)),
        new("AnonHugePages", (long)(s.AnonHugePages >> 10)),
        new("ShmemPmdMapped", 0),
        new("FilePmdMapped", 0),
        new("Shared_Hugetlb", (long)(s.SharedHugetlb >> 10)),
        new("Private_Hugetlb", (long)(s.PrivateHugetlb >> 10)),
        new("Swap", (long)(s.Swap >> 10)),
        new("SwapPss", (long)(s.SwapPss >> PssShift >> 10)),
        new("Locked", (long)(s.PssLocked >> PssShift >> 10)),
    ];

    /// <summary>
    /// Appends the header and the fields as the file prints them: each name, colon and padding in 16 columns and the
    /// value right-aligned in 8 (SEQ_PUT_DEC), except Private_Hugetlb, whose 17-column label leaves the value 7.
    /// </summary>
    public static void AppendTo(StringBuilder sb, SmapsRollupSnapshot r)
    {
        sb.Append(r.Header).Append('\n');
        foreach (NamedValue f in r.Fields)
        {
            string value = f.Value.ToString(Inv);
            if (f.Name == "Private_Hugetlb")
                sb.Append("Private_Hugetlb: ").Append(value.PadLeft(7));
            else
                sb.Append((f.Name + ":").PadRight(16)).Append(value.PadLeft(8));
            sb.Append(" kB\n");
        }
    }

    /// <summary>smaps_pte_entry for each entry of the walk.</summary>
    private struct Walker(Frame[] frames, int zeroPfn, SwapArea swap) : IPteRefVisitor
    {
        private const ulong PageBytes = Pte.PageSize;
        public MemSizeStats Stats;
        public bool Locked;

        public void Visit(ulong va, ref ulong value)
        {
            var pte = new Pte(value);
            if (pte.IsSwap)
            {
                // A swap entry: its size, and its share by swp_swapcount (the PTEs and other references holding it).
                SwapEntry e = pte.ToSwapEntry();
                Stats.Swap += PageBytes;
                int mapcount = swap.Count((int)e.Offset);
                Stats.SwapPss += mapcount >= 2 ? (PageBytes << PssShift) / (ulong)mapcount : PageBytes << PssShift;
                return;
            }
            // Present (or PROT_NONE, which x86's pte_present counts): vm_normal_page gives no page for the shared zero
            // page or a special mapping, which smaps then skips.
            if (pte.Special || (int)pte.Pfn == zeroPfn || pte.Pfn >= (ulong)frames.Length)
                return;
            ref readonly Frame f = ref frames[pte.Pfn];
            Account(ref Stats, f, pte.Accessed, pte.Dirty, Locked);
            if (pte.PmdMapped && (f.Flags & FrameFlags.Anon) != 0 && (f.Flags & FrameFlags.Shmem) == 0)
                Stats.AnonHugePages += PageBytes;
        }
    }

    /// <summary>smaps_account for one order-0 page mapped by a present PTE.</summary>
    public static void Account(ref MemSizeStats s, in Frame f, bool young, bool dirty, bool locked)
    {
        const ulong size = Pte.PageSize;
        // A shmem page is not PageAnon in Linux: it counts in Pss_Shmem, not Anonymous/Pss_Anon.
        bool shmem = (f.Flags & FrameFlags.Shmem) != 0;
        bool anon = (f.Flags & FrameFlags.Anon) != 0 && !shmem;
        bool pageDirty = dirty || (f.Flags & FrameFlags.Dirty) != 0;
        if (anon)
        {
            s.Anonymous += size;
            if ((f.Flags & FrameFlags.SwapBacked) == 0 && !pageDirty)
                s.LazyFree += size;
        }
        s.Resident += size;
        if (young || (f.Flags & FrameFlags.Referenced) != 0)
            s.Referenced += size;
        // Linux first takes refcount 1 as "mapped once", else reads the page's map count (order 0: the precise
        // one); both say private with the whole page below two mappings, so the map count alone decides here.
        int mapcount = f.MapCount;
        ulong pss = size << PssShift;
        if (mapcount >= 2)
            pss /= (ulong)mapcount;
        bool isPrivate = mapcount < 2;
        // smaps_page_accumulate
        s.Pss += pss;
        if (anon)
            s.PssAnon += pss;
        else if (shmem || (f.Flags & FrameFlags.SwapBacked) != 0)
            s.PssShmem += pss;
        else
            s.PssFile += pss;
        if (locked)
            s.PssLocked += pss;
        if (pageDirty)
        {
            s.PssDirty += pss;
            if (isPrivate) s.PrivateDirty += size; else s.SharedDirty += size;
        }
        else
        {
            if (isPrivate) s.PrivateClean += size; else s.SharedClean += size;
        }
    }
}
