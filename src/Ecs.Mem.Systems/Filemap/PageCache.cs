namespace EcsMem.Systems.Filemap;

/// <summary>
/// The page cache: (file, page index) → frame, shared by every process mapping the file (a file's
/// address_space i_pages in Linux). Looked up on faults only, never per access. A slot whose page reclaim
/// evicted keeps the page's workingset shadow entry (mm/workingset.c) in the same table, as a value below -1,
/// until the page is read back (filemap_add_folio hands it to workingset_refault) or invalidated.
/// </summary>
public sealed class PageCache
{
    /// <summary>No shadow entry: what <see cref="Add"/> returns for a slot that was empty.</summary>
    public const int NoShadow = -1;

    private readonly Dictionary<long, int> _pfnByKey = new();
    private int _count;

    /// <summary>The incremental checker's record of the tick's changes (null when checking is off).</summary>
    internal Kernel.DirtySet? Dirty;

    /// <summary>Pages currently cached.</summary>
    public int Count => _count;

    /// <summary>Shadow entries held (evicted pages not read back yet).</summary>
    public int Shadows => _pfnByKey.Count - _count;

    private static long Key(int file, long index)
    {
        if ((ulong)index >= 1UL << 40)
            throw new ArgumentOutOfRangeException(nameof(index), index, "file page index beyond 2^40 pages");
        return ((long)file << 40) | index;
    }

    /// <summary>find_get_page: the frame caching page <paramref name="index"/> of <paramref name="file"/>, or -1.</summary>
    public int Find(int file, long index) => _pfnByKey.TryGetValue(Key(file, index), out int pfn) && pfn >= 0 ? pfn : -1;

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
        ref int slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pfnByKey, Key(file, index), out bool exists);
        int shadow = NoShadow;
        if (exists)
        {
            if (slot >= 0)
                throw new InvalidOperationException($"page {index} of file {file} is already cached");
            shadow = -2 - slot;
        }
        slot = pfn;
        _count++;
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
        if (!_pfnByKey.TryGetValue(key, out int v) || v < 0)
            throw new InvalidOperationException($"page {index} of file {file} is not cached");
        _count--;
        if (shadow >= 0)
            _pfnByKey[key] = -2 - shadow;
        else
            _pfnByKey.Remove(key);
    }

    /// <summary>
    /// folio_migrate_mapping's xas_store: the cached page <paramref name="index"/> of <paramref name="file"/> now lives
    /// in <paramref name="newPfn"/> (page migration; the old frame is the caller's to free).
    /// </summary>
    public void Replace(int file, long index, int newPfn)
    {
        ref int slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_pfnByKey, Key(file, index));
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) || slot < 0)
            throw new InvalidOperationException($"page {index} of file {file} is not cached");
        if (Dirty is not null)
        {
            Dirty.PageCacheKey(file, index);
            Dirty.Frame(slot);
            Dirty.Frame(newPfn);
        }
        slot = newPfn;
    }

    /// <summary>Every cached (file, index, pfn), in key order (for invariant checks and reports).</summary>
    public IEnumerable<(int File, long Index, int Pfn)> Entries() =>
        _pfnByKey.Where(kv => kv.Value >= 0).OrderBy(kv => kv.Key).Select(kv => ((int)(kv.Key >> 40), kv.Key & ((1L << 40) - 1), kv.Value));
}
