using EcsMem.Components;
using EcsMem.Simulation;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Fault;

namespace EcsMem.Systems.Filemap;

/// <summary>
/// Open files and memfds: each process's descriptor table (fs/file.c), the open file descriptions behind it
/// (struct file, fs/file_table.c: one per open() or memfd_create(), shared by the descriptors and mappings made
/// from it, which is what vma_merge compares), and the shmem inodes memfd_create makes (mm/memfd.c, mm/shmem.c):
/// a page cache of its own, sized by ftruncate, whose pages are allocated zero-filled on first fault (shmem_fault,
/// no I/O), counted as shmem (RssShmem, Shmem), and freed when the inode goes — when no descriptor and no mapping
/// refers to it any more (the last fput: shmem_evict_inode truncates it). A mapping made with a file path and no
/// descriptor (the scenario's <c>file:</c>) uses the process's one implicit open of that path (open file 0).
/// MAP_SHARED anonymous areas map such an inode too (shmem_zero_setup). Shmem pages are on the anon LRU and go to
/// swap with their swap entries kept here, in the object (shmem_writeout, shmem_swapin_folio).
/// Files on tmpfs (a path under <see cref="TmpfsMount"/>) are shmem inodes too, named and kept while the run lasts
/// (nothing unlinks them). A fault at or past a memfd's or tmpfs file's size is SIGBUS (shmem_get_folio's i_size check).
/// Simplified: the scenario names the descriptor number each call returns (as strace shows it), a number already
/// open is closed first (as dup2 does); ftruncate applies to shmem files only (regular files' sizes are not
/// modelled); a tmpfs file's size is unbounded until an ftruncate gives it one (no O_CREAT/O_TRUNC, no write(2)).
/// </summary>
public sealed class OpenFiles(Kernel.Kernel k)
{
    /// <summary>Open file descriptions by id (struct file); id 0 stands for the implicit per-path open.</summary>
    private readonly List<int> _fileOf = [-1];

    /// <summary>(tgid, fd) → open file id.</summary>
    private readonly Dictionary<(int Tgid, int Fd), int> _fds = new();

    /// <summary>Live memfd inodes by file-table id: their size in bytes.</summary>
    private readonly Dictionary<int, long> _shmemSize = new();

    /// <summary>
    /// shmem swap entries (shmem_writeout: the swap entry takes the page's place in the inode's page cache, not a PTE):
    /// (file, index) → swap slot, and the slot's (file, index) back. Each holds one swap_map reference of its slot.
    /// </summary>
    private readonly Dictionary<long, int> _swapOf = new();
    private readonly Dictionary<int, long> _swapKey = new();

    /// <summary>tmpfs files (named shmem inodes): kept when nothing refers to them, as a file not unlinked.</summary>
    private readonly HashSet<int> _tmpfs = new();

    /// <summary>Per file id, what its path was found to be: 0 not looked at yet, 1 on tmpfs, 2 elsewhere.</summary>
    private readonly List<byte> _pathKind = new();

    /// <summary>The tmpfs mount a path must lie under to be a shmem file (the one every distribution mounts).</summary>
    public const string TmpfsMount = "/dev/shm/";

    private readonly List<int> _evict = new();
    private readonly List<(int Mm, ulong Va)> _maps = new();
    private int _memfds;

    /// <summary>True when <paramref name="fileId"/> is a live memfd, shmem object or tmpfs file (a shmem inode): its pages are shmem pages.</summary>
    public bool IsShmem(int fileId) => (_shmemSize.Count > 0 && _shmemSize.ContainsKey(fileId)) || NoteFile(fileId);

