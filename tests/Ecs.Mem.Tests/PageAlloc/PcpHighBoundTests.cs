namespace EcsMem.Tests.PageAlloc;

/// <summary>
/// The invariant checker's bound on Linux 6.7+'s self-tuning per-CPU lists (InvariantChecker: a CPU's list holds at
/// most B + NR_PCP_TYPES · batch pages and its high is at most B, B = max(high_min, high_max)), argued by hand and then
/// driven by seeded random sequences of the list's operations, including the hostile ones: shrinks under reclaim and
/// ZONE_BELOW_HIGH that leave the list above its new high, refills of each migrate type while the list is full, decay,
/// and the small-zone case high_max &lt; high_min.
/// <para>
/// Why the bound holds. (1) Every tuned value of high is the kernel's clamp() into [high_min, high_max], or a max()
/// with high_min after a shrink, or a decay's max3(…, high_min) from a value already at most B: so high ≤ B. (2) A
/// free adds one page and, when the count reaches nr_pcp_high's answer (at most B: the clamped high, min(batch·4,
/// high), or max(count, high_min) which the count always reaches), bulk-frees at least one page: so a free never
/// takes the count above max(count before, B − 1). (3) A refill happens only for an empty type list and takes at most
/// max(high − count − batch, batch) pages: either the count ends at most high − batch ≤ B, or that type's list ends
/// with at most batch pages (one taken at once). (4) Frees and bulk frees never grow a type list beyond the count the
/// free started from once the count is at high (the bulk starts at the freed page's type). So past B, only the refills
/// of (3) add pages, at most a batch per type while that type's list is not empty again: B + NR_PCP_TYPES · batch.
/// </para>
/// </summary>
public class PcpHighBoundTests
{
    private static void CheckBound(PerCpuPageSet pcp, int cpus, string where)
    {
        int bound = Math.Max(pcp.HighMin, pcp.HighMax);
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            Assert.That(pcp.HighOf(cpu), Is.LessThanOrEqualTo(bound), $"{where}: CPU {cpu}'s high");
            Assert.That(pcp.Count(cpu), Is.LessThanOrEqualTo(bound + (BuddyAllocator.NrTypes * pcp.Batch)), $"{where}: CPU {cpu}'s count (high {pcp.HighOf(cpu)})");
            int byType = 0;
            for (int t = 0; t < BuddyAllocator.NrTypes; t++)
                byType += pcp.Count(cpu, (MigrateType)t);
            Assert.That(byType, Is.EqualTo(pcp.Count(cpu)), $"{where}: CPU {cpu}'s lists against its count");
        }
    }

    [TestCase(1, 2, 8, 40)]
    [TestCase(2, 2, 8, 40)]
    [TestCase(7, 4, 24, 96)]
    [TestCase(11, 31, 62, 1000)]
    [TestCase(13, 8, 100, 40)]   // a small zone: high_max below high_min (clamp's hi wins)
    [TestCase(17, 3, 5, 5)]      // high_min = high_max: nothing tuned
    [TestCase(19, 63, 300, 2600)]
    public void RandomOperationsStayWithinTheCheckersBound(int seed, int batch, int highMin, int highMax)
    {
        const int cpus = 2, zone = 8192, steps = 40_000;
        var buddy = new BuddyAllocator(zone);
        var pcp = new PerCpuPageSet(buddy, cpus, batch, highMin, highMax, frames: null, tuning: true);
        var rng = new Random(seed);
        var held = new List<int>();
        int maxCount = 0;
        for (int step = 0; step < steps; step++)
        {
            // Epochs of 2,000 steps, alternately allocation-heavy and free-heavy: a pool of held pages builds up, then
            // drains into the lists, so they reach their high and the bulk frees, shrinks and refills at the top run.
            int allocShare = (step / 2000) % 2 == 0 ? 70 : 22;
            int cpu = rng.Next(cpus);
            int op = rng.Next(100);
            if (op < allocShare || held.Count == 0)
            {
                int pfn = pcp.Alloc(cpu, (MigrateType)rng.Next(BuddyAllocator.NrTypes));
                if (pfn >= 0)
                    held.Add(pfn);
            }
            else if (op < 93)
            {
                int i = rng.Next(held.Count);
                int pfn = held[i];
                held[i] = held[^1];
                held.RemoveAt(held.Count - 1);
                pcp.Free(pfn, cpu, reclaimActive: rng.Next(8) == 0);
            }
            else if (op < 97)
            {
                pcp.BelowHigh = !pcp.BelowHigh;
            }
            else
            {
                pcp.DecayPcpHigh(cpu);
            }
            CheckBound(pcp, cpus, $"seed {seed} step {step}");
            maxCount = Math.Max(maxCount, Math.Max(pcp.Count(0), pcp.Count(1)));
        }
        // Each page is on a list, held, or free in the buddy allocator: none lost or made.
        Assert.That(buddy.NrFreePages + pcp.TotalCount + held.Count, Is.EqualTo(zone), "pages conserved");
        // The run reached the tuned range's top, so the bound was tested where it binds, not only far below it.
        Assert.That(maxCount, Is.GreaterThanOrEqualTo(Math.Min(highMin, highMax)), "the lists grew to high_min at least");
    }

    /// <summary>
    /// The case argument (3) is for: a list near high_max meets an allocation of each migrate type whose list is empty.
    /// With batch 2, high_min 8, high_max 40 (PcpHighTuningTests' table: after 63 allocations high 40, count 37), two
    /// frees bring the count to 39 (below high, no bulk free); then each refill takes max(40 − count − 2, 2) = 2 pages
    /// and hands one out, so the count rises by one a type: 39 → 40 → 41, above high_max but within 40 + 3 · 2.
    /// </summary>
    [Test]
    public void RefillsOfEmptyTypesNearHighMaxAddABatchEach()
    {
        var buddy = new BuddyAllocator(1024);
        var pcp = new PerCpuPageSet(buddy, cpus: 1, batch: 2, highMin: 8, highMax: 40, frames: null, tuning: true);
        var pfns = new List<int>();
        for (int i = 0; i < 63; i++)
            pfns.Add(pcp.Alloc(0));
        Assert.That((pcp.HighOf(0), pcp.Count(0)), Is.EqualTo((40, 37)));
        pcp.Free(pfns[0], 0);
        pcp.Free(pfns[1], 0);
        Assert.That(pcp.Count(0), Is.EqualTo(39), "38 and 39 are below high 40: no bulk free");
        Assert.That(pcp.Alloc(0, MigrateType.Unmovable), Is.GreaterThanOrEqualTo(0));
        Assert.That(pcp.Count(0), Is.EqualTo(40), "max(40 − 39 − 2, 2) = 2 taken, one handed out");
        Assert.That(pcp.Alloc(0, MigrateType.Reclaimable), Is.GreaterThanOrEqualTo(0));
        Assert.That(pcp.Count(0), Is.EqualTo(41), "max(40 − 40 − 2, 2) = 2 taken, one handed out: one above high_max");
        Assert.That((pcp.Count(0, MigrateType.Unmovable), pcp.Count(0, MigrateType.Reclaimable)), Is.EqualTo((1, 1)));
        Assert.That(pcp.HighOf(0), Is.EqualTo(40));
    }
}
