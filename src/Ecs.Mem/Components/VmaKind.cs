namespace EcsMem.Components;

/// <summary>
/// Which vm_operations a VMA uses, i.e. how its faults are served and how /proc/pid/maps names it.
/// Stands in for Linux's vma->vm_ops pointer plus the heap/stack naming rules of show_map_vma.
/// </summary>
public enum VmaKind : byte
{
    /// <summary>Private or shared anonymous memory (no vm_ops; zero-filled on first touch).</summary>
    Anonymous = 0,
    /// <summary>File-backed mapping (generic_file_vm_ops: filemap_fault through the page cache).</summary>
    File = 1,
    /// <summary>The brk heap, printed as [heap].</summary>
    Heap = 2,
    /// <summary>The main-thread stack created by exec, printed as [stack].</summary>
    Stack = 3,
    /// <summary>A special mapping with a fixed name such as [vdso], [vvar] or [anon:name] (install_special_mapping).</summary>
    Special = 4,
}
