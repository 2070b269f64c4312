using EcsMem.Components;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// Samples the machine every <see cref="Every"/> accesses (call <see cref="Observe"/> after every tick, and
/// <see cref="Finish"/> once at the end). The state can only be read between ticks, so a row is taken at the
/// first tick boundary at or past each multiple of <see cref="Every"/> (its <c>accesses</c> column is the exact
/// count then; a tick that crosses several multiples gives one row), plus a last row at the end of the run.
/// A tick runs at most one batch of accesses, so with a batch of 1 the rows fall exactly on the multiples
/// and a run of N accesses gives ceil(N / Every) rows.
/// </summary>
public sealed class TimelineRecorder
{
    private readonly List<TimelineRow> _rows = new();
    private long _next;
    private long _lastAccesses;
    private long _lastFaults;

    public TimelineRecorder(long every)
    {
        if (every < 1)
            throw new InputException("command line", 0, every.ToString(System.Globalization.CultureInfo.InvariantCulture), "the timeline interval must be at least 1 access");
        Every = every;
        _next = every;
    }

    /// <summary>Accesses between rows.</summary>
    public long Every { get; }

    public IReadOnlyList<TimelineRow> Rows => _rows;

    /// <summary>Adds a row if the access count reached the next multiple of <see cref="Every"/>.</summary>
    public void Observe(Kernel.Kernel kernel)
    {
        long accesses = kernel.Cycles.Accesses;
        if (accesses < _next)
            return;
        Add(kernel, accesses);
        _next = (accesses / Every + 1) * Every;
    }

    /// <summary>Adds the final row unless the last one already shows the final count.</summary>
    public void Finish(Kernel.Kernel kernel)
    {
        long accesses = kernel.Cycles.Accesses;
        if (_rows.Count == 0 || _rows[^1].Accesses != accesses)
            Add(kernel, accesses);
    }

    private void Add(Kernel.Kernel k, long accesses)
    {
        var procs = k.Tasks.Processes;
        var rss = new ulong[procs.Count];
        var world = k.World;
        for (int i = 0; i < procs.Count; i++)
        {
            ref Process p = ref world.Get<Process>(procs[i]);
            rss[i] = world.Get<MmRef>(p.Mm).State.Rss;
        }
        long faults = k.Env.Counters[k.C.PgFault];
        long da = accesses - _lastAccesses;
        double rate = da <= 0 ? 0 : (double)(faults - _lastFaults) / da;
        _rows.Add(new TimelineRow(k.Env.Now, accesses, k.Zone.Buddy.NrFreePages, rss, rate, k.Swap.UsedPages, k.PageCache.Count));
        _lastAccesses = accesses;
        _lastFaults = faults;
    }
}
