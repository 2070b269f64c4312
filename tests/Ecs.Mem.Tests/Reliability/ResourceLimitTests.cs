using System.Diagnostics;
using System.Text;
using EcsMem.Diagnostics;

namespace EcsMem.Tests.Reliability;

/// <summary>The limits of docs/reliability.md: what a scenario may ask for, and how it fails when it asks for more.</summary>
public class ResourceLimitTests
{
    private static string Processes(int n, string ram)
    {
        var sb = new StringBuilder($"machine:\n  ram: {ram}\n  swap: 0\nprocesses:\n");
        for (int i = 0; i < n; i++)
            sb.Append($"  - name: p{i}\n    layout:\n      exec: {{file: /bin/p, text: 16K, heap: 64K}}\n    workload:\n      generator: \"loop:count=50,pages=4\"\n");
        return sb.ToString();
    }

    [Test]
    public void TenThousandProcessesFailEarlyWithInputException()
    {
        var s = ReliabilityScenarios.Parse(Processes(10_000, "4G"));
        var ex = Assert.Throws<InputException>(() => ScenarioLoader.Build(s).Dispose());
        // The 4097th process is the first one over the limit; each process takes 5 lines after the 4 of the header.
        Assert.That(ex!.Line, Is.EqualTo(5 + (4096 * 5)));
        Assert.That(ex.Value, Is.EqualTo("4097"));
        Assert.That(ex.Problem, Is.EqualTo("the scenario creates more than 4096 processes (each costs about 100 KiB of host memory)"));
    }

    [Test]
    public void ChildrenAndForksCountTowardsTheLimit()
    {
        string yaml = Processes(1, "64M").Replace("      generator: \"loop:count=50,pages=4\"\n",
            "      generator: \"loop:count=50,pages=4\"\n    children:\n      count: 4096\n", StringComparison.Ordinal);
        var ex = Assert.Throws<InputException>(() => ScenarioLoader.Build(ReliabilityScenarios.Parse(yaml)).Dispose());
        Assert.That(ex!.Value, Is.EqualTo("4097"));
    }

    [Test]
    public void MoreRootTablesThanHalfOfRamIsRejected()
    {
        // 1 MiB = 256 frames; 129 processes would need 129 root-table frames, more than 128.
        var ex = Assert.Throws<InputException>(() => ScenarioLoader.Build(ReliabilityScenarios.Parse(Processes(129, "1M"))).Dispose());
        Assert.That(ex!.Problem, Is.EqualTo("129 processes need 129 page-table root frames, more than half of RAM (256 pages); give more RAM or fewer processes"));
        // 128 is allowed, runs, and stays consistent.
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(Processes(128, "1M")));
        m.RunChecked(every: 64);
        Assert.That(m.Finished, Is.True);
    }

    [Test]
    public void ThousandProcessesRunInBoundedHostMemory()
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(Processes(1000, "64M")));
        long built = GC.GetTotalMemory(forceFullCollection: true);
        m.Run();
        Assert.That(m.CompletedAccesses(), Is.EqualTo(1000 * 50));
        long perProcess = (built - before) / 1000;
        TestContext.Out.WriteLine($"{perProcess} bytes of host memory per process");
        Assert.That(perProcess, Is.LessThan(160 * 1024), "docs/reliability.md promises about 100 KiB per process");
    }

    [Test]
    public void SeventyThousandMmapsStopAtMaxMapCount()
    {
        // Non-adjacent one-page mappings never merge: each is a VMA until max_map_count refuses more (ENOMEM).
        const int n = 70_000;
        var sb = new StringBuilder("machine:\n  ram: 4M\n  swap: 0\nprocesses:\n  - name: p\n    layout:\n      exec: {file: /bin/p, text: 16K}\n    workload:\n      generator: \"loop:count=10,pages=1,base=0x10000\"\ntimeline:\n");
        for (int i = 0; i < n; i++)
            sb.Append($"  - at: 0\n    process: p\n    mmap: {{addr: 0x{0x100000000UL + ((ulong)i * 0x2000):x}, length: 4K, prot: rw-, flags: private, fixed: true}}\n");
        var clock = Stopwatch.StartNew();
        var s = ReliabilityScenarios.Parse(sb.ToString());
        using var m = ScenarioLoader.Build(s);
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);
        int initial = mm.Mm.Vmas.Count;
        m.Run();
        int refused = m.AddressSpace.Log.Count(l => l.EndsWith("= -1 ENOMEM (Cannot allocate memory)", StringComparison.Ordinal));
        TestContext.Out.WriteLine($"{initial} initial VMAs, {refused} refused, {clock.Elapsed.TotalSeconds:F1} s");
        // The VMA count stops exactly at the limit (65530 = 7 of the exec layout + 65523 mmaps); every mmap past it fails.
        int succeeded = m.AddressSpace.Log.Count(l => l.Contains(" mmap(", StringComparison.Ordinal) && l.EndsWith(" = 0x" + l[(l.IndexOf("mmap(0x", StringComparison.Ordinal) + 7)..l.IndexOf(',', StringComparison.Ordinal)], StringComparison.Ordinal));
        Assert.That(succeeded, Is.EqualTo(Mm.DefaultMaxMapCount - initial));
        Assert.That(refused, Is.EqualTo(initial + n - Mm.DefaultMaxMapCount));
        Assert.That(m.Finished, Is.True);
    }
}
