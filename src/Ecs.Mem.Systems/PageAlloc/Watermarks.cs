namespace EcsMem.Systems.PageAlloc;

/// <summary>
/// A zone's min/low/high watermarks in pages, computed as Linux does for a single zone holding all memory
/// (mm/page_alloc.c calculate_min_free_kbytes() and __setup_per_zone_wmarks()):
/// <code>
/// min_free_kbytes = clamp(int_sqrt(lowmem_kbytes * 16), 128, 262144)   (unless overridden)
/// min   = min_free_kbytes / (page_size / 1024)          (the zone's share is all of it: one zone)
/// delta = max(min / 4, managed * watermark_scale_factor / 10000)   (the second term is mult_frac())
/// low   = min + delta,  high = low + delta
/// </code>
/// Worked example (1 GiB, 4 KiB pages): 262144 pages, lowmem_kbytes 1048576, int_sqrt(16777216) = 4096 kB,
/// min = 1024 pages, delta = max(256, 262) = 262, low = 1286, high = 1548.
/// </summary>
public sealed class Watermarks
{
    /// <summary>Lower clamp of the computed min_free_kbytes.</summary>
    public const int MinFreeKbytesFloor = 128;

    /// <summary>Upper clamp of the computed min_free_kbytes (256 MiB; it was 64 MiB before Linux 5.9).</summary>
    public const int MinFreeKbytesCeiling = 262144;

    /// <summary>Default vm.watermark_scale_factor: 10 = 0.1% of the zone between watermarks.</summary>
    public const int DefaultWatermarkScaleFactor = 10;

    private Watermarks(long managedPages, int pageSize, long minFreeKbytes, int scaleFactor, long min, long delta)
    {
        ManagedPages = managedPages;
        PageSize = pageSize;
        MinFreeKbytes = minFreeKbytes;
        WatermarkScaleFactor = scaleFactor;
        BaseMin = min;
        BaseLow = min + delta;
        BaseHigh = min + 2 * delta;
    }

    /// <summary>zone_managed_pages() the marks were computed for.</summary>
    public long ManagedPages { get; }

    /// <summary>Page size in bytes.</summary>
    public int PageSize { get; }

    /// <summary>vm.min_free_kbytes in effect (computed or overridden).</summary>
    public long MinFreeKbytes { get; }

    /// <summary>vm.watermark_scale_factor in effect.</summary>
    public int WatermarkScaleFactor { get; }

    /// <summary>zone-&gt;_watermark[WMARK_MIN]: the mark without the boost.</summary>
    public long BaseMin { get; }

    /// <summary>zone-&gt;_watermark[WMARK_LOW]: the mark without the boost.</summary>
    public long BaseLow { get; }

    /// <summary>zone-&gt;_watermark[WMARK_HIGH]: the mark without the boost (boost_watermark's max_boost is a share of it).</summary>
    public long BaseHigh { get; }

    /// <summary>
    /// zone-&gt;watermark_boost in pages: raised by <see cref="BoostWatermark"/> when a fallback fragments a pageblock,
    /// cleared by kswapd's balance_pgdat after its boosted reclaim. Every mark below includes it, as
    /// min_wmark_pages / low_wmark_pages / high_wmark_pages (wmark_pages) do.
    /// </summary>
    public long Boost { get; internal set; }

    /// <summary>min_wmark_pages (WMARK_MIN + boost): at or below it allocations enter direct reclaim.</summary>
    public long Min => BaseMin + Boost;

    /// <summary>low_wmark_pages (WMARK_LOW + boost): at or below it the allocator wakes kswapd.</summary>
    public long Low => BaseLow + Boost;

    /// <summary>high_wmark_pages (WMARK_HIGH + boost): kswapd reclaims until free pages are above it, then sleeps.</summary>
    public long High => BaseHigh + Boost;

    /// <summary>Default vm.watermark_boost_factor: 15000, a boost of at most 150 % of the high watermark.</summary>
    public const int DefaultWatermarkBoostFactor = 15000;