    /// <summary>
    /// A file a call names (open, mmap, fadvise): one under <see cref="TmpfsMount"/> becomes a tmpfs inode (shmem:
    /// shmem_get_inode on the tmpfs mount) of unbounded size, the first time it is seen.
    /// </summary>
    public bool NoteFile(int fileId)
    {
        if (fileId < 0 || fileId >= k.Files.Count)
            return false;
        while (_pathKind.Count <= fileId)
            _pathKind.Add(0);
        if (_pathKind[fileId] == 0)
        {
            bool tmpfs = k.Files[fileId].Path.StartsWith(TmpfsMount, StringComparison.Ordinal);
            _pathKind[fileId] = tmpfs ? (byte)1 : (byte)2;
            if (tmpfs)
            {
                _tmpfs.Add(fileId);
                _shmemSize[fileId] = long.MaxValue;
            }
        }

        return _pathKind[fileId] == 1;
    }

    /// <summary>
    /// shmem_get_folio_gfp's size check for shmem_fault (SGP_CACHE): page <paramref name="index"/> lies at or past the
    /// end of the memfd's or tmpfs file's size (i_size), so the fault is VM_FAULT_SIGBUS.
    /// </summary>
    public bool ShmemPastEof(int file, long index) =>
        _shmemSize.Count > 0 && _shmemSize.TryGetValue(file, out long size) && size != long.MaxValue
        && index >= (long)(((ulong)size + Pte.PageSize - 1) >> Pte.PageShift);

    /// <summary>Pages of shmem objects that are out on swap (their swap entries in the page cache).</summary>
    public int ShmemSwapped => _swapOf.Count;

    private static long SwapKey(int file, long index) => ((long)file << 40) | index;

    /// <summary>The swap slot holding page <paramref name="index"/> of shmem file <paramref name="file"/>, or 0 (none).</summary>
    public int ShmemSwapSlot(int file, long index) =>
        _swapOf.Count > 0 && _swapOf.TryGetValue(SwapKey(file, index), out int slot) ? slot : 0;

    /// <summary>True when a shmem object's page cache holds <paramref name="slot"/>'s swap entry (one swap_map reference).</summary>
    public bool IsShmemSwapSlot(int slot) => _swapKey.Count > 0 && _swapKey.ContainsKey(slot);

    /// <summary>
    /// shmem_swap_usage over the pages [<paramref name="first"/>, <paramref name="end"/>) of <paramref name="file"/>:
    /// how many are out on swap (smaps' Swap of a shmem mapping).
    /// </summary>
    public long ShmemSwappedIn(int file, long first, long end)
    {
        if (_swapOf.Count == 0)
            return 0;
        long n = 0;
        foreach (long key in _swapOf.Keys)
        {
            long index = key & ((1L << 40) - 1);
            if ((int)(key >> 40) == file && index >= first && index < end)
                n++;
        }

        return n;
    }

    /// <summary>
    /// shmem_writeout for the shmem page in <paramref name="pfn"/>, reclaim's victim, given swap slot
    /// <paramref name="slot"/> (folio_alloc_swap: SWAP_HAS_CACHE set): the swap entry takes the page's place in the
    /// object's page cache (one more swap_map reference, swap_shmem_alloc), and the page moves to the swap cache
    /// (shmem_delete_from_page_cache), where the swap write finds it and reclaim frees it.
    /// </summary>
    public void ShmemWriteout(int pfn, int slot)
    {
        ref Frame f = ref k.Zone.Frames[pfn];
        int file = f.Mapping;
        long index = f.Index;
        k.PageCache.Delete(file, index);
        long key = SwapKey(file, index);
        _swapOf[key] = slot;
        _swapKey[slot] = key;
        k.Swap.SwapDuplicate(slot);
        k.SwapCache.Add(slot, pfn);
        f.Flags |= FrameFlags.SwapCache;
        f.Index = slot; // page_private: the swap entry while in the swap cache
        f.Mapping = -1;
    }

