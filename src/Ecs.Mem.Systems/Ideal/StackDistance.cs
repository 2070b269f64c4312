using EcsMem.Systems.Policies;
using EcsMem.Traces;

namespace EcsMem.Systems.Ideal;

/// <summary>
/// One-pass LRU stack-distance analysis (Mattson, Gecsei, Slutz and Traiger, "Evaluation techniques for
/// storage hierarchies", IBM Systems Journal 1970). LRU is a stack algorithm: the pages resident in N frames
/// are always the N most recently used, so a reference hits in N frames exactly when its page is among the N
/// most recently used distinct pages, i.e. when its <em>stack distance</em> (1 + the number of distinct pages
/// referenced since its previous reference) is at most N. One replay that histograms the distances therefore
/// gives the ideal-mode LRU result for every frame count at once.
/// </summary>
/// <remarks>
/// The distance is counted with a Fenwick (binary indexed) tree over reference times holding a 1 at the time
/// of each page's latest reference: the distance of a reference whose page was last used at time t' is the
/// number of ones at times ≥ t'. Each reference is two tree updates and one prefix sum, O(log T); when the
/// time axis fills up, the live marks are renumbered densely (amortised O(1) per reference), so memory is
/// proportional to the number of distinct pages, not to the trace length.
/// </remarks>
public sealed class StackDistance
{
    private const int BatchSize = 4096;

    private readonly PageMap _lastTime;   // page → time of its latest reference
    private int[] _tree;                  // Fenwick tree over times 1..capacity (index 0 unused)
    private ulong[] _pageAt;              // time → page whose latest reference it is (valid where marked)
    private bool[] _marked;               // time → holds a page's latest reference
    private int _capacity;
    private int _now;                     // times used so far (next reference gets time _now + 1)
    private int _distinct;
    private long[] _histogram = new long[1024]; // _histogram[d]: references with stack distance d (d ≥ 1)
    private long _references;
    private long _cold;

    public StackDistance(int expectedDistinctPages = 1 << 16)
    {
        _lastTime = new PageMap(Math.Max(expectedDistinctPages, 16));
        _capacity = Math.Max(4 * expectedDistinctPages, 1 << 16);
        _tree = new int[_capacity + 1];
        _pageAt = new ulong[_capacity + 1];
        _marked = new bool[_capacity + 1];
    }

    /// <summary>References analysed.</summary>
    public long References => _references;

    /// <summary>First references to a page (infinite stack distance): faults for every frame count.</summary>
    public long ColdFaults => _cold;

    /// <summary>Distinct pages seen.</summary>
    public int DistinctPages => _distinct;

    /// <summary>References whose stack distance is exactly <paramref name="distance"/> (≥ 1).</summary>
    public long CountAt(int distance) => distance >= 1 && distance < _histogram.Length ? _histogram[distance] : 0;

    /// <summary>Analyses one reference to <paramref name="page"/>.</summary>
    public void Reference(ulong page) => Distance(page);

    /// <summary>Analyses one reference to <paramref name="page"/> and returns its stack distance (0 for a first reference).</summary>
    public int Distance(ulong page)
    {
        _references++;
        if (_now == _capacity)
            Compact();
        int t = ++_now;
        if (_lastTime.TryGetValue(page, out int last))
        {
            // Ones at times ≥ last: the page itself plus every distinct page used since.
            int distance = _distinct - Prefix(last - 1);
            if (distance >= _histogram.Length)
                Array.Resize(ref _histogram, Math.Max(_histogram.Length * 2, distance + 1));
            _histogram[distance]++;
            Add(last, -1);
            _marked[last] = false;
            Add(t, 1);
            _marked[t] = true;
            _pageAt[t] = page;
            _lastTime.Set(page, t);
            return distance;
        }
        _cold++;
        _distinct++;
        Add(t, 1);
        _marked[t] = true;
        _pageAt[t] = page;
        _lastTime.Set(page, t);
        return 0;
    }

