using BenchmarkDotNet.Attributes;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Cpu;
using EcsMem.Systems.Kernel;
using EcsMem.Traces;
using MachineModel = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Perf;

/// <summary>
/// The host cost of simulating several CPUs: four processes, each replaying the 1M-access <see cref="PerfWorkload"/>
/// trace (binary) in its own inferred address space, in 24 MiB of RAM (four times the single-process benchmark's
/// 6 MiB, so each has the same pressure), on one CPU and on four. Time per op is per simulated access, so the
/// ratio of the two rows is the extra host cost per access that time-ordered interleaving, fault windows and
/// shootdowns add (the target: at most 1.3x).
/// </summary>
[MemoryDiagnoser]
public class PerfSmpBenchmarks
{
    private const int Processes = 4;
    private string _trace = "";

    [Params(1, 4)]
    public int Cpus { get; set; } = 1;

    [GlobalSetup]
    public void Setup() => _trace = PerfWorkload.Ensure("binary", PerfScale.Scaled(1_000_000));

    [Benchmark(OperationsPerInvoke = Processes * 1_000_000)]
    public long FourProcesses() => Run(Cpus, _trace);

    /// <summary>Builds the machine, runs it to the end and returns the accesses completed.</summary>
    public static long Run(int cpus, string path)
    {
        using var machine = new MachineModel(new KernelOptions { RamBytes = Processes * PerfWorkload.RamBytes, SwapBytes = 256L << 20, Cpus = cpus });
        for (int p = 0; p < Processes; p++)
            machine.AddProcess($"mixed{p}", mm => mm.Inferred = new InferredLayout(mm.Mm), new Workload(TraceFormats.OpenReader("binary", path)));
        machine.Run();
        return machine.CompletedAccesses();
    }
}
