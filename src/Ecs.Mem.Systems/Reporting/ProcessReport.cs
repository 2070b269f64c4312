using EcsMem.Components;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// One row of the per-process table: identity and final state, the process's counters (named after
/// <c>/proc/&lt;pid&gt;/stat</c> where Linux has a name) and its <c>/proc/&lt;pid&gt;/status</c> memory lines.
/// </summary>
public sealed record ProcessReport
{
    public required int Pid { get; init; }
    public required int ParentPid { get; init; }
    public required string Name { get; init; }
    public required ProcessState State { get; init; }

    /// <summary>Signal that killed it (11 SIGSEGV, 9 SIGKILL), 0 otherwise.</summary>
    public required int ExitSignal { get; init; }

    public required ProcessStats Stats { get; init; }

    /// <summary>Memory lines of /proc/&lt;pid&gt;/status (at exit for a process that has exited).</summary>
    public required ProcStatus Status { get; init; }

    /// <summary>The state as the report prints it: running, sleeping, exited, killed, not-started.</summary>
    public string StateName => State switch
    {
        ProcessState.NotStarted => "not-started",
        ProcessState.Runnable => "running",
        ProcessState.Faulting => "faulting",
        ProcessState.SleepingIo => "sleeping-io",
        ProcessState.Exited => "exited",
        ProcessState.WaitingChild => "waiting",
        ProcessState.Paused => "paused",
        _ => "killed",
    };

    /// <summary>Translations that hit a TLB (dTLB, iTLB or STLB) over all translations, including the walks of faulting accesses.</summary>
    public double TlbHitRate
    {
        get
        {
            long hits = Stats.DtlbHits + Stats.ItlbHits + Stats.StlbHits;
            long all = hits + Stats.TlbMisses;
            return all == 0 ? 0 : (double)hits / all;
        }
    }

    /// <summary>L1 misses over accesses (an access served by L2, L3 or memory missed L1).</summary>
    public double L1MissRate => Ratio(Stats.L1Misses, Stats.Accesses);

    /// <summary>L2 misses over L1 misses (the local miss rate of L2).</summary>
    public double L2MissRate => Ratio(Stats.L2Misses, Stats.L1Misses);

    /// <summary>L3 misses over L2 misses (the local miss rate of L3).</summary>
    public double L3MissRate => Ratio(Stats.L3Misses, Stats.L2Misses);

    private static double Ratio(long a, long b) => b == 0 ? 0 : (double)a / b;
}
