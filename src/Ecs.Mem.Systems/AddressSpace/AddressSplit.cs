using System.Globalization;
using System.Text;
using EcsMem.Components;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// One field of a virtual address: bits <see cref="High"/>..<see cref="Low"/>. <see cref="Level"/> is the page-table
/// level the field indexes (0 = PTE, Levels-1 = PGD), -1 for the page offset and -2 for the sign-extension bits of
/// a 64-bit address. <see cref="EntrySpan"/> is the bytes one entry of that level's table covers (0 for the others).
/// </summary>
public readonly record struct AddressField(string Name, int High, int Low, ulong Value, int Level, ulong EntrySpan);

/// <summary>
/// A virtual address taken apart the way the MMU walks it: one index per page-table level, named as Linux names
/// the levels (pgd, p4d, pud, pmd, pte), plus the offset within the 4 KiB page; whether it is canonical and on
/// which side of TASK_SIZE it lies. <see cref="Diagram"/> draws the lecture's bit-field figure, <see cref="Describe"/>
/// adds what each index selects.
/// </summary>
public sealed class AddressSplit
{
    private AddressSplit(ulong address, PagingMode mode, IReadOnlyList<AddressField> fields)
    {
        Address = address;
        Mode = mode;
        Fields = fields;
    }

    /// <summary>The address.</summary>
    public ulong Address { get; }

    /// <summary>The paging geometry it was split for.</summary>
    public PagingMode Mode { get; }

    /// <summary>The fields from the most significant bits down: sign extension (64-bit), one per level, offset.</summary>
    public IReadOnlyList<AddressField> Fields { get; }

    /// <summary>The page-table index fields, root (PGD) first.</summary>
    public IEnumerable<AddressField> Indices => Fields.Where(f => f.Level >= 0);

    /// <summary>The offset within the page (bits 11..0).</summary>
    public ulong Offset => Address & (Pte.PageSize - 1);

    /// <summary>
    /// Whether the address can be translated at all: a 32-bit address in 2-level mode; on x86-64 bits 63 down to
    /// the top translated bit (47, or 56 with LA57) all equal (the canonical form).
    /// </summary>
    public bool IsCanonical => IsCanonicalIn(Address, Mode);

    /// <summary>Below TASK_SIZE: an address user space may map.</summary>
    public bool IsUser => Address < Mode.TaskSize;

    /// <summary>Whether <paramref name="mode"/> can express <paramref name="va"/> at all (see <see cref="IsCanonical"/>).</summary>
    public static bool IsCanonicalIn(ulong va, PagingMode mode)
    {
        int bits = mode.VirtualAddressBits;
        if (mode.PointerSize == 4)
        {
            return va >> bits == 0;
        }

        ulong top = va >> (bits - 1); // bit 47 (or 56) and everything above it
        return top == 0 || top == ulong.MaxValue >> (bits - 1);
    }