    /// <summary>
    /// boost_watermark (mm/page_alloc.c): a fallback is about to fragment a pageblock of another migrate type, so the
    /// zone's marks go up by one pageblock (pageblock_nr_pages), at most max(pageblock_nr_pages,
    /// mult_frac(WMARK_HIGH, factor, 10000)) in all. Nothing happens when the factor is 0 (boosting off), when the zone
    /// is smaller than four pageblocks (a boost could cause an OOM at once on a small machine) or when that share of
    /// the high mark is 0. Returns whether the boost was applied (the caller then flags ZONE_BOOSTED_WATERMARK).
    /// </summary>
    public bool BoostWatermark(int factor, int pageblockPages)
    {
        if (factor == 0)
            return false;
        if ((long)pageblockPages * 4 > ManagedPages)
            return false;
        long maxBoost = MultFrac(BaseHigh, factor, 10000);
        if (maxBoost == 0)
            return false;
        maxBoost = Math.Max(pageblockPages, maxBoost);
        Boost = Math.Min(Boost + pageblockPages, maxBoost);
        return true;
    }

    /// <summary>
    /// Computes the marks for a zone of <paramref name="managedPages"/> pages. <paramref name="minFreeKbytes"/>
    /// overrides the computed vm.min_free_kbytes (like writing the sysctl; not clamped, as the sysctl is not).
    /// Arguments are validated by the caller's configuration parser; bad values here are programming errors.
    /// </summary>
    public static Watermarks Compute(long managedPages, int pageSize = 4096, long? minFreeKbytes = null,
        int watermarkScaleFactor = DefaultWatermarkScaleFactor)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(managedPages);
        if (pageSize < 1024 || (pageSize & (pageSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "page size must be a power of two >= 1024");
        if (minFreeKbytes is < 0)
            throw new ArgumentOutOfRangeException(nameof(minFreeKbytes), minFreeKbytes, "min_free_kbytes must be >= 0");
        // The sysctl accepts 1..3000 (0.01% .. 30%).
        if (watermarkScaleFactor is < 1 or > 3000)
            throw new ArgumentOutOfRangeException(nameof(watermarkScaleFactor), watermarkScaleFactor, "must be 1..3000");

        int kbPerPage = pageSize >> 10;
        long minFree = minFreeKbytes ?? DefaultMinFreeKbytes(managedPages * kbPerPage);
        // pages_min = min_free_kbytes >> (PAGE_SHIFT - 10); one zone gets all of it (pages_min * managed / lowmem).
        long min = minFree / kbPerPage;
        long delta = Math.Max(min >> 2, MultFrac(managedPages, watermarkScaleFactor, 10000));
        return new Watermarks(managedPages, pageSize, minFree, watermarkScaleFactor, min, delta);
    }

    /// <summary>calculate_min_free_kbytes(): 4·√lowmem_kbytes, clamped to [128, 262144].</summary>
    public static long DefaultMinFreeKbytes(long lowmemKbytes) =>
        Math.Clamp(IntSqrt((ulong)lowmemKbytes * 16), MinFreeKbytesFloor, MinFreeKbytesCeiling);

    /// <summary>int_sqrt() (lib/math/int_sqrt.c): ⌊√x⌋, exact for every 64-bit x.</summary>
    public static long IntSqrt(ulong x)
    {
        // The double estimate can be off by one either way for large x; correct it with integer checks.
        ulong r = (ulong)Math.Sqrt(x);
        while (r > 0 && (r > uint.MaxValue || r * r > x))
            r--;
        while (r + 1 <= uint.MaxValue && (r + 1) * (r + 1) <= x)
            r++;
        return (long)r;
    }

    /// <summary>__zone_watermark_ok() without reserves: an order-<paramref name="order"/> allocation may proceed
    /// when free pages, less the request's extra pages, stay strictly above <paramref name="mark"/>.</summary>
    public static bool WatermarkOk(long freePages, long mark, int order = 0) =>
        freePages - ((1L << order) - 1) > mark;

    /// <summary>The fast path fails the low mark: the allocator wakes kswapd (wakeup_kswapd()).</summary>
    public bool BelowLow(long freePages, int order = 0) => !WatermarkOk(freePages, Low, order);

    /// <summary>Even the min mark fails: the allocating task must do direct reclaim.</summary>
    public bool BelowMin(long freePages, int order = 0) => !WatermarkOk(freePages, Min, order);

    /// <summary>pgdat_balanced(): free pages are above high, so kswapd may go back to sleep.</summary>
    public bool AboveHigh(long freePages, int order = 0) => WatermarkOk(freePages, High, order);

    // mult_frac(x, n, d) = x*n/d computed without overflowing x*n.
    private static long MultFrac(long x, long n, long d) => x / d * n + x % d * n / d;

    /// <inheritdoc/>
    public override string ToString() =>
        $"min_free_kbytes={MinFreeKbytes} min={Min} low={Low} high={High} boost={Boost} (pages of {PageSize} B, managed {ManagedPages})";
}