    /// <summary>
    /// shmem_swapin_folio once the page of <paramref name="slot"/> is in <paramref name="pfn"/> (a swap-cache hit, or
    /// the frame its read fills): it goes back into the object's page cache at (<paramref name="file"/>,
    /// <paramref name="index"/>), dirty (its swap copy goes: delete_from_swap_cache and swap_free), a shmem page again.
    /// </summary>
    public void ShmemSwapin(int pfn, int file, long index, int slot, bool inSwapCache)
    {
        k.Dirty?.Frame(pfn);
        ref Frame f = ref k.Zone.Frames[pfn];
        // folio_wait_writeback: a page still being written out (shmem_writeout's write in flight) is taken back only
        // once its write completes; the faulting task sleeps until then (a minor fault: the page was in memory).
        if ((f.Flags & FrameFlags.Writeback) != 0)
            k.Writeback?.WaitOnWriteback(pfn);
        if (inSwapCache)
        {
            k.SwapCache.Delete(slot);
            k.Swap.SetCached(slot, false);
        }

        f.Flags = (f.Flags & ~(FrameFlags.SwapCache | FrameFlags.Anon)) | FrameFlags.Shmem | FrameFlags.SwapBacked | FrameFlags.Dirty;
        f.Mapping = file;
        f.Index = index;
        k.PageCache.Add(file, index, pfn);
        DropSwapEntry(file, index);
    }

    /// <summary>The object's swap entry for (<paramref name="file"/>, <paramref name="index"/>) goes (swap_free of its reference).</summary>
    private void DropSwapEntry(int file, long index)
    {
        long key = SwapKey(file, index);
        if (!_swapOf.Remove(key, out int slot))
            return;
        _swapKey.Remove(slot);
        k.Swap.SwapFree(slot);
    }

    /// <summary>memfds and MAP_SHARED anonymous objects alive now.</summary>
    public int ShmemFiles => _shmemSize.Count;

    /// <summary>The file behind descriptor <paramref name="fd"/> of thread group <paramref name="tgid"/>: false (EBADF) if not open.</summary>
    public bool Lookup(int tgid, int fd, out int fileId, out int openFile)
    {
        if (_fds.TryGetValue((tgid, fd), out openFile))
        {
            fileId = _fileOf[openFile];
            return true;
        }

        fileId = -1;
        return false;
    }

    /// <summary>openat(2): a new open file description of <paramref name="fileId"/> at descriptor <paramref name="fd"/>.</summary>
    public long Open(int tgid, int fd, int fileId)
    {
        NoteFile(fileId);
        Install(tgid, fd, fileId);
        return fd;
    }

