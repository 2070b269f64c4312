using System.Runtime.CompilerServices;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace EcsMem.Components;

/// <summary>
/// One 4 KiB page-table page as an ECS-storable value: 512 eight-byte entries (x86-64, PAE) or, viewed
/// through <see cref="AsEntries32"/>, 1024 four-byte entries (x86-32 without PAE, whose PTEs are 32 bits wide
/// and have no NX bit). <see cref="Level"/> says which level it is (0 = PTE table).
/// </summary>
public struct PageTablePage
{
    /// <summary>0 for a PTE table, up to Levels-1 for the PGD.</summary>
    public int Level;

    /// <summary>The raw 4 KiB of entries.</summary>
    public PageTableEntries Entries;

    /// <summary>The page as 512 64-bit entries.</summary>
    [UnscopedRef]
    public Span<ulong> AsEntries64() => Entries;

    /// <summary>The page as 1024 32-bit entries (2-level 32-bit paging).</summary>
    [UnscopedRef]
    public Span<uint> AsEntries32() => MemoryMarshal.Cast<ulong, uint>((Span<ulong>)Entries);
}

/// <summary>4 KiB of page-table entries stored inline (no array object per table).</summary>
[InlineArray(512)]
public struct PageTableEntries
{
    private ulong _element0;
}
