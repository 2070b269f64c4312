using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;

namespace EcsMem.Systems.Task;

/// <summary>
/// kernel/rseq.c as the memory model sees it: a task that registered a struct rseq (glibc does, in each thread's TLS)
/// has it read and written by the kernel on its way back to user space after it was scheduled out. Linux's
/// prepare_task_switch calls rseq_preempt(prev) on every switch, voluntary or not (a task sleeping in a swap-in's
/// folio lock too), which sets TIF_NOTIFY_RESUME; exit_to_user_mode_loop then runs __rseq_handle_notify_resume:
/// rseq_ip_fixup's get_user of rseq_cs (a load, faulting like a user load if the TLS page is swapped out: a
/// kernel-mode fault that counts in getrusage) and, outside a critical section, clear_rseq_cs's put_user and
/// rseq_update_cpu_node_id's stores of cpu_id_start, cpu_id, node_id and mm_cid (a store to the same page).
/// Modelled: the switch of a task that sleeps on a read (a major fault's, or a fault waiting for another's read) and
/// of a task in memcg direct reclaim (preempted by the per-CPU kworker its reclaim wakes: SwapOutSystem.MemcgReclaim);
/// not modelled: preemption by other tasks and migration (the machine's load: timing, not memory management).
/// </summary>
public static class Rseq
{
    /// <summary>No return-to-user work pending (<see cref="Process.RseqPending"/>).</summary>
    public const byte Idle = 0;

    /// <summary>The next access is rseq_ip_fixup's get_user of <c>rseq_cs</c>.</summary>
    public const byte LoadRseqCs = 1;

    /// <summary>The next access is the stores (clear_rseq_cs, rseq_update_cpu_node_id).</summary>
    public const byte StoreCpuId = 2;

    /// <summary>Offset of <c>rseq_cs</c> in struct rseq (after the u32 cpu_id_start and cpu_id).</summary>
    public const ulong RseqCsOffset = 8;

    /// <summary>
    /// rseq_preempt (include/linux/rseq.h), from prepare_task_switch: a task with a registered rseq area that is
    /// switched out gets TIF_NOTIFY_RESUME (a read already in progress is started over: it reads the same page).
    /// </summary>
    public static void RseqPreempt(Kernel.Kernel kernel, Entity task)
    {
        if (kernel.Tasks.MmOf(task).Mm.RseqArea == 0)
            return;
        kernel.World.Get<Process>(task).RseqPending = LoadRseqCs;
    }

    /// <summary>
    /// The access __rseq_handle_notify_resume makes next for a task whose step is <paramref name="step"/>
    /// (<see cref="LoadRseqCs"/> or <see cref="StoreCpuId"/>) and whose rseq area is at <paramref name="area"/>.
    /// </summary>
    public static MemoryAccess NextAccess(ulong area, int pid, byte step) => step == LoadRseqCs
        ? new MemoryAccess(area + RseqCsOffset, pid, 8, AccessKind.Load)
        : new MemoryAccess(area, pid, 8, AccessKind.Store);
}
