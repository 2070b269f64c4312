using EcsMem.Components;

namespace EcsMem.Systems.HugeMemory;

/// <summary>
/// The deferred split queue and its shrinker (mm/huge_memory.c, Linux 6.18): every THP a fault or a collapse maps
/// joins its memcg's queue (deferred_split_folio(folio, false): a candidate for the underused-THP split); one a zap
/// leaves partly mapped is flagged PG_partially_mapped (<see cref="FrameFlags.DeferredSplit"/>, thp_deferred_split_page).
/// The pages such a zap unmapped are not freed: the folio holds them until it is split or freed whole. Reclaim's
/// shrink_slab runs the "thp-deferred_split" shrinker per memcg (do_shrink_slab's arithmetic: count =
/// split_queue_len, seeks DEFAULT_SEEKS, batch SHRINK_BATCH), whose deferred_split_scan takes folios off the head of
/// the queue: a partly mapped one is split (thp_split_page) and its unmapped pages freed; any other is dropped from
/// the queue (thp_underused is false at max_ptes_none 511, the default; EcsMem keeps no page contents to count
/// zero-filled subpages, so the underused split is not modelled for smaller values).
/// </summary>
public sealed partial class HugeMemory
{
    /// <summary>DEFAULT_SEEKS: the deferred split shrinker's seeks.</summary>
    public const int ShrinkerSeeks = 2;

    /// <summary>SHRINK_BATCH: objects per scan_objects call.</summary>
    public const int ShrinkBatch = 128;

    /// <summary>PAGEVEC_SIZE (folio_batch): folios one deferred_split_scan call takes off the queue at most.</summary>
    public const int FolioBatchSize = 31;

    private sealed class DsQueue
    {
        public readonly List<(int Head, int Gen)> Items = new();
        public int Start;
        public int Len;
        public long NrDeferred;
    }

    private readonly List<DsQueue?> _dsQueues = new();
    private int[] _dsGen = [];
    private int _dsGenSeq;
    private readonly List<int> _dsBatch = new();
    private int _zapEdgeA = -1, _zapEdgeB = -1;

    /// <summary>split_queue_len of the queue of <paramref name="memcg"/> (the node's, or the root's, when null).</summary>
    public int DeferredSplitQueueLength(Memcontrol.MemCgroup? memcg) =>
        QueueIndex(memcg) < _dsQueues.Count && _dsQueues[QueueIndex(memcg)] is { } q ? q.Len : 0;

    /// <summary>The shrinker's nr_deferred for <paramref name="memcg"/>'s queue: scan work left over for its next call.</summary>
    public long DeferredShrinkerNrDeferred(Memcontrol.MemCgroup? memcg) =>
        QueueIndex(memcg) < _dsQueues.Count && _dsQueues[QueueIndex(memcg)] is { } q ? q.NrDeferred : 0;

    /// <summary>THPs split by the deferred split shrinker (part of thp_split_page).</summary>
    public long DeferredSplits { get; private set; }

    private static int QueueIndex(Memcontrol.MemCgroup? memcg) => memcg is null ? 0 : memcg.Id + 1;

    private DsQueue QueueOfFolio(int head)
    {
        int index = QueueIndex(kernel.Memcg?.OfFrame(head));
        while (_dsQueues.Count <= index)
            _dsQueues.Add(null);
        return _dsQueues[index] ??= new DsQueue();
    }

    private ref int GenOf(int head)
    {
        int i = head >> PmdOrder;
        if (i >= _dsGen.Length)
            Array.Resize(ref _dsGen, Math.Max(i + 1, kernel.Zone.Frames.Length >> PmdOrder) + 1);
        return ref _dsGen[i];
    }

    /// <summary>
    /// deferred_split_folio: <paramref name="partiallyMapped"/> flags the folio PG_partially_mapped (once:
    /// thp_deferred_split_page); a folio not on its memcg's queue joins its tail. A folio in the swap cache is left to
    /// reclaim, which is handling it already.
    /// </summary>
    public void DeferredSplitFolio(int head, bool partiallyMapped)
    {
        Frame[] frames = kernel.Zone.Frames;
        if ((frames[head].Flags & FrameFlags.Thp) == 0 || (frames[head].Flags & FrameFlags.SwapCache) != 0)
            return;
        if (partiallyMapped && (frames[head].Flags & FrameFlags.DeferredSplit) == 0)
        {
            kernel.Dirty?.Frame(head);
            frames[head].Flags |= FrameFlags.DeferredSplit;
            kernel.Env.Counters.Increment(kernel.C.ThpDeferredSplitPage);
        }
        ref int gen = ref GenOf(head);
        if (gen != 0)
            return;
        gen = ++_dsGenSeq;
        DsQueue q = QueueOfFolio(head);
        q.Items.Add((head, gen));
        q.Len++;
    }

    /// <summary>
    /// The folio leaves its queue (split, or freed whole: folio_unqueue_deferred_split). Lazy: the queue entry stays
    /// and is skipped, the length drops now.
    /// </summary>
    public void UnqueueDeferredSplit(int head)
    {
        ref int gen = ref GenOf(head);
        if (gen == 0)
            return;
        gen = 0;
        QueueOfFolio(head).Len--;
    }

    /// <summary>Whether the THP at <paramref name="head"/> keeps its unmapped pages for now (a zap edge in progress, or partly mapped).</summary>
    private bool HoldsUnmapped(int head) =>
        head == _zapEdgeA || head == _zapEdgeB || (kernel.Zone.Frames[head].Flags & FrameFlags.DeferredSplit) != 0;

