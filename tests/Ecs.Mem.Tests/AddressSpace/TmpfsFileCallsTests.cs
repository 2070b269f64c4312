using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// System calls on tmpfs files (/dev/shm) and memfds, expectations worked by hand from Linux 6.18's mm/shmem.c and
/// fs/open.c: open(O_CREAT) makes an inode of size 0, ENOENT without O_CREAT once the name is gone, EEXIST with
/// O_EXCL; pwrite allocates, dirties and counts shmem pages with no fault (shmem_write_begin) and grows i_size; pread
/// stops at i_size and reads holes as zeroes without allocating (shmem_file_read_iter, SGP_READ); fallocate allocates
/// or punches whole pages, freeing their swap entries (shmem_free_swap: info-&gt;swapped and the swap slots);
/// unlink drops the name while the inode lives as long as a mapping holds it. The kit program tmpfs-write-map holds
/// the fault and Rss figures against the kernel.
/// </summary>
public class TmpfsFileCallsTests
{
    private const ulong Anon = 0x7e0000000000;

    private static SimMachine Build(string timeline, string machine = "ram: 64M, swap: 0", string? workload = null)
    {
        string yaml = "machine: {" + machine + "}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \""
            + (workload ?? $"seq:count=4,pages=4,base=0x{Anon:x}") + "\"\n"
            + "timeline:\n" + Event("0", $"mmap: {{addr: 0x{Anon:x}, length: 16K, prot: rw-, flags: private, fixed: true}}") + timeline;
        return ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "tmpfs-calls.yaml"));
    }

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    private static int ShmemFrames(SimMachine m)
    {
        int n = 0;
        foreach (ref readonly Frame f in m.Kernel.Zone.Frames.AsSpan())
        {
            if ((f.Flags & (FrameFlags.Buddy | FrameFlags.PcpList)) == 0 && (f.Flags & FrameFlags.Shmem) != 0)
                n++;
        }
        return n;
    }

    /// <summary>The results of the timeline's calls after the first (the anonymous mmap), in order: what follows each line's last "= ".</summary>
    private static string[] Results(SimMachine m) =>
        m.AddressSpace.Log.Where(l => !l.Contains("mmap(0x7e", StringComparison.Ordinal) && l.Contains(" = ", StringComparison.Ordinal))
            .Select(l => l[(l.LastIndexOf(" = ", StringComparison.Ordinal) + 3)..]).ToArray();

    private static ProcessStats Stats(SimMachine m) => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]);

    /// <summary>
    /// O_CREAT makes the file (fd 3); O_CREAT|O_EXCL on it is EEXIST; after unlink the name is gone: open without
    /// O_CREAT is ENOENT, a second unlink ENOENT, and O_CREAT|O_EXCL makes a new, empty inode (its pread reads 0 bytes
    /// although the old inode had 8 KiB written).
    /// </summary>
    [Test]
    public void CreateExclusiveUnlinkAndCreateAgain()
    {
        string t = Event("0", "open: {file: /dev/shm/f, fd: 3, flags: creat}")
            + Event("0", "write: {fd: 3, length: 8K}")
            + Event("0", "open: {file: /dev/shm/f, fd: 4, flags: creat|excl}")
            + Event("0", "unlink: {file: /dev/shm/f}")
            + Event("0", "open: {file: /dev/shm/f, fd: 5}")
            + Event("0", "unlink: {file: /dev/shm/f}")
            + Event("0", "open: {file: /dev/shm/f, fd: 6, flags: creat|excl}")
            + Event("0", "read: {fd: 6, length: 8K, offset: 0}")
            + Event("0", "read: {fd: 3, length: 8K, offset: 0}");
        using var m = Build(t);
        m.Run();
        Assert.That(Results(m), Is.EqualTo(new[]
        {
            "3", "8192", "-1 EEXIST (File exists)", "0", "-1 ENOENT (No such file or directory)", "-1 ENOENT (No such file or directory)", "6", "0", "8192",
        }));
        Assert.That(m.AddressSpace.Log.Any(l => l.Contains("openat(AT_FDCWD, \"/dev/shm/f\", O_RDWR|O_CREAT|O_EXCL, 0600) = 6", StringComparison.Ordinal)), Is.True);
    }

    /// <summary>
    /// pwrite of 40 KiB at 4 KiB into a new file: pages 1–10 are allocated (10 shmem frames, dirty), no fault is taken,
    /// and i_size becomes 44 KiB; a pread of 64 KiB from 0 stops at i_size (45,056 bytes) and allocates nothing for
    /// the hole at page 0; after ftruncate to 1 MiB a pread of the whole file reads 1 MiB of which 246 pages are holes,
    /// still with 10 frames.
    /// </summary>
    [Test]
    public void WriteAllocatesDirtyShmemPagesAndReadLeavesHoles()
    {
        string t = Event("0", "open: {file: /dev/shm/w, fd: 3, flags: creat}")
            + Event("0", "write: {fd: 3, length: 40K, offset: 4K}")
            + Event("0", "read: {fd: 3, length: 64K, offset: 0}")
            + Event("0", "ftruncate: {fd: 3, length: 1M}")
            + Event("0", "read: {fd: 3, length: 1M}");
        using var m = Build(t);
        m.Run();
        Assert.That(Results(m), Is.EqualTo(new[] { "3", "40960", "45056", "0", "1048576" }));
        Assert.That(ShmemFrames(m), Is.EqualTo(10));
        int dirty = 0;
        foreach (ref readonly Frame f in m.Kernel.Zone.Frames.AsSpan())
            if ((f.Flags & FrameFlags.Shmem) != 0 && (f.Flags & (FrameFlags.Buddy | FrameFlags.PcpList)) == 0 && (f.Flags & FrameFlags.Dirty) != 0)
                dirty++;
        Assert.That(dirty, Is.EqualTo(10), "shmem_write_end dirties every page written");
        var g = EcsMem.Systems.Reporting.MemoryGauges.Read(m.Kernel);
        Assert.That((g.ShmemPages, g.FileMapped), Is.EqualTo((10L, 0L)), "meminfo Shmem counts them, nothing maps them");
        Assert.That(Stats(m).MinFlt, Is.EqualTo(4), "only the workload's 4 anonymous first touches fault");
        Assert.That(m.Kernel.OpenFiles.ShmemSize(m.Kernel.Files.Intern("/dev/shm/w")), Is.EqualTo(1 << 20), "the file outlives the task (it has a name)");
    }

    /// <summary>
    /// Errors as Linux returns them: write on an O_RDONLY descriptor EBADF, read on an O_WRONLY one EBADF, a closed
    /// descriptor EBADF, FALLOC_FL_PUNCH_HOLE without KEEP_SIZE EOPNOTSUPP, a pwrite at MAX_LFS_FILESIZE's limit
    /// here (2^52 bytes: the page cache's 2^40 pages) EFBIG, fallocate of length 0 EINVAL.
    /// </summary>
    [Test]
    public void ErrorsAsLinux()
    {
        string t = Event("0", "open: {file: /dev/shm/e, fd: 3, flags: creat|rdonly}")
            + Event("0", "write: {fd: 3, length: 4K}")
            + Event("0", "open: {file: /dev/shm/e, fd: 4, flags: wronly}")
            + Event("0", "read: {fd: 4, length: 4K}")
            + Event("0", "write: {fd: 9, length: 4K}")
            + Event("0", "fallocate: {fd: 4, offset: 0, length: 4K, mode: punch_hole}")
            + Event("0", "write: {fd: 4, length: 4K, offset: 4503599627370496}")
            + Event("0", "fallocate: {fd: 4, offset: 0, length: 0}");
        using var m = Build(t);
        m.Run();
        Assert.That(Results(m), Is.EqualTo(new[]
        {
            "3", "-1 EBADF (Bad file descriptor)", "4", "-1 EBADF (Bad file descriptor)", "-1 EBADF (Bad file descriptor)",
            "-1 EOPNOTSUPP (Operation not supported)", "-1 EFBIG (File too large)", "-1 EINVAL (Invalid argument)",
        }));
    }

    /// <summary>
    /// A 64 KiB file mapped shared and written (16 pages), then paged out (MADV_PAGEOUT): 16 swap entries sit in its
    /// page-cache slots (info-&gt;swapped 16, 16 swap slots in use). Punching [8 KiB, 40 KiB) frees the 8 entries in it
    /// (shmem_free_swap: swapped 8, 8 slots); a pread of the whole file then takes the other 8 pages back from the swap
    /// cache into the object (swapped 0, no fault); fallocate mode 0 of the file fills the 8 punched pages again.
    /// </summary>
    [Test]
    public void PunchHoleFreesSwapEntriesAndReadTakesPagesBack()
    {
        string t = Event("0", "open: {file: /dev/shm/s, fd: 3, flags: creat}")
            + Event("0", "ftruncate: {fd: 3, length: 64K}")
            + Event("0", "mmap: {addr: 0x7f0000000000, length: 64K, prot: rw-, flags: shared, fd: 3, fixed: true}");
        using var m = Build(t, "ram: 64M, swap: 16M", "loop:count=100000,pages=16,base=0x7f0000000000,writes=1");
        var k = m.Kernel;
        Entity p = k.Tasks.Processes[0];
        var mm = k.Tasks.MmOf(p);
        int tgid = k.World.Get<Process>(p).Tgid;
        m.Run(() => Stats(m).Accesses >= 16, checkEvery: 1);
        Assert.That(Madvise.DoMadvise(k, mm, 0x7f0000000000, 16 * 4096, MadviseAdvice.PageOut, new List<VmaChange>(), m.Env, p, 0), Is.Zero);
        Assert.That(k.OpenFiles.Lookup(tgid, 3, out int file, out _), Is.True);
        Assert.That((k.OpenFiles.ShmemSwappedPages(file), k.PageCache.SwapEntries, k.Swap.UsedPages), Is.EqualTo((16L, 16, 16)));
        Assert.That(k.OpenFiles.Fallocate(m.Env, p, mm.Id, 0, tgid, 3, EcsMem.Systems.Filemap.OpenFiles.FallocKeepSize | EcsMem.Systems.Filemap.OpenFiles.FallocPunchHole, 8192, 32768), Is.Zero);
        Assert.That(k.OpenFiles.ShmemSwappedPages(file), Is.EqualTo(8));
        Assert.That(k.PageCache.SwapEntry(file, 2) + k.PageCache.SwapEntry(file, 9), Is.Zero, "pages 2–9 punched");
        Assert.That(k.PageCache.SwapEntry(file, 1), Is.GreaterThan(0));
        Assert.That(k.Swap.UsedPages, Is.EqualTo(8), "the punched pages' slots and swap-cache copies are freed");
        long min0 = Stats(m).MinFlt;
        // read(2) goes on page by page in the task's time (CallStep), its result given when it returns.
        Assert.That(k.OpenFiles.Read(m.Env, p, mm.Id, 0, tgid, 3, 0, 65536), Is.EqualTo(EcsMem.Systems.Filemap.OpenFiles.InProgress));
        var wired = k.OpenFiles.CallReturned;
        long read = 0;
        k.OpenFiles.CallReturned = (_, _, r) => read = r;
        int steps = 0;
        while (k.OpenFiles.InCall(p) && k.OpenFiles.CallStep(m.Env, p, 0, ref k.World.Get<ProcessStats>(p)))
            steps++;
        k.OpenFiles.CallReturned = wired;
        Assert.That((read, steps), Is.EqualTo((65536L, 16)), "one step a page");
        Assert.That((k.OpenFiles.ShmemSwappedPages(file), k.PageCache.SwapEntries, k.PageCache.Count), Is.EqualTo((0L, 0, 8)));
        Assert.That(Stats(m).MinFlt, Is.EqualTo(min0), "a read(2) takes no fault");
        Assert.That(k.OpenFiles.Fallocate(m.Env, p, mm.Id, 0, tgid, 3, 0, 0, 65536), Is.Zero);
        Assert.That(k.PageCache.Count, Is.EqualTo(16));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>
    /// unlink of a mapped file whose descriptor is closed: the inode lives (its 4 written pages stay, maps shows
    /// "/dev/shm/u (deleted)"), and munmap of the last mapping frees it with its pages (shmem_evict_inode).
    /// </summary>
    [Test]
    public void AnUnlinkedFileLivesWhileMapped()
    {
        string t = Event("0", "open: {file: /dev/shm/u, fd: 3, flags: creat}")
            + Event("0", "write: {fd: 3, length: 16K}")
            + Event("0", "mmap: {addr: 0x7f0000000000, length: 16K, prot: rw-, flags: shared, fd: 3, fixed: true}")
            + Event("0", "close: {fd: 3}")
            + Event("0", "unlink: {file: /dev/shm/u}")
            + Event("2", "munmap: {addr: 0x7f0000000000, length: 16K}");
        using var m = Build(t);
        var k = m.Kernel;
        m.Run(() => Stats(m).Accesses >= 1, checkEvery: 1);
        Assert.That(ShmemFrames(m), Is.EqualTo(4));
        var maps = ProcMaps.Format(k.Tasks.MmOf(k.Tasks.Processes[0]).Mm);
        Assert.That(maps, Does.Contain("/dev/shm/u (deleted)"));
        m.Run();
        Assert.That(ShmemFrames(m), Is.Zero);
        Assert.That(k.OpenFiles.ShmemFiles, Is.Zero);
    }
}
