namespace EcsMem.Systems.Policies;

/// <summary>
/// A page-replacement policy, in the spirit of ChampSim's replacement modules: the simulator owns the
/// frames and the page→frame map and tells the policy what happens; the policy only ranks frames.
/// Frames are small integers (0 .. frameCount-1, a pfn index), so one implementation serves both the
/// ideal mode (<see cref="EcsMem.Systems.Ideal.IdealSimulator"/>) and the full machine model, where reclaim asks
/// for victims and hits come from PTE accessed bits.
/// </summary>
/// <remarks>
/// Call order for one reference to page <c>x</c>:
/// <list type="bullet">
/// <item>resident in frame <c>f</c>: <see cref="OnReferenced"/>(f);</item>
/// <item>not resident: <see cref="OnMiss"/>(x); then, only if a frame must be freed,
/// <see cref="ChooseVictim(ReadOnlySpan{bool})"/> followed by <see cref="OnRemoved"/>(victim);
/// then <see cref="OnInserted"/>(frame, x).</item>
/// </list>
/// A frame may also be removed at any time without having been chosen (a process exits, a file is
/// truncated): <see cref="OnRemoved"/> alone. The per-reference hooks must not allocate.
/// <para>The built-in policies mark their hooks <c>[MethodImpl(MethodImplOptions.AggressiveOptimization)]</c>:
/// a whole ideal-mode replay of ten million references takes well under a second, and the runtime's tiered
/// compilation keeps a method at unoptimised tier 0 for at least its 100 ms call-counting delay, which was a
/// quarter of such a run. Fully optimised from the first call, they lose nothing in steady state (measured);
/// a custom policy may do the same.</para>
/// </remarks>
public interface IReplacementPolicy
{
    /// <summary>Short name (as registered in <see cref="PolicyRegistry"/>), used in reports.</summary>
    string Name { get; }

    /// <summary>Prepares for frames 0 .. <paramref name="frameCount"/>-1, all empty. Allocates the per-frame arrays.</summary>
    void Initialize(int frameCount);

    /// <summary>
    /// A reference to a page that is not resident. Comes before any <see cref="ChooseVictim(ReadOnlySpan{bool})"/> made
    /// on its behalf, so history-keeping policies (ARC's ghost lists) can adapt first. Most policies ignore it.
    /// </summary>
    void OnMiss(ulong page);

    /// <summary><paramref name="page"/> now occupies the empty <paramref name="frame"/>.</summary>
    void OnInserted(int frame, ulong page);

    /// <summary>The page in <paramref name="frame"/> was referenced (a hit, or its accessed bit was found set).</summary>
    void OnReferenced(int frame);

    /// <summary>
    /// Picks the frame to free next, without removing it: the caller calls <see cref="OnRemoved"/> on it
    /// (until it does, the policy may return the same frame again). Frames whose entry in
    /// <paramref name="unevictable"/> is true (pinned, locked, under writeback) are passed over; an empty
    /// span means every frame is evictable. Returns -1 when no resident frame can be evicted.
    /// Victim selection may update policy state (CLOCK clears reference bits as its hand passes).
    /// </summary>
    int ChooseVictim(ReadOnlySpan<bool> unevictable);

    /// <summary>The page in <paramref name="frame"/> left memory; the frame is empty again.</summary>
    void OnRemoved(int frame);

    /// <summary>
    /// folio_deactivate (mm/swap.c), as MADV_COLD asks: the page in <paramref name="frame"/> loses its referenced
    /// state and, if on an active list, moves to the head of the inactive one. Returns true when it was active
    /// (pgdeactivate counts it). Policies without an active list keep their order and return false.
    /// </summary>
    bool OnDeactivate(int frame) => false;

    /// <summary>Picks a victim when every frame is evictable.</summary>
    int ChooseVictim() => ChooseVictim(ReadOnlySpan<bool>.Empty);

    /// <summary>
    /// Isolates up to <c>victims.Length</c> victims at once (like isolate_lru_folios() taking a batch):
    /// each chosen frame is already removed from the policy (<see cref="OnRemoved"/> was called) when this returns.
    /// Returns how many were written.
    /// </summary>
    int ChooseVictims(Span<int> victims, ReadOnlySpan<bool> unevictable)
    {
        int n = 0;
        while (n < victims.Length)
        {
            int f = ChooseVictim(unevictable);
            if (f < 0) break;
            OnRemoved(f);
            victims[n++] = f;
        }
        return n;
    }
}
