using EcsMem.Ecs;

namespace EcsMem.Systems.Filemap;

/// <summary>
/// struct readahead_control (include/linux/pagemap.h): one readahead call's state, made by the call that starts it
/// (a fault, fadvise/madvise WILLNEED, or a window resuming after its reclaim round) and passed by <c>ref</c> down
/// page_cache_sync_ra / page_cache_async_ra / page_cache_ra_order / page_cache_ra_unbounded / read_pages, so that
/// nothing of one call lingers in <see cref="Readahead"/> for the next. The batch itself (Linux's _index/_nr_pages) is
/// Readahead's pooled page list; this carries whose it is and what waits on it. A struct: no allocation on the fault path.
/// </summary>
internal struct ReadaheadControl
{
    /// <summary>The task whose fault or call reads ahead (current): its memory cgroup is charged, its direct reclaim runs.</summary>
    public Entity Who;

    /// <summary>The fault do_sync_mmap_readahead reads around (Io -1: none): the loop whose window holds its page owns it.</summary>
    public FaultIo Fault;

    /// <summary>The fault whose page is in the batch and whose completion waits for the batch's submission (Io -1: none).</summary>
    public FaultIo BatchFault;

    /// <summary>
    /// The wait key of the fault that started this window from a cache hit (do_async_mmap_readahead), 0: none. A window
    /// that waits for a reclaim round takes it along; the fault sleeps on it until the window's loop ends.
    /// </summary>
    public int Wait;

    /// <summary>True while the batch holds a waiting window's pages: the loop that resumes the window goes on with them.</summary>
    public bool Continuing;

    /// <summary>A readahead call by <paramref name="who"/> for <paramref name="fault"/> (FaultIo.None: not a read-around fault).</summary>
    public ReadaheadControl(Entity who, FaultIo fault)
    {
        Who = who;
        Fault = fault;
        BatchFault = FaultIo.None;
        Wait = 0;
        Continuing = false;
    }
}
