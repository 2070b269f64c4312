namespace EcsMem.Tests.Policies;

/// <summary>
/// Deliberately naive, list-based reference implementations of each replacement policy, written from the
/// textbook/paper definitions and operating on page numbers (no frames, no intrusive lists, O(n) per step).
/// The library's O(1) versions must produce the same faults and the same victims.
/// </summary>
internal abstract class ReferenceCache(int capacity)
{
    protected readonly int Capacity = capacity;

    /// <summary>Replays the string; returns the evicted pages in order and counts faults.</summary>
    public (long Faults, List<ulong> Victims) Replay(IReadOnlyList<ulong> pages)
    {
        var victims = new List<ulong>();
        long faults = 0;
        for (int t = 0; t < pages.Count; t++)
        {
            ulong? v = Access(pages[t], t, out bool hit);
            if (!hit) faults++;
            if (v is { } victim) victims.Add(victim);
        }
        return (faults, victims);
    }

    /// <summary>One reference at time <paramref name="t"/>; returns the victim if one was evicted.</summary>
    protected abstract ulong? Access(ulong page, int t, out bool hit);

    public static ReferenceCache For(string policy, int capacity, IReadOnlyList<ulong> pages, ulong seed) => policy switch
    {
        "fifo" => new RefFifo(capacity),
        "lru" => new RefLru(capacity),
        "clock" => new RefClock(capacity, false),
        "clock-ref" => new RefClock(capacity, true),
        "linux" => new RefLinux(capacity),
        "lfu" => new RefLfu(capacity),
        "arc" => new RefArc(capacity, integer: false),
        "arc-int" => new RefArc(capacity, integer: true),
        "opt" => new RefOpt(capacity, pages),
        "random" => new RefRandom(capacity, seed),
        _ => throw new ArgumentException(policy),
    };
}

/// <summary>FIFO: a queue of pages in load order.</summary>
internal sealed class RefFifo(int capacity) : ReferenceCache(capacity)
{
    private readonly List<ulong> _queue = [];

    protected override ulong? Access(ulong page, int t, out bool hit)
    {
        hit = _queue.Contains(page);
        if (hit) return null;
        ulong? victim = null;
        if (_queue.Count == Capacity)
        {
            victim = _queue[0];
            _queue.RemoveAt(0);
        }
        _queue.Add(page);
        return victim;
    }
}

/// <summary>LRU: list ordered from least to most recently used.</summary>
internal sealed class RefLru(int capacity) : ReferenceCache(capacity)
{
    private readonly List<ulong> _order = [];

    protected override ulong? Access(ulong page, int t, out bool hit)
    {
        hit = _order.Remove(page);
        ulong? victim = null;
        if (!hit && _order.Count == Capacity)
        {
            victim = _order[0];
            _order.RemoveAt(0);
        }
        _order.Add(page);
        return victim;
    }
}

/// <summary>Textbook clock face: an array of slots, a reference bit per slot, a hand.</summary>
internal sealed class RefClock(int capacity, bool refOnLoad) : ReferenceCache(capacity)
{
    private readonly ulong[] _slot = new ulong[capacity];
    private readonly bool[] _ref = new bool[capacity];
    private int _used;
    private int _hand;

    protected override ulong? Access(ulong page, int t, out bool hit)
    {
        int at = Array.IndexOf(_slot, page, 0, _used);
        hit = at >= 0;
        if (hit)
        {
            _ref[at] = true;
            return null;
        }
        if (_used < Capacity)
        {
            _slot[_used] = page;
            _ref[_used] = refOnLoad;
            _used++;
            return null;
        }
        while (_ref[_hand])
        {
            _ref[_hand] = false;
            _hand = (_hand + 1) % Capacity;
        }
        ulong victim = _slot[_hand];
        _slot[_hand] = page;
        _ref[_hand] = refOnLoad;
        _hand = (_hand + 1) % Capacity;
        return victim;
    }
}

/// <summary>
/// Linux two lists (index 0 = head) with one referenced flag per page: mark_page_accessed on a hit;
/// on reclaim, deactivate 32 from the active tail while inactive &lt; active (ratio 1 below 1 GiB),
/// then scan the inactive tail giving referenced pages a second pass.
/// </summary>
internal sealed class RefLinux(int capacity) : ReferenceCache(capacity)
{
    private readonly List<ulong> _active = [];
    private readonly List<ulong> _inactive = [];
    private readonly Dictionary<ulong, bool> _referenced = [];

    protected override ulong? Access(ulong page, int t, out bool hit)
    {
        hit = _referenced.ContainsKey(page);
        if (hit)
        {
            if (!_referenced[page]) _referenced[page] = true;
            else if (_inactive.Remove(page))
            {
                _active.Insert(0, page);
                _referenced[page] = false;
            }
            return null;
        }
        ulong? victim = null;
        if (_referenced.Count == Capacity)
        {
            if (_inactive.Count < _active.Count) Deactivate();
            while (true)
            {
                if (_inactive.Count == 0)
                {
                    Deactivate();
                    continue;
                }
                ulong last = _inactive[^1];
                _inactive.RemoveAt(_inactive.Count - 1);
                if (_referenced[last])
                {
                    _referenced[last] = false;
                    _inactive.Insert(0, last);
                    continue;
                }
                victim = last;
                _referenced.Remove(last);
                break;
            }
        }
        _inactive.Insert(0, page);
        _referenced[page] = false;
        return victim;
    }

    private void Deactivate()
    {
        for (int i = 0; i < 32 && _active.Count > 0; i++)
        {
            ulong p = _active[^1];
            _active.RemoveAt(_active.Count - 1);
            _referenced[p] = false;
            _inactive.Insert(0, p);
        }
    }
}

