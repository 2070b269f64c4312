using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using EcsMem.Systems.Reporting;
using EcsMem.Systems.Vmscan;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// Memory cgroups with the Linux 6.x lruvec (the default <c>linux</c> policy): one <see cref="Lruvec"/> per group,
/// cgroup reclaim through the lruvec's priority loop on the group's subtree only, memory.stat's LRU sizes from the
/// lists, and the simple policies' per-group instances still working.
/// </summary>
public class MemcgLruvecTests
{
    // The scenario builder and the run-to-N-accesses loop are MemcgTests' own.
    private const string Base = MemcgTests.Base;

    private static SimMachine Build(string yaml) => MemcgTests.Build(yaml);

    private static void Advance(SimMachine m, long accesses) => MemcgTests.Advance(m, accesses);

    /// <summary>big caches 300 file pages; small (memory.max 1 MiB = 256 pages) then writes 512 anonymous pages.</summary>
    private static string Scenario(string policy) =>
        "machine: {ram: 64M, swap: 16M, read_ahead_kb: 0, fault_around_bytes: 4096, policy: " + policy + "}\n" +
        "cgroups:\n  - {name: top}\n  - {name: small, parent: top, memory.max: 1M}\n  - {name: big}\n" +
        "processes:\n  - name: b\n    cgroup: big\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=300,base=" + Base + ",pages=300\"}\n" +
        "  - name: s\n    cgroup: small\n    start: 1000000000\n    layout: {exec: {}}\n" +
        "    workload: {generator: \"seq:count=600,base=" + Base + ",pages=600,writes=1\"}\n" +
        "timeline:\n  - at: 0\n    process: b\n    mmap: {addr: " + Base + ", length: 1228800, prot: r--, flags: private, file: /data/f, fixed: true}\n" +
        "  - at: 1000000000\n    process: s\n    mmap: {addr: " + Base + ", length: 2457600, prot: rw-, flags: private, fixed: true}\n";

    private static long Stat(SimMachine m, string path, string name) =>
        MemcgFiles.Read(m.Kernel).Single(f => f.Path == path).Stat.Single(v => v.Name == name).Value;

    [Test]
    public void EachGroupHasItsOwnLinuxLruvecUnderItsParents()
    {
        using var m = Build(Scenario("linux"));
        MemcgController mc = m.Kernel.Memcg!;
        Assert.That(mc.Root.Lruvec, Is.SameAs(m.Kernel.Lruvec), "the root's lruvec is the node's");
        var lvs = mc.Groups.Select(g => g.Lruvec).ToList();
        Assert.That(lvs, Has.All.InstanceOf<Lruvec>());
        Assert.That(lvs.Distinct().Count(), Is.EqualTo(mc.Groups.Count), "one lruvec per group");
        Assert.That(((Lruvec)mc.Find("small").Lruvec).Parent, Is.SameAs(mc.Find("top").Lruvec));
        Assert.That(((Lruvec)mc.Find("big").Lruvec).Parent, Is.SameAs(mc.Root.Lruvec));
    }

    [Test]
    public void CgroupReclaimRunsOnTheGroupsLruvecOnly()
    {
        using var m = Build(Scenario("linux"));
        Advance(m, 300 + 512);
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup small = mc.Find("small"), big = mc.Find("big");
        Assert.That(small.Usage, Is.LessThanOrEqualTo(256), "memory.max holds");
        Assert.That(small.SwapUsage, Is.GreaterThan(0));
        Assert.That(mc.ChargedPages(big), Is.EqualTo(300), "the other group lost nothing");
        // Only cgroup reclaim ran: /proc/vmstat's pgscan_direct/kswapd stay 0 (cgroup_reclaim), while pgscan_anon and
        // pgscan_file count every isolated page; so they add up to the group's memory.stat pgscan, all anonymous.
        Assert.That(m.Env.Counters.Get("pgscan_direct") + m.Env.Counters.Get("pgscan_kswapd"), Is.EqualTo(0));
        long pgscan = Stat(m, "/top/small", "pgscan");
        Assert.That(pgscan, Is.GreaterThan(0));
        Assert.That(m.Env.Counters.Get("pgscan_anon"), Is.EqualTo(pgscan));
        Assert.That(m.Env.Counters.Get("pgscan_file"), Is.EqualTo(0), "big's page cache was never scanned");
        Assert.That(Stat(m, "/top", "pgscan"), Is.EqualTo(pgscan), "hierarchical: the parent shows its child's scans");
        Assert.That(Stat(m, "/big", "pgscan"), Is.EqualTo(0));
        Assert.That(Stat(m, "/top/small", "pgsteal"), Is.EqualTo(m.Env.Counters.Get("pgsteal_anon")));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void MemoryStatLruSizesAreTheLruvecLists()
    {
        using var m = Build(Scenario("linux"));
        Advance(m, 300 + 512);
        MemcgController mc = m.Kernel.Memcg!;
        // By definition: the group's frames with PG_lru, by PG_swapbacked and PG_active, less those still in an
        // lru_add batch (not on a list yet, as in Linux).
        foreach (string name in new[] { "small", "big" })
        {
            MemCgroup g = mc.Find(name);
            var lv = (Lruvec)g.Lruvec;
            long ia = 0, aa = 0, ifl = 0, af = 0;
            Frame[] fr = m.Kernel.Zone.Frames;
            for (int pfn = 0; pfn < fr.Length; pfn++)
            {
                if ((fr[pfn].Flags & FrameFlags.Lru) == 0 || mc.OfFrame(pfn) != g || lv.InBatch(pfn))
                    continue;
                bool anon = (fr[pfn].Flags & FrameFlags.SwapBacked) != 0, active = (fr[pfn].Flags & FrameFlags.Active) != 0;
                if (anon) { if (active) aa++; else ia++; }
                else { if (active) af++; else ifl++; }
            }
            string path = g.Path;
            Assert.That(Stat(m, path, "inactive_anon"), Is.EqualTo(ia * 4096), path);
            Assert.That(Stat(m, path, "active_anon"), Is.EqualTo(aa * 4096), path);
            Assert.That(Stat(m, path, "inactive_file"), Is.EqualTo(ifl * 4096), path);
            Assert.That(Stat(m, path, "active_file"), Is.EqualTo(af * 4096), path);
        }
        Assert.That(Stat(m, "/big", "inactive_file") + Stat(m, "/big", "active_file"), Is.GreaterThan(0));
        Assert.That(Stat(m, "/top/small", "inactive_anon") + Stat(m, "/top/small", "active_anon"), Is.GreaterThan(0));
    }

    [Test]
    public void TheSimplePoliciesKeepTheirPerGroupInstance()
    {
        using var m = Build(Scenario("lru"));
        Advance(m, 300 + 512);
        MemcgController mc = m.Kernel.Memcg!;
        Assert.That(m.Kernel.Lruvec, Is.Null);
        Assert.That(mc.Groups.Select(g => g.Lruvec), Has.None.InstanceOf<Lruvec>());
        MemCgroup small = mc.Find("small");
        Assert.That(small.Usage, Is.LessThanOrEqualTo(256));
        Assert.That(small.SwapUsage, Is.GreaterThan(0));
        Assert.That(mc.ChargedPages(mc.Find("big")), Is.EqualTo(300));
        Assert.That(small.PgScanDirect, Is.GreaterThan(0), "the victim scan counts on the group");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
