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
/// swap with their swap entries in the object's own page-cache slots (shmem_writeout, shmem_swapin_folio), counted
/// per object (info-&gt;swapped).
/// Files on tmpfs (a path under <see cref="TmpfsMount"/>) are shmem inodes too, named by a dentry until unlinked;
/// open(O_CREAT) makes one, write(2) fills it (shmem_write_begin), read(2) reads it (holes as zeroes), fallocate
/// allocates or punches it, unlink drops its name (the inode lives while open or mapped). A fault at or past a
/// memfd's or tmpfs file's size is SIGBUS (shmem_get_folio's i_size check).
/// Simplified: the scenario names the descriptor number each call returns (as strace shows it), a number already
/// open is closed first (as dup2 does); read and fallocate apply to shmem files only, write, ftruncate, O_TRUNC and
/// fsync to regular files too (their page cache and i_size; contents are not modelled); a tmpfs path the scenario uses first without O_CREAT exists from
/// the start with an unbounded size (as every regular file a scenario names exists), until an ftruncate sizes it.
/// </summary>
public sealed class OpenFiles(Kernel.Kernel k)
{
    /// <summary>Open file descriptions by id (struct file); id 0 stands for the implicit per-path open.</summary>
    private readonly List<int> _fileOf = [-1];

    /// <summary>(tgid, fd) → open file id.</summary>
    private readonly Dictionary<(int Tgid, int Fd), int> _fds = new();

    /// <summary>Per open file description: its access mode (O_RDONLY 0, O_WRONLY 1, O_RDWR 2) and file position (f_pos).</summary>
    private readonly List<byte> _modeOf = [2];
    private readonly List<long> _posOf = [0];

    /// <summary>Per open file description: opened with O_APPEND (every write goes to the end of the file).</summary>
    private readonly List<bool> _appendOf = [false];

    /// <summary>
    /// i_size of the regular (non-shmem) files whose size EcsMem knows: made or truncated by open(O_CREAT|O_TRUNC),
    /// grown by write(2), set by ftruncate. A regular file the scenario only maps has no entry: its size is as far as
    /// a mapping of it has reached (<see cref="Readahead.FilePages"/>).
    /// </summary>
    private readonly Dictionary<int, long> _regularSize = new();

    /// <summary>ext4's s_maxbytes with 4 KiB blocks (ext4_max_size for extent-mapped files: 2^32 blocks less one).</summary>
    private const long Ext4MaxFileSize = ((1L << 32) - 1) * (long)Pte.PageSize;

    /// <summary>
    /// The inode side of a shmem file (shmem_inode_info and the inode's i_size): its size in bytes
    /// (<see cref="long.MaxValue"/>: unbounded, a MAP_SHARED anonymous object or a tmpfs file never sized) and
    /// info-&gt;swapped, the pages of it out on swap (their swap entries in its page-cache slots).
    /// </summary>
    private sealed class ShmemInode
    {
        public long Size;
        public long Swapped;
        /// <summary>A tmpfs file (it has a name): kept while its dentry lives, even with nothing referring to it.</summary>
        public bool Tmpfs;
        /// <summary>The dentry's path while linked (null once unlinked, or for memfds and anonymous objects).</summary>
        public string? Path;
    }

    /// <summary>Live shmem inodes by file-table id.</summary>
    private readonly Dictionary<int, ShmemInode> _shmem = new();

    /// <summary>The tmpfs mount's dentries: path → the inode's file id (d_lookup).</summary>
    private readonly Dictionary<string, int> _dentries = new(StringComparer.Ordinal);

    /// <summary>Per file id, what its path was found to be: 0 not looked at yet, 1 a tmpfs path, 2 elsewhere, 3 a tmpfs inode made by open(O_CREAT) after its name was reused.</summary>
    private readonly List<byte> _pathKind = new();

    /// <summary>The tmpfs path a scenario's file id names (its inode may have been unlinked and the path reused).</summary>
    private readonly Dictionary<int, string> _tmpfsName = new();

    /// <summary>The tmpfs mount a path must lie under to be a shmem file (the one every distribution mounts).</summary>
    public const string TmpfsMount = "/dev/shm/";

    private readonly List<int> _evict = new();
    private readonly List<(int Mm, ulong Va)> _maps = new();
    private readonly List<(long Index, int Slot)> _swapEntries = new();
    private int _memfds;
    private ulong _tmpfsInodes;

    /// <summary>True when <paramref name="fileId"/> is a live memfd, shmem object or tmpfs file (a shmem inode): its pages are shmem pages.</summary>
    public bool IsShmem(int fileId) => (_shmem.Count > 0 && _shmem.ContainsKey(fileId)) || NoteFile(fileId);

    /// <summary>
    /// A file a call names (open, mmap, fadvise): one under <see cref="TmpfsMount"/> is a tmpfs path. Unless the first
    /// call naming it creates it (open with O_CREAT: <paramref name="creating"/>), it existed from the start: a tmpfs
    /// inode (shmem_get_inode on the tmpfs mount) of unbounded size. True for a tmpfs path or inode.
    /// </summary>
    public bool NoteFile(int fileId, bool creating = false)
    {
        if (fileId < 0 || fileId >= k.Files.Count)
            return false;
        while (_pathKind.Count <= fileId)
            _pathKind.Add(0);
        if (_pathKind[fileId] == 0)
        {
            string path = k.Files[fileId].Path;
            bool tmpfs = path.StartsWith(TmpfsMount, StringComparison.Ordinal);
            _pathKind[fileId] = tmpfs ? (byte)1 : (byte)2;
            if (tmpfs)
            {
                _tmpfsName[fileId] = path;
                if (!creating && !_dentries.ContainsKey(path))
                    CreateTmpfsInode(fileId, path, long.MaxValue);
            }
        }

        return _pathKind[fileId] is 1 or 3;
    }

    /// <summary>The path a call's file id names (a tmpfs path as the scenario wrote it, even once unlinked), or null.</summary>
    public string? NameOf(int fileId) =>
        _tmpfsName.TryGetValue(fileId, out string? path) ? path : fileId >= 0 && fileId < k.Files.Count ? k.Files[fileId].Path : null;

    /// <summary>shmem_mknod on the tmpfs mount: a new inode of <paramref name="size"/> bytes, its dentry <paramref name="path"/>.</summary>
    private void CreateTmpfsInode(int fileId, string path, long size)
    {
        _shmem[fileId] = new ShmemInode { Size = size, Tmpfs = true, Path = path };
        _dentries[path] = fileId;
    }

    /// <summary>
    /// The inode a call's file currently names (path lookup): for a tmpfs path its dentry's inode, or -ENOENT when
    /// it was unlinked (and not created again); any other file is itself.
    /// </summary>
    public int ResolvePath(int fileId)
    {
        if (!NoteFile(fileId) || !_tmpfsName.TryGetValue(fileId, out string? path))
            return fileId;
        return _dentries.TryGetValue(path, out int inode) ? inode : -Errno.ENOENT;
    }

    /// <summary>
    /// shmem_get_folio_gfp's size check for shmem_fault (SGP_CACHE): page <paramref name="index"/> lies at or past the
    /// end of the memfd's or tmpfs file's size (i_size), so the fault is VM_FAULT_SIGBUS.
    /// </summary>
    public bool ShmemPastEof(int file, long index) =>
        _shmem.Count > 0 && _shmem.TryGetValue(file, out ShmemInode? info) && info.Size != long.MaxValue
        && index >= PagesOf(info.Size);

    private static long PagesOf(long bytes) => (long)(((ulong)bytes + Pte.PageSize - 1) >> Pte.PageShift);

    /// <summary>Pages of shmem objects that are out on swap (the swap entries in their page-cache slots).</summary>
    public int ShmemSwapped => k.PageCache.SwapEntries;

    /// <summary>info-&gt;swapped of shmem file <paramref name="file"/>: its pages out on swap (0 for any other file).</summary>
    public long ShmemSwappedPages(int file) => _shmem.TryGetValue(file, out ShmemInode? info) ? info.Swapped : 0;

