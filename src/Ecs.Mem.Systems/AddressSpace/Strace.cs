using System.Globalization;
using System.Text;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// A timeline system call as strace (6.x, Linux x86-64) prints it: <c>name(args)</c>, padded so the
/// <c>= result</c> starts at column 40 (strace's default <c>-a 40</c>), the result in the call's own form
/// (an address in hex, a pid or 0 in decimal, <c>?</c> for a call that does not return) and a failure as
/// <c>-1 ENOMEM (Cannot allocate memory)</c>. Constants are printed as strace's tables order them
/// (PROT_READ|PROT_WRITE|PROT_EXEC; the map type, then MAP_FIXED, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE,
/// MAP_GROWSDOWN, MAP_LOCKED, MAP_STACK, MAP_FIXED_NOREPLACE). Checked against lines recorded from real strace
/// (tests/Ecs.Mem.Tests/Events/StraceFormatTests.cs).
/// </summary>
public static class Strace
{
    /// <summary>strace's default alignment column for the result (<c>-a 40</c>).</summary>
    public const int ResultColumn = 40;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A user address as strace's printaddr shows it: NULL for 0, else lowercase hex.</summary>
    public static string Addr(ulong a) => a == 0 ? "NULL" : "0x" + a.ToString("x", Inv);

    /// <summary>PROT_* flags, or PROT_NONE.</summary>
    public static string ProtFlags(Prot p)
    {
        if (p == Prot.None)
            return "PROT_NONE";
        var parts = new List<string>(3);
        if ((p & Prot.Read) != 0) parts.Add("PROT_READ");
        if ((p & Prot.Write) != 0) parts.Add("PROT_WRITE");
        if ((p & Prot.Exec) != 0) parts.Add("PROT_EXEC");
        return string.Join('|', parts);
    }

    private static readonly (MapFlags Flag, string Name)[] MapOrder =
    [
        (MapFlags.Fixed, "MAP_FIXED"), (MapFlags.Anonymous, "MAP_ANONYMOUS"), (MapFlags.NoReserve, "MAP_NORESERVE"),
        (MapFlags.Populate, "MAP_POPULATE"), (MapFlags.GrowsDown, "MAP_GROWSDOWN"), (MapFlags.Locked, "MAP_LOCKED"),
        (MapFlags.Stack, "MAP_STACK"), (MapFlags.HugeTlb, "MAP_HUGETLB"), (MapFlags.FixedNoReplace, "MAP_FIXED_NOREPLACE"),
    ];

    /// <summary>mmap's flags: the mapping type first, then the flags in strace's order.</summary>
    public static string MapFlagsText(MapFlags f)
    {
        var sb = new StringBuilder();
        sb.Append((f & (MapFlags.Shared | MapFlags.Private)) switch
        {
            MapFlags.Shared => "MAP_SHARED",
            MapFlags.Private => "MAP_PRIVATE",
            MapFlags.Shared | MapFlags.Private => "MAP_SHARED_VALIDATE",
            _ => "0",
        });
        foreach (var (flag, name) in MapOrder)
            if ((f & flag) != 0)
                sb.Append('|').Append(name);
        return sb.ToString();
    }

    /// <summary>strerror's text for the errnos the address-space calls return.</summary>
    public static string ErrorText(long errno) => Math.Abs(errno) switch
    {
        Errno.EPERM => "Operation not permitted",
        Errno.ENOENT => "No such file or directory",
        Errno.EFBIG => "File too large",
        Errno.ENOSPC => "No space left on device",
        Errno.EOPNOTSUPP => "Operation not supported",
        Errno.EBADF => "Bad file descriptor",
        Errno.EAGAIN => "Resource temporarily unavailable",
        Errno.ENOMEM => "Cannot allocate memory",
        Errno.EACCES => "Permission denied",
        Errno.EEXIST => "File exists",
        Errno.EINVAL => "Invalid argument",
        Errno.EFAULT => "Bad address",
        _ => "Unknown error " + Math.Abs(errno).ToString(Inv),
    };

    /// <summary>The result as strace prints it for a failed call: <c>-1 ENAME (text)</c>.</summary>
    public static string Error(long negErrno) => $"-1 {Errno.Name(negErrno)} ({ErrorText(negErrno)})";

