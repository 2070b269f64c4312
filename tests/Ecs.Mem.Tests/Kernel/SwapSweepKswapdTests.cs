using EcsMem.Ecs;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The sweep of <see cref="SwapKernelAgreementTests"/> (48 MiB written, then four read-modify-write passes) on a 16 MiB
/// machine with no memory cgroup: global reclaim, kswapd woken at the low watermark, rather than the kernel run's memcg
/// reclaim. Not a kernel measurement (the kernel's runs are memcg runs: SwapKernelAgreementTests); what it holds is that
/// the watermark path swaps such a sweep as memcg reclaim does: with three times the memory swept, every page is out
/// again by the time the next pass reaches it, so each pass faults once per page, and cluster readahead (page-cluster 3)
/// reads at most an aligned block of 8 slots per major fault.
/// <para>
/// Linux 6.6's per-CPU lists (KernelKit.Options): on this small machine 6.7+'s self-tuning lists grow to high_max 512
/// pages, a eighth of RAM kept off the buddy allocator, and passes 3 and 4 then fault on 12,285 pages (3 stay resident);
/// a memcg on a big machine does not see its zone's lists that way (SwapKernelAgreementTests runs tuned).
/// </para>
/// </summary>
public class SwapSweepKswapdTests
{
    private const int Pages = 12288; // 48 MiB
    private const int Passes = 4;

    private static MemoryAccess[] Trace()
    {
        var t = new MemoryAccess[(Passes + 1) * Pages * 2];
        int n = 0;
        for (int pass = 0; pass <= Passes; pass++)
        {
            for (int i = 0; i < Pages; i++)
            {
                t[n++] = R(Base + ((ulong)i * Page));
                t[n++] = W(Base + ((ulong)i * Page));
            }
        }
        return t;
    }

    /// <summary>Per pass: minflt, majflt, pswpin, swap_ra, swap_ra_hit, pgscan_kswapd.</summary>
    private static long[][] RunPasses()
    {
        // Boosting off: the figures are worked for the plain watermarks (a boost only moves when kswapd runs).
        var options = Options(ramPages: 4096, swapPages: 262144) with { Policy = "linux", PageCluster = 3, BatchSize = 1, WatermarkBoostFactor = 0 };
        using var m = new SimMachine(options);
        Entity p = Add(m, "anon_swap_passes", Anon(Base, Pages), 0, Trace());
        var result = new long[Passes + 1][];
        long[] Now() =>
        [
            Stats(m, p).MinFlt, Stats(m, p).MajFlt, Counter(m, "pswpin"), Counter(m, "swap_ra"), Counter(m, "swap_ra_hit"),
            Counter(m, "pgscan_kswapd"),
        ];
        long[] before = Now();
        for (int pass = 0; pass <= Passes; pass++)
        {
            RunUntilAccesses(m, p, (pass + 1L) * Pages * 2);
            long[] after = Now();
            result[pass] = [.. after.Zip(before, (a, b) => a - b)];
            before = after;
        }
        return result;
    }

    private static long[][]? _passes;

    private static long[][] Passes_ => _passes ??= RunPasses();

    [Test]
    public void FirstPassFaultsTwicePerPage()
    {
        // The zero page on the load, a copy on the store; nothing was swapped before.
        long[] p0 = Passes_[0];
        Assert.That(p0[0], Is.EqualTo(2 * Pages));
        Assert.That(p0[1], Is.Zero);
    }

    [Test]
    public void KswapdSwapsEachPageOutBeforeTheNextPassReachesIt()
    {
        for (int pass = 1; pass <= Passes; pass++)
        {
            long[] f = Passes_[pass];
            TestContext.Out.WriteLine($"pass {pass}: minflt {f[0]} majflt {f[1]} pswpin {f[2]} swap_ra {f[3]} swap_ra_hit {f[4]} pgscan_kswapd {f[5]}");
            Assert.That(f[5], Is.GreaterThan(0), $"pass {pass}: kswapd reclaimed");
            // One fault per page, none on the store (the swapped-in page is exclusive: mapped writable by the load). With
            // the Linux 6.x LRU one page (read ahead in pass 1, it reached the inactive tail just as the sweep got to it)
            // is scanned between its load and its store: young twice, it is activated (folio_check_references) and, the
            // active list being one page long, never deactivated, so passes 3 and 4 may find it resident: 12,287.
            Assert.That(f[0] + f[1], Is.InRange(Pages - 1, Pages), $"pass {pass}: one fault per page");
        }
    }

    [Test]
    public void ClusterReadaheadReadsAtMostAnAlignedBlockOfEightPerMajorFault()
    {
        for (int pass = 1; pass <= Passes; pass++)
        {
            long[] f = Passes_[pass];
            long faults = f[0] + f[1];
            // Each major fault reads its page and at most 7 more (the aligned block of 1 << page_cluster slots).
            Assert.That(f[1] * 8, Is.GreaterThanOrEqualTo(faults), $"pass {pass}: majflt");
            Assert.That(f[3], Is.LessThanOrEqualTo(7 * f[1]), $"pass {pass}: swap_ra");
            Assert.That(f[2], Is.LessThanOrEqualTo(8 * f[1]), $"pass {pass}: pswpin");
            // A minor fault found its page in the swap cache, read ahead (a hit) or not yet freed after its write.
            Assert.That(f[4], Is.LessThanOrEqualTo(f[0]), $"pass {pass}: swap_ra_hit");
        }
    }
}
