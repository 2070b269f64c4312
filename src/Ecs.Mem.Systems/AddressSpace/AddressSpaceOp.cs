using EcsMem.Ecs;

namespace EcsMem.Systems.AddressSpace;

/// <summary>What a timeline event does to a process's address space.</summary>
public enum AddressSpaceOpKind : byte
{
    Mmap,
    Munmap,
    Mprotect,
    Brk,
    Fork,
    Exit,
    Madvise,
    Fadvise,
    DropCaches,
    Mremap,
    Mlock,
    Munlock,
    Mlockall,
    Munlockall,
    Open,
    MemfdCreate,
    Ftruncate,
    Close,
    Write,
    Read,
    Fallocate,
    Unlink,
    Fsync,

    /// <summary>The timeline's zero_fill (not a system call): the range's writable pages hold zeros (ZeroFill.Apply).</summary>
    ZeroFill,

    /// <summary>pause(2) until the parent exits (TaskList.Pause).</summary>
    Pause,
}

/// <summary>
/// One scheduled address-space operation (a system call the process makes at a given simulated time).
/// For <see cref="AddressSpaceOpKind.Fork"/>, <see cref="ChildName"/> and <see cref="ChildWorkload"/>
/// describe the child; for <see cref="AddressSpaceOpKind.Brk"/>, <see cref="Addr"/> is the new break
/// unless <see cref="BrkDelta"/> is set, in which case <see cref="SignedDelta"/> moves the current one (sbrk).
/// </summary>
public sealed record AddressSpaceOp(AddressSpaceOpKind Kind, Entity Process)
{
    public ulong Addr { get; init; }
    public ulong Len { get; init; }
    public Prot Prot { get; init; }
    public MapFlags Flags { get; init; } = MapFlags.Private | MapFlags.Anonymous;
    public int FileId { get; init; } = -1;
    public ulong PgOff { get; init; }
    /// <summary>madvise / fadvise advice (Scenarios.MadviseAdvice / FadviseAdvice), drop_caches value.</summary>
    public int Advice { get; init; }
    /// <summary>fadvise: byte offset into the file (<see cref="Len"/> is its length, 0 = to the end).</summary>
    public long Offset { get; init; }
    /// <summary>mremap: the new length (<see cref="Len"/> is the old one).</summary>
    public ulong NewLen { get; init; }
    /// <summary>mremap: the destination for MREMAP_FIXED (a hint with MREMAP_DONTUNMAP).</summary>
    public ulong NewAddr { get; init; }
    /// <summary>mremap flags.</summary>
    public Scenarios.MremapFlags MremapFlags { get; init; }
    /// <summary>The descriptor an open/memfd_create returns, or that mmap/ftruncate/close use (-1: none; mmap uses FileId's path).</summary>
    public int Fd { get; init; } = -1;
    /// <summary>open: its flags (creat, excl, trunc, rdonly, wronly).</summary>
    public Filemap.OpenFiles.OpenFlags OpenFlags { get; init; }
    /// <summary>memfd_create: the name; <see cref="Advice"/> holds its flags (1 = MFD_CLOEXEC).</summary>
    public string? Name { get; init; }
    /// <summary>write: the buffer holds only zeros (the pages it fills become zero-filled, <see cref="EcsMem.Components.FrameFlags.ZeroFilled"/>).</summary>
    public bool ZeroData { get; init; }
    /// <summary>write: made as calls of this many bytes each (0: one call), which sizes a regular file's new page-cache folios.</summary>
    public long Piece { get; init; }
    public bool BrkDelta { get; init; }
    public long SignedDelta { get; init; }
    public string? ChildName { get; init; }
    /// <summary>Makes the child's workload, given where the child's heap starts.</summary>
    public Func<ulong, Workload>? ChildWorkload { get; init; }

    /// <summary>For a fork: cycles after the fork at which the child becomes runnable (0 = at once).</summary>
    public ulong ChildStartDelay { get; init; }

    /// <summary>For a fork: the parent then waits for the child to exit (waitpid), not running until it has.</summary>
    public bool WaitChild { get; init; }
}
