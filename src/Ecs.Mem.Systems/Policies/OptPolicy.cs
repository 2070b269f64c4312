using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// Belady's optimal (MIN/OPT) policy: evict the resident page whose next reference lies furthest in the
/// future. Offline: it receives the whole reference string first (<see cref="SetFuture"/>) and precomputes,
/// for every position, the position of the next reference to the same page.
/// <para>Ties: pages with a next reference never tie (each future position belongs to one page). Pages that
/// are never referenced again all rank furthest; among them the victim is the one whose last reference is
/// oldest (LRU among the dead pages). Deterministic.</para>
/// <para>Keys live in an indexed max-heap, so each reference costs O(log frames). The replay must present
/// exactly the string given: every <see cref="OnReferenced"/> or <see cref="OnMiss"/> consumes one position.</para>
/// </summary>
public sealed class OptPolicy : IFutureAwarePolicy
{
    private const int Never = -1;

    private int[] _nextUse = [];
    private long _length;
    private long _cursor;
    private long _missPosition;

    private long[] _key = [];
    private int[] _heap = [];
    private int[] _heapIndex = [];
    private int _heapCount;
    private int[] _setAside = [];

    public string Name => "opt";

    public void Initialize(int frameCount)
    {
        _key = new long[frameCount];
        _heap = new int[frameCount];
        _heapIndex = new int[frameCount];
        _setAside = new int[frameCount];
        Array.Fill(_heapIndex, -1);
        _heapCount = 0;
        _cursor = 0;
    }

    public void SetFuture(ReadOnlySpan<ulong> pages)
    {
        _nextUse = new int[pages.Length];
        _length = pages.Length;
        _cursor = 0;
        var lastSeen = new PageMap(1024);
        for (int i = pages.Length - 1; i >= 0; i--)
        {
            _nextUse[i] = lastSeen.TryGetValue(pages[i], out int n) ? n : Never;
            lastSeen.Set(pages[i], i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) => _missPosition = Advance();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        _key[frame] = KeyAt(_missPosition);
        int i = _heapCount++;
        _heap[i] = frame;
        _heapIndex[frame] = i;
        SiftUp(i);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame)
    {
        // The next use moves later, so the key grows: in a max-heap it can only rise.
        _key[frame] = KeyAt(Advance());
        SiftUp(_heapIndex[frame]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        if (_heapCount == 0) return -1;
        int top = _heap[0];
        if (!Evictability.IsPinned(unevictable, top)) return top;
        // Rare path: set pinned maxima aside until an evictable one surfaces, then put them back.
        int aside = 0, found = -1;
        while (_heapCount > 0)
        {
            int f = _heap[0];
            if (!Evictability.IsPinned(unevictable, f))
            {
                found = f;
                break;
            }
            RemoveAt(0);
            _setAside[aside++] = f;
        }
        for (int k = 0; k < aside; k++)
        {
            int f = _setAside[k];
            int i = _heapCount++;
            _heap[i] = f;
            _heapIndex[f] = i;
            SiftUp(i);
        }
        return found;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame)
    {
        int i = _heapIndex[frame];
        if (i >= 0) RemoveAt(i);
    }

    private long Advance()
    {
        if (_cursor >= _length)
            throw new InvalidOperationException($"OPT replayed more references than the {_length} it was given in SetFuture");
        return _cursor++;
    }

    /// <summary>The eviction key of a page last referenced at <paramref name="position"/>: its next use, or
    /// for a dead page 2N − position, which exceeds every real next use and favours the oldest dead page.</summary>
    private long KeyAt(long position)
    {
        int next = _nextUse[position];
        return next != Never ? next : 2 * _length - position;
    }

    private void RemoveAt(int i)
    {
        int f = _heap[i];
        _heapIndex[f] = -1;
        int last = --_heapCount;
        if (i == last) return;
        int moved = _heap[last];
        _heap[i] = moved;
        _heapIndex[moved] = i;
        SiftUp(i);
        SiftDown(_heapIndex[moved]);
    }

    private void SiftUp(int i)
    {
        int f = _heap[i];
        long k = _key[f];
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            int pf = _heap[parent];
            if (_key[pf] >= k) break;
            _heap[i] = pf;
            _heapIndex[pf] = i;
            i = parent;
        }
        _heap[i] = f;
        _heapIndex[f] = i;
    }

    private void SiftDown(int i)
    {
        int f = _heap[i];
        long k = _key[f];
        int n = _heapCount;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && _key[_heap[child + 1]] > _key[_heap[child]]) child++;
            int cf = _heap[child];
            if (_key[cf] <= k) break;
            _heap[i] = cf;
            _heapIndex[cf] = i;
            i = child;
        }
        _heap[i] = f;
        _heapIndex[f] = i;
    }

    /// <summary>
    /// The ideal-mode replay's view of this policy (see <see cref="IIdealHooks"/>): the same methods, called
    /// directly on the sealed class, so the replay loop makes no interface call.
    /// </summary>
    internal readonly struct Hooks(OptPolicy policy) : IIdealHooks
    {
        private readonly OptPolicy _policy = policy;

        public void OnMiss(ulong page) => _policy.OnMiss(page);

        public void OnInserted(int frame, ulong page) => _policy.OnInserted(frame, page);

        public void OnReferenced(int frame) => _policy.OnReferenced(frame);

        public int ChooseVictim() => _policy.ChooseVictim(ReadOnlySpan<bool>.Empty);

        public void OnRemoved(int frame) => _policy.OnRemoved(frame);
    }
}
