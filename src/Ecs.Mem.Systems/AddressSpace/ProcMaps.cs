using System.Globalization;
using System.Text;
using EcsMem.Components;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// /proc/&lt;pid&gt;/maps: prints an address space exactly as Linux's show_map_vma does and reads a real maps
/// file back into VMAs. Line format: <c>%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu </c>; when the area has a
/// name the line is padded with spaces to 25 + 6 * sizeof(void*) - 1 characters (seq_pad), one more space is
/// written, then the name. Anonymous lines end with the space after the inode. The offset is vm_pgoff in
/// bytes for file mappings and 0 otherwise. The x86-64 [vsyscall] gate area lies above TASK_SIZE and is not a
/// VMA in Linux either: it is kept in <see cref="Mm.GateVma"/>, printed last, never returned by FindVma.
/// </summary>
public static class ProcMaps
{
    /// <summary>Name Linux gives the x86-64 legacy vsyscall page.</summary>
    public const string VsyscallName = "[vsyscall]";

    /// <summary>Column the name is padded to: 25 + sizeof(void*) * 6 - 1 (72 on 64-bit, 48 on 32-bit kernels).</summary>
    public static int PadWidth(int pointerSize) => 25 + (pointerSize * 6) - 1;

    /// <summary>The whole maps file of an address space.</summary>
    public static string Format(Mm mm)
    {
        var sb = new StringBuilder(mm.Vmas.Count * 100);
        Write(sb, mm);
        return sb.ToString();
    }

    /// <summary>Appends the maps file of an address space (show_map for each VMA, then the gate area).</summary>
    public static void Write(StringBuilder sb, Mm mm)
    {
        int ptr = mm.Mode.PointerSize;
        foreach (ref readonly Vma v in mm.Vmas)
        {
            WriteVma(sb, v, mm.Files, ptr);
        }

        if (mm.GateVma is Vma gate)
        {
            WriteVma(sb, gate, mm.Files, ptr);
        }
    }

    /// <summary>show_map_vma: one line for one VMA, newline included.</summary>
    public static void WriteVma(StringBuilder sb, in Vma v, FileTable files, int pointerSize)
    {
        int lineStart = sb.Length;
        ulong pgoff = 0;
        uint major = 0, minor = 0;
        ulong inode = 0;
        string name = NameOf(v, files);
        if ((v.Flags & VmFlags.HugeTlb) != 0)
        {
            // The unlinked hugetlbfs file: a file mapping to Linux, so its offset shows (a split's upper part starts
            // past 0). Its device and inode (the internal hugetlbfs mount's) are printed as 0, like shmem's inode.
            pgoff = v.PgOff << Pte.PageShift;
        }
        else if (IsSharedAnon(v))
        {
            // shmem_zero_setup's object lives on the internal shm mount (device 00:01); its inode number is
            // get_next_ino's, which differs run to run on Linux, so EcsMem prints 0 (a simplification). Its offset
            // is the area's vm_pgoff: 0 where the mmap made it, the page offset into the object after a split.
            minor = 1;
            pgoff = v.PgOff << Pte.PageShift;
        }
        else if (v.Kind == VmaKind.File || v.Kind == VmaKind.Special)
        {
            MappedFile f = files[v.FileId];
            major = f.Major;
            minor = f.Minor;
            inode = f.Inode;
            pgoff = v.PgOff << Pte.PageShift;
        }

        CultureInfo inv = CultureInfo.InvariantCulture;
        sb.Append(v.Start.ToString("x8", inv)).Append('-').Append(v.End.ToString("x8", inv)).Append(' ');
        sb.Append((v.Flags & VmFlags.Read) != 0 ? 'r' : '-');
        sb.Append((v.Flags & VmFlags.Write) != 0 ? 'w' : '-');
        sb.Append((v.Flags & VmFlags.Exec) != 0 ? 'x' : '-');
        sb.Append((v.Flags & VmFlags.MayShare) != 0 ? 's' : 'p');
        sb.Append(' ').Append(pgoff.ToString("x8", inv));
        sb.Append(' ').Append(major.ToString("x2", inv)).Append(':').Append(minor.ToString("x2", inv));
        sb.Append(' ').Append(inode.ToString(inv)).Append(' ');
        if (name.Length > 0)
        {
            int pad = PadWidth(pointerSize) - (sb.Length - lineStart);
            if (pad > 0)
            {
                sb.Append(' ', pad);
            }

            sb.Append(' ').Append(name);
        }

        sb.Append('\n');
    }

