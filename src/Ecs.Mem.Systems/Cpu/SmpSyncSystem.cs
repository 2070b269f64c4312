using EcsMem.Simulation;

namespace EcsMem.Systems.Cpu;

/// <summary>
/// The last system of a tick: brings the clock back from the CPU whose work was simulated last to the
/// machine's time (<see cref="AccessStage.MachineTime"/>), where the next tick dispatches its due events, and
/// holds it below the next event while the CPUs' fault window is open. A no-op with one CPU.
/// </summary>
public sealed class SmpSyncSystem(Smp smp, AccessStage cpus) : ISystem
{
    public string Name => "smp-sync";

    public void Update(SimEnvironment env)
    {
        if (smp.Count == 1)
            return;
        smp.Sync(cpus.MachineTime(), cpus.WindowOpen && env.Events.Count > 0 ? env.Events.PeekTime : ulong.MaxValue);
    }
}
