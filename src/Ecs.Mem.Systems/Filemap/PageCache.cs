namespace EcsMem.Systems.Filemap;

/// <summary>
/// The page cache: (file, page index) → frame, shared by every process mapping the file (a file's
/// address_space i_pages in Linux). Looked up on faults only, never per access. A slot whose page reclaim
/// evicted keeps the page's workingset shadow entry (mm/workingset.c) in the same table, as a value below -1,
/// until the page is read back (filemap_add_folio hands it to workingset_refault) or invalidated. A shmem object's
/// page that went to swap leaves its swap entry in its slot instead (shmem_writeout: shmem_delete_from_page_cache
/// with swp_to_radix_entry), a value entry below <see cref="SwapValueBase"/>, until shmem_swapin_folio puts the page
/// back (shmem_add_to_page_cache replacing the expected entry) or truncation frees it (shmem_free_swap).
/// </summary>
public sealed partial class PageCache
{
    /// <summary>No shadow entry: what <see cref="Add"/> returns for a slot that was empty.</summary>
    public const int NoShadow = -1;

    /// <summary>Swap value entries are -(SwapValueBase + slot): far below every shadow (-2 - shadow, shadow an int).</summary>
    private const long SwapValueBase = 1L << 40;

    private readonly Dictionary<long, long> _pfnByKey = new();
    private int _count;
    private int _swapEntries;

    /// <summary>The incremental checker's record of the tick's changes (null when checking is off).</summary>
    internal Kernel.DirtySet? Dirty;

    /// <summary>
    /// Called with (file, index, frame) as <see cref="Delete"/> takes a page out, like the kernel's
    /// mm_filemap_delete_from_page_cache tracepoint; null (the default): nothing is called. The oracle's
    /// ECSMEM_ORACLE_THRASH dump sets it.
    /// </summary>
    public Action<int, long, int>? Deleted;

    /// <summary>Pages currently cached.</summary>
    public int Count => _count;

    /// <summary>Shadow entries held (evicted pages not read back yet).</summary>
    public int Shadows => _pfnByKey.Count - _count - _swapEntries;

    /// <summary>Swap value entries held: shmem pages out on swap (the sum of every object's info-&gt;swapped).</summary>
    public int SwapEntries => _swapEntries;

    private static bool IsSwapValue(long v) => v <= -SwapValueBase;

    private static long Key(int file, long index)
    {
        if ((ulong)index >= 1UL << 40)
            throw new ArgumentOutOfRangeException(nameof(index), index, "file page index beyond 2^40 pages");
        return ((long)file << 40) | index;
    }

    /// <summary>find_get_page: the frame caching page <paramref name="index"/> of <paramref name="file"/>, or -1.</summary>
    public int Find(int file, long index) => _pfnByKey.TryGetValue(Key(file, index), out long pfn) && pfn >= 0 ? (int)pfn : -1;

    /// <summary>
    /// The swap entry a shmem object's slot holds (xa_is_value, radix_to_swp_entry): its swap slot, or 0 when the slot
    /// holds a page, a shadow or nothing.
    /// </summary>
    public int SwapEntry(int file, long index) =>
        _swapEntries > 0 && _pfnByKey.TryGetValue(Key(file, index), out long v) && IsSwapValue(v) ? (int)(-v - SwapValueBase) : 0;

