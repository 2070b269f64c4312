using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Policies;
using EcsMem.Tests.Kernel;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// memory.min and memory.low as Linux 6.18 applies them: page_counter_calculate_protection's effective values through
/// the hierarchy (memory_recursiveprot off, the default) and get_scan_count's apply_proportional_protection, every
/// expected value worked out by hand from the formulas written next to it.
/// </summary>
public class MemcgProtectionTests
{
    private static CgroupConfig Group(string name, string? parent, long lowPages, long minPages) =>
        new(name, parent, CgroupConfig.Unlimited, CgroupConfig.Unlimited, lowPages * 4096, minPages * 4096, CgroupConfig.Unlimited, 0);

    /// <summary>root → A → {B, C}, A → D with the given settings; the lruvecs are never used.</summary>
    private static MemcgController Tree(params CgroupConfig[] groups)
    {
        var policy = new LruPolicy();
        policy.Initialize(16);
        return new MemcgController(policy, () => { var p = new LruPolicy(); p.Initialize(16); return p; }, groups, 16, 1);
    }

    [Test]
    public void EffectiveProtectionFollowsTheHierarchy()
    {
        // A (low 100, min 40) under the root, B (low 80, min 30) and C (low 60, min 20) under A, D (nothing) under A.
        MemcgController mc = Tree(Group("A", null, 100, 40), Group("B", "A", 80, 30), Group("C", "A", 60, 20), Group("D", "A", 0, 0));
        MemCgroup a = mc.Find("A"), b = mc.Find("B"), c = mc.Find("C"), d = mc.Find("D");
        b.Usage = 120;
        c.Usage = 50;
        d.Usage = 130;
        a.Usage = 300;
        mc.CalculateProtection(mc.Root);
        // A's parent is the reclaim's root: its settings as they are (not capped by its usage).
        Assert.That((a.Elow, a.Emin), Is.EqualTo((100L, 40L)));
        // low: the children claim min(120, 80) + min(50, 60) + 0 = 130 > A's 100, so each gets its claim × 100 / 130:
        // B 80 × 100 / 130 = 61, C 50 × 100 / 130 = 38.
        Assert.That(b.Elow, Is.EqualTo(61));
        Assert.That(c.Elow, Is.EqualTo(38));
        // min: min(120, 30) + min(50, 20) = 50 > A's 40: B 30 × 40 / 50 = 24, C 20 × 40 / 50 = 16.
        Assert.That(b.Emin, Is.EqualTo(24));
        Assert.That(c.Emin, Is.EqualTo(16));
        // D claims nothing; without memory_recursiveprot A's unclaimed protection is not handed down to it.
        Assert.That((d.Elow, d.Emin), Is.EqualTo((0L, 0L)));
        Assert.That(MemcgController.BelowLow(mc.Root, c), Is.False, "38 < 50");
        Assert.That(MemcgController.BelowLow(mc.Root, a), Is.False, "100 < 300");

        // Reclaim aimed at A: A is the target (never protected), B and C are its direct children: their settings.
        mc.CalculateProtection(a);
        Assert.That((b.Elow, b.Emin, c.Elow, c.Emin), Is.EqualTo((80L, 30L, 60L, 20L)));
        Assert.That(MemcgController.BelowLow(a, c), Is.True, "60 ≥ 50");
        Assert.That(MemcgController.BelowLow(a, b), Is.False, "80 < 120");
        Assert.That(MemcgController.BelowLow(a, a) || MemcgController.BelowMin(a, a), Is.False, "the target is unprotected");
        MemcgController.Protection(a, a, out long min, out long low);
        Assert.That((min, low), Is.EqualTo((0L, 0L)));

        // Undercommitted: B alone claims 10 of A's 100; its protection is its own claim, no more.
        b.Low = 10;
        c.Low = 0;
        mc.CalculateProtection(mc.Root);
        Assert.That((b.Elow, c.Elow), Is.EqualTo((10L, 0L)));
        // An empty group is "below" any protection (0 ≥ 0), so shrink_node_memcgs skips it as below memory.min.
        d.Usage = 0;
        mc.CalculateProtection(mc.Root);
        Assert.That(MemcgController.BelowMin(mc.Root, d), Is.True);
    }

