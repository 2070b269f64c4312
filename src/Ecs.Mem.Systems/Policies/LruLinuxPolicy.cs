using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Policies;

/// <summary>
/// Linux's two-list LRU (active/inactive, mm/swap.c and mm/vmscan.c before MGLRU), reduced to one
/// LRU of pages. What is modelled:
/// <list type="bullet">
/// <item>A new page goes to the head of the inactive list with its referenced bit clear (lru_cache_add;
/// the faulting access is the load itself).</item>
/// <item>A reference follows folio_mark_accessed(): inactive+unreferenced → referenced;
/// inactive+referenced → activated (head of the active list) with the bit cleared;
/// active+unreferenced → referenced; active+referenced → unchanged.</item>
/// <item>Reclaim (<see cref="ChooseVictim"/>) first balances the lists as shrink_list() does: while
/// inactive_is_low() (inactive × ratio &lt; active, ratio = int_sqrt(10 × GiB of the lists) or 1 below 1 GiB,
/// 4 KiB pages) it runs shrink_active_list() on a batch of SWAP_CLUSTER_MAX (32) pages from the active
/// tail, moving them to the inactive head with the bit cleared. Then shrink_inactive_list() scans from the
/// inactive tail: a referenced page gets its bit cleared and is rotated to the inactive head (the
/// page_check_references() "keep" outcome); the first unreferenced page is the victim.</item>
/// </list>
/// Omitted: anon/file split and swappiness, the VM_EXEC exemption in shrink_active_list(), the separate
/// PG_referenced and PTE accessed bits (one bit stands for both), dirty/writeback handling,
/// workingset refault detection, scan priorities and per-node/per-memcg lists, MGLRU.
/// Pinned frames met during the scan are rotated to the list head (putback after a failed isolation).
/// </summary>
public sealed class LruLinuxPolicy : IReplacementPolicy
{
    private const int Active = 0;
    private const int Inactive = 1;

    /// <summary>SWAP_CLUSTER_MAX: pages moved per shrink_active_list() batch.</summary>
    public const int SwapClusterMax = 32;

    private FrameLists _lists = new(0, 2);
    private bool[] _referenced = [];

    public string Name => "linux";

    public void Initialize(int frameCount)
    {
        _lists = new FrameLists(frameCount, 2);
        _referenced = new bool[frameCount];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnMiss(ulong page) { }

    /// <summary>lru_cache_add(): new pages start on the inactive list.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnInserted(int frame, ulong page)
    {
        _referenced[frame] = false;
        _lists.PushHead(Inactive, frame);
    }

    /// <summary>folio_mark_accessed(): the second reference while inactive activates the page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnReferenced(int frame)
    {
        if (!_referenced[frame])
        {
            _referenced[frame] = true;
        }
        else if (_lists.ListOf(frame) == Inactive)
        {
            _lists.MoveToHead(Active, frame);
            _referenced[frame] = false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        if (InactiveIsLow()) ShrinkActiveList(SwapClusterMax);
        while (true)
        {
            // Two passes over the inactive list: the first may only clear referenced bits.
            for (long scan = 2L * _lists.Count(Inactive); scan > 0; scan--)
            {
                int f = _lists.Tail(Inactive);
                if (Evictability.IsPinned(unevictable, f))
                {
                    _lists.MoveToHead(Inactive, f);
                    continue;
                }
                if (_referenced[f])
                {
                    _referenced[f] = false;
                    _lists.MoveToHead(Inactive, f);
                    continue;
                }
                return f;
            }
            // Nothing reclaimable on the inactive list: deactivate another batch, until the active list is empty.
            if (_lists.Count(Active) == 0) return -1;
            ShrinkActiveList(SwapClusterMax);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnRemoved(int frame) => _lists.Remove(frame);

    /// <summary>lru_deactivate (folio_deactivate): an active page goes to the inactive head, referenced cleared.</summary>
    public bool OnDeactivate(int frame)
    {
        _referenced[frame] = false;
        if (_lists.ListOf(frame) != Active)
            return false;
        _lists.MoveToHead(Inactive, frame);
        return true;
    }

    /// <summary>inactive_is_low(): the inactive list is too small relative to the active list.</summary>
    private bool InactiveIsLow()
    {
        long inactive = _lists.Count(Inactive), active = _lists.Count(Active);
        long gb = (inactive + active) >> (30 - 12);
        long ratio = gb > 0 ? (long)Math.Sqrt(10.0 * gb) : 1;
        return inactive * ratio < active;
    }

    /// <summary>shrink_active_list(): deactivates up to <paramref name="count"/> pages from the active tail.</summary>
    private void ShrinkActiveList(int count)
    {
        for (int i = 0; i < count; i++)
        {
            int f = _lists.Tail(Active);
            if (f < 0) return;
            _referenced[f] = false;
            _lists.MoveToHead(Inactive, f);
        }
    }

    /// <summary>
    /// The ideal-mode replay's view of this policy (see <see cref="IIdealHooks"/>): the same methods, called
    /// directly on the sealed class, so the replay loop makes no interface call.
    /// </summary>
    internal readonly struct Hooks(LruLinuxPolicy policy) : IIdealHooks
    {
        private readonly LruLinuxPolicy _policy = policy;

        public void OnMiss(ulong page) => _policy.OnMiss(page);

        public void OnInserted(int frame, ulong page) => _policy.OnInserted(frame, page);

        public void OnReferenced(int frame) => _policy.OnReferenced(frame);

        public int ChooseVictim() => _policy.ChooseVictim(ReadOnlySpan<bool>.Empty);

        public void OnRemoved(int frame) => _policy.OnRemoved(frame);
    }
}