    /// <summary>
    /// A page of a THP lost its last mapping (the zap's put_page): the folio keeps it (it is freed when the folio is
    /// split or freed whole) while the folio is partly mapped, or may be after the zap in progress. When the folio is
    /// flagged partly mapped and nothing maps it any more, the whole folio goes now. Returns whether the page was
    /// dealt with here (the caller frees it otherwise).
    /// </summary>
    public bool ReleaseThpPage(int pfn)
    {
        int head = HeadOf(pfn);
        if (!HoldsUnmapped(head))
            return false;
        if (head == _zapEdgeA || head == _zapEdgeB || FolioMapped(head))
            return true;
        FreeUnmappedPages(head, unqueue: true);
        return true;
    }

    /// <summary>Before a zap of [start, end): the THPs at its two edges may be left partly mapped; their pages are held until <see cref="AfterZap"/>.</summary>
    public void BeforeZap(int edgeHeadStart, int edgeHeadEnd)
    {
        _zapEdgeA = edgeHeadStart;
        _zapEdgeB = edgeHeadEnd;
    }

    private bool FolioMapped(int head)
    {
        Frame[] frames = kernel.Zone.Frames;
        for (int i = 0; i < PmdPages; i++)
            if (frames[head + i].MapCount > 0)
                return true;
        return false;
    }

    // The folio's pages nothing maps, pins or caches go back to the allocator (split_folio's put of each new folio, or
    // the folio freed whole when none is mapped).
    private void FreeUnmappedPages(int head, bool unqueue)
    {
        if (unqueue)
            UnqueueDeferredSplit(head);
        Frame[] frames = kernel.Zone.Frames;
        int cpu = kernel.Tlb.CurrentCpu;
        for (int i = 0; i < PmdPages; i++)
        {
            int p = head + i;
            if (!frames[p].IsFree)
                kernel.Zone.FreeIfOrphan(p, cpu);
        }
    }

    /// <summary>
    /// shrink_slab's call of the deferred split shrinker for <paramref name="memcg"/> at <paramref name="priority"/>
    /// (do_shrink_slab): freeable = the queue's length; delta = (freeable &gt;&gt; priority) × 4 / seeks; total_scan =
    /// (nr_deferred &gt;&gt; priority) + delta, at most 2 × freeable; scan_objects in batches of SHRINK_BATCH while at least a
    /// batch, or all of freeable, is left; the work not done is deferred to the next call (nr_deferred, at most
    /// 2 × freeable). Returns the folios split.
    /// </summary>
    public long ShrinkSlab(int priority, Memcontrol.MemCgroup? memcg)
    {
        int index = QueueIndex(memcg);
        if (index >= _dsQueues.Count || _dsQueues[index] is not { } q)
            return 0;
        long freeable = q.Len;
        if (freeable == 0)
            return 0;
        long nr = q.NrDeferred;
        q.NrDeferred = 0;
        long delta = (freeable >> priority) * 4 / ShrinkerSeeks;
        long totalScan = Math.Min((nr >> priority) + delta, 2 * freeable);
        long scanned = 0, freed = 0;
        while (totalScan >= ShrinkBatch || totalScan >= freeable)
        {
            long nrToScan = Math.Min(ShrinkBatch, totalScan);
            long ret = DeferredSplitScan(q, nrToScan);
            if (ret < 0)
                break; // SHRINK_STOP
            freed += ret;
            totalScan -= nrToScan;
            scanned += nrToScan;
        }
        long next = Math.Min(Math.Max(nr + delta - scanned, 0), 2 * freeable);
        q.NrDeferred += next;
        return freed;
    }

    /// <summary>
    /// deferred_split_scan: up to <paramref name="nrToScan"/> folios (and one folio batch) leave the head of the queue;
    /// a partly mapped one is split unless a page of it is held (folio_trylock fails: it goes back on the queue's
    /// tail), a fully mapped one (not underused) just leaves the queue. Returns the folios split, or -1 (SHRINK_STOP)
    /// when none was and the queue is empty.
    /// </summary>
    private long DeferredSplitScan(DsQueue q, long nrToScan)
    {
        _dsBatch.Clear();
        while (q.Start < q.Items.Count)
        {
            var (head, gen) = q.Items[q.Start++];
            ref int current = ref GenOf(head);
            if (current != gen)
                continue; // left the queue already (split or freed)
            current = 0;
            q.Len--;
            _dsBatch.Add(head);
            if (--nrToScan == 0 || _dsBatch.Count == FolioBatchSize)
                break;
        }
        if (q.Start > 1024 && q.Start * 2 > q.Items.Count)
        {
            q.Items.RemoveRange(0, q.Start);
            q.Start = 0;
        }
        long split = 0;
        Frame[] frames = kernel.Zone.Frames;
        foreach (int head in _dsBatch)
        {
            if ((frames[head].Flags & FrameFlags.Thp) == 0)
                continue;
            bool partly = (frames[head].Flags & FrameFlags.DeferredSplit) != 0;
            if (!partly)
                continue; // thp_underused: false at max_ptes_none 511
            if (FolioHeld(head))
            {
                DeferredSplitFolio(head, partiallyMapped: true); // back on the queue's tail
                continue;
            }
            SplitFolio(head);
            FreeUnmappedPages(head, unqueue: false);
            DeferredSplits++;
            split++;
        }
        return split == 0 && q.Len == 0 ? -1 : split;
    }

    // folio_trylock fails for a folio one of whose pages is pinned here (under I/O, isolated by reclaim, being installed).
    private bool FolioHeld(int head)
    {
        var zone = kernel.Zone;
        for (int i = 0; i < PmdPages; i++)
            if (zone.Pins[head + i] > 0)
                return true;
        return false;
    }
}
