using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;

namespace EcsMem.Systems.Memcontrol;

/// <summary>The accounted slab caches (SLAB_ACCOUNT, or kmalloc with __GFP_ACCOUNT: kmalloc-cg-N) whose objects EcsMem charges.</summary>
public enum KmemCache
{
    /// <summary>vm_area_struct: one a VMA (vm_area_alloc, vm_area_dup).</summary>
    VmAreaStruct,

    /// <summary>anon_vma: one an anon_vma (anon_vma_prepare, anon_vma_fork).</summary>
    AnonVma,

    /// <summary>anon_vma_chain: one a link of a VMA to an anon_vma.</summary>
    AnonVmaChain,

    /// <summary>mm_struct: one an address space (mm_alloc at exec, dup_mm at fork).</summary>
    MmStruct,

    /// <summary>radix_tree_node: an xarray node of a file's page cache (SLAB_RECLAIM_ACCOUNT: slab_reclaimable).</summary>
    RadixTreeNode,

    /// <summary>task_struct (copy_process).</summary>
    TaskStruct,

    /// <summary>signal_cache: the forked process's signal_struct.</summary>
    SignalCache,

    /// <summary>sighand_cache: its sighand_struct.</summary>
    SighandCache,

    /// <summary>files_cache: its files_struct (dup_fd).</summary>
    FilesCache,

    /// <summary>kmalloc-cg-2k: dup_fd's alloc_fdtable, the fd array of a table past NR_OPEN_DEFAULT.</summary>
    FdArray,

    /// <summary>kmalloc-cg-96: alloc_fdtable's struct fdtable.</summary>
    Fdtable,

    /// <summary>kmalloc-cg-64: alloc_fdtable's open_fds/close_on_exec/full_fds_bits bitmaps.</summary>
    FdBitmaps,

    /// <summary>The `pid` cache: alloc_pid's struct pid (this kernel merges cred_jar into it: prepare_creds' struct cred is the same size).</summary>
    Pid,

    /// <summary>cred_jar (merged into `pid`): copy_creds' struct cred.</summary>
    Cred,

    /// <summary>kmalloc-cg-16: the task's LSM blob (lsm_blob_alloc for security_task_alloc), and a cred's (lsm_cred_alloc).</summary>
    LsmBlob,

    /// <summary>filp: a struct file (alloc_empty_file): the exec'd binary's (do_open_execat), a shmem file's.</summary>
    Filp,

    /// <summary>dentry (SLAB_RECLAIM_ACCOUNT: slab_reclaimable): a tmpfs file's name (d_alloc), a memfd's or shmem object's pseudo dentry (d_alloc_pseudo).</summary>
    Dentry,

    /// <summary>shmem_inode_cache: a shmem inode (shmem_alloc_inode) of a tmpfs file, memfd or MAP_SHARED anonymous object.</summary>
    ShmemInode,

    /// <summary>proc_inode_cache (SLAB_RECLAIM_ACCOUNT): a /proc/PID directory's or file's inode (proc_pid_make_inode).</summary>
    ProcInode,

    /// <summary>inode_cache (SLAB_RECLAIM_ACCOUNT): an inode of a filesystem without its own cache, here a cgroup file's (kernfs_get_inode).</summary>
    InodeCache,

    /// <summary>
    /// buffer_head (SLAB_RECLAIM_ACCOUNT, allocated with __GFP_ACCOUNT and charged to the folio's group: folio_alloc_buffers
    /// under set_active_memcg): one a 4 KiB block of an ext4 page-cache page written through write_begin.
    /// </summary>
    BufferHead,

    /// <summary>seq_file_cache (SLAB_ACCOUNT): a seq_file's struct seq_file (seq_open).</summary>
    SeqFile,

    /// <summary>kmalloc-cg-4k: a seq_file's output buffer (seq_buf_alloc's kvmalloc of PAGE_SIZE at the first read).</summary>
    SeqBuf,

    /// <summary>kmalloc-cg-192: /proc/PID/smaps' proc_maps_private (__seq_open_private) or smaps_rollup's (smaps_rollup_open).</summary>
    ProcMapsPrivate,

    /// <summary>kmalloc-cg-32: single_open's struct seq_operations (smaps_rollup, /proc/meminfo).</summary>
    SingleOpenOps,

    /// <summary>pde_opener (SLAB_ACCOUNT): proc_reg_open's record of an open of a /proc entry that is not permanent (/proc/vmstat).</summary>
    PdeOpener,
}

public sealed partial class MemcgController
{
    /// <summary>THREAD_SIZE on x86-64 (16 KiB, four pages): the kernel stack memcg_charge_kernel_stack charges page by page.</summary>
    public const int KernelStackPages = 4;

    /// <summary>
    /// pcpu_obj_full_size of an mm's rss_stat percpu counters (mm_init → percpu_counter_init_many with GFP_KERNEL_ACCOUNT):
    /// 16 bytes a CPU on the recording machine's 2 possible CPUs plus an obj_cgroup pointer per 4 bytes, 64 bytes
    /// (the percpu_alloc_percpu tracepoint's bytes_alloc, oracle/experiments/kmem).
    /// </summary>
    public const int MmRssStatPercpuBytes = 64;