    [Test]
    public void ProportionalProtectionScalesTheScanByTheProtectedShare()
    {
        MemcgController mc = Tree(Group("g", null, 0, 0));
        MemCgroup g = mc.Find("g");
        g.Usage = 300;
        g.Elow = 200;
        bool skipped = false;
        // protection = low (200, above min 0): 1000 − 1000 × 200 / 301 = 1000 − 664 = 336; memcg_low_skipped is set.
        Assert.That(MemcgController.ApplyProportionalProtection(mc.Root, g, 1000, false, ref skipped, 32), Is.EqualTo(336));
        Assert.That(skipped, Is.True);
        // In the memcg_low_reclaim pass the protection is min (0): the whole size, and nothing is flagged.
        skipped = false;
        Assert.That(MemcgController.ApplyProportionalProtection(mc.Root, g, 1000, true, ref skipped, 32), Is.EqualTo(1000));
        Assert.That(skipped, Is.False);
        // min above low: min counts in both passes: 1000 − 1000 × 100 / 301 = 1000 − 332 = 668.
        g.Emin = 100;
        g.Elow = 50;
        Assert.That(MemcgController.ApplyProportionalProtection(mc.Root, g, 1000, false, ref skipped, 32), Is.EqualTo(668));
        Assert.That(skipped, Is.False, "low is not above min");
        // At least SWAP_CLUSTER_MAX: 40 − 40 × 290 / 301 = 40 − 38 = 2 → 32.
        g.Emin = 0;
        g.Elow = 290;
        Assert.That(MemcgController.ApplyProportionalProtection(mc.Root, g, 40, false, ref skipped, 32), Is.EqualTo(32));
        // Usage below the protection (read after the protection check): usage counts as the protection,
        // 1000 − 1000 × 290 / 291 = 1000 − 996 = 4 → 32.
        g.Usage = 100;
        Assert.That(MemcgController.ApplyProportionalProtection(mc.Root, g, 1000, false, ref skipped, 32), Is.EqualTo(32));
        // No protection at all: the size as it is, even below SWAP_CLUSTER_MAX; the target itself is never protected.
        g.Elow = 0;
        Assert.That(MemcgController.ApplyProportionalProtection(mc.Root, g, 7, false, ref skipped, 32), Is.EqualTo(7));
        g.Elow = 290;
        Assert.That(MemcgController.ApplyProportionalProtection(g, g, 7, false, ref skipped, 32), Is.EqualTo(7));
    }

    [Test]
    public void GetScanCountScalesAProtectedGroupsListsBeforeThePriorityShift()
    {
        // A Linux lruvec of 1000 / 2000 / 3000 / 4000 pages (inactive anon, active anon, inactive file, active file)
        // belonging to a group with usage 10,000 and an effective memory.low of 5,000, reclaimed from the root.
        var host = new LruvecTests.FakeHost(10000);
        var counters = new CounterRegistry();
        var lv = new EcsMem.Systems.Vmscan.Lruvec(host, counters, new KernelCounters(counters), 1);
        lv.Initialize(10000);
        int pfn = 0;
        foreach (var (n, anon, active) in new[] { (1000, true, false), (2000, true, true), (3000, false, false), (4000, false, true) })
        {
            for (int i = 0; i < n; i++, pfn++)
            {
                host.Frames[pfn].Flags |= FrameFlags.Lru | (anon ? FrameFlags.Anon | FrameFlags.SwapBacked : 0) | (active ? FrameFlags.Active : 0);
                lv.OnInserted(pfn, (ulong)pfn);
                lv.LruAddDrain();
            }
        }
        MemcgController mc = Tree(Group("g", null, 0, 0));
        MemCgroup g = mc.Find("g");
        lv.Memcg = g;
        g.Usage = 10000;
        g.Elow = 5000;
        var sc = new ScanControl();
        long[] nr = new long[4];

        void Scan(int priority, bool lowReclaim)
        {
            sc.Reset(kswapd: false, 32, 60);
            sc.Memcg = mc;
            sc.Target = mc.Root;
            sc.Priority = priority;
            sc.AnonCost = 10;
            sc.FileCost = 30;
            sc.MemcgLowReclaim = lowReclaim;
            lv.GetScanCount(sc, nr);
        }

        // Each size less size × 5000 / 10001: 1000 − 499 = 501, 2000 − 999 = 1001, 3000 − 1499 = 1501,
        // 4000 − 1999 = 2001; priority 0 is SCAN_EQUAL, so those are the counts.
        Scan(0, false);
        Assert.That(nr, Is.EqualTo(new long[] { 501, 1001, 1501, 2001 }));
        Assert.That(sc.MemcgLowSkipped, Is.True);
        // Priority 2, SCAN_FRACT at swappiness 60 (ap 142, fp 238, denominator 380, as in LruvecTests): the scaled sizes
        // >> 2 = 125, 250, 375, 500 → 125 × 142 / 380 = 46, 250 × 142 / 380 = 93, 375 × 238 / 380 = 234, 500 × 238 / 380 = 313.
        Scan(2, false);
        Assert.That(nr, Is.EqualTo(new long[] { 46, 93, 234, 313 }));
        // The memcg_low_reclaim pass with memory.min 2,500: 1000 − 249 = 751, 2000 − 499 = 1501, 3000 − 749 = 2251, 4000 − 999 = 3001.
        g.Emin = 2500;
        Scan(0, true);
        Assert.That(nr, Is.EqualTo(new long[] { 751, 1501, 2251, 3001 }));
        Assert.That(sc.MemcgLowSkipped, Is.False);
        // The same lruvec reclaimed as its own group's target: no protection.
        sc.Reset(kswapd: false, 32, 60);
        sc.Memcg = mc;
        sc.Target = g;
        sc.Priority = 0;
        lv.GetScanCount(sc, nr);
        Assert.That(nr, Is.EqualTo(new long[] { 1000, 2000, 3000, 4000 }));
    }