    /// <summary>
    /// add_to_page_cache_lru (the LRU part is the replacement policy's business). Returns the shadow entry the slot
    /// held (&gt;= 0), or <see cref="NoShadow"/>.
    /// </summary>
    public int Add(int file, long index, int pfn)
    {
        if (Dirty is not null)
        {
            Dirty.PageCacheKey(file, index);
            Dirty.Frame(pfn);
        }
        ref long slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pfnByKey, Key(file, index), out bool exists);
        int shadow = NoShadow;
        if (exists)
        {
            if (slot >= 0)
                throw new InvalidOperationException($"page {index} of file {file} is already cached");
            if (IsSwapValue(slot))
                throw new InvalidOperationException($"page {index} of file {file} is out on swap (slot {-slot - SwapValueBase}): swap it in");
            shadow = (int)(-2 - slot);
        }
        slot = pfn;
        _count++;
        if (Nodes is not null)
        {
            if (!exists)
                NodeEntryAdded(file, index, pfn);
            else
                LeafShadowsChanged(file, index, -1); // the shadow's slot holds a page again
        }
        return shadow;
    }

    /// <summary>
    /// delete_from_page_cache: the page is dropped or its frame reclaimed; a reclaimed page leaves
    /// <paramref name="shadow"/> (&gt;= 0) in its slot (__remove_mapping's workingset_eviction).
    /// </summary>
    public void Delete(int file, long index, int shadow = NoShadow)
    {
        if (Dirty is not null)
        {
            Dirty.PageCacheKey(file, index);
            Dirty.Frame(Find(file, index));
        }
        long key = Key(file, index);
        if (!_pfnByKey.TryGetValue(key, out long v) || v < 0)
            throw new InvalidOperationException($"page {index} of file {file} is not cached");
        Deleted?.Invoke(file, index, (int)v);
        _count--;
        // filemap_release_folio → try_to_free_buffers before the page leaves (reclaim's __remove_mapping, truncation).
        if (_buffers.Remove(key, out int bufferGroup) && bufferGroup >= 0)
            Nodes!.BufferFree(bufferGroup);
        if (shadow >= 0)
        {
            _pfnByKey[key] = -2L - shadow;
            if (Nodes is not null)
                LeafShadowsChanged(file, index, +1);
        }
        else
        {
            _pfnByKey.Remove(key);
            if (Nodes is not null)
                NodeEntryRemoved(file, index);
        }
    }

    /// <summary>
    /// shmem_delete_from_page_cache(folio, swp_to_radix_entry(swap)) for shmem_writeout: the cached page
    /// <paramref name="index"/> of <paramref name="file"/> leaves its slot to the swap entry of <paramref name="swapSlot"/>.
    /// </summary>
    public void ReplaceWithSwapEntry(int file, long index, int swapSlot)
    {
        if (swapSlot <= 0)
            throw new ArgumentOutOfRangeException(nameof(swapSlot), swapSlot, "a swap entry names a slot above 0");
        if (Dirty is not null)
        {
            Dirty.PageCacheKey(file, index);
            Dirty.Frame(Find(file, index));
        }
        ref long slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_pfnByKey, Key(file, index));
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) || slot < 0)
            throw new InvalidOperationException($"page {index} of file {file} is not cached");
        slot = -(SwapValueBase + swapSlot);
        _count--;
        _swapEntries++;
    }

    /// <summary>
    /// shmem_add_to_page_cache with an expected swap entry (shmem_swapin_folio): the slot's entry for
    /// <paramref name="swapSlot"/> is replaced by the page in <paramref name="pfn"/>. False, nothing changed, when the
    /// slot no longer holds that entry (truncation freed it, as xas_find_conflict's -EEXIST).
    /// </summary>
    public bool ReplaceSwapEntry(int file, long index, int swapSlot, int pfn)
    {
        ref long slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_pfnByKey, Key(file, index));
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) || slot != -(SwapValueBase + swapSlot))
            return false;
        if (Dirty is not null)
        {
            Dirty.PageCacheKey(file, index);
            Dirty.Frame(pfn);
        }
        slot = pfn;
        _swapEntries--;
        _count++;
        return true;
    }

    /// <summary>
    /// shmem_free_swap's xa_cmpxchg(expected, NULL): the slot's swap entry for <paramref name="swapSlot"/> goes.
    /// False when the slot holds something else (the caller must not free the swap slot then).
    /// </summary>
    public bool RemoveSwapEntry(int file, long index, int swapSlot)
    {
        long key = Key(file, index);
        if (!_pfnByKey.TryGetValue(key, out long v) || v != -(SwapValueBase + swapSlot))
            return false;
        Dirty?.PageCacheKey(file, index);
        _pfnByKey.Remove(key);
        _swapEntries--;
        if (Nodes is not null)
            NodeEntryRemoved(file, index);
        return true;
    }

    /// <summary>
    /// The swap entries of <paramref name="file"/> from page <paramref name="first"/> up to <paramref name="end"/>
    /// (exclusive), in index order, added to <paramref name="into"/> (shmem_find_swap_entries / find_lock_entries'
    /// value entries). Walks the whole table: called by truncation and reports, never per access.
    /// </summary>
    public void FindSwapEntries(int file, long first, long end, List<(long Index, int Slot)> into)
    {
        into.Clear();
        if (_swapEntries == 0)
            return;
        foreach (var (key, v) in _pfnByKey)
        {
            long index = key & ((1L << 40) - 1);
            if (IsSwapValue(v) && (int)(key >> 40) == file && index >= first && index < end)
                into.Add((index, (int)(-v - SwapValueBase)));
        }
        into.Sort((a, b) => a.Index.CompareTo(b.Index));
    }

    /// <summary>shmem_partial_swap_usage: how many slots of [<paramref name="first"/>, <paramref name="end"/>) of <paramref name="file"/> hold swap entries.</summary>
    public long CountSwapEntries(int file, long first, long end)
    {
        if (_swapEntries == 0)
            return 0;
        long n = 0;
        foreach (var (key, v) in _pfnByKey)
        {
            long index = key & ((1L << 40) - 1);
            if (IsSwapValue(v) && (int)(key >> 40) == file && index >= first && index < end)
                n++;
        }
        return n;
    }

    /// <summary>Every swap value entry (file, index, swap slot), for the invariant checks.</summary>
    public IEnumerable<(int File, long Index, int Slot)> SwapValueEntries() =>
        _pfnByKey.Where(kv => IsSwapValue(kv.Value)).Select(kv => ((int)(kv.Key >> 40), kv.Key & ((1L << 40) - 1), (int)(-kv.Value - SwapValueBase)));

    /// <summary>
    /// folio_migrate_mapping's xas_store: the cached page <paramref name="index"/> of <paramref name="file"/> now lives
    /// in <paramref name="newPfn"/> (page migration; the old frame is the caller's to free).
    /// </summary>
    public void Replace(int file, long index, int newPfn)
    {
        ref long slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_pfnByKey, Key(file, index));
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) || slot < 0)
            throw new InvalidOperationException($"page {index} of file {file} is not cached");
        if (Dirty is not null)
        {
            Dirty.PageCacheKey(file, index);
            Dirty.Frame((int)slot);
            Dirty.Frame(newPfn);
        }
        slot = newPfn;
    }

    /// <summary>
    /// The xarray nodes' kernel memory (radix_tree_node, charged to a memory cgroup): set when the machine has cgroups.
    /// Each file's i_pages is modelled as the xarray it is: a node holds 64 slots (XA_CHUNK_SHIFT 6); a level-0 node
    /// exists while one of its slots holds an entry (a page, a shadow, a swap value), a node above while one of its
    /// children exists, and a level counts (has nodes) once the file's highest index needs it (an xarray holding only
    /// index 0 keeps it in xa_head, no node; index 1–63 one node; up to 4,095 two levels …). A node is charged when it is
    /// made (xas_alloc, to the group of the page being inserted) and uncharged when its last entry goes
    /// (xas_delete_node). A leaf whose entries are all shadows is on its group's shadow-node list and may be freed by the
    /// workingset shrinker (PageCache.ShadowNodes.cs, Workingset/ShadowNodeShrinker.cs). Simplified: the tree never
    /// loses a level (xas_shrink).
    /// </summary>
    internal IXaNodeAccount? Nodes;

    /// <summary>XA_CHUNK_SHIFT: 64 slots an xarray node.</summary>
    internal const int XaChunkShift = 6;
    private const int XaLevels = 7; // 6 bits a level cover the 40-bit page index

    // Per level: (file, index >> (6 × (level + 1))) → the node's occupied slots, the group charged for it (-1: none),
    // and for a leaf its shadow entries and its place on the shadow-node list.
    private readonly Dictionary<long, XaNode>[] _xaNodes = Enumerable.Range(0, XaLevels).Select(_ => new Dictionary<long, XaNode>()).ToArray();

    /// <summary>struct xa_node as EcsMem keeps it: count, the charged group, nr_values (shadows) and the list_lru link (0: off the list).</summary>
    private struct XaNode
    {
        public int Used;
        public int Group;
        public int Shadows;
        public int LruGen;
    }
    private readonly Dictionary<int, long> _xaMaxIndex = new();

    // (file, index) → the group its buffer_head is charged to (-1: none), for the pages that have one (CreateBuffers).
    private readonly Dictionary<long, int> _buffers = new();

    /// <summary>
    /// folio_create_buffers in a block filesystem's write_begin (ext4's ext4_da_write_begin → __block_write_begin_int;
    /// block_page_mkwrite likewise): a page without buffers gets one buffer_head a 4 KiB block, here one, charged to the
    /// page's memory cgroup (measured on Linux 6.18 with oracle/experiments/kmem: file-write-memcg's write leaves 3,739
    /// buffer_head objects of 104 bytes charged, one for each ext4 page-cache page it wrote and still cached; a page read
    /// in by readahead has none, ext4_mpage_readpages maps whole pages). They go when the page leaves the page cache
    /// (<see cref="Delete"/>: filemap_release_folio's try_to_free_buffers). Only with cgroups (<see cref="Nodes"/>): they
    /// matter here as the group's kernel memory. Simplified: a large folio's buffers are made page by page as its pages
    /// are written, not all at once.
    /// </summary>
    public void CreateBuffers(int file, long index, int pfn)
    {
        if (Nodes is null)
            return;
        ref int group = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_buffers, Key(file, index), out bool had);
        if (!had)
            group = Nodes.BufferAlloc(pfn);
    }

    /// <summary>Page-cache pages that have a buffer_head now (<see cref="CreateBuffers"/>).</summary>
    public int BufferHeadCount => _buffers.Count;

    /// <summary>xarray nodes of the page cache (radix_tree_node objects) that exist now.</summary>
    public int XaNodeCount { get; private set; }

    private static long NodeKey(int file, long index, int level) => ((long)file << 40) | (index >> (XaChunkShift * (level + 1)));

    /// <summary>The file and first page index of the leaf (level 0) node <paramref name="leafKey"/>, <see cref="NodeKey"/>'s inverse.</summary>
    private static (int File, long FirstIndex) LeafOf(long leafKey) => ((int)(leafKey >> 40), (leafKey & ((1L << 40) - 1)) << XaChunkShift);

    /// <summary>How many levels an xarray whose highest index is <paramref name="max"/> has (0: no node, the entry in xa_head).</summary>
    private static int Height(long max)
    {
        int h = 0;
        for (long reach = 1; max >= reach && h < XaLevels; reach <<= XaChunkShift)
            h++;
        return h;
    }

    /// <summary>xas_store into an empty slot: the nodes on its path that did not exist are made (xas_create), and a taller tree charges its new top levels (xas_expand).</summary>
    private void NodeEntryAdded(int file, long index, int pfn)
    {
        long max = _xaMaxIndex.TryGetValue(file, out long m) ? m : -1;
        int h0 = max < 0 ? 0 : Height(max), h1 = Height(Math.Max(max, index));
        if (index > max)
            _xaMaxIndex[file] = index;
        // xas_expand: the levels the tree grows by hold one node each above the old root (key 0) if it had entries.
        for (int level = h0; level < h1 && max >= 0; level++)
        {
            ref var n = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_xaNodes[level], NodeKey(file, 0, level));
            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref n) && n.Group == -2)
                n.Group = NodeCharge(pfn);
        }
        for (int level = 0; level < XaLevels; level++)
        {
            ref var n = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_xaNodes[level], NodeKey(file, index, level), out bool had);
            n.Used++;
            if (level == 0 && had)
                WorkingsetUpdateNode(NodeKey(file, index, 0), ref n); // a page joins a shadow-only leaf: off the list
            if (had)
                return;
            // A node of a level the tree does not reach yet is kept uncharged (-2) until xas_expand makes it real.
            n.Group = level < h1 ? NodeCharge(pfn) : -2;
        }
    }

    private int NodeCharge(int pfn)
    {
        XaNodeCount++;
        return Nodes!.NodeAlloc(pfn);
    }

    /// <summary>An entry leaves its slot for good (no shadow): each node left empty is deleted, up the tree.</summary>
    private void NodeEntryRemoved(int file, long index, int fromLevel = 0)
    {
        for (int level = fromLevel; level < XaLevels; level++)
        {
            long key = NodeKey(file, index, level);
            ref var n = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_xaNodes[level], key);
            if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref n))
                return;
            if (--n.Used > 0)
            {
                if (level == 0)
                    WorkingsetUpdateNode(key, ref n); // the page that left may leave only shadows behind
                return;
            }
            if (level == 0)
                WorkingsetUpdateNode(key, ref n); // an empty node leaves the list before it is freed
            int group = n.Group;
            _xaNodes[level].Remove(key);
            if (group != -2)
            {
                XaNodeCount--;
                if (group >= 0)
                    Nodes!.NodeFree(group);
            }
        }
        if (!_xaNodes[XaLevels - 1].ContainsKey(NodeKey(file, 0, XaLevels - 1)))
            _xaMaxIndex.Remove(file); // the file's xarray is empty again
    }

    /// <summary>Every cached (file, index, pfn), in key order (for invariant checks and reports).</summary>
    public IEnumerable<(int File, long Index, int Pfn)> Entries() =>
        _pfnByKey.Where(kv => kv.Value >= 0).OrderBy(kv => kv.Key).Select(kv => ((int)(kv.Key >> 40), kv.Key & ((1L << 40) - 1), (int)kv.Value));
}

/// <summary>The memory controller's side of the page cache's xarray nodes (radix_tree_node is SLAB_ACCOUNT) and of its pages' buffer heads.</summary>
internal interface IXaNodeAccount
{
    /// <summary>A node is made while <paramref name="pfn"/> is inserted: charges it, returns the group charged (-1: none).</summary>
    int NodeAlloc(int pfn);

    /// <summary>The node charged to <paramref name="group"/> is freed.</summary>
    void NodeFree(int group);

    /// <summary>The page <paramref name="pfn"/> gets its buffer_head: charges it, returns the group charged (-1: none).</summary>
    int BufferAlloc(int pfn);

    /// <summary>The buffer_head charged to <paramref name="group"/> is freed.</summary>
    void BufferFree(int group);
}
