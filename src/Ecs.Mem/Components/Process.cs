using EcsMem.Ecs;

namespace EcsMem.Components;

/// <summary>
/// A simulated process: the task_struct fields the memory model needs. <see cref="Mm"/> is the seed's
/// task_struct → mm_struct link: the entity carrying the address space.
/// </summary>
public struct Process
{
    /// <summary>Process id (1-based, in creation order).</summary>
    public int Pid;
    /// <summary>Parent's pid (0 for processes the scenario starts).</summary>
    public int ParentPid;
    public ProcessState State;
    /// <summary>task_struct->mm: the entity with this process's address space.</summary>
    public Entity Mm;
    /// <summary>Index of the process name in the kernel's name table.</summary>
    public int NameIndex;
    /// <summary>Signal that killed it (11 = SIGSEGV, 9 = SIGKILL), 0 otherwise.</summary>
    public int ExitSignal;
    /// <summary>Simulated time (cycles) at which it starts.</summary>
    public ulong StartTime;
    /// <summary>Simulated time at which it exited or was killed.</summary>
    public ulong EndTime;
    /// <summary>When it last became ready to run (started, woken, preempted): a CPU that was idle takes it from then on.</summary>
    public ulong ReadyTime;
    /// <summary>The CPU it last ran on (task_cpu), −1 before it first runs: its system calls run there, and it goes back there when that CPU is free.</summary>
    public int LastCpu;
    /// <summary>Thread-group id: the pid of the group leader (the task itself for a process, its creator for a CLONE_VM thread).</summary>
    public int Tgid;
    /// <summary>
    /// TIF_NOTIFY_RESUME set by rseq_preempt: the step of __rseq_handle_notify_resume the task makes before its next
    /// access (0: none; Systems.Task.Rseq's LoadRseqCs, then StoreCpuId).
    /// </summary>
    public byte RseqPending;
}