    /// <summary>The size (i_size) of shmem file <paramref name="file"/> in bytes (<see cref="long.MaxValue"/>: unbounded), or -1 when it is not one.</summary>
    public long ShmemSize(int file) => _shmem.TryGetValue(file, out ShmemInode? info) ? info.Size : -1;

    /// <summary>The swap slot holding page <paramref name="index"/> of shmem file <paramref name="file"/> (its slot's swap entry), or 0 (none).</summary>
    public int ShmemSwapSlot(int file, long index) => k.PageCache.SwapEntry(file, index);

    /// <summary>
    /// shmem_swap_usage over the pages [<paramref name="first"/>, <paramref name="end"/>) of <paramref name="file"/>:
    /// how many are out on swap (smaps' Swap of a shmem mapping). A range covering the whole file is info-&gt;swapped;
    /// a part of it is counted over its slots (shmem_partial_swap_usage).
    /// </summary>
    public long ShmemSwappedIn(int file, long first, long end)
    {
        if (!_shmem.TryGetValue(file, out ShmemInode? info) || info.Swapped == 0)
            return 0;
        if (first == 0 && info.Size != long.MaxValue && end >= PagesOf(info.Size))
            return info.Swapped;
        return k.PageCache.CountSwapEntries(file, first, end);
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
        // shmem_recalc_inode(inode, 0, nr_pages) and swap_shmem_alloc: the object counts the page as swapped and
        // its slot holds the entry (one swap_map reference) where the page was (shmem_delete_from_page_cache).
        k.PageCache.ReplaceWithSwapEntry(file, index, slot);
        if (_shmem.TryGetValue(file, out ShmemInode? info))
            info.Swapped++;
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
        // shmem_add_to_page_cache(expected = the swap entry), then shmem_recalc_inode(-1) and swap_free_nr. A slot
        // truncation emptied meanwhile takes the page as a new one (the swap reference went with the entry).
        if (k.PageCache.ReplaceSwapEntry(file, index, slot, pfn))
        {
            if (_shmem.TryGetValue(file, out ShmemInode? info))
                info.Swapped--;
            k.Swap.SwapFree(slot);
        }
        else
        {
            k.PageCache.Add(file, index, pfn);
        }
    }

    /// <summary>
    /// shmem_free_swap for the swap entry of <paramref name="slot"/> in page <paramref name="index"/> of
    /// <paramref name="file"/>: the slot empties, the object counts one page less swapped, the swap reference goes
    /// (free_swap_and_cache: a swap-cache page nothing else holds is dropped too).
    /// </summary>
    private void FreeSwap(int file, long index, int slot)
    {
        if (!k.PageCache.RemoveSwapEntry(file, index, slot))
            return;
        if (_shmem.TryGetValue(file, out ShmemInode? info))
            info.Swapped--;
        k.Swap.SwapFree(slot);
        k.Memory.ReleaseSwapCacheIfOrphan(slot);
    }

    /// <summary>MAX_LFS_FILESIZE on 64-bit, tmpfs's s_maxbytes; the page cache's index also stops at 2^40 pages here.</summary>
    private const long MaxFileSize = (1L << 40) * (long)Pte.PageSize;

    /// <summary>
    /// write(2) (<paramref name="offset"/> &lt; 0: at the file position, which moves) or pwrite64 to a memfd, tmpfs file
    /// or regular file, as its system call begins: the checks (generic_write_checks: O_APPEND writes at i_size), then
    /// generic_perform_write's loop is left to <see cref="CallStep"/>, one page a step in the writer's simulated time
    /// (<see cref="InProgress"/> comes back; the result reaches <see cref="CallReturned"/> when the last page is written).
    /// Returns at once the errors: EBADF for a descriptor not open for writing, EINVAL for a negative pwrite offset,
    /// EFBIG past s_maxbytes (MAX_LFS_FILESIZE for shmem, ext4's 16 TiB for a regular file); and 0 for a write of nothing.
    /// </summary>
    public long Write(SimEnvironment env, EcsMem.Ecs.Entity who, int mmId, int cpu, int tgid, int fd, long offset, long length, bool zero = false, long piece = 0)
    {
        if (!Lookup(tgid, fd, out int fileId, out int open) || _modeOf[open] == 0)
            return -Errno.EBADF;
        bool positional = offset >= 0;
        bool shmem = _shmem.ContainsKey(fileId);
        if (length < 0 || (!positional && offset != -1) || (!shmem && !IsRegular(fileId)))
            return -Errno.EINVAL;
        long pos = positional ? offset : _posOf[open];
        // generic_write_checks: O_APPEND writes at i_size, pwrite too (Linux ignores pwrite's offset then: pwrite(2) BUGS).
        if (_appendOf[open])
            pos = shmem ? Math.Min(_shmem[fileId].Size, MaxFileSize) : RegularSize(fileId);
        if (length == 0)
            return 0;
        // generic_write_check_limits: nothing at or past s_maxbytes, a write reaching past it is cut there.
        long maxBytes = shmem ? MaxFileSize : Ext4MaxFileSize;
        if (pos >= maxBytes)
            return -Errno.EFBIG;
        long count = Math.Min(length, maxBytes - pos);
        _calls.Add(new PendingCall(who, tgid, mmId, fileId, open, read: false, positional, pos, count) { Zero = zero, Piece = piece > 0 ? piece : count });
        return InProgress;
    }

    /// <summary>
    /// read(2) (<paramref name="offset"/> &lt; 0: at the file position, which moves) or pread64 of a memfd or tmpfs
    /// file, as its system call begins: shmem_file_read_iter's loop is left to <see cref="CallStep"/>, one page a step
    /// (<see cref="InProgress"/> comes back, the result reaches <see cref="CallReturned"/>). Returns at once EBADF for a
    /// descriptor not open for reading, EINVAL for a negative pread offset or a file that is not shmem, and 0 for a read
    /// of nothing or from at or past the end.
    /// </summary>
    public long Read(SimEnvironment env, EcsMem.Ecs.Entity who, int mmId, int cpu, int tgid, int fd, long offset, long length)
    {
        if (!Lookup(tgid, fd, out int fileId, out int open) || _modeOf[open] == 1)
            return -Errno.EBADF;
        bool positional = offset >= 0;
        if (length < 0 || (!positional && offset != -1) || !_shmem.TryGetValue(fileId, out ShmemInode? info))
            return -Errno.EINVAL;
        long pos = positional ? offset : _posOf[open];
        long size = Math.Min(info.Size, MaxFileSize);
        if (length == 0 || pos >= size)
            return 0;
        _calls.Add(new PendingCall(who, tgid, mmId, fileId, open, read: true, positional, pos, length));
        return InProgress;
    }

    /// <summary><see cref="Write"/>'s and <see cref="Read"/>'s answer for a call that goes on in simulated time (its task steps it).</summary>
    public const long InProgress = long.MinValue;

    /// <summary>A write(2) or read(2) in progress: its task, file, open file description, where it started and how far it got.</summary>
    private sealed class PendingCall(EcsMem.Ecs.Entity task, int tgid, int mmId, int file, int open, bool read, bool positional, long pos, long count)
    {
        public readonly EcsMem.Ecs.Entity Task = task;
        public readonly int Tgid = tgid, MmId = mmId, File = file, Open = open;
        public readonly bool Read = read, Positional = positional;
        public readonly long Pos = pos, Count = count;
        public long Done;

        /// <summary>The page-cache index below which the pages of the last large folio write_begin allocated for this call lie (their copy costs a new page's).</summary>
        public long NewUntil = -1;

        /// <summary>A write whose buffer holds only zeros (the timeline's <c>zero: true</c>).</summary>
        public bool Zero;

        /// <summary>
        /// machine.charge_after_alloc: the page allocated for page <see cref="HeldIndex"/> whose charge failed (-1: none),
        /// held pinned and uncharged through the reclaim the charge made; the call's next step charges it.
        /// </summary>
        public int HeldPage = -1;

