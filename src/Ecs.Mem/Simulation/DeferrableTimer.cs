namespace EcsMem.Simulation;

/// <summary>
/// A kernel thread's periodic timer whose wakes can be shown to do nothing while the rest of the machine stands still
/// (kcompactd's proactive-compaction check with the fragmentation score below its mark), or to do the same thing each
/// period (khugepaged's scan of an unchanged mm: its counters and CPU time, added by the skip). While the machine idles,
/// <see cref="SimEnvironment.DeferIdleTimers"/> moves such a timer's pending wake straight to the last period before the
/// next thing that does happen — arithmetic, not one tick per period — so a long idle stretch (a task that starts
/// hours later) costs a few ticks, and every figure is what waking every period gives: the skipped wakes would have
/// found nothing to do and changed nothing but their own next wake. The idea is Linux's deferrable timers
/// (TIMER_DEFERRABLE, include/linux/timer.h) on a NOHZ idle CPU (tick_nohz_next_event → get_next_timer_interrupt
/// leaves the deferrable base out), but exact: Linux runs a deferred timer late, at the CPU's next wake; EcsMem runs
/// the timer's last wake before that point at its own time, as an undeferred timer would.
/// </summary>
public interface IDeferrableTimer
{
    /// <summary>
    /// The earliest of this timer's wakes, from its pending one on, that may do something if the machine's state stays
    /// as it is now (the pending wake's time when that one may); <see cref="ulong.MaxValue"/> when no wake is pending or
    /// every one would find nothing to do and change nothing the rest of the machine can see but the timer's own state
    /// (its next wake, its counters and CPU time, which <see cref="DeferBefore"/> brings up to date). Wakes at or after
    /// <paramref name="before"/> (the horizon found so far) need not be looked at: any time at or after it may be given.
    /// </summary>
    ulong FirstEffectiveWake(ulong before);

    /// <summary>
    /// Moves the pending wake to the last time the timer would wake before <paramref name="horizon"/> if it woke every
    /// period, and returns how many wakes that skips (0: not moved). Called only while every CPU idles and nothing
    /// happens before <paramref name="horizon"/> (at most <see cref="FirstEffectiveWake"/>) but deferrable wakes.
    /// </summary>
    ulong DeferBefore(ulong horizon);
}
