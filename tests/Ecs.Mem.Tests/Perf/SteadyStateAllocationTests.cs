using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Traces.Synthetic;
using MachineModel = EcsMem.Systems.Machine.Machine;
using Workload = EcsMem.Systems.Access.Workload;

namespace EcsMem.Tests.Perf;

public class SteadyStateAllocationTests
{
    /// <summary>
    /// A process loops over a working set that fits in RAM (2048 pages = 8 MiB of 64 MiB) but not in the TLBs
    /// (1536 STLB entries), so the steady state exercises TLB hits, STLB hits, page walks with TLB fills and
    /// all cache levels, but no faults. Once warm, running a million more accesses must allocate nothing.
    /// </summary>
    [TestCase(4096)]
    [TestCase(1)]
    public void WarmMachineAllocatesNothingPerAccess(int batchSize)
    {
        using var m = new MachineModel(new KernelOptions { RamBytes = 64L << 20, SwapBytes = 16L << 20, BatchSize = batchSize });
        var workload = new Workload(WorkloadSpec.Parse("loop:count=3000000,pages=2048,writes=0.3,base=0x10000000").Create());
        m.AddProcess("loop", mm => mm.Inferred = new InferredLayout(mm.Mm), workload);

        while (m.CompletedAccesses() < 500_000)
            m.Env.RunTick();
        long faultsWarm = m.Env.Counters.Get("pgfault");
        long walksWarm = m.Env.Counters.Get("stlb_miss");
        long start = m.CompletedAccesses();

        long before = GC.GetAllocatedBytesForCurrentThread();
        while (m.CompletedAccesses() < start + 1_000_000)
            m.Env.RunTick();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The window really was the steady state we meant: no fault, but page walks (the loop's 2048 pages
        // cycle through a 1536-entry STLB with LRU, so each of the 1M accesses misses it).
        Assert.That(faultsWarm, Is.GreaterThanOrEqualTo(2048));
        Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(faultsWarm));
        Assert.That(m.Env.Counters.Get("stlb_miss") - walksWarm, Is.GreaterThan(500_000));
        Assert.That(allocated, Is.EqualTo(0), $"bytes allocated over 1,000,000 warm accesses (batch size {batchSize})");
    }
}
