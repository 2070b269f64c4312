using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// First-in first-out: the page loaded longest ago goes first; hits change nothing. The policy that shows
/// Belady's anomaly (more frames, more faults on 1,2,3,4,1,2,5,1,2,3,4,5).
/// </summary>
public sealed class FifoPolicy : IReplacementPolicy
{
    private RecencyList _queue = new(0);

    public string Name => "fifo";

    public void Initialize(int frameCount) => _queue = new RecencyList(frameCount);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        _queue.Check(frame);
        _queue.PushHead(frame);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        for (int f = _queue.Tail; f >= 0; f = _queue.Prev(f))
            if (!Evictability.IsPinned(unevictable, f)) return f;
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame)
    {
        _queue.Check(frame);
        _queue.Remove(frame);
    }

    /// <summary>The ideal-mode replay's view of this policy (see <see cref="IIdealHooks"/>): the queue itself, inlined.</summary>
    internal readonly struct Hooks(FifoPolicy policy) : IIdealHooks
    {
        private readonly RecencyList _queue = policy._queue;

        public void OnMiss(ulong page) { }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnInserted(int frame, ulong page) => _queue.PushHead(frame);

        public void OnReferenced(int frame) { }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int ChooseVictim() => _queue.Tail;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnRemoved(int frame) => _queue.Remove(frame);
    }
}
