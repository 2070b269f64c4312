using System.Globalization;
using System.Text;

namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// Linux's two external-fragmentation measures from mm/vmstat.c, with the kernel's integer arithmetic so the
/// values equal what <c>/sys/kernel/debug/extfrag/unusable_index</c> and <c>extfrag_index</c> print. Both are
/// returned in thousandths (the kernel prints them as <c>index/1000 "." index%1000</c>).
/// </summary>
/// <remarks>
/// Both start from fill_contig_page_info() for a requested order r, over the per-order free counts n[k]:
/// free_pages = Σ n[k]·2^k, free_blocks_total = Σ n[k], free_blocks_suitable = Σ_{k≥r} n[k]·2^(k-r)
/// (how many order-r blocks the free memory could supply without compaction).
/// </remarks>
public static class FragmentationIndex
{
    /// <summary>fill_contig_page_info(): the three sums above.</summary>
    public static (long FreePages, long FreeBlocksTotal, long FreeBlocksSuitable) ContigPageInfo(
        ReadOnlySpan<long> nrFree, int order)
    {
        long pages = 0, total = 0, suitable = 0;
        for (int k = 0; k < nrFree.Length; k++)
        {
            long blocks = nrFree[k];
            total += blocks;
            pages += blocks << k;
            if (k >= order)
                suitable += blocks << (k - order);
        }
        return (pages, total, suitable);
    }

    /// <summary>
    /// unusable_free_index(): the fraction of free memory that cannot serve an order-<paramref name="order"/>
    /// request, (free_pages − suitable·2^order)·1000 / free_pages, truncated; 1000 when nothing is free.
    /// 0 = no fragmentation, 1000 = every free page is in a block too small.
    /// </summary>
    public static int Unusable(ReadOnlySpan<long> nrFree, int order)
    {
        var (pages, _, suitable) = ContigPageInfo(nrFree, order);
        if (pages == 0)
            return 1000;
        return (int)((pages - (suitable << order)) * 1000 / pages);
    }

    /// <summary>
    /// __fragmentation_index(): only meaningful when the request would fail. −1000 when a suitable block exists;
    /// 0 when nothing is free; otherwise 1000 − (1000 + free_pages·1000/2^order) / free_blocks_total, truncated at
    /// each division. Towards 0 the failure is a lack of memory (reclaim helps), towards 1000 it is fragmentation
    /// (compaction helps); the kernel compares it with vm.extfrag_threshold (default 500). As in the kernel, the
    /// value drops below 0 when fewer pages are free than requested (1 free page, order 1: −500).
    /// </summary>
    public static int Fragmentation(ReadOnlySpan<long> nrFree, int order)
    {
        var (pages, total, suitable) = ContigPageInfo(nrFree, order);
        if (total == 0)
            return 0;
        if (suitable != 0)
            return -1000;
        long requested = 1L << order;
        return (int)(1000 - (1000 + pages * 1000 / requested) / total);
    }

    /// <summary>One zone's line of debugfs extfrag/unusable_index: prefix, then <c>"%d.%03d "</c> per order.</summary>
    public static string FormatUnusable(ReadOnlySpan<long> nrFree, int node = 0, string zone = "Normal")
    {
        var sb = new StringBuilder();
        BuddyInfo.AppendZonePrefix(sb, node, zone);
        for (int order = 0; order < nrFree.Length; order++)
            AppendThousandths(sb, Unusable(nrFree, order), 1);
        return sb.Append('\n').ToString();
    }

    /// <summary>One zone's line of debugfs extfrag/extfrag_index: prefix, then <c>"%2d.%03d "</c> per order.</summary>
    public static string FormatFragmentation(ReadOnlySpan<long> nrFree, int node = 0, string zone = "Normal")
    {
        var sb = new StringBuilder();
        BuddyInfo.AppendZonePrefix(sb, node, zone);
        for (int order = 0; order < nrFree.Length; order++)
            AppendThousandths(sb, Fragmentation(nrFree, order), 2);
        return sb.Append('\n').ToString();
    }

    // C's "%Nd.%03d " of (index / 1000, index % 1000); both operators truncate toward zero as in C, so -1000
    // prints as "-1.000" and -500 as " 0.-500".
    private static void AppendThousandths(StringBuilder sb, int index, int width)
    {
        sb.Append((index / 1000).ToString(CultureInfo.InvariantCulture).PadLeft(width))
          .Append('.')
          .Append(ZeroPad3(index % 1000))
          .Append(' ');
    }

    // C's "%03d": the sign counts towards the width ("-05"), unlike .NET's "D3" ("-005"). Negative remainders do
    // occur: the kernel's formula goes below zero when free pages are fewer than the request, e.g. 0.-500.
    private static string ZeroPad3(int value) => value < 0
        ? "-" + (-value).ToString(CultureInfo.InvariantCulture).PadLeft(2, '0')
        : value.ToString(CultureInfo.InvariantCulture).PadLeft(3, '0');
}
