using EcsMem.Diagnostics;
using EcsMem.Systems.Machine;
using EcsMem.Scenarios;
using EcsMem.Systems.Memcontrol;
using static EcsMem.Tests.Memcontrol.MemcgTests;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// memory.swap.max (cgroup v2) beyond the charge: mm/vmscan.c's can_reclaim_anon_pages(memcg) asks
/// mem_cgroup_get_nr_swap_pages, the free swap limited by swap.max − swap usage of each group up to the root, so a
/// group at its swap limit scans no anon pages (get_scan_count's SCAN_FILE); mem_cgroup_swap_full treats a group at half
/// its swap.max as full swap. cgroup v1 (do_memsw_account) sees the machine's free swap, and has no swap.max.
/// </summary>
public class MemcgSwapMaxTests
{
    private static string Scenario(string swapMax, int version = 2) =>
        $"machine: {{ram: 64M, swap: 32M, cgroup_version: {version}}}\n" +
        $"cgroups:\n  - {{name: box, memory.max: 1M, memory.swap.max: {swapMax}}}\n" +
        "processes:\n  - name: w\n    cgroup: box\n    layout: {exec: {}}\n" +
        $"    workload: {{generator: \"seq:count=600,base={Base},pages=600,writes=1\"}}\n" +
        "timeline:\n" +
        $"  - at: 0\n    process: w\n    mmap: {{addr: {Base}, length: {600 * 4096}, prot: rw-, flags: private, fixed: true}}\n";

    [Test]
    public void AGroupWithNoSwapAllowedScansNoAnonAndOomKillsInsideItself()
    {
        // 600 anonymous pages written into a 1 MiB group whose swap.max is 0: mem_cgroup_get_nr_swap_pages is
        // min(free swap, 0 − 0) = 0, so every reclaim of the group is SCAN_FILE; it has no file pages, reclaims
        // nothing, and after MAX_RECLAIM_RETRIES the group's OOM killer kills its one task. Nothing reaches swap.
        using var m = Build(Scenario("0"));
        m.Run();
        MemCgroup box = m.Kernel.Memcg!.Find("box");
        Assert.That(m.Env.Counters.Get("pgscan_anon"), Is.Zero, "can_reclaim_anon_pages is false for the group");
        Assert.That(m.Env.Counters.Get("pswpout"), Is.Zero);
        Assert.That(box.SwapUsage, Is.Zero);
        Assert.That(box.Events[(int)MemcgEvent.OomKill], Is.EqualTo(1));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void AGroupSwapsUpToItsSwapMaxThenOomKills()
    {
        // swap.max 512K = 128 pages: reclaim swaps the group's pages out until 128 slots are charged to it
        // (__mem_cgroup_try_charge_swap refuses the 129th), then mem_cgroup_get_nr_swap_pages is 0 and reclaim scans
        // file only: the group OOM-kills its task with exactly 128 pages written to swap and charged.
        using var m = Build(Scenario("512K"));
        m.Run();
        MemCgroup box = m.Kernel.Memcg!.Find("box");
        Assert.That(m.Env.Counters.Get("pswpout"), Is.EqualTo(128));
        Assert.That(box.Events[(int)MemcgEvent.OomKill], Is.EqualTo(1));
        Assert.That(box.SwapUsage, Is.Zero, "the killed task's exit freed its swap entries and their charge");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void NrSwapPagesIsTheSmallestRoomUpTheHierarchy()
    {
        const string yaml = "machine: {ram: 64M, swap: 32M}\n" +
            "cgroups:\n  - {name: p, memory.swap.max: 1M}\n  - {name: c, parent: p, memory.swap.max: 4M}\n  - {name: free, memory.max: 4M}\n" +
            "processes:\n  - name: w\n    cgroup: c\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=1,base=" + Base + ",pages=1,writes=1\"}\n";
        using var m = Build(yaml);
        var mc = m.Kernel.Memcg!;
        long freeSwap = m.Kernel.Swap.FreePages; // 32 MiB = 8,192 pages less the swap header's page, none used yet
        Assert.That(freeSwap, Is.EqualTo(8191));
        Assert.That(m.Kernel.MemCgroupNrSwapPages(mc.Find("c")), Is.EqualTo(256), "min(8191, c: 1024 − 0, p: 256 − 0)");
        Assert.That(m.Kernel.MemCgroupNrSwapPages(mc.Find("p")), Is.EqualTo(256));
        Assert.That(m.Kernel.MemCgroupNrSwapPages(mc.Find("free")), Is.EqualTo(8191), "no swap.max: the machine's free swap");
        Assert.That(MemcgController.GetNrSwapPages(100, mc.Find("c")), Is.EqualTo(100), "the free swap is the bound when smaller");
        Assert.That(m.Kernel.MemCgroupNrSwapPages(mc.Find("")), Is.EqualTo(8191), "the root has no limit");
    }

    [Test]
    public void CgroupV1RefusesSwapMaxWithOneLine()
    {
        var e = Assert.Throws<InputException>(() => ScenarioParser.Parse(new StringReader(Scenario("4M", version: 1)), "v1.yaml"));
        Assert.That(e!.Message, Does.StartWith("v1.yaml:3:"));
        Assert.That(e.Message, Does.Contain("cgroups[0].memory.swap.max").And.Contain("cgroup v1 has no memory.swap.max"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
        // 'max' (the default) is what v1 has, and is accepted.
        Assert.That(() => ScenarioParser.Parse(new StringReader(Scenario("max", version: 1)), "v1.yaml"), Throws.Nothing);
    }
}
