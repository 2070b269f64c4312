using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace EcsMem.Traces;

/// <summary>What a path names on disk, following symbolic links.</summary>
public enum FileKind { Missing, Regular, Directory, CharDevice, BlockDevice, Fifo, Socket, Other }

/// <summary>
/// The file system's view of a path: its kind (regular file, device, FIFO, ...) and identity (device and inode
/// numbers), so two paths naming the same file (through symbolic links, <c>..</c> or hard links) are recognised.
/// On Linux this is <c>statx(2)</c>, whose structure is the same on every architecture; elsewhere only the kind is
/// known (from .NET), and sameness falls back to comparing real paths.
/// </summary>
public static class FileIdentity
{
    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;
    private static bool _statxMissing = !OperatingSystem.IsLinux();

    /// <summary>The kind of file <paramref name="path"/> names (symbolic links followed); Missing when there is none.</summary>
    public static FileKind KindOf(string path) => Stat(path, out FileKind kind, out _) ? kind : FallbackKind(path);

    /// <summary>(device, inode) of the file <paramref name="path"/> names, or null when it does not exist or is unknown.</summary>
    public static (ulong Device, ulong Inode)? IdOf(string path) =>
        Stat(path, out FileKind kind, out var id) && kind != FileKind.Missing ? id : null;

    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> name the same file: the same (device, inode) when both
    /// exist, else the same real path (<see cref="RealPath"/>).
    /// </summary>
    public static bool Same(string a, string b)
    {
        if (IdOf(a) is { } ia && IdOf(b) is { } ib) return ia == ib;
        string? ra = RealPath(a), rb = RealPath(b);
        return ra is not null && rb is not null && string.Equals(ra, rb, StringComparison.Ordinal);
    }

    /// <summary>
    /// The absolute path with every symbolic link (in any component, followed as the kernel does: a link's
    /// target is resolved before a following <c>..</c>) and every <c>.</c>/<c>..</c> resolved; a missing tail is kept
    /// as written. Null when the path is invalid or has a link loop (more than 40 links).
    /// </summary>
    public static string? RealPath(string path)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return full;
        var pending = new Stack<string>(full.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var done = new List<string>();
        int links = 0;
        bool missing = false;
        while (pending.Count > 0)
        {
            string c = pending.Pop();
            if (c == ".") continue;
            if (c == "..")
            {
                if (done.Count > 0) done.RemoveAt(done.Count - 1);
                continue;
            }
            string candidate = "/" + string.Join('/', done.Append(c));
            string? target = null;
            if (!missing)
            {
                try
                {
                    var info = new FileInfo(candidate);
                    if (!info.Exists && !Directory.Exists(candidate) && info.LinkTarget is null) missing = true;
                    target = info.LinkTarget;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    missing = true;
                }
            }
            if (target is null)
            {
                done.Add(c);
                continue;
            }
            if (++links > 40) return null;
            if (target.StartsWith('/')) done.Clear();
            foreach (string t in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                pending.Push(t);
        }
        return "/" + string.Join('/', done);
    }

    /// <summary>
    /// The path a write to <paramref name="path"/> really lands on: symbolic links of the last component
    /// followed (to a missing target too, as <c>open(O_CREAT)</c> does), so writing through a link replaces the
    /// target's content, never the link. Null on a link loop.
    /// </summary>
    public static string? FollowLinks(string path)
    {
        string current = path;
        for (int i = 0; i <= 40; i++)
        {
            string? target;
            try
            {
                target = new FileInfo(current).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return current;
            }
            if (target is null) return current;
            current = Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(current)) ?? "/", target);
        }
        return null;
    }

    private static FileKind FallbackKind(string path)
    {
        if (Directory.Exists(path)) return FileKind.Directory;
        return File.Exists(path) ? FileKind.Regular : FileKind.Missing;
    }

    private static bool Stat(string path, out FileKind kind, out (ulong, ulong) id)
    {
        kind = FileKind.Missing;
        id = default;
        if (_statxMissing) return false;
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        byte[] buf = new byte[256];
        int rc;
        try
        {
            rc = statx(AtFdCwd, name, 0, StatxBasicStats, buf);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _statxMissing = true;
            return false;
        }
        if (rc != 0)
        {
            // ENOENT / ENOTDIR: nothing there. Other errors (EACCES, ...): unknown, let the caller fall back.
            int errno = Marshal.GetLastPInvokeError();
            return errno is 2 or 20;
        }
        ushort mode = BinaryPrimitives.ReadUInt16LittleEndian(buf.AsSpan(28));
        ulong ino = BinaryPrimitives.ReadUInt64LittleEndian(buf.AsSpan(32));
        uint devMajor = BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(136));
        uint devMinor = BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(140));
        kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x2000 => FileKind.CharDevice,
            0x6000 => FileKind.BlockDevice,
            0x1000 => FileKind.Fifo,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
        id = (((ulong)devMajor << 32) | devMinor, ino);
        return true;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, byte[] pathname, int flags, uint mask, byte[] statxbuf);
}
