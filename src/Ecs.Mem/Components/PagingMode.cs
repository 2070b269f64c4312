namespace EcsMem.Components;

/// <summary>
/// Geometry of an x86 paging mode: how many table levels, how many index bits per level, where user
/// space ends (TASK_SIZE) and where exec puts the text. Three fixed instances mirror the kernel configs
/// the lecture discusses: 32-bit 2-level (3G/1G split), x86-64 4-level (47-bit user space) and 5-level (56-bit).
/// </summary>
public sealed class PagingMode
{
    private PagingMode(string name, int levels, int bitsPerLevel, ulong taskSize, int pointerSize, ulong textStart, bool hasNx)
    {
        Name = name;
        HasNx = hasNx;
        Levels = levels;
        BitsPerLevel = bitsPerLevel;
        TaskSize = taskSize;
        PointerSize = pointerSize;
        TextStart = textStart;
    }

    /// <summary>x86 32-bit without PAE: 10/10/12 split, TASK_SIZE = PAGE_OFFSET = 0xC0000000 (3G/1G).</summary>
    public static PagingMode X86_32 { get; } = new("x86-32", 2, 10, 0xC000_0000UL, 4, 0x0804_8000UL, hasNx: false);

    /// <summary>x86-64 4-level: 9/9/9/9/12, TASK_SIZE_MAX = 2^47 - one page = 0x7ffffffff000.</summary>
    public static PagingMode X86_64 { get; } = new("x86-64", 4, 9, 0x0000_7fff_ffff_f000UL, 8, 0x40_0000UL, hasNx: true);

    /// <summary>x86-64 5-level (LA57): 9/9/9/9/9/12, TASK_SIZE = 2^56 - one page = 0x00fffffffffff000.</summary>
    public static PagingMode X86_64_5Level { get; } = new("x86-64-la57", 5, 9, 0x00ff_ffff_ffff_f000UL, 8, 0x40_0000UL, hasNx: true);

    /// <summary>
    /// Whether PTEs have the no-execute bit. 2-level 32-bit paging has 32-bit PTEs and no NX (Linux defines
    /// _PAGE_NX as 0 without PAE), so there every readable page is executable and a fetch is just a read.
    /// </summary>
    public bool HasNx { get; }

    /// <summary>Human-readable name, also accepted by <see cref="Parse"/>.</summary>
    public string Name { get; }
    /// <summary>Number of table levels (2, 4 or 5).</summary>
    public int Levels { get; }
    /// <summary>Index bits per level (10 for 32-bit, 9 for 64-bit).</summary>
    public int BitsPerLevel { get; }
    /// <summary>End of user space; exec puts the stack top here (STACK_TOP without randomisation).</summary>
    public ulong TaskSize { get; }
    /// <summary>sizeof(void*) of the modelled kernel; sets the /proc/pid/maps padding width.</summary>
    public int PointerSize { get; }
    /// <summary>Where a non-PIE executable's text is linked (ELF_ET_DYN_BASE not involved).</summary>
    public ulong TextStart { get; }
    /// <summary>Page size shift (4 KiB pages in all modes).</summary>
    public int PageShift => Pte.PageShift;
    /// <summary>Entries per page-table page (PTRS_PER_PTE).</summary>
    public int EntriesPerTable => 1 << BitsPerLevel;
    /// <summary>Bits of virtual address translated by the tables.</summary>
    public int VirtualAddressBits => PageShift + (Levels * BitsPerLevel);

    /// <summary>Right shift of the address that yields the index at <paramref name="level"/> (0 = PTE level, Levels-1 = PGD).</summary>
    public int LevelShift(int level) => PageShift + (level * BitsPerLevel);

    /// <summary>Index of <paramref name="va"/> inside the table at <paramref name="level"/>.</summary>
    public int Index(ulong va, int level) => (int)((va >> LevelShift(level)) & (ulong)(EntriesPerTable - 1));

    /// <summary>Looks a mode up by <see cref="Name"/> or a short alias (32, 64, 4level, 5level, la57).</summary>
    public static PagingMode? Parse(string text) => text.ToLowerInvariant() switch
    {
        "x86-32" or "32" or "i386" or "2level" => X86_32,
        "x86-64" or "64" or "4level" => X86_64,
        "x86-64-la57" or "la57" or "5level" => X86_64_5Level,
        _ => null,
    };

    public override string ToString() => Name;
}
