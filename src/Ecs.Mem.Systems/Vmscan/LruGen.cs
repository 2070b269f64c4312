using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.Policies;

namespace EcsMem.Systems.Vmscan;

/// <summary>
/// What the multi-gen LRU needs from the machine beyond <see cref="ILruvecHost"/>: the clock in jiffies, the free swap
/// the aging and eviction may count on, the page-table walk of the aging (iterate_mm_list + walk_mm), the rmap walk with
/// lru_gen_look_around that replaces folio_referenced's flush of one PTE, and the OOM killer min_ttl_ms calls. A lruvec
/// without one (the hand-worked tests) ages as a kernel without CONFIG_LRU_GEN_WALKS_MMU does
/// (iterate_mm_list_nowalk) and reads references through <see cref="ILruvecHost.FolioReferenced"/>.
/// </summary>
public interface ILruGenHost
{
    /// <summary>jiffies (HZ = 250) of the simulated clock: the generations' birth times and min_ttl_ms.</summary>
    ulong Jiffies { get; }

    /// <summary>current-&gt;in_lru_fault: the page being added comes in through a page fault (folio_add_lru sets PG_active).</summary>
    bool InLruFault { get; }

    /// <summary>mem_cgroup_get_nr_swap_pages for <paramref name="lruvec"/>'s cgroup: free swap slots it may still use.</summary>
    long NrSwapPages(Lruvec lruvec);

    /// <summary>The mm_structs on <paramref name="lruvec"/>'s cgroup's lru_gen mm_list, oldest first (their ids).</summary>
    void MmList(Lruvec lruvec, List<int> mms);

    /// <summary>walk_mm: the young PTEs of <paramref name="mm"/>'s VMAs that <paramref name="walk"/> may scan, through <see cref="Lruvec.LruGenWalkPte"/>.</summary>
    void WalkMm(Lruvec lruvec, int mm, LruGenWalk walk);

    /// <summary>
    /// folio_referenced with lru_gen_look_around on each young PTE: the PTE's young bit is cleared (no TLB flush) and its
    /// neighbours in the same PMD are scanned and promoted (<paramref name="walk"/>: kswapd's or an aging direct
    /// reclaimer's walk, else null). Returns the young PTEs; <paramref name="vmFlags"/> is <see cref="VmFlags.Locked"/>
    /// when a VM_LOCKED area maps the page.
    /// </summary>
    int FolioReferenced(Lruvec lruvec, int pfn, LruGenWalk? walk, out VmFlags vmFlags);

    /// <summary>out_of_memory from lru_gen_age_node: every generation is younger than min_ttl_ms.</summary>
    void OutOfMemory();
}

/// <summary>
/// struct lru_gen_mm_walk: one aging walk's parameters and findings (reused, never reallocated). The page-table walker
/// reads <see cref="Seq"/>, <see cref="Swappiness"/> and <see cref="ForceScan"/> and counts what it saw in the
/// mm_stats (MM_LEAF_TOTAL, MM_LEAF_YOUNG, MM_NONLEAF_FOUND, MM_NONLEAF_ADDED).
/// </summary>
public sealed class LruGenWalk
{
    /// <summary>The max_seq the walk ages (walk-&gt;seq).</summary>
    public long Seq;

    /// <summary>walk-&gt;swappiness: 0 skips anon and shmem VMAs.</summary>
    public int Swappiness;

    /// <summary>walk-&gt;force_scan: ignore the Bloom filter (an mm added since the last iteration, or a forced aging).</summary>
    public bool ForceScan;

    /// <summary>mm_stats of this walk: leaf PTEs seen, young ones, PTE tables found, PTE tables added to the next filter.</summary>
    public long LeafTotal, LeafYoung, NonleafFound, NonleafAdded;
}

/// <summary>
/// The multi-gen LRU (mm/vmscan.c's CONFIG_LRU_GEN section, include/linux/mm_inline.h's lru_gen helpers, mm/swap.c's
/// lru_gen_inc_refs and mm/workingset.c's lru_gen_eviction/lru_gen_refault) as Linux 6.14+ has it, inside the lruvec it
/// replaces the active/inactive lists of: per type (anon, file) MAX_NR_GENS = 4 generation lists indexed by seq %
/// MAX_NR_GENS, max_seq and min_seq[type], the folio's generation + 1 and its access count packed in the frame's flags
/// (as in folio-&gt;flags), tiers with the PID controller over refaulted/evicted/protected, aging by page-table walks with
/// Bloom filters, eviction from min_seq. Off unless <see cref="EnableLruGen"/> was called.
/// </summary>
public sealed partial class Lruvec
{
    /// <summary>MIN_NR_GENS: the two youngest generations count as active.</summary>
    public const int MinNrGens = 2;

    /// <summary>MAX_NR_GENS.</summary>
    public const int MaxNrGens = 4;

    /// <summary>MAX_NR_TIERS: tiers 0..2 by accesses through file descriptors (order_base_2 of refs), tier 3 for PG_workingset.</summary>
    public const int MaxNrTiers = 4;

    /// <summary>LRU_REFS_WIDTH (MAX_NR_TIERS − 2): the access counter's bits after PG_referenced.</summary>
    public const int LruRefsWidth = 2;

    /// <summary>MIN_LRU_BATCH (BITS_PER_LONG): folios isolated per evict_folios at most; the Bloom-filter and look-around batch.</summary>
    public const int MinLruBatch = 64;

    /// <summary>MAX_LRU_BATCH (MIN_LRU_BATCH × 64): folios one scan_folios or inc_min_seq looks at before yielding.</summary>
    public const int MaxLruBatch = MinLruBatch * 64;

    /// <summary>BLOOM_FILTER_SHIFT: each of the two filters has 2^15 bits.</summary>
    public const int BloomFilterShift = 15;

    /// <summary>LRU_GEN_PGOFF in EcsMem's frame flags: generation + 1 in three bits (0 = not on a generation list).</summary>
    public const int LruGenPgoff = 24;

    /// <summary>LRU_REFS_PGOFF: the access counter's two bits.</summary>
    public const int LruRefsPgoff = 27;

    /// <summary>LRU_GEN_MASK.</summary>
    public const FrameFlags LruGenMask = (FrameFlags)(7u << LruGenPgoff);

    /// <summary>LRU_REFS_MASK.</summary>
    public const FrameFlags LruRefsMask = (FrameFlags)(((1u << LruRefsWidth) - 1) << LruRefsPgoff);

    /// <summary>LRU_REFS_FLAGS: the counter and PG_referenced.</summary>
    public const FrameFlags LruRefsFlags = LruRefsMask | FrameFlags.Referenced;

    private const int LruGenAnon = 0;
    private const int LruGenFile = 1;

    // lru_gen_folio
    private bool _lruGen;
    private uint _lruGenCaps;
    private ulong _minTtlJiffies;
    private ILruGenHost? _genHost;
    private FrameLists _genLists = new(0, MaxNrGens * 2);
    private long _maxSeq;
    private readonly long[] _minSeq = new long[2];
    private readonly ulong[] _timestamps = new ulong[MaxNrGens];
    private readonly long[] _nrPages = new long[MaxNrGens * 2];
    private readonly long[] _avgRefaulted = new long[2 * MaxNrTiers];
    private readonly long[] _avgTotal = new long[2 * MaxNrTiers];
    private readonly long[] _refaulted = new long[2 * MaxNrTiers];
    private readonly long[] _evicted = new long[2 * MaxNrTiers];
    private readonly long[] _protected = new long[2 * MaxNrTiers];

