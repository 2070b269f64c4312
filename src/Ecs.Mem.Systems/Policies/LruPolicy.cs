using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// Exact least-recently-used: one recency list, a hit moves the frame to the MRU end, the victim is
/// the LRU end. O(1) per reference (intrusive list in int arrays).
/// </summary>
public sealed class LruPolicy : IReplacementPolicy
{
    private RecencyList _list = new(0);

    public string Name => "lru";

    public void Initialize(int frameCount) => _list = new RecencyList(frameCount);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        _list.Check(frame);
        _list.PushHead(frame);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame)
    {
        _list.Check(frame);
        _list.MoveToHead(frame);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        for (int f = _list.Tail; f >= 0; f = _list.Prev(f))
            if (!Evictability.IsPinned(unevictable, f)) return f;
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame)
    {
        _list.Check(frame);
        _list.Remove(frame);
    }

    /// <summary>The ideal-mode replay's view of this policy (see <see cref="IIdealHooks"/>): the list itself, inlined.</summary>
    internal readonly struct Hooks(LruPolicy policy) : IIdealHooks
    {
        private readonly RecencyList _list = policy._list;

        public void OnMiss(ulong page) { }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnInserted(int frame, ulong page) => _list.PushHead(frame);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnReferenced(int frame) => _list.MoveToHead(frame);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int ChooseVictim() => _list.Tail;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnRemoved(int frame) => _list.Remove(frame);
    }
}
