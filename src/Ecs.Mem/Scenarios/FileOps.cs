namespace EcsMem.Scenarios;

/// <summary>openat(2) of <paramref name="File"/> (read-write): a new open file description at descriptor <paramref name="Fd"/>.</summary>
/// <param name="File">The file's path, resolved as a mapping's <c>file</c> is.</param>
/// <param name="Fd">The descriptor number the call returns (as strace shows it); mmap, ftruncate and close name it.</param>
/// <param name="Flags">open(2)'s flags beyond O_RDWR: <c>creat</c>, <c>excl</c>, <c>trunc</c>, <c>rdonly</c>, <c>wronly</c>.</param>
public sealed record OpenOp(string File, int Fd, OpenFlagSet Flags = OpenFlagSet.None) : TimelineOp;

/// <summary>The open(2) flags a scenario's <c>open</c> can give (O_RDWR when neither access flag is set).</summary>
[Flags]
public enum OpenFlagSet
{
    None = 0,
    RdOnly = 1,
    WrOnly = 2,
    Creat = 4,
    Excl = 8,
    Trunc = 16,
    Append = 32,
}

/// <summary>
/// write(2) of <paramref name="Length"/> bytes to descriptor <paramref name="Fd"/> at its file position, or pwrite64
/// at <paramref name="Offset"/> when it is given (a memfd or tmpfs file). <paramref name="Zero"/>: the buffer holds
/// only zeros (the timeline's <c>zero: true</c>), so a page the call fills with them holds only zeros afterwards (a
/// new page, a zero-filled one, or one the call covers whole), which swap-out keeps in the swap area's zeromap.
/// <paramref name="Piece"/> (the timeline's <c>piece</c>): the write is made as consecutive pwrite64 calls of that many
/// bytes each (a program's loop over its buffer), which sets the size of the page-cache folios a regular file's
/// write_begin makes; null: one call.
/// </summary>
public sealed record WriteOp(int Fd, long Length, long? Offset, bool Zero = false, long? Piece = null) : TimelineOp;

/// <summary>read(2) of <paramref name="Length"/> bytes from <paramref name="Fd"/> at its file position, or pread64 at <paramref name="Offset"/>.</summary>
public sealed record ReadOp(int Fd, long Length, long? Offset) : TimelineOp;

/// <summary>fallocate(2) of [<paramref name="Offset"/>, +<paramref name="Length"/>) of <paramref name="Fd"/>; <paramref name="Mode"/> 1 = FALLOC_FL_KEEP_SIZE, 2 = FALLOC_FL_PUNCH_HOLE.</summary>
public sealed record FallocateOp(int Fd, int Mode, long Offset, long Length) : TimelineOp;

/// <summary>unlink(2) of a file on tmpfs (<paramref name="File"/> under /dev/shm/).</summary>
public sealed record UnlinkOp(string File) : TimelineOp;

/// <summary>memfd_create(2): a new anonymous shmem file named <paramref name="Name"/> at descriptor <paramref name="Fd"/>.</summary>
/// <param name="Name">The name /proc/pid/maps shows as <c>/memfd:NAME (deleted)</c>.</param>
/// <param name="Fd">The descriptor number the call returns.</param>
/// <param name="CloExec">MFD_CLOEXEC (recorded only: the simulator does not exec).</param>
public sealed record MemfdCreateOp(string Name, int Fd, bool CloExec) : TimelineOp;

/// <summary>ftruncate(2): sets the size of the file behind <paramref name="Fd"/> (a memfd).</summary>
public sealed record FtruncateOp(int Fd, long Length) : TimelineOp;

/// <summary>fsync(2) of descriptor <paramref name="Fd"/>, or fdatasync(2) when <paramref name="DataOnly"/>: its file's dirty pages written and waited for.</summary>
public sealed record FsyncOp(int Fd, bool DataOnly) : TimelineOp;

/// <summary>close(2) of descriptor <paramref name="Fd"/>.</summary>
public sealed record CloseOp(int Fd) : TimelineOp;