    // lru_gen_mm_state
    private long _mmStateSeq;
    private int _mmLastSeen = -1;
    private readonly ulong[]?[] _filters = new ulong[]?[2];
    private readonly List<int> _mmIds = new();
    private readonly LruGenWalk _walk = new();
    private readonly long[] _mmStats = new long[4];

    // current-&gt;reclaim_state-&gt;mm_walk of the reclaim in progress: kswapd's, or a direct reclaimer's once it aged.
    private LruGenWalk? _mmWalk;

    /// <summary>lru_gen_enabled() for this lruvec (lrugen-&gt;enabled).</summary>
    public bool LruGenEnabled => _lruGen;

    /// <summary>The capability bits of /sys/kernel/mm/lru_gen/enabled this lruvec runs with.</summary>
    public uint LruGenCaps => _lruGenCaps;

    /// <summary>lrugen-&gt;max_seq.</summary>
    public long MaxSeq => _maxSeq;

    /// <summary>lrugen-&gt;min_seq[type] (0 anon, 1 file).</summary>
    public long MinSeq(int type) => _minSeq[type];

    /// <summary>lrugen-&gt;nr_pages of generation <paramref name="gen"/> (seq % MAX_NR_GENS) and <paramref name="type"/>.</summary>
    public long GenPages(int gen, int type) => _nrPages[gen * 2 + type];

    /// <summary>lrugen-&gt;timestamps[gen]: the jiffies when generation <paramref name="gen"/> was made.</summary>
    public ulong GenBirth(int gen) => _timestamps[gen];

    /// <summary>lrugen-&gt;avg_refaulted, avg_total, refaulted, evicted, protected of (type, tier).</summary>
    public (long AvgRefaulted, long AvgTotal, long Refaulted, long Evicted, long Protected) TierStats(int type, int tier)
    {
        int i = type * MaxNrTiers + tier;
        return (_avgRefaulted[i], _avgTotal[i], _refaulted[i], _evicted[i], _protected[i]);
    }

    /// <summary>The mm_stats the aging walks gathered: leaf PTEs, young ones, PTE tables found and added to the filter.</summary>
    public ReadOnlySpan<long> MmStats => _mmStats;

    /// <summary>
    /// lru_gen_init_lruvec with lru_gen_change_state(true): max_seq = MIN_NR_GENS + 1, min_seq 0, every birth time now,
    /// mm_state-&gt;seq = MIN_NR_GENS. Call after <see cref="Initialize"/> and before the first page is added.
    /// </summary>
    public void EnableLruGen(uint caps, uint minTtlMs, ILruGenHost? host)
    {
        if ((caps & Scenarios.LruGenConfig.Core) == 0)
            return;
        _lruGen = true;
        _lruGenCaps = caps;
        _genHost = host;
        // msecs_to_jiffies at HZ = 250 rounds up.
        _minTtlJiffies = ((ulong)minTtlMs + 3) / 4;
        _genLists = new FrameLists(_shadow.Length, MaxNrGens * 2);
        _maxSeq = MinNrGens + 1;
        ulong now = Jiffies;
        for (int i = 0; i <= MinNrGens + 1; i++)
            _timestamps[i] = now;
        _mmStateSeq = MinNrGens;
    }

    private ulong Jiffies => _genHost?.Jiffies ?? 0;

    // ---------------------------------------------------------------- mm_inline.h helpers

    /// <summary>lru_gen_from_seq.</summary>
    private static int GenFromSeq(long seq) => (int)(seq % MaxNrGens);

    /// <summary>folio_lru_gen: the generation in the flags, or -1 when the folio is on no generation list.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int LruGenFolioGen(int pfn) => (int)(((uint)(_host.Frames[pfn].Flags & LruGenMask)) >> LruGenPgoff) - 1;

    /// <summary>folio_lru_refs: 0 without PG_referenced, else the counter + 1 (1..4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FolioLruRefs(FrameFlags fl) =>
        (fl & FrameFlags.Referenced) == 0 ? 0 : (int)(((uint)(fl & LruRefsMask)) >> LruRefsPgoff) + 1;