    /// <summary>The whole line: <paramref name="call"/> (<c>name(args)</c>), padding, <c>= </c> and the result.</summary>
    public static string Line(string call, string result)
    {
        int col = call.Length + 1;
        return call + new string(' ', 1 + Math.Max(0, ResultColumn - col)) + "= " + result;
    }

    /// <summary>
    /// The strace line of one timeline operation. <paramref name="brkArg"/> is brk's argument (the break asked for,
    /// computed from a delta for sbrk-style ops); <paramref name="fdPath"/> names a file mapping's file, shown as
    /// strace -y shows a descriptor (<c>3&lt;/path&gt;</c>; the simulator has no descriptors: the number is
    /// 3 + the file's index in the machine's file table). exit is exit_group for a thread-group leader, exit otherwise.
    /// </summary>
    public static string Format(AddressSpaceOp op, long result, ulong brkArg, string? fdPath, bool groupLeader)
    {
        bool failed = Errno.IsError(result);
        string hexResult = failed ? Error(result) : "0x" + result.ToString("x", Inv);
        string zeroResult = failed ? Error(result) : result.ToString(Inv);
        return op.Kind switch
        {
            AddressSpaceOpKind.Mmap => Line(
                $"mmap({Addr(op.Addr)}, {op.Len.ToString(Inv)}, {ProtFlags(op.Prot)}, {MapFlagsText(op.Flags)}, {(op.Fd >= 0 ? OpenFd(op.Fd, fdPath) : Fd(op.FileId, fdPath))}, {Offset(op.PgOff * Components.Pte.PageSize)})",
                hexResult),
            AddressSpaceOpKind.Open => Line($"openat(AT_FDCWD, \"{fdPath}\", {OpenFlagsText(op.OpenFlags)})", zeroResult),
            AddressSpaceOpKind.Write when op.Offset >= 0 => Line($"pwrite64({OpenFd(op.Fd, fdPath)}, \"\"..., {op.Len.ToString(Inv)}, {op.Offset.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Write => Line($"write({OpenFd(op.Fd, fdPath)}, \"\"..., {op.Len.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Read when op.Offset >= 0 => Line($"pread64({OpenFd(op.Fd, fdPath)}, \"\"..., {op.Len.ToString(Inv)}, {op.Offset.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Read => Line($"read({OpenFd(op.Fd, fdPath)}, \"\"..., {op.Len.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Fallocate => Line($"fallocate({OpenFd(op.Fd, fdPath)}, {FallocMode(op.Advice)}, {op.Offset.ToString(Inv)}, {op.Len.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Unlink => Line($"unlink(\"{fdPath}\")", zeroResult),
            AddressSpaceOpKind.MemfdCreate => Line($"memfd_create(\"{op.Name}\", {(op.Advice != 0 ? "MFD_CLOEXEC" : "0")})", zeroResult),
            AddressSpaceOpKind.Ftruncate => Line($"ftruncate({OpenFd(op.Fd, fdPath)}, {op.Len.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Fsync => Line($"{(op.Advice != 0 ? "fdatasync" : "fsync")}({OpenFd(op.Fd, fdPath)})", zeroResult),
            AddressSpaceOpKind.Close => Line($"close({OpenFd(op.Fd, fdPath)})", zeroResult),
            AddressSpaceOpKind.Munmap => Line($"munmap({Addr(op.Addr)}, {op.Len.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Mprotect => Line($"mprotect({Addr(op.Addr)}, {op.Len.ToString(Inv)}, {ProtFlags(op.Prot)})", zeroResult),
            AddressSpaceOpKind.Brk => Line($"brk({Addr(brkArg)})", hexResult),
            AddressSpaceOpKind.Fork => Line("fork()", zeroResult),
            AddressSpaceOpKind.Madvise => Madvise(op.Addr, op.Len, (Scenarios.MadviseAdvice)op.Advice == Scenarios.MadviseAdvice.PopulateWrite ? "populate_write" : ((Scenarios.MadviseAdvice)op.Advice).ToString(), result),
            AddressSpaceOpKind.Fadvise => Fadvise64(op.FileId, fdPath, (long)op.Offset, (long)op.Len, ((Scenarios.FadviseAdvice)op.Advice).ToString(), result),
            AddressSpaceOpKind.DropCaches => DropCachesWrite(op.Advice),
            AddressSpaceOpKind.Mremap => Line(Mremap(op), hexResult),
            AddressSpaceOpKind.Mlock when op.Advice != 0 => Line($"mlock2({Addr(op.Addr)}, {op.Len.ToString(Inv)}, MLOCK_ONFAULT)", zeroResult),
            AddressSpaceOpKind.Mlock => Line($"mlock({Addr(op.Addr)}, {op.Len.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Munlock => Line($"munlock({Addr(op.Addr)}, {op.Len.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Mlockall => Line($"mlockall({MclFlags(op.Advice)})", zeroResult),
            AddressSpaceOpKind.Munlockall => Line("munlockall()", zeroResult),
            AddressSpaceOpKind.Pause => Line("pause()", "?"),
            _ => Line(groupLeader ? "exit_group(0)" : "exit(0)", "?"),
        };
    }

    /// <summary>open's flags as strace prints them: <c>O_RDWR|O_CREAT|O_EXCL|O_TRUNC</c>.</summary>
    private static string OpenFlagsText(Filemap.OpenFiles.OpenFlags f)
    {
        string s = (f & Filemap.OpenFiles.OpenFlags.RdOnly) != 0 ? "O_RDONLY" : (f & Filemap.OpenFiles.OpenFlags.WrOnly) != 0 ? "O_WRONLY" : "O_RDWR";
        if ((f & Filemap.OpenFiles.OpenFlags.Creat) != 0) s += "|O_CREAT";
        if ((f & Filemap.OpenFiles.OpenFlags.Excl) != 0) s += "|O_EXCL";
        if ((f & Filemap.OpenFiles.OpenFlags.Trunc) != 0) s += "|O_TRUNC";
        if ((f & Filemap.OpenFiles.OpenFlags.Append) != 0) s += "|O_APPEND";
        return (f & Filemap.OpenFiles.OpenFlags.Creat) != 0 ? s + ", 0600" : s;
    }

    /// <summary>fallocate's mode as strace prints it: <c>0</c>, <c>FALLOC_FL_KEEP_SIZE</c>, <c>FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE</c>.</summary>
    private static string FallocMode(int mode) => mode switch
    {
        0 => "0",
        1 => "FALLOC_FL_KEEP_SIZE",
        2 => "FALLOC_FL_PUNCH_HOLE",
        3 => "FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE",
        _ => "0x" + mode.ToString("x", Inv),
    };

    /// <summary>
    /// madvise as strace prints it: <c>madvise(0x7f7c84149000, 8192, MADV_WILLNEED) = 0</c>. <paramref name="advice"/>
    /// is the MADV_ name without its prefix, any case (<c>willneed</c>, <c>DontNeed</c>). For timeline ops that advise.
    /// </summary>
    public static string Madvise(ulong addr, ulong len, string advice, long result) =>
        Line($"madvise({Addr(addr)}, {len.ToString(Inv)}, MADV_{advice.ToUpperInvariant()})", Errno.IsError(result) ? Error(result) : result.ToString(Inv));

    /// <summary>
    /// posix_fadvise as strace shows the x86-64 system call: <c>fadvise64(3&lt;/path&gt;, 0, 4096, POSIX_FADV_WILLNEED) = 0</c>
    /// (the descriptor as for a file mmap: 3 + the file's index, with its path).
    /// </summary>
    public static string Fadvise64(int fileId, string? path, long offset, long len, string advice, long result) =>
        Line($"fadvise64({Fd(fileId, path)}, {offset.ToString(Inv)}, {len.ToString(Inv)}, POSIX_FADV_{advice.ToUpperInvariant()})",
            Errno.IsError(result) ? Error(result) : result.ToString(Inv));

    /// <summary>
    /// A write of <paramref name="value"/> to /proc/sys/vm/drop_caches (what <c>echo 1 &gt; /proc/sys/vm/drop_caches</c>
    /// makes): <c>write(4&lt;/proc/sys/vm/drop_caches&gt;, "1\n", 2) = 2</c>. The descriptor number is invented (4).
    /// </summary>
    public static string DropCachesWrite(int value)
    {
        string v = value.ToString(Inv);
        return Line($"write(4</proc/sys/vm/drop_caches>, \"{v}\\n\", {v.Length + 1})", (v.Length + 1).ToString(Inv));
    }

    /// <summary>The call's name as the line shows it.</summary>
    public static string CallName(AddressSpaceOpKind kind, bool groupLeader) => kind switch
    {
        AddressSpaceOpKind.Mmap => "mmap",
        AddressSpaceOpKind.Munmap => "munmap",
        AddressSpaceOpKind.Mprotect => "mprotect",
        AddressSpaceOpKind.Brk => "brk",
        AddressSpaceOpKind.Fork => "fork",
        AddressSpaceOpKind.Madvise => "madvise",
        AddressSpaceOpKind.Fadvise => "fadvise64",
        AddressSpaceOpKind.DropCaches => "write",
        AddressSpaceOpKind.Mremap => "mremap",
        AddressSpaceOpKind.Mlock => "mlock",
        AddressSpaceOpKind.Munlock => "munlock",
        AddressSpaceOpKind.Mlockall => "mlockall",
        AddressSpaceOpKind.Munlockall => "munlockall",
        AddressSpaceOpKind.Open => "openat",
        AddressSpaceOpKind.MemfdCreate => "memfd_create",
        AddressSpaceOpKind.Ftruncate => "ftruncate",
        AddressSpaceOpKind.Close => "close",
        AddressSpaceOpKind.Write => "write",
        AddressSpaceOpKind.Read => "read",
        AddressSpaceOpKind.Fallocate => "fallocate",
        AddressSpaceOpKind.Unlink => "unlink",
        AddressSpaceOpKind.Fsync => "fsync",
        AddressSpaceOpKind.Pause => "pause",
        _ => groupLeader ? "exit_group" : "exit",
    };

    /// <summary>
    /// mremap as strace prints it: the new address only when MREMAP_FIXED or MREMAP_DONTUNMAP makes the kernel read
    /// it (<c>mremap(0x7f.., 4096, 8192, MREMAP_MAYMOVE) = 0x7f..</c>).
    /// </summary>
    private static string Mremap(AddressSpaceOp op)
    {
        var f = op.MremapFlags;
        string flags = f == Scenarios.MremapFlags.None ? "0" : string.Join('|', new[]
        {
            (Scenarios.MremapFlags.MayMove, "MREMAP_MAYMOVE"),
            (Scenarios.MremapFlags.Fixed, "MREMAP_FIXED"),
            (Scenarios.MremapFlags.DontUnmap, "MREMAP_DONTUNMAP"),
        }.Where(x => (f & x.Item1) != 0).Select(x => x.Item2));
        string head = $"mremap({Addr(op.Addr)}, {op.Len.ToString(Inv)}, {op.NewLen.ToString(Inv)}, {flags}";
        return (f & (Scenarios.MremapFlags.Fixed | Scenarios.MremapFlags.DontUnmap)) != 0 ? $"{head}, {Addr(op.NewAddr)})" : head + ")";
    }

    private static string MclFlags(int flags)
    {
        string s = string.Join('|', new[] { (1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT") }
            .Where(x => (flags & x.Item1) != 0).Select(x => x.Item2));
        return s.Length == 0 ? "0" : s;
    }

    private static string Fd(int fileId, string? path) =>
        fileId < 0 ? "-1" : path is null ? (3 + fileId).ToString(Inv) : $"{(3 + fileId).ToString(Inv)}<{path}>";

    /// <summary>A real descriptor as strace -y shows it: <c>3&lt;/memfd:x (deleted)&gt;</c>, or the bare number when not open.</summary>
    private static string OpenFd(int fd, string? path) => path is null ? fd.ToString(Inv) : $"{fd.ToString(Inv)}<{path}>";

    private static string Offset(ulong off) => off == 0 ? "0" : "0x" + off.ToString("x", Inv);
}
