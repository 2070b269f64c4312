using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// One address space: the <see cref="MmStruct"/> counters plus its ordered <see cref="VmaSet"/> and the
/// operations that change it with Linux semantics (do_mmap, do_munmap, mprotect_fixup, brk,
/// expand_downwards, dup_mmap, exit_mmap). Operations return a negated errno on refusal and append the
/// ranges they changed to an optional list, so later systems can zap pages and flush TLBs.
/// Its VMAs are entities of the World given to the constructor (the kernel's, or a private one for
/// standalone use): every operation here creates, changes and destroys them through <see cref="Vmas"/>.
/// </summary>
public sealed partial class Mm
{
    /// <summary>DEFAULT_MAX_MAP_COUNT (vm.max_map_count).</summary>
    public const int DefaultMaxMapCount = 65530;
    /// <summary>Default RLIMIT_STACK: 8 MiB.</summary>
    public const ulong DefaultStackRlimit = 8UL << 20;
    /// <summary>stack_guard_gap: 256 pages (1 MiB) kept free below a stack.</summary>
    public const ulong DefaultStackGuardGap = 256UL << Pte.PageShift;
    /// <summary>CONFIG_DEFAULT_MMAP_MIN_ADDR on x86 distributions (vm.mmap_min_addr).</summary>
    public const ulong DefaultMmapMinAddr = 0x10000;

    /// <summary>The mm_struct fields; a public field so callers can take refs.</summary>
    public MmStruct Struct;

    /// <summary>A standalone address space whose VMA entities live in a private World (tools, tests).</summary>
    public Mm(int id, PagingMode mode, FileTable files)
        : this(id, mode, files, new World())
    {
    }

    /// <summary>mm_alloc: an empty address space whose VMA entities are created in <paramref name="world"/>.</summary>
    public Mm(int id, PagingMode mode, FileTable files, World world)
    {
        Vmas = new VmaSet(world);
        Mode = mode;
        Files = files;
        Struct.Id = id;
        Struct.MmUsers = 1;
        Struct.MmCount = 1;
        Struct.TaskSize = mode.TaskSize;
        Struct.MmapBase = ComputeMmapBase(mode.TaskSize, DefaultStackRlimit, DefaultStackGuardGap, 0);
        Struct.Pgd = -1;
    }

    /// <summary>Paging geometry and TASK_SIZE.</summary>
    public PagingMode Mode { get; }
    /// <summary>Names of the files mapped.</summary>
    public FileTable Files { get; }
    /// <summary>The VMAs in address order: the index over this mm's VMA entities.</summary>
    public VmaSet Vmas { get; }

    /// <summary>The World holding this mm's VMA entities.</summary>
    public World World => Vmas.World;
    /// <summary>RLIMIT_STACK for stack growth (bytes).</summary>
    public ulong StackRlimit { get; set; } = DefaultStackRlimit;
    /// <summary>stack_guard_gap in bytes.</summary>
    public ulong StackGuardGap { get; set; } = DefaultStackGuardGap;
    /// <summary>vm.max_map_count.</summary>
    public int MaxMapCount { get; set; } = DefaultMaxMapCount;
    /// <summary>vm.mmap_min_addr: lowest address a mapping may use.</summary>
    public ulong MmapMinAddr { get; set; } = DefaultMmapMinAddr;
    /// <summary>The x86-64 gate area ([vsyscall]) when imported from a maps file; outside the VMA set, as in Linux.</summary>
    public Vma? GateVma { get; set; }

    /// <summary>
    /// task_struct->rseq of the process's tasks: the user address of the struct rseq registered with rseq(2) (glibc's,
    /// in the TLS), 0 when none. One per address space here (a simplification: Linux keeps one per thread).
    /// </summary>
    public ulong RseqArea { get; set; }

