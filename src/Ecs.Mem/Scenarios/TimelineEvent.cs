namespace EcsMem.Scenarios;

/// <summary>One scripted event: at a time, a process performs an operation.</summary>
/// <param name="Trigger">Whether <paramref name="When"/> is a cycle or an access count of the process.</param>
/// <param name="When">The cycle (<see cref="TimelineTrigger.AtCycle"/>) or the number of the process's accesses (<see cref="TimelineTrigger.AfterAccesses"/>).</param>
/// <param name="Process">Name of the process (a top-level process, a <c>children:</c> child or a forked child).</param>
/// <param name="Op">What it does.</param>
/// <param name="Line">1-based line of the event entry.</param>
public sealed record TimelineEvent(TimelineTrigger Trigger, ulong When, string Process, TimelineOp Op, int Line);
