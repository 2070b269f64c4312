using System.Diagnostics;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Traces;
#if CPU_FOLDER
using EcsMem.Systems.Cpu;
#else
using EcsMem.Systems.Access;
#endif

namespace EcsMem.Perf.Ab;

/// <summary>
/// The PerfPipeline benchmark's run as one round the A/B host can call through reflection: one inferred-layout
/// process replaying the 1M-access binary <see cref="PerfWorkload"/> trace in 6 MiB of RAM and 64 MiB of swap,
/// on one CPU. Returns ns per access, wall and the process's CPU time (which other processes on the shared CPUs sway
/// less).
/// </summary>
public static class AbWorkload
{
    private static string? _trace;

    public static string[] Figures => ["pipeline", "cpu pipeline"];

    public static double[] Round()
    {
        _trace ??= PerfWorkload.Ensure("binary", 1_000_000);
        TimeSpan cpu = Environment.CpuUsage.TotalTime;
        var sw = Stopwatch.StartNew();
        using var machine = new Systems.Machine.Machine(new KernelOptions { RamBytes = PerfWorkload.RamBytes, SwapBytes = 64L << 20 });
        machine.AddProcess("mixed", mm => mm.Inferred = new InferredLayout(mm.Mm), new Workload(TraceFormats.OpenReader("binary", _trace)));
        machine.Run();
        long n = machine.CompletedAccesses();
        if (n != 1_000_000)
            throw new InvalidOperationException($"{n} accesses completed");
        double ns = sw.Elapsed.TotalNanoseconds;
        return [ns / n, (Environment.CpuUsage.TotalTime - cpu).TotalNanoseconds / n];
    }
}