    /// <summary>
    /// mmap_base (arch/x86/mm/mmap.c): TASK_SIZE minus a gap of the stack rlimit plus stack randomisation
    /// plus the guard gap, clamped to [128 MiB, 5/6 TASK_SIZE], minus the mmap randomisation, page aligned.
    /// With ASLR off both random terms are 0.
    /// </summary>
    public static ulong ComputeMmapBase(ulong taskSize, ulong stackRlimit, ulong guardGap, ulong random)
    {
        ulong gap = stackRlimit;
        ulong pad = guardGap;
        if (gap + pad > gap)
        {
            gap += pad;
        }

        ulong gapMin = 128UL << 20;
        ulong gapMax = taskSize / 6 * 5;
        gap = Math.Clamp(gap, gapMin, gapMax);
        return PageAlign(taskSize - gap - random);
    }

    /// <summary>PAGE_ALIGN: round up to a page boundary.</summary>
    public static ulong PageAlign(ulong value) => (value + Pte.PageSize - 1) & Pte.PageMask;

    /// <summary>offset_in_page: true when the value is not page aligned.</summary>
    private static bool OffsetInPage(ulong value) => (value & ~Pte.PageMask) != 0;

    /// <summary>vm_start_gap: a stack's start less the guard gap, the lowest address a neighbour may end at.</summary>
    public ulong VmStartGap(in Vma vma)
    {
        if ((vma.Flags & VmFlags.GrowsDown) == 0)
        {
            return vma.Start;
        }

        return vma.Start > StackGuardGap ? vma.Start - StackGuardGap : 0;
    }

    /// <summary>
    /// vm_stat_account: add (or with negative pages, remove) a VMA's pages from total_vm and the
    /// exec/stack/data split, and locked_vm for VM_LOCKED areas.
    /// </summary>
    public void VmStatAccount(VmFlags flags, long pages)
    {
        ref MmStruct mm = ref Struct;
        mm.TotalVm = (ulong)((long)mm.TotalVm + pages);
        if ((flags & (VmFlags.Exec | VmFlags.Write | VmFlags.Shared | VmFlags.GrowsDown)) == VmFlags.Exec)
        {
            mm.ExecVm = (ulong)((long)mm.ExecVm + pages);
        }
        else if ((flags & VmFlags.GrowsDown) != 0)
        {
            mm.StackVm = (ulong)((long)mm.StackVm + pages);
        }
        else if ((flags & (VmFlags.Write | VmFlags.Shared)) == VmFlags.Write)
        {
            mm.DataVm = (ulong)((long)mm.DataVm + pages);
        }

        if ((flags & VmFlags.Locked) != 0)
        {
            mm.LockedVm = (ulong)((long)mm.LockedVm + pages);
        }
    }

    /// <summary>
    /// is_mergeable_vma + the pgoff check of can_vma_merge_before/after: <paramref name="a"/> ends where
    /// <paramref name="b"/> starts, same flags (soft-dirty ignored), same file (the same struct file: mappings of
    /// separate opens of one file never merge) and backing kind, file offset
    /// continues, and neither is VM_SPECIAL. Anonymous areas carry pgoff = address &gt;&gt; 12, so the pgoff test
    /// also holds for them exactly when they were never moved. [heap] is an anonymous VMA like any other to
    /// Linux (the name is only how /proc/pid/maps shows the one holding the break), so an anonymous mapping
    /// placed right after the break merges into it (checked on Linux 6.18: heap.c). Simplified: anon_vma
    /// identity is not tracked, so two anonymous areas that were each faulted before becoming adjacent merge
    /// here where Linux keeps them apart (is_mergeable_anon_vma).
    /// </summary>
    public static bool CanMerge(in Vma a, in Vma b)
    {
        return a.End == b.Start
            && ((a.Flags ^ b.Flags) & ~VmFlags.SoftDirty) == 0
            && (a.Flags & VmFlags.Special) == 0
            && a.FileId == b.FileId
            && a.ShmemId == b.ShmemId
            && a.OpenFile == b.OpenFile
            && IsMergeableAnonVma(a, b)
            && (a.Kind == b.Kind || (IsAnonKind(a.Kind) && IsAnonKind(b.Kind)))
            && a.MmId == b.MmId
            && a.PgOff + a.Pages == b.PgOff;
    }

