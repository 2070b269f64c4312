namespace EcsMem.Components;

/// <summary>Size of the page a TLB entry maps (x86-64: 4 KiB PTE or 2 MiB PMD leaf).</summary>
public enum PageSizeClass : byte
{
    /// <summary>4 KiB base page: tag = va &gt;&gt; 12.</summary>
    Base4K = 0,
    /// <summary>2 MiB huge page (THP / hugetlbfs): tag = va &gt;&gt; 21.</summary>
    Huge2M = 1,
}
