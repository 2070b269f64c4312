using System.Globalization;
using System.Text;
using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// One VMA's entry of /proc/PID/smaps: the maps line, then the fields in the file's order (values in kB, except
/// THPeligible), then the VmFlags mnemonics.
/// </summary>
/// <param name="Header">The VMA's /proc/PID/maps line, no newline.</param>
/// <param name="Fields">Size, KernelPageSize, MMUPageSize, Rss … Locked, in the order show_smap prints them (kB).</param>
/// <param name="ThpEligible">THPeligible: whether thp_vma_allowable_orders(TVA_SMAPS, THP_ORDERS_ALL) allows any order.</param>
/// <param name="VmFlags">The VmFlags mnemonics in bit order, e.g. <c>rd wr mr mw me ac</c>.</param>
public sealed record SmapsVmaSnapshot(string Header, IReadOnlyList<NamedValue> Fields, bool ThpEligible, string VmFlags)
{
    /// <summary>The walk's totals before they were printed (bytes; PSS ones in PSS_SHIFT fixed point): what smaps_rollup adds up.</summary>
    public SmapsRollup.MemSizeStats Stats { get; init; }
}

/// <summary>
/// show_smap (fs/proc/task_mmu.c, Linux 6.18): per VMA, smap_gather_stats over that VMA alone (the same walk as
/// smaps_rollup, <see cref="SmapsRollup.GatherVma"/>), printed by __show_smap without the rollup-only Pss_Anon,
/// Pss_File and Pss_Shmem, each PSS figure rounded down on its own (the rollup sums the unrounded ones, so its Pss can
/// exceed the sum of the VMAs' by less than 1 kB a VMA), then THPeligible and VmFlags. ProtectionKey is printed only
/// where arch_pkeys_enabled (a CPU with PKU; the machine the kit records on has none): never here.
/// </summary>
public static class Smaps
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // show_smap_vma_flags' mnemonics, indexed by vm_flags bit (Linux 6.18, x86-64; CONFIG_MEM_SOFT_DIRTY's "sd"
    // included). Bits 11 (VM_DENYWRITE's, unused since 5.15) and 24 (VM_ARCH_1, x86's VM_PAT) have no VmFlags member.
    private static readonly string[] Mnemonics =
    [
        "rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "um", "pf", "", "uw", "lo", "io", "sr",
        "rr", "dc", "de", "lf", "ac", "nr", "ht", "sf", "ar", "wf", "dd", "sd", "mm", "hg", "nh", "mg",
    ];

    /// <summary>show_smap_vma_flags: the mnemonic of every set bit, lowest first, each followed by a space.</summary>
    public static string VmFlagsLine(VmFlags flags)
    {
        var sb = new StringBuilder(64);
        for (int bit = 0; bit < Mnemonics.Length; bit++)
            if (Mnemonics[bit].Length > 0 && ((ulong)flags & (1UL << bit)) != 0)
                sb.Append(Mnemonics[bit]).Append(' ');
        return sb.ToString();
    }

    /// <summary>/proc/PID/smaps of <paramref name="mm"/>: every VMA in address order, then the gate area (as maps lists them).</summary>
    public static List<SmapsVmaSnapshot> Build(Kernel.Kernel k, MmState mm)
    {
        Mm m = mm.Mm;
        var list = new List<SmapsVmaSnapshot>(m.Vmas.Count + 1);
        var sb = new StringBuilder(128);
        foreach (ref readonly Vma v in m.Vmas)
            list.Add(Of(k, mm, v, sb));
        if (m.GateVma is Vma gate)
            list.Add(Of(k, mm, gate, sb));
        return list;
    }

    /// <summary>show_smap for one VMA.</summary>
    public static SmapsVmaSnapshot Of(Kernel.Kernel k, MmState mm, in Vma v, StringBuilder sb)
    {
        sb.Clear();
        ProcMaps.WriteVma(sb, v, mm.Mm.Files, mm.Mm.Mode.PointerSize);
        sb.Length--; // the newline
        var stats = new SmapsRollup.MemSizeStats();
        // The gate area ([vsyscall]) lies above TASK_SIZE: no user page table maps it, so its walk finds nothing.
        if (v.Start < mm.Tables.Mode.TaskSize)
            SmapsRollup.GatherVma(k, mm, v, ref stats);
        bool gate = v.Start >= mm.Tables.Mode.TaskSize;
        // vma_kernel_pagesize / vma_mmu_pagesize: the hstate's size for hugetlb, the base page otherwise.
        long pageKb = (v.Flags & VmFlags.HugeTlb) != 0 ? (long)(Hugetlb.Hugetlb.Size >> 10) : (long)(Pte.PageSize >> 10);
        var fields = new List<NamedValue>(24)
        {
            new("Size", (long)((v.End - v.Start) >> 10)),
            new("KernelPageSize", pageKb),
            new("MMUPageSize", pageKb),
        };
        foreach (NamedValue f in SmapsRollup.Fields(stats))
            if (f.Name is not ("Pss_Anon" or "Pss_File" or "Pss_Shmem"))
                fields.Add(f);
        return new SmapsVmaSnapshot(sb.ToString(), fields, !gate && ThpEligible(k, v), VmFlagsLine(v.Flags)) { Stats = stats };
    }

    /// <summary>
    /// thp_vma_allowable_orders(vma, vm_flags, TVA_SMAPS, THP_ORDERS_ALL) != 0 (mm/huge_memory.c, include/linux/huge_mm.h):
    /// for an anonymous VMA (no vm_ops: anonymous, brk and stack areas; MAP_SHARED anonymous memory is shmem) the sysfs
    /// orders that apply to it — the per-size <c>always</c> ones, the <c>madvise</c> ones with VM_HUGEPAGE, the
    /// <c>inherit</c> ones (the PMD size among them) when <c>enabled</c> is <c>always</c> or is <c>madvise</c> with
    /// VM_HUGEPAGE — not VM_NOHUGEPAGE, and, from the highest order down, one whose naturally aligned block holding
    /// the VMA's last page of that size lies wholly inside it (thp_vma_suitable_order at vm_end - size). smaps asks
    /// before any fault, so no anon_vma is needed, and VM_NO_KHUGEPAGED does not count. A file or shmem VMA is 0 here:
    /// shmem follows shmem_enabled (<c>never</c>, the default; not modelled) and file THP needs large page-cache folios
    /// or CONFIG_READ_ONLY_THP_FOR_FS (not modelled; in <c>madvise</c> mode without MADV_HUGEPAGE Linux says 0 too);
    /// special mappings ([vdso], [vvar]) and the gate area are 0 as on Linux.
    /// </summary>
    public static bool ThpEligible(Kernel.Kernel k, in Vma v)
    {
        if (k.Options.Paging.Levels < 4 || v.Kind is VmaKind.File or VmaKind.Special
            || (v.Flags & (VmFlags.Shared | VmFlags.MayShare | VmFlags.HugeTlb | VmFlags.NoHugePage)) != 0)
            return false;
        ThpConfig c = k.Options.Thp;
        bool madv = (v.Flags & VmFlags.HugePage) != 0;
        int mask = c.AnonOrdersAlways;
        if (madv)
            mask |= c.AnonOrdersMadvise;
        if (c.Enabled == ThpEnabled.Always || (madv && c.Enabled != ThpEnabled.Never))
            mask |= c.AnonOrdersInherit | (1 << HugeMemory.HugeMemory.PmdOrder);
        for (int order = HugeMemory.HugeMemory.PmdOrder; order >= ThpConfig.MinAnonOrder; order--)
        {
            if ((mask & (1 << order)) == 0)
                continue;
            ulong size = Pte.PageSize << order;
            if (v.End - v.Start < size)
                continue;
            ulong haddr = (v.End - size) & ~(size - 1);
            if (haddr >= v.Start)
                return true;
        }
        return false;
    }

    /// <summary>
    /// Appends one VMA's entry as the file prints it: the maps line; each field's name, colon and padding in 16 columns
    /// and its value right-aligned in 8 (SEQ_PUT_DEC), except Private_Hugetlb's 17-column label with a 7-column value;
    /// <c>THPeligible:    %8u</c>; and <c>VmFlags: </c> with the mnemonics.
    /// </summary>
    public static void AppendTo(StringBuilder sb, SmapsVmaSnapshot s)
    {
        SmapsRollup.AppendTo(sb, new SmapsRollupSnapshot(s.Header, s.Fields));
        sb.Append("THPeligible:    ").Append((s.ThpEligible ? 1 : 0).ToString(Inv).PadLeft(8)).Append('\n');
        sb.Append("VmFlags: ").Append(s.VmFlags).Append('\n');
    }
}
