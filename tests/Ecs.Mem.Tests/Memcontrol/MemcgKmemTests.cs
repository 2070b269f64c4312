using EcsMem.Systems.Filemap;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// Kernel memory charged to a memory cgroup beyond page tables (mm/memcontrol.c obj_cgroup_charge_account,
/// refill_obj_stock, drain_obj_stock; mm/slub.c __memcg_slab_post_alloc_hook): objects charged by their
/// obj_full_size (the slab slot + the 8-byte obj_cgroup pointer) through the CPU's byte stock, whole pages charged to
/// the group when the stock runs short. The expected figures are worked out by hand from those rules and the slot
/// sizes of /proc/slabinfo on the recording machine (vm_area_struct 192, anon_vma 104, anon_vma_chain 64,
/// mm_struct 1,600, radix_tree_node 584; oracle/experiments/kmem/results/settings.txt).
/// </summary>
public class MemcgKmemTests
{
    private const string Base = MemcgTests.Base;

    private static string Idle(string groups) =>
        "machine: {ram: 64M, swap: 0}\ncgroups:\n" + groups +
        "processes:\n  - name: p\n    cgroup: a\n    start: 1000000000\n    layout: {exec: {}}\n" +
        "    workload: {generator: \"seq:count=1,base=" + Base + ",pages=1\"}\n";

