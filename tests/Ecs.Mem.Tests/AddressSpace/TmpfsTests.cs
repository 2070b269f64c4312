using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Reporting;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// Files on tmpfs (/dev/shm) and the size of shmem files. Expectations from Linux 6.18's mm/shmem.c, worked by hand:
/// a tmpfs file is a shmem inode (its pages swap-backed, counted as Shmem and RssShmem, allocated zero-filled on a
/// first fault: never a major fault, no readahead; fault-around maps what is cached), it outlives its mappings and
/// descriptors (nothing unlinks it), fadvise on it is ignored (noop_backing_dev_info); and shmem_fault on a page at
/// or past i_size is VM_FAULT_SIGBUS (shmem_get_folio_gfp's size check), which MAP_POPULATE's gup ignores.
/// The kit programs tmpfs-file-read and memfd-sigbus-past-size hold the same against the kernel.
/// </summary>
public class TmpfsTests
{
    private const int Pages = 64;

    private static SimMachine Build(string timeline, string workload, string machine = "ram: 64M, swap: 0")
    {
        string yaml = "machine: {" + machine + "}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \"" + workload + "\"\n"
            + "timeline:\n" + timeline;
        return ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "tmpfs.yaml"));
    }

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    private static ProcessStats Stats(SimMachine m) => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]);

    private static Process Proc(SimMachine m) => m.Kernel.World.Get<Process>(m.Kernel.Tasks.Processes[0]);

    private static EcsMem.Systems.Kernel.MmState Mm(SimMachine m) => m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);

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

    /// <summary>
    /// 64 pages of a fresh /dev/shm file read through a shared mapping: each read finds no page and allocates a zeroed
    /// one (shmem_fault, no I/O): 64 minor faults, none major, pgpgin 0 — where a cold regular file would be read from
    /// disk. Fault-around finds only the pages already mapped, so it saves no fault. The pages are shmem (RssShmem 64,
    /// meminfo Shmem 256 kB), swap-backed and not anonymous.
    /// </summary>
    [Test]
    public void AFirstReadAllocatesAZeroedShmemPageWithoutIo()
    {
        string t = Event("0", "mmap: {addr: 0x7f0000000000, length: 256K, prot: r--, flags: shared, file: /dev/shm/data, fixed: true}");
        using var m = Build(t, "seq:count=64,pages=64,base=0x7f0000000000");
        m.Run();
        Assert.That(Stats(m).MinFlt, Is.EqualTo(Pages));
        Assert.That(Stats(m).MajFlt, Is.Zero);
        Assert.That(m.Env.Counters.Get("pgpgin"), Is.Zero, "nothing read from a disk");
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages), "the file keeps its pages after the process exits");
        var fields = MemInfo.Build(MemoryGauges.Read(m.Kernel)).ToDictionary(f => f.Name, f => f.Value);
        Assert.That(fields["Shmem"], Is.EqualTo(Pages * 4));
        foreach (var (file, _, pfn) in m.Kernel.PageCache.Entries())
        {
            Frame f = m.Kernel.Zone.Frames[pfn];
            Assert.That((f.IsShmem, f.IsAnon, (f.Flags & FrameFlags.SwapBacked) != 0), Is.EqualTo((true, false, true)));
            Assert.That(m.Kernel.Files[file].Path, Is.EqualTo("/dev/shm/data"));
        }
    }

    /// <summary>
    /// Populated through a shared writable mapping at X (64 read faults: gup reads a shared area, each allocating a
    /// page), which is then unmapped (the file keeps the pages: no descriptor, no mapping, but a tmpfs file is not freed
    /// until unlinked) and fadvise(DONTNEED)'d (ignored), then read through a second mapping at Y: 4 faults, each
    /// mapping the 16 cached pages of its 64 KiB block (fault-around), none major.
    /// </summary>
    [Test]
    public void ATmpfsFileOutlivesItsMappingAndIsReadBackWithFaultAround()
    {
        string t = Event("0", "mmap: {addr: 0x7f0000000000, length: 256K, prot: rw-, flags: shared, file: /dev/shm/data, fixed: true, populate: true}")
            + Event("0", "mmap: {addr: 0x7f1000000000, length: 256K, prot: r--, flags: shared, file: /dev/shm/data, fixed: true}")
            + Event("1", "munmap: {addr: 0x7f0000000000, length: 256K}")
            + Event("1", "fadvise: {file: /dev/shm/data, advice: dontneed}");
        using var m = Build(t, "seq:count=64,pages=64,base=0x7f1000000000");
        m.Run(() => Stats(m).Accesses >= 1, checkEvery: 1);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(Pages + 1), "64 populate faults, then Y's first read");
        Assert.That(Mm(m).Mm.Struct.RssFile, Is.Zero);
        m.Run(() => m.AddressSpace.Log.Count >= 4, checkEvery: 1);
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages), "unmapped at X: still cached");
        Assert.That(m.AddressSpace.Log[3], Does.Contain("fadvise64(").And.EndWith("= 0"));
        m.Run();
        Assert.That(Stats(m).MinFlt - Pages, Is.EqualTo(Pages / 16), "read back: one fault per 16 cached pages");
        Assert.That(Stats(m).MajFlt, Is.Zero);
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages), "the same pages, kept after the exit: none allocated, none dropped");
    }

    /// <summary>
    /// tmpfs pages are swappable: MADV_PAGEOUT of the 16 written pages writes each to swap (pswpout 16) with its swap
    /// entry kept in the file (shmem_writeout); the next 16 stores find them in the swap cache (16 minor faults).
    /// </summary>
    [Test]
    public void TmpfsPagesGoToSwap()
    {
        string t = Event("0", "mmap: {addr: 0x7f0000000000, length: 64K, prot: rw-, flags: shared, file: /dev/shm/data, fixed: true}");
        using var m = Build(t, "loop:count=100000,pages=16,base=0x7f0000000000,writes=1", "ram: 64M, swap: 16M");
        Entity p = m.Kernel.Tasks.Processes[0];
        m.Run(() => Stats(m).Accesses >= 16, checkEvery: 1);
        long r = Madvise.DoMadvise(m.Kernel, Mm(m), 0x7f0000000000, 16 * 4096, MadviseAdvice.PageOut, new List<VmaChange>(), m.Env, p, 0);
        Assert.That(r, Is.Zero);
        Assert.That(m.Env.Counters.Get("pswpout"), Is.EqualTo(16));
        Assert.That(m.Kernel.OpenFiles.ShmemSwapped, Is.EqualTo(16));
        Assert.That(Mm(m).Mm.Struct.RssShmem, Is.Zero);
        long min0 = Stats(m).MinFlt, acc0 = Stats(m).Accesses;
        m.Run(() => Stats(m).Accesses >= acc0 + 32, checkEvery: 1);
        Assert.That(Stats(m).MinFlt - min0, Is.EqualTo(16), "each page found in the swap cache: minor");
        Assert.That(Stats(m).MajFlt, Is.Zero);
        Assert.That(m.Kernel.OpenFiles.ShmemSwapped, Is.Zero);
    }

    /// <summary>
    /// A 16 KiB memfd (4 pages) mapped 32 KiB shared: stores to pages 0–3 are 4 minor faults; the store to page 4 lies
    /// at i_size, so shmem_fault fails with VM_FAULT_SIGBUS: the task dies of signal 7, its fault counted in pgfault
    /// (failed faults are) but not in min_flt (mm_account_fault skips VM_FAULT_ERROR).
    /// </summary>
    [Test]
    public void AFaultPastAMemfdsSizeIsSigbus()
    {
        string t = Event("0", "memfd_create: {name: small, fd: 3}")
            + Event("0", "ftruncate: {fd: 3, length: 16K}")
            + Event("0", "mmap: {addr: 0x7f0000000000, length: 32K, prot: rw-, flags: shared, fd: 3, fixed: true}");
        using var m = Build(t, "seq:count=8,pages=8,base=0x7f0000000000,writes=1");
        m.Run();
        Assert.That(Proc(m).ExitSignal, Is.EqualTo(7));
        Assert.That(Stats(m).MinFlt, Is.EqualTo(4));
        Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(Stats(m).MinFlt + Stats(m).MajFlt + 1), "the failed fault is in pgfault");
        Assert.That(m.Kernel.Tasks.KillLog, Has.Some.Contains("killed by signal 7").And.Some.Contains("7f0000004000"));
    }

    /// <summary>
    /// A 16 KiB memfd mapped 32 KiB at Y with MAP_POPULATE: gup stops at i_size without a signal (VM_FAULT_SIGBUS is
    /// -EFAULT, which mm_populate ignores): 4 pages, 4 read faults (each allocates; fault-around finds only mapped
    /// pages). Grown to 32 KiB and mapped populated at X: page 0's fault maps the cached pages 0–3 (fault-around), pages
    /// 4–7 are allocated one fault each: 5 faults, RssShmem 12. Truncated to 16 KiB again: X's pages 4–7 are unmapped
    /// and freed (RssShmem 8, 4 shmem pages left). The task's loads loop over Y's pages 0–3, which stay mapped.
    /// </summary>
    [Test]
    public void PopulateStopsAtTheSizeAndTruncationFreesTheTail()
    {
        string t = Event("0", "memfd_create: {name: shrink, fd: 3}")
            + Event("0", "ftruncate: {fd: 3, length: 16K}")
            + Event("0", "mmap: {addr: 0x7f1000000000, length: 32K, prot: rw-, flags: shared, fd: 3, fixed: true, populate: true}")
            + Event("10", "ftruncate: {fd: 3, length: 32K}")
            + Event("10", "mmap: {addr: 0x7f0000000000, length: 32K, prot: rw-, flags: shared, fd: 3, fixed: true, populate: true}")
            + Event("20", "ftruncate: {fd: 3, length: 16K}");
        using var m = Build(t, "loop:count=100000000,pages=4,base=0x7f1000000000");
        m.Run(() => Stats(m).Accesses >= 1, checkEvery: 1);
        Assert.That(Proc(m).ExitSignal, Is.Zero, "populate stopped at i_size without a signal");
        Assert.That(Mm(m).Mm.Struct.RssShmem, Is.EqualTo(4UL), "4 pages populated of 8 mapped");
        Assert.That(Stats(m).MinFlt, Is.EqualTo(4));
        m.Run(() => Stats(m).Accesses >= 11, checkEvery: 1);
        Assert.That(Mm(m).Mm.Struct.RssShmem, Is.EqualTo(12UL), "4 at Y and 8 at X after the file grew to 32 KiB");
        Assert.That(Stats(m).MinFlt, Is.EqualTo(4 + 5));
        m.Run(() => m.AddressSpace.Log.Count >= 6, checkEvery: 1);
        Assert.That(Mm(m).Mm.Struct.RssShmem, Is.EqualTo(8UL), "pages 4-7 unmapped at X");
        Assert.That(ShmemFrames(m), Is.EqualTo(4), "and freed");
        Assert.That(Proc(m).ExitSignal, Is.Zero);
    }

    /// <summary>
    /// A 32 KiB memfd mapped shared and written (8 faults), truncated to 16 KiB after the 8th store: pages 4–7 are
    /// unmapped and freed; the loop's next store to page 4 finds no PTE, and shmem_fault refuses it (past i_size):
    /// SIGBUS, after 12 completed stores.
    /// </summary>
    [Test]
    public void AStoreToATruncatedPageIsSigbus()
    {
        string t = Event("0", "memfd_create: {name: shrink, fd: 3}")
            + Event("0", "ftruncate: {fd: 3, length: 32K}")
            + Event("0", "mmap: {addr: 0x7f1000000000, length: 32K, prot: rw-, flags: shared, fd: 3, fixed: true}")
            + Event("8", "ftruncate: {fd: 3, length: 16K}");
        using var m = Build(t, "loop:count=16,pages=8,base=0x7f1000000000,writes=1");
        m.Run();
        Assert.That(Proc(m).ExitSignal, Is.EqualTo(7));
        Assert.That(Stats(m).MinFlt, Is.EqualTo(8));
        Assert.That(Stats(m).Accesses, Is.EqualTo(12));
        Assert.That(m.Kernel.Tasks.KillLog, Has.Some.Contains("7f1000004000"));
    }
}
