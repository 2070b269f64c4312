using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// Least-frequently-used (in-memory counts): each resident page counts its references since it was
/// loaded (the load counts as 1); the victim has the smallest count. Ties go to the page that reached
/// its count longest ago, i.e. the least recently used among equal counts (for pages never hit: the least
/// recently loaded). A count is forgotten when the page is evicted.
/// <para>O(1) per reference: frames sit in count buckets (a list of buckets in increasing count, each a
/// list of frames in the order they entered it), all in int arrays.</para>
/// </summary>
public sealed class LfuPolicy : IReplacementPolicy
{
    // Frames.
    private int[] _fNext = [], _fPrev = [], _fBucket = [];
    // Buckets: at most one per distinct count, plus one made before the emptied one is freed.
    private long[] _bCount = [];
    private int[] _bNext = [], _bPrev = [], _bFirst = [], _bLast = [];
    private int[] _freeBuckets = [];
    private int _freeTop;
    private int _lowest = -1; // bucket with the smallest count

    public string Name => "lfu";

    public void Initialize(int frameCount)
    {
        _fNext = new int[frameCount];
        _fPrev = new int[frameCount];
        _fBucket = new int[frameCount];
        int buckets = frameCount + 1;
        _bCount = new long[buckets];
        _bNext = new int[buckets];
        _bPrev = new int[buckets];
        _bFirst = new int[buckets];
        _bLast = new int[buckets];
        _freeBuckets = new int[buckets];
        for (int i = 0; i < buckets; i++) _freeBuckets[i] = buckets - 1 - i;
        _freeTop = buckets;
        _lowest = -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        int b = _lowest;
        if (b < 0 || _bCount[b] != 1) b = NewBucket(1, prev: -1, next: _lowest);
        Append(b, frame);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame)
    {
        int b = _fBucket[frame];
        long c = _bCount[b] + 1;
        int nb = _bNext[b];
        if (nb < 0 || _bCount[nb] != c) nb = NewBucket(c, prev: b, next: nb);
        Unlink(frame);
        Append(nb, frame);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        for (int b = _lowest; b >= 0; b = _bNext[b])
            for (int f = _bFirst[b]; f >= 0; f = _fNext[f])
                if (!Evictability.IsPinned(unevictable, f)) return f;
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame) => Unlink(frame);

    private int NewBucket(long count, int prev, int next)
    {
        int b = _freeBuckets[--_freeTop];
        _bCount[b] = count;
        _bFirst[b] = -1;
        _bLast[b] = -1;
        _bPrev[b] = prev;
        _bNext[b] = next;
        if (prev >= 0) _bNext[prev] = b; else _lowest = b;
        if (next >= 0) _bPrev[next] = b;
        return b;
    }

    private void Append(int b, int f)
    {
        _fBucket[f] = b;
        _fNext[f] = -1;
        _fPrev[f] = _bLast[b];
        if (_bLast[b] >= 0) _fNext[_bLast[b]] = f; else _bFirst[b] = f;
        _bLast[b] = f;
    }

    /// <summary>Takes <paramref name="f"/> out of its bucket, freeing the bucket when it empties.</summary>
    private void Unlink(int f)
    {
        int b = _fBucket[f];
        int p = _fPrev[f], n = _fNext[f];
        if (p >= 0) _fNext[p] = n; else _bFirst[b] = n;
        if (n >= 0) _fPrev[n] = p; else _bLast[b] = p;
        if (_bFirst[b] >= 0) return;
        int bp = _bPrev[b], bn = _bNext[b];
        if (bp >= 0) _bNext[bp] = bn; else _lowest = bn;
        if (bn >= 0) _bPrev[bn] = bp;
        _freeBuckets[_freeTop++] = b;
    }

    /// <summary>
    /// The ideal-mode replay's view of this policy (see <see cref="IIdealHooks"/>): the same methods, called
    /// directly on the sealed class, so the replay loop makes no interface call.
    /// </summary>
    internal readonly struct Hooks(LfuPolicy policy) : IIdealHooks
    {
        private readonly LfuPolicy _policy = policy;

        public void OnMiss(ulong page) => _policy.OnMiss(page);

        public void OnInserted(int frame, ulong page) => _policy.OnInserted(frame, page);

        public void OnReferenced(int frame) => _policy.OnReferenced(frame);

        public int ChooseVictim() => _policy.ChooseVictim(ReadOnlySpan<bool>.Empty);

        public void OnRemoved(int frame) => _policy.OnRemoved(frame);
    }
}