    /// <summary>lru_tier_from_refs: PG_workingset is the top tier, else order_base_2(refs).</summary>
    public static int TierFromRefs(int refs, bool workingset) =>
        workingset ? MaxNrTiers - 1 : refs <= 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)refs - 1);

    /// <summary>lru_gen_is_active: the two youngest generations stand for the active lists.</summary>
    private bool GenIsActive(int gen) => gen == GenFromSeq(_maxSeq) || gen == GenFromSeq(_maxSeq - 1);

    private int TypeOf(int pfn) => IsFileLru(pfn) ? LruGenFile : LruGenAnon;

    /// <summary>get_nr_gens.</summary>
    private long NrGens(int type) => _maxSeq - _minSeq[type] + 1;

    /// <summary>evictable_min_seq: the lower min_seq of the types this swappiness may evict.</summary>
    private long EvictableMinSeq(int swappiness) =>
        Math.Min(_minSeq[swappiness == 0 ? 1 : 0], _minSeq[swappiness <= MaxSwappiness ? 1 : 0]);

    /// <summary>for_each_evictable_type's bounds: file only at swappiness 0, anon only above MAX_SWAPPINESS.</summary>
    private static (int First, int Last) EvictableTypes(int swappiness) =>
        (swappiness == 0 ? 1 : 0, swappiness <= MaxSwappiness ? 1 : 0);

    /// <summary>lru_gen_update_size: moves one page between the generations' counts (-1: none).</summary>
    private void UpdateSize(int type, int oldGen, int newGen)
    {
        if (oldGen >= 0) _nrPages[oldGen * 2 + type]--;
        if (newGen >= 0) _nrPages[newGen * 2 + type]++;
    }

    /// <summary>
    /// lru_gen_folio_seq: where a folio joins. Active (set while isolated, by folio_activate, or by a fault's
    /// folio_add_lru): the second youngest generation, the youngest with PG_workingset; put back by reclaim (the tail,
    /// folio_rotate_reclaimable): the oldest; an anon page not in the swap cache, or a PG_reclaim folio still dirty or
    /// under writeback (it cannot go before its write ends): the second youngest; else the oldest (the third oldest
    /// with PG_workingset) — never below min_seq.
    /// </summary>
    private long FolioSeq(int pfn, bool reclaiming)
    {
        FrameFlags fl = _host.Frames[pfn].Flags;
        int type = TypeOf(pfn);
        int ws = (fl & FrameFlags.Workingset) != 0 ? 1 : 0;
        int gen;
        if ((fl & FrameFlags.Active) != 0)
            gen = MinNrGens - ws;
        else if (reclaiming)
            gen = MaxNrGens;
        else if ((type == LruGenAnon && (fl & FrameFlags.SwapCache) == 0)
            || ((fl & FrameFlags.Reclaim) != 0 && (fl & (FrameFlags.Dirty | FrameFlags.Writeback)) != 0))
            gen = MinNrGens;
        else
            gen = MaxNrGens - ws;
        return Math.Max(_maxSeq - gen + 1, _minSeq[type]);
    }

    /// <summary>
    /// lru_gen_add_folio: an evictable folio goes to the head (tail when <paramref name="reclaiming"/>) of its generation's
    /// list, its generation in the flags and PG_active cleared. False for an unevictable folio (it takes LRU_UNEVICTABLE).
    /// </summary>
    private bool LruGenAddFolio(int pfn, bool reclaiming)
    {
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        if ((fl & FrameFlags.Unevictable) != 0)
            return false;
        int type = TypeOf(pfn);
        int gen = GenFromSeq(FolioSeq(pfn, reclaiming));
        fl = (fl & ~(LruGenMask | FrameFlags.Active)) | (FrameFlags)((uint)(gen + 1) << LruGenPgoff);
        UpdateSize(type, -1, gen);
        if (reclaiming) _genLists.PushTail(gen * 2 + type, pfn);
        else _genLists.PushHead(gen * 2 + type, pfn);
        return true;
    }

    /// <summary>
    /// lru_gen_del_folio: off its generation's list, the generation cleared; outside reclaim a folio of an active
    /// generation keeps PG_active (for folio_migrate_flags). False when it was on no generation list.
    /// </summary>
    private bool LruGenDelFolio(int pfn, bool reclaiming)
    {
        int gen = LruGenFolioGen(pfn);
        if (gen < 0)
            return false;
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        fl &= ~LruGenMask;
        if (!reclaiming && GenIsActive(gen))
            fl |= FrameFlags.Active;
        // The list names the type: MADV_FREE clears PG_swapbacked before the folio leaves the anon generations.
        int list = _genLists.ListOf(pfn);
        UpdateSize(list >= 0 ? list % 2 : TypeOf(pfn), gen, -1);
        if (list >= 0)
            _genLists.Remove(pfn);
        return true;
    }

    /// <summary>The compatible NR_{IN,}ACTIVE_{ANON,FILE}: the two youngest generations count as active (lru_gen_update_size).</summary>
    private long LruGenSize(LruList lru)
    {
        int type = lru is LruList.InactiveFile or LruList.ActiveFile ? LruGenFile : LruGenAnon;
        bool active = lru is LruList.ActiveAnon or LruList.ActiveFile;
        long n = 0;
        for (int gen = 0; gen < MaxNrGens; gen++)
            if (GenIsActive(gen) == active)
                n += _nrPages[gen * 2 + type];
        return n;
    }

    // ---------------------------------------------------------------- mm/swap.c

    /// <summary>
    /// lru_gen_inc_refs (folio_mark_accessed with MGLRU): the first access sets PG_referenced, the next ones count up
    /// LRU_REFS_WIDTH bits, and once they are full PG_workingset is set.
    /// </summary>
    private void LruGenIncRefs(int pfn)
    {
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        if ((fl & FrameFlags.Unevictable) != 0)
            return;
        if ((fl & FrameFlags.Referenced) == 0)
        {
            fl = (fl & ~LruRefsMask) | FrameFlags.Referenced;
            return;
        }
        if ((fl & LruRefsMask) == LruRefsMask)
        {
            fl |= FrameFlags.Workingset;
            return;
        }
        fl += 1u << LruRefsPgoff;
    }

    /// <summary>
    /// lru_gen_set_refs: a folio found young by an rmap walk. The first time only PG_referenced is set (false); after that
    /// the counter and PG_referenced are cleared for PG_workingset, and the folio should be activated (true).
    /// </summary>
    public bool LruGenSetRefs(int pfn)
    {
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        if ((fl & (FrameFlags.Referenced | FrameFlags.Workingset)) == 0)
        {
            fl = (fl & ~LruRefsMask) | FrameFlags.Referenced;
            return false;
        }
        fl = (fl & ~LruRefsFlags) | FrameFlags.Workingset;
        return true;
    }

    /// <summary>
    /// folio_activate → lru_activate with MGLRU: a folio on a generation list (not isolated, not in an lru_add batch)
    /// leaves it, gets PG_active and joins again, in the youngest generations (pgactivate). The per-CPU lru_activate batch
    /// is drained at once here.
    /// </summary>
    private void LruGenActivate(int pfn)
    {
        FrameFlags fl = _host.Frames[pfn].Flags;
        if ((fl & (FrameFlags.Active | FrameFlags.Unevictable)) != 0 || _genLists.ListOf(pfn) < 0)
            return;
        LruGenDelFolio(pfn, false);
        _host.Frames[pfn].Flags |= FrameFlags.Active;
        LruGenAddFolio(pfn, false);
        _counters.Increment(_c.PgActivate);
    }

    /// <summary>
    /// folio_deactivate with MGLRU (MADV_COLD): lru_gen_clear_refs drops the access counter, PG_referenced and
    /// PG_workingset; a folio already in the oldest generation stays; any other leaves its list and joins again without
    /// PG_active (lru_deactivate: pgdeactivate, true).
    /// </summary>
    private bool LruGenDeactivate(int pfn)
    {
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        if ((fl & FrameFlags.Unevictable) != 0)
            return false;
        int gen = LruGenFolioGen(pfn);
        if (gen < 0)
            return false;
        fl &= ~(LruRefsFlags | FrameFlags.Workingset);
        if (gen == GenFromSeq(_minSeq[TypeOf(pfn)]) || _genLists.ListOf(pfn) < 0)
            return false;
        LruGenDelFolio(pfn, false);
        fl &= ~(FrameFlags.Active | FrameFlags.Referenced);
        LruGenAddFolio(pfn, false);
        return true;
    }

    // ---------------------------------------------------------------- the aging

    /// <summary>
    /// folio_update_gen: the aging walk found the folio young. Without PG_referenced or PG_workingset it only gets
    /// PG_referenced (-1); otherwise its generation becomes <paramref name="gen"/> with PG_workingset and the counter and
    /// PG_referenced cleared, the folio staying where it is on its list. Returns the old generation (-1 if isolated).
    /// </summary>
    private int FolioUpdateGen(int pfn, int gen)
    {
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        if ((fl & (FrameFlags.Referenced | FrameFlags.Workingset)) == 0)
        {
            fl = (fl & ~LruRefsMask) | FrameFlags.Referenced;
            return -1;
        }
        if ((fl & LruGenMask) == 0)
            return -1;
        int old = LruGenFolioGen(pfn);
        fl = (fl & ~(LruGenMask | LruRefsFlags)) | (FrameFlags)((uint)(gen + 1) << LruGenPgoff) | FrameFlags.Workingset;
        return old;
    }

    /// <summary>
    /// folio_inc_gen: a folio in the oldest generation moves one generation up (unless the walk promoted it already: then
    /// it goes where its flags say), its access counter and PG_referenced cleared; <paramref name="reclaiming"/> (sort_folio
    /// holding back a folio for its write) sets PG_reclaim, so folio_end_writeback rotates it. Returns the new generation.
    /// </summary>
    private int FolioIncGen(int pfn, bool reclaiming = false)
    {
        int type = TypeOf(pfn);
        int oldGen = GenFromSeq(_minSeq[type]);
        int gen = LruGenFolioGen(pfn);
        if (gen >= 0 && gen != oldGen)
            return gen;
        int newGen = (oldGen + 1) % MaxNrGens;
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        fl = (fl & ~(LruGenMask | LruRefsFlags)) | (FrameFlags)((uint)(newGen + 1) << LruGenPgoff);
        if (reclaiming)
            fl |= FrameFlags.Reclaim;
        UpdateSize(type, oldGen, newGen);
        return newGen;
    }

    /// <summary>
    /// walk_update_folio for a young PTE the aging walk or lru_gen_look_around found (the host calls it after clearing the
    /// bit, for frames <see cref="LruGenFolioGen"/> puts on this lruvec): with a walk the folio is promoted to the youngest
    /// generation (folio_update_gen, the sizes moved as reset_batch_size would); without one lru_gen_set_refs, and a
    /// folio seen twice is activated.
    /// </summary>
    public void LruGenWalkPte(int pfn, LruGenWalk? walk)
    {
        int newGen = GenFromSeq(_maxSeq);
        if (walk is not null)
        {
            int old = FolioUpdateGen(pfn, newGen);
            if (old >= 0 && old != newGen)
                UpdateSize(TypeOf(pfn), old, newGen);
        }
        else if (LruGenSetRefs(pfn))
        {
            int old = LruGenFolioGen(pfn);
            if (old >= 0 && old != newGen)
                LruGenActivate(pfn);
        }
    }

    /// <summary>get_item_key: hash_ptr(item, 2 × BLOOM_FILTER_SHIFT) split into two 15-bit keys.</summary>
    private static (int, int) BloomKeys(ulong item)
    {
        // hash_64: multiply by GOLDEN_RATIO_64, keep the top bits.
        uint hash = (uint)((item * 0x61C8864680B583EBUL) >> (64 - (BloomFilterShift * 2)));
        return ((int)(hash & ((1u << BloomFilterShift) - 1)), (int)(hash >> BloomFilterShift));
    }

    /// <summary>test_bloom_filter: may the PTE table <paramref name="item"/> (its PMD entry's address) have young PTEs? True without a filter.</summary>
    public bool LruGenTestBloomFilter(long seq, ulong item)
    {
        ulong[]? filter = _filters[seq % 2];
        if (filter is null)
            return true;
        var (k0, k1) = BloomKeys(item);
        return (filter[k0 >> 6] & (1UL << k0)) != 0 && (filter[k1 >> 6] & (1UL << k1)) != 0;
    }

    /// <summary>update_bloom_filter: the PTE table was dense in young PTEs; the walk of <paramref name="seq"/> will look at it.</summary>
    public void LruGenUpdateBloomFilter(long seq, ulong item)
    {
        ulong[]? filter = _filters[seq % 2];
        if (filter is null)
            return;
        var (k0, k1) = BloomKeys(item);
        filter[k0 >> 6] |= 1UL << k0;
        filter[k1 >> 6] |= 1UL << k1;
    }

    /// <summary>reset_bloom_filter: the filter for <paramref name="seq"/> starts empty (allocated the first time).</summary>
    private void ResetBloomFilter(long seq)
    {
        ref ulong[]? filter = ref _filters[seq % 2];
        if (filter is null)
            filter = new ulong[(1 << BloomFilterShift) / 64];
        else
            Array.Clear(filter);
    }

    /// <summary>
    /// inc_min_seq: the oldest generation of <paramref name="type"/> is retired; its folios move up (folio_inc_gen) to the
    /// tail of the next, counted as protected in their tier (but the lazily promoted workingset), unless the type is not
    /// evictable at this swappiness; then the PID controller's history carries over and min_seq advances.
    /// </summary>
    private void IncMinSeq(int type, int swappiness)
    {
        int oldGen = GenFromSeq(_minSeq[type]);
        if (type == LruGenFile ? swappiness <= MaxSwappiness : swappiness != 0)
        {
            int list = oldGen * 2 + type;
            for (int f = _genLists.Tail(list); f >= 0; f = _genLists.Tail(list))
            {
                FrameFlags fl = _host.Frames[f].Flags;
                int refs = FolioLruRefs(fl);
                bool ws = (fl & FrameFlags.Workingset) != 0;
                int newGen = FolioIncGen(f);
                _genLists.Remove(f);
                _genLists.PushTail(newGen * 2 + type, f);
                if (refs + (ws ? 1 : 0) != (1 << LruRefsWidth) + 1)
                    _protected[type * MaxNrTiers + TierFromRefs(refs, ws)]++;
            }
        }
        ResetCtrlPos(type, true);
        _minSeq[type]++;
    }

    /// <summary>
    /// try_to_inc_min_seq: min_seq of each evictable type moves past empty generations (keeping MIN_NR_GENS), and with
    /// both types evictable neither may run more than MIN_NR_GENS ahead of max_seq while the other lags. True if one moved.
    /// </summary>
    private bool TryToIncMinSeq(int swappiness)
    {
        Span<long> minSeq = [_minSeq[0], _minSeq[1]];
        var (first, last) = EvictableTypes(swappiness);
        for (int type = first; type <= last; type++)
        {
            while (minSeq[type] + MinNrGens <= _maxSeq)
            {
                int gen = GenFromSeq(minSeq[type]);
                if (_genLists.Count(gen * 2 + type) != 0)
                    break;
                minSeq[type]++;
            }
        }
        if (swappiness != 0 && swappiness <= MaxSwappiness)
        {
            long seq = _maxSeq - MinNrGens;
            if (minSeq[LruGenAnon] > seq && minSeq[LruGenFile] < seq)
                minSeq[LruGenAnon] = seq;
            else if (minSeq[LruGenFile] > seq && minSeq[LruGenAnon] < seq)
                minSeq[LruGenFile] = seq;
        }
        bool success = false;
        for (int type = first; type <= last; type++)
        {
            if (minSeq[type] <= _minSeq[type])
                continue;
            ResetCtrlPos(type, true);
            _minSeq[type] = minSeq[type];
            success = true;
        }
        return success;
    }

    /// <summary>
    /// inc_max_seq: a type with MAX_NR_GENS generations retires its oldest first (inc_min_seq); the new youngest
    /// generation is born now. False if <paramref name="seq"/> is stale.
    /// </summary>
    private bool IncMaxSeq(long seq, int swappiness)
    {
        if (seq != _maxSeq)
            return false;
        for (int type = 0; type < 2; type++)
            if (NrGens(type) == MaxNrGens)
                IncMinSeq(type, swappiness);
        _timestamps[GenFromSeq(_maxSeq + 1)] = Jiffies;
        _maxSeq++;
        return true;
    }

    /// <summary>
    /// try_to_inc_max_seq: with LRU_GEN_MM_WALK (and a host that has page tables) one pass of iterate_mm_list over the
    /// cgroup's mm_list walks each mm's page tables (walk_mm), promoting young folios into max_seq; the Bloom filter of
    /// the next generation starts empty; an mm added since the last pass is walked whole (force_scan). Without the walk,
    /// iterate_mm_list_nowalk only counts the pass. Then inc_max_seq. EcsMem runs one reclaimer at a time, so a pass is
    /// never shared with another walker and always finishes; every mm counts as having run since the last pass (the
    /// lru_gen.bitmap set at context switch).
    /// </summary>
    public bool TryToIncMaxSeq(long seq, int swappiness, bool forceScan)
    {
        if (seq <= _mmStateSeq)
            return false;
        if (_genHost is { } host && (_lruGenCaps & Scenarios.LruGenConfig.MmWalk) != 0)
        {
            LruGenWalk walk = _walk;
            walk.Seq = seq;
            walk.Swappiness = swappiness;
            walk.ForceScan = forceScan;
            walk.LeafTotal = walk.LeafYoung = walk.NonleafFound = walk.NonleafAdded = 0;
            // set_mm_walk: a direct reclaimer keeps its walk for look-around until its reclaim ends.
            _mmWalk ??= walk;
            host.MmList(this, _mmIds);
            bool first = true;
            int lastSeen = _mmLastSeen;
            foreach (int mm in _mmIds)
            {
                if (first)
                    ResetBloomFilter(seq + 1);
                first = false;
                if (mm > lastSeen)
                    walk.ForceScan = true;
                host.WalkMm(this, mm, walk);
                _mmLastSeen = Math.Max(_mmLastSeen, mm);
            }
            _mmStats[0] += walk.LeafTotal;
            _mmStats[1] += walk.LeafYoung;
            _mmStats[2] += walk.NonleafFound;
            _mmStats[3] += walk.NonleafAdded;
        }
        _mmStateSeq++;
        bool ok = IncMaxSeq(seq, swappiness);
        System.Diagnostics.Debug.Assert(ok);
        return ok;
    }

    // ---------------------------------------------------------------- PID controller

    private struct CtrlPos
    {
        public long Refaulted, Total;
        public int Gain;
    }

    /// <summary>read_ctrl_pos: refaulted and total (evicted + protected, with the averages) of one tier, or of all when <paramref name="tier"/> is MAX_NR_TIERS.</summary>
    private CtrlPos ReadCtrlPos(int type, int tier, int gain)
    {
        var pos = new CtrlPos { Gain = gain };
        for (int i = tier % MaxNrTiers; i <= Math.Min(tier, MaxNrTiers - 1); i++)
        {
            int k = type * MaxNrTiers + i;
            pos.Refaulted += _avgRefaulted[k] + _refaulted[k];
            pos.Total += _avgTotal[k] + _protected[k] + _evicted[k];
        }
        return pos;
    }

    /// <summary>
    /// reset_ctrl_pos: with one history generation (NR_HIST_GENS 1, CONFIG_LRU_GEN_STATS off) a carry-over halves the
    /// running averages into avg_refaulted/avg_total and clears the current counts; without carry-over nothing happens.
    /// </summary>
    private void ResetCtrlPos(int type, bool carryover)
    {
        if (!carryover)
            return;
        for (int tier = 0; tier < MaxNrTiers; tier++)
        {
            int k = type * MaxNrTiers + tier;
            _avgRefaulted[k] = (_avgRefaulted[k] + _refaulted[k]) / 2;
            _avgTotal[k] = (_avgTotal[k] + _protected[k] + _evicted[k]) / 2;
            _refaulted[k] = 0;
            _evicted[k] = 0;
            _protected[k] = 0;
        }
    }

    /// <summary>positive_ctrl_err: the PV has few refaults, or a refaulted/total no higher than the SP's (gains applied).</summary>
    private static bool PositiveCtrlErr(in CtrlPos sp, in CtrlPos pv) =>
        pv.Refaulted < MinLruBatch
        || (UInt128)(ulong)pv.Refaulted * (ulong)(sp.Total + MinLruBatch) * (ulong)sp.Gain
            <= (UInt128)(ulong)(sp.Refaulted + 1) * (ulong)pv.Total * (ulong)pv.Gain;

    /// <summary>get_tier_idx: the highest tier whose refault rate (gain 3) stays within tier 0's (gain 2); tiers above are protected.</summary>
    private int GetTierIdx(int type)
    {
        CtrlPos sp = ReadCtrlPos(type, 0, 2);
        int tier;
        for (tier = 1; tier < MaxNrTiers; tier++)
        {
            CtrlPos pv = ReadCtrlPos(type, tier, 3);
            if (!PositiveCtrlErr(sp, pv))
                break;
        }
        return tier - 1;
    }

    /// <summary>get_type_to_scan: file at swappiness 0 or 1, anon at 200 and above, else the type whose refaults (weighted by swappiness) are lower.</summary>
    private int GetTypeToScan(int swappiness)
    {
        if (swappiness <= 1)
            return LruGenFile;
        if (swappiness >= MaxSwappiness)
            return LruGenAnon;
        CtrlPos sp = ReadCtrlPos(LruGenAnon, MaxNrTiers, swappiness);
        CtrlPos pv = ReadCtrlPos(LruGenFile, MaxNrTiers, MaxSwappiness - swappiness);
        return PositiveCtrlErr(sp, pv) ? LruGenFile : LruGenAnon;
    }

    // ---------------------------------------------------------------- the eviction

    /// <summary>
    /// sort_folio: a folio the walk promoted moves to its generation's head; one in a tier above <paramref name="tierIdx"/>
    /// (or with every reference bit set: the lazily promoted workingset) moves up a generation and counts as protected;
    /// one under writeback, or a dirty file folio the flusher has to write, waits a generation with PG_reclaim set
    /// (folio_end_writeback rotates it back to the oldest generation's tail) and counts in sc-&gt;nr.file_taken (and
    /// nr.unqueued_dirty while its write has not started). True when the folio was sorted rather than left to isolate;
    /// <paramref name="waiting"/> when it was held back for writeback. The unevictable and ineligible-zone cases do
    /// not arise (mlock is found by the rmap walk, one zone). With synchronous writeback a dirty file folio is not held
    /// back: reclaim's pageout writes it, as on the classic path.
    /// </summary>
    private bool SortFolio(int pfn, int tierIdx, ScanControl sc, out bool waiting)
    {
        waiting = false;
        FrameFlags fl = _host.Frames[pfn].Flags;
        int gen = LruGenFolioGen(pfn);
        int type = TypeOf(pfn);
        int refs = FolioLruRefs(fl);
        bool ws = (fl & FrameFlags.Workingset) != 0;
        int tier = TierFromRefs(refs, ws);
        if (gen != GenFromSeq(_minSeq[type]))
        {
            _genLists.MoveToHead(gen * 2 + type, pfn);
            return true;
        }
        bool lazy = refs + (ws ? 1 : 0) == (1 << LruRefsWidth) + 1;
        if (tier > tierIdx || lazy)
        {
            gen = FolioIncGen(pfn);
            _genLists.MoveToHead(gen * 2 + type, pfn);
            if (!lazy)
                _protected[type * MaxNrTiers + tier]++;
            return true;
        }
        bool writeback = (fl & FrameFlags.Writeback) != 0;
        bool dirtyFile = type == LruGenFile && (fl & FrameFlags.Dirty) != 0 && _host.WritebackAsync;
        if (dirtyFile)
        {
            sc.NrFileTaken++;
            if (!writeback)
                sc.NrUnqueuedDirty++;
        }
        if (writeback || dirtyFile)
        {
            gen = FolioIncGen(pfn, reclaiming: true);
            _genLists.MoveToHead(gen * 2 + type, pfn);
            waiting = true;
            return true;
        }
        return false;
    }

    /// <summary>
    /// isolate_folio: without PG_referenced the access counter is dropped; PG_reclaim is cleared for shrink_folio_list
    /// (whose writeback cases read it); the folio leaves its generation (reclaiming).
    /// </summary>
    private void IsolateFolio(int pfn)
    {
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        if ((fl & FrameFlags.Referenced) == 0)
            fl &= ~LruRefsMask;
        fl &= ~FrameFlags.Reclaim;
        LruGenDelFolio(pfn, true);
    }

    /// <summary>
    /// scan_folios: from the tail of the oldest generation of <paramref name="type"/>, sort or isolate folios until
    /// MIN_LRU_BATCH are isolated or MAX_LRU_BATCH were looked at; pgscan_{kswapd,direct} and pgscan_{anon,file} count the
    /// isolated ones, pgrefill the sorted; sc-&gt;nr.file_taken the isolated file folios. Returns the folios scanned (0 with
    /// only MIN_NR_GENS generations, or when none could be isolated and the budget is left); <paramref name="waiting"/>:
    /// those sort_folio held back for writeback.
    /// </summary>
    private int ScanFolios(ScanControl sc, int type, int tier, out int isolated, out int waiting)
    {
        isolated = 0;
        waiting = 0;
        if (NrGens(type) == MinNrGens)
            return 0;
        int list = GenFromSeq(_minSeq[type]) * 2 + type;
        int scanned = 0, sorted = 0, remaining = MaxLruBatch;
        for (int f = _genLists.Tail(list); f >= 0; f = _genLists.Tail(list))
        {
            scanned++;
            if (SortFolio(f, tier, sc, out bool wb))
            {
                sorted++;
                if (wb) waiting++;
            }
            else
            {
                IsolateFolio(f);
                _isolated[isolated++] = f;
            }
            if (--remaining == 0 || isolated >= MinLruBatch)
                break;
        }
        if (!sc.CgroupReclaim)
        {
            _counters.Add(sc.Kswapd ? _c.PgScanKswapd : _c.PgScanDirect, isolated);
            _counters.Add(_c.PgRefill, sorted);
        }
        if (sc.Kswapd) PgScanKswapd += isolated;
        else PgScanDirect += isolated;
        _counters.Add(type == LruGenFile ? _c.PgScanFile : _c.PgScanAnon, isolated);
        if (type == LruGenFile)
            sc.NrFileTaken += isolated;
        return isolated > 0 || remaining == 0 ? scanned : 0;
    }

    /// <summary>
    /// isolate_folios: the type get_type_to_scan prefers first, the other if it yields nothing, each at its get_tier_idx.
    /// <paramref name="waiting"/>: the folios held back for writeback by either scan.
    /// </summary>
    private int IsolateFolios(ScanControl sc, int swappiness, out int typeScanned, out int isolated, out int waiting)
    {
        int type = GetTypeToScan(swappiness);
        var (first, last) = EvictableTypes(swappiness);
        typeScanned = type;
        isolated = 0;
        waiting = 0;
        for (int i = first; i <= last; i++)
        {
            int tier = GetTierIdx(type);
            typeScanned = type;
            int scanned = ScanFolios(sc, type, tier, out isolated, out int held);
            waiting += held;
            if (scanned != 0)
                return scanned;
            type = 1 - type;
        }
        return 0;
    }

    /// <summary>
    /// evict_folios: isolate a batch from min_seq, try to advance min_seq, and run shrink_folio_list over the batch
    /// (references through lru_gen_look_around; rejected folios are put back, never into the oldest generation);
    /// pgsteal_{kswapd,direct} and pgsteal_{anon,file}. Returns the folios scanned (0: nothing more to evict here).
    /// With async writeback the reclaimer's time passes with the pages it isolated or held back for writeback (what the
    /// classic lists would have isolated for the same folios) and the writes due by then complete, before
    /// shrink_folio_list; the swap writes it starts go to the disk as one request when it returns (the plug; Linux plugs
    /// the whole lru_gen_shrink_node, EcsMem each shrink_folio_list as on the classic path). The second pass over clean
    /// unmapped folios that missed folio_rotate_reclaimable is not needed: no write completes while folios are isolated
    /// here (completions come before shrink_folio_list and between ticks), and sort_folio keeps folios under writeback
    /// from being isolated at all.
    /// </summary>
    private long EvictFolios(ScanControl sc, int swappiness)
    {
        long scanned = IsolateFolios(sc, swappiness, out int type, out int isolated, out int waiting);
        if (TryToIncMinSeq(swappiness))
            scanned++;
        if (EvictableMinSeq(swappiness) + MinNrGens > _maxSeq)
            scanned = 0;
        if (isolated + waiting > 0)
            _host.WritebackProgress(isolated + waiting);
        if (isolated == 0)
            return scanned;
        sc.NrScanned += isolated;
        int reclaimed = ShrinkFolioList(isolated, isolated, sc, out _);
        _host.WritebackUnplug();
        sc.NrReclaimed += reclaimed;
        if (!sc.CgroupReclaim)
            _counters.Add(sc.Kswapd ? _c.PgStealKswapd : _c.PgStealDirect, reclaimed);
        if (sc.Kswapd) PgStealKswapd += reclaimed;
        else PgStealDirect += reclaimed;
        _counters.Add(type == LruGenFile ? _c.PgStealFile : _c.PgStealAnon, reclaimed);
        // evict_folios' trace_mm_vmscan_lru_shrink_inactive: the scan count after min_seq's step, as Linux passes it.
        _host.LruShrinkTrace(active: false, type == LruGenFile, sc, scanned, reclaimed);
        return scanned;
    }

    /// <summary>
    /// folio_rotate_reclaimable → lru_move_tail with MGLRU, at the end of a PG_reclaim folio's write: unless it is off
    /// the generation lists (isolated, in an lru_add batch), lruvec_del_folio, PG_active cleared and
    /// lruvec_add_folio_tail — lru_gen_add_folio reclaiming, so lru_gen_folio_seq puts it in the oldest generation
    /// (never below min_seq) at the tail, where eviction looks first; pgrotated. (The caller checked locked, dirty and
    /// unevictable.)
    /// </summary>
    private void LruGenRotateReclaimable(int pfn)
    {
        if (_genLists.ListOf(pfn) < 0)
            return;
        LruGenDelFolio(pfn, false);
        _host.Frames[pfn].Flags &= ~FrameFlags.Active;
        LruGenAddFolio(pfn, true);
        _counters.Increment(_c.PgRotated);
    }

    /// <summary>
    /// move_folios_to_lru after evict_folios for a folio shrink_folio_list kept: one that would join the oldest generation
    /// gets PG_active instead (its reference bits cleared), so rejected folios are not scanned again at once.
    /// </summary>
    private void LruGenPutback(int pfn)
    {
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        if ((fl & FrameFlags.Unevictable) == 0 && FolioSeq(pfn, false) == _minSeq[TypeOf(pfn)])
            fl = (fl & ~LruRefsFlags) | FrameFlags.Active;
        if (!LruGenAddFolio(pfn, false))
            _lists.PushHead((int)LruList.Unevictable, pfn);
    }

    /// <summary>
    /// folio_check_references with MGLRU: the references come from the rmap walk with look-around; VM_LOCKED →
    /// unevictable; no young PTE → reclaim; else lru_gen_set_refs decides between activate and keep.
    /// </summary>
    private FolioReferences LruGenCheckReferences(int pfn, out bool mlocked)
    {
        VmFlags vmFlags;
        int young = _genHost is { } h ? h.FolioReferenced(this, pfn, _mmWalk, out vmFlags) : _host.FolioReferenced(pfn, out vmFlags);
        mlocked = (vmFlags & VmFlags.Locked) != 0;
        if (mlocked)
            return FolioReferences.Activate;
        if (young == 0)
            return FolioReferences.Reclaim;
        return LruGenSetRefs(pfn) ? FolioReferences.Activate : FolioReferences.Keep;
    }

    /// <summary>
    /// get_swappiness: 0 when reclaim may not swap or fewer than MIN_LRU_BATCH swap slots are free for this cgroup
    /// (no demotion target in EcsMem), else the scan_control's.
    /// </summary>
    private int LruGenSwappiness(ScanControl sc)
    {
        if (!sc.MaySwap)
            return 0;
        long free = _genHost is { } h ? h.NrSwapPages(this) : _host.SwapSpaceLeft ? long.MaxValue : 0;
        return free < MinLruBatch ? 0 : sc.Swappiness;
    }

    /// <summary>
    /// should_run_aging: the pages of the evictable types' generations (nr_to_scan); aging is needed when only
    /// MIN_NR_GENS generations are left, and worthwhile when exactly MIN_NR_GENS + 1 are.
    /// </summary>
    private bool ShouldRunAging(int swappiness, out long nrToScan)
    {
        nrToScan = 0;
        if (EvictableMinSeq(swappiness) + MinNrGens > _maxSeq)
            return true;
        var (first, last) = EvictableTypes(swappiness);
        long size = 0;
        for (int type = first; type <= last; type++)
            for (long seq = _minSeq[type]; seq <= _maxSeq; seq++)
                size += Math.Max(_nrPages[GenFromSeq(seq) * 2 + type], 0);
        nrToScan = size;
        return EvictableMinSeq(swappiness) + MinNrGens == _maxSeq;
    }

    /// <summary>get_nr_to_scan: the pages (scaled by a cgroup's protection, apply_proportional_protection) &gt;&gt; priority; when aging is due (and not at DEF_PRIORITY) try_to_inc_max_seq, and stop (-1 aged, 0 not).</summary>
    private long GetNrToScan(ScanControl sc, int swappiness)
    {
        bool success = ShouldRunAging(swappiness, out long nrToScan);
        nrToScan = ApplyProportionalProtection(sc, nrToScan);
        if (!success || sc.Priority == ScanControl.DefPriority)
            return nrToScan >> sc.Priority;
        return TryToIncMaxSeq(_maxSeq, swappiness, false) ? -1 : 0;
    }

    /// <summary>
    /// should_abort_scan: only for root reclaim — enough reclaimed (nr_to_reclaim, at least compact_gap(0) = 2), or kswapd
    /// and the zone above its high watermark + MIN_LRU_BATCH (the pages this pass reclaimed whose frames are not released
    /// yet counted in: with machine.reclaim_free_batch they are free already).
    /// </summary>
    internal bool ShouldAbortScan(ScanControl sc, long reclaimedThisCall)
    {
        if (sc.CgroupReclaim)
            return false;
        if (sc.NrReclaimed >= Math.Max(sc.NrToReclaim, 2))
            return true;
        if (!sc.Kswapd)
            return false;
        return _host.FreePages + Math.Min(reclaimedThisCall, _host.PendingReleases) >= _host.HighWatermark + MinLruBatch;
    }

    /// <summary>try_to_shrink_lruvec: evict until nr_to_scan is used up, the eviction stalls or reclaim should stop. True when the lruvec aged (it is low on cold folios).</summary>
    private bool TryToShrinkLruvec(ScanControl sc, long reclaimedBefore)
    {
        int swappiness = LruGenSwappiness(sc);
        long nrToScan, scanned = 0;
        while (true)
        {
            nrToScan = GetNrToScan(sc, swappiness);
            if (nrToScan <= 0)
                break;
            long delta = EvictFolios(sc, swappiness);
            if (delta == 0)
                break;
            scanned += delta;
            if (scanned >= nrToScan)
                break;
            if (ShouldAbortScan(sc, sc.NrReclaimed - reclaimedBefore))
                break;
        }
        // Too much of the oldest generation's file cache is dirty with no write queued: wake the flushers.
        if (sc.NrUnqueuedDirty > 0 && sc.NrUnqueuedDirty == sc.NrFileTaken)
            _host.WakeupFlusherThreads();
        return nrToScan < 0;
    }

    /// <summary>lruvec_is_sizable: the evictable generations hold pages &gt;&gt; priority.</summary>
    private bool LruvecIsSizable(ScanControl sc)
    {
        int swappiness = LruGenSwappiness(sc);
        var (first, last) = EvictableTypes(swappiness);
        long total = 0;
        for (int type = first; type <= last; type++)
            for (long seq = _minSeq[type]; seq <= _maxSeq; seq++)
                total += Math.Max(_nrPages[GenFromSeq(seq) * 2 + type], 0);
        return (total >> sc.Priority) != 0;
    }

    /// <summary>lruvec_is_reclaimable: sizable, and its oldest evictable generation was born more than min_ttl ago.</summary>
    public bool LruvecIsReclaimable(ScanControl sc)
    {
        if (!LruvecIsSizable(sc))
            return false;
        int gen = GenFromSeq(EvictableMinSeq(LruGenSwappiness(sc)));
        return _timestamps[gen] + _minTtlJiffies < Jiffies;
    }

    /// <summary>The machine side of the multi-gen LRU (null in the hand-worked tests).</summary>
    internal ILruGenHost? GenHost => _genHost;

    /// <summary>
    /// set_initial_priority: at DEF_PRIORITY with at least MIN_LRU_BATCH to reclaim, start at the priority where
    /// (inactive pages &gt;&gt; priority) covers nr_to_reclaim — fls(reclaimable) − 1 − fls(nr_to_reclaim − 1) — kept
    /// within DEF_PRIORITY / 2 .. DEF_PRIORITY. Reclaimable is the node's inactive file pages, and inactive anon while
    /// swap space is left.
    /// </summary>
    public void SetInitialPriority(ScanControl sc)
    {
        if (sc.Priority != ScanControl.DefPriority || sc.NrToReclaim < MinLruBatch)
            return;
        long reclaimable = SubtreeSize(LruList.InactiveFile);
        if (_host.SwapSpaceLeft)
            reclaimable += SubtreeSize(LruList.InactiveAnon);
        static int Fls(long x) => 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)x);
        int priority = Fls(reclaimable) - 1 - Fls(sc.NrToReclaim - 1);
        sc.Priority = Math.Clamp(priority, ScanControl.DefPriority / 2, ScanControl.DefPriority);
    }

    /// <summary>min_ttl_ms in jiffies (0: off).</summary>
    public ulong MinTtlJiffies => _minTtlJiffies;

    /// <summary>
    /// shrink_one's reclaim of this lruvec (and lru_gen_shrink_lruvec's for cgroup reclaim): lru_add_drain, then
    /// try_to_shrink_lruvec. <paramref name="walk"/>: kswapd's mm_walk, kept for look-around; a direct reclaimer gets one
    /// when it ages. Returns true when the lruvec aged.
    /// </summary>
    public bool LruGenShrink(ScanControl sc, bool walk, long reclaimedBefore)
    {
        LruAddDrain();
        _mmWalk = walk && _genHost is not null && (_lruGenCaps & Scenarios.LruGenConfig.MmWalk) != 0 ? _walk : null;
        bool aged = TryToShrinkLruvec(sc, reclaimedBefore);
        _mmWalk = null;
        return aged;
    }

    /// <summary>
    /// lru_gen's ChooseVictim for the simple policies' interface: the tail of the oldest non-empty generation, file first.
    /// </summary>
    private int LruGenChooseVictim(ReadOnlySpan<bool> unevictable)
    {
        for (int type = 1; type >= 0; type--)
            for (long seq = _minSeq[type]; seq <= _maxSeq; seq++)
            {
                int list = GenFromSeq(seq) * 2 + type;
                for (int f = _genLists.Tail(list); f >= 0; f = _genLists.Prev(f))
                    if (!Evictability.IsPinned(unevictable, f))
                        return f;
            }
        return -1;
    }

    // ---------------------------------------------------------------- mm/workingset.c

    /// <summary>
    /// lru_gen_eviction: evicted[type][tier] counts the folio; the shadow's token is min_seq of its type and its access
    /// count (refs − 1), with PG_workingset beside it.
    /// </summary>
    private int LruGenEviction(int pfn)
    {
        FrameFlags fl = _host.Frames[pfn].Flags;
        int type = TypeOf(pfn);
        int refs = FolioLruRefs(fl);
        bool ws = (fl & FrameFlags.Workingset) != 0;
        _evicted[type * MaxNrTiers + TierFromRefs(refs, ws)]++;
        long token = (_minSeq[type] << LruRefsWidth) | (long)Math.Max(refs - 1, 0);
        return (int)((token & EvictionMask) << 1) | (ws ? 1 : 0);
    }

    /// <summary>
    /// lru_gen_refault: workingset_refault_* always; a refault within MAX_NR_GENS generations of max_seq (lru_gen_test_recent)
    /// counts in refaulted[type][tier], in workingset_activate_* when it happens in a fault (folio_add_lru activates it), and
    /// restores PG_workingset (workingset_restore_*) or else the access counter it had.
    /// </summary>
    private void LruGenRefault(int pfn, int shadow)
    {
        bool file = IsFileLru(pfn);
        int type = file ? LruGenFile : LruGenAnon;
        _counters.Increment(file ? _c.WorkingsetRefaultFile : _c.WorkingsetRefaultAnon);
        WorkingsetRefaults[type]++;
        long token = shadow >> 1;
        bool ws = (shadow & 1) != 0;
        long maxSeq = _maxSeq & (EvictionMask >> LruRefsWidth);
        if (Math.Abs(maxSeq - (token >> LruRefsWidth)) >= MaxNrGens)
            return;
        int refs = (int)(token & ((1 << LruRefsWidth) - 1)) + 1;
        _refaulted[type * MaxNrTiers + TierFromRefs(refs, ws)]++;
        if (_genHost?.InLruFault ?? true)
        {
            for (Lruvec? l = this; l is not null; l = l.Parent)
                l.WorkingsetActivations[type]++;
            WorkingsetActivationsLocal[type]++;
            _counters.Increment(file ? _c.WorkingsetActivateFile : _c.WorkingsetActivateAnon);
        }
        ref FrameFlags fl = ref _host.Frames[pfn].Flags;
        if (ws)
        {
            fl |= FrameFlags.Workingset;
            _counters.Increment(file ? _c.WorkingsetRestoreFile : _c.WorkingsetRestoreAnon);
            WorkingsetRestores[type]++;
        }
        else
        {
            fl = (fl & ~LruRefsMask) | (FrameFlags)((uint)(refs - 1) << LruRefsPgoff);
        }
    }

    // ---------------------------------------------------------------- invariants

    /// <summary>
    /// The multi-gen LRU's own consistency, for the invariant checker: null when every frame on a generation list has a
    /// generation in its flags and no PG_active or PG_unevictable (frames of other lruvecs are the checker's business), each generation's count equals the frames whose
    /// flags name it, and MIN_NR_GENS ≤ max_seq − min_seq + 1 ≤ MAX_NR_GENS for both types; else the first problem.
    /// </summary>
    public string? LruGenProblem()
    {
        if (!_lruGen)
            return null;
        for (int type = 0; type < 2; type++)
        {
            long n = NrGens(type);
            if (n < MinNrGens || n > MaxNrGens)
                return $"lru_gen: {(type == 0 ? "anon" : "file")} has {n} generations (min_seq {_minSeq[type]}, max_seq {_maxSeq})";
        }
        Span<long> counted = stackalloc long[MaxNrGens * 2];
        Frame[] frames = _host.Frames;
        for (int pfn = 0; pfn < frames.Length && pfn < _shadow.Length; pfn++)
        {
            FrameFlags fl = frames[pfn].Flags;
            int gen = LruGenFolioGen(pfn);
            int list = _genLists.ListOf(pfn);
            if (list >= 0)
            {
                if (gen < 0)
                    return $"frame {pfn}: on generation list {list / 2} ({(list % 2 == 0 ? "anon" : "file")}) without a generation in its flags ({fl})";
                if ((fl & (FrameFlags.Active | FrameFlags.Unevictable)) != 0)
                    return $"frame {pfn}: on a generation list with PG_active or PG_unevictable ({fl})";
                if (list % 2 != TypeOf(pfn))
                    return $"frame {pfn}: on the {(list % 2 == 0 ? "anon" : "file")} generations but its flags say otherwise ({fl})";
                if (_lists.ListOf(pfn) >= 0 || _lruAdd.InBatch(pfn))
                    return $"frame {pfn}: on a generation list and on another LRU list or batch";
                counted[gen * 2 + (list % 2)]++;
                long seq = SeqOfGen(gen, list % 2);
                if (seq < _minSeq[list % 2] || seq > _maxSeq)
                    return $"frame {pfn}: generation {gen} is outside min_seq..max_seq";
            }
        }
        for (int i = 0; i < counted.Length; i++)
            if (counted[i] != _nrPages[i])
                return $"lru_gen: generation {i / 2} {(i % 2 == 0 ? "anon" : "file")} counts {_nrPages[i]} pages but {counted[i]} frames are in it";
        return null;
    }

    /// <summary>The seq in min_seq..max_seq whose generation is <paramref name="gen"/> (or one past max_seq if none).</summary>
    private long SeqOfGen(int gen, int type)
    {
        for (long seq = _minSeq[type]; seq <= _maxSeq; seq++)
            if (GenFromSeq(seq) == gen)
                return seq;
        return _maxSeq + 1;
    }
}
