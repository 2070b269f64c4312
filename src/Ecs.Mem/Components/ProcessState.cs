namespace EcsMem.Components;

/// <summary>Scheduling state of a simulated process (a much reduced task_struct->__state).</summary>
public enum ProcessState : byte
{
    /// <summary>Created by the scenario but its start time has not come yet.</summary>
    NotStarted = 0,
    /// <summary>Ready to run (TASK_RUNNING).</summary>
    Runnable = 1,
    /// <summary>Its current access faulted and waits for this tick's slow-path systems.</summary>
    Faulting = 2,
    /// <summary>Waiting for disk I/O of a major fault (TASK_UNINTERRUPTIBLE); woken by an event.</summary>
    SleepingIo = 3,
    /// <summary>Ran to the end of its workload and exited.</summary>
    Exited = 4,
    /// <summary>Killed by a signal (SIGSEGV or the OOM killer's SIGKILL).</summary>
    Killed = 5,
    /// <summary>In waitpid for a child it forked (TASK_INTERRUPTIBLE in do_wait); woken by that child's exit.</summary>
    WaitingChild = 6,
    /// <summary>
    /// In pause(2) (TASK_INTERRUPTIBLE) until its parent exits: the parent-death signal of prctl(PR_SET_PDEATHSIG), or
    /// the end of file of a pipe only the parent writes (the kit harness's held fork child); woken by that exit.
    /// </summary>
    Paused = 7,
}