    /// <summary>
    /// A cache's slot size (s->size: /proc/slabinfo's objsize on the recording machine's 6.18.44, and the
    /// kmem_cache_alloc tracepoint's bytes_alloc; oracle/experiments/kmem/results/settings.txt).
    /// </summary>
    public static int SlotSize(KmemCache c) => c switch
    {
        KmemCache.VmAreaStruct => 192,
        KmemCache.AnonVma => 104,
        KmemCache.AnonVmaChain => 64,
        KmemCache.MmStruct => 1600,
        KmemCache.RadixTreeNode => 584,
        KmemCache.TaskStruct => 4288,
        KmemCache.SignalCache => 1152,
        KmemCache.SighandCache => 2112,
        KmemCache.FilesCache => 704,
        KmemCache.FdArray => 2048,
        KmemCache.Fdtable => 96,
        KmemCache.FdBitmaps => 64,
        KmemCache.Pid or KmemCache.Cred => 192,
        KmemCache.LsmBlob => 16,
        KmemCache.Filp or KmemCache.Dentry => 192,
        KmemCache.ShmemInode => 752,
        KmemCache.ProcInode => 696,
        KmemCache.InodeCache => 624,
        KmemCache.BufferHead => 104,
        KmemCache.SeqFile => 120,
        KmemCache.SeqBuf => 4096,
        KmemCache.ProcMapsPrivate => 192,
        KmemCache.SingleOpenOps => 32,
        KmemCache.PdeOpener => 40,
        _ => throw new ArgumentOutOfRangeException(nameof(c), c, null),
    };

    /// <summary>obj_full_size: what an object charges, its slot and the obj_cgroup pointer kept for it in the slab's obj_exts.</summary>
    public static int ObjFullSize(KmemCache c) => SlotSize(c) + 8;

    /// <summary>SLAB_RECLAIM_ACCOUNT caches count in slab_reclaimable (cache_vmstat_idx), the others in slab_unreclaimable.</summary>
    public static bool Reclaimable(KmemCache c) => c is KmemCache.RadixTreeNode or KmemCache.Dentry or KmemCache.ProcInode or KmemCache.InodeCache or KmemCache.BufferHead;

    /// <summary>
    /// PGD_ALLOCATION_ORDER: 1 on x86-64 built with CONFIG_MITIGATION_PAGE_TABLE_ISOLATION (distribution kernels, and the
    /// recording machine's 6.18, where the CPU is not even affected by Meltdown: the order is a build-time constant),
    /// so pgd_alloc takes two pages, the kernel PGD and the user one PTI switches to, both charged (GFP_PGTABLE_USER)
    /// and counted in pagetables. EcsMem's root table is one frame; the second page is charged without one.
    /// </summary>
    public const int PgdAllocationOrder = 1;

    // obj_stock_pcp of each simulated CPU: the obj_cgroup (a group id, -1: none) it caches and the bytes charged to that
    // group's counters but to no object yet (nr_bytes); and each group's objcg->nr_charged_bytes, the bytes a drained
    // stock left behind.
    private int[]? _objStockGroup;
    private int[]? _objStockBytes;
    private long[]? _nrChargedBytes;

    // The objects each mm has charged: VMAs, anon_vmas, anon_vma_chains (SyncMmObjects), and the group they went to.
    private readonly Dictionary<int, (int Group, int Vmas, int AnonVmas, int Avcs)> _mmObjects = new();
    private readonly HashSet<int> _anonVmaIds = new();

    private void EnsureObjStock()
    {
        if (_objStockGroup is not null)
            return;
        _objStockGroup = new int[_cpus];
        Array.Fill(_objStockGroup, -1);
        _objStockBytes = new int[_cpus];
        _nrChargedBytes = new long[_groups.Count];
    }

    /// <summary>
    /// obj_cgroup_charge_account + the slab statistics (__memcg_slab_post_alloc_hook): an object of
    /// <paramref name="cache"/> charged to <paramref name="g"/> on <paramref name="cpu"/>. Its obj_full_size comes from
    /// the CPU's object stock when that caches the group with enough bytes (consume_obj_stock); else whole pages are
    /// charged (obj_cgroup_charge_pages: try_charge_memcg, then MEMCG_KMEM and the v1 kmem counter) and what the
    /// object does not use goes to the stock (refill_obj_stock without uncharge). The root group is not charged
    /// (Linux's root memcg has no obj_cgroup for its tasks). Simplified: a charge over memory.max is forced, as a page
    /// table's is (Linux's __GFP_ACCOUNT allocation reclaims first; <see cref="SeqFileOpen"/> reclaims after).
    /// </summary>
    public void ObjCgroupCharge(MemCgroup g, KmemCache cache, int cpu)
    {
        if (g.IsRoot)
            return;
        int size = ObjFullSize(cache);
        ChargeObjBytes(g, size, cpu);
        for (MemCgroup? c = g; c is not null; c = c.Parent)
        {
            if (Reclaimable(cache))
                c.SlabReclaimable += size;
            else
                c.SlabUnreclaimable += size;
        }
    }

    /// <summary>
    /// __memcg_slab_free_hook → obj_cgroup_uncharge: the object's bytes go back to <paramref name="cpu"/>'s object stock
    /// (refill_obj_stock with uncharge: whole pages above a page go back to the page stock).
    /// </summary>
    public void ObjCgroupUncharge(MemCgroup g, KmemCache cache, int cpu)
    {
        if (g.IsRoot)
            return;
        int size = ObjFullSize(cache);
        RefillObjStock(g, size, cpu, allowUncharge: true);
        for (MemCgroup? c = g; c is not null; c = c.Parent)
        {
            if (Reclaimable(cache))
                c.SlabReclaimable -= size;
            else
                c.SlabUnreclaimable -= size;
        }
    }

