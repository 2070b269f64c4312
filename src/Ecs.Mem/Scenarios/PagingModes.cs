namespace EcsMem.Scenarios;

/// <summary>Facts about each <see cref="PagingMode"/> the parser needs to validate addresses.</summary>
public static class PagingModes
{
    /// <summary>The spelling used in scenario files.</summary>
    public static string Name(this PagingMode mode) => mode switch
    {
        PagingMode.X86 => "x86",
        PagingMode.X86_64 => "x86-64",
        _ => "x86-64-la57",
    };

    /// <summary>Number of page-table levels a walk reads.</summary>
    public static int Levels(this PagingMode mode) => (int)mode;

    /// <summary>
    /// One past the highest user-space address, as Linux lays them out: 3 GiB for the default 3G/1G split
    /// on 32-bit (TASK_SIZE = PAGE_OFFSET), and the lower canonical half minus one guard page on x86-64
    /// (TASK_SIZE_MAX = 2^47 - 4096, or 2^56 - 4096 with LA57).
    /// </summary>
    public static ulong UserAddressLimit(this PagingMode mode) => mode switch
    {
        PagingMode.X86 => 0xC000_0000UL,
        PagingMode.X86_64 => (1UL << 47) - 4096,
        _ => (1UL << 56) - 4096,
    };

    /// <summary>Largest physical memory the mode can address (32-bit without PAE sees 4 GiB).</summary>
    public static long MaxPhysicalBytes(this PagingMode mode) => mode == PagingMode.X86 ? 1L << 32 : 1L << 52;
}
