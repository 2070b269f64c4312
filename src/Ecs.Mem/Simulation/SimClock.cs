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
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Advance(ulong cycles)
    {
        ulong next = Now + cycles;
        if (next < Now)
            ThrowOverflow(Now, cycles);
        Now = next;
    }

    // Out of line so Advance stays small enough to inline into the per-access path.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ThrowOverflow(ulong now, ulong cycles) =>
        throw new OverflowException($"simulated clock overflow at {now} + {cycles} cycles");

    /// <summary>
    /// Shows the time of another simulated CPU. With several CPUs each has its own time (they run in parallel
    /// and reach a given simulated instant at different points of the host's work); the SMP layer switches the
    /// clock to the CPU whose work is being simulated, so this one setter may go backwards. Everything else
    /// moves time forward only.
    /// </summary>
    public void SwitchTo(ulong cpuTime) => Now = cpuTime;

    /// <summary>Moves time to <paramref name="time"/>; time never runs backwards.</summary>
    public void AdvanceTo(ulong time)
    {
        if (time < Now)
            throw new InvalidOperationException($"simulated time cannot go back from {Now} to {time}");
        Now = time;
    }
}