        /// <summary>The page-cache index <see cref="HeldPage"/> was allocated for.</summary>
        public long HeldIndex = -1;

        /// <summary>The bytes of each pwrite64 the write is made of (the timeline's <c>piece</c>; the whole count: one call).</summary>
        public long Piece;

        /// <summary>The bytes left in the pwrite64 piece the write has reached.</summary>
        public long PieceLeft => Math.Min(Count - Done, Piece - Done % Piece);
    }

    private readonly List<PendingCall> _calls = new();

    /// <summary>True while some task is inside a write(2) or read(2) of a shmem file (its pages are done by <see cref="CallStep"/>).</summary>
    public bool CallsInProgress => _calls.Count > 0;

    /// <summary>Whether <paramref name="task"/> is inside a write(2) or read(2) of a shmem file.</summary>
    public bool InCall(EcsMem.Ecs.Entity task) => CallOf(task) >= 0;

    /// <summary>The index of <paramref name="task"/>'s call in progress, or -1 (a loop: no closure per step).</summary>
    private int CallOf(EcsMem.Ecs.Entity task)
    {
        for (int i = 0; i < _calls.Count; i++)
            if (_calls[i].Task == task)
                return i;
        return -1;
    }

    /// <summary>Called when a write(2) or read(2) returns, with its task and result (the bytes written or read).</summary>
    public Action<SimEnvironment, EcsMem.Ecs.Entity, long>? CallReturned { get; set; }

    /// <summary>
    /// One step of <paramref name="who"/>'s write(2) or read(2), running on <paramref name="cpu"/>: its next page. A
    /// write (generic_perform_write) gets the page with shmem_write_begin (shmem_get_folio_gfp, SGP_WRITE): a page in the
    /// cache is written over, one in the swap cache is taken back; a hole (or a page out on swap) needs a new page — the
    /// page allocator first (below the min watermark the writer reclaims directly, allocstall), then mem_cgroup_charge
    /// of the writer's group (the swap entry's for a page out on swap); when either fails the task reclaims
    /// (try_to_free_pages, or try_to_free_mem_cgroup_pages of the group at its memory.max) and the page is tried again
    /// at its next step, so the group stands above its limit by no page (the fault path's stall and retries,
    /// MAX_RECLAIM_RETRIES then the group's OOM killer). Then copy_page_from_iter and shmem_write_end: the page is dirty,
    /// i_size grows to cover it. A read (shmem_file_read_iter, SGP_READ) stops at i_size; a cached page is read
    /// (folio_mark_accessed), one out on swap is read back first as a write's is (allocated and charged, the same
    /// stall), a hole reads as zeroes (ZERO_PAGE) without allocating. Each page takes the task's CPU
    /// <see cref="Timing.TimingModel.ShmemWriteNewPageCycles"/> when it was allocated for the call, else
    /// <see cref="Timing.TimingModel.ShmemCopyPageCycles"/>. The call returns after its last page. False when the task
    /// has no call in progress. Simplified: huge=never (tmpfs's default: order-0 pages only); a page read back from swap
    /// costs no disk time; the task is not preempted inside the call (no cond_resched).
    /// </summary>
    public bool CallStep(SimEnvironment env, EcsMem.Ecs.Entity who, int cpu, ref ProcessStats stats)
    {
        int i = CallOf(who);
        if (i < 0)
            return false;
        PendingCall c = _calls[i];
        if (!c.Read && !_shmem.ContainsKey(c.File))
        {
            if (c.Done < c.Count && FileWriteStep(env, c, cpu, ref stats))
                return true;
        }
        else if (c.Done < c.Count && _shmem.TryGetValue(c.File, out ShmemInode? info))
        {
            long at = c.Pos + c.Done;
            long index = at >> Pte.PageShift;
            long chunk = Math.Min(c.Count - c.Done, (long)Pte.PageSize - (at & ((long)Pte.PageSize - 1)));
            // shmem_file_read_iter reads i_size at each page: nothing at or past it.
            long end = c.Read ? Math.Min(info.Size, MaxFileSize) : long.MaxValue;
            if (c.Read)
                chunk = Math.Min(chunk, Math.Max(0, end - at));
            if (chunk > 0)
            {
                int pfn = GetPage(env, c, index, cpu, out bool added, out bool hole);
                if (pfn == Stalled)
                    return true; // the task reclaims (queued for this tick); the same page is tried at its next step
                if (pfn >= 0 && c.Read)
                {
                    k.Dirty?.Frame(pfn);
                    k.Zone.Frames[pfn].Flags |= FrameFlags.Referenced; // folio_mark_accessed's first step
                }
                else if (pfn >= 0)
                {
                    // shmem_write_end: the data is in the page, which is dirty (it has no other copy); i_size_write.
                    k.Dirty?.Frame(pfn);
                    ref Frame f = ref k.Zone.Frames[pfn];
                    f.Flags |= FrameFlags.Dirty;
                    f.ContentToken = k.Zone.NextContentToken();
                    // What the page holds now, for swap_writeout's is_folio_zero_filled: zeros copied into a new page
                    // (shmem_write_end zeroes what the copy left out of a page not uptodate), into a zero-filled one or
                    // over a whole page leave only zeros; any other write leaves data. Simplified: a page some PTE maps
                    // is taken to hold data (a store through a TLB entry made before would not clear the mark).
                    if (c.Zero && !k.Rmap.IsMapped(pfn)
                        && (hole || chunk == (long)Pte.PageSize || (f.Flags & FrameFlags.ZeroFilled) != 0))
                        f.Flags |= FrameFlags.ZeroFilled;
                    else
                        f.Flags &= ~FrameFlags.ZeroFilled;
                    if (info.Size != long.MaxValue && at + chunk > info.Size)
                        info.Size = at + chunk;
                }
                c.Done += chunk;
                long cost = added ? k.Timing.ShmemWriteNewPageCycles : k.Timing.ShmemCopyPageCycles;
                k.Cycles.Charge(Timing.CycleCategory.Kernel, cost);
                env.Clock.Advance((ulong)cost);
                stats.CpuCycles += cost;
                if (c.Done < c.Count && (!c.Read || c.Pos + c.Done < end))
                    return true;
            }
        }

        PutHeldPage(c, cpu); // none left normally: the step that took it charged it
        _calls.RemoveAt(i);
        if (!c.Positional)
            _posOf[c.Open] = c.Pos + c.Done;
        CallReturned?.Invoke(env, who, c.Done);
        return true;
    }

    /// <summary>A regular file: a path outside tmpfs the scenario names (not a memfd or shmem object).</summary>
    private bool IsRegular(int fileId) => fileId >= 0 && fileId < k.Files.Count && !_shmem.ContainsKey(fileId) && !NoteFile(fileId);

    /// <summary>i_size of regular file <paramref name="fileId"/> in bytes: as set by open(O_TRUNC), write(2) and ftruncate, else as far as a mapping of it reached.</summary>
    public long RegularSize(int fileId) =>
        _regularSize.TryGetValue(fileId, out long size) ? size : k.Readahead.FilePages(fileId) * (long)Pte.PageSize;

    /// <summary>i_size_write for a regular file; readahead and fault-around stop at its last page.</summary>
    private void SetRegularSize(int fileId, long size)
    {
        _regularSize[fileId] = size;
        k.Readahead.NoteFileExtent(fileId, PagesOf(size));
    }