    /// <summary>The Linux name of a level's table (pgd, p4d, pud, pmd, pte) as an upper-case label.</summary>
    public static string LevelName(PagingMode mode, int level) => (mode.Levels, level) switch
    {
        (_, 0) => "PTE",
        (var n, var l) when l == n - 1 => "PGD",
        (5, 3) => "P4D",
        (_, 2) => "PUD",
        (_, 1) => "PMD",
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, "no such level"),
    };

    /// <summary>What the table of a level is called in the kernel sources.</summary>
    public static string TableName(PagingMode mode, int level) => LevelName(mode, level) switch
    {
        "PGD" => mode.Levels == 2 ? "page directory (pgd, mm->pgd)" : "page global directory (pgd, mm->pgd)",
        "P4D" => "page 4th-level directory (p4d)",
        "PUD" => "page upper directory (pud)",
        "PMD" => "page middle directory (pmd)",
        _ => "page table (pte)",
    };

    /// <summary>Splits <paramref name="va"/> for <paramref name="mode"/>. Throws when the mode cannot express it (a 32-bit mode and a wider address).</summary>
    public static AddressSplit Of(ulong va, PagingMode mode)
    {
        if (mode.PointerSize == 4 && va >> 32 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(va), va, $"0x{va:x} does not fit in 32 bits ({mode.Name})");
        }

        var fields = new List<AddressField>(mode.Levels + 2);
        int width = mode.PointerSize * 8;
        int translated = mode.VirtualAddressBits;
        if (translated < width)
        {
            fields.Add(new AddressField("sign", width - 1, translated, va >> translated, -2, 0));
        }

        for (int level = mode.Levels - 1; level >= 0; level--)
        {
            int low = mode.LevelShift(level);
            fields.Add(new AddressField(LevelName(mode, level), low + mode.BitsPerLevel - 1, low, (ulong)mode.Index(va, level), level, 1UL << low));
        }

        fields.Add(new AddressField("offset", Pte.PageShift - 1, 0, va & (Pte.PageSize - 1), -1, 0));
        return new AddressSplit(va, mode, fields);
    }

    /// <summary>
    /// The bit-field figure: one box per field with its bit range above it and its name, hex and decimal value
    /// inside, e.g. for 0xC0123456 on x86: PGD 0x300 = 768, PTE 0x123 = 291, offset 0x456 = 1110.
    /// </summary>
    public string Diagram()
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        int n = Fields.Count;
        var names = new string[n];
        var hex = new string[n];
        var dec = new string[n];
        var widths = new int[n];
        for (int i = 0; i < n; i++)
        {
            AddressField f = Fields[i];
            int digits = ((f.High - f.Low) / 4) + 1;
            names[i] = f.Level == -2 ? "sign ext." : f.Name;
            hex[i] = "0x" + f.Value.ToString("x" + digits.ToString(inv), inv);
            dec[i] = f.Level == -2 ? (f.Value == 0 ? "all 0" : IsCanonical ? "all 1" : "mixed") : f.Value.ToString(inv);
            string bitsLabel = f.High.ToString(inv) + f.Low.ToString(inv);
            widths[i] = Math.Max(Math.Max(names[i].Length, hex[i].Length), Math.Max(dec[i].Length, bitsLabel.Length + 1)) + 4;
        }

        var sb = new StringBuilder();
        sb.Append(' ');
        for (int i = 0; i < n; i++)
        {
            string hi = Fields[i].High.ToString(inv);
            string lo = Fields[i].Low.ToString(inv);
            sb.Append(hi).Append(' ', widths[i] - hi.Length - lo.Length).Append(lo).Append(' ');
        }

        sb.Length--; // no trailing space
        string rule = Rule(widths);
        sb.Append('\n').Append(rule).Append('\n');
        Row(sb, names, widths);
        Row(sb, hex, widths);
        Row(sb, dec, widths);
        sb.Append(rule).Append('\n');
        return sb.ToString();
    }

    private static string Rule(int[] widths)
    {
        var sb = new StringBuilder("+");
        foreach (int w in widths)
        {
            sb.Append('-', w).Append('+');
        }

        return sb.ToString();
    }

    private static void Row(StringBuilder sb, string[] cells, int[] widths)
    {
        sb.Append('|');
        for (int i = 0; i < cells.Length; i++)
        {
            int left = (widths[i] - cells[i].Length) / 2;
            sb.Append(' ', left).Append(cells[i]).Append(' ', widths[i] - cells[i].Length - left).Append('|');
        }

        sb.Append('\n');
    }

    /// <summary>Where the address lies: canonical or not, user or kernel, as one or two sentences.</summary>
    public string Region()
    {
        string taskSize = Hex(Mode.TaskSize);
        if (!IsCanonical)
        {
            int b = Mode.VirtualAddressBits - 1;
            return $"not canonical: bits 63..{b} are not all equal to bit {b}; any access raises #GP (SIGSEGV for user space, no page walk)";
        }

        if (IsUser)
        {
            return Mode.PointerSize == 4
                ? $"canonical user address: below TASK_SIZE = PAGE_OFFSET {taskSize} (the 3G/1G split: user space is the lower 3 GiB)"
                : $"canonical user address: below TASK_SIZE {taskSize}";
        }

        if (Mode.PointerSize == 4)
        {
            // 3G/1G split: the kernel maps the first 896 MiB of RAM linearly from PAGE_OFFSET (lowmem);
            // high_memory = PAGE_OFFSET + 896 MiB, above it vmalloc, kmap and fixmap.
            const ulong highMemory = 0xC000_0000UL + (896UL << 20);
            return Address < highMemory
                ? $"kernel address (3G/1G split: at or above PAGE_OFFSET {taskSize}): in the direct map of lowmem, __pa = {Hex(Address - Mode.TaskSize)}; no user access"
                : $"kernel address (3G/1G split: at or above PAGE_OFFSET {taskSize}): above high_memory {Hex(highMemory)} (vmalloc, kmap, fixmap); no user access";
        }

        ulong half = 1UL << (Mode.VirtualAddressBits - 1);
        return Address < half
            ? $"user half but at or above TASK_SIZE {taskSize}: the guard page below the non-canonical hole, never mapped"
            : $"canonical kernel address (upper half, from {Hex(~(half - 1))}); no user access";
    }

    /// <summary>The figure, the region and one line per field saying what it selects.</summary>
    public string Describe()
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("address ").Append(Hex(Address)).Append(" in ").Append(Mode.Name).Append(" (")
          .Append(Mode.Levels.ToString(inv)).Append("-level paging, ").Append(Mode.VirtualAddressBits.ToString(inv))
          .Append("-bit virtual addresses, ").Append(string.Join(" + ", Fields.Where(f => f.Level != -2).Select(f => (f.High - f.Low + 1).ToString(inv))))
          .Append(" bits)\n\n");
        sb.Append(Diagram()).Append('\n');
        sb.Append(Region()).Append('\n');
        foreach (AddressField f in Fields)
        {
            if (f.Level == -2)
            {
                continue;
            }

            string name = f.Name;
            if (f.Level >= 0)
            {
                string what = f.Level == Mode.Levels - 1
                    ? "of the " + TableName(Mode, f.Level)
                    : "of the " + TableName(Mode, f.Level) + " the " + LevelName(Mode, f.Level + 1) + " entry points to";
                string covers = f.Level == 0
                    ? "maps one " + Size(f.EntrySpan) + " page"
                    : "covers " + Size(f.EntrySpan);
                sb.Append("  ").Append(name.PadRight(6)).Append(" index ").Append(f.Value.ToString(inv).PadLeft(4))
                  .Append(": entry ").Append(f.Value.ToString(inv)).Append(' ').Append(what)
                  .Append(" (").Append(Mode.EntriesPerTable.ToString(inv)).Append(" entries; each ").Append(covers).Append(")\n");
            }
            else
            {
                sb.Append("  ").Append(name.PadRight(6)).Append("       ").Append(Hex(f.Value).PadLeft(5))
                  .Append(" = ").Append(f.Value.ToString(inv)).Append(": byte ").Append(f.Value.ToString(inv))
                  .Append(" of the ").Append(Size(Pte.PageSize)).Append(" page (physical address = frame << 12 | offset)\n");
            }
        }

        return sb.ToString();
    }

    /// <summary>0x followed by lower-case hex digits.</summary>
    public static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>A power-of-two size in the largest binary unit that divides it: 4 KiB, 2 MiB, 512 GiB, 256 TiB.</summary>
    public static string Size(ulong bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        int u = 0;
        while (u < units.Length - 1 && bytes >= 1024 && bytes % 1024 == 0)
        {
            bytes /= 1024;
            u++;
        }

        return bytes.ToString(CultureInfo.InvariantCulture) + " " + units[u];
    }
}
