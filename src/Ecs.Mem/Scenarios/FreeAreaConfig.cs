namespace EcsMem.Scenarios;

/// <summary>
/// <c>machine.free_area</c>: the free blocks the machine starts with, per order 0..10, as a line of /proc/buddyinfo
/// gives them (free_area[order].nr_free), so a run can start from a long-running machine's fragmented free lists
/// instead of a fresh boot's. The blocks are placed at random (machine.seed) and every other page is held by the
/// machine's other users (docs/physical.md, "An aged machine's free lists"). <c>machine.free_area_cache</c> makes some
/// of the held pages clean, unmapped page cache of a file no process has open (<see cref="InactiveFile"/>,
/// <see cref="ActiveFile"/>), which reclaim may take as on a real aged machine.
/// </summary>
/// <param name="Blocks">Free blocks of each order, index = order (11 entries).</param>
public sealed record FreeAreaConfig(IReadOnlyList<long> Blocks)
{
    /// <summary>Number of counts: orders 0..MAX_PAGE_ORDER (10), /proc/buddyinfo's columns.</summary>
    public const int Orders = 11;

    /// <summary>Held pages that start as clean page cache on the inactive file LRU (<c>machine.free_area_cache.inactive_file</c>).</summary>
    public long InactiveFile { get; init; }

    /// <summary>Held pages that start as clean page cache on the active file LRU (<c>machine.free_area_cache.active_file</c>).</summary>
    public long ActiveFile { get; init; }

    /// <summary>Held pages that start as page cache (<see cref="InactiveFile"/> + <see cref="ActiveFile"/>).</summary>
    public long CachePages => InactiveFile + ActiveFile;

    /// <summary>Free pages the blocks hold.</summary>
    public long FreePages
    {
        get
        {
            long n = 0;
            for (int k = 0; k < Blocks.Count; k++)
                n += Blocks[k] << k;
            return n;
        }
    }

    /// <summary>Equal counts (a record compares its list by reference otherwise).</summary>
    public bool Equals(FreeAreaConfig? other) =>
        other is not null && Blocks.SequenceEqual(other.Blocks) && InactiveFile == other.InactiveFile && ActiveFile == other.ActiveFile;

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(InactiveFile);
        h.Add(ActiveFile);
        foreach (long b in Blocks)
            h.Add(b);
        return h.ToHashCode();
    }
}
