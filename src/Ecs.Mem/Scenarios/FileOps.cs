namespace EcsMem.Scenarios;

/// <summary>openat(2) of <paramref name="File"/> (read-write): a new open file description at descriptor <paramref name="Fd"/>.</summary>
/// <param name="File">The file's path, resolved as a mapping's <c>file</c> is.</param>
/// <param name="Fd">The descriptor number the call returns (as strace shows it); mmap, ftruncate and close name it.</param>
public sealed record OpenOp(string File, int Fd) : TimelineOp;

/// <summary>memfd_create(2): a new anonymous shmem file named <paramref name="Name"/> at descriptor <paramref name="Fd"/>.</summary>
/// <param name="Name">The name /proc/pid/maps shows as <c>/memfd:NAME (deleted)</c>.</param>
/// <param name="Fd">The descriptor number the call returns.</param>
/// <param name="CloExec">MFD_CLOEXEC (recorded only: the simulator does not exec).</param>
public sealed record MemfdCreateOp(string Name, int Fd, bool CloExec) : TimelineOp;

/// <summary>ftruncate(2): sets the size of the file behind <paramref name="Fd"/> (a memfd).</summary>
public sealed record FtruncateOp(int Fd, long Length) : TimelineOp;

/// <summary>close(2) of descriptor <paramref name="Fd"/>.</summary>
public sealed record CloseOp(int Fd) : TimelineOp;
