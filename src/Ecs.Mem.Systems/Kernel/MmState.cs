using EcsMem.Ecs;

namespace EcsMem.Systems.Kernel;

/// <summary>
/// Everything the kernel keeps for one address space: the <see cref="AddressSpace.Mm"/> (mm_struct fields and
/// the ordered VMA set), its page table, its TLB context (ctx_id / tlb_gen) and the entity that carries it.
/// Held by the <see cref="MmRef"/> component of the mm entity.
/// </summary>
public sealed class MmState
{
    internal MmState(Mm mm, PageTable tables, MmContext tlb)
    {
        Mm = mm;
        Tables = tables;
        Tlb = tlb;
        VmaCache = new VmaCache();
    }

    public int Id => Mm.Struct.Id;
    public Mm Mm { get; }
    public PageTable Tables { get; }
    public MmContext Tlb { get; }

    /// <summary>The per-thread VMA lookup cache (vmacache) of the one thread using this mm.</summary>
    public VmaCache VmaCache { get; }

    /// <summary>The mm entity in the World.</summary>
    public Entity Entity { get; internal set; }

    /// <summary>
    /// mm->owner (CONFIG_MEMCG): the first task made with this address space, set by <see cref="Task.TaskList.CreateProcess"/>
    /// (Linux's mm_init sets it before dup_mmap copies the tables). When the owner exits with other users left (threads)
    /// it passes to one of them, and to none with the last (<see cref="Task.TaskList"/>'s mm_update_next_owner). Linux
    /// reads it for get_mem_cgroup_from_mm, the group an mm's pages charge, which EcsMem keeps per mm
    /// (<see cref="Memcontrol.MemcgController.OfMm"/>: a process's threads share its group, as cgroup v2's domain groups
    /// keep them). No reclaim runs for it: a page table's charge reclaims for the task that allocates it, which every
    /// caller names (<see cref="Memory.MemoryOps.PteAlloc"/>'s current: the faulting thread, fork's parent).
    /// </summary>
    public Entity Owner { get; internal set; }

    /// <summary>Page-table page id → (its entity in <see cref="Kernel.PageTables"/>, pfn) for the tables this mm allocated.</summary>
    internal Dictionary<int, (Entity Entity, int Pfn)> TablePages { get; } = new();

    /// <summary>Inferred-layout helper for traces without a layout; null in strict mode.</summary>
    public InferredLayout? Inferred { get; internal set; }

    /// <summary>Peak virtual size in pages (hiwater_vm, VmPeak).</summary>
    public ulong HiwaterVm { get; private set; }

    /// <summary>Updates hiwater_vm from total_vm (called after every address-space change).</summary>
    public void NoteHiwaterVm()
    {
        if (Mm.Struct.TotalVm > HiwaterVm) HiwaterVm = Mm.Struct.TotalVm;
    }

    /// <summary>mm->hugetlb_usage: pages of hugetlb folios this mm maps (HugetlbPages in /proc/PID/status), in 4 KiB pages.</summary>
    public long HugetlbPages { get; internal set; }

    /// <summary>Peak resident pages (hiwater_rss, VmHWM).</summary>
    public ulong HiwaterRss { get; internal set; }

    /// <summary>Resident pages (anon + file + shmem), as /proc reports VmRSS.</summary>
    public ulong Rss => Mm.Struct.RssAnon + Mm.Struct.RssFile + Mm.Struct.RssShmem;
}

/// <summary>Component of an mm entity: the kernel's state for that address space.</summary>
public struct MmRef
{
    public MmState State;
}

/// <summary>
/// Component of a page-table page entity (a row of <see cref="Kernel.PageTables"/>, next to the page's
/// entries): which mm and level it belongs to and the frame that backs it (page tables consume physical
/// memory, as pte_alloc_one takes a page from the buddy allocator). Rows not holding a table have
/// <see cref="InUse"/> false, as free frames are entities too.
/// </summary>
public struct PageTableFrame
{
    public int MmId;
    public int PageId;
    public int Level;
    public int Pfn;
    /// <summary>True while the row holds a table of <see cref="MmId"/>.</summary>
    public bool InUse;

    /// <summary>What a row holding no table carries.</summary>
    public static PageTableFrame Free => new() { MmId = -1, PageId = -1, Level = -1, Pfn = -1 };
}