    /// <summary>
    /// One step of generic_perform_write on a regular file (ext4's buffered write): the next page. write_begin
    /// (__filemap_get_folio with FGP_WRITEBEGIN | fgf_set_order(len)) finds the page in the page cache, or adds a large
    /// folio as large as the rest of the pwrite piece allows (<see cref="WriteBeginLargeFolio"/>), or a new page (the page
    /// allocator, below the min watermark the writer's direct reclaim; then the charge to the writer's memory cgroup,
    /// at its memory.max the writer's reclaim there; either failing, the page is tried again at the task's next step)
    /// and adds it to the page cache and the file LRU (filemap_add_folio; a shadow entry there is a refault). A new page
    /// the write covers only in part, inside i_size, is read from the disk first (the writer sleeps for one page's
    /// read); beyond i_size it is zeroed. Then the copy and write_end: folio_mark_dirty (NR_FILE_DIRTY, nr_dirtied and
    /// the inode's dirtied_when, the flusher's periodic wakeup armed; a page already dirty stays as it is), i_size
    /// grows to cover the write, and balance_dirty_pages_ratelimited may pause the writer. Each page takes the
    /// measured cost of a shmem write page (<see cref="Timing.TimingModel.ShmemWriteNewPageCycles"/> for a new one,
    /// <see cref="Timing.TimingModel.ShmemCopyPageCycles"/> for one in the cache). True while the call goes on.
    /// A large folio is dirtied whole (folio_mark_dirty). Simplified: the copy into a large folio goes a page a step
    /// (each at a page's cost); the pieces of a <c>piece</c>-sized write are one call (no system call entry each); a
    /// page locked for a read in flight is written at once; the page is not waited on while under writeback (ext4
    /// needs no stable pages).
    /// </summary>
    private bool FileWriteStep(SimEnvironment env, PendingCall c, int cpu, ref ProcessStats stats)
    {
        long at = c.Pos + c.Done;
        long index = at >> Pte.PageShift;
        long inPage = at & ((long)Pte.PageSize - 1);
        long chunk = Math.Min(c.PieceLeft, (long)Pte.PageSize - inPage);
        long size = RegularSize(c.File);
        int pfn = k.PageCache.Find(c.File, index);
        bool added = false;
        long cost = 0;
        if (pfn >= 0)
            PutHeldPage(c, cpu); // cached meanwhile (filemap_add_folio's -EEXIST): a page held for its charge is put
        if (pfn < 0)
        {
            // __filemap_get_folio(FGP_WRITEBEGIN | fgf_set_order(len)): a folio as large as the write allows, else one page.
            pfn = WriteBeginLargeFolio(env, c, at, index, cpu);
            if (pfn >= 0)
                PutHeldPage(c, cpu); // a large folio this time: the single page held for its charge is put
            else
                pfn = NewFilePage(env, c, index, cpu);
            if (pfn == Stalled)
                return true; // the task reclaims (queued for this tick); the same page is tried at its next step
            added = true;
            c.NewUntil = index + PageCacheFolio.NrPages(k.Zone.Frames, pfn);
            // A partial write of a page that holds data (inside i_size) reads it first (ext4_da_write_begin's
            // ext4_block_write_begin → a read of the block, waited for).
            if (chunk < (long)Pte.PageSize && index < PagesOf(size))
            {
                cost += k.Timing.DiskReadCycles(1);
                env.Counters.Add(k.C.PgPgIn, (long)(Pte.PageSize / 1024));
            }
        }
        else if (index < c.NewUntil)
        {
            added = true; // a page of the large folio this call's write_begin allocated
        }
        // __block_write_begin_int's folio_create_buffers: the page's buffer_head, charged to its group, if it has none.
        k.PageCache.CreateBuffers(c.File, index, pfn);

        // write_end → block_write_end → folio_mark_dirty; i_size_write past the old end.
        bool dirtied = MarkPageDirty(pfn);
        // folio_mark_dirty dirties (and folio_account_dirtied counts) a large folio whole. The pages are dirtied as the
        // copy reaches them; only the folios where the call starts or ends can be left partly uncovered, so there the
        // rest of the folio is dirtied too.
        if (k.Zone.Frames[pfn].FolioOrder != 0 && (c.Done % c.Piece == 0 || chunk >= c.PieceLeft))
            FolioMarkDirtyWhole(pfn);
        if (at + chunk > size)
            SetRegularSize(c.File, at + chunk);
        c.Done += chunk;
        cost += added ? k.Timing.ShmemWriteNewPageCycles : k.Timing.ShmemCopyPageCycles;
        k.Cycles.Charge(Timing.CycleCategory.Kernel, cost);
        env.Clock.Advance((ulong)cost);
        stats.CpuCycles += cost;
        // balance_dirty_pages_ratelimited after each page the call dirtied: the writer may pause while the flusher writes.
        if (dirtied && k.Flusher is { } f2)
        {
            ulong pause = f2.BalanceDirtyPagesRatelimited(c.Task.Id);
            if (pause > 0)
                env.Clock.Advance(pause);
        }
        return c.Done < c.Count;
    }

    /// <summary>folio_mark_dirty on the whole large page-cache folio <paramref name="pfn"/> is a page of (folio_account_dirtied: folio_nr_pages).</summary>
    private void FolioMarkDirtyWhole(int pfn)
    {
        Frame[] frames = k.Zone.Frames;
        int head = PageCacheFolio.Head(frames, pfn), nr = PageCacheFolio.NrPages(frames, pfn);
        for (int p = head; p < head + nr; p++)
            MarkPageDirty(p);
    }

    /// <summary>folio_mark_dirty of one page (with the writeback accounting when a flusher runs); true if it was clean.</summary>
    private bool MarkPageDirty(int pfn)
    {
        k.Dirty?.Frame(pfn);
        return k.Flusher is { } flusher ? flusher.FolioMarkDirty(pfn) : MarkDirtyNoAccounting(pfn);
    }

    /// <summary>
    /// The order write_begin asks for at byte <paramref name="at"/> of a write with <paramref name="remaining"/> bytes left: generic_perform_write's
    /// piece (the rest of the write, within one chunk of mapping_max_folio_size, 2 MiB) through fgf_set_order (ilog2 of
    /// its length less PAGE_SHIFT, 0 up to one page), capped by mapping_max_folio_order (the PMD order); 0 when the
    /// file system has no large folios (<c>machine.large_folios: false</c>, or an LRU that keeps none).
    /// </summary>
    internal int WriteBeginOrder(long at, long remaining)
    {
        if (!k.Readahead.LargeFolioSupport)
            return 0;
        long chunk = (long)Pte.PageSize << PageCacheFolio.MaxPagecacheOrder;
        long bytes = Math.Min(chunk - (at & (chunk - 1)), remaining);
        int shift = System.Numerics.BitOperations.Log2((ulong)bytes);
        return shift <= Pte.PageShift ? 0 : Math.Min(shift - Pte.PageShift, PageCacheFolio.MaxPagecacheOrder);
    }

    /// <summary>
    /// __filemap_get_folio's FGP_CREAT path for an order above 0 (ext4_write_begin → write_begin_get_folio): the order
    /// falls to __ffs(index) where the index is not aligned to it, and one order at a time while the folio cannot be
    /// added (a page of its range is cached already: -EEXIST) or allocated (__GFP_NORETRY: no free block of the order
    /// above the low watermark, or no room under memory.max; simplified: no reclaim or compaction for it). Returns the
    /// new folio's first page (at <paramref name="index"/>), added to the page cache and the file LRU as one folio, or
    /// -1: the caller goes on with a single page (order 0, which may reclaim).
    /// </summary>
    private int WriteBeginLargeFolio(SimEnvironment env, PendingCall c, long at, long index, int cpu)
    {
        int order = WriteBeginOrder(at, c.PieceLeft);
        if (order > 0 && (index & ((1L << order) - 1)) != 0)
            order = System.Numerics.BitOperations.TrailingZeroCount(index);
        for (; order > 0; order--)
        {
            int head = FilemapAllocFolio(c, index, order, cpu);
            if (head >= 0)
            {
                FilemapAlloc.FilemapAddFolio(k, c.File, index, head, order, locked: false); // write_end fills it: unlocked
                return head;
            }
        }
        return -1;
    }

