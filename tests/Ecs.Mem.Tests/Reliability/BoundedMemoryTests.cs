using System.Diagnostics;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// A long trace must run in memory that does not grow with its length: the readers stream, the kernel's tables
/// are sized by the machine, and per-access work allocates nothing. Measured inside one run, between the 1st
/// and the 4th million accesses of a generator with a small footprint (so the working set is reached early).
/// </summary>
public class BoundedMemoryTests
{
    [Test]
    public void MemoryDoesNotGrowWithTraceLength()
    {
        const string yaml = """
            machine:
              ram: 4M
              swap: 8M
              quantum: 10000
            processes:
              - name: a
                layout:
                  exec: {file: /bin/a, text: 16K, heap: 2M}
                workload:
                  generator: "uniform:count=3000000,pages=256,writes=0.3,seed=1"
              - name: b
                layout:
                  exec: {file: /bin/b, text: 16K, heap: 8M}
                workload:
                  generator: "zipf:count=3000000,pages=1536,alpha=0.9,writes=0.5,seed=2"
            """;
        using var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(yaml));
        var clock = Stopwatch.StartNew();
        long RunTo(long accesses)
        {
            m.Run(stop: () => m.CompletedAccesses() >= accesses);
            return GC.GetTotalMemory(forceFullCollection: true);
        }
        long at1M = RunTo(1_000_000);
        long allocatedAt1M = GC.GetAllocatedBytesForCurrentThread();
        long ws1M = Process.GetCurrentProcess().WorkingSet64;
        long at4M = RunTo(4_000_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedAt1M;
        long ws4M = Process.GetCurrentProcess().WorkingSet64;
        double seconds = clock.Elapsed.TotalSeconds;
        TestContext.Out.WriteLine($"managed heap: {at1M / 1024} KiB at 1M accesses, {at4M / 1024} KiB at 4M; " +
                                  $"allocated {allocated / 1024} KiB during 3M accesses; working set {ws1M >> 20} -> {ws4M >> 20} MiB; {seconds:F1} s");
        Assert.That(m.CompletedAccesses(), Is.GreaterThanOrEqualTo(4_000_000));
        Assert.That(m.Env.Counters.Get("pswpout"), Is.GreaterThan(0), "the run must swap, so reclaim is part of the steady state");
        // Live managed memory: the same within 1 MiB (a leak of even 1 byte per access would add ~3 MiB).
        Assert.That(at4M - at1M, Is.LessThan(1L << 20));
        // Allocation in the steady state: well under one byte per access.
        Assert.That(allocated, Is.LessThan(3_000_000L));
    }
}