    /// <summary>
    /// memfd_create(2) (mm/memfd.c): a new shmem inode of size 0 named "/memfd:NAME (deleted)" in /proc/pid/maps (its
    /// dentry is unlinked from the start), opened read-write at descriptor <paramref name="fd"/>. EINVAL for a name
    /// longer than 249 bytes (MFD_NAME_MAX_LEN).
    /// </summary>
    public long MemfdCreate(int tgid, int fd, string name)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(name) > 249)
            return -Errno.EINVAL;
        // shmem inodes live on the internal shm_mnt (device 00:01); each gets its own inode number.
        int fileId = k.Files.Intern(new MappedFile("/memfd:" + name + " (deleted)", 0, 1, (ulong)(++_memfds)));
        _shmemSize[fileId] = 0;
        Install(tgid, fd, fileId);
        return fd;
    }

    /// <summary>
    /// shmem_zero_setup's object (<see cref="Vma.ShmemId"/>) behind a MAP_SHARED|MAP_ANONYMOUS area, file
    /// <paramref name="fileId"/>: a shmem inode like a memfd's, known here from its first fault on; it is evicted with
    /// its pages when no VMA maps it any more (it has no descriptor). Its size is the mapping's, not checked.
    /// </summary>
    public void ShmemZeroSetup(int fileId) => _shmemSize.TryAdd(fileId, long.MaxValue);

    /// <summary>
    /// ftruncate(2) of a memfd or tmpfs file (shmem_setattr): sets its size; shrinking drops the pages past the new
    /// end, unmapping them from every process first (truncate_pagecache). EBADF for a descriptor not open, EINVAL for
    /// a negative length or a file that is not shmem (regular files' sizes are not modelled).
    /// </summary>
    public long Ftruncate(int tgid, int fd, long length)
    {
        if (!Lookup(tgid, fd, out int fileId, out _))
            return -Errno.EBADF;
        if (length < 0 || !_shmemSize.ContainsKey(fileId))
            return -Errno.EINVAL;
        long old = _shmemSize[fileId];
        _shmemSize[fileId] = length;
        // A tmpfs file's size was unknown (unbounded): whatever it held past the new end goes.
        if (length < old)
            Truncate(fileId, (length + (long)Pte.PageSize - 1) >> Pte.PageShift);
        return 0;
    }

    /// <summary>close(2): EBADF if <paramref name="fd"/> is not open. A memfd nothing else refers to is freed.</summary>
    public long Close(int tgid, int fd)
    {
        if (!_fds.Remove((tgid, fd)))
            return -Errno.EBADF;
        ReleaseUnused();
        return 0;
    }

    /// <summary>exit_files: the thread group's descriptors close when its last task exits.</summary>
    public void CloseAll(int tgid)
    {
        if (_fds.Count > 0)
        {
            foreach (var key in _fds.Keys.Where(x => x.Tgid == tgid).ToList())
                _fds.Remove(key);
        }

        // exit_mmap dropped the mm's mappings: a MAP_SHARED anonymous object only it mapped goes too.
        ReleaseUnused();
    }

    /// <summary>fork's dup_fd: the child gets the parent's descriptors, sharing their open file descriptions.</summary>
    public void DupFds(int parentTgid, int childTgid)
    {
        if (_fds.Count == 0)
            return;
        foreach (var (key, open) in _fds.Where(x => x.Key.Tgid == parentTgid).ToList())
            _fds[(childTgid, key.Fd)] = open;
    }

    /// <summary>
    /// The last fput of a memfd: a shmem inode no descriptor holds and no VMA maps any more is evicted, its pages
    /// freed (shmem_evict_inode → shmem_truncate_range). Called after the calls that drop references (munmap,
    /// mremap, close, exit).
    /// </summary>
    public void ReleaseUnused()
    {
        if (_shmemSize.Count == 0)
            return;
        _evict.Clear();
        foreach (int fileId in _shmemSize.Keys)
        {
            if (!_tmpfs.Contains(fileId) && !Referenced(fileId))
                _evict.Add(fileId);
        }

        foreach (int fileId in _evict)
        {
            Truncate(fileId, 0);
            _shmemSize.Remove(fileId);
        }
    }

    /// <summary>A descriptor or a VMA of a live address space refers to the inode.</summary>
    private bool Referenced(int fileId)
    {
        foreach (var (_, open) in _fds)
        {
            if (_fileOf[open] == fileId)
                return true;
        }

        foreach (var mm in k.Tasks.LiveMms)
        {
            if (mm.Mm.Struct.MmUsers <= 0)
                continue;
            foreach (ref readonly Vma v in mm.Mm.Vmas)
            {
                if (v.FileId == fileId && (v.Kind == VmaKind.File || v.ShmemId != 0))
                    return true;
            }
        }

        return false;
    }

    /// <summary>shmem_truncate_range from page <paramref name="first"/>: unmaps (unmap_mapping_range) and frees the pages.</summary>
    private void Truncate(int fileId, long first)
    {
        // shmem_undo_range: the swap entries past the new end go too (free_swap_and_cache).
        if (_swapOf.Count > 0)
        {
            foreach (long key in _swapOf.Keys.Where(x => (int)(x >> 40) == fileId && (x & ((1L << 40) - 1)) >= first).ToList())
            {
                int slot = _swapOf[key];
                DropSwapEntry(fileId, key & ((1L << 40) - 1));
                k.Memory.ReleaseSwapCacheIfOrphan(slot);
            }
        }


        var pages = k.PageCache.Entries().Where(e => e.File == fileId && e.Index >= first).ToList();
        foreach (var (file, index, pfn) in pages)
        {
            k.Rmap.CopyTo(pfn, _maps);
            foreach (var (mmId, va) in _maps)
            {
                var mm = k.Tasks.MmById(mmId);
                if (mm is not null)
                    k.Memory.ZapRange(mm, va, va + Pte.PageSize);
            }

            if (k.Zone.Pins[pfn] > 0 || k.Zone.Frames[pfn].MapCount > 0)
                continue; // a fault in flight still holds it; its install finds the page gone from the cache
            k.PageCache.Delete(file, index);
            k.Zone.FreeFrame(pfn, k.Tlb.CurrentCpu);
        }
    }

    /// <summary>
    /// shmem_get_folio for a fault that found no page (the allocator granted <paramref name="rec"/>'s frame): the new
    /// page is zero-filled and added to the memfd's page cache, no I/O (a minor fault); a private write then copies it
    /// (do_cow_fault). If another fault of the batch added the page first, the frame goes back and that page is used.
    /// </summary>
    public void ShmemFault(SimEnvironment env, ref FaultRecord rec)
    {
        int page = k.PageCache.Find(rec.File, rec.FileIndex);
        if (page < 0 && rec.SwapSlot > 0 && k.SwapCache.Lookup(rec.SwapSlot) is int sc and >= 0)
        {
            // Another fault's swap readahead brought the page into the swap cache meanwhile: take it from there.
            ShmemSwapin(sc, rec.File, rec.FileIndex, rec.SwapSlot, inSwapCache: true);
            page = sc;
        }

        if (page >= 0)
        {
            k.Zone.UnpinFrame(rec.Pfn);
            k.Zone.FreeFrame(rec.Pfn, rec.Cpu);
            rec.Pfn = page;
            k.Zone.PinFrame(page);
            if (rec.SwapSlot > 0)
            {
                // It was being read back by another fault: a minor fault once that read completes.
                rec.SwapSlot = 0;
                rec.Major = false;
                if ((k.Zone.Frames[page].Flags & FrameFlags.Locked) != 0 && !rec.CopyAfterRead)
                {
                    rec.Class = FaultClass.FileCached;
                    k.PageWaits.WaitOnPageLocked(page, new AllocRequest(rec, NeedsFrame: false));
                    return;
                }
            }
        }
        else if (rec.SwapSlot > 0)
        {
            // shmem_swapin_folio → shmem_swapin_cluster: the page and its swap-offset neighbours (page-cluster) are
            // read; the faulting page goes to the page-cache insert and the disk (a major fault).
            k.SwapReadahead.ClearReadahead(rec.Pfn);
            k.SwapReadahead.ClusterReadahead(env, rec);
            env.Work<PageCacheInsertRequest>().Add(new PageCacheInsertRequest(rec));
            return;
        }
        else
        {
            ref Frame f = ref k.Zone.Frames[rec.Pfn];
            f.Flags |= FrameFlags.Shmem | FrameFlags.SwapBacked;
            f.Mapping = rec.File;
            f.Index = rec.FileIndex;
            f.ContentToken = k.Zone.NextContentToken();
            k.PageCache.Add(rec.File, rec.FileIndex, rec.Pfn);
            // shmem_add_to_page_cache + folio_add_lru: a swap-backed page, on the anon LRU lists (folio_is_file_lru false).
            k.Zone.LruAdd(rec.Pfn, PageAlloc.Zone.FileKey(rec.File, rec.FileIndex));
        }

        if (rec.CopyAfterRead)
        {
            rec.CopyAfterRead = false;
            rec.Class = FaultClass.CowCopy;
            rec.SourcePfn = rec.Pfn;
            rec.Pfn = -1;
            // Called from the allocator's own pass: the copy's frame comes at its next pass.
            k.Zone.Stalled.Add(new AllocRequest(rec, NeedsFrame: true));
            return;
        }

        rec.Class = FaultClass.FileCached;
        env.Work<PteInstall>().Add(new PteInstall(rec));
    }

    private void Install(int tgid, int fd, int fileId)
    {
        _fileOf.Add(fileId);
        _fds[(tgid, fd)] = _fileOf.Count - 1;
        ReleaseUnused(); // a descriptor number reused drops what it held (dup2's implicit close)
    }
}
