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

    /// <summary>Schedules <paramref name="ev"/> at <paramref name="time"/>; returns its sequence number.</summary>
    public ulong Schedule(ulong time, in TEvent ev)
    {
        if (_count == _heap.Length)
            Array.Resize(ref _heap, _count * 2);
        ulong seq = _nextSequence++;
        int i = _count++;
        // Sift up: move parents down until the new node's place is found.
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(time, seq, _heap[parent].Time, _heap[parent].Sequence))
                break;
            _heap[i] = _heap[parent];
            i = parent;
        }
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
        {
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= _count) break;
                if (child + 1 < _count && Before(_heap[child + 1].Time, _heap[child + 1].Sequence, _heap[child].Time, _heap[child].Sequence))
                    child++;
                if (!Before(_heap[child].Time, _heap[child].Sequence, last.Time, last.Sequence))
                    break;
                _heap[i] = _heap[child];
                i = child;
            }
            _heap[i] = last;
        }
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
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(last.Time, last.Sequence, _heap[parent].Time, _heap[parent].Sequence))
                break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && Before(_heap[child + 1].Time, _heap[child + 1].Sequence, _heap[child].Time, _heap[child].Sequence))
                child++;
            if (!Before(_heap[child].Time, _heap[child].Sequence, last.Time, last.Sequence))
                break;
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = last;
        return true;
    }

    public void Clear()
    {
        Array.Clear(_heap, 0, _count);
        _count = 0;
    }

    private static bool Before(ulong t1, ulong s1, ulong t2, ulong s2) => t1 < t2 || (t1 == t2 && s1 < s2);
}