    /// <summary>
    /// filemap_alloc_folio (__GFP_NORETRY) of <paramref name="order"/> for [index, index + 2^order) of the file, charged
    /// to the writer's memory cgroup as one; -1 when the range already holds a page (filemap_add_folio's -EEXIST, checked
    /// first here) or no folio can be had without reclaim.
    /// </summary>
    private int FilemapAllocFolio(PendingCall c, long index, int order, int cpu)
    {
        int nr = 1 << order;
        for (long i = index; i < index + nr; i++)
        {
            if (k.PageCache.Find(c.File, i) >= 0)
                return -1;
        }
        Memcontrol.MemCgroup? memcg = k.Memcg?.OfMm(c.MmId);
        return FilemapAlloc.FilemapAllocFolio(k, order, memcg, cpu, pinned: false, c.Task, out _);
    }

    /// <summary>folio_mark_dirty without the writeback accounting (<c>writeback: sync</c>: reclaim writes a dirty file page itself).</summary>
    private bool MarkDirtyNoAccounting(int pfn)
    {
        ref Frame f = ref k.Zone.Frames[pfn];
        bool was = (f.Flags & FrameFlags.Dirty) != 0;
        f.Flags |= FrameFlags.Dirty;
        return !was;
    }

    /// <summary>
    /// The page allocator's side of a write's or read's new page (__alloc_pages: kswapd woken below the low watermark,
    /// the slow path's direct reclaim below min): true when the task must reclaim first (its request is queued).
    /// </summary>
    private bool AllocMustStall(SimEnvironment env, PendingCall c, int cpu)
    {
        long free = k.Zone.Buddy.NrFreePages;
        if (k.Zone.Watermarks.BelowLow(free))
            env.Work<Vmscan.KswapdWakeup>().Add(default);
        if (!k.Zone.MustStall(free, needsFrame: true))
            return false;
        env.Counters.Increment(k.C.AllocStall);
        env.Work<Vmscan.ReclaimRequest>().Add(new Vmscan.ReclaimRequest(true, k.Options.SwapClusterMax, c.Task, cpu));
        return true;
    }

    /// <summary>
    /// __filemap_get_folio(FGP_CREAT) for a regular file's page <paramref name="index"/>: a new frame from the page
    /// allocator, charged to the writer's memory cgroup, added to the page cache and the file LRU; or
    /// <see cref="Stalled"/> when the writer must reclaim first (the request is queued).
    /// </summary>
    private int NewFilePage(SimEnvironment env, PendingCall c, long index, int cpu)
    {
        if (k.Memcg is { } cg && k.Options.ChargeAfterAlloc)
        {
            int page = AllocThenCharge(env, c, index, cpu, cg, cg.OfMm(c.MmId));
            if (page >= 0)
                AddFilePage(c, index, page);
            return page;
        }
        if (AllocMustStall(env, c, cpu))
            return Stalled;
        Memcontrol.MemCgroup? memcg = null;
        if (k.Memcg is { } mc)
        {
            memcg = mc.OfMm(c.MmId);
            if (mc.TryCharge(memcg, 1, cpu) is { } over)
            {
                Memcontrol.MemcgController.MemoryEvent(over, Memcontrol.MemcgEvent.Max);
                env.Work<Vmscan.ReclaimRequest>().Add(new Vmscan.ReclaimRequest(true, k.Options.SwapClusterMax, c.Task, cpu, 0, true, over.Id, ChargePages: 1));
                return Stalled;
            }
            mc.Charged(c.Task);
        }
        int pfn = k.Zone.AllocFrame(cpu);
        if (memcg is not null)
            k.Memcg!.CommitCharge(pfn, memcg);
        AddFilePage(c, index, pfn);
        return pfn;
    }

    /// <summary>filemap_add_folio of a write's new page <paramref name="pfn"/>: indexed at <paramref name="index"/>, a shadow refaulting it, on the file LRU.</summary>
    private void AddFilePage(PendingCall c, long index, int pfn)
    {
        k.Dirty?.Frame(pfn);
        ref Frame f = ref k.Zone.Frames[pfn];
        f.Mapping = c.File;
        f.Index = index;
        f.ContentToken = PageCacheInsertSystem.FileContent(c.File, index);
        int shadow = k.PageCache.Add(c.File, index, pfn);
        if (shadow >= 0)
            k.LruvecOf(pfn)?.WorkingsetRefault(pfn, shadow);
        k.Zone.LruAdd(pfn, PageAlloc.Zone.FileKey(c.File, index));
    }

    /// <summary>
    /// A system call's new page in Linux's order (machine.charge_after_alloc: filemap_alloc_folio or shmem_alloc_folio,
    /// then mem_cgroup_charge to <paramref name="memcg"/>): the page <paramref name="c"/> holds for
    /// <paramref name="index"/> from an earlier step, else a new one (<see cref="Stalled"/> when the allocator makes the
    /// task reclaim). A charge that fails keeps the page in <paramref name="c"/>, pinned and uncharged, while the task
    /// reclaims in the group at its limit, and returns <see cref="Stalled"/>; the step after that reclaim charges it.
    /// </summary>
    private int AllocThenCharge(SimEnvironment env, PendingCall c, long index, int cpu, Memcontrol.MemcgController mc, Memcontrol.MemCgroup memcg)
    {
        int pfn = -1;
        if (c.HeldIndex == index)
        {
            pfn = c.HeldPage;
            c.HeldPage = -1;
            c.HeldIndex = -1;
        }
        PutHeldPage(c, cpu); // held for another index: put
        if (pfn < 0)
        {
            if (AllocMustStall(env, c, cpu))
                return Stalled;
            pfn = k.Zone.AllocFrame(cpu);
            k.Zone.PinFrame(pfn); // held until charged: on no list yet
        }
        if (mc.TryCharge(memcg, 1, cpu) is { } over)
        {
            Memcontrol.MemcgController.MemoryEvent(over, Memcontrol.MemcgEvent.Max);
            env.Work<Vmscan.ReclaimRequest>().Add(new Vmscan.ReclaimRequest(true, k.Options.SwapClusterMax, c.Task, cpu, 0, true, over.Id, ChargePages: 1));
            c.HeldPage = pfn;
            c.HeldIndex = index;
            return Stalled;
        }
        mc.Charged(c.Task);
        mc.CommitCharge(pfn, memcg);
        k.Zone.UnpinFrame(pfn);
        return pfn;
    }

    /// <summary>folio_put of the page <paramref name="c"/> held for its charge, if any (the index was filled meanwhile, or the call ended).</summary>
    private void PutHeldPage(PendingCall c, int cpu)
    {
        if (c.HeldPage < 0)
            return;
        int pfn = c.HeldPage;
        c.HeldPage = -1;
        c.HeldIndex = -1;
        k.Zone.FreeFrame(pfn, cpu);
    }

    /// <summary>Whether <paramref name="pfn"/> is a page a system call in progress holds for its charge (for the invariant checkers).</summary>
    public bool HoldsUncharged(int pfn)
    {
        foreach (PendingCall c in _calls)
        {
            if (c.HeldPage == pfn)
                return true;
        }
        return false;
    }

    /// <summary><see cref="GetPage"/>: the task must reclaim before the page can be had.</summary>
    private const int Stalled = -2;

