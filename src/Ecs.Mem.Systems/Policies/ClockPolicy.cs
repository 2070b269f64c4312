using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// CLOCK (second chance): resident frames sit on a ring in load order with one reference bit each; a hit
/// sets the bit. To find a victim the hand sweeps forward: a set bit is cleared and the hand moves on
/// (second chance), the first clear bit is the victim. The new page takes the victim's place on the ring
/// and the hand continues after it, as on the textbook clock face.
/// <para>Two common variants differ only in the bit of a freshly loaded page:</para>
/// <list type="bullet">
/// <item><c>clock</c>: the bit starts clear — the loading reference does not count, so a page must be hit
/// again before the hand reaches it to survive (a page loaded and never reused is the cheapest victim).</item>
/// <item><c>clock-ref</c>: the bit starts set — the loading reference counts as a use (hardware sets the
/// accessed bit when the faulting instruction is restarted), so every new page gets one free pass.</item>
/// </list>
/// Pinned frames are skipped without touching their bit.
/// </summary>
public sealed class ClockPolicy : IReplacementPolicy
{
    private readonly bool _referencedOnLoad;
    private int[] _next = [];
    private int[] _prev = [];
    private bool[] _referenced = [];
    private int _hand = -1;
    private int _count;

    /// <param name="referencedOnLoad">True for the <c>clock-ref</c> variant (new pages start referenced).</param>
    public ClockPolicy(bool referencedOnLoad) => _referencedOnLoad = referencedOnLoad;

    public string Name => _referencedOnLoad ? "clock-ref" : "clock";

    public void Initialize(int frameCount)
    {
        _next = new int[frameCount];
        _prev = new int[frameCount];
        _referenced = new bool[frameCount];
        _hand = -1;
        _count = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        _referenced[frame] = _referencedOnLoad;
        _count++;
        if (_hand < 0)
        {
            _next[frame] = frame;
            _prev[frame] = frame;
            _hand = frame;
            return;
        }
        // Just behind the hand: the slot a victim at the hand has just vacated, the last one the hand reaches.
        int before = _prev[_hand];
        _next[before] = frame;
        _prev[frame] = before;
        _next[frame] = _hand;
        _prev[_hand] = frame;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame) => _referenced[frame] = true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        // Two sweeps clear every bit, so a victim is found within 2*count+1 steps unless all are pinned.
        for (long steps = 2L * _count + 1; steps > 0 && _hand >= 0; steps--)
        {
            int f = _hand;
            if (Evictability.IsPinned(unevictable, f))
            {
                _hand = _next[f];
            }
            else if (_referenced[f])
            {
                _referenced[f] = false;
                _hand = _next[f];
            }
            else
            {
                return f;
            }
        }
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame)
    {
        _count--;
        if (_count == 0)
        {
            _hand = -1;
            return;
        }
        int p = _prev[frame], n = _next[frame];
        _next[p] = n;
        _prev[n] = p;
        if (_hand == frame) _hand = n;
    }

    /// <summary>
    /// The ideal-mode replay's view of this policy (see <see cref="IIdealHooks"/>): the same methods, called
    /// directly on the sealed class, so the replay loop makes no interface call.
    /// </summary>
    internal readonly struct Hooks(ClockPolicy policy) : IIdealHooks
    {
        private readonly ClockPolicy _policy = policy;

        public void OnMiss(ulong page) => _policy.OnMiss(page);

        public void OnInserted(int frame, ulong page) => _policy.OnInserted(frame, page);

        public void OnReferenced(int frame) => _policy.OnReferenced(frame);

        public int ChooseVictim() => _policy.ChooseVictim(ReadOnlySpan<bool>.Empty);

        public void OnRemoved(int frame) => _policy.OnRemoved(frame);
    }
}
