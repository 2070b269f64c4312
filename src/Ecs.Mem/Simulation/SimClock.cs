namespace EcsMem.Simulation;

/// <summary>
/// Simulated time in CPU cycles. Never wall time: a run's results depend only on its inputs, so the same
/// scenario gives the same numbers on any machine and under any load.
/// </summary>
public sealed class SimClock
{
    /// <summary>Current simulated time, in cycles since the start of the run.</summary>
    public ulong Now { get; private set; }

    /// <summary>Moves time forward by <paramref name="cycles"/>.</summary>
    public void Advance(ulong cycles)
    {
        ulong next = Now + cycles;
        if (next < Now)
            throw new OverflowException($"simulated clock overflow at {Now} + {cycles} cycles");
        Now = next;
    }

    /// <summary>Moves time to <paramref name="time"/>; time never runs backwards.</summary>
    public void AdvanceTo(ulong time)
    {
        if (time < Now)
            throw new InvalidOperationException($"simulated time cannot go back from {Now} to {time}");
        Now = time;
    }
}
