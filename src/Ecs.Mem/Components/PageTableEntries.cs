using System.Runtime.CompilerServices;

namespace EcsMem.Components;

/// <summary>
/// The 512 entries of one 4 KiB page-table page (x86-64, PAE) stored inline: the component a page-table page
/// entity owns in the page-table store (no array object per table). Entries use the x86 bit layout of
/// <see cref="Pte"/>; an upper-level entry names its child table in the PFN field.
/// </summary>
[InlineArray(512)]
public struct PageTableEntries
{
    private ulong _element0;
}
