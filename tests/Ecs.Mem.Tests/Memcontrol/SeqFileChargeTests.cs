using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// The accounted objects of an open seq_file (MemcgController.SeqFileOpen / SeqFileRelease): a cgroup v1 file's open
/// and first read take a filp (192 + 8 bytes), a seq_file (120 + 8) and seq_read_iter's 4 KiB buffer (4,096 + 8),
/// charged through the CPU's object stock (obj_cgroup_charge: whole pages when the stock runs short, the unused bytes
/// to the stock) and freed at close (obj_cgroup_uncharge: the stock's whole pages above a page go to the page stock).
/// As traced on 6.18 for the kit harness's phase_end reads (oracle/experiments/phase-end-charge, results/session25.txt:
/// alloc_empty_file 192, seq_open 120, seq_read_iter 4096 per memory.stat read, and memcg reclaims started by
/// seq_read_iter's kvmalloc and alloc_empty_file when the group stood at its limit). Expected figures by hand.
/// </summary>
public class SeqFileChargeTests
{
    private const string Base = MemcgTests.Base;
    private const string Stat = "/sys/fs/cgroup/memory/a/memory.stat";

    [Test]
    public void AnOpenMemoryStatHoldsItsFilpSeqFileAndBufferUntilItsClose()
    {
        using SimMachine m = MemcgTests.Build("machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: a}\n" +
            "processes:\n  - name: p\n    cgroup: a\n    start: 1000000000\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=1,base=" + Base + ",pages=1\"}\n");
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup a = mc.Find("a");
        var proc = m.Kernel.Tasks.Processes[0];
        int mmId = m.Kernel.Tasks.MmOf(proc).Id;
        // Bring the object stock below a filp's 200 bytes (vm_area_struct objects of 200 bytes each), so that the filp
        // needs a page of its own.
        while (mc.ObjStockOn(0, a) >= 200)
            mc.ObjCgroupCharge(a, KmemCache.VmAreaStruct, 0);
        if (mc.ObjStockOn(0, a) == 0)
        {
            // An empty stock: an anon_vma_chain (64 + 8) takes a page, 4,024 bytes stay, 24 after twenty more VMAs.
            mc.ObjCgroupCharge(a, KmemCache.AnonVmaChain, 0);
            while (mc.ObjStockOn(0, a) >= 200)
                mc.ObjCgroupCharge(a, KmemCache.VmAreaStruct, 0);
        }
        int s = mc.ObjStockOn(0, a);
        Assert.That(s, Is.GreaterThan(0).And.LessThan(200), "precondition: a stock left below one filp, not empty");
        Assert.That(mc.StockOn(0, a), Is.GreaterThanOrEqualTo(3), "precondition: the exec's 64-page batch left pages stocked");
        long kmem = a.Kmem, usage = a.Usage, slab = a.SlabUnreclaimable;
        int pages = mc.StockOn(0, a);

        mc.SeqFileOpen(m.Env, proc, mmId, tgid: 1, fd: 3, Stat, cpu: 0);
        // filp 200 > s: one page (from the page stock), 3,896 bytes to the object stock; seq_file 128 from it; the
        // buffer's 4,104 > s + 3,768: two pages (page stock), 8,192 − 4,104 = 4,088 bytes to the object stock.
        Assert.That(a.Kmem, Is.EqualTo(kmem + 3));
        Assert.That(a.SlabUnreclaimable, Is.EqualTo(slab + 200 + 128 + 4104));
        Assert.That(mc.ObjStockOn(0, a), Is.EqualTo(s + 3896 - 128 + 4088));
        Assert.That(mc.StockOn(0, a), Is.EqualTo(pages - 3), "three pages came from the page stock");
        Assert.That(a.Usage, Is.EqualTo(usage), "the page counter did not move");

        mc.SeqFileRelease(tgid: 1, fd: 3, cpu: 0);
        // The buffer back: s + 11,960 bytes, two whole pages go to the page stock (s + 3,768 stay); the seq_file and
        // the filp back: s + 4,096 > a page, one more page goes (s stays).
        Assert.That(a.Kmem, Is.EqualTo(kmem));
        Assert.That(a.SlabUnreclaimable, Is.EqualTo(slab));
        Assert.That(mc.ObjStockOn(0, a), Is.EqualTo(s));
        Assert.That(mc.StockOn(0, a), Is.EqualTo(pages));
        Assert.That(a.Usage, Is.EqualTo(usage));
        // A second release of the same descriptor frees nothing.
        mc.SeqFileRelease(tgid: 1, fd: 3, cpu: 0);
        Assert.That(a.Kmem, Is.EqualTo(kmem));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void TheObjectsOfEachKindOfFileAreTheTracedOnes()
    {
        // oracle/experiments/phase-end-charge/results/session25.txt, one phase_end of swap-anon-read: smaps
        // (alloc_empty_file, __seq_open_private 192, seq_open, seq_read_iter 4096), smaps_rollup (+ smaps_rollup_open
        // 192, single_open 32), memory.stat and the other cgroup files (filp, seq_file, buffer), /proc/meminfo
        // (single_open 32), /proc/vmstat (proc_reg_open's pde_opener 40).
        Assert.That(MemcgController.SeqFileObjects("/proc/self/smaps")!.Select(MemcgController.SlotSize), Is.EqualTo(new[] { 192, 192, 120, 4096 }));
        Assert.That(MemcgController.SeqFileObjects("/proc/self/smaps_rollup")!.Select(MemcgController.SlotSize), Is.EqualTo(new[] { 192, 192, 32, 120, 4096 }));
        Assert.That(MemcgController.SeqFileObjects(Stat)!.Select(MemcgController.SlotSize), Is.EqualTo(new[] { 192, 120, 4096 }));
        Assert.That(MemcgController.SeqFileObjects("/proc/meminfo")!.Select(MemcgController.SlotSize), Is.EqualTo(new[] { 192, 32, 120, 4096 }));
        Assert.That(MemcgController.SeqFileObjects("/proc/vmstat")!.Select(MemcgController.SlotSize), Is.EqualTo(new[] { 192, 40, 120, 4096 }));
        Assert.That(MemcgController.SeqFileObjects("/data/f"), Is.Null, "a regular file's open charges no seq_file");
    }

    [Test]
    public void AnOpenThatFindsTheGroupAtItsLimitReclaimsItOnce()
    {
        // memory.max 1 MiB (256 pages), 400 pages written with swap: the group cycles at its limit. Taken exactly to it,
        // a memory.stat open's charges are forced above it and one reclaim follows (try_charge_memcg's
        // try_to_free_mem_cgroup_pages: at least SWAP_CLUSTER_MAX = 32 pages), counted once in memory.events max; a
        // second open at the same instant shares it.
        using SimMachine m = MemcgTests.Build("machine: {ram: 64M, swap: 16M}\ncgroups:\n  - {name: a, memory.max: 1M}\n" +
            "processes:\n  - name: p\n    cgroup: a\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=400,base=" + Base + ",pages=400,writes=1\"}\n" +
            "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: " + Base + ", length: 1638400, prot: rw-, flags: private, fixed: true}\n");
        MemcgTests.Advance(m, 300);
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup a = mc.Find("a");
        var proc = m.Kernel.Tasks.Processes[0];
        int mmId = m.Kernel.Tasks.MmOf(proc).Id;
        mc.DrainAllStock(a); // no page stocked: the filp's page must come from the counter
        long margin = MemcgController.Margin(a);
        mc.ChargeForce(a, margin); // stands for pages charged to no frame: taken off again before the invariants
        Assert.That(a.Usage, Is.EqualTo(a.Max));
        long pgpgout = a.PgPgOut, max = a.Events[(int)MemcgEvent.Max];

        mc.SeqFileOpen(m.Env, proc, mmId, tgid: 1, fd: 3, Stat, cpu: 0);
        Assert.That(a.Usage, Is.GreaterThan(a.Max), "charged anyway (the reclaim comes after)");
        mc.SeqFileOpen(m.Env, proc, mmId, tgid: 1, fd: 4, Stat, cpu: 0);
        Assert.That(a.Events[(int)MemcgEvent.Max], Is.EqualTo(max + 1), "one reclaim for both opens");
        long charged = a.Usage;
        // The writer stays where it is; the reclaim and its swap writes run to their end.
        m.Access.AccessLimit = m.Access.CompletedAccesses;
        for (int guard = 0; m.Env.HasPendingWork || m.Env.Events.Count > 0 && guard < 100_000; guard++)
            m.Env.RunTick();
        Assert.That(a.PgPgOut - pgpgout, Is.GreaterThanOrEqualTo(32), "SWAP_CLUSTER_MAX pages at least");
        Assert.That(a.Usage, Is.LessThanOrEqualTo(a.Max));
        Assert.That(charged - a.Usage, Is.EqualTo(a.PgPgOut - pgpgout), "the reclaimed pages left the counter");
        mc.SeqFileRelease(1, 3, 0);
        mc.SeqFileRelease(1, 4, 0);
        mc.Uncharge(a, margin);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
