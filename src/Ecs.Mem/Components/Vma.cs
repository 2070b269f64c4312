namespace EcsMem.Components;

/// <summary>
/// One virtual memory area (Linux vm_area_struct): the half-open range [Start, End) of one mm
/// with uniform flags and backing. The component of a VMA entity: each mm's VmaSet creates, changes and
/// destroys these entities and indexes them by address.
/// </summary>
public struct Vma
{
    /// <summary>vm_start: first byte (page aligned).</summary>
    public ulong Start;
    /// <summary>vm_end: first byte after the area (page aligned).</summary>
    public ulong End;
    /// <summary>vm_page_prot: the PTE protection bits new PTEs of this area get (see <see cref="Pte.ProtFromVmFlags"/>).</summary>
    public ulong PageProt;
    /// <summary>vm_flags.</summary>
    public VmFlags Flags;
    /// <summary>vm_pgoff: offset into the file in pages; for anonymous areas Start &gt;&gt; 12 as Linux sets it.</summary>
    public ulong PgOff;
    /// <summary>vm_file as an id into a <see cref="FileTable"/>; -1 when anonymous. Special mappings use it for their name.</summary>
    public int FileId;
    /// <summary>
    /// vm_file's identity: the open file description (struct file) the mapping was made from, 0 for the process's
    /// implicit open of the path (a mapping made without a descriptor) and for anonymous areas. vma_merge joins
    /// file mappings only of the same struct file.
    /// </summary>
    public int OpenFile;
    /// <summary>
    /// vm_area_struct's anon_vma, as an id unique within the mm (0: none yet). Set by the first fault that needs an
    /// anonymous page here (anon_vma_prepare), shared by the parts of a split and kept by a merge.
    /// </summary>
    public int AnonVma;
    /// <summary>
    /// The anon_vma_chain is not singular: fork's anon_vma_fork linked this child VMA to its parent's anon_vma as well
    /// as its own (vma_had_uncowed_parents).
    /// </summary>
    public bool AnonVmaForked;
    /// <summary>Id of the owning mm (vm_mm).</summary>
    public int MmId;
    /// <summary>The vm_ops choice.</summary>
    public VmaKind Kind;
    /// <summary>
    /// The shmem object (shmem_zero_setup's unlinked "dev/zero" file) a MAP_SHARED|MAP_ANONYMOUS area maps, its
    /// vm_file in Linux: splits, fork and mremap keep it, areas of different objects never merge. 0 = none.
    /// </summary>
    public int ShmemId;

    /// <summary>Length in bytes.</summary>
    public readonly ulong Length => End - Start;

    /// <summary>Number of pages (vma_pages).</summary>
    public readonly ulong Pages => (End - Start) >> Pte.PageShift;

    /// <summary>True when <paramref name="addr"/> lies inside [Start, End).</summary>
    public readonly bool Contains(ulong addr) => addr >= Start && addr < End;

    /// <summary>True when the area has a file behind it.</summary>
    public readonly bool HasFile => Kind == VmaKind.File;

    public override readonly string ToString() => $"{Start:x}-{End:x} {Flags} {Kind} pgoff={PgOff:x} file={FileId}";
}
