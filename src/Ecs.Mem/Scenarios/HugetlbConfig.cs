namespace EcsMem.Scenarios;

/// <summary>
/// The hugetlb pool of the default (2 MiB) hstate: <c>machine.hugetlb.nr_hugepages</c> and
/// <c>machine.hugetlb.nr_overcommit_hugepages</c>, the /proc/sys/vm files of the same names (mm/hugetlb.c).
/// </summary>
/// <param name="NrHugepages">Persistent huge pages allocated at boot (set_max_huge_pages; may get fewer).</param>
/// <param name="NrOvercommitHugepages">Surplus huge pages the pool may allocate beyond them on demand.</param>
public sealed record HugetlbConfig(long NrHugepages = 0, long NrOvercommitHugepages = 0);
