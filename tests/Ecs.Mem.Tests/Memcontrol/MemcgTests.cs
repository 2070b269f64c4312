using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// Memory cgroups (mm/memcontrol.c, v2 semantics): charges computed by hand, limit reclaim confined to the group,
/// the OOM killer restricted to the group, memory.low protection, and the charge invariants.
/// </summary>
public class MemcgTests
{
    internal const string Base = "0x7f0000000000";

    internal static SimMachine Build(string yaml) => ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "memcg.yaml"));

    /// <summary>Runs until <paramref name="accesses"/> accesses of all processes together have completed (the processes stay alive).</summary>
    internal static void Advance(SimMachine m, long accesses)
    {
        m.Access.AccessLimit = accesses;
        long guard = 0;
        while (!m.Access.Finished && (m.Access.CompletedAccesses < accesses || m.Env.HasPendingWork))
        {
            m.Env.RunTick();
            Assert.That(++guard, Is.LessThan(50_000_000), "the run did not reach the access count");
        }
        m.Access.AccessLimit = long.MaxValue;
    }

    private static string Writer(string name, string cgroup, int pages, int count, string start = "0", string addr = Base) =>
        $"  - name: {name}\n    cgroup: {cgroup}\n    start: {start}\n    layout: {{exec: {{}}}}\n" +
        $"    workload: {{generator: \"seq:count={count},base={addr},pages={count},writes=1\"}}\n";

    private static string Map(string name, string addr, int pages, string at = "0") =>
        $"  - at: {at}\n    process: {name}\n    mmap: {{addr: {addr}, length: {pages * 4096}, prot: rw-, flags: private, fixed: true}}\n";

    /// <summary>The folios of <paramref name="g"/> waiting in a CPU's lru_add batch (each holds its charge until the batch moves).</summary>
    private static int Batched(SimMachine m, MemCgroup g) =>
        Enumerable.Range(0, m.Kernel.Zone.Frames.Length).Count(p => m.Kernel.LruAddBatches!.InBatch(p) && m.Kernel.Memcg!.OfFrame(p) == g);

    [Test]
    public void AnonymousPagesAndPageTablesAreChargedToTheWritersGroup()
    {
        // 256 pages written in one 2 MiB-aligned megabyte: 256 anonymous pages, and the page tables the walk needs
        // on x86-64 4-level paging: PGD, PUD, PMD, one PTE page = 4, and the PGD's second page (PTI's
        // PGD_ALLOCATION_ORDER 1, charged and counted in pagetables) = 5. The group's parent holds the same charge.
        string yaml = "machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: top}\n  - {name: box, parent: top}\n" +
            "processes:\n" + Writer("w", "box", 300, 300) + "timeline:\n" + Map("w", Base, 300);
        using var m = Build(yaml);
        Advance(m, 256);
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup box = mc.Find("box"), top = mc.Find("top");
        Assert.That(box.PageTables, Is.EqualTo(5));
        Assert.That(mc.ChargedPages(box), Is.EqualTo(256 + 5));
        Assert.That(box.Usage - mc.ChargedPages(box), Is.InRange(0, MemcgController.ChargeBatch - 1), "memory.current also holds the CPU's stock");
        Assert.That(top.Usage, Is.EqualTo(box.Usage), "hierarchical: the parent's counter holds the child's charge");
        Assert.That(mc.Root.Usage, Is.EqualTo(box.Usage), "nothing else was charged");
        var stat = EcsMem.Systems.Reporting.MemcgFiles.Read(m.Kernel).Single(f => f.Path == "/top/box").Stat;
        Assert.That(stat.Single(v => v.Name == "anon").Value, Is.EqualTo(256L * 4096));
        Assert.That(stat.Single(v => v.Name == "pagetables").Value, Is.EqualTo(5L * 4096));
        Assert.That(stat.Single(v => v.Name == "file").Value, Is.EqualTo(0));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        m.Run();
        // The exit leaves the last 300 mod 31 = 21 written folios in CPU 0's lru_add batch (300 = 9 x 31 + 21; exit does
        // not drain it, Linux 6.18): still charged until lru_add_drain_all.
        Assert.That(mc.ChargedPages(box), Is.EqualTo(21), "the exit uncharged every page but the batch's");
        Assert.That(Batched(m, box), Is.EqualTo(21));
        m.Kernel.LruAddDrainAll();
        Assert.That(mc.ChargedPages(box), Is.EqualTo(0), "the drain uncharged the rest");
        // What is left is the CPU's stocks (Linux drains them only under pressure): its page stock, and the page charged
        // for the mm's kernel objects (mm_struct, VMAs, anon_vma: < 4 KiB), whose bytes went back to the object stock
        // (refill_obj_stock gives whole pages back only above a page).
        Assert.That(box.Usage, Is.EqualTo(mc.Stocked(box) + 1));
        Assert.That(mc.ObjStockOn(0, box), Is.EqualTo(4096));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void HugetlbPagesAreNotChargedToTheGroup()
    {
        // cgroup v2 with memory_hugetlb_accounting off (the default): a task in a 1 MiB group writes 4 MiB of
        // MAP_HUGETLB memory (two pool pages) without reclaim or OOM; the group is charged only its page tables.
        string yaml = "machine: {ram: 64M, swap: 0, hugetlb: {nr_hugepages: 2}}\ncgroups:\n  - {name: box, memory.max: 1M}\n" +
            "processes:\n" + Writer("w", "box", 1024, 1024) +
            "timeline:\n  - at: 0\n    process: w\n    mmap: {addr: " + Base + ", length: 4194304, prot: rw-, flags: private, fixed: true, hugetlb: true}\n";
        using var m = Build(yaml);
        Advance(m, 1024);
        MemCgroup box = m.Kernel.Memcg!.Find("box");
        Assert.That(m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]).MinFlt, Is.EqualTo(2), "one fault per huge page");
        Assert.That(m.Kernel.Memcg!.ChargedPages(box), Is.EqualTo(box.PageTables), "only the page tables are charged");
        Assert.That(m.Kernel.Hugetlb.FreeHugePages, Is.Zero);
        Assert.That(m.Env.Counters.Get("pgscan_direct") + m.Env.Counters.Get("oom_kill"), Is.Zero);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void ALimitedGroupReclaimsAndSwapsOnlyItsOwnPages()
    {
        // big: no limit; its reader caches 300 file pages and exits (the page cache stays charged to big). small:
        // memory.max 1 MiB (256 pages), 512 pages written. The machine has 64 MiB, so only the limit reclaims: every
        // swapped page is small's, and big keeps all its cache although it is colder than anything of small's.
        string yaml = "machine: {ram: 64M, swap: 16M, read_ahead_kb: 0, fault_around_bytes: 4096}\ncgroups:\n  - {name: small, memory.max: 1M}\n  - {name: big}\n" +
            "processes:\n  - name: b\n    cgroup: big\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=300,base=" + Base + ",pages=300\"}\n" +
            Writer("s", "small", 600, 600, start: "1000000000") +
            "timeline:\n  - at: 0\n    process: b\n    mmap: {addr: " + Base + ", length: 1228800, prot: r--, flags: private, file: /data/f, fixed: true}\n" +
            Map("s", Base, 600, at: "1000000000");
        using var m = Build(yaml);
        Advance(m, 300 + 512); // b's 300 pages, then 512 of s's
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup small = mc.Find("small"), big = mc.Find("big");
        Assert.That(small.Usage, Is.LessThanOrEqualTo(256), "memory.max holds");
        Assert.That(small.SwapUsage, Is.GreaterThan(0));
        // Every page written is either resident (charged) or in swap: 512 anon pages plus the group's page tables.
        Assert.That(small.Usage - small.PageTables + small.SwapUsage, Is.GreaterThanOrEqualTo(512));
        Assert.That(big.SwapUsage, Is.EqualTo(0));
        Assert.That(m.Kernel.Memcg!.ChargedPages(big), Is.EqualTo(300), "the other group lost nothing");
        Assert.That(m.Env.Counters.Get("pswpout"), Is.EqualTo(small.SwapUsage), "no swap entry was freed yet");
        Assert.That(small.Events[(int)MemcgEvent.Max], Is.GreaterThan(0));
        Assert.That(m.Env.Counters.Get("pgscan_direct") + m.Env.Counters.Get("pgscan_kswapd"), Is.EqualTo(0),
            "cgroup reclaim is counted in the group's memory.stat, not in /proc/vmstat");
        var stat = EcsMem.Systems.Reporting.MemcgFiles.Read(m.Kernel).Single(f => f.Path == "/small").Stat;
        long scan = stat.Single(v => v.Name == "pgscan_direct").Value, steal = stat.Single(v => v.Name == "pgsteal_direct").Value;
        Assert.That(scan, Is.GreaterThanOrEqualTo(steal).And.GreaterThan(0));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void AGroupWithoutSwapOomKillsInsideItself()
    {
        // No swap: the group at its 1 MiB limit has nothing to reclaim (anonymous pages only), so after
        // MAX_RECLAIM_RETRIES the group's OOM killer kills its task; the bigger process outside is not a candidate.
        string yaml = "machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: small, memory.max: 1M}\n" +
            "processes:\n  - name: hog\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=2000,base=" + Base + ",pages=2000,writes=1\"}\n" +
            Writer("s", "small", 600, 600, start: "1000000000") +
            "timeline:\n" + Map("hog", Base, 2000) + Map("s", Base, 600, at: "1000000000");
        using var m = Build(yaml);
        m.Run();
        MemCgroup small = m.Kernel.Memcg!.Find("small");
        Assert.That(m.Kernel.Oom.Log, Has.Count.EqualTo(1));
        Assert.That(m.Kernel.Oom.Log[0], Does.StartWith("Memory cgroup out of memory: Killed process 2 (s)"));
        Assert.That(small.Events[(int)MemcgEvent.Oom], Is.EqualTo(1));
        Assert.That(small.Events[(int)MemcgEvent.OomKill], Is.EqualTo(1));
        Assert.That(m.Kernel.World.Get<Process>(m.Kernel.Tasks.Processes[0]).State, Is.EqualTo(ProcessState.Exited), "the hog outside the group finished");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void ACgroupOomKillsAsTheRecordedKernelDoes()
    {
        // Recorded on this project's machine (Linux 6.18.44, cgroup v1 memory controller, no swap, 3 runs,
        // 2026-12-05): a program mmaps 32 MiB anonymous and stores to every page inside a group with
        // memory.limit_in_bytes 16M. Every run: killed by SIGKILL (exit 137), memory.oom_control oom_kill 1, dmesg
        // "memory: usage 16384kB, limit 16384kB" and "Memory cgroup out of memory: Killed process N (oom)
        // total-vm:35112kB, anon-rss:16256kB, file-rss:864-980kB, shmem-rss:0kB, UID:0 pgtables:68-72kB
        // oom_score_adj:0". The kernel's anon-rss + pgtables (16,324-16,328 kB) is the limit less its other kernel
        // objects (slab, per-CPU: 14-15 pages, the real process's 20-odd VMAs, its creds, files and proc inodes among
        // them); its file-rss is libc's page cache, charged to the root. EcsMem's process has fewer objects: its
        // mm_struct, rss counters, VMAs, anon_vma and chain, exec's file and cred (< 4 KiB) take one page of the group's kernel
        // memory. So EcsMem's victim holds at least the kernel's anon-rss, and its anon-rss + pgtables is the limit less that page.
        // The kit's memcg-oom-kill holds the same kill against 5 recorded runs (a forked child killed by SIGKILL,
        // oom_kill 1, max_usage_in_bytes the limit; oracle/programs/memcg-oom-kill.phases).
        string yaml = "machine: {ram: 256M, swap: 0}\ncgroups:\n  - {name: box, memory.max: 16M}\n" +
            "processes:\n  - name: oom\n    cgroup: box\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=8192,base=" + Base + ",pages=8192,writes=1\"}\n" +
            "timeline:\n" + Map("oom", Base, 8192);
        using var m = Build(yaml);
        m.Run();
        Assert.That(m.Kernel.Oom.Log, Has.Count.EqualTo(1));
        string line = m.Kernel.Oom.Log[0];
        Assert.That(line, Does.StartWith("Memory cgroup out of memory: Killed process 1 (oom) total-vm:"));
        var anon = System.Text.RegularExpressions.Regex.Match(line, "anon-rss:([0-9]+)kB");
        var pgtables = System.Text.RegularExpressions.Regex.Match(line, "pgtables:([0-9]+)kB");
        long anonKb = long.Parse(anon.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        long tablesKb = long.Parse(pgtables.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(anonKb, Is.GreaterThanOrEqualTo(16256));
        // pgtables in the line counts the tables below the pgd; the group is charged for the pgd's two pages too (PTI's
        // order-1 PGD), and the object page.
        Assert.That(anonKb + tablesKb + 8 + 4, Is.EqualTo(16384));
        MemCgroup box = m.Kernel.Memcg!.Find("box");
        Assert.That(box.Events[(int)MemcgEvent.OomKill], Is.EqualTo(1));
        Assert.That(box.Events[(int)MemcgEvent.Oom], Is.EqualTo(1));
        // The victim's last folios wait in its CPU's lru_add batch past the exit (Linux 6.18 does not drain it there).
        Assert.That(m.Kernel.Memcg!.ChargedPages(box), Is.EqualTo(Batched(m, box)).And.InRange(1, 30), "the victim's exit uncharged everything but the batch's");
        m.Kernel.LruAddDrainAll();
        Assert.That(m.Kernel.Memcg!.ChargedPages(box), Is.EqualTo(0), "the drain uncharged the rest");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void FramelessKernelPagesChargedBeforeTheRunLeaveTheVictimThatMuchLessRoom()
    {
        // The kit's what-if of record.sh's exec chain's page tables (27 pages waiting for tlb_remove_table_rcu when the
        // kernel's memcg-oom-kill is killed; oracle/experiments/oom-kill-state): charged to the group before the process
        // runs, they stay charged through the OOM kill. The same scenario as above gives anon-rss + pgtables + 8 kB (the
        // PTI PGD's two pages) + 4 kB (the object page) = 16,384 kB; with the 27 pages (108 kB) charged first, the kill
        // comes 108 kB of anon-rss sooner: anon-rss + pgtables + 8 + 4 + 108 = 16,384 kB.
        string yaml = "machine: {ram: 256M, swap: 0}\ncgroups:\n  - {name: box, memory.max: 16M}\n" +
            "processes:\n  - name: oom\n    cgroup: box\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=8192,base=" + Base + ",pages=8192,writes=1\"}\n" +
            "timeline:\n" + Map("oom", Base, 8192);
        using var m = Build(yaml);
        MemCgroup box = m.Kernel.Memcg!.Find("box");
        long rootBefore = m.Kernel.Memcg.Root.Usage;
        var before = (box.Usage, box.Kmem, box.KmemObjPages);
        m.Kernel.Memcg.MemcgKmemChargePages(box, 27);
        Assert.That((box.Usage, box.Kmem, box.KmemObjPages), Is.EqualTo((before.Usage + 27, before.Kmem + 27, before.KmemObjPages + 27)));
        m.Kernel.Memcg.MemcgKmemChargePages(m.Kernel.Memcg.Root, 5);
        Assert.That(m.Kernel.Memcg.Root.Usage, Is.EqualTo(rootBefore + 27), "the root group is not charged; its child's 27 count in it");
        m.Run();
        Assert.That(m.Kernel.Oom.Log, Has.Count.EqualTo(1));
        string line = m.Kernel.Oom.Log[0];
        long anonKb = long.Parse(System.Text.RegularExpressions.Regex.Match(line, "anon-rss:([0-9]+)kB").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        long tablesKb = long.Parse(System.Text.RegularExpressions.Regex.Match(line, "pgtables:([0-9]+)kB").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(anonKb + tablesKb + 8 + 4 + 27 * 4, Is.EqualTo(16384));
        Assert.That(m.Kernel.Memcg.ChargedPages(box), Is.EqualTo(Batched(m, box)).And.InRange(1, 30), "the victim's exit uncharged every frame but its lru_add batch's");
        m.Kernel.LruAddDrainAll();
        Assert.That(m.Kernel.Memcg.ChargedPages(box), Is.EqualTo(0), "the drain uncharged the rest");
        Assert.That(box.KmemObjPages, Is.GreaterThanOrEqualTo(27), "and not the 27 frameless pages");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    // The simple `lru` policy: with the Linux lruvec, a's 200 inactive file pages count in the reclaim target's
    // (parent's, hierarchical) inactive file, so prepare_scan_control sets cache_trim_mode and get_scan_count scans
    // only file pages, of which b has none; the pass reclaims nothing and do_try_to_free_pages retries with
    // memcg_low_reclaim, taking a's cache after all (as Linux's direct and cgroup reclaim do: only kswapd has
    // no_cache_trim_mode). The protection walk itself is the same for every policy.
    private static string LowScenario(string low) =>
        "machine: {ram: 64M, swap: 16M, read_ahead_kb: 0, fault_around_bytes: 4096, policy: lru}\n" +
        "cgroups:\n  - {name: parent, memory.max: 2M}\n  - {name: a, parent: parent, memory.low: " + low + "}\n  - {name: b, parent: parent}\n" +
        "processes:\n  - name: reader\n    cgroup: a\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=200,base=" + Base + ",pages=200\"}\n" +
        Writer("w", "b", 600, 600, start: "1000000000") +
        "timeline:\n  - at: 0\n    process: reader\n    mmap: {addr: " + Base + ", length: 819200, prot: r--, flags: private, file: /data/f, fixed: true}\n" + Map("w", Base, 600, at: "1000000000");

    [Test]
    public void MemoryLowKeepsAGroupsPageCacheWhileItsSiblingReclaims()
    {
        // a reads 200 file pages and exits: its page cache stays charged to a. b then writes 600 pages under the
        // parent's 2 MiB (512-page) limit. With memory.low 1200K (300 pages) a is below its protection and keeps every
        // page; without it, the parent's reclaim takes a's cold cache first. (a's usage, which memory.low is held
        // against, also counts the CPU's stock of a's charge, up to 63 pages, and its freed page tables go back to
        // that stock: a memory.low of 256 pages is not enough.)
        using (var m = Build(LowScenario("1200K")))
        {
            m.Run();
            MemCgroup a = m.Kernel.Memcg!.Find("a");
            Assert.That(m.Kernel.Memcg!.ChargedPages(a), Is.EqualTo(200), "protected: all 200 page-cache pages stay");
            Assert.That(m.Kernel.Memcg!.Find("b").SwapUsage, Is.EqualTo(0), "b exited: its swap entries are freed");
            Assert.That(m.Kernel.Memcg!.Find("parent").Events[(int)MemcgEvent.Max], Is.GreaterThan(0));
            Assert.That(InvariantChecker.Check(m), Is.Empty);
        }
        using (var m = Build(LowScenario("0")))
        {
            m.Run();
            Assert.That(m.Kernel.Memcg!.ChargedPages(m.Kernel.Memcg!.Find("a")), Is.LessThan(200), "unprotected: reclaim took some of a's cache");
        }
    }

    [Test]
    public void ScenarioErrorsNameTheFileLineAndValue()
    {
        var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader(
            "cgroups:\n  - {name: a, parent: nope}\nprocesses:\n  - name: p\n    workload: {generator: \"seq:count=1\"}\n"), "bad.yaml"));
        Assert.That(e!.Message, Does.Contain("bad.yaml:2").And.Contain("nope"));
        e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader(
            "processes:\n  - name: p\n    cgroup: ghost\n    workload: {generator: \"seq:count=1\"}\n"), "bad.yaml"));
        Assert.That(e!.Message, Does.Contain("bad.yaml:3").And.Contain("ghost"));
    }

    [Test]
    public void MemoryHighReclaimsTheGroupBackTowardsItsHigh()
    {
        // 1,024 anonymous pages written by a group with memory.high 1M (256 pages), no memory.max, on a machine with
        // RAM to spare: only mem_cgroup_handle_over_high's reclaim_high, at each return to user space above high, can
        // push pages out. So the group never stands far above high (by definition at most high, plus the charges of one
        // fault above it before the task returns, plus the CPU's stock of ChargeBatch pages), and what it wrote beyond
        // that went to swap. (Session 14: the reclaim was queued after the tick's reclaim stage and dropped, so only
        // the throttle acted and the group grew to all 1,024 pages.)
        string yaml = "machine: {ram: 64M, swap: 16M, read_ahead_kb: 0, fault_around_bytes: 4096}\n" +
            "cgroups:\n  - {name: h, memory.high: 1M}\nprocesses:\n" + Writer("w", "h", 1024, 1024) +
            "timeline:\n" + Map("w", Base, 1024);
        using var m = Build(yaml);
        MemCgroup h = m.Kernel.Memcg!.Find("h");
        long highest = 0, swapped = 0;
        m.Run(() =>
        {
            highest = Math.Max(highest, h.Usage);
            swapped = Math.Max(swapped, h.SwapUsage);
            return false;
        }, checkEvery: 1);
        Assert.That(h.Events[(int)MemcgEvent.High], Is.GreaterThan(0), "memory.events high");
        Assert.That(highest, Is.LessThanOrEqualTo(256 + 8 + (2 * MemcgController.ChargeBatch)), "held near memory.high");
        Assert.That(swapped, Is.GreaterThanOrEqualTo(1024 - highest), "the rest was reclaimed to swap");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void PageTableChargeAtMemoryMaxReclaimsTheGroup()
    {
        // A group with memory.max 1M (256 pages) whose task writes one page in each of 150 fresh 2 MiB ranges: every
        // fault allocates a PTE table (GFP_PGTABLE_USER = GFP_KERNEL | __GFP_ACCOUNT) and then its page, 300 charges
        // in all. try_charge_memcg reclaims the group (try_to_free_mem_cgroup_pages, SWAP_CLUSTER_MAX) before it
        // charges either, so by the kernel's rule the group never stands above its limit between two steps, and what
        // does not fit went to swap. (Before session 15 a table's charge was forced at the install, after the tick's
        // reclaim stage, and left the group a page above memory.max.)
        string yaml = "machine: {ram: 1G, swap: 16M, read_ahead_kb: 0, fault_around_bytes: 4096}\n" +
            "cgroups:\n  - {name: g, memory.max: 1M}\nprocesses:\n" +
            "  - name: w\n    cgroup: g\n    layout: {exec: {}}\n" +
            $"    workload: {{generator: \"seq:count=150,base={Base},region=314572800,elem=2097152,writes=1\"}}\n" +
            "timeline:\n  - at: 0\n    process: w\n" +
            $"    mmap: {{addr: {Base}, length: 314572800, prot: rw-, flags: private, fixed: true}}\n";
        using var m = Build(yaml);
        MemCgroup g = m.Kernel.Memcg!.Find("g");
        long highest = 0, tables = 0, swapped = 0;
        m.Run(() =>
        {
            highest = Math.Max(highest, g.Usage);
            tables = Math.Max(tables, g.PageTables);
            swapped = Math.Max(swapped, g.SwapUsage);
            return false;
        }, checkEvery: 1);
        Assert.That(tables, Is.GreaterThanOrEqualTo(150), "one PTE table per range written");
        Assert.That(highest, Is.LessThanOrEqualTo(g.Max), "never above memory.max between two steps");
        Assert.That(g.Events[(int)MemcgEvent.Max], Is.GreaterThan(0), "memory.events max");
        Assert.That(swapped, Is.GreaterThanOrEqualTo(300 - 256), "what did not fit was reclaimed to swap");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void HighDelayFollowsCalculateHighDelay()
    {
        // usage = 2 × high: overage = 1 << 20; penalty = 2^40 × 250 >> 34 = 16,000 jiffies for a batch of 64 pages,
        // 250 for one page (1 s at HZ 250).
        Assert.That(MemcgController.HighDelayJiffies(64, 1UL << 20), Is.EqualTo(16000));
        Assert.That(MemcgController.HighDelayJiffies(1, 1UL << 20), Is.EqualTo(250));
        Assert.That(MemcgController.HighDelayJiffies(1, 0), Is.EqualTo(0));
    }
}
