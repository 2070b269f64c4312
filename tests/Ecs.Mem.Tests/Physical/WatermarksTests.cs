
namespace EcsMem.Tests.Physical;

/// <summary>Watermarks for a few memory sizes, computed by hand from calculate_min_free_kbytes() and
/// __setup_per_zone_wmarks() (4 KiB pages, watermark_scale_factor 10).</summary>
public class WatermarksTests
{
    [Test]
    public void OneGib()
    {
        // 262144 pages; lowmem_kbytes = 1048576; int_sqrt(1048576*16 = 16777216) = 4096 kB -> min = 1024 pages.
        // delta = max(1024/4 = 256, 262144*10/10000 = 262) = 262; low = 1286; high = 1548.
        var w = Watermarks.Compute(262144);
        Assert.That((w.MinFreeKbytes, w.Min, w.Low, w.High), Is.EqualTo((4096L, 1024L, 1286L, 1548L)));
    }

    [Test]
    public void SixteenGib()
    {
        // 4194304 pages; lowmem_kbytes = 16777216; int_sqrt(268435456) = 16384 kB -> min = 4096 pages.
        // delta = max(1024, 4194304*10/10000 = 4194) = 4194; low = 8290; high = 12484.
        var w = Watermarks.Compute(4194304);
        Assert.That((w.MinFreeKbytes, w.Min, w.Low, w.High), Is.EqualTo((16384L, 4096L, 8290L, 12484L)));
    }

    [Test]
    public void SixtyFourMib()
    {
        // 16384 pages; lowmem_kbytes = 65536; int_sqrt(1048576) = 1024 kB -> min = 256 pages.
        // delta = max(64, 16384*10/10000 = 16) = 64; low = 320; high = 384.
        var w = Watermarks.Compute(16384);
        Assert.That((w.MinFreeKbytes, w.Min, w.Low, w.High), Is.EqualTo((1024L, 256L, 320L, 384L)));
    }

    [Test]
    public void ClampsAtBothEnds()
    {
        // 512 KiB = 128 pages: int_sqrt(512*16 = 8192) = 90 < 128 -> 128 kB -> min 32; delta = max(8, 0) = 8.
        var small = Watermarks.Compute(128);
        Assert.That((small.MinFreeKbytes, small.Min, small.Low, small.High), Is.EqualTo((128L, 32L, 40L, 48L)));

        // 8 TiB = 2^31 pages: int_sqrt(2^33*16 = 2^37) = 370727 > 262144 -> 262144 kB -> min 65536 pages;
        // delta = max(16384, 2147483648*10/10000 = 2147483) = 2147483; low = 2213019; high = 4360502.
        var huge = Watermarks.Compute(1L << 31);
        Assert.That((huge.MinFreeKbytes, huge.Min, huge.Low, huge.High), Is.EqualTo((262144L, 65536L, 2213019L, 4360502L)));
    }

    [Test]
    public void OverrideAndScaleFactor()
    {
        // 1 GiB with min_free_kbytes = 65536: min 16384; delta = max(4096, 262) = 4096; low 20480, high 24576.
        var w = Watermarks.Compute(262144, minFreeKbytes: 65536);
        Assert.That((w.MinFreeKbytes, w.Min, w.Low, w.High), Is.EqualTo((65536L, 16384L, 20480L, 24576L)));

        // 1 GiB with watermark_scale_factor = 200 (2%): delta = max(256, 262144*200/10000 = 5242) = 5242.
        var s = Watermarks.Compute(262144, watermarkScaleFactor: 200);
        Assert.That((s.Min, s.Low, s.High), Is.EqualTo((1024L, 6266L, 11508L)));

        // 64 KiB pages: 1 GiB = 16384 pages, lowmem_kbytes still 1048576 -> 4096 kB = 64 pages;
        // delta = max(16, 16384*10/10000 = 16) = 16.
        var big = Watermarks.Compute(16384, pageSize: 65536);
        Assert.That((big.Min, big.Low, big.High), Is.EqualTo((64L, 80L, 96L)));
    }

    [Test]
    public void PredicatesUseTheKernelsStrictComparison()
    {
        // __zone_watermark_ok passes only when free - (2^order - 1) > mark.  1 GiB: 1024 / 1286 / 1548.
        var w = Watermarks.Compute(262144);
        Assert.That(w.BelowLow(1286), Is.True);
        Assert.That(w.BelowLow(1287), Is.False);
        Assert.That(w.BelowLow(1287, order: 1), Is.True, "1287 - 1 = 1286 is not above low");
        Assert.That(w.BelowMin(1024), Is.True);
        Assert.That(w.BelowMin(1025), Is.False);
        Assert.That(w.AboveHigh(1548), Is.False);
        Assert.That(w.AboveHigh(1549), Is.True);
    }

    [Test]
    public void IntSqrtIsTheFloorOfTheSquareRoot()
    {
        Assert.That(Watermarks.IntSqrt(0), Is.EqualTo(0));
        Assert.That(Watermarks.IntSqrt(15), Is.EqualTo(3));
        Assert.That(Watermarks.IntSqrt(16), Is.EqualTo(4));
        Assert.That(Watermarks.IntSqrt(ulong.MaxValue), Is.EqualTo(uint.MaxValue));
        var rng = new SplitMix64(11);
        for (int i = 0; i < 10000; i++)
        {
            ulong x = rng.Next() >> rng.NextInt(64);
            var r = new System.Numerics.BigInteger(Watermarks.IntSqrt(x));
            Assert.That(r * r <= x && (r + 1) * (r + 1) > x, Is.True, $"int_sqrt({x}) = {r}");
        }
    }

    [Test]
    public void RejectsImpossibleArguments()
    {
        Assert.That(() => Watermarks.Compute(0), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Watermarks.Compute(1024, pageSize: 3000), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Watermarks.Compute(1024, minFreeKbytes: -1), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Watermarks.Compute(1024, watermarkScaleFactor: 0), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
