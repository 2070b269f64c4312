using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// ARC, the Adaptive Replacement Cache of Megiddo &amp; Modha (FAST 2003), for a cache of c = frameCount pages.
/// T1 holds pages seen once recently, T2 pages seen at least twice; the ghost lists B1/B2 remember the
/// pages most recently evicted from T1/T2 (numbers only, no frames). p is the adaptive target size of T1.
/// <list type="bullet">
/// <item>Case I, hit in T1∪T2: move to the MRU end of T2.</item>
/// <item>Case II, miss found in B1: p = min(p + δ1, c), δ1 = 1 if |B1| ≥ |B2| else |B2|/|B1|;
/// REPLACE; the page goes to the MRU end of T2.</item>
/// <item>Case III, miss found in B2: p = max(p − δ2, 0), δ2 = 1 if |B2| ≥ |B1| else |B1|/|B2|;
/// REPLACE; the page goes to the MRU end of T2.</item>
/// <item>Case IV, miss in no list: if |T1|+|B1| = c: when |T1| &lt; c delete the LRU ghost of B1 and REPLACE,
/// otherwise evict the LRU page of T1 without remembering it; else if |T1|+|T2|+|B1|+|B2| ≥ c: delete
/// the LRU ghost of B2 if the total is 2c, then REPLACE. The page goes to the MRU end of T1.</item>
/// <item>REPLACE(x, p): if T1 is non-empty and (|T1| &gt; p or (x ∈ B2 and |T1| = p)) evict the LRU page of
/// T1 into the MRU end of B1, else the LRU page of T2 into the MRU end of B2.</item>
/// </list>
/// Two variants differ only in arithmetic. <c>arc</c> keeps p and the δ ratios real-valued, as the paper's
/// pseudocode writes them (δ1 = |B2|/|B1| is a real ratio, p a real target) and as libCacheSim's ARC.c computes
/// them (double p, δ = max(ratio, 1), |T1| compared with p as reals); its miss counts equal libCacheSim's
/// (tests/…/LibCacheSimTests). <c>arc-int</c> rounds δ down to an integer and so keeps p integral, as many
/// integer implementations of the pseudocode do; it can differ from <c>arc</c> by a few misses in 10^4. The hooks map onto the cases: <see cref="OnMiss"/> does the ghost lookup, the
/// adaptation and the ghost deletions; <see cref="ChooseVictim"/> is REPLACE (it is only called when the
/// cache is full, which is exactly when the paper replaces); <see cref="OnRemoved"/> of the chosen victim
/// creates its ghost; <see cref="OnInserted"/> places the new page in T1 or T2.
/// If the preferred list has only pinned pages the victim comes from the other list.
/// </summary>
public sealed class ArcPolicy : IReplacementPolicy
{
    private const int T1 = 0, T2 = 1;
    private const int B1 = 0, B2 = 1;
    private const int NoList = -1;

    private readonly bool _integer;
    private int _c;
    private double _p;
    private FrameLists _cache = new(0, 2);
    private ulong[] _framePage = [];
    private FrameLists _ghosts = new(0, 2);
    private ulong[] _ghostPage = [];
    private int[] _freeGhosts = [];
    private int _freeGhostTop;
    private PageMap _ghostMap = new(0);

    // State carried from OnMiss to ChooseVictim/OnRemoved/OnInserted for the page being loaded.
    private int _missGhostList = NoList;  // B1/B2 if the missing page was a ghost
    private bool _dropT1;                 // case IV with |T1| = c: evict without a ghost
    private int _victim = -1;
    private int _victimGhostList = NoList;

    /// <param name="integerRatios">True for <c>arc-int</c>: δ rounded down, so p stays an integer.</param>
    public ArcPolicy(bool integerRatios = false) => _integer = integerRatios;

    public string Name => _integer ? "arc-int" : "arc";

    /// <summary>The current target size of T1 (for tests and reports); an integer for <c>arc-int</c>.</summary>
    public double TargetT1 => _p;

    public void Initialize(int frameCount)
    {
        _c = frameCount;
        _p = 0;
        _cache = new FrameLists(frameCount, 2);
        _framePage = new ulong[frameCount];
        // |B1|+|B2| ≤ c while the cache is full; 2c leaves room when frames are freed from outside.
        int ghostSlots = 2 * frameCount;
        _ghosts = new FrameLists(ghostSlots, 2);
        _ghostPage = new ulong[ghostSlots];
        _freeGhosts = new int[ghostSlots];
        for (int i = 0; i < ghostSlots; i++) _freeGhosts[i] = ghostSlots - 1 - i;
        _freeGhostTop = ghostSlots;
        _ghostMap = new PageMap(ghostSlots);
        _missGhostList = NoList;
        _dropT1 = false;
        _victim = -1;
    }

