using EcsMem.Traces;

namespace EcsMem.Systems.Events;

/// <summary>What happened: one kind per line of the event stream (its <c>kind</c> key in JSON).</summary>
public enum MemEventKind : byte
{
    /// <summary>A page fault, when it ends (installed, dropped as stale, or SIGSEGV): handle_mm_fault.</summary>
    Fault,
    /// <summary>A timeline system call (mmap, munmap, mprotect, brk, fork, exit), in strace form.</summary>
    Syscall,
    /// <summary>One reclaim pass (shrink_inactive_list) by kswapd or by direct reclaim.</summary>
    Reclaim,
    /// <summary>wakeup_kswapd: an allocation found free memory below the low watermark.</summary>
    KswapdWake,
    /// <summary>kswapd goes back to sleep (the zone is balanced, or nothing could be reclaimed).</summary>
    KswapdSleep,
    /// <summary>A frame granted to a fault (__alloc_pages: the per-CPU list or the buddy allocator).</summary>
    Alloc,
    /// <summary>An allocation stalled below the min watermark and entered direct reclaim (__alloc_pages_slowpath).</summary>
    AllocStall,
    /// <summary>An anonymous page written to its swap slot (pageout → swap_writepage).</summary>
    SwapOut,
    /// <summary>One PTE of an evicted page rewritten (try_to_unmap_one): to a swap entry, or to none for a file page.</summary>
    Unmap,
    /// <summary>A swapped-out page read back into the swap cache (swap_read_folio).</summary>
    SwapIn,
    /// <summary>A file page read into the page cache (filemap_fault → filemap_read_folio).</summary>
    FileRead,
    /// <summary>A TLB flush of one mm (flush_tlb_mm_range), with the other CPUs it shot down.</summary>
    TlbFlush,
    /// <summary>The OOM killer killed a process (oom_kill_process).</summary>
    OomKill,
    /// <summary>A task became runnable for the first time (its start time, or a fork child's).</summary>
    ProcessStart,
    /// <summary>A task ended (do_exit): its workload ran out, exit/exit_group, or a fatal signal.</summary>
    ProcessExit,
    /// <summary>
    /// One shrink_inactive_list call (trace_mm_vmscan_lru_shrink_inactive): its list, priority, pages scanned and
    /// reclaimed. Only when asked for by name (<see cref="EventTracer.VmscanCalls"/>): a reclaim makes many.
    /// </summary>
    LruShrinkInactive,
    /// <summary>One shrink_active_list call (trace_mm_vmscan_lru_shrink_active): its list, priority, pages taken and deactivated.</summary>
    LruShrinkActive,
}

/// <summary>How a fault ended, beyond its <see cref="FaultClass"/>.</summary>
public enum FaultOutcome : byte
{
    /// <summary>The PTE was installed (or, spurious, nothing needed doing).</summary>
    Installed,
    /// <summary>The VMA or the PTE changed while the fault waited (pte_same failed): nothing installed, the access retries.</summary>
    Retried,
    /// <summary>The task died before the fault finished (killed while it waited).</summary>
    Dropped,
    /// <summary>The access was not allowed: SIGSEGV.</summary>
    Sigsegv,
}

/// <summary>
/// One event of the simulated machine, as plain data: the common part (kind, simulated time in cycles, CPU,
/// pid) and the fields of its kind (the others keep their defaults and are not written). A value type handed
/// to <see cref="IEventSink.Write"/> by reference, so emitting one allocates nothing but its strings.
/// </summary>
public struct MemEvent
{
    public MemEventKind Kind;
    /// <summary>Simulated time (cycles) on the CPU the event happened on.</summary>
    public ulong Time;
    public int Cpu;
    /// <summary>The task the event belongs to (0: none, e.g. kswapd's own work).</summary>
    public int Pid;

    /// <summary>fault, unmap, swap_out, swap_in: the virtual address (page aligned except for a fault's).</summary>
    public ulong Address;
    /// <summary>fault: the VMA holding the address (0, 0 when there is none).</summary>
    public ulong VmaStart, VmaEnd;
    /// <summary>fault: the VMA's name as /proc/PID/maps shows it ("" when anonymous); file_read: the file path.</summary>
    public string? Name;
    public FaultClass Class;
    public FaultOutcome Outcome;
    public AccessKind Access;
    /// <summary>fault: page-table levels the walk that found no usable entry read.</summary>
    public int WalkLevels;
    /// <summary>fault: the frame mapped (-1: none); swap_out, swap_in, unmap, file_read: the frame.</summary>
    public int Pfn;
    /// <summary>fault: the frame's page before, when reclaim evicted it and the fault got the frame next (-1: none).</summary>
    public int VictimPid;
    public ulong VictimAddress;
    /// <summary>fault: true when it waited for a disk read (maj_flt).</summary>
    public bool Major;
    /// <summary>fault: cycles from the access that faulted to the fault's end (on its CPU).</summary>
    public ulong Latency;
    /// <summary>swap_out, swap_in, unmap (to a swap entry): the swap slot; file_read: the page index in the file.</summary>
    public long Slot;
    /// <summary>reclaim, alloc_stall: true for direct reclaim, false for kswapd.</summary>
    public bool Direct;
    /// <summary>
    /// reclaim: pages scanned and reclaimed; lru_shrink_inactive: nr_scanned, nr_reclaimed; lru_shrink_active: nr_taken,
    /// nr_deactivated; tlb_flush: pages (0: whole mm) and remote CPUs shot down.
    /// </summary>
    public long Scanned, Reclaimed;
    /// <summary>lru_shrink_*: the scan priority (DEF_PRIORITY 12 down to 0) and whether the list is a file list.</summary>
    public int Priority;
    public bool File;
    /// <summary>tlb_flush: the range flushed ([0, ulong.MaxValue) for a full flush).</summary>
    public ulong Start, End;
    /// <summary>syscall: the call as strace prints it; oom_kill: the kernel's log line; process_exit: how it ended.</summary>
    public string? Text;
    /// <summary>syscall: its result (a negated errno on failure); process_exit: the exit signal (0: none).</summary>
    public long Result;

    /// <summary>A new event of <paramref name="kind"/> at <paramref name="time"/> on <paramref name="cpu"/> for <paramref name="pid"/>.</summary>
    public MemEvent(MemEventKind kind, ulong time, int cpu, int pid)
    {
        Kind = kind;
        Time = time;
        Cpu = cpu;
        Pid = pid;
        Pfn = -1;
        VictimPid = -1;
        Name = null;
        Text = null;
    }
}

/// <summary>Receives the machine's events in the order they happen (deterministic: the pipeline's order).</summary>
public interface IEventSink
{
    void Write(in MemEvent e);
}

/// <summary>Keeps every event in a list (tests, in-process consumers such as a timeline drawing).</summary>
public sealed class ListEventSink : IEventSink
{
    public List<MemEvent> Events { get; } = new();

    public void Write(in MemEvent e) => Events.Add(e);
}

/// <summary>Hands every event to two sinks, in order (the kernel takes one sink: --events and --html, or the oracle's event file and a dump, together).</summary>
public sealed class TeeEventSink(IEventSink first, IEventSink second) : IEventSink
{
    public void Write(in MemEvent e)
    {
        first.Write(e);
        second.Write(e);
    }
}
