
namespace EcsMem.Systems.Machine;

/// <summary>
/// Runs a machine with the kernel's invariants checked between ticks (the CLI's <c>--check</c>): the first
/// tick after which the state is inconsistent stops the run with an <see cref="InvariantViolationException"/>
/// naming the tick and the simulated time, so a bug is caught where it happens rather than where it shows.
/// </summary>
public static class MachineChecks
{
    /// <summary>
    /// Like <see cref="Machine.Run"/>, checking <see cref="InvariantChecker"/> before the first tick and after
    /// every <paramref name="every"/>-th tick and the last. Returns the number of ticks run.
    /// </summary>
    public static long RunChecked(this Machine machine, int every = 1, Func<bool>? stop = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(every);
        var checker = new InvariantChecker(machine.Kernel);
        Verify(checker, "before the first tick");
        long ticks = 0;
        while (!machine.Finished)
        {
            machine.Env.RunTick();
            ticks++;
            if (ticks % every == 0 || machine.Finished)
                Verify(checker, $"after tick {ticks} (t={machine.Env.Now})");
            if (stop?.Invoke() == true)
                break;
        }
        return ticks;
    }

    /// <summary>
    /// Like <see cref="RunChecked"/> with the <see cref="IncrementalChecker"/>: the full check before the first
    /// tick, every <paramref name="fullEvery"/>-th tick and after the last; after every other tick only what that
    /// tick changed. Stops at the first inconsistent tick. Returns the number of ticks run.
    /// </summary>
    public static long RunIncrementallyChecked(this Machine machine, int fullEvery = IncrementalChecker.DefaultFullEvery, Func<bool>? stop = null)
    {
        var checker = new IncrementalChecker(machine.Kernel, fullEvery);
        Throw(checker.CheckFull(), "before the first tick");
        long ticks = 0;
        while (!machine.Finished)
        {
            machine.Env.RunTick();
            ticks++;
            Throw(machine.Finished ? checker.CheckFull() : checker.AfterTick(), $"after tick {ticks} (t={machine.Env.Now})");
            if (stop?.Invoke() == true)
                break;
        }
        return ticks;
    }

    private static void Throw(IReadOnlyList<string> violations, string when)
    {
        if (violations.Count > 0)
            throw new InvariantViolationException(violations, when);
    }

    private static void Verify(InvariantChecker checker, string when)
    {
        var v = checker.Check();
        if (v.Count > 0)
            throw new InvariantViolationException(v, when);
    }
}