    /// <summary>
    /// shmem_get_folio_gfp for a system call's page <paramref name="index"/> of <paramref name="c"/>'s file (SGP_WRITE
    /// for a write, SGP_READ for a read): the page, with <paramref name="added"/> set when it was allocated for the call
    /// (a hole written, or a page read back from swap), and <paramref name="hole"/> when it is a new page for a hole;
    /// -1 for a hole a read leaves alone; <see cref="Stalled"/> when the task must reclaim first (the request is queued).
    /// </summary>
    private int GetPage(SimEnvironment env, PendingCall c, long index, int cpu, out bool added, out bool hole)
    {
        added = false;
        hole = false;
        int pfn = k.PageCache.Find(c.File, index);
        int slot = pfn >= 0 ? 0 : k.PageCache.SwapEntry(c.File, index);
        int sc = slot > 0 ? k.SwapCache.Lookup(slot) : -1;
        if (pfn >= 0 || sc >= 0 || (slot == 0 && c.Read))
        {
            PutHeldPage(c, cpu); // the page is there now (or needs none): a page held for its charge is put
            if (pfn >= 0)
                return pfn;
            if (sc < 0)
                return -1;
            ShmemSwapin(sc, c.File, index, slot, inSwapCache: true);
            return sc;
        }
        // shmem_alloc_and_add_folio: the page allocator (its slow path's direct reclaim below min), then the charge.
        if (k.Memcg is { } cg && k.Options.ChargeAfterAlloc)
        {
            Memcontrol.MemCgroup group = slot > 0 ? cg.OfSlot(slot) ?? cg.OfMm(c.MmId) : cg.OfMm(c.MmId);
            pfn = AllocThenCharge(env, c, index, cpu, cg, group);
            if (pfn < 0)
                return pfn;
            AddPage(env, pfn, null, c.File, index, slot); // charged already
            added = true;
            hole = slot == 0;
            return pfn;
        }
        if (AllocMustStall(env, c, cpu))
            return Stalled;
        Memcontrol.MemCgroup? memcg = null;
        if (k.Memcg is { } mc)
        {
            // mem_cgroup_charge → try_charge_memcg: over some group's memory.max the task reclaims in that group and
            // charges again (a swapped page charges the group of its swap entry, as shmem_swapin_folio does).
            memcg = slot > 0 ? mc.OfSlot(slot) ?? mc.OfMm(c.MmId) : mc.OfMm(c.MmId);
            if (mc.TryCharge(memcg, 1, cpu) is { } over)
            {
                Memcontrol.MemcgController.MemoryEvent(over, Memcontrol.MemcgEvent.Max);
                env.Work<Vmscan.ReclaimRequest>().Add(new Vmscan.ReclaimRequest(true, k.Options.SwapClusterMax, c.Task, cpu, 0, true, over.Id, ChargePages: 1));
                return Stalled;
            }
            mc.Charged(c.Task);
        }
        pfn = k.Zone.AllocFrame(cpu);
        AddPage(env, pfn, memcg, c.File, index, slot);
        added = true;
        hole = slot == 0;
        return pfn;
    }

    /// <summary>FALLOC_FL_KEEP_SIZE and FALLOC_FL_PUNCH_HOLE, as fallocate(2) numbers them.</summary>
    public const int FallocKeepSize = 1, FallocPunchHole = 2;

    /// <summary>
    /// fallocate(2) of a memfd or tmpfs file (shmem_fallocate). Mode 0 or FALLOC_FL_KEEP_SIZE: every page of
    /// [offset, offset + len) is there afterwards (a hole gets a new page, one out on swap is read back), dirty so
    /// reclaim writes it to swap rather than drop it; without KEEP_SIZE the size grows to offset + len.
    /// FALLOC_FL_PUNCH_HOLE|KEEP_SIZE: the whole pages of the range are unmapped and freed, with their swap entries
    /// (shmem_truncate_range; a partial page at either end is only zeroed). EBADF for a descriptor not open for
    /// writing, EINVAL for a negative offset, a length of 0 or less, or a file that is not shmem, EOPNOTSUPP for
    /// PUNCH_HOLE without KEEP_SIZE or another mode, EFBIG past MAX_LFS_FILESIZE, ENOSPC when a page cannot be had
    /// (the pages allocated by this call are freed again, as shmem_fallocate's undo does).
    /// </summary>
    public long Fallocate(SimEnvironment env, EcsMem.Ecs.Entity who, int mmId, int cpu, int tgid, int fd, int mode, long offset, long length)
    {
        if (!Lookup(tgid, fd, out int fileId, out int open))
            return -Errno.EBADF;
        if (offset < 0 || length <= 0)
            return -Errno.EINVAL;
        if ((mode & ~(FallocKeepSize | FallocPunchHole)) != 0 || mode == FallocPunchHole)
            return -Errno.EOPNOTSUPP;
        if (_modeOf[open] == 0)
            return -Errno.EBADF;
        if (offset + length > MaxFileSize || offset + length < 0)
            return -Errno.EFBIG;
        if (!_shmem.TryGetValue(fileId, out ShmemInode? info))
            return -Errno.EINVAL;
        if ((mode & FallocPunchHole) != 0)
        {
            long first = (offset + (long)Pte.PageSize - 1) >> Pte.PageShift, end = (offset + length) >> Pte.PageShift;
            if (first < end)
                Truncate(fileId, first, end);
            return 0;
        }

        long last = (offset + length - 1) >> Pte.PageShift;
        var fresh = new List<long>();
        for (long index = offset >> Pte.PageShift; index <= last; index++)
        {
            bool hole = k.PageCache.Find(fileId, index) < 0 && k.PageCache.SwapEntry(fileId, index) == 0;
            int pfn = GetPageNow(env, who, mmId, cpu, fileId, index);
            if (pfn < 0)
            {
                // shmem_fallocate's undo: the pages this call added go again.
                foreach (long i in fresh)
                    Truncate(fileId, i, i + 1);
                return -Errno.ENOSPC;
            }
            if (hole)
                fresh.Add(index);
            k.Dirty?.Frame(pfn);
            k.Zone.Frames[pfn].Flags |= FrameFlags.Dirty;
        }

        if ((mode & FallocKeepSize) == 0 && info.Size != long.MaxValue && offset + length > info.Size)
            info.Size = offset + length;
        return 0;
    }

    /// <summary>
    /// shmem_get_folio for fallocate (SGP_FALLOC, in one step): the page cached at <paramref name="index"/>; one out on
    /// swap is read back into the object (shmem_swapin_folio: from the swap cache if it is there, else a new page charged
    /// to the entry's group, pswpin); a hole gets a new zeroed page. -1 when no page could be had (a charge above the
    /// limit is taken at once and the group's reclaim queued, <see cref="Memcontrol.MemcgController.ChargeOrReclaim"/>).
    /// </summary>
    private int GetPageNow(SimEnvironment env, EcsMem.Ecs.Entity who, int mmId, int cpu, int fileId, long index)
    {
        int pfn = k.PageCache.Find(fileId, index);
        if (pfn >= 0)
            return pfn;
        int slot = k.PageCache.SwapEntry(fileId, index);
        if (slot > 0 && k.SwapCache.Lookup(slot) is int sc and >= 0)
        {
            ShmemSwapin(sc, fileId, index, slot, inSwapCache: true);
            return sc;
        }
        Memcontrol.MemCgroup? memcg = null;
        if (k.Memcg is { } mc)
        {
            memcg = slot > 0 ? mc.OfSlot(slot) ?? mc.OfMm(mmId) : mc.OfMm(mmId);
            mc.ChargeOrReclaim(env, memcg, who, cpu);
        }
        long free = k.Zone.Buddy.NrFreePages;
        if (k.Zone.Watermarks.BelowLow(free))
            env.Work<Vmscan.KswapdWakeup>().Add(default);
        pfn = k.Zone.MustStall(free, needsFrame: true) ? -1 : k.Zone.AllocFrame(cpu);
        if (pfn < 0)
        {
            if (memcg is not null)
                k.Memcg!.Uncharge(memcg, 1);
            return -1;
        }
        AddPage(env, pfn, memcg, fileId, index, slot);
        return pfn;
    }

    /// <summary>
    /// The new page <paramref name="pfn"/> (charged to <paramref name="memcg"/>) becomes page <paramref name="index"/> of
    /// <paramref name="fileId"/>: read back from swap slot <paramref name="slot"/> (shmem_swapin_folio, pswpin) or a new
    /// zeroed page (shmem_alloc_and_add_folio), in the page cache and on the anon LRU.
    /// </summary>
    private void AddPage(SimEnvironment env, int pfn, Memcontrol.MemCgroup? memcg, int fileId, long index, int slot)
    {
        if (memcg is not null)
            k.Memcg!.CommitCharge(pfn, memcg);
        k.Dirty?.Frame(pfn);
        ref Frame f = ref k.Zone.Frames[pfn];
        if (slot > 0)
        {
            k.SwapReadahead.SwapReadFolio(pfn, slot);
            ShmemSwapin(pfn, fileId, index, slot, inSwapCache: false);
        }
        else
        {
            f.Flags |= FrameFlags.Shmem | FrameFlags.SwapBacked;
            f.Mapping = fileId;
            f.Index = index;
            f.ContentToken = k.Zone.NextContentToken();
            k.PageCache.Add(fileId, index, pfn);
        }
        k.Zone.LruAdd(pfn, PageAlloc.Zone.FileKey(fileId, index));
    }