    /// <summary>
    /// is_mergeable_anon_vma (mm/vma.c, Linux 6.x): two areas with anon_vmas merge only if it is the same one; when
    /// only one has an anon_vma the other takes it over (dup_anon_vma), unless that area is a fork child's whose
    /// anon_vma_chain links its parent's too (vma_had_uncowed_parents).
    /// </summary>
    public static bool IsMergeableAnonVma(in Vma a, in Vma b)
    {
        if (a.AnonVma != 0 && b.AnonVma != 0)
            return a.AnonVma == b.AnonVma;
        if (a.AnonVma != 0)
            return !a.AnonVmaForked;
        return b.AnonVma == 0 || !b.AnonVmaForked;
    }

    /// <summary>
    /// anon_vma_prepare (mm/rmap.c) for the VMA at <paramref name="idx"/>: its first anonymous page needs an anon_vma.
    /// find_mergeable_anon_vma reuses the next or else the previous neighbour's, when that area is compatible (adjacent,
    /// same file, flags equal but for the access bits, offsets continuing: anon_vma_compatible) and its chain is
    /// singular (reusable_anon_vma); otherwise the VMA gets a new one.
    /// </summary>
    public void AnonVmaPrepare(int idx)
    {
        if (Vmas[idx].AnonVma != 0)
            return;
        int reuse = 0;
        if (idx + 1 < Vmas.Count && AnonVmaCompatible(Vmas[idx], Vmas[idx + 1]) && !Vmas[idx + 1].AnonVmaForked)
            reuse = Vmas[idx + 1].AnonVma;
        if (reuse == 0 && idx > 0 && AnonVmaCompatible(Vmas[idx - 1], Vmas[idx]) && !Vmas[idx - 1].AnonVmaForked)
            reuse = Vmas[idx - 1].AnonVma;
        Vmas.SetAnonVma(idx, reuse != 0 ? reuse : ++_anonVmas, false);
    }

    private int _anonVmas;

    /// <summary>A new anon_vma id for a fork child's copy of a VMA that had one (anon_vma_fork).</summary>
    internal int NewAnonVma() => ++_anonVmas;

    /// <summary>anon_vma_compatible: <paramref name="a"/> ends where <paramref name="b"/> starts and could share its anon_vma.</summary>
    private static bool AnonVmaCompatible(in Vma a, in Vma b) =>
        a.End == b.Start && a.FileId == b.FileId && a.OpenFile == b.OpenFile
        && ((a.Flags ^ b.Flags) & ~(VmFlags.Read | VmFlags.Write | VmFlags.Exec | VmFlags.SoftDirty)) == 0
        && b.PgOff == a.PgOff + ((b.Start - a.Start) >> Pte.PageShift);

    /// <summary>Anonymous memory, named [heap] or not.</summary>
    private static bool IsAnonKind(VmaKind kind) => kind is VmaKind.Anonymous or VmaKind.Heap;

    /// <summary>
    /// __split_vma: if a VMA strictly contains <paramref name="addr"/>, cut it there (the upper part's
    /// pgoff advances). With <paramref name="enforceLimit"/> (split_vma, used by mprotect) it returns false
    /// when map_count is at vm.max_map_count; munmap checks the limit itself and splits unconditionally
    /// (__split_vma), since removing the middle gives the count back.
    /// </summary>
    private bool SplitAt(ulong addr, bool enforceLimit)
    {
        int idx = Vmas.FindVma(addr);
        if (idx < 0)
        {
            return true;
        }

        if (Vmas.StartOf(idx) >= addr)
        {
            return true;
        }

        if (enforceLimit && Struct.MapCount >= MaxMapCount)
        {
            return false;
        }

        // The lower part keeps the entity; the upper part is a new one.
        Vma upper = Vmas[idx];
        upper.PgOff += (addr - upper.Start) >> Pte.PageShift;
        upper.Start = addr;
        Vmas.SetEnd(idx, addr);
        Vmas.Insert(upper);
        Struct.MapCount++;
        return true;
    }

