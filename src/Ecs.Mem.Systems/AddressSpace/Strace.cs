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
        (MapFlags.Stack, "MAP_STACK"), (MapFlags.FixedNoReplace, "MAP_FIXED_NOREPLACE"),
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
        Errno.EBADF => "Bad file descriptor",
        Errno.EAGAIN => "Resource temporarily unavailable",
        Errno.ENOMEM => "Cannot allocate memory",
        Errno.EACCES => "Permission denied",
        Errno.EEXIST => "File exists",
        Errno.EINVAL => "Invalid argument",
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
                $"mmap({Addr(op.Addr)}, {op.Len.ToString(Inv)}, {ProtFlags(op.Prot)}, {MapFlagsText(op.Flags)}, {Fd(op.FileId, fdPath)}, {Offset(op.PgOff * Components.Pte.PageSize)})",
                hexResult),
            AddressSpaceOpKind.Munmap => Line($"munmap({Addr(op.Addr)}, {op.Len.ToString(Inv)})", zeroResult),
            AddressSpaceOpKind.Mprotect => Line($"mprotect({Addr(op.Addr)}, {op.Len.ToString(Inv)}, {ProtFlags(op.Prot)})", zeroResult),
            AddressSpaceOpKind.Brk => Line($"brk({Addr(brkArg)})", hexResult),
            AddressSpaceOpKind.Fork => Line("fork()", zeroResult),
            _ => Line(groupLeader ? "exit_group(0)" : "exit(0)", "?"),
        };
    }

    /// <summary>The call's name as the line shows it.</summary>
    public static string CallName(AddressSpaceOpKind kind, bool groupLeader) => kind switch
    {
        AddressSpaceOpKind.Mmap => "mmap",
        AddressSpaceOpKind.Munmap => "munmap",
        AddressSpaceOpKind.Mprotect => "mprotect",
        AddressSpaceOpKind.Brk => "brk",
        AddressSpaceOpKind.Fork => "fork",
        _ => groupLeader ? "exit_group" : "exit",
    };

    private static string Fd(int fileId, string? path) =>
        fileId < 0 ? "-1" : path is null ? (3 + fileId).ToString(Inv) : $"{(3 + fileId).ToString(Inv)}<{path}>";

    private static string Offset(ulong off) => off == 0 ? "0" : "0x" + off.ToString("x", Inv);
}