/// <summary>LFU: count since load; victim = smallest count, ties by oldest time of reaching that count.</summary>
internal sealed class RefLfu(int capacity) : ReferenceCache(capacity)
{
    private readonly Dictionary<ulong, (long Count, int Since)> _pages = [];

    protected override ulong? Access(ulong page, int t, out bool hit)
    {
        hit = _pages.TryGetValue(page, out var e);
        if (hit)
        {
            _pages[page] = (e.Count + 1, t);
            return null;
        }
        ulong? victim = null;
        if (_pages.Count == Capacity)
        {
            ulong best = 0;
            (long Count, int Since) bestKey = (long.MaxValue, int.MaxValue);
            foreach (var (p, k) in _pages)
                if (k.Count < bestKey.Count || (k.Count == bestKey.Count && k.Since < bestKey.Since))
                {
                    best = p;
                    bestKey = k;
                }
            _pages.Remove(best);
            victim = best;
        }
        _pages[page] = (1, t);
        return victim;
    }
}

/// <summary>ARC straight from the paper's four cases, lists of pages with index 0 = MRU; p real-valued, or with
/// the δ ratios rounded down (<paramref name="integer"/>).</summary>
internal sealed class RefArc(int capacity, bool integer) : ReferenceCache(capacity)
{
    private readonly List<ulong> _t1 = [], _t2 = [], _b1 = [], _b2 = [];
    private double _p;

    public double P => _p;

    private double Ratio(int a, int b) => integer ? a / b : (double)a / b;

    protected override ulong? Access(ulong x, int t, out bool hit)
    {
        int c = Capacity;
        hit = false;
        if (_t1.Remove(x) || _t2.Remove(x))
        {
            hit = true;
            _t2.Insert(0, x);
            return null;
        }
        if (_b1.Contains(x))
        {
            _p = Math.Min(c, _p + (_b1.Count >= _b2.Count ? 1 : Ratio(_b2.Count, _b1.Count)));
            ulong? v = Replace(inB2: false);
            _b1.Remove(x);
            _t2.Insert(0, x);
            return v;
        }
        if (_b2.Contains(x))
        {
            _p = Math.Max(0, _p - (_b2.Count >= _b1.Count ? 1 : Ratio(_b1.Count, _b2.Count)));
            ulong? v = Replace(inB2: true);
            _b2.Remove(x);
            _t2.Insert(0, x);
            return v;
        }
        ulong? victim = null;
        if (_t1.Count + _b1.Count == c)
        {
            if (_t1.Count < c)
            {
                _b1.RemoveAt(_b1.Count - 1);
                victim = Replace(inB2: false);
            }
            else
            {
                victim = _t1[^1];
                _t1.RemoveAt(_t1.Count - 1);
            }
        }
        else if (_t1.Count + _b1.Count + _t2.Count + _b2.Count >= c)
        {
            if (_t1.Count + _b1.Count + _t2.Count + _b2.Count == 2 * c) _b2.RemoveAt(_b2.Count - 1);
            victim = Replace(inB2: false);
        }
        _t1.Insert(0, x);
        return victim;
    }

    private ulong Replace(bool inB2)
    {
        // An empty T2 leaves T1 as the only list to take from (libCacheSim's fourth condition).
        if ((_t1.Count > 0 && (_t1.Count > _p || (inB2 && _t1.Count == _p))) || _t2.Count == 0)
        {
            ulong v = _t1[^1];
            _t1.RemoveAt(_t1.Count - 1);
            _b1.Insert(0, v);
            return v;
        }
        ulong w = _t2[^1];
        _t2.RemoveAt(_t2.Count - 1);
        _b2.Insert(0, w);
        return w;
    }
}

/// <summary>Belady: scan the future for each resident page; dead pages rank furthest, oldest last use first.</summary>
internal sealed class RefOpt : ReferenceCache
{
    private readonly Dictionary<ulong, int> _lastUse = [];
    private readonly Dictionary<ulong, List<int>> _positions = [];

    public RefOpt(int capacity, IReadOnlyList<ulong> pages) : base(capacity)
    {
        for (int i = 0; i < pages.Count; i++)
        {
            if (!_positions.TryGetValue(pages[i], out var list)) _positions[pages[i]] = list = [];
            list.Add(i);
        }
    }

    protected override ulong? Access(ulong page, int t, out bool hit)
    {
        hit = _lastUse.ContainsKey(page);
        ulong? victim = null;
        if (!hit && _lastUse.Count == Capacity)
        {
            ulong best = 0;
            long bestNext = -1;
            int bestLast = int.MaxValue;
            foreach (var (p, last) in _lastUse)
            {
                long next = long.MaxValue; // never again
                foreach (int j in _positions[p])
                    if (j > t)
                    {
                        next = j;
                        break;
                    }
                if (next > bestNext || (next == bestNext && last < bestLast))
                {
                    best = p;
                    bestNext = next;
                    bestLast = last;
                }
            }
            _lastUse.Remove(best);
            victim = best;
        }
        _lastUse[page] = t;
        return victim;
    }
}

/// <summary>Random: dense list of pages (append on load, swap-with-last on removal), uniform index.</summary>
internal sealed class RefRandom(int capacity, ulong seed) : ReferenceCache(capacity)
{
    private readonly List<ulong> _dense = [];
    private TestRng _rng = new(seed);

    protected override ulong? Access(ulong page, int t, out bool hit)
    {
        hit = _dense.Contains(page);
        if (hit) return null;
        ulong? victim = null;
        if (_dense.Count == Capacity)
        {
            int i = (int)_rng.Below((uint)_dense.Count);
            victim = _dense[i];
            _dense[i] = _dense[^1];
            _dense.RemoveAt(_dense.Count - 1);
        }
        _dense.Add(page);
        return victim;
    }
}
