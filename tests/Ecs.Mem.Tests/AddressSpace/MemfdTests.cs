using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// memfd_create and descriptors. Expectations from Linux 6.18's rules: a memfd is a shmem inode whose pages live in
/// its own page cache until the inode goes, which is when neither a descriptor nor a mapping refers to it (the last
/// fput); a shared mapping's faults allocate shmem pages (RssShmem), a private mapping's writes copy them (RssAnon);
/// vma_merge joins file mappings only of one struct file with continuing offsets (is_mergeable_vma's vm_file test).
/// The kit programs memfd and merge-file-pgoff hold the same against the kernel's recorded figures.
/// </summary>
public class MemfdTests
{
    private const ulong X = 0x7f0000000000;
    private const ulong Y = 0x7f1000000000;
    private const int Pages = 64;

    /// <summary>
    /// One process looping over one anonymous page at 0x7e0000000000 (so its accesses never touch the memfd) with
    /// the given timeline; the memfd's pages come from MAP_POPULATE (read faults, which allocate shmem pages).
    /// </summary>
    private static SimMachine Build(string timeline, string workload = "loop:count=100000000,base=0x7e0000000000,pages=1")
    {
        string yaml = "machine: {ram: 64M, swap: 0}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \"" + workload + "\"\n"
            + "timeline:\n  - after: 0\n    process: p\n    mmap: {addr: 0x7e0000000000, length: 4096, prot: rw-, flags: private, fixed: true}\n" + timeline;
        return ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "memfd.yaml"));
    }

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    private static ProcessStats Stats(SimMachine m) => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]);

    private static EcsMem.Systems.Kernel.MmState Mm(SimMachine m) => m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);

    private static string Log(SimMachine m) => string.Join("\n", m.AddressSpace.Log);

    /// <summary>Runs until the address-space log holds <paramref name="lines"/> calls (the tick of the last one ends first).</summary>
    private static void RunToCall(SimMachine m, int lines) => m.Run(() => m.AddressSpace.Log.Count >= lines, checkEvery: 1);

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

    [Test]
    public void PagesLiveUntilTheLastDescriptorAndMappingAreGone()
    {
        // memfd_create + ftruncate(256K) + a populated shared mapping: 64 shmem pages (RssShmem 64).
        // munmap: the descriptor keeps the inode, so the 64 pages stay cached (RssShmem 0).
        // A second populated mapping finds them all (4 minor faults, fault-around mapping 16 pages each; no new page).
        // close: the mapping keeps the inode. munmap of the last mapping: the inode goes and its 64 pages are freed.
        string t = Event("1", "memfd_create: {name: test, fd: 3, cloexec: true}")
            + Event("1", "ftruncate: {fd: 3, length: 256K}")
            + Event("1", "mmap: {addr: 0x7f0000000000, length: 256K, prot: rw-, flags: shared, fd: 3, fixed: true, populate: true}")
            + Event("10", "munmap: {addr: 0x7f0000000000, length: 256K}")
            + Event("20", "mmap: {addr: 0x7f1000000000, length: 256K, prot: r--, flags: shared, fd: 3, fixed: true, populate: true}")
            + Event("30", "close: {fd: 3}")
            + Event("40", "munmap: {addr: 0x7f1000000000, length: 256K}");
        using var m = Build(t);
        RunToCall(m, 4);
        m.Run(() => Mm(m).Mm.Struct.RssShmem == Pages || m.AddressSpace.Log.Count >= 5, checkEvery: 1); // the populate
        Assert.That(m.AddressSpace.Log, Has.Count.EqualTo(4));
        Assert.That(Log(m), Does.Contain(Strace.Line("memfd_create(\"test\", MFD_CLOEXEC)", "3")));
        Assert.That(Log(m), Does.Contain(Strace.Line("ftruncate(3</memfd:test (deleted)>, 262144)", "0")));
        Assert.That(Log(m), Does.Contain("MAP_SHARED|MAP_FIXED|MAP_POPULATE, 3</memfd:test (deleted)>, 0) = 0x7f0000000000"));
        Assert.That(Mm(m).Mm.Struct.RssShmem, Is.EqualTo((ulong)Pages));
        Assert.That(Mm(m).Mm.Struct.RssFile, Is.EqualTo(0UL));
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages));
        Assert.That(m.Kernel.PageCache.Count, Is.EqualTo(Pages));
        string maps = ProcMapsText(m);
        Assert.That(maps, Does.Contain("7f0000000000-7f0000040000 rw-s 00000000 00:01 1"));
        Assert.That(maps, Does.Contain("/memfd:test (deleted)"));

        RunToCall(m, 5); // munmap
        Assert.That(Mm(m).Mm.Struct.RssShmem, Is.EqualTo(0UL));
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages), "the descriptor keeps the pages");
        long faultsBefore = Stats(m).MinFlt;

        RunToCall(m, 6); // the second mapping
        m.Run(() => Mm(m).Mm.Struct.RssShmem == Pages, checkEvery: 1);
        // The populate's read faults find the pages cached: each maps 16 (fault-around, 64 KiB), 4 minor faults in all.
        Assert.That(Stats(m).MinFlt - faultsBefore, Is.EqualTo(Pages / 16));
        Assert.That(Stats(m).MajFlt, Is.EqualTo(0));
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages), "the same pages: none allocated");

        RunToCall(m, 7); // close
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages), "the mapping keeps the pages after close");
        Assert.That(m.Kernel.OpenFiles.ShmemFiles, Is.EqualTo(1));

        long free = m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages;
        RunToCall(m, 8); // munmap of the last mapping
        Assert.That(ShmemFrames(m), Is.EqualTo(0));
        Assert.That(m.Kernel.PageCache.Count, Is.EqualTo(0));
        Assert.That(m.Kernel.OpenFiles.ShmemFiles, Is.EqualTo(0));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.GreaterThanOrEqualTo(free + Pages));
    }

    [Test]
    public void ExitClosesTheDescriptorAndFreesAnUnmappedMemfd()
    {
        // The memfd is populated, unmapped, and held by its descriptor alone; the process then exits: exit_files
        // drops the last reference and the pages go.
        string t = Event("1", "memfd_create: {name: test, fd: 3}")
            + Event("1", "ftruncate: {fd: 3, length: 256K}")
            + Event("1", "mmap: {addr: 0x7f0000000000, length: 256K, prot: rw-, flags: shared, fd: 3, fixed: true, populate: true}")
            + Event("10", "munmap: {addr: 0x7f0000000000, length: 256K}")
            + Event("20", "exit: {}");
        using var m = Build(t);
        RunToCall(m, 5);
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages));
        RunToCall(m, 6);
        Assert.That(Log(m), Does.Contain("exit_group(0)"));
        Assert.That(ShmemFrames(m), Is.EqualTo(0));
        Assert.That(m.Kernel.OpenFiles.ShmemFiles, Is.EqualTo(0));
    }

    [Test]
    public void APrivateMappingCopiesOnWriteAndLeavesTheMemfdAlone()
    {
        // A populated shared mapping at Y (64 shmem pages), and a private writable mapping of the same memfd at X that
        // the loop writes: each first store is do_cow_fault, a private copy (64 minor faults, RssAnon 64), while the
        // memfd keeps its 64 pages (RssShmem 64 from Y).
        string t = Event("0", "memfd_create: {name: cow, fd: 3}")
            + Event("0", "ftruncate: {fd: 3, length: 256K}")
            + Event("0", "mmap: {addr: 0x7f1000000000, length: 256K, prot: rw-, flags: shared, fd: 3, fixed: true, populate: true}")
            + Event("0", "mmap: {addr: 0x7f0000000000, length: 256K, prot: rw-, flags: private, fd: 3, fixed: true}");
        using var m = Build(t, "loop:count=100000000,base=0x7f0000000000,pages=64,writes=1");
        m.Run(() => Stats(m).Accesses >= 2 * Pages, checkEvery: 1);
        var s = Mm(m).Mm.Struct;
        Assert.That(s.RssAnon, Is.EqualTo((ulong)Pages));
        Assert.That(s.RssShmem, Is.EqualTo((ulong)Pages));
        Assert.That(m.Env.Counters.Get("ecsmem_cow_copy"), Is.EqualTo(Pages));
        Assert.That(Stats(m).MinFlt, Is.EqualTo(2 * Pages), "64 populate faults at Y, 64 copy faults at X");
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages));
    }

    [Test]
    public void APrivateWriteToAHoleAllocatesTheShmemPageAndCopiesIt()
    {
        // No populate: each store to the private mapping finds no page; shmem_fault allocates one in the memfd and
        // do_cow_fault copies it, in one minor fault: 64 faults, 64 shmem pages cached (none mapped), RssAnon 64.
        string t = Event("0", "memfd_create: {name: cow, fd: 3}")
            + Event("0", "ftruncate: {fd: 3, length: 256K}")
            + Event("0", "mmap: {addr: 0x7f0000000000, length: 256K, prot: rw-, flags: private, fd: 3, fixed: true}");
        using var m = Build(t, "loop:count=100000000,base=0x7f0000000000,pages=64,writes=1");
        m.Run(() => Stats(m).Accesses >= 2 * Pages, checkEvery: 1);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(Pages));
        Assert.That(Stats(m).MajFlt, Is.EqualTo(0));
        Assert.That(Mm(m).Mm.Struct.RssAnon, Is.EqualTo((ulong)Pages));
        Assert.That(Mm(m).Mm.Struct.RssShmem, Is.EqualTo(0UL));
        Assert.That(ShmemFrames(m), Is.EqualTo(Pages));
    }

    [Test]
    public void FileMappingsMergeOnlyWithinOneOpenAndContinuingOffsets()
    {
        // fd 3: [0, 1M) at X and [1M, 2M) right after: one struct file, offsets continue → one VMA.
        // fd 4 (a second open of the same file): [2M, 3M) right after → another struct file → a second VMA.
        // fd 4 again: [4M, 5M) right after → offsets jump → a third VMA. Three VMAs, not one (or two without the
        // struct-file rule). Two mappings by path (no descriptor: the implicit open) after them merge with each
        // other but not with the fd 4 one: four VMAs in all.
        string t = Event("0", "open: {file: data, fd: 3}")
            + Event("0", "mmap: {addr: 0x7f0000000000, length: 1M, prot: r--, flags: private, fd: 3, offset: 0, fixed: true}")
            + Event("0", "mmap: {addr: 0x7f0000100000, length: 1M, prot: r--, flags: private, fd: 3, offset: 1M, fixed: true}")
            + Event("0", "open: {file: data, fd: 4}")
            + Event("0", "mmap: {addr: 0x7f0000200000, length: 1M, prot: r--, flags: private, fd: 4, offset: 2M, fixed: true}")
            + Event("0", "mmap: {addr: 0x7f0000300000, length: 1M, prot: r--, flags: private, fd: 4, offset: 4M, fixed: true}")
            + Event("0", "close: {fd: 3}")
            + Event("0", "close: {fd: 4}")
            + Event("0", "mmap: {addr: 0x7f0000400000, length: 1M, prot: r--, flags: private, file: data, offset: 5M, fixed: true}")
            + Event("0", "mmap: {addr: 0x7f0000500000, length: 1M, prot: r--, flags: private, file: data, offset: 6M, fixed: true}");
        using var m = Build(t);
        RunToCall(m, 11);
        var vmas = new List<(ulong Start, ulong End, ulong PgOff)>();
        foreach (ref readonly Vma v in Mm(m).Mm.Vmas)
        {
            if (v.Start >= X && v.End <= X + (7UL << 20))
                vmas.Add((v.Start, v.End, v.PgOff));
        }

        Assert.That(vmas, Is.EqualTo(new[]
        {
            (X, X + (2UL << 20), 0UL),
            (X + (2UL << 20), X + (3UL << 20), 512UL),
            (X + (3UL << 20), X + (4UL << 20), 1024UL),
            (X + (4UL << 20), X + (6UL << 20), 1280UL),
        }));
        Assert.That(Log(m), Does.Contain(Strace.Line("openat(AT_FDCWD, \"data\", O_RDWR)", "4")));
        Assert.That(Log(m), Does.Contain(Strace.Line("close(3<data>)", "0")));
    }

    [Test]
    public void BadDescriptorsAreEbadf()
    {
        string t = Event("0", "close: {fd: 7}")
            + Event("0", "mmap: {addr: 0x7f0000000000, length: 4096, prot: r--, flags: shared, fd: 7, fixed: true}")
            + Event("0", "ftruncate: {fd: 7, length: 4096}");
        using var m = Build(t);
        RunToCall(m, 4);
        string log = Log(m);
        Assert.That(log, Does.Contain(Strace.Line("close(7)", "-1 EBADF (Bad file descriptor)")));
        Assert.That(log, Does.Contain(", 7, 0) = -1 EBADF (Bad file descriptor)"));
        Assert.That(log, Does.Contain(Strace.Line("ftruncate(7, 4096)", "-1 EBADF (Bad file descriptor)")));
    }

    [Test]
    public void FileAndFdTogetherIsOneClearError()
    {
        string yaml = "processes:\n  - name: p\n    workload: {generator: \"seq:count=1,pages=1\"}\ntimeline:\n  - after: 0\n    process: p\n"
            + "    mmap: {addr: 0x7f0000000000, length: 4096, file: data, fd: 3}\n";
        var e = Assert.Throws<InputException>(() => ScenarioParser.Parse(new StringReader(yaml), "x.yaml"));
        Assert.That(e!.Message, Does.StartWith("x.yaml:7"));
        Assert.That(e.Message, Does.Contain("both 'file' and 'fd'"));
    }

    private static string ProcMapsText(SimMachine m)
    {
        var sb = new System.Text.StringBuilder();
        foreach (ref readonly Vma v in Mm(m).Mm.Vmas)
            ProcMaps.WriteVma(sb, v, Mm(m).Mm.Files, Mm(m).Mm.Mode.PointerSize);
        return sb.ToString();
    }
}