    /// <summary>obj_cgroup_charge_account's charge of <paramref name="size"/> bytes (consume_obj_stock, else pages and refill).</summary>
    private void ChargeObjBytes(MemCgroup g, int size, int cpu)
    {
        EnsureObjStock();
        int c = cpu % _cpus;
        if (_objStockGroup![c] == g.Id && _objStockBytes![c] >= size)
        {
            _objStockBytes[c] -= size;
            return;
        }
        int page = (int)Pte.PageSize;
        int nrPages = (size + page - 1) / page;
        ObjCgroupChargePages(g, nrPages, cpu);
        AddObjPages(g, nrPages);
        if (size % page != 0)
            RefillObjStock(g, nrPages * page - size, cpu, allowUncharge: false);
    }

    /// <summary>
    /// obj_cgroup_charge_pages: try_charge_memcg on <paramref name="cpu"/> (the page stock first; forced above the limit,
    /// see <see cref="ObjCgroupCharge"/>), then MEMCG_KMEM and memcg1_account_kmem.
    /// </summary>
    private void ObjCgroupChargePages(MemCgroup g, int nrPages, int cpu)
    {
        if (TryCharge(g, nrPages, cpu) is not null)
            ChargeForce(g, nrPages);
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            c.Kmem += nrPages;
        RstatUpdated(g, nrPages, cpu); // memcg1_account_kmem's mod_memcg_state(MEMCG_KMEM)
    }

    /// <summary>
    /// __memcg_kmem_charge_page (obj_cgroup_charge_pages, forced here) of <paramref name="pages"/> kernel pages EcsMem keeps
    /// no frame for, counted with the group's frameless kernel memory: the kit's record.sh exec chain's page tables, still
    /// charged while they wait for their RCU grace period (tlb_remove_table_rcu, <see cref="MemcgKmemUnchargePages"/>).
    /// </summary>
    public void MemcgKmemChargePages(MemCgroup g, int pages)
    {
        if (g.IsRoot || pages <= 0)
            return;
        ChargeForce(g, pages);
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            c.Kmem += pages;
        AddObjPages(g, pages);
        RstatUpdated(g, 2 * pages, CurrentCpu()); // MEMCG_KMEM and the tables' NR_PAGETABLE
    }

    /// <summary>
    /// tlb_remove_table_rcu → pagetable_free → __memcg_kmem_uncharge_page of <paramref name="pages"/> frameless kernel pages
    /// charged by <see cref="MemcgKmemChargePages"/>, one page at a time on <paramref name="cpu"/> (the CPU that queued the
    /// RCU callback runs it): obj_cgroup_uncharge_pages takes MEMCG_KMEM down and gives each page's charge to the CPU's
    /// stock (refill_stock, which drains a stock grown above MEMCG_CHARGE_BATCH), not straight to the page counter.
    /// </summary>
    public void MemcgKmemUnchargePages(MemCgroup g, int pages, int cpu)
    {
        if (g.IsRoot || pages <= 0)
            return;
        for (int i = 0; i < pages; i++)
        {
            for (MemCgroup? c = g; c is not null; c = c.Parent)
                c.Kmem--;
            AddObjPages(g, -1);
            RstatUpdated(g, 2, cpu); // pagetable_dtor's NR_PAGETABLE and obj_cgroup_uncharge_pages' MEMCG_KMEM
            RefillStock(g, 1, cpu);
        }
    }

    private static void AddObjPages(MemCgroup g, long pages)
    {
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            c.KmemObjPages += pages;
    }

    /// <summary>
    /// refill_obj_stock: <paramref name="bytes"/> of <paramref name="g"/>'s charge go to <paramref name="cpu"/>'s object
    /// stock. A stock caching another group is drained first and takes over <paramref name="g"/>'s nr_charged_bytes
    /// (uncharging allowed then); with uncharging allowed, whole pages of a stock above a page go back
    /// (obj_cgroup_uncharge_pages: MEMCG_KMEM and the kmem counter down, the pages to the CPU's page stock).
    /// </summary>
    private void RefillObjStock(MemCgroup g, int bytes, int cpu, bool allowUncharge)
    {
        EnsureObjStock();
        int c = cpu % _cpus;
        if (_objStockGroup![c] != g.Id)
        {
            DrainObjStock(c);
            _objStockGroup[c] = g.Id;
            _objStockBytes![c] = (int)_nrChargedBytes![g.Id];
            _nrChargedBytes[g.Id] = 0;
            allowUncharge = true;
        }
        _objStockBytes![c] += bytes;
        int page = (int)Pte.PageSize;
        if (allowUncharge && _objStockBytes[c] > page)
        {
            int nrPages = _objStockBytes[c] / page;
            _objStockBytes[c] %= page;
            for (MemCgroup? x = g; x is not null; x = x.Parent)
                x.Kmem -= nrPages;
            AddObjPages(g, -nrPages);
            RstatUpdated(g, nrPages, cpu); // MEMCG_KMEM down
            RefillStock(g, nrPages, cpu);
        }
    }

