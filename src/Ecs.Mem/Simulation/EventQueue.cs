namespace EcsMem.Simulation;

/// <summary>
/// Priority queue of timed events, ordered by (time, insertion sequence). Equal times come out in the
/// order they were scheduled, so a run never depends on the heap's internal layout: that is what makes
/// the simulation deterministic when many events share a cycle.
/// </summary>
public sealed class EventQueue<TEvent> where TEvent : struct
{
    private struct Node
    {
        public ulong Time;
        public ulong Sequence;
        public TEvent Event;
    }

    private Node[] _heap = new Node[64];
    private int _count;
    private ulong _nextSequence;

    public int Count => _count;

    /// <summary>Time of the earliest event. Only valid when <see cref="Count"/> &gt; 0.</summary>
    public ulong PeekTime => _count > 0 ? _heap[0].Time : throw new InvalidOperationException("the event queue is empty");

    /// <summary>The earliest event (ties: the one scheduled first). Only valid when <see cref="Count"/> &gt; 0.</summary>
    public ref readonly TEvent PeekEvent => ref _count > 0 ? ref _heap[0].Event : ref ThrowEmpty();

    private static ref TEvent ThrowEmpty() => throw new InvalidOperationException("the event queue is empty");

    /// <summary>Schedules <paramref name="ev"/> at <paramref name="time"/>; returns its sequence number.</summary>
    public ulong Schedule(ulong time, in TEvent ev)
    {
        if (_count == _heap.Length)
            Array.Resize(ref _heap, _count * 2);
        ulong seq = _nextSequence++;
        int i = SiftUp(_count++, time, seq);
        _heap[i] = new Node { Time = time, Sequence = seq, Event = ev };
        return seq;
    }

    /// <summary>Removes the earliest event (ties: the one scheduled first).</summary>
    public bool TryDequeue(out ulong time, out TEvent ev)
    {
        if (_count == 0)
        {
            time = 0;
            ev = default;
            return false;
        }
        time = _heap[0].Time;
        ev = _heap[0].Event;
        Node last = _heap[--_count];
        _heap[_count] = default;
        if (_count > 0)
            _heap[SiftDown(0, last)] = last;
        return true;
    }

    /// <summary>
    /// Removes the event scheduled with <paramref name="sequence"/> (the value <see cref="Schedule"/> returned); false
    /// when it is no longer queued. O(n): for rare cancellations (a kernel thread's timer whose work went away).
    /// </summary>
    public bool Cancel(ulong sequence)
    {
        int i = 0;
        while (i < _count && _heap[i].Sequence != sequence)
            i++;
        if (i == _count)
            return false;
        Node last = _heap[--_count];
        _heap[_count] = default;
        if (i == _count)
            return true;
        // The last node takes the hole, then moves up or down to its place.
        i = SiftUp(i, last.Time, last.Sequence);
        _heap[SiftDown(i, last)] = last;
        return true;
    }

    /// <summary>Moves parents down from hole <paramref name="i"/> while (time, seq) sorts before them; returns the node's place.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int SiftUp(int i, ulong time, ulong seq)
    {
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(time, seq, _heap[parent].Time, _heap[parent].Sequence))
                break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        return i;
    }

    /// <summary>Moves the earlier child up into hole <paramref name="i"/> while it sorts before <paramref name="node"/>; returns the node's place.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int SiftDown(int i, in Node node)
    {
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && Before(_heap[child + 1].Time, _heap[child + 1].Sequence, _heap[child].Time, _heap[child].Sequence))
                child++;
            if (!Before(_heap[child].Time, _heap[child].Sequence, node.Time, node.Sequence))
                break;
            _heap[i] = _heap[child];
            i = child;
        }
        return i;
    }

    /// <summary>
    /// The earliest time of a queued event that <paramref name="include"/> accepts, or <see cref="ulong.MaxValue"/> when
    /// none does. O(n): asked when the machine goes idle, not per access.
    /// </summary>
    public ulong EarliestTime(Func<TEvent, bool> include)
    {
        ulong earliest = ulong.MaxValue;
        for (int i = 0; i < _count; i++)
            if (_heap[i].Time < earliest && include(_heap[i].Event))
                earliest = _heap[i].Time;
        return earliest;
    }

    public void Clear()
    {
        Array.Clear(_heap, 0, _count);
        _count = 0;
    }

    private static bool Before(ulong t1, ulong s1, ulong t2, ulong s2) => t1 < t2 || (t1 == t2 && s1 < s2);
}
