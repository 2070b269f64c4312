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

    /// <summary>Linux's defaults with CONFIG_TRANSPARENT_HUGEPAGE_MADVISE (and this machine's settings).</summary>
    public static readonly ThpConfig Default = new(ThpEnabled.Madvise, ThpDefrag.Madvise, true);

    /// <summary>The names the sysfs files and the scenario use, in enum order.</summary>
    public static readonly string[] EnabledNames = ["always", "madvise", "never"];

    /// <summary>The defrag names, in enum order.</summary>
    public static readonly string[] DefragNames = ["always", "defer", "defer+madvise", "madvise", "never"];
}
