using BenchmarkDotNet.Attributes;
using EcsMem.Systems.Cpu;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Traces.Synthetic;
using MachineModel = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Perf;

/// <summary>
/// Fault-handling throughput on a first-touch workload: one access per page over 32,768 pages (128 MiB) in
/// 256 MiB of RAM, so every access is a page fault through the whole slow path (fault handling, allocator,
/// page-table install, TLB fill) and nothing is reclaimed. "write" faults allocate a zeroed frame
/// (do_anonymous_page); "read" faults map the shared zero page. Time per op is per fault.
/// </summary>
[MemoryDiagnoser]
public class PerfFaultBenchmarks
{
    private const int Pages = 32_768;

    [Params("write", "read")]
    public string Kind { get; set; } = "write";

    [Benchmark(OperationsPerInvoke = Pages)]
    public long FirstTouch()
    {
        string spec = $"seq:count={Pages},base=0x10000000,region=128M,elem=4096,writes={(Kind == "write" ? 1 : 0)}";
        using var machine = new MachineModel(new KernelOptions { RamBytes = 256L << 20, SwapBytes = 0 });
        machine.AddProcess("toucher", mm => mm.Inferred = new InferredLayout(mm.Mm), new Workload(WorkloadSpec.Parse(spec).Create()));
        machine.Run();
        return machine.Env.Counters.Get("pgfault");
    }
}
