using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// First-in first-out: the page loaded longest ago goes first; hits change nothing. The policy that shows
/// Belady's anomaly (more frames, more faults on 1,2,3,4,1,2,5,1,2,3,4,5).
/// </summary>
public sealed class FifoPolicy : IReplacementPolicy
{
    private FrameLists _queue = new(0, 1);

    public string Name => "fifo";

    public void Initialize(int frameCount) => _queue = new FrameLists(frameCount, 1);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page) => _queue.PushHead(0, frame);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        for (int f = _queue.Tail(0); f >= 0; f = _queue.Prev(f))
            if (!Evictability.IsPinned(unevictable, f)) return f;
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame) => _queue.Remove(frame);
}