    /// <summary>The name column: the file path, [heap], [stack], the special mapping's name, or empty.</summary>
    public static string NameOf(in Vma v, FileTable files) => v.Kind switch
    {
        VmaKind.Heap => "[heap]",
        VmaKind.Stack => "[stack]",
        VmaKind.File or VmaKind.Special => files[v.FileId].Path,
        _ when (v.Flags & VmFlags.HugeTlb) != 0 => HugetlbAnonName,
        _ when IsSharedAnon(v) => SharedAnonName,
        _ => string.Empty,
    };

    /// <summary>The maps name of a MAP_HUGETLB mapping (private or shared): hugetlb_file_setup's unlinked "anon_hugepage" file.</summary>
    public const string HugetlbAnonName = "/anon_hugepage (deleted)";

    /// <summary>The maps name of a MAP_SHARED|MAP_ANONYMOUS mapping: shmem_zero_setup's unlinked "dev/zero" file.</summary>
    public const string SharedAnonName = "/dev/zero (deleted)";

    /// <summary>A MAP_SHARED|MAP_ANONYMOUS mapping (vma_is_anonymous is false for it in Linux: it is shmem).</summary>
    public static bool IsSharedAnon(in Vma v) => v.Kind == VmaKind.Anonymous && (v.Flags & VmFlags.MayShare) != 0;

    /// <summary>Longest maps line accepted (a real one is at most ~73 characters plus a PATH_MAX path).</summary>
    public const int MaxLineChars = 1 << 16;

    /// <summary>Largest maps file read: 64 MiB (max_map_count lines of 1 KiB on average; a real one is a few MiB at most).</summary>
    public const int MaxFileChars = 64 << 20;

