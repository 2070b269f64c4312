namespace EcsMem.Scenarios;

/// <summary>/sys/kernel/mm/transparent_hugepage/enabled: when anonymous faults may map PMD-sized pages.</summary>
public enum ThpEnabled : byte
{
    /// <summary><c>always</c>: every VMA that may (not VM_NOHUGEPAGE).</summary>
    Always,
    /// <summary><c>madvise</c>: only VMAs with MADV_HUGEPAGE (VM_HUGEPAGE); the default of these machines and of most distributions.</summary>
    Madvise,
    /// <summary><c>never</c>: no THP at all.</summary>
    Never,
}

/// <summary>
/// /sys/kernel/mm/transparent_hugepage/defrag: what a THP fault may do when no order-9 block is free at once
/// (vma_thp_gfp_mask): stall in direct reclaim/compaction, or wake kswapd/kcompactd and fall back.
/// </summary>
public enum ThpDefrag : byte
{
    /// <summary><c>always</c>: direct reclaim and compaction for every THP fault.</summary>
    Always,
    /// <summary><c>defer</c>: wake kswapd/kcompactd, fall back at once.</summary>
    Defer,
    /// <summary><c>defer+madvise</c>: direct for VM_HUGEPAGE areas, deferred for the others.</summary>
    DeferMadvise,
    /// <summary><c>madvise</c>: direct for VM_HUGEPAGE areas, nothing for the others (the default).</summary>
    Madvise,
    /// <summary><c>never</c>: neither.</summary>
    Never,
}

/// <summary>The <c>machine.thp</c> section: transparent huge page settings as /sys/kernel/mm/transparent_hugepage/ has them.</summary>
/// <param name="Enabled">transparent_hugepage/enabled.</param>
/// <param name="Defrag">transparent_hugepage/defrag.</param>
/// <param name="UseZeroPage">transparent_hugepage/use_zero_page: a read fault maps the huge zero page.</param>
public readonly record struct ThpConfig(ThpEnabled Enabled, ThpDefrag Defrag, bool UseZeroPage)
{
    /// <summary>transparent_hugepage/khugepaged/: the collapse thread's knobs (<c>machine.thp.khugepaged</c>).</summary>
    public KhugepagedConfig Khugepaged { get; init; } = KhugepagedConfig.Default;

    /// <summary>
    /// transparent_hugepage/hugepages-&lt;size&gt;kB/enabled for the anonymous sizes below PMD size (<c>machine.thp.sizes</c>,
    /// mTHP): one bit per order (bit 2 = 16K ... bit 8 = 1M) in the mask of the mode it is set to (huge_anon_orders_always,
    /// _madvise, _inherit); an order in none of them is <c>never</c>, Linux's default and this machine's. The PMD size
    /// (2048kB) stays <c>inherit</c>: <see cref="Enabled"/> governs it.
    /// </summary>
    public ushort AnonOrdersAlways { get; init; }

    /// <summary>huge_anon_orders_madvise: the orders set to <c>madvise</c> (VM_HUGEPAGE areas only).</summary>
    public ushort AnonOrdersMadvise { get; init; }

    /// <summary>huge_anon_orders_inherit: the orders set to <c>inherit</c> (follow <see cref="Enabled"/>).</summary>
    public ushort AnonOrdersInherit { get; init; }

    /// <summary>The sub-PMD sizes <c>machine.thp.sizes</c> takes, order 2 (16K) first: order = index + 2 (order 1 is not for anonymous memory).</summary>
    public static readonly string[] SizeNames = ["16K", "32K", "64K", "128K", "256K", "512K", "1M"];

    /// <summary>The lowest mTHP order (16 KiB): THP_ORDERS_ALL_ANON leaves out orders 0 and 1.</summary>
    public const int MinAnonOrder = 2;

    /// <summary>The per-size modes, as the hugepages-&lt;size&gt;kB/enabled file names them.</summary>
    public static readonly string[] SizeModeNames = ["always", "inherit", "madvise", "never"];

    /// <summary>Whether any sub-PMD anonymous size is enabled at all (not every one <c>never</c>).</summary>
    public bool AnyMthp => (AnonOrdersAlways | AnonOrdersMadvise | AnonOrdersInherit) != 0;

    /// <summary>Linux's defaults with CONFIG_TRANSPARENT_HUGEPAGE_MADVISE (and this machine's settings).</summary>
    public static readonly ThpConfig Default = new(ThpEnabled.Madvise, ThpDefrag.Madvise, true);

    /// <summary>The names the sysfs files and the scenario use, in enum order.</summary>
    public static readonly string[] EnabledNames = ["always", "madvise", "never"];

    /// <summary>The defrag names, in enum order.</summary>
    public static readonly string[] DefragNames = ["always", "defer", "defer+madvise", "madvise", "never"];
}