    /// <summary>
    /// vma_merge after a change at <paramref name="idx"/>: absorb the next VMA and then fold into the
    /// previous one when compatible. Returns the index of the VMA now covering the original one.
    /// </summary>
    private int MergeAround(int idx)
    {
        // The surviving VMA keeps its entity and the absorbed one's entity is destroyed first, so the
        // survivor's new end never overlaps a VMA still in the set. Both neighbours may each be mergeable with
        // this one but not with each other (their anon_vmas differ): Linux then merges with the previous one only
        // (can_vma_merge_right).
        bool left = idx > 0 && CanMerge(Vmas[idx - 1], Vmas[idx]);
        if (idx + 1 < Vmas.Count && CanMerge(Vmas[idx], Vmas[idx + 1])
            && (!left || IsMergeableAnonVma(Vmas[idx - 1], Vmas[idx + 1])))
        {
            ulong end = Vmas.EndOf(idx + 1);
            KeepAnonVma(idx, Vmas[idx + 1]);
            if (Vmas[idx + 1].Kind == VmaKind.Heap)
            {
                Vmas.SetKind(idx, VmaKind.Heap);
            }

            Vmas.RemoveRange(idx + 1, 1);
            Vmas.SetEnd(idx, end);
            Struct.MapCount--;
        }

        if (idx > 0 && CanMerge(Vmas[idx - 1], Vmas[idx]))
        {
            ulong end = Vmas.EndOf(idx);
            KeepAnonVma(idx - 1, Vmas[idx]);
            if (Vmas[idx].Kind == VmaKind.Heap)
            {
                Vmas.SetKind(idx - 1, VmaKind.Heap);
            }

            Vmas.RemoveRange(idx, 1);
            Vmas.SetEnd(idx - 1, end);
            Struct.MapCount--;
            idx--;
        }

        SyncSeq();
        return idx;
    }

    /// <summary>dup_anon_vma: the merged area keeps whichever anon_vma the two had.</summary>
    private void KeepAnonVma(int survivor, in Vma absorbed)
    {
        if (Vmas[survivor].AnonVma == 0 && absorbed.AnonVma != 0)
            Vmas.SetAnonVma(survivor, absorbed.AnonVma, absorbed.AnonVmaForked);
    }

    /// <summary>
    /// Gives this fresh address space the layout of <paramref name="parsed"/> (a /proc/pid/maps file read by
    /// <see cref="ProcMaps"/>): a VMA entity for each area, accounted as mmap would (map_count, total_vm,
    /// data_vm, ...; VM_ACCOUNT areas charged to overcommit without a check), the gate area, and the brk and stack marks.
    /// </summary>
    public void ImportLayout(Mm parsed)
    {
        if (Vmas.Count != 0)
        {
            throw new InvalidOperationException("a maps layout can only be imported into an empty address space");
        }

        foreach (ref readonly Vma v in parsed.Vmas)
        {
            Vma copy = v;
            copy.MmId = Struct.Id;
            Vmas.Insert(copy);
            Struct.MapCount++;
            VmStatAccount(copy.Flags, (long)copy.Pages);
            // The process had this area already: its VM_ACCOUNT charge is taken, never refused (vm_acct_memory).
            if ((copy.Flags & VmFlags.Account) != 0)
            {
                Commit?.Acct(copy.Pages);
            }
        }

        GateVma = parsed.GateVma;
        Struct.StartBrk = parsed.Struct.StartBrk;
        Struct.Brk = parsed.Struct.Brk;
        Struct.StartStack = parsed.Struct.StartStack;
        SyncSeq();
    }

    /// <summary>Copies the set's sequence number into the mm (vmacache_seqnum).</summary>
    private void SyncSeq() => Struct.VmaSeq = Vmas.Seq;

    /// <summary>True when two adjacent VMAs remain that <see cref="CanMerge"/> says should have been merged.</summary>
    public bool HasMergeableNeighbours(out int index)
    {
        for (int i = 0; i + 1 < Vmas.Count; i++)
        {
            if (CanMerge(Vmas[i], Vmas[i + 1]))
            {
                index = i;
                return true;
            }
        }

        index = -1;
        return false;
    }

    /// <summary>vma_pages for a range.</summary>
    private static long PagesOf(ulong start, ulong end) => (long)((end - start) >> Pte.PageShift);
}
