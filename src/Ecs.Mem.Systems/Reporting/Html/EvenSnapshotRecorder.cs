using System.Globalization;

namespace EcsMem.Systems.Reporting.Html;

/// <summary>
/// The HTML page's snapshots when the user names none: <c>0a</c>, a few evenly spaced access counts, and <c>end</c>,
/// without knowing the run's length in advance. It takes a snapshot at every multiple of a stride (first
/// <see cref="FirstStride"/> accesses); when more than <see cref="Keep"/> are kept it drops every other one and
/// doubles the stride, so the kept ones are always the multiples of the current stride: between
/// <see cref="Keep"/>/2 and <see cref="Keep"/> of them, evenly spaced over the run. Each is taken as
/// <c>--snapshot Na</c> takes it (the access stage ends its tick at the mark), so they do not depend on
/// <c>--batch</c>. Call <see cref="Start"/>, <see cref="AfterTick"/> after every tick, <see cref="Finish"/>.
/// </summary>
public sealed class EvenSnapshotRecorder
{
    /// <summary>Most snapshots kept between <c>0a</c> and <c>end</c>.</summary>
    public const int Keep = 8;

    /// <summary>The first stride, in accesses.</summary>
    public const long FirstStride = 1;

    private readonly Machine.Machine _m;
    private readonly SnapshotRecorder _capture;
    private readonly List<(long Accesses, Snapshot Snapshot)> _kept = [];
    private Snapshot? _zero;
    private long _stride = FirstStride;
    private long _next = FirstStride;

    public EvenSnapshotRecorder(Machine.Machine machine, int pageTableEntryCap)
    {
        _m = machine;
        _capture = new SnapshotRecorder(machine, []) { PageTableEntryCap = pageTableEntryCap };
    }

    /// <summary>Before the first tick: <c>0a</c>, and arms the first mark.</summary>
    public void Start()
    {
        _zero = _capture.Capture("0a");
        _m.Access.AccessMark = _next;
    }

    /// <summary>Between two ticks: takes the snapshot now due, thins when too many, arms the next mark.</summary>
    public void AfterTick()
    {
        long done = _m.Access.CompletedAccesses;
        if (done >= _next)
        {
            _kept.Add((done, _capture.Capture(done.ToString(CultureInfo.InvariantCulture) + "a")));
            if (_kept.Count > Keep)
            {
                _stride *= 2;
                _kept.RemoveAll(k => k.Accesses % _stride != 0);
            }
            _next = (done / _stride + 1) * _stride;
        }
        _m.Access.AccessMark = _next;
    }

    /// <summary>After the run: <c>0a</c>, the kept ones in order, and <c>end</c>.</summary>
    public IReadOnlyList<Snapshot> Finish()
    {
        _m.Access.AccessMark = -1;
        var all = new List<Snapshot>();
        if (_zero is not null)
            all.Add(_zero);
        all.AddRange(_kept.Select(k => k.Snapshot));
        all.Add(_capture.Capture("end"));
        return all;
    }
}
