using System.Runtime.CompilerServices;

namespace EcsMem.Components;

/// <summary>
/// A 64-bit page-table entry with the x86 bit positions (arch/x86/include/asm/pgtable_types.h).
/// When <see cref="Present"/> is clear a non-zero entry holds a <see cref="SwapEntry"/>.
/// Software bits: 9 = special (no struct page), 10 = COW (write fault must copy), 11 = soft-dirty.
/// </summary>
public readonly struct Pte : IEquatable<Pte>
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;
    public const ulong PageMask = ~(PageSize - 1);

    public const ulong PresentBit = 1UL << 0;
    public const ulong RwBit = 1UL << 1;
    public const ulong UserBit = 1UL << 2;
    public const ulong PwtBit = 1UL << 3;
    public const ulong PcdBit = 1UL << 4;
    public const ulong AccessedBit = 1UL << 5;
    public const ulong DirtyBit = 1UL << 6;
    /// <summary>PSE: huge page in a PMD/PUD entry (PAT in a leaf PTE).</summary>
    public const ulong PseBit = 1UL << 7;
    public const ulong GlobalBit = 1UL << 8;
    /// <summary>_PAGE_PROTNONE reuses the global bit position in non-present entries (PROT_NONE pages).</summary>
    public const ulong ProtNoneBit = 1UL << 8;
    public const ulong SpecialBit = 1UL << 9;
    public const ulong CowBit = 1UL << 10;
    public const ulong SoftDirtyBit = 1UL << 11;

    /// <summary>
    /// _PAGE_SWP_EXCLUSIVE (x86: the PSE bit of a non-present entry): the swap entry's page was exclusive to this
    /// PTE when it was swapped out (PageAnonExclusive), so do_swap_page may map it writable without a copy.
    /// </summary>
    public const ulong SwpExclusiveBit = PseBit;
    /// <summary>
    /// EcsMem's software bit 57 (one of x86's SOFTW bits): this present entry is one of the 512 that stand for a PMD
    /// leaf mapping a 2 MiB page (pmd_trans_huge). EcsMem keeps a huge mapping's 512 translations in the page table
    /// Linux deposits with it (pgtable_trans_huge_deposit), each tagged with this bit; the page walk ends one level
    /// early on a tagged entry and the TLB gets a 2 MiB entry. Splitting the PMD (__split_huge_pmd) clears the bit.
    /// </summary>
    public const ulong PmdMappedBit = 1UL << 57;
    public const ulong NxBit = 1UL << 63;
    /// <summary>Bits 12..51 hold the page frame number (x86 PTE_PFN_MASK with 52 physical bits).</summary>
    public const ulong PfnMask = ((1UL << 52) - 1) & PageMask;
    /// <summary>Everything that is protection rather than frame number.</summary>
    public const ulong ProtMask = ~PfnMask;

    /// <summary>The raw entry.</summary>
    public readonly ulong Value;

    public Pte(ulong value) => Value = value;

    /// <summary>mk_pte / pfn_pte: frame number plus protection bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Pte Make(ulong pfn, ulong prot) => new(((pfn << PageShift) & PfnMask) | (prot & ProtMask));

    /// <summary>The empty entry (pte_none).</summary>
    public bool None => Value == 0;
    public bool Present => (Value & PresentBit) != 0;
    public bool Writable => (Value & RwBit) != 0;
    public bool User => (Value & UserBit) != 0;
    public bool Accessed => (Value & AccessedBit) != 0;
    public bool Dirty => (Value & DirtyBit) != 0;
    public bool Huge => (Value & PseBit) != 0;
    /// <summary>One of the 512 entries of a PMD-mapped huge page (<see cref="PmdMappedBit"/>).</summary>
    public bool PmdMapped => IsPmdMapped(Value);

    /// <summary>
    /// Whether a raw entry is one of a PMD mapping's 512 (present or PROT_NONE, with <see cref="PmdMappedBit"/>): a swap
    /// entry's offset field covers bit 57 and never counts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPmdMapped(ulong value) => (value & PmdMappedBit) != 0 && (value & (PresentBit | ProtNoneBit)) != 0;
    public bool Global => (Value & GlobalBit) != 0;
    public bool Special => (Value & SpecialBit) != 0;
    public bool Cow => (Value & CowBit) != 0;
    public bool SoftDirty => (Value & SoftDirtyBit) != 0;
    /// <summary>
    /// pte_needs_flush (arch/x86/include/asm/tlbflush.h): whether replacing a present entry by
    /// <paramref name="updated"/> leaves a TLB entry that must go. Nothing to flush when the old entry was not
    /// present or only software or accessed bits differ; a flush when the frame changes, when dirty or
    /// present is cleared, or when RW, USER, NX or a caching bit changes either way.
    /// </summary>
    public static bool NeedsFlush(ulong old, ulong updated)
    {
        if ((old & PresentBit) == 0)
            return false;
        if (((old ^ updated) & PfnMask) != 0)
            return true;
        ulong diff = (old ^ updated) & ~(SpecialBit | CowBit | SoftDirtyBit | AccessedBit | PfnMask);
        const ulong FlushOnClear = DirtyBit | PresentBit;
        const ulong FlushOnChange = RwBit | UserBit | PwtBit | PcdBit | PseBit | GlobalBit | NxBit;
        return (diff & old & FlushOnClear) != 0 || (diff & FlushOnChange) != 0;
    }

    /// <summary>Executable when NX is clear.</summary>
    public bool Executable => (Value & NxBit) == 0;
    /// <summary>pte_pfn.</summary>
    public ulong Pfn => (Value & PfnMask) >> PageShift;
    /// <summary>True for a non-present, non-empty entry that holds a swap entry (is_swap_pte).</summary>
    public bool IsSwap => Value != 0 && (Value & (PresentBit | ProtNoneBit)) == 0;
    /// <summary>The swap entry of a non-present entry (pte_to_swp_entry).</summary>
    public SwapEntry ToSwapEntry() => SwapEntry.FromPteValue(Value);

    public Pte MkYoung() => new(Value | AccessedBit);
    public Pte MkOld() => new(Value & ~AccessedBit);
    public Pte MkDirty() => new(Value | DirtyBit | SoftDirtyBit);
    public Pte MkClean() => new(Value & ~DirtyBit);
    public Pte MkWrite() => new((Value | RwBit) & ~CowBit);
    /// <summary>Write-protects and marks copy-on-write, as copy_present_pte does for private pages on fork.</summary>
    public Pte MkCow() => new((Value & ~RwBit) | CowBit);
    public Pte WithPfn(ulong pfn) => new((Value & ProtMask) | ((pfn << PageShift) & PfnMask));
    /// <summary>pte_modify: keeps frame and hardware-managed A/D bits, replaces protection.</summary>
    public Pte Modify(ulong newProt) => new((Value & (PfnMask | AccessedBit | DirtyBit | SoftDirtyBit | CowBit | SpecialBit | PmdMappedBit)) | (newProt & ~(PfnMask | AccessedBit | DirtyBit)));

    /// <summary>
    /// vm_get_page_prot for x86: the PTE bits new pages of an area with these flags get.
    /// Private writable areas get read-only PTEs (PAGE_COPY) so the first write faults and copies;
    /// only shared writable areas get RW. Non-exec areas get NX where the paging mode has it. PROT_NONE gives the PROTNONE bit only.
    /// </summary>
    public static ulong ProtFromVmFlags(VmFlags flags, PagingMode mode)
    {
        VmFlags access = flags & VmFlags.AccessMask;
        if (access == VmFlags.None)
        {
            return ProtNoneBit | AccessedBit;
        }

        ulong prot = PresentBit | UserBit | AccessedBit;
        if ((flags & VmFlags.Write) != 0 && (flags & VmFlags.Shared) != 0)
        {
            prot |= RwBit;
        }

        if ((flags & VmFlags.Exec) == 0 && mode.HasNx)
        {
            prot |= NxBit;
        }

        return prot;
    }

    public bool Equals(Pte other) => Value == other.Value;
    public override bool Equals(object? obj) => obj is Pte other && Equals(other);
    public override int GetHashCode() => Value.GetHashCode();
    public static bool operator ==(Pte a, Pte b) => a.Value == b.Value;
    public static bool operator !=(Pte a, Pte b) => a.Value != b.Value;
    public override string ToString() => $"0x{Value:x16}";
}
