namespace EcsMem.Systems.Events;

/// <summary>
/// Which events a sink keeps: a set of kinds (null: all), a set of pids (null: all), a time window
/// [<see cref="From"/>, <see cref="To"/>] in simulated cycles, both ends included, and optionally one page
/// (<see cref="Page"/>): then only the events about that page — those whose address lies in it (fault, alloc,
/// alloc_stall, swap_out, unmap, swap_in, file_read), the TLB flushes whose range covers it (full flushes
/// included) — and the machine-wide reclaim events (reclaim, kswapd_wake, kswapd_sleep), which have no page.
/// All the conditions must hold.
/// </summary>
public sealed class EventFilter
{
    private readonly bool[]? _kinds;
    private readonly HashSet<int>? _pids;

    public EventFilter(IEnumerable<MemEventKind>? kinds = null, IEnumerable<int>? pids = null, ulong from = 0, ulong to = ulong.MaxValue, ulong? page = null)
    {
        Page = page & ~(Components.Pte.PageSize - 1);
        if (kinds is not null)
        {
            _kinds = new bool[EventNames.Kinds.Length];
            foreach (var k in kinds)
                _kinds[(int)k] = true;
        }
        _pids = pids is null ? null : new HashSet<int>(pids);
        From = from;
        To = to;
    }

    /// <summary>Whether the filter names <paramref name="kind"/> (a kind list that holds it; not "every kind").</summary>
    public bool Names(MemEventKind kind) => _kinds is not null && _kinds[(int)kind];

    /// <summary>Keeps everything.</summary>
    public static EventFilter All { get; } = new();

    public ulong From { get; }
    public ulong To { get; }

    /// <summary>The page (its first address) whose events are kept, or null for every page.</summary>
    public ulong? Page { get; }

    public bool Matches(in MemEvent e) =>
        (_kinds is null || _kinds[(int)e.Kind]) && (_pids is null || _pids.Contains(e.Pid)) && e.Time >= From && e.Time <= To
        && (Page is not { } page || AboutPage(e, page));

    private static bool AboutPage(in MemEvent e, ulong page) => e.Kind switch
    {
        MemEventKind.Fault or MemEventKind.Alloc or MemEventKind.AllocStall or MemEventKind.SwapOut or MemEventKind.Unmap
            or MemEventKind.SwapIn or MemEventKind.FileRead => (e.Address & ~(Components.Pte.PageSize - 1)) == page,
        MemEventKind.TlbFlush => e.Start <= page && page < e.End,
        MemEventKind.Reclaim or MemEventKind.KswapdWake or MemEventKind.KswapdSleep => true,
        // The per-call lru_shrink lines name no page either, but a page's story does not need them: left out.
        _ => false,
    };
}

/// <summary>Passes on to <see cref="Inner"/> only the events <see cref="Filter"/> keeps.</summary>
public sealed class FilteringEventSink(IEventSink inner, EventFilter filter) : IEventSink
{
    public IEventSink Inner { get; } = inner;
    public EventFilter Filter { get; } = filter;

    public void Write(in MemEvent e)
    {
        if (Filter.Matches(e))
            Inner.Write(e);
    }
}
