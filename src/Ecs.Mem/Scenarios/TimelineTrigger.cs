namespace EcsMem.Scenarios;

/// <summary>What a timeline event's <see cref="TimelineEvent.When"/> counts.</summary>
public enum TimelineTrigger
{
    /// <summary><c>at: N</c> — at simulated cycle N (global clock).</summary>
    AtCycle,

    /// <summary>
    /// <c>after: N</c> — once the event's process has made N accesses (its own count, so the event lands at the
    /// same point of its program whatever the scheduler and the other processes do).
    /// </summary>
    AfterAccesses,
}