    /// <summary>
    /// drain_obj_stock: the stock's whole pages are uncharged from its group's counters (memcg_uncharge, MEMCG_KMEM and
    /// the kmem counter down), the rest of its bytes goes to the group's nr_charged_bytes.
    /// </summary>
    private long DrainObjStock(int c)
    {
        int id = _objStockGroup![c];
        if (id < 0)
            return 0;
        MemCgroup g = _groups[id];
        int page = (int)Pte.PageSize;
        int nrPages = _objStockBytes![c] / page;
        if (nrPages > 0)
        {
            for (MemCgroup? x = g; x is not null; x = x.Parent)
                x.Kmem -= nrPages;
            AddObjPages(g, -nrPages);
            RstatUpdated(g, nrPages, c); // MEMCG_KMEM down, on the stock's CPU
            Uncharge(g, nrPages);
        }
        _nrChargedBytes![id] += _objStockBytes[c] % page;
        _objStockBytes[c] = 0;
        _objStockGroup[c] = -1;
        return nrPages;
    }

    /// <summary>drain_all_stock's object half: every CPU whose object stock caches a group of <paramref name="root"/>'s subtree is drained (obj_stock_flush_required).</summary>
    private long DrainAllObjStock(MemCgroup root)
    {
        long drained = 0;
        if (_objStockGroup is null)
            return 0;
        for (int c = 0; c < _cpus; c++)
            if (_objStockGroup[c] >= 0 && root.Contains(_groups[_objStockGroup[c]]))
                drained += DrainObjStock(c);
        return drained;
    }

    /// <summary>The bytes <paramref name="cpu"/>'s object stock holds for <paramref name="g"/> (obj_stock_pcp's nr_bytes).</summary>
    public int ObjStockOn(int cpu, MemCgroup g) =>
        _objStockGroup is not null && _objStockGroup[cpu % _cpus] == g.Id ? _objStockBytes![cpu % _cpus] : 0;

    /// <summary>
    /// A percpu allocation with GFP_KERNEL_ACCOUNT (pcpu_memcg_pre_alloc_hook → obj_cgroup_charge of its
    /// pcpu_obj_full_size; memory.stat percpu); a negative <paramref name="bytes"/> frees it (pcpu_memcg_free_hook).
    /// </summary>
    public void PercpuCharge(MemCgroup g, int bytes, int cpu)
    {
        if (g.IsRoot)
            return;
        if (bytes > 0)
            ChargeObjBytes(g, bytes, cpu);
        else
            RefillObjStock(g, -bytes, cpu, allowUncharge: true);
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            c.Percpu += bytes;
    }

    /// <summary>
    /// The kernel memory of an address space whose task runs in <paramref name="g"/>: mm_struct, the rest of its PGD
    /// (mm_init's mm_alloc_pgd; the first page is EcsMem's root table, charged as a frame) and its rss counters
    /// (mm_alloc / dup_mm: mm_init's percpu_counter_init_many), or their release at __mmdrop when
    /// <paramref name="alloc"/> is false (mm_free_pgd).
    /// </summary>
    public void MmStructCharge(MemCgroup g, bool alloc, int cpu)
    {
        if (alloc)
        {
            ObjCgroupCharge(g, KmemCache.MmStruct, cpu);
            PgdAllocRest(g, alloc: true, cpu);
            PercpuCharge(g, MmRssStatPercpuBytes, cpu);
        }
        else
        {
            ObjCgroupUncharge(g, KmemCache.MmStruct, cpu);
            PgdAllocRest(g, alloc: false, cpu);
            PercpuCharge(g, -MmRssStatPercpuBytes, cpu);
        }
    }

    /// <summary>
    /// pgd_alloc → __pgd_alloc(mm, PGD_ALLOCATION_ORDER) beyond its first page: pagetable_alloc's charge of the order-1
    /// block (__memcg_kmem_charge_page → obj_cgroup_charge_pages, the CPU's page stock first) and __pagetable_ctor's
    /// NR_PAGETABLE for the block's second page; <paramref name="alloc"/> false: __pgd_free's uncharge
    /// (obj_cgroup_uncharge_pages: back to the CPU's page stock). The root group is not charged.
    /// </summary>
    private void PgdAllocRest(MemCgroup g, bool alloc, int cpu)
    {
        if (g.IsRoot)
            return;
        int pages = (1 << PgdAllocationOrder) - 1;
        if (pages == 0)
            return;
        if (alloc && TryCharge(g, pages, cpu) is not null)
            ChargeForce(g, pages); // simplified: never fails or reclaims (Linux's GFP_PGTABLE_USER charge would reclaim)
        for (MemCgroup? c = g; c is not null; c = c.Parent)
        {
            c.Kmem += alloc ? pages : -pages;
            c.PageTables += alloc ? pages : -pages;
            c.PgdUserPages += alloc ? pages : -pages;
        }
        if (!alloc)
            RefillStock(g, pages, cpu);
    }