    /// <summary>
    /// Drops <paramref name="page"/> from the stack as if it had never been referenced (SHARDS' fixed-size mode
    /// removes pages that fall out of the sample): later distances no longer count it, and its next reference
    /// is a first one. Returns false if the page was not on the stack.
    /// </summary>
    public bool Forget(ulong page)
    {
        if (!_lastTime.TryGetValue(page, out int last))
            return false;
        Add(last, -1);
        _marked[last] = false;
        _lastTime.Remove(page);
        _distinct--;
        return true;
    }

    /// <summary>Analyses a whole reference string.</summary>
    public void Run(ReadOnlySpan<ulong> pages)
    {
        foreach (ulong p in pages) Reference(p);
    }

    /// <summary><see cref="Run(ReadOnlySpan{ulong})"/> in slices of 64Ki references, stopping between slices once <paramref name="cancel"/> is cancelled.</summary>
    public void Run(ReadOnlySpan<ulong> pages, CancellationToken cancel)
    {
        const int Slice = 1 << 16;
        for (int i = 0; i < pages.Length && !cancel.IsCancellationRequested; i += Slice)
            Run(pages.Slice(i, Math.Min(Slice, pages.Length - i)));
    }

    /// <summary>Analyses a trace: page numbers from a <see cref="PageListReader"/>, else addresses &gt;&gt; 12 (straight from the records when the reader is an <see cref="IPageReader"/>).</summary>
    public void Run(ITraceReader reader)
    {
        if (reader is IPageReader list)
        {
            var pages = new ulong[BatchSize];
            int n;
            while ((n = list.ReadPages(pages)) > 0)
                Run(pages.AsSpan(0, n));
            return;
        }
        var accesses = new MemoryAccess[BatchSize];
        int m;
        while ((m = reader.Read(accesses)) > 0)
            for (int i = 0; i < m; i++) Reference(accesses[i].Address >> 12);
    }

    /// <summary>
    /// The ideal-mode LRU result with <paramref name="frames"/> frames, identical to replaying the trace through
    /// <see cref="IdealSimulator"/> with the LRU policy: hits are the references at distance ≤ frames; every
    /// other reference faults (cold on a first reference, capacity otherwise); LRU evicts nothing until all
    /// frames are used, and then once per fault.
    /// </summary>
    public IdealResult ResultFor(int frames, string policyName = "lru")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        long hits = 0;
        int top = Math.Min(frames, _histogram.Length - 1);
        for (int d = 1; d <= top; d++) hits += _histogram[d];
        long faults = _references - hits;
        long capacity = faults - _cold;
        long evictions = Math.Max(0, faults - frames);
        return new IdealResult(policyName, frames, _references, hits, _cold, capacity, evictions);
    }

    private int Prefix(int i)
    {
        int s = 0;
        int[] tree = _tree;
        for (; i > 0; i -= i & -i) s += tree[i];
        return s;
    }

    private void Add(int i, int delta)
    {
        int[] tree = _tree;
        for (int n = _capacity; i <= n; i += i & -i) tree[i] += delta;
    }

    /// <summary>
    /// The time axis is full: renumber the live marks 1..distinct in their order (relative order is all
    /// distances depend on), growing the axis so at least half of it is free afterwards.
    /// </summary>
    private void Compact()
    {
        int live = 0;
        for (int t = 1; t <= _capacity; t++)
        {
            if (!_marked[t]) continue;
            live++;
            _pageAt[live] = _pageAt[t];
        }
        int capacity = Math.Max(_capacity, 2 * live);
        if (capacity != _capacity)
        {
            Array.Resize(ref _pageAt, capacity + 1);
            _marked = new bool[capacity + 1];
            _tree = new int[capacity + 1];
            _capacity = capacity;
        }
        else
        {
            Array.Clear(_marked);
            Array.Clear(_tree);
        }
        for (int t = 1; t <= live; t++)
        {
            _marked[t] = true;
            _tree[t] = 1;
            _lastTime.Set(_pageAt[t], t);
        }
        // Linear Fenwick build: each node, in order, passes its finished sum to its parent.
        for (int t = 1; t <= _capacity; t++)
        {
            int parent = t + (t & -t);
            if (parent <= _capacity) _tree[parent] += _tree[t];
        }
        _now = live;
    }
}