    [Test]
    public void ObjectsAreChargedThroughTheCpusByteStockAPageAtATime()
    {
        using SimMachine m = MemcgTests.Build(Idle("  - {name: a}\n  - {name: b}\n"));
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup a = mc.Find("a"), b = mc.Find("b");
        // A fresh group with nothing charged yet: the process (not started) charged its mm_struct and VMAs at exec.
        long kmem0 = a.Kmem, slab0 = a.SlabUnreclaimable;
        int stock0 = mc.ObjStockOn(0, a);
        Assert.That(kmem0, Is.EqualTo(a.PageTables + 1), "the exec'd mm's objects (< 4 KiB together) took one page");
        // vm_area_struct charges 192 + 8 = 200 bytes. Fill the stock's remainder, then one more object needs a page.
        int fit = stock0 / 200;
        for (int i = 0; i < fit; i++)
            mc.ObjCgroupCharge(a, KmemCache.VmAreaStruct, 0);
        Assert.That(a.Kmem, Is.EqualTo(kmem0), "consume_obj_stock: no page while the stock has the bytes");
        Assert.That(mc.ObjStockOn(0, a), Is.EqualTo(stock0 - (fit * 200)));
        int left = mc.ObjStockOn(0, a);
        mc.ObjCgroupCharge(a, KmemCache.VmAreaStruct, 0);
        Assert.That(a.Kmem, Is.EqualTo(kmem0 + 1), "obj_cgroup_charge_pages: one page for a 200-byte object");
        Assert.That(mc.ObjStockOn(0, a), Is.EqualTo(left + 4096 - 200), "the page's unused 3,896 bytes join the stock");
        Assert.That(a.SlabUnreclaimable, Is.EqualTo(slab0 + ((fit + 1) * 200L)));
        // Freeing them: the bytes go back to the stock; a stock above a page gives whole pages back (to the page stock:
        // memory.current keeps them until that is drained), never the last page's worth.
        for (int i = 0; i <= fit; i++)
            mc.ObjCgroupUncharge(a, KmemCache.VmAreaStruct, 0);
        Assert.That(a.SlabUnreclaimable, Is.EqualTo(slab0));
        Assert.That(a.Kmem, Is.EqualTo(kmem0), "the page charged for the extra object went back");
        Assert.That(mc.ObjStockOn(0, a), Is.EqualTo(stock0));
        // Another group's object on the same CPU: drain_obj_stock gives a's whole pages back (none here: the stock holds
        // less than a page) and parks the rest in a's nr_charged_bytes, which a's next stock takes over.
        long usageA = a.Usage;
        mc.ObjCgroupCharge(b, KmemCache.AnonVma, 0);
        Assert.That(mc.ObjStockOn(0, a), Is.Zero);
        Assert.That(mc.ObjStockOn(0, b), Is.EqualTo(4096 - 112), "anon_vma: 104 + 8 bytes of a fresh page");
        Assert.That(b.Kmem, Is.EqualTo(1));
        Assert.That(a.Usage, Is.EqualTo(usageA), "less than a page was stocked: nothing to uncharge");
        mc.ObjCgroupCharge(a, KmemCache.AnonVmaChain, 0);
        Assert.That(mc.ObjStockOn(0, a), Is.EqualTo(stock0 - 72), "a's parked bytes came back with its stock (64 + 8 used)");
        Assert.That(a.Kmem, Is.EqualTo(kmem0));
        // drain_all_stock (a charge that found no room after reclaim) drains the object stocks of the group too.
        mc.ObjCgroupCharge(b, KmemCache.MmStruct, 0);
        long kmemB = b.Kmem;
        mc.DrainAllStock(b);
        Assert.That(mc.ObjStockOn(0, b), Is.Zero);
        Assert.That(b.Kmem, Is.EqualTo(kmemB), "less than a page was stocked: nothing given back");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void AnAddressSpacesVmasAndAnonVmasAreItsGroupsSlab()
    {
        // Two non-adjacent 16-page mappings, the first written: each mmap adds a vm_area_struct (200 bytes), the
        // first write an anon_vma (112) and its chain link (72); munmap of the other one frees its VMA.
        string yaml = "machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: a}\n" +
            "processes:\n  - name: p\n    cgroup: a\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"loop:count=32,base=" + Base + ",pages=16,writes=1\"}\n" +
            "timeline:\n" +
            "  - at: 0\n    process: p\n    mmap: {addr: " + Base + ", length: 65536, prot: rw-, flags: private, fixed: true}\n" +
            "  - at: 0\n    process: p\n    mmap: {addr: 0x7f0000100000, length: 65536, prot: rw-, flags: private, fixed: true}\n" +
            "  - after: 8\n    process: p\n    munmap: {addr: 0x7f0000100000, length: 65536}\n";
        using SimMachine m = MemcgTests.Build(yaml);
        MemCgroup a = m.Kernel.Memcg!.Find("a");
        long exec = a.SlabUnreclaimable;
        Assert.That(exec % 200, Is.EqualTo((1608 + 24) % 200),
            "exec: the mm_struct (1,600 + 8), the binary's filp and the new cred (192 + 8 each), the cred's LSM blob (16 + 8), 200 bytes a VMA");
        MemcgTests.Advance(m, 2);
        Assert.That(a.SlabUnreclaimable, Is.EqualTo(exec + (2 * 200) + 112 + 72));
        MemcgTests.Advance(m, 20);
        Assert.That(a.SlabUnreclaimable, Is.EqualTo(exec + 200 + 112 + 72), "the unmapped VMA is freed");
        var stat = EcsMem.Systems.Reporting.MemcgFiles.Read(m.Kernel).Single(f => f.Path == "/a").Stat;
        Assert.That(stat.Single(v => v.Name == "slab_unreclaimable").Value, Is.EqualTo(a.SlabUnreclaimable));
        Assert.That(stat.Single(v => v.Name == "slab").Value, Is.EqualTo(a.SlabUnreclaimable));
        Assert.That(stat.Single(v => v.Name == "kernel").Value, Is.EqualTo(a.Kmem * 4096));
        Assert.That(a.Kmem, Is.EqualTo(a.PageTables + 1), "the objects (< 4 KiB) took one page");
        Assert.That(stat.Single(v => v.Name == "percpu").Value, Is.EqualTo(MemcgController.MmRssStatPercpuBytes), "the mm's rss counters");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
        m.Run();
        Assert.That(a.SlabUnreclaimable + a.Percpu, Is.Zero, "the exit freed every object");
        Assert.That(a.Kmem, Is.EqualTo(1), "one page's worth of bytes stays in the CPU's object stock");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void APageCacheXarrayHasANodePerSixtyFourSlotsAndOneAboveThem()
    {
        // A 256-page file read whole in a group with room: xarray slots 0–255 need 4 leaf nodes and the root above
        // them (two levels: 255 < 64²), 5 radix_tree_node objects of 584 + 8 bytes, slab_reclaimable.
        string yaml = "machine: {ram: 64M, swap: 0, read_ahead_kb: 1024, large_folios: false}\ncgroups:\n  - {name: a}\n" +
            "processes:\n  - name: r\n    cgroup: a\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=256,base=" + Base + ",pages=256\"}\n" +
            "timeline:\n  - at: 0\n    process: r\n    mmap: {addr: " + Base + ", length: 1048576, prot: r--, flags: private, file: /data/f, fixed: true}\n";
        using SimMachine m = MemcgTests.Build(yaml);
        MemcgTests.Advance(m, 256);
        MemCgroup a = m.Kernel.Memcg!.Find("a");
        Assert.That(m.Kernel.PageCache.Count, Is.EqualTo(256));
        Assert.That(m.Kernel.PageCache.XaNodeCount, Is.EqualTo(5));
        Assert.That(a.SlabReclaimable, Is.EqualTo(5 * 592));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void XarrayNodesFollowTheTreesHeight()
    {
        // Driven directly: an entry at index 0 alone lives in xa_head (no node); index 1 needs one node; index 64 a
        // second leaf and a root above both; removing index 64 frees its leaf (the tree keeps its height); removing
        // the rest empties the file's xarray.
        var pc = new PageCache();
        var counted = new CountingNodes();
        pc.Nodes = counted;
        pc.Add(7, 0, 100);
        Assert.That(pc.XaNodeCount, Is.Zero);
        pc.Add(7, 1, 101);
        Assert.That(pc.XaNodeCount, Is.EqualTo(1));
        pc.Add(7, 64, 102);
        Assert.That(pc.XaNodeCount, Is.EqualTo(3));
        pc.Delete(7, 64, shadow: 5);
        Assert.That(pc.XaNodeCount, Is.EqualTo(3), "a shadow entry keeps its slot, and so its node");
        pc.Add(7, 64, 103);
        pc.Delete(7, 64);
        Assert.That(pc.XaNodeCount, Is.EqualTo(2));
        pc.Delete(7, 1);
        pc.Delete(7, 0);
        Assert.That(pc.XaNodeCount, Is.Zero);
        Assert.That(counted.Live, Is.Zero, "every node charged was uncharged");
        Assert.That(counted.Allocated, Is.EqualTo(3));
    }

    private sealed class CountingNodes : IXaNodeAccount
    {
        public int Live, Allocated, Buffers, BufferGroupFreed = -1;

        public int NodeAlloc(int pfn)
        {
            Live++;
            Allocated++;
            return 1;
        }

        public void NodeFree(int group) => Live--;

        public int BufferAlloc(int pfn)
        {
            Buffers++;
            return pfn + 100;
        }

        public void BufferFree(int group)
        {
            Buffers--;
            BufferGroupFreed = group;
        }
    }

    [Test]
    public void AWrittenPageCacheHoldsOneBufferHeadUntilItLeavesTheCache()
    {
        // folio_create_buffers at write_begin: one buffer_head a written page, once however often it is written, charged
        // to the group the accounting names (here pfn + 100) and freed with that group when the page leaves, whether it
        // leaves a shadow (reclaim) or not (truncation). A page never written has none.
        var counted = new CountingNodes();
        var pc = new PageCache { Nodes = counted };
        pc.Add(7, 0, 10);
        pc.Add(7, 1, 11);
        pc.CreateBuffers(7, 0, 10);
        pc.CreateBuffers(7, 0, 10);
        Assert.That((counted.Buffers, pc.BufferHeadCount), Is.EqualTo((1, 1)), "a second write of the page makes no second buffer_head");
        pc.Delete(7, 1);
        Assert.That(counted.Buffers, Is.EqualTo(1), "the page read in (never written) had none to free");
        pc.Delete(7, 0, shadow: 3);
        Assert.That((counted.Buffers, counted.BufferGroupFreed, pc.BufferHeadCount), Is.EqualTo((0, 110, 0)), "reclaim frees the buffer_head, uncharged from the group charged");
    }

    [Test]
    public void AShmemFileChargesItsInodeDentryAndStructFileUntilEvicted()
    {
        // Each new shmem inode brings shmem_inode_cache (752), dentry (192, SLAB_RECLAIM_ACCOUNT) and filp (192), each
        // + 8: what the kernel's traced runs of the tmpfs, memfd and shared anonymous kit programs hold beyond the
        // anonymous programs' objects (oracle/experiments/kmem/results/*.slab.txt: shmem_inode_cache 1, dentry 1,
        // filp 4 against 3; `flock /work/kernel.lock oracle/experiments/kmem/run.sh`). A memfd with no mapping is
        // evicted at its close; a linked tmpfs file keeps its inode and dentry until unlinked and closed.
        string yaml = "machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: a}\n" +
            "processes:\n  - name: p\n    cgroup: a\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"loop:count=64,base=" + Base + ",pages=16\"}\n" +
            "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: " + Base + ", length: 65536, prot: rw-, flags: private, fixed: true}\n" +
            "  - after: 4\n    process: p\n    memfd_create: {name: m, fd: 3}\n" +
            "  - after: 4\n    process: p\n    open: {file: /dev/shm/f, fd: 4, flags: creat}\n" +
            "  - after: 8\n    process: p\n    close: {fd: 3}\n" +
            "  - after: 8\n    process: p\n    close: {fd: 4}\n" +
            "  - after: 12\n    process: p\n    unlink: {file: /dev/shm/f}\n";
        using SimMachine m = MemcgTests.Build(yaml);
        MemCgroup a = m.Kernel.Memcg!.Find("a");
        MemcgTests.Advance(m, 2);
        long unrecl = a.SlabUnreclaimable;
        Assert.That(a.SlabReclaimable, Is.Zero, "no dentry or xarray node yet");
        MemcgTests.Advance(m, 6);
        Assert.That(a.SlabReclaimable, Is.EqualTo(2 * 200), "two dentries");
        Assert.That(a.SlabUnreclaimable - unrecl, Is.EqualTo(2 * (760 + 200)), "two shmem inodes and their struct files");
        MemcgTests.Advance(m, 10);
        Assert.That(a.SlabReclaimable, Is.EqualTo(200), "the memfd went at its close; the tmpfs file is still linked");
        Assert.That(a.SlabUnreclaimable - unrecl, Is.EqualTo(760 + 200));
        MemcgTests.Advance(m, 14);
        Assert.That(a.SlabReclaimable, Is.Zero);
        Assert.That(a.SlabUnreclaimable, Is.EqualTo(unrecl), "unlinked and closed: evicted");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void AForkInsideTheGroupChargesTheChildsTaskAndKernelStack()
    {
        // copy_process of a child forked inside the group: its kernel stack (THREAD_SIZE, four pages) is kernel_stack,
        // and its task_struct, signal, sighand, files, fdtable, pid and cred are slab; the child's exit gives them back.
        string yaml = "machine: {ram: 64M, swap: 0}\ncgroups:\n  - {name: a}\n" +
            "processes:\n  - name: p\n    cgroup: a\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"loop:count=64,base=" + Base + ",pages=16,writes=1\"}\n" +
            "    children: {count: 1, after: 8, workload: {generator: \"seq:count=4,base=" + Base + ",pages=4\"}}\n" +
            "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: " + Base + ", length: 65536, prot: rw-, flags: private, fixed: true}\n";
        using SimMachine m = MemcgTests.Build(yaml);
        MemCgroup a = m.Kernel.Memcg!.Find("a");
        MemcgTests.Advance(m, 7);
        long slabBefore = a.SlabUnreclaimable;
        Assert.That(a.KernelStack, Is.Zero, "the exec'd task was forked outside the group");
        MemcgTests.Advance(m, 9);
        Assert.That(a.KernelStack, Is.EqualTo(16384));
        // task_struct 4,288, LSM blob 16, cred 192, sighand 2,112, signal 1,152, files 704, fdtable 96 + 2,048 + 64,
        // pid 192 (each + 8), and the child's mm_struct (1,608) and VMAs, anon_vmas and chains.
        long task = 4288 + 16 + 192 + 2112 + 1152 + 704 + 96 + 2048 + 64 + 192 + (10 * 8);
        Assert.That(a.SlabUnreclaimable - slabBefore, Is.GreaterThan(task + 1608));
        m.Run();
        Assert.That(a.KernelStack + a.SlabUnreclaimable, Is.Zero);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