    /// <summary>
    /// What exec charges besides the new mm (do_execveat_common on the task already in the group): the binary's struct
    /// file (do_open_execat; mm->exe_file and the text VMA keep it), and the new credentials with their LSM blob
    /// (prepare_bprm_creds → prepare_creds, lsm_cred_alloc). As measured at the kit programs' exec
    /// (oracle/experiments/kmem: 3 filp, 2 cred, 2 kmalloc-cg-16 live; the other two files are ld.so's and libc's,
    /// which the scenario does not map, and the second cred and blob setarch's exec's, freed by RCU).
    /// </summary>
    private void ExecObjects(MemCgroup g, bool alloc, int cpu, bool creds)
    {
        ReadOnlySpan<KmemCache> objects = creds ? [KmemCache.Cred, KmemCache.LsmBlob] : [KmemCache.Filp];
        foreach (KmemCache c in objects)
        {
            if (alloc)
                ObjCgroupCharge(g, c, cpu);
            else
                ObjCgroupUncharge(g, c, cpu);
        }
    }

    /// <summary>
    /// The VMAs, anon_vmas and anon_vma_chains of <paramref name="mm"/> as its charges (vm_area_alloc / vm_area_dup /
    /// vm_area_free, anon_vma_alloc / anon_vma_free, anon_vma_chain_alloc / _free): brought to the counts the mm holds
    /// now, each object charged to or uncharged from its mm's group on <paramref name="cpu"/>. An anon_vma is counted
    /// once however many VMAs share it; a VMA holds one chain link to its anon_vma, two when its anon_vma was made by
    /// anon_vma_fork (the link to the parent's anon_vma too). <paramref name="gone"/>: the mm was torn down
    /// (exit_mmap freed them all). Called after each address-space call, anon_vma_prepare and fork, not per access.
    /// </summary>
    public void SyncMmObjects(int mmId, AddressSpace.Mm mm, int cpu, bool gone = false)
    {
        MemCgroup g = OfMm(mmId);
        int vmas = 0, avcs = 0;
        _anonVmaIds.Clear();
        if (!gone)
        {
            foreach (ref readonly Vma v in mm.Vmas)
            {
                vmas++;
                if (v.AnonVma == 0)
                    continue;
                _anonVmaIds.Add(v.AnonVma);
                avcs += v.AnonVmaForked ? 2 : 1;
            }
        }
        int anonVmas = _anonVmaIds.Count;
        if (!_mmObjects.TryGetValue(mmId, out var had))
            had = (g.Id, 0, 0, 0);
        MemCgroup hg = _groups[had.Group];
        Adjust(hg, KmemCache.VmAreaStruct, vmas - had.Vmas, cpu);
        Adjust(hg, KmemCache.AnonVma, anonVmas - had.AnonVmas, cpu);
        Adjust(hg, KmemCache.AnonVmaChain, avcs - had.Avcs, cpu);
        if (gone)
            _mmObjects.Remove(mmId);
        else
            _mmObjects[mmId] = (had.Group, vmas, anonVmas, avcs);
    }

    /// <summary>
    /// A process placed in its group from the start, as a task exec'd inside it (the kit's programs are): exec's
    /// mm_alloc (mm_struct, rss counters) and the VMAs, anon_vmas and chains it has are the group's. Its task_struct is
    /// not: the task was forked outside the group (the kit's wrapper shell joins the group, then execs).
    /// </summary>
    public void Execed(int mmId, AddressSpace.Mm mm, int cpu)
    {
        MemCgroup g = OfMm(mmId);
        ExecObjects(g, alloc: true, cpu, creds: false); // alloc_bprm's do_open_execat comes before bprm_mm_init
        MmStructCharge(g, alloc: true, cpu);
        ExecObjects(g, alloc: true, cpu, creds: true);
        _execedMms.Add(mmId);
        SyncMmObjects(mmId, mm, cpu);
    }

    private readonly HashSet<int> _execedMms = new();

    /// <summary>
    /// copy_process of a task forked with its own address space (<paramref name="childMmId"/>, already in its parent's
    /// group): its task objects (<see cref="TaskCharge"/>), then dup_mm's mm_struct and its VMAs, anon_vmas and chains.
    /// </summary>
    public void Forked(int childMmId, AddressSpace.Mm mm, int cpu)
    {
        MemCgroup g = OfMm(childMmId);
        TaskCharge(g, alloc: true, cpu);
        _forkedMms.Add(childMmId);
        MmStructCharge(g, alloc: true, cpu);
        SyncMmObjects(childMmId, mm, cpu);
    }

    /// <summary>
    /// The address space's last user is gone (exit_mmap, __mmdrop): its VMAs, anon_vmas and chains, its mm_struct and,
    /// for a task forked in the group, its task objects (free_task, at once here: Linux frees them when the parent reaps
    /// it and an RCU grace period has passed) are uncharged.
    /// </summary>
    public void MmGone(int mmId, AddressSpace.Mm mm, int cpu)
    {
        if (!_mmObjects.TryGetValue(mmId, out var had))
            return;
        MemCgroup g = _groups[had.Group];
        SyncMmObjects(mmId, mm, cpu, gone: true);
        MmStructCharge(g, alloc: false, cpu);
        if (_execedMms.Remove(mmId))
        {
            ExecObjects(g, alloc: false, cpu, creds: false); // exit_mmap's fput of the binary, mmput's of exe_file
            ExecObjects(g, alloc: false, cpu, creds: true); // put_cred at the task's release, at once here (Linux: RCU)
        }
        if (_forkedMms.Remove(mmId))
            TaskCharge(g, alloc: false, cpu);
        if (_procNames.Remove(mmId, out var names))
        {
            // proc_flush_pid at the task's exit drops its /proc/PID dentries (the inodes go with them), at once here.
            for (int i = 0; i < names.Count + 1; i++)
            {
                ObjCgroupUncharge(g, KmemCache.Dentry, cpu);
                ObjCgroupUncharge(g, KmemCache.ProcInode, cpu);
            }
        }
    }

