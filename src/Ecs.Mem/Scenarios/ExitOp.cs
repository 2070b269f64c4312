namespace EcsMem.Scenarios;

/// <summary>exit(2): the process ends and its address space is torn down (exit_mmap).</summary>
public sealed record ExitOp : TimelineOp;
