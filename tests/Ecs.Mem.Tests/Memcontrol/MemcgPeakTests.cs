using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>memory.peak (cgroup v2; v1's memory.max_usage_in_bytes): the memory page_counter's watermark (mm/page_counter.c page_counter_charge's watermark, memory_peak_show).</summary>
public class MemcgPeakTests
{
    private const string Base = MemcgTests.Base;

    [Test]
    public void MemoryPeakIsTheHighestMemoryCurrentOfTheRun()
    {
        // One writer in an unlimited group stores to 200 pages of its own mapping and exits. Nothing is reclaimed, so
        // the group's usage only grows until the last store and only falls after it (the exit frees everything):
        // the usage seen right after the 200th access is the run's highest, and memory.peak must report it.
        const string yaml = "machine: {ram: 64M}\n" +
            "cgroups:\n  - {name: box}\n" +
            "processes:\n  - name: w\n    cgroup: box\n    layout: {exec: {}}\n" +
            "    workload: {generator: \"seq:count=200,base=" + Base + ",pages=200,writes=1\"}\n" +
            "timeline:\n  - at: 0\n    process: w\n    mmap: {addr: " + Base + ", length: 819200, prot: rw-, flags: private, fixed: true}\n";
        using SimMachine m = MemcgTests.Build(yaml);
        MemcgTests.Advance(m, 200);
        long highest = m.Kernel.Memcg!.Find("box").Usage;
        Assert.That(highest, Is.GreaterThanOrEqualTo(200), "200 anonymous pages and their page tables");
        m.Run();
        var file = EcsMem.Systems.Reporting.MemcgFiles.Read(m.Kernel).Single(f => f.Path == "/box");
        Assert.That(file.Current, Is.EqualTo(m.Kernel.Memcg!.Find("box").Usage * 4096));
        Assert.That(file.Current, Is.LessThan(highest * 4096), "the exit uncharged the pages");
        Assert.That(file.Peak, Is.EqualTo(highest * 4096));
    }
}