    /// <summary>memfds, tmpfs files and MAP_SHARED anonymous objects alive now.</summary>
    public int ShmemFiles => _shmem.Count;

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

    /// <summary>open(2)'s flags the scenario can give (the O_ACCMODE part as Linux numbers it).</summary>
    [Flags]
    public enum OpenFlags
    {
        RdWr = 0,
        RdOnly = 1,
        WrOnly = 2,
        Creat = 4,
        Excl = 8,
        Trunc = 16,
        Append = 32,
    }

    /// <summary>
    /// openat(2): a new open file description of <paramref name="fileId"/>'s path at descriptor <paramref name="fd"/>.
    /// On tmpfs the path is looked up in the mount's dentries: a missing one is ENOENT without O_CREAT and a new
    /// inode of size 0 with it (shmem_mknod); O_CREAT|O_EXCL on an existing one is EEXIST; O_TRUNC on a writable
    /// open sets the size to 0 (shmem_setattr, its pages and swap entries freed). Any other path is a regular file the
    /// scenario names, which exists (O_CREAT|O_EXCL: EEXIST; O_TRUNC is not modelled for it).
    /// </summary>
    public long Open(int tgid, int fd, int fileId, OpenFlags flags = OpenFlags.RdWr, int mmId = -1)
    {
        bool create = (flags & OpenFlags.Creat) != 0, excl = create && (flags & OpenFlags.Excl) != 0;
        bool writable = (flags & OpenFlags.RdOnly) == 0;
        if (mmId >= 0)
            k.Memcg?.PathLookup(mmId, k.Files[fileId].Path, k.Tlb.CurrentCpu);
        if (!NoteFile(fileId, creating: create) || !_tmpfsName.TryGetValue(fileId, out string? path))
        {
            if (excl)
                return -Errno.EEXIST;
            // O_TRUNC on a writable open of a regular file: i_size 0 and its page cache truncated (do_truncate).
            if ((flags & OpenFlags.Trunc) != 0 && writable && IsRegular(fileId))
                TruncateRegular(fileId, 0);
            Install(tgid, fd, fileId, flags);
            return fd;
        }

        if (_dentries.TryGetValue(path, out int inode))
        {
            if (excl)
                return -Errno.EEXIST;
            if ((flags & OpenFlags.Trunc) != 0 && writable)
                SetSize(inode, 0);
        }
        else
        {
            if (!create)
                return -Errno.ENOENT;
            // The scenario's file id is the path's first inode; after an unlink the path gets a new one.
            inode = fileId;
            if (_shmem.ContainsKey(fileId) || _pathKind[fileId] == 3 || EverCreated(fileId))
            {
                inode = k.Files.Intern(new MappedFile(path, 0, 0, ++_tmpfsInodes));
                while (_pathKind.Count <= inode)
                    _pathKind.Add(0);
                _pathKind[inode] = 3;
            }
            CreateTmpfsInode(inode, path, 0);
            if (mmId >= 0)
                k.Memcg?.ShmemInodeCharge(inode, mmId, k.Tlb.CurrentCpu, openFirst: true);
        }

        Install(tgid, fd, inode, flags);
        return fd;
    }

    /// <summary>The scenario's tmpfs file ids whose first inode was unlinked: the path's next inode gets an id of its own.</summary>
    private readonly HashSet<int> _created = new();

    /// <summary>Whether the inode of <paramref name="fileId"/> was made once already (then unlinked).</summary>
    private bool EverCreated(int fileId) => _created.Contains(fileId);

    /// <summary>
    /// unlink(2) of a tmpfs path (shmem_unlink): its dentry goes, so the path names nothing (ENOENT) until created
    /// again; the inode lives on, shown as "PATH (deleted)" in maps, while a descriptor or mapping refers to it, and
    /// is freed with its pages and swap entries when none does (shmem_evict_inode). ENOENT when the path names nothing.
    /// </summary>
    public long Unlink(int fileId)
    {
        if (!NoteFile(fileId) || !_tmpfsName.TryGetValue(fileId, out string? path))
            return -Errno.EPERM; // not reached: the scenario parser takes tmpfs paths only
        if (!_dentries.Remove(path, out int inode))
            return -Errno.ENOENT;
        _created.Add(fileId);
        ShmemInode info = _shmem[inode];
        info.Tmpfs = false;
        info.Path = null;
        MappedFile old = k.Files[inode];
        k.Files.Rename(inode, new MappedFile(path + " (deleted)", old.Major, old.Minor, old.Inode));
        ReleaseUnused();
        return 0;
    }