    /// <summary>Reads at most <see cref="MaxFileChars"/> characters, so a huge file (or /dev/zero) fails early, not after filling memory.</summary>
    private static string ReadBounded(string path)
    {
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var buffer = new char[1 << 16];
        var sb = new System.Text.StringBuilder();
        int n;
        while ((n = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (sb.Length + n > MaxFileChars)
                throw new InputException(path, 0, path,
                    $"maps file larger than {MaxFileChars >> 20} MiB (the limit for a maps file)");
            sb.Append(buffer, 0, n);
        }
        return sb.ToString();
    }

    /// <summary>Reads a maps file from disk (see <see cref="Parse"/>).</summary>
    public static Mm ParseFile(string path, FileTable files, PagingMode? mode = null, int mmId = 0)
    {
        string text;
        try
        {
            text = ReadBounded(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(path, 0, path, $"cannot read maps file: {e.Message}");
        }

        return Parse(path, text, files, mode, mmId);
    }

    /// <summary>
    /// Parses maps text into a fresh address space, one VMA per line with no merging, so printing it again
    /// reproduces the input. Flags come from rwx and p/s (plus VM_MAY*, VM_ACCOUNT for private writable
    /// areas and VM_GROWSDOWN for [stack]). Without <paramref name="mode"/> the paging mode is 32-bit when
    /// every address fits in 32 bits, 5-level when an area lies above the 4-level TASK_SIZE, else 4-level.
    /// Bad lines, unsorted or overlapping areas throw <see cref="InputException"/> with file, line and text.
    /// </summary>
    public static Mm Parse(string source, string text, FileTable files, PagingMode? mode = null, int mmId = 0)
    {
        var lines = new List<ParsedLine>();
        int lineNo = 0;
        int pos = 0;
        while (pos < text.Length)
        {
            int nl = text.IndexOf('\n', pos);
            string line = nl < 0 ? text[pos..] : text[pos..nl];
            pos = nl < 0 ? text.Length : nl + 1;
            lineNo++;
            if (line.Length == 0)
            {
                continue;
            }
            if (line.Length > MaxLineChars)
                throw new InputException(source, lineNo, line[..80], $"line longer than {MaxLineChars} characters (a maps line is at most ~4200)");
            if (lines.Count == Mm.DefaultMaxMapCount)
                throw new InputException(source, lineNo, line,
                    $"more than {Mm.DefaultMaxMapCount} areas: Linux's vm.max_map_count lets no process have more VMAs");

            lines.Add(ParseLine(source, lineNo, line));
        }

        if (mode is null)
        {
            ulong maxEnd = 0;
            foreach (ParsedLine p in lines)
            {
                if (p.Name != VsyscallName)
                {
                    maxEnd = Math.Max(maxEnd, p.End);
                }
            }

            mode = maxEnd <= 0x1_0000_0000UL ? PagingMode.X86_32
                : maxEnd > PagingMode.X86_64.TaskSize ? PagingMode.X86_64_5Level
                : PagingMode.X86_64;
        }

        var mm = new Mm(mmId, mode, files);
        ulong prevStart = 0, prevEnd = 0;
        bool first = true;
        foreach (ParsedLine p in lines)
        {
            if (mm.GateVma is not null)
            {
                throw new InputException(source, p.LineNo, p.Text, $"VMA after {VsyscallName}; the gate area must be the last line");
            }

            if (!first && p.Start < prevStart)
            {
                throw new InputException(source, p.LineNo, p.Text, $"VMAs are not sorted: starts below the previous VMA's start 0x{prevStart:x}");
            }

            if (!first && p.Start < prevEnd)
            {
                throw new InputException(source, p.LineNo, p.Text, $"VMA overlaps the previous VMA ending at 0x{prevEnd:x}");
            }

            first = false;
            prevStart = p.Start;
            prevEnd = p.End;
            Vma v = ToVma(p, files, mmId, mode);
            if (p.Name == VsyscallName)
            {
                mm.GateVma = v;
                continue;
            }

            if (p.End > mode.TaskSize)
            {
                throw new InputException(source, p.LineNo, p.Text, $"VMA ends above TASK_SIZE 0x{mode.TaskSize:x} of {mode.Name}");
            }

            mm.Vmas.Insert(v);
            mm.Struct.MapCount++;
            mm.VmStatAccount(v.Flags, (long)v.Pages);
            if (v.Kind == VmaKind.Heap)
            {
                mm.Struct.StartBrk = v.Start;
                mm.Struct.Brk = v.End;
            }
            else if (v.Kind == VmaKind.Stack)
            {
                mm.Struct.StartStack = v.Start;
            }
        }

        mm.Struct.VmaSeq = mm.Vmas.Seq;
        return mm;
    }

    private static Vma ToVma(in ParsedLine p, FileTable files, int mmId, PagingMode mode)
    {
        VmFlags flags = p.Flags | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;
        var v = new Vma { Start = p.Start, End = p.End, MmId = mmId, FileId = -1 };
        if (p.Name == "[heap]")
        {
            v.Kind = VmaKind.Heap;
        }
        else if (p.Name == "[stack]")
        {
            v.Kind = VmaKind.Stack;
            flags |= VmFlags.GrowsDown;
        }
        else if (p.Name.Length == 0 && p.Major == 0 && p.Minor == 0 && p.Inode == 0 && p.Offset == 0)
        {
            v.Kind = VmaKind.Anonymous;
        }
        else if (p.Name.StartsWith('[') && p.Name.EndsWith(']') && p.Major == 0 && p.Minor == 0 && p.Inode == 0)
        {
            v.Kind = VmaKind.Special;
            v.FileId = files.Intern(p.Name);
            v.PgOff = p.Offset >> Pte.PageShift;
        }
        else
        {
            v.Kind = VmaKind.File;
            v.FileId = files.Intern(p.Name, p.Major, p.Minor, p.Inode);
            v.PgOff = p.Offset >> Pte.PageShift;
        }

        if (v.Kind is VmaKind.Anonymous or VmaKind.Heap or VmaKind.Stack)
        {
            v.PgOff = p.Start >> Pte.PageShift;
        }

        if ((flags & (VmFlags.Write | VmFlags.MayShare)) == VmFlags.Write)
        {
            flags |= VmFlags.Account;
        }

        v.Flags = flags;
        v.PageProt = Pte.ProtFromVmFlags(flags, mode);
        return v;
    }

    private static ParsedLine ParseLine(string source, int lineNo, string line)
    {
        // Five space-separated fields, then optional padding and the name (which may itself contain spaces).
        int p = 0;
        string range = NextField(line, ref p);
        string perms = NextField(line, ref p);
        string offset = NextField(line, ref p);
        string dev = NextField(line, ref p);
        string inode = NextField(line, ref p);
        if (inode.Length == 0)
        {
            throw new InputException(source, lineNo, line, "expected 'start-end perms offset major:minor inode [name]'");
        }

        while (p < line.Length && line[p] == ' ')
        {
            p++;
        }

        string name = line[p..];

        int dash = range.IndexOf('-');
        if (dash <= 0 || !TryHex(range.AsSpan(0, dash), out ulong start) || !TryHex(range.AsSpan(dash + 1), out ulong end))
        {
            throw new InputException(source, lineNo, line, $"bad hexadecimal address range '{range}'");
        }

        if (end <= start)
        {
            throw new InputException(source, lineNo, line, "VMA end is not above its start");
        }

        if (((start | end) & ~Pte.PageMask) != 0)
        {
            throw new InputException(source, lineNo, line, "VMA bounds are not page aligned");
        }

        if (perms.Length != 4
            || (perms[0] != 'r' && perms[0] != '-')
            || (perms[1] != 'w' && perms[1] != '-')
            || (perms[2] != 'x' && perms[2] != '-')
            || (perms[3] != 'p' && perms[3] != 's'))
        {
            throw new InputException(source, lineNo, line, $"bad permissions '{perms}', expected [r-][w-][x-][ps]");
        }

        if (!TryHex(offset, out ulong off))
        {
            throw new InputException(source, lineNo, line, $"bad hexadecimal offset '{offset}'");
        }

        if ((off & ~Pte.PageMask) != 0)
        {
            throw new InputException(source, lineNo, line, $"offset '{offset}' is not page aligned");
        }

        int colon = dev.IndexOf(':');
        if (colon <= 0 || !TryHex(dev.AsSpan(0, colon), out ulong major) || !TryHex(dev.AsSpan(colon + 1), out ulong minor)
            || major > uint.MaxValue || minor > uint.MaxValue)
        {
            throw new InputException(source, lineNo, line, $"bad device '{dev}', expected major:minor in hexadecimal");
        }

        if (!ulong.TryParse(inode, NumberStyles.None, CultureInfo.InvariantCulture, out ulong ino))
        {
            throw new InputException(source, lineNo, line, $"bad inode number '{inode}'");
        }

        VmFlags flags = VmFlags.None;
        if (perms[0] == 'r')
        {
            flags |= VmFlags.Read;
        }

        if (perms[1] == 'w')
        {
            flags |= VmFlags.Write;
        }

        if (perms[2] == 'x')
        {
            flags |= VmFlags.Exec;
        }

        if (perms[3] == 's')
        {
            // Linux keeps VM_SHARED only on writable shared mappings; VM_MAYSHARE is what prints 's'.
            flags |= VmFlags.MayShare | (perms[1] == 'w' ? VmFlags.Shared : VmFlags.None);
        }

        return new ParsedLine(lineNo, line, start, end, flags, off, (uint)major, (uint)minor, ino, name);
    }

    private static string NextField(string line, ref int p)
    {
        int start = p;
        while (p < line.Length && line[p] != ' ')
        {
            p++;
        }

        string field = line[start..p];
        if (p < line.Length)
        {
            p++;
        }

        return field;
    }

    private static bool TryHex(ReadOnlySpan<char> s, out ulong value)
    {
        value = 0;
        return s.Length is > 0 and <= 16 && ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private readonly record struct ParsedLine(int LineNo, string Text, ulong Start, ulong End, VmFlags Flags, ulong Offset, uint Major, uint Minor, ulong Inode, string Name);
}
