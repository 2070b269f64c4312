using System.Runtime.CompilerServices;
using EcsMem.Traces.Synthetic;

namespace EcsMem.Systems.Policies;

/// <summary>
/// Random replacement, seeded: resident frames are kept in a dense array (a new frame is appended, a
/// removed one is replaced by the last entry), and the victim is the entry at a uniform index drawn from
/// our own <see cref="Xoshiro256StarStar"/>. If that frame is pinned the next entries are tried in order.
/// Same seed and references, same victims.
/// </summary>
public sealed class RandomPolicy : IReplacementPolicy
{
    private readonly ulong _seed;
    private Xoshiro256StarStar _rng;
    private int[] _resident = [];
    private int[] _index = [];
    private int _count;

    public RandomPolicy(ulong seed)
    {
        _seed = seed;
        _rng = new Xoshiro256StarStar(seed);
    }

    public string Name => "random";

    public void Initialize(int frameCount)
    {
        _rng = new Xoshiro256StarStar(_seed);
        _resident = new int[frameCount];
        _index = new int[frameCount];
        _count = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        _index[frame] = _count;
        _resident[_count++] = frame;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        if (_count == 0) return -1;
        int start = (int)_rng.NextBelow((uint)_count);
        for (int k = 0; k < _count; k++)
        {
            int i = start + k;
            if (i >= _count) i -= _count;
            int f = _resident[i];
            if (!Evictability.IsPinned(unevictable, f)) return f;
        }
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame)
    {
        int i = _index[frame];
        int last = _resident[--_count];
        _resident[i] = last;
        _index[last] = i;
    }

    /// <summary>
    /// The ideal-mode replay's view of this policy (see <see cref="IIdealHooks"/>): the same methods, called
    /// directly on the sealed class, so the replay loop makes no interface call.
    /// </summary>
    internal readonly struct Hooks(RandomPolicy policy) : IIdealHooks
    {
        private readonly RandomPolicy _policy = policy;

        public void OnMiss(ulong page) => _policy.OnMiss(page);

        public void OnInserted(int frame, ulong page) => _policy.OnInserted(frame, page);

        public void OnReferenced(int frame) => _policy.OnReferenced(frame);

        public int ChooseVictim() => _policy.ChooseVictim(ReadOnlySpan<bool>.Empty);

        public void OnRemoved(int frame) => _policy.OnRemoved(frame);
    }
}
