using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Tests.Reliability;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// A write(2) of zeros into a tmpfs file (the timeline's <c>write: {..., zero: true}</c>): the pages it fills hold only
/// zeros, so reclaim keeps them in the swap area's zeromap without I/O (swap_writeout → is_folio_zero_filled →
/// swap_zeromap_folio_set, Linux 6.12+) and a read takes them back without I/O (swap_read_folio_zeromap). Measured on
/// 6.18 with the kit program tmpfs-swap-memcg, whose pwrite copies the harness's zeroed buffer
/// (`flock /work/kernel.lock oracle/experiments/shmem-zeromap/run.sh 3`): swpout_zero +8,461 and pswpout +8 a run,
/// swpin_zero +6,154–6,160 and pswpin +11–14; with the buffer holding data, pswpout +10,098–10,122 and swpout_zero +124.
/// </summary>
public class ShmemZeroWriteTests
{
    private const ulong Anon = 0x7e0000000000;

    private static string Yaml(string machine, string timeline, string? cgroup = null) =>
        "machine: {" + machine + "}\n"
        + (cgroup is null ? "" : "cgroups:\n  - {name: g, memory.max: " + cgroup + "}\n")
        + "processes:\n  - name: p\n" + (cgroup is null ? "" : "    cgroup: g\n")
        + "    layout: {exec: {}}\n    workload:\n      generator: \"seq:count=4,pages=4,base=0x" + Anon.ToString("x") + "\"\n"
        + "timeline:\n" + Event("0", $"mmap: {{addr: 0x{Anon:x}, length: 16K, prot: rw-, flags: private, fixed: true}}") + timeline;

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    private static SimMachine Build(string yaml) =>
        ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "shmem-zero.yaml"));

    /// <summary>
    /// 16 MiB (4,096 pages) written under a 4 MiB limit (1,024 pages) with swap, then read back whole. With
    /// <c>zero: true</c> every page of the file that reclaim sends to swap is a zeromap slot: swpout_zero counts exactly
    /// the file's pages out on swap after the write (each went out once) and no file page is written to the disk
    /// (pswpout counts at most the process's 4 anonymous pages, which hold data); the read takes every swapped page back
    /// without I/O (swpin_zero at least the 3,072 that could not stay, pswpin at most those 4). The same write of data
    /// makes no zeromap slot and writes at least 3,072 pages to the disk.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void ZerosWrittenToAFileGoToTheZeromapWithoutIo(bool zero)
    {
        string z = zero ? ", zero: true" : "";
        string t = Event("0", "open: {file: /dev/shm/z, fd: 3, flags: creat|trunc}")
            + Event("0", $"write: {{fd: 3, length: 16M, offset: 0{z}}}")
            + Event("2", "read: {fd: 3, length: 16M, offset: 0}");
        using var m = Build(Yaml("ram: 64M, swap: 64M, writeback: async, cgroup_version: 1", t, "4194304"));
        var k = m.Kernel;
        int file = k.Files.Intern("/dev/shm/z");
        long swappedAfterWrite = -1, zeroOutAfterWrite = -1;
        m.Run(() =>
        {
            // The read's first step: the write has returned.
            if (swappedAfterWrite < 0 && m.AddressSpace.Log.Any(l => l.Contains("pwrite64(", StringComparison.Ordinal)))
            {
                swappedAfterWrite = k.OpenFiles.ShmemSwappedPages(file);
                zeroOutAfterWrite = m.Env.Counters.Get("swpout_zero");
            }
            return false;
        }, checkEvery: 1);
        Assert.That(swappedAfterWrite, Is.GreaterThanOrEqualTo(4096 - 1024), "what does not fit under the limit went to swap");
        if (zero)
        {
            Assert.That(zeroOutAfterWrite, Is.EqualTo(swappedAfterWrite), "each swapped page of the file is a zeromap slot");
            Assert.That(m.Env.Counters.Get("pswpout"), Is.LessThanOrEqualTo(4), "no page of the file went to the disk");
            Assert.That(m.Env.Counters.Get("swpin_zero"), Is.GreaterThanOrEqualTo(4096 - 1024), "the read took them back without I/O");
            Assert.That(m.Env.Counters.Get("pswpin"), Is.LessThanOrEqualTo(4));
        }
        else
        {
            Assert.That(zeroOutAfterWrite, Is.Zero);
            Assert.That(m.Env.Counters.Get("pswpout"), Is.GreaterThanOrEqualTo(4096 - 1024));
            Assert.That(m.Env.Counters.Get("swpin_zero"), Is.Zero);
        }
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>
    /// Which pages a write leaves zero-filled, by their contents: zeros into a hole (a new page, whose rest
    /// shmem_write_end zeroes) or over a whole page leave only zeros; half a page of zeros over data leaves data; data
    /// written into a zero-filled page leaves data.
    /// </summary>
    [Test]
    public void APageHoldsOnlyZerosWhenEveryByteOfItIsZero()
    {
        string t = Event("0", "open: {file: /dev/shm/p, fd: 3, flags: creat|trunc}")
            + Event("0", "write: {fd: 3, length: 2K, offset: 0, zero: true}")       // page 0: a hole, half written with zeros
            + Event("0", "write: {fd: 3, length: 4K, offset: 4096}")                // page 1: data
            + Event("0", "write: {fd: 3, length: 2K, offset: 4096, zero: true}")    // page 1: half its data zeroed
            + Event("0", "write: {fd: 3, length: 4K, offset: 8192}")                // page 2: data
            + Event("0", "write: {fd: 3, length: 4K, offset: 8192, zero: true}")    // page 2: all of it zeroed
            + Event("0", "write: {fd: 3, length: 4K, offset: 12288, zero: true}")   // page 3: zeros
            + Event("0", "write: {fd: 3, length: 1K, offset: 12288}");              // page 3: then some data
        using var m = Build(Yaml("ram: 64M, swap: 0", t));
        m.Run();
        var k = m.Kernel;
        int file = k.Files.Intern("/dev/shm/p");
        bool Zero(long index) => (k.Zone.Frames[k.PageCache.Find(file, index)].Flags & FrameFlags.ZeroFilled) != 0;
        Assert.That(new[] { Zero(0), Zero(1), Zero(2), Zero(3) }, Is.EqualTo(new[] { true, false, true, false }));
    }

    /// <summary><c>zero</c> is a write's key, true or false; a read has none. Bad input names file, line and value.</summary>
    [TestCase("write: {fd: 3, length: 4K, zero: maybe}", "shmem-zero.yaml:13: timeline[1].write.zero must be true or false (or on/off) (got 'maybe')")]
    [TestCase("read: {fd: 3, length: 4K, zero: true}", "shmem-zero.yaml:13: unknown key in timeline[1].read (expected one of: fd, length, offset) (got 'zero')")]
    public void ZeroIsAWritesKeyOnly(string op, string message)
    {
        var e = Assert.Throws<InputException>(() => Build(Yaml("ram: 64M", Event("0", op))));
        Assert.That(e!.Message, Is.EqualTo(message));
    }

    /// <summary>The scenario writer keeps the key: a zero write comes back from its YAML as one.</summary>
    [Test]
    public void TheWriterKeepsZero()
    {
        var s = ScenarioParser.Parse(new StringReader(Yaml("ram: 64M", Event("0", "write: {fd: 3, length: 4K, offset: 0, zero: true}"))), "w.yaml");
        string yaml = ScenarioWriter.ToYaml(s);
        Assert.That(yaml, Does.Contain("zero: true"));
        var again = ScenarioParser.Parse(new StringReader(yaml), "w2.yaml");
        Assert.That(again.Timeline.Select(e => e.Op).OfType<WriteOp>().Single(), Is.EqualTo(new WriteOp(3, 4096, 0, true)));
    }
}
