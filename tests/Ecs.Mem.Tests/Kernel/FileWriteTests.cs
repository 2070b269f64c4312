using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Tests.Reliability;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// write(2) to a regular file (generic_perform_write on ext4, Linux 6.18): write_begin finds or adds a page-cache page
/// (charged to the writer's memory cgroup, the writer reclaiming at the limit), write_end marks it dirty
/// (folio_mark_dirty: nr_dirtied) and grows i_size, balance_dirty_pages_ratelimited may pause the writer, and the
/// flusher writes the dirty pages back. The kit programs file-write (8 MiB written, then mapped and read: 128 minor
/// faults, no major, as on the kernel) and file-write-memcg hold it against the kernel.
/// </summary>
public class FileWriteTests
{
    private const ulong Map = 0x7e0000000000;

    private static string Yaml(string machine, string timeline, int pages, string? cgroup = null) =>
        "machine: {" + machine + "}\n"
        + (cgroup is null ? "" : "cgroups:\n  - {name: g, memory.max: " + cgroup + "}\n")
        + "processes:\n  - name: p\n" + (cgroup is null ? "" : "    cgroup: g\n")
        + "    layout: {exec: {}}\n    workload:\n      generator: \"seq:count=" + pages + ",pages=" + pages + ",base=0x" + Map.ToString("x") + "\"\n"
        + "timeline:\n" + timeline;

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    /// <summary>An anonymous mapping for the task's own accesses (where the file is not mapped there).</summary>
    private static string AnonMap() => Event("0", $"mmap: {{addr: 0x{Map:x}, length: 1M, prot: rw-, flags: private, fixed: true}}");