    // Two readers leave 200 page-cache pages each in a and c (siblings under a 2 MiB parent); then b's writer fills
    // the parent without swap, so only that page cache can be reclaimed.
    private static string SiblingsScenario(string low) =>
        "machine: {ram: 64M, swap: 0, read_ahead_kb: 0, fault_around_bytes: 4096}\n" +
        "cgroups:\n  - {name: parent, memory.max: 2M}\n  - {name: a, parent: parent, memory.low: " + low + "}\n  - {name: b, parent: parent}\n  - {name: c, parent: parent}\n" +
        "processes:\n" +
        "  - name: ra\n    cgroup: a\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=200,base=" + MemcgTests.Base + ",pages=200\"}\n" +
        "  - name: rc\n    cgroup: c\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=200,base=" + MemcgTests.Base + ",pages=200\"}\n" +
        "  - name: w\n    cgroup: b\n    start: 1000000000\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=250,base=" + MemcgTests.Base + ",pages=250,writes=1\"}\n" +
        "timeline:\n" +
        "  - at: 0\n    process: ra\n    mmap: {addr: " + MemcgTests.Base + ", length: 819200, prot: r--, flags: private, file: /data/fa, fixed: true}\n" +
        "  - at: 0\n    process: rc\n    mmap: {addr: " + MemcgTests.Base + ", length: 819200, prot: r--, flags: private, file: /data/fc, fixed: true}\n" +
        "  - at: 1000000000\n    process: w\n    mmap: {addr: " + MemcgTests.Base + ", length: 1024000, prot: rw-, flags: private, fixed: true}\n";

    [Test]
    public void AGroupAboveItsMemoryLowIsReclaimedLessNotSkipped()
    {
        // Pages charged, not usage: usage also counts what a CPU's charge stock holds for the group (MEMCG_CHARGE_BATCH),
        // which is not reclaimed and is drained only when a charge's reclaim leaves too little room.
        long Lost(string low, out long a, out long c, out long lowEvents, out long aUsage)
        {
            using var m = MemcgTests.Build(SiblingsScenario(low));
            m.Run();
            var mc = m.Kernel.Memcg!;
            MemCgroup ga = mc.Find("a");
            a = mc.ChargedPages(ga);
            aUsage = ga.Usage;
            c = mc.ChargedPages(mc.Find("c"));
            lowEvents = ga.Events[(int)MemcgEvent.Low];
            Assert.That(EcsMem.Systems.Machine.InvariantChecker.Check(m), Is.Empty);
            return 200 - a;
        }
        // Unprotected, a and c are alike and lose alike.
        long lostA0 = Lost("0", out long a0, out long c0, out _, out _);
        Assert.That(lostA0, Is.GreaterThan(0));
        Assert.That(a0, Is.EqualTo(c0).Within(8));
        // memory.low 600K (150 pages) with 200 used: a is above its protection, so it is scanned, not skipped, but each
        // of its lists counts 1 − 150 / 201 of its size (a quarter, less as its usage falls towards 150): c loses more,
        // and a never goes below its memory.low (a memcg_low_reclaim pass, and a memory.events low, were not needed).
        long lostA = Lost("600K", out long a1, out long c1, out long lowEvents, out long a1Usage);
        Assert.That(lostA, Is.GreaterThan(0), "a group above its memory.low is still reclaimed");
        Assert.That(lostA, Is.LessThan(lostA0));
        Assert.That(200 - c1, Is.GreaterThan(2 * lostA));
        // Protection is judged on the page counter (mem_cgroup_protection reads memory.usage), stock included.
        Assert.That(a1Usage, Is.GreaterThanOrEqualTo(150));
        Assert.That(lowEvents, Is.Zero);
    }
}