    /// <summary>Case I.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame) => _cache.MoveToHead(T2, frame);

    /// <summary>Cases II–IV up to (not including) REPLACE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page)
    {
        _missGhostList = NoList;
        _dropT1 = false;
        int b1 = _ghosts.Count(B1), b2 = _ghosts.Count(B2);
        if (_ghostMap.TryGetValue(page, out int g))
        {
            if (_ghosts.ListOf(g) == B1)
            {
                double delta = b1 >= b2 ? 1 : _integer ? b2 / b1 : (double)b2 / b1;
                _p = Math.Min(_p + delta, _c);
                _missGhostList = B1;
            }
            else
            {
                double delta = b2 >= b1 ? 1 : _integer ? b1 / b2 : (double)b1 / b2;
                _p = Math.Max(_p - delta, 0);
                _missGhostList = B2;
            }
            DeleteGhost(g);
            return;
        }
        int t1 = _cache.Count(T1), t2 = _cache.Count(T2);
        if (t1 + b1 == _c)
        {
            if (t1 < _c) DeleteGhost(_ghosts.Tail(B1));
            else _dropT1 = true;
        }
        else if (t1 + b1 + t2 + b2 == 2 * _c) // case IV-B (|L1| < c, directory full)
        {
            DeleteGhost(_ghosts.Tail(B2));
        }
    }

    /// <summary>REPLACE(x, p), or the case IV eviction from a full T1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        int t1 = _cache.Count(T1);
        bool fromT1 = _dropT1 || (t1 > 0 && (t1 > _p || (_missGhostList == B2 && t1 == _p)));
        int first = fromT1 ? T1 : T2;
        int f = LruUnpinned(first, unevictable);
        int list = first;
        if (f < 0)
        {
            list = 1 - first;
            f = LruUnpinned(list, unevictable);
        }
        if (f < 0) return -1;
        _victim = f;
        _victimGhostList = _dropT1 && list == T1 ? NoList : (list == T1 ? B1 : B2);
        return f;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame)
    {
        _cache.Remove(frame);
        if (frame != _victim) return; // removed from outside (process exit, truncation): no history kept
        if (_victimGhostList != NoList) AddGhost(_victimGhostList, _framePage[frame]);
        _victim = -1;
        _dropT1 = false; // the case IV deletion applies to one victim; further ones (a batch) use REPLACE
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        _framePage[frame] = page;
        _cache.PushHead(_missGhostList == NoList ? T1 : T2, frame);
        _missGhostList = NoList;
        _dropT1 = false;
    }

    private int LruUnpinned(int list, ReadOnlySpan<bool> unevictable)
    {
        for (int f = _cache.Tail(list); f >= 0; f = _cache.Prev(f))
            if (!Evictability.IsPinned(unevictable, f)) return f;
        return -1;
    }

    private void AddGhost(int list, ulong page)
    {
        if (_freeGhostTop == 0)
        {
            // Only reachable when frames were freed from outside ARC's own replacement.
            int oldest = _ghosts.Tail(B2) >= 0 ? _ghosts.Tail(B2) : _ghosts.Tail(B1);
            DeleteGhost(oldest);
        }
        int g = _freeGhosts[--_freeGhostTop];
        _ghostPage[g] = page;
        _ghosts.PushHead(list, g);
        _ghostMap.Set(page, g);
    }

    private void DeleteGhost(int g)
    {
        if (g < 0) return;
        _ghosts.Remove(g);
        _ghostMap.Remove(_ghostPage[g]);
        _freeGhosts[_freeGhostTop++] = g;
    }

    /// <summary>
    /// The ideal-mode replay's view of this policy (see <see cref="IIdealHooks"/>): the same methods, called
    /// directly on the sealed class, so the replay loop makes no interface call.
    /// </summary>
    internal readonly struct Hooks(ArcPolicy policy) : IIdealHooks
    {
        private readonly ArcPolicy _policy = policy;

        public void OnMiss(ulong page) => _policy.OnMiss(page);

        public void OnInserted(int frame, ulong page) => _policy.OnInserted(frame, page);

        public void OnReferenced(int frame) => _policy.OnReferenced(frame);

        public int ChooseVictim() => _policy.ChooseVictim(ReadOnlySpan<bool>.Empty);

        public void OnRemoved(int frame) => _policy.OnRemoved(frame);
    }
}
