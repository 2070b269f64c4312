namespace EcsMem.Systems.Filemap;

/// <summary>
/// The page cache: (file, page index) → frame, shared by every process mapping the file (a file's
/// address_space i_pages in Linux). Looked up on faults only, never per access.
/// </summary>
public sealed class PageCache
{
    private readonly Dictionary<long, int> _pfnByKey = new();

    /// <summary>The incremental checker's record of the tick's changes (null when checking is off).</summary>
    internal Kernel.DirtySet? Dirty;

    /// <summary>Pages currently cached.</summary>
    public int Count => _pfnByKey.Count;

    private static long Key(int file, long index)
    {
        if ((ulong)index >= 1UL << 40)
            throw new ArgumentOutOfRangeException(nameof(index), index, "file page index beyond 2^40 pages");
        return ((long)file << 40) | index;
    }

    /// <summary>find_get_page: the frame caching page <paramref name="index"/> of <paramref name="file"/>, or -1.</summary>
    public int Find(int file, long index) => _pfnByKey.TryGetValue(Key(file, index), out int pfn) ? pfn : -1;

    /// <summary>add_to_page_cache_lru (the LRU part is the replacement policy's business).</summary>
    public void Add(int file, long index, int pfn)
    {
        if (Dirty is not null)
        {
            Dirty.PageCacheKey(file, index);
            Dirty.Frame(pfn);
        }
        if (!_pfnByKey.TryAdd(Key(file, index), pfn))
            throw new InvalidOperationException($"page {index} of file {file} is already cached");
    }

    /// <summary>delete_from_page_cache: the page is dropped or its frame reclaimed.</summary>
    public void Delete(int file, long index)
    {
        if (Dirty is not null)
        {
            Dirty.PageCacheKey(file, index);
            Dirty.Frame(Find(file, index));
        }
        if (!_pfnByKey.Remove(Key(file, index)))
            throw new InvalidOperationException($"page {index} of file {file} is not cached");
    }

    /// <summary>Every cached (file, index, pfn), in key order (for invariant checks and reports).</summary>
    public IEnumerable<(int File, long Index, int Pfn)> Entries() =>
        _pfnByKey.OrderBy(kv => kv.Key).Select(kv => ((int)(kv.Key >> 40), kv.Key & ((1L << 40) - 1), kv.Value));
}
