namespace EcsMem.Scenarios;

/// <summary>
/// pause(2) until the parent exits: the process sleeps (its address space held) and goes on with its workload once its
/// parent has exited, as a child blocked on a pipe only its parent writes (read returns end of file when the parent's
/// exit closes it) or one woken by prctl(PR_SET_PDEATHSIG). A process whose parent has exited already, or that has none,
/// does not sleep.
/// </summary>
public sealed record PauseOp : TimelineOp;