    /// <summary>
    /// memfd_create(2) (mm/memfd.c): a new shmem inode of size 0 named "/memfd:NAME (deleted)" in /proc/pid/maps (its
    /// dentry is unlinked from the start), opened read-write at descriptor <paramref name="fd"/>. EINVAL for a name
    /// longer than 249 bytes (MFD_NAME_MAX_LEN).
    /// </summary>
    public long MemfdCreate(int tgid, int fd, string name, int mmId = -1)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(name) > 249)
            return -Errno.EINVAL;
        // shmem inodes live on the internal shm_mnt (device 00:01); each gets its own inode number.
        int fileId = k.Files.Intern(new MappedFile("/memfd:" + name + " (deleted)", 0, 1, (ulong)(++_memfds)));
        _shmem[fileId] = new ShmemInode { Size = 0 };
        if (mmId >= 0)
            k.Memcg?.ShmemInodeCharge(fileId, mmId, k.Tlb.CurrentCpu, openFirst: false);
        Install(tgid, fd, fileId, OpenFlags.RdWr);
        return fd;
    }

    /// <summary>
    /// shmem_zero_setup's object (<see cref="Vma.ShmemId"/>) behind a MAP_SHARED|MAP_ANONYMOUS area, file
    /// <paramref name="fileId"/>: a shmem inode like a memfd's, known here from its first fault on; it is evicted with
    /// its pages when no VMA maps it any more (it has no descriptor). Its size is the mapping's, not checked.
    /// </summary>
    public void ShmemZeroSetup(int fileId, int mmId = -1)
    {
        // shmem_kernel_file_setup's inode, dentry and struct file are charged to the mapping task's group.
        if (_shmem.TryAdd(fileId, new ShmemInode { Size = long.MaxValue }) && mmId >= 0)
            k.Memcg?.ShmemInodeCharge(fileId, mmId, k.Tlb.CurrentCpu, openFirst: false);
    }

    /// <summary>
    /// ftruncate(2) of a memfd or tmpfs file (shmem_setattr): sets its size; shrinking drops the pages past the new
    /// end, unmapping them from every process first (truncate_pagecache), and frees their swap entries. EBADF for a
    /// descriptor not open, EINVAL for a negative length, a descriptor not open for writing, or a file that is not
    /// shmem (regular files' sizes are not modelled).
    /// </summary>
    public long Ftruncate(int tgid, int fd, long length)
    {
        if (!Lookup(tgid, fd, out int fileId, out int open))
            return -Errno.EBADF;
        if (length < 0 || _modeOf[open] == 0 || (!_shmem.ContainsKey(fileId) && !IsRegular(fileId)))
            return -Errno.EINVAL;
        if (!_shmem.ContainsKey(fileId))
        {
            if (length > Ext4MaxFileSize)
                return -Errno.EFBIG;
            TruncateRegular(fileId, length);
            return 0;
        }
        SetSize(fileId, length);
        return 0;
    }

    /// <summary>
    /// ext4_setattr's size change on a regular file (truncate_setsize): i_size becomes <paramref name="length"/>;
    /// shrinking drops the page cache past the new end (truncate_pagecache: unmapped from every process, a page under
    /// writeback waited for, a large folio split first), growing leaves a hole.
    /// </summary>
    private void TruncateRegular(int fileId, long length)
    {
        _regularSize[fileId] = length;
        k.Readahead.SetFileExtent(fileId, PagesOf(length));
        // Past the new end nothing stays (where the old size was unknown, whatever is cached there).
        Truncate(fileId, PagesOf(length));
    }

    /// <summary>shmem_setattr's size change: a smaller size truncates the pages and swap entries past it.</summary>
    private void SetSize(int fileId, long length)
    {
        ShmemInode info = _shmem[fileId];
        long old = info.Size;
        info.Size = length;
        // A tmpfs file's size was unknown (unbounded): whatever it held past the new end goes.
        if (length < old)
            Truncate(fileId, PagesOf(length));
    }

    /// <summary>
    /// fsync(2) and fdatasync(2) (ext4_sync_file → file_write_and_wait_range): the file's dirty pages are written
    /// (WB_SYNC_ALL, <see cref="PageWriteback.Flusher.WriteInode"/>) and the call waits until every page of the file under
    /// writeback has completed (its CPU idle until the last request's completion, as folio_wait_writeback sleeps).
    /// With synchronous writeback (<c>writeback: sync</c>) the dirty pages are written at once, the call taking the
    /// device's write time for each (<c>latency.swap_write</c>, as reclaim's synchronous write). A memfd or tmpfs file
    /// has nothing to write (shmem's fsync is noop_fsync). EBADF for a descriptor not open. Simplified: no journal
    /// commit or inode write (fsync and fdatasync do the same here), no device cache flush.
    /// </summary>
    public long Fsync(SimEnvironment env, int tgid, int fd, ref ProcessStats stats)
    {
        if (!Lookup(tgid, fd, out int fileId, out _))
            return -Errno.EBADF;
        if (!IsRegular(fileId))
            return 0;
        ulong start = env.Now;
        if (k.Writeback is { } wb && k.Flusher is { } flusher)
        {
            flusher.WriteInode(fileId);
            // filemap_fdatawait_range: every page of the file still under writeback (ours, and the flusher's earlier ones).
            foreach (var (file, _, pfn) in k.PageCache.Entries())
            {
                if (file == fileId && (k.Zone.Frames[pfn].Flags & FrameFlags.Writeback) != 0)
                    wb.WaitOnWriteback(pfn);
            }
        }
        else
        {
            long written = 0;
            foreach (var (file, _, pfn) in k.PageCache.Entries())
            {
                ref Frame f = ref k.Zone.Frames[pfn];
                if (file != fileId || (f.Flags & FrameFlags.Dirty) == 0)
                    continue;
                k.Dirty?.Frame(pfn);
                f.Flags &= ~FrameFlags.Dirty;
                written++;
            }
            env.Counters.Add(k.C.PgPgOut, written * (long)(Pte.PageSize / 1024));
            env.Clock.Advance((ulong)(written * k.Timing.SwapOutCycles));
        }
        stats.IoWaitCycles += (long)(env.Now - start);
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
        // A task killed inside write(2) or read(2) never returns from it; a page it held for its charge is put.
        foreach (PendingCall c in _calls)
        {
            if (c.Tgid == tgid)
                PutHeldPage(c, k.Tlb.CurrentCpu);
        }
        _calls.RemoveAll(c => c.Tgid == tgid);
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
    /// The last fput of a memfd or unlinked tmpfs file: a shmem inode no dentry, descriptor or VMA holds any more is
    /// evicted, its pages and swap entries freed (shmem_evict_inode → shmem_truncate_range). Called after the calls
    /// that drop references (munmap, mremap, close, unlink, exit).
    /// </summary>
    public void ReleaseUnused()
    {
        if (_shmem.Count == 0)
            return;
        _evict.Clear();
        foreach (var (fileId, info) in _shmem)
        {
            if (!info.Tmpfs && !Referenced(fileId))
                _evict.Add(fileId);
        }

        foreach (int fileId in _evict)
        {
            Truncate(fileId, 0);
            _shmem.Remove(fileId);
            k.Memcg?.ShmemInodeUncharge(fileId, k.Tlb.CurrentCpu);
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

    /// <summary>
    /// shmem_truncate_range over the pages [<paramref name="first"/>, <paramref name="end"/>): the swap entries in the
    /// range are freed (shmem_undo_range: shmem_free_swap), the pages unmapped from every process
    /// (unmap_mapping_range) and freed. A page still in a CPU's lru_add batch leaves the page cache but stays allocated
    /// and charged: truncation neither drains the batches nor tests the reference count, and the batch's reference
    /// frees it when the batch moves (<see cref="HeldByLruAddBatch"/>).
    /// </summary>
    private void Truncate(int fileId, long first, long end = long.MaxValue)
    {
        k.PageCache.FindSwapEntries(fileId, first, end, _swapEntries);
        foreach (var (index, slot) in _swapEntries)
            FreeSwap(fileId, index, slot);

        var pages = k.PageCache.Entries().Where(e => e.File == fileId && e.Index >= first && e.Index < end).ToList();
        foreach (var (file, index, pfn) in pages)
        {
            k.Rmap.CopyTo(pfn, _maps);
            foreach (var (mmId, va) in _maps)
            {
                var mm = k.Tasks.MmById(mmId);
                if (mm is not null)
                    k.Memory.ZapRange(mm, va, va + Pte.PageSize);
            }

            if (k.PinsBesidesLruAdd(pfn) > 0 || k.Zone.Frames[pfn].MapCount > 0)
                continue; // a fault in flight still holds it; its install finds the page gone from the cache
            // truncate_inode_pages_range: a large folio is split (truncate_inode_partial_folio), a page under writeback
            // waited for (folio_wait_writeback) before it goes.
            PageCacheFolio.Split(k, pfn);
            if ((k.Zone.Frames[pfn].Flags & FrameFlags.Writeback) != 0)
                k.Writeback?.WaitOnWriteback(pfn);
            k.PageCache.Delete(file, index);
            if (k.Zone.InLruAddBatch(pfn))
                HeldByLruAddBatch(pfn);
            else
                k.Zone.FreeFrame(pfn, k.Tlb.CurrentCpu);
        }
    }

    /// <summary>
    /// truncate_inode_pages_range / shmem_undo_range on a folio still in an lru_add batch: truncate_cleanup_folio's
    /// folio_cancel_dirty and page_cache_delete (folio-&gt;mapping = NULL, NR_SHMEM down) happen, but the batch's reference
    /// (__folio_batch_add_and_move's folio_get) outlives the page cache's, so the folio is freed and uncharged (pgpgout)
    /// only by the batch's folios_put after lru_add.
    /// </summary>
    private void HeldByLruAddBatch(int pfn)
    {
        k.Dirty?.Frame(pfn);
        k.Flusher?.FrameFreed(pfn); // folio_cancel_dirty: no longer a dirty page to write
        ref Frame f = ref k.Zone.Frames[pfn];
        f.Flags &= ~(FrameFlags.Dirty | FrameFlags.Shmem);
        f.Mapping = -1;
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

    private void Install(int tgid, int fd, int fileId, OpenFlags flags)
    {
        _fileOf.Add(fileId);
        _modeOf.Add((flags & OpenFlags.RdOnly) != 0 ? (byte)0 : (flags & OpenFlags.WrOnly) != 0 ? (byte)1 : (byte)2);
        _posOf.Add(0);
        _appendOf.Add((flags & OpenFlags.Append) != 0);
        _fds[(tgid, fd)] = _fileOf.Count - 1;
        ReleaseUnused(); // a descriptor number reused drops what it held (dup2's implicit close)
    }
}
