namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// What exec needs to lay out a process (the parts of linux_binprm and the ELF headers that matter for the
/// address-space shape): segment sizes, the executable's file id, argv and envp, and the random offsets
/// (all 0 with ASLR off, the default).
/// </summary>
public sealed record ExecImage
{
    /// <summary>Bytes of text (the r-x PT_LOAD segment).</summary>
    public ulong TextSize { get; init; }
    /// <summary>Bytes of initialised data (file-backed part of the rw- segment).</summary>
    public ulong DataSize { get; init; }
    /// <summary>Bytes of bss (zero-filled tail of the rw- segment).</summary>
    public ulong BssSize { get; init; }
    /// <summary>Id of the executable in the mm's <see cref="EcsMem.Components.FileTable"/>.</summary>
    public int FileId { get; init; }
    /// <summary>Path copied to the top of the stack (bprm->filename); defaults to the file's path.</summary>
    public string? Filename { get; init; }
    /// <summary>Argument strings.</summary>
    public IReadOnlyList<string> Argv { get; init; } = Array.Empty<string>();
    /// <summary>Environment strings ("NAME=value").</summary>
    public IReadOnlyList<string> Envp { get; init; } = Array.Empty<string>();
    /// <summary>mmap randomisation in bytes (arch_mmap_rnd); 0 = ASLR off.</summary>
    public ulong MmapRandom { get; init; }
    /// <summary>Map [vvar] (4 pages) and [vdso] (2 pages) top-down below mmap_base, as map_vdso does.</summary>
    public bool MapVdso { get; init; } = true;
}
