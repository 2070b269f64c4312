using BenchmarkDotNet.Attributes;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.Cpu;
using MachineModel = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Perf;

/// <summary>
/// The per-access cost of a warm machine: the <see cref="PerfWorkload"/> stream (endless, generated on the fly)
/// keeps running on one machine across invocations, so the figures exclude construction and first touches
/// and the Allocated column shows the hot path's steady-state allocation per access (it must be 0 B).
/// </summary>
[MemoryDiagnoser]
public class PerfSteadyStateBenchmarks
{
    private const int Accesses = 1_000_000;
    private MachineModel _machine = null!;
    private Entity _process;

    [GlobalSetup]
    public void Setup()
    {
        _machine = PerfPipelineBenchmarks.Build(new Workload(new PerfWorkloadReader(7)));
        _process = _machine.Kernel.Tasks.Processes[0];
        Step((int)PerfScale.Scaled(2_000_000)); // warm: every page touched, reclaim in its steady rhythm
    }

    [GlobalCleanup]
    public void Cleanup() => _machine.Dispose();

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong WarmAccesses() => Step(Accesses);

    private ulong Step(int accesses)
    {
        // The process's own stats, not Machine.CompletedAccesses (which enumerates an interface and may allocate).
        long target = Done() + accesses;
        while (Done() < target)
            _machine.Env.RunTick();
        return _machine.Env.Now;
    }

    private long Done() => _machine.Kernel.World.Get<ProcessStats>(_process).Accesses;
}
