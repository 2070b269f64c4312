using EcsMem.Systems.Events;

namespace EcsMem.Systems.Reporting.Html;

/// <summary>
/// The events the HTML page steps through: the first <see cref="Cap"/> of the run, in the order they happened, and
/// how many there were of each kind in all (so the page can say what it left out).
/// </summary>
public sealed class HtmlEventSink : IEventSink
{
    /// <summary>Events kept by default: enough for a teaching scenario whole, the start of a big run.</summary>
    public const int DefaultCap = 2000;

    private readonly List<MemEvent> _kept = [];
    private readonly long[] _byKind = new long[EventNames.Kinds.Length];

    public HtmlEventSink(int cap) => Cap = cap;

    /// <summary>Most events kept.</summary>
    public int Cap { get; }

    /// <summary>The first events, in order.</summary>
    public IReadOnlyList<MemEvent> Kept => _kept;

    /// <summary>Events seen, kept or not.</summary>
    public long Total { get; private set; }

    /// <summary>Events seen of each kind (indexed by <see cref="MemEventKind"/>).</summary>
    public IReadOnlyList<long> ByKind => _byKind;

    public void Write(in MemEvent e)
    {
        Total++;
        _byKind[(int)e.Kind]++;
        if (_kept.Count < Cap)
            _kept.Add(e);
    }
}
