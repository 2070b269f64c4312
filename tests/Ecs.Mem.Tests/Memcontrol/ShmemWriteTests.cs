using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Tests.Reliability;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// write(2) to a tmpfs file in simulated time (generic_perform_write → shmem_write_begin → shmem_get_folio_gfp, Linux
/// 6.18): one page a step, each new page allocated and charged to the writer's group (mem_cgroup_charge), the writer
/// reclaiming its group itself whenever the charge would pass memory.max (try_to_free_mem_cgroup_pages), so the group
/// never stands above its limit; each page takes the writer's CPU the measured per-page time
/// (oracle/experiments/shmem-write-cost); the task's later calls wait for the write to return. The kit program
/// tmpfs-swap-memcg holds the write phase's swap figure against the kernel.
/// </summary>
public class ShmemWriteTests
{
    private const ulong Anon = 0x7e0000000000;

    private static string Yaml(string machine, string timeline, string? cgroup = null, string? second = null) =>
        "machine: {" + machine + "}\n"
        + (cgroup is null ? "" : "cgroups:\n  - {name: g, memory.max: " + cgroup + "}\n")
        + "processes:\n  - name: p\n" + (cgroup is null ? "" : "    cgroup: g\n")
        + "    layout: {exec: {}}\n    workload:\n      generator: \"seq:count=4,pages=4,base=0x" + Anon.ToString("x") + "\"\n"
        + (second ?? "")
        + "timeline:\n" + Event("0", $"mmap: {{addr: 0x{Anon:x}, length: 16K, prot: rw-, flags: private, fixed: true}}") + timeline;

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    private static SimMachine Build(string yaml, int? batch = null) =>
        ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "shmem-write.yaml"), batch);

    /// <summary>The time (t=) and result of each logged call whose line contains <paramref name="call"/>, in log order.</summary>
    private static (ulong Time, string Result)[] Calls(SimMachine m, string call) =>
        m.AddressSpace.Log.Where(l => l.Contains(call, StringComparison.Ordinal))
            .Select(l => (ulong.Parse(l[2..l.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture),
                l[(l.LastIndexOf(" = ", StringComparison.Ordinal) + 3)..]))
            .ToArray();

    /// <summary>
    /// A 16 MiB pwrite (4,096 pages) into a new tmpfs file from a group limited to 4 MiB (1,024 pages), with swap:
    /// page_counter_try_charge refuses every charge that would pass memory.max and the writer reclaims before charging
    /// again, so the group's usage is at most 1,024 pages after every tick of the write (the one-step write this
    /// replaces charged all 4,096 at once: 3,000 above the limit). The write returns all 16 MiB; every page of the file
    /// is in its page cache or out on swap (4,096 in all), the reclaims counted memory.events max, and no OOM kill. A
    /// pread of the whole file afterwards reads the swapped pages back (shmem_swapin_folio), each charged the same way:
    /// the limit holds through it too.
    /// </summary>
    [Test]
    public void TheWriterReclaimsItsGroupPageByPageAndNeverPassesTheLimit()
    {
        string t = Event("0", "open: {file: /dev/shm/big, fd: 3, flags: creat|trunc}")
            + Event("0", "write: {fd: 3, length: 16M, offset: 0}")
            + Event("0", "read: {fd: 3, length: 16M, offset: 0}");
        using var m = Build(Yaml("ram: 64M, swap: 64M, writeback: async, cgroup_version: 1", t, "4194304"));
        var k = m.Kernel;
        var g = k.Memcg!.Find("g");
        Assert.That(g.Max, Is.EqualTo(1024));
        long highest = 0;
        m.Run(() =>
        {
            highest = Math.Max(highest, g.Usage);
            return false;
        }, checkEvery: 1);
        Assert.That(highest, Is.LessThanOrEqualTo(1024), "the group never stands above memory.max");
        Assert.That(highest, Is.GreaterThan(1000), "it was filled up to its limit");
        Assert.That(Calls(m, "pwrite64(").Select(c => c.Result), Is.EqualTo(new[] { "16777216" }));
        Assert.That(Calls(m, "pread64(").Select(c => c.Result), Is.EqualTo(new[] { "16777216" }));
        Assert.That(m.Env.Counters.Get("pswpin"), Is.GreaterThanOrEqualTo(4096 - 1024), "the read took the swapped pages back, charging each");
        int file = k.Files.Intern("/dev/shm/big");
        int cached = 0;
        for (long i = 0; i < 4096; i++)
            if (k.PageCache.Find(file, i) >= 0)
                cached++;
        long swapped = k.OpenFiles.ShmemSwappedPages(file);
        Assert.That(cached + swapped, Is.EqualTo(4096), "every page written is in the file's cache or on swap");
        Assert.That(swapped, Is.GreaterThanOrEqualTo(4096 - 1024), "at least what does not fit under the limit went to swap");
        Assert.That(g.Events[(int)EcsMem.Systems.Memcontrol.MemcgEvent.Max], Is.GreaterThan(0));
        Assert.That(g.Events[(int)EcsMem.Systems.Memcontrol.MemcgEvent.OomKill], Is.Zero);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>
    /// The time a write takes, on one CPU with no limit reached: a 1 MiB pwrite into a new file adds 256 pages, each
    /// <see cref="EcsMem.Systems.Timing.TimingModel.ShmemWriteNewPageCycles"/>; a second pwrite of the same MiB finds
    /// every page cached, each <see cref="EcsMem.Systems.Timing.TimingModel.ShmemCopyPageCycles"/>. The second
    /// call, made while the first was in progress, waits for it: it starts when the first returns, so the times of the
    /// log lines (each written when its call returns) are 256 × the cached cost apart; the pread after it waits too and
    /// copies the 256 cached pages (shmem_file_read_iter, the same cost a page). The task's CPU time counts the calls.
    /// </summary>
    [Test]
    public void AWriteTakesItsPagesTimeAndTheTasksNextCallWaitsForIt()
    {
        // After the task's second access: it is running, so nothing (a first switch to it) comes between the calls.
        string t = Event("2", "open: {file: /dev/shm/timed, fd: 3, flags: creat}")
            + Event("2", "write: {fd: 3, length: 1M, offset: 0}")
            + Event("2", "write: {fd: 3, length: 1M, offset: 0}")
            + Event("2", "read: {fd: 3, length: 1M, offset: 0}");
        using var m = Build(Yaml("ram: 64M, swap: 0", t));
        var timing = m.Kernel.Timing;
        m.Run();
        var open = Calls(m, "openat(");
        var writes = Calls(m, "pwrite64(");
        var reads = Calls(m, "pread64(");
        Assert.That(writes.Select(w => w.Result), Is.EqualTo(new[] { "1048576", "1048576" }));
        Assert.That(writes[1].Time - writes[0].Time, Is.EqualTo(256UL * (ulong)timing.ShmemCopyPageCycles));
        Assert.That(writes[0].Time - open[0].Time, Is.EqualTo(256UL * (ulong)timing.ShmemWriteNewPageCycles),
            "the first write starts where open returned (same tick, same CPU)");
        Assert.That(reads.Single().Time - writes[1].Time, Is.EqualTo(256UL * (ulong)timing.ShmemCopyPageCycles), "the read waited for the second write, then copied 256 cached pages");
        Assert.That(reads.Single().Result, Is.EqualTo("1048576"));
        int iWrite2 = m.AddressSpace.Log.FindLastIndex(l => l.Contains("pwrite64(", StringComparison.Ordinal));
        int iRead = m.AddressSpace.Log.FindIndex(l => l.Contains("pread64(", StringComparison.Ordinal));
        Assert.That(iRead, Is.GreaterThan(iWrite2));
        long cpu = m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]).CpuCycles;
        Assert.That(cpu, Is.GreaterThanOrEqualTo(256 * (timing.ShmemWriteNewPageCycles + 2 * timing.ShmemCopyPageCycles)));
    }

    /// <summary>
    /// The batch size is a performance knob: a limited group's write with swap, beside a second process faulting on
    /// another CPU, gives the same run (every counter, frame and statistic in the machine dump) at 1, 7 and 4096
    /// accesses per tick.
    /// </summary>
    [Test]
    public void TheWriteRunsTheSameAtEveryBatchSize()
    {
        string t = Event("0", "open: {file: /dev/shm/det, fd: 3, flags: creat|trunc}")
            + Event("0", "write: {fd: 3, length: 6M, offset: 0}")
            + Event("2", "write: {fd: 3, length: 64K}");
        string other = "  - name: q\n    layout: {exec: {}}\n    workload:\n      generator: \"loop:count=3000,pages=1500,base=0x7d0000000000\"\n";
        string yaml = Yaml("ram: 64M, swap: 64M, cpus: 2, writeback: async, cgroup_version: 1", t, "4194304", other);
        string Dump(int batch)
        {
            using var m = Build(yaml, batch);
            m.Run();
            Assert.That(m.Finished, Is.True);
            Assert.That(Calls(m, "pwrite64(").Select(c => c.Result), Is.EqualTo(new[] { "6291456" }));
            Assert.That(Calls(m, " write(").Select(c => c.Result), Is.EqualTo(new[] { "65536" }));
            return MachineDump.Of(m);
        }
        string big = Dump(4096);
        Assert.That(DeterminismTests.FirstDifference(Dump(7), big), Is.Null, "batch 7 vs 4096");
        Assert.That(DeterminismTests.FirstDifference(Dump(1), big), Is.Null, "batch 1 vs 4096");
    }
}
