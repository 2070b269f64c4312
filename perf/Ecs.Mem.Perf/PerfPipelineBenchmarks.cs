using BenchmarkDotNet.Attributes;
using EcsMem.Systems.Cpu;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Traces;
using MachineModel = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Perf;

/// <summary>
/// End to end: a whole <see cref="MachineModel"/> (TLBs, page walks, faults, allocator, reclaim and swap, L1/L2/L3)
/// running one process with an inferred layout over a 1M- or 10M-access <see cref="PerfWorkload"/> trace read
/// from a file in the binary or the Lackey text format. Time per op is per access (accesses/s = 1e9 / ns);
/// allocations per op include building the machine once per run (a few hundred KiB over the whole trace).
/// </summary>
[MemoryDiagnoser]
public class PerfPipelineBenchmarks
{
    private string _trace1M = "", _trace10M = "";

    [Params("binary", "lackey")]
    public string Format { get; set; } = "binary";

    [GlobalSetup(Target = nameof(Accesses1M))]
    public void Setup1M() => _trace1M = PerfWorkload.Ensure(Format, PerfScale.Scaled(1_000_000));

    [GlobalSetup(Target = nameof(Accesses10M))]
    public void Setup10M() => _trace10M = PerfWorkload.Ensure(Format, PerfScale.Scaled(10_000_000));

    [Benchmark(OperationsPerInvoke = 1_000_000)]
    public long Accesses1M() => Run(Format, _trace1M);

    [Benchmark(OperationsPerInvoke = 10_000_000)]
    public long Accesses10M() => Run(Format, _trace10M);

    /// <summary>Builds the benchmark machine and runs the trace to the end; returns the accesses completed.</summary>
    public static long Run(string format, string path)
    {
        using var machine = Build(new Workload(TraceFormats.OpenReader(format, path)));
        machine.Run();
        return machine.CompletedAccesses();
    }

    /// <summary>The benchmarks' machine: 6 MiB of RAM (under the workload's footprint), 64 MiB of swap, one inferred-layout process.</summary>
    public static MachineModel Build(Workload workload)
    {
        var machine = new MachineModel(new KernelOptions { RamBytes = PerfWorkload.RamBytes, SwapBytes = 64L << 20 });
        machine.AddProcess("mixed", mm => mm.Inferred = new InferredLayout(mm.Mm), workload);
        return machine;
    }
}
