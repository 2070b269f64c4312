namespace EcsMem.Systems.Events;

/// <summary>
/// Which events a sink keeps: a set of kinds (null: all), a set of pids (null: all) and a time window
/// [<see cref="From"/>, <see cref="To"/>] in simulated cycles, both ends included.
/// </summary>
public sealed class EventFilter
{
    private readonly bool[]? _kinds;
    private readonly HashSet<int>? _pids;

    public EventFilter(IEnumerable<MemEventKind>? kinds = null, IEnumerable<int>? pids = null, ulong from = 0, ulong to = ulong.MaxValue)
    {
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

    /// <summary>Keeps everything.</summary>
    public static EventFilter All { get; } = new();

    public ulong From { get; }
    public ulong To { get; }

    public bool Matches(in MemEvent e) =>
        (_kinds is null || _kinds[(int)e.Kind]) && (_pids is null || _pids.Contains(e.Pid)) && e.Time >= From && e.Time <= To;
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
