using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// Exact least-recently-used: one recency list, a hit moves the frame to the MRU end, the victim is
/// the LRU end. O(1) per reference (intrusive list in int arrays).
/// </summary>
public sealed class LruPolicy : IReplacementPolicy
{
    private FrameLists _list = new(0, 1);

    public string Name => "lru";

    public void Initialize(int frameCount) => _list = new FrameLists(frameCount, 1);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page) => _list.PushHead(0, frame);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame) => _list.MoveToHead(0, frame);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        for (int f = _list.Tail(0); f >= 0; f = _list.Prev(f))
            if (!Evictability.IsPinned(unevictable, f)) return f;
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame) => _list.Remove(frame);
}