    // The /proc/self names each mm's task looked up (their dentries and proc inodes charged), and the cgroup files
    // looked up once (kernfs: their dentries and inodes live as long as the group).
    private readonly Dictionary<int, HashSet<string>> _procNames = new();
    private readonly HashSet<string> _kernfsNames = new(StringComparer.Ordinal);

    /// <summary>
    /// The dentries and inodes an open(2) of <paramref name="path"/> allocates in the dcache the first time (d_alloc_parallel
    /// in lookup_open, dentry_cache being SLAB_ACCOUNT), charged to the opening task's group: under /proc/self/ the
    /// /proc/PID directory's (proc_pid_lookup) at the task's first such open and the file's (proc_pident_lookup), each a
    /// dentry and a proc_inode_cache inode (proc_pid_make_inode), until the task exits (proc_flush_pid); under
    /// /sys/fs/cgroup/ a cgroup v1 file's dentry and kernfs inode (kernfs_iop_lookup → kernfs_get_inode: inode_cache),
    /// kept. As measured from the kit harness's reads of /proc/self/smaps and its cgroup's files
    /// (oracle/experiments/kmem: proc_inode_cache, inode_cache and dentry objects live from the second phase on).
    /// Any other path names a file cached since boot: nothing is charged.
    /// </summary>
    public void PathLookup(int mmId, string path, int cpu)
    {
        MemCgroup g = OfMm(mmId);
        if (g.IsRoot)
            return;
        if (path.StartsWith("/proc/self/", StringComparison.Ordinal))
        {
            if (!_procNames.TryGetValue(mmId, out var names))
            {
                _procNames[mmId] = names = new HashSet<string>(StringComparer.Ordinal);
                ObjCgroupCharge(g, KmemCache.Dentry, cpu);
                ObjCgroupCharge(g, KmemCache.ProcInode, cpu);
            }
            if (names.Add(path))
            {
                ObjCgroupCharge(g, KmemCache.Dentry, cpu);
                ObjCgroupCharge(g, KmemCache.ProcInode, cpu);
            }
        }
        else if (path.StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal) && _kernfsNames.Add(path))
        {
            ObjCgroupCharge(g, KmemCache.Dentry, cpu);
            ObjCgroupCharge(g, KmemCache.InodeCache, cpu);
        }
    }

    // The accounted objects of each open seq_file (a /proc or cgroup file), by (tgid, fd): its group and what it holds;
    // and when a seq_file's open last queued a reclaim of a group (group id → simulated time).
    private readonly Dictionary<(int Tgid, int Fd), (int Group, KmemCache[] Objects)> _seqFiles = new();
    private readonly Dictionary<int, ulong> _seqReclaimQueued = new();

    /// <summary>
    /// The accounted objects an open(2) and first read(2) of a seq_file-backed <paramref name="path"/> allocate, in order,
    /// or null for a path that is not one: alloc_empty_file's filp, the open's private data (__seq_open_private's
    /// proc_maps_private for /proc/PID/smaps; smaps_rollup_open's and single_open's seq_operations for smaps_rollup;
    /// single_open's for /proc/meminfo; proc_reg_open's pde_opener for /proc/vmstat), seq_open's seq_file, and at the
    /// first read seq_read_iter's PAGE_SIZE buffer (seq_buf_alloc: kvmalloc with GFP_KERNEL_ACCOUNT). A cgroup v1 file
    /// (kernfs_fop_open: the kernfs_open_file is not accounted) holds only the filp, the seq_file and the buffer. As
    /// traced on 6.18 (oracle/experiments/phase-end-charge: the kit harness's phase_end reads, accounted kmalloc and
    /// kmem_cache_alloc events).
    /// </summary>
    public static KmemCache[]? SeqFileObjects(string path) => path switch
    {
        "/proc/self/smaps" => [KmemCache.Filp, KmemCache.ProcMapsPrivate, KmemCache.SeqFile, KmemCache.SeqBuf],
        "/proc/self/smaps_rollup" => [KmemCache.Filp, KmemCache.ProcMapsPrivate, KmemCache.SingleOpenOps, KmemCache.SeqFile, KmemCache.SeqBuf],
        "/proc/meminfo" => [KmemCache.Filp, KmemCache.SingleOpenOps, KmemCache.SeqFile, KmemCache.SeqBuf],
        "/proc/vmstat" => [KmemCache.Filp, KmemCache.PdeOpener, KmemCache.SeqFile, KmemCache.SeqBuf],
        _ when path.StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal) => [KmemCache.Filp, KmemCache.SeqFile, KmemCache.SeqBuf],
        _ => null,
    };

    /// <summary>
    /// do_dentry_open of a seq_file and its first seq_read_iter (<see cref="SeqFileObjects"/>), by <paramref name="task"/>
    /// of <paramref name="mmId"/>'s group on <paramref name="cpu"/>: each object charged as a slab allocation is
    /// (obj_cgroup_charge: the CPU's object stock, else whole pages through try_charge_memcg). Charges that find the
    /// group at its memory.max reclaim it as a page table's does (GFP_KERNEL_ACCOUNT may reclaim:
    /// <see cref="ReclaimForPageTable"/>, once after the forced charges here). The objects stay charged until the
    /// descriptor closes (<see cref="SeqFileRelease"/>). The buffer is seq_read_iter's (allocated at the first read, not
    /// at open) but charged here because EcsMem has no read(2) of a seq_file (read(2) serves shmem files only and refuses
    /// others with EINVAL), so this open stands for the open and its first read: the charges come in the kernel's order
    /// (filp, private data, seq_file, then the buffer) at the same simulated instant, as the kit's phase_end reads issue
    /// them (open, read to EOF, close, one file after another). A scenario that opens a seq_file and never reads it
    /// would hold 4 KiB the kernel does not charge.
    /// </summary>
    public void SeqFileOpen(SimEnvironment env, Entity task, int mmId, int tgid, int fd, string path, int cpu)
    {
        if (SeqFileObjects(path) is not { } objects)
            return;
        MemCgroup g = OfMm(mmId);
        if (g.IsRoot)
            return;
        foreach (KmemCache c in objects)
            ObjCgroupCharge(g, c, cpu);
        // Linux reclaims inside the charge that finds the limit reached, so the next object finds room; here the charges
        // are forced and one reclaim comes after them, covering every page by which this open (its dentries' charges,
        // PathLookup, included) left the group above its limit: MemcgReclaim's target includes that excess. Opens at the
        // same instant (phase_end's reads) share the one reclaim queued for the next tick.
        if (AboveMax(g) is { } over && !(_seqReclaimQueued.TryGetValue(over.Id, out ulong at) && at == env.Now))
        {
            _seqReclaimQueued[over.Id] = env.Now;
            ReclaimForPageTable(env, over, task, cpu, thisTick: false);
        }
        _seqFiles[(tgid, fd)] = (g.Id, objects);
    }

    /// <summary>The first group from <paramref name="g"/> up that stands above its memory.max (forced charges), or null.</summary>
    private static MemCgroup? AboveMax(MemCgroup g)
    {
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            if (c.Usage > c.Max)
                return c;
        return null;
    }

    /// <summary>
    /// __fput of a seq_file the last close dropped (<see cref="SeqFileOpen"/>): its release frees the buffer, the
    /// seq_file and the private data (seq_release, seq_release_private, single_release, close_pdeo), then file_free the
    /// filp, here in the reverse order of their allocation; each object's bytes go back to <paramref name="cpu"/>'s
    /// object stock (obj_cgroup_uncharge), whose whole pages go to the page stock.
    /// </summary>
    public void SeqFileRelease(int tgid, int fd, int cpu)
    {
        if (!_seqFiles.Remove((tgid, fd), out var open))
            return;
        MemCgroup g = _groups[open.Group];
        for (int i = open.Objects.Length - 1; i >= 0; i--)
            ObjCgroupUncharge(g, open.Objects[i], cpu);
    }

    /// <summary>exit_files: the thread group's open seq_files are released (<see cref="SeqFileRelease"/>).</summary>
    public void SeqFilesReleaseAll(int tgid, int cpu)
    {
        if (_seqFiles.Count == 0)
            return;
        foreach (var key in _seqFiles.Keys.Where(x => x.Tgid == tgid).OrderBy(x => x.Fd).ToList())
            SeqFileRelease(key.Tgid, key.Fd, cpu);
    }

    private readonly HashSet<int> _forkedMms = new();

    private void Adjust(MemCgroup g, KmemCache cache, int delta, int cpu)
    {
        for (; delta > 0; delta--)
            ObjCgroupCharge(g, cache, cpu);
        for (; delta < 0; delta++)
            ObjCgroupUncharge(g, cache, cpu);
    }

    /// <summary>
    /// copy_process's accounted allocations for a task forked inside <paramref name="g"/> (or their release when the
    /// task is gone, <paramref name="alloc"/> false): task_struct and its LSM blob, the kernel stack (four pages,
    /// memcg_charge_kernel_stack: kernel_stack), signal_struct, sighand_struct, files_struct with dup_fd's fdtable (the
    /// recording machine's harness has descriptors past NR_OPEN_DEFAULT), the struct pid and the struct cred, as
    /// measured at the kit's fork (oracle/experiments/kmem). Not the mm: <see cref="MmStructCharge"/>.
    /// </summary>
    public void TaskCharge(MemCgroup g, bool alloc, int cpu)
    {
        if (g.IsRoot)
            return;
        ReadOnlySpan<KmemCache> objects =
        [
            KmemCache.TaskStruct, KmemCache.LsmBlob, KmemCache.Cred, KmemCache.SighandCache, KmemCache.SignalCache,
            KmemCache.FilesCache, KmemCache.Fdtable, KmemCache.FdArray, KmemCache.FdBitmaps, KmemCache.Pid,
        ];
        foreach (KmemCache c in objects)
        {
            if (c == KmemCache.LsmBlob)
                KernelStack(g, alloc, cpu); // alloc_thread_stack_node comes right after the task_struct
            if (alloc)
                ObjCgroupCharge(g, c, cpu);
            else
                ObjCgroupUncharge(g, c, cpu);
        }
    }

    /// <summary>memcg_charge_kernel_stack / memcg_kmem_uncharge_page of a vmap stack: its pages one by one (__memcg_kmem_charge_page).</summary>
    private void KernelStack(MemCgroup g, bool alloc, int cpu)
    {
        for (int i = 0; i < KernelStackPages; i++)
        {
            if (alloc)
            {
                ObjCgroupChargePages(g, 1, cpu);
                AddObjPages(g, 1);
            }
            else
            {
                // __memcg_kmem_uncharge_page → obj_cgroup_uncharge_pages: back to the CPU's page stock.
                for (MemCgroup? x = g; x is not null; x = x.Parent)
                    x.Kmem--;
                AddObjPages(g, -1);
                RefillStock(g, 1, cpu);
            }
        }
        long bytes = KernelStackPages * (long)Pte.PageSize * (alloc ? 1 : -1);
        for (MemCgroup? c = g; c is not null; c = c.Parent)
            c.KernelStack += bytes;
    }

    // The shmem inodes charged here (file id → group id): a tmpfs file created by open(O_CREAT), a memfd, a MAP_SHARED
    // anonymous object, each with its dentry and one struct file.
    private readonly Dictionary<int, int> _shmemInodes = new();

    /// <summary>
    /// A shmem inode made by a task of <paramref name="mmId"/>'s group, with its dentry and struct file: open(O_CREAT) on
    /// tmpfs (path_openat's alloc_empty_file first, then d_alloc and shmem_mknod → shmem_get_inode: <paramref name="openFirst"/>),
    /// or memfd_create / shmem_zero_setup (shmem_file_setup: shmem_get_inode, then alloc_file_pseudo's d_alloc_pseudo
    /// and alloc_empty_file). All three caches are SLAB_ACCOUNT (measured: shmem_inode_cache, dentry and one more filp
    /// live with the tmpfs, memfd and shared anonymous programs' object, oracle/experiments/kmem). Simplified: the
    /// struct file lives as long as the inode (the kit's programs keep the descriptor or the mapping to the end).
    /// </summary>
    public void ShmemInodeCharge(int fileId, int mmId, int cpu, bool openFirst)
    {
        MemCgroup g = OfMm(mmId);
        if (g.IsRoot || !_shmemInodes.TryAdd(fileId, g.Id))
            return;
        ReadOnlySpan<KmemCache> objects = openFirst
            ? [KmemCache.Filp, KmemCache.Dentry, KmemCache.ShmemInode]
            : [KmemCache.ShmemInode, KmemCache.Dentry, KmemCache.Filp];
        foreach (KmemCache c in objects)
            ObjCgroupCharge(g, c, cpu);
    }

    /// <summary>shmem_evict_inode's inode, the dentry's and the last fput's struct file: uncharged at once (Linux frees the inode and dentry after an RCU grace period).</summary>
    public void ShmemInodeUncharge(int fileId, int cpu)
    {
        if (!_shmemInodes.Remove(fileId, out int id))
            return;
        MemCgroup g = _groups[id];
        ObjCgroupUncharge(g, KmemCache.Filp, cpu);
        ObjCgroupUncharge(g, KmemCache.Dentry, cpu);
        ObjCgroupUncharge(g, KmemCache.ShmemInode, cpu);
    }

    /// <summary>The xarray node accounting the page cache calls (<see cref="Filemap.PageCache.Nodes"/>).</summary>
    internal sealed class XaNodeAccounting(MemcgController mc, Func<int> cpu) : Filemap.IXaNodeAccount
    {
        /// <summary>xas_alloc's kmem_cache_alloc_lru(radix_tree_node_cachep): charged to the group of the page being inserted (the inserting task's), or none.</summary>
        public int NodeAlloc(int pfn) => ChargeToFrameGroup(pfn, KmemCache.RadixTreeNode);

        /// <summary>radix_tree_node_rcu_free: the node's charge goes back.</summary>
        public void NodeFree(int group) => mc.ObjCgroupUncharge(mc._groups[group], KmemCache.RadixTreeNode, cpu());

        /// <summary>
        /// folio_create_empty_buffers → folio_alloc_buffers (GFP_NOFS | __GFP_ACCOUNT | __GFP_NOFAIL, under
        /// set_active_memcg(folio_memcg)): the page's buffer_head, charged to the group of the page <paramref name="pfn"/>, or none.
        /// </summary>
        public int BufferAlloc(int pfn) => ChargeToFrameGroup(pfn, KmemCache.BufferHead);

        /// <summary>
        /// An object of <paramref name="cache"/> charged to the group of page <paramref name="pfn"/> (the page's memcg, as
        /// set_active_memcg(folio_memcg) or the inserting task's); -1 for no page or the root group, which is not charged.
        /// </summary>
        private int ChargeToFrameGroup(int pfn, KmemCache cache)
        {
            MemCgroup? g = pfn >= 0 ? mc.OfFrame(pfn) : null;
            if (g is null || g.IsRoot)
                return -1;
            mc.ObjCgroupCharge(g, cache, cpu());
            return g.Id;
        }

        /// <summary>try_to_free_buffers → free_buffer_head: the charge goes back.</summary>
        public void BufferFree(int group) => mc.ObjCgroupUncharge(mc._groups[group], KmemCache.BufferHead, cpu());
    }
}