    private static SimMachine Build(string yaml, int? batch = null) =>
        ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "file-write.yaml"), batch);

    /// <summary>The results of each logged call whose line contains <paramref name="call"/>, in log order.</summary>
    private static string[] Results(SimMachine m, string call) =>
        m.AddressSpace.Log.Where(l => l.Contains(call, StringComparison.Ordinal))
            .Select(l => l[(l.LastIndexOf(" = ", StringComparison.Ordinal) + 3)..]).ToArray();

    private static int Cached(SimMachine m, int file, long pages)
    {
        int n = 0;
        for (long i = 0; i < pages; i++)
            if (m.Kernel.PageCache.Find(file, i) >= 0)
                n++;
        return n;
    }

    /// <summary>
    /// A 1 MiB write(2) at the file position of a new file (O_CREAT|O_TRUNC) adds its 256 pages to the page cache, each
    /// dirtied once (nr_dirtied 256, by definition of folio_account_dirtied), and i_size becomes 1 MiB; a shared read-only
    /// mapping of the file then finds every page cached: its 256 reads take 256 / 16 = 16 minor faults (fault-around's
    /// 64 KiB window) and no major one, as the kit's file-write measured on the kernel (8 MiB: 128 minor, 0 major).
    /// </summary>
    [Test]
    public void AWriteMakesDirtyPageCachePagesAndTheReadsThatFollowAreMinor()
    {
        string t = Event("0", "open: {file: /data/new, fd: 3, flags: creat|trunc}")
            + Event("0", "write: {fd: 3, length: 1M}")
            + Event("0", $"mmap: {{addr: 0x{Map:x}, length: 1M, prot: r--, flags: shared, fd: 3, offset: 0, fixed: true}}");
        using var m = Build(Yaml("ram: 64M, swap: 0, writeback: async", t, 256));
        m.Run();
        var k = m.Kernel;
        int file = k.Files.Intern("/data/new");
        Assert.That(Results(m, "write("), Is.EqualTo(new[] { "1048576" }));
        Assert.That(k.OpenFiles.RegularSize(file), Is.EqualTo(1L << 20));
        Assert.That(Cached(m, file, 256), Is.EqualTo(256));
        Assert.That(m.Env.Counters.Get("nr_dirtied"), Is.EqualTo(256));
        for (long i = 0; i < 256; i++)
        {
            int pfn = k.PageCache.Find(file, i);
            Assert.That(k.Zone.Frames[pfn].Flags & (FrameFlags.Dirty | FrameFlags.Writeback), Is.Not.EqualTo(FrameFlags.None), $"page {i} is dirty or being written");
        }
        Assert.That(m.Env.Counters.Get("pgmajfault"), Is.Zero);
        Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(256 / 16));
        Assert.That(m.Env.Counters.Get("pgpgin"), Is.Zero, "nothing was read from the disk");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>
    /// write_begin reads a page from the disk first only when the write covers it in part and it holds data (inside
    /// i_size): 100 bytes into page 10 of a 64 KiB file read 4 kB (pgpgin), 100 bytes past its end read nothing, and a
    /// whole-page write inside it read nothing. i_size follows the writes' ends.
    /// </summary>
    [Test]
    public void APartialWriteInsideTheFileReadsThePageFirst()
    {
        string t = AnonMap() + Event("0", "open: {file: /data/old, fd: 3, flags: creat|trunc}")
            + Event("0", "ftruncate: {fd: 3, length: 64K}")
            + Event("0", "write: {fd: 3, length: 100, offset: 40965}")
            + Event("1", "write: {fd: 3, length: 100, offset: 70000}")
            + Event("2", "write: {fd: 3, length: 4096, offset: 8192}");
        using var m = Build(Yaml("ram: 64M, swap: 0", t, 4));
        m.Run();
        Assert.That(Results(m, "pwrite64("), Is.EqualTo(new[] { "100", "100", "4096" }));
        Assert.That(m.Env.Counters.Get("pgpgin"), Is.EqualTo(4), "one page read: the partial write inside i_size");
        Assert.That(m.Kernel.OpenFiles.RegularSize(m.Kernel.Files.Intern("/data/old")), Is.EqualTo(70100));
    }

    /// <summary>
    /// O_APPEND: each write(2) goes to i_size (6,000 + 6,000 bytes), and a pwrite on such a descriptor appends too
    /// (Linux ignores its offset, pwrite(2) BUGS). ftruncate shrinks the file and its page cache (to 2 pages for
    /// 4,097 bytes) and grows it without pages; open(O_TRUNC) empties it.
    /// </summary>
    [Test]
    public void AppendFtruncateAndOTruncMoveTheSizeAndThePageCache()
    {
        string t = AnonMap() + Event("0", "open: {file: /data/log, fd: 3, flags: creat|trunc|append}")
            + Event("0", "write: {fd: 3, length: 6000}")
            + Event("0", "write: {fd: 3, length: 6000}")
            + Event("0", "write: {fd: 3, length: 100, offset: 0}");
        string t2 = t + Event("1", "ftruncate: {fd: 3, length: 4097}");
        string t3 = t2 + Event("2", "ftruncate: {fd: 3, length: 1M}");
        string t4 = t3 + Event("3", "open: {file: /data/log, fd: 4, flags: trunc}");
        int Pages(SimMachine m) => Cached(m, m.Kernel.Files.Intern("/data/log"), 256);
        long Size(SimMachine m) => m.Kernel.OpenFiles.RegularSize(m.Kernel.Files.Intern("/data/log"));
        using (var m = Build(Yaml("ram: 64M, swap: 0", t, 4)))
        {
            m.Run();
            Assert.That(Size(m), Is.EqualTo(12100));
            Assert.That(Pages(m), Is.EqualTo(3));
        }
        using (var m = Build(Yaml("ram: 64M, swap: 0", t2, 4)))
        {
            m.Run();
            Assert.That(Size(m), Is.EqualTo(4097));
            Assert.That(Pages(m), Is.EqualTo(2));
        }
        using (var m = Build(Yaml("ram: 64M, swap: 0", t3, 4)))
        {
            m.Run();
            Assert.That(Size(m), Is.EqualTo(1L << 20));
            Assert.That(Pages(m), Is.EqualTo(2), "growing adds a hole, no page");
        }
        using (var m = Build(Yaml("ram: 64M, swap: 0", t4, 4)))
        {
            m.Run();
            Assert.That(Size(m), Is.Zero);
            Assert.That(Pages(m), Is.Zero);
            Assert.That(InvariantChecker.Check(m), Is.Empty);
        }
    }

    /// <summary>
    /// 8 MiB written into a new file from a group limited to 2 MiB (512 pages), cgroup v1 with async writeback and no
    /// swap: each new page is charged before it is added, the writer reclaiming its group when the charge would pass
    /// memory.max, so no page charge takes the group above 512 pages (a kernel-memory charge, forced in EcsMem, can:
    /// the xarray's slab pages; since session 14 the memcg reclaimer's reclaim_throttle moves one such charge to a
    /// moment the group is at its limit); what reclaim can free is what the flusher wrote
    /// (reclaim activates a dirty page and wakes the flusher), so at least 8 − 2 MiB was written back (pgpgout) and
    /// the write returns all of it without an OOM kill.
    /// </summary>
    [Test]
    public void AWriterUnderAMemcgLimitWaitsForWritebackAndNeverPassesTheLimit()
    {
        string t = AnonMap() + Event("0", "open: {file: /data/big, fd: 3, flags: creat|trunc}")
            + Event("0", "write: {fd: 3, length: 8M, offset: 0}");
        using var m = Build(Yaml("ram: 64M, swap: 0, writeback: async, cgroup_version: 1", t, 4, "2097152"));
        var g = m.Kernel.Memcg!.Find("g");
        long highest = 0, kmemAtLimit = 0, worstUnexplained = long.MinValue;
        bool above = false;
        m.Run(() =>
        {
            highest = Math.Max(highest, g.Usage);
            // A page charge never takes the group past its limit; only a kernel-memory charge (an xarray node's slab
            // page), which EcsMem forces above the limit, can (docs/kernel.md): when the group is first seen above 512,
            // what it stands above is kernel memory charged since it was last seen at or below the limit.
            if (g.Usage <= 512)
            {
                kmemAtLimit = g.Kmem;
                above = false;
            }
            else if (!above)
            {
                above = true;
                worstUnexplained = Math.Max(worstUnexplained, (g.Usage - 512) - (g.Kmem - kmemAtLimit));
            }
            return false;
        }, checkEvery: 1);
        Assert.That(Results(m, "pwrite64("), Is.EqualTo(new[] { "8388608" }));
        Assert.That(worstUnexplained, Is.LessThanOrEqualTo(0), "above the limit only by forced kernel memory");
        Assert.That(highest, Is.GreaterThan(480), "the group was filled up to its limit");
        Assert.That(m.Env.Counters.Get("pgpgout"), Is.GreaterThanOrEqualTo((8 - 2) * 1024), "kB written back");
        Assert.That(m.Env.Counters.Get("nr_dirtied"), Is.EqualTo(2048));
        Assert.That(g.Events[(int)EcsMem.Systems.Memcontrol.MemcgEvent.OomKill], Is.Zero);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>
    /// balance_dirty_pages_ratelimited: with vm.dirty_bytes at 1 MiB (background at half), a 16 MiB write passes the
    /// limit and its writer is paused (the counted pauses), so the write takes at least (pages beyond the limit) ×
    /// the disk's per-page write time of simulated time; with the default ratios on 256 MiB (thresholds of thousands
    /// of pages) the same write is never paused.
    /// </summary>
    [Test]
    public void ADirtyLimitPausesTheWriter()
    {
        string t = AnonMap() + Event("0", "open: {file: /data/throttled, fd: 3, flags: creat|trunc}")
            + Event("0", "write: {fd: 3, length: 16M, offset: 0}");
        using var free = Build(Yaml("ram: 256M, swap: 0, writeback: async", t, 4));
        free.Run();
        Assert.That(free.Env.Counters.Get("ecsmem_dirty_throttle_pauses"), Is.Zero);
        using var m = Build(Yaml("ram: 256M, swap: 0, writeback: async, dirty_bytes: 1M", t, 4));
        m.Run();
        Assert.That(Results(m, "pwrite64("), Is.EqualTo(new[] { "16777216" }));
        Assert.That(m.Env.Counters.Get("ecsmem_dirty_throttle_pauses"), Is.GreaterThan(0));
        long beyond = 4096 - 256 - 2 * 32; // the limit, and a ratelimit batch either side of it
        Assert.That((double)m.Env.Now, Is.GreaterThanOrEqualTo(beyond * (double)m.Kernel.Timing.DiskPageCycles));
    }

    /// <summary>The time (t=) of each logged call whose line contains <paramref name="call"/>, in log order.</summary>
    private static ulong[] Times(SimMachine m, string call) =>
        m.AddressSpace.Log.Where(l => l.Contains(call, StringComparison.Ordinal))
            .Select(l => ulong.Parse(l[2..l.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    /// <summary>
    /// fsync(2) after a 1 MiB write: with async writeback the 256 dirty pages go to the disk as one request
    /// (WB_SYNC_ALL, MIN_WRITEBACK_PAGES 1,024 a request) and the call returns once it completed, no sooner than the
    /// device takes for it (<c>latency.swap_write</c> + 255 × <c>latency.disk_page</c>); afterwards no page of the
    /// file is dirty or under writeback and nr_written counts the 256. With synchronous writeback the call writes the
    /// pages itself, 256 × <c>latency.swap_write</c>, 1,024 kB of pgpgout. fdatasync does the same here.
    /// </summary>
    [TestCase("async", "fsync")]
    [TestCase("sync", "fsync")]
    [TestCase("async", "fdatasync")]
    public void FsyncWritesTheFilesDirtyPagesAndWaitsForThem(string writeback, string call)
    {
        string t = AnonMap() + Event("0", "open: {file: /data/synced, fd: 3, flags: creat|trunc}")
            + Event("0", "write: {fd: 3, length: 1M, offset: 0}")
            + Event("0", call + ": {fd: 3}");
        using var m = Build(Yaml("ram: 64M, swap: 0, writeback: " + writeback, t, 4));
        m.Run();
        var k = m.Kernel;
        int file = k.Files.Intern("/data/synced");
        Assert.That(Results(m, call + "("), Is.EqualTo(new[] { "0" }));
        for (long i = 0; i < 256; i++)
        {
            int pfn = k.PageCache.Find(file, i);
            Assert.That(k.Zone.Frames[pfn].Flags & (FrameFlags.Dirty | FrameFlags.Writeback), Is.EqualTo(FrameFlags.None), $"page {i} is clean");
        }
        ulong took = Times(m, call + "(")[0] - Times(m, "pwrite64(")[0];
        var timing = k.Timing;
        if (writeback == "async")
        {
            Assert.That(m.Env.Counters.Get("nr_written"), Is.EqualTo(256));
            Assert.That(took, Is.GreaterThanOrEqualTo((ulong)(timing.SwapOutCycles + 255 * timing.DiskPageCycles)));
        }
        else
        {
            Assert.That(m.Env.Counters.Get("pgpgout"), Is.EqualTo(1024));
            Assert.That(took, Is.EqualTo((ulong)(256 * timing.SwapOutCycles)));
        }
    }

    /// <summary>The batch size never changes results: a limited group's file write beside the task's reads, at batches 1, 7 and 4096.</summary>
    [Test]
    public void TheSameRunAtEveryBatchSize()
    {
        string t = Event("0", "open: {file: /data/b, fd: 3, flags: creat|trunc}")
            + Event("0", "write: {fd: 3, length: 4M, offset: 0}")
            + Event("0", $"mmap: {{addr: 0x{Map:x}, length: 4M, prot: r--, flags: shared, fd: 3, offset: 0, fixed: true}}");
        string yaml = Yaml("ram: 64M, swap: 0, writeback: async, cgroup_version: 1", t, 1024, "2097152");
        string Figures(int batch)
        {
            using var m = Build(yaml, batch);
            m.Run();
            return $"{m.Env.Now} {m.Env.Counters.Get("pgfault")} {m.Env.Counters.Get("pgmajfault")} {m.Env.Counters.Get("pgpgout")} {m.Env.Counters.Get("pgpgin")}";
        }
        string one = Figures(1);
        Assert.That(Figures(7), Is.EqualTo(one));
        Assert.That(Figures(4096), Is.EqualTo(one));
    }
}
