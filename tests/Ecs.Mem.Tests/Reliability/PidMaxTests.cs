using System.Text;
using EcsMem.Components;
using EcsMem.Diagnostics;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Reliability;

/// <summary>kernel.pid_max (32768, the default this machine's kernel has too): pids are not reused, so it bounds a run's tasks.</summary>
public class PidMaxTests
{
    [Test]
    public void AScenarioWithMoreTasksThanPidMaxIsRefusedNamingTheLimit()
    {
        // 129 processes with 255 threads each: 129 + 129 * 255 = 33,024 tasks; pid 1 .. 33,024 would pass 32,767.
        var sb = new StringBuilder("machine:\n  ram: 64M\nprocesses:\n");
        for (int p = 0; p < 129; p++)
        {
            sb.Append($"  - name: p{p}\n    layout:\n      exec: {{file: /bin/p, heap: 64K}}\n    workload:\n      generator: \"loop:count=10,pages=2\"\n    threads:\n");
            for (int t = 0; t < 255; t++)
                sb.Append("      - workload:\n          generator: \"loop:count=10,pages=2\"\n");
        }
        var s = ReliabilityScenarios.Parse(sb.ToString());
        var ex = Assert.Throws<InputException>(() => ScenarioLoader.Build(s).Dispose());
        Assert.That(ex!.Value, Is.EqualTo("33024"));
        Assert.That(ex.Problem, Is.EqualTo("the scenario creates 33024 tasks (processes and threads), more than kernel.pid_max (32768) allows"));
    }

    [Test]
    public void ForkFailsWithEagainOnceEveryPidIsTaken()
    {
        using var m = new SimMachine(Options(1024, 0));
        var parent = Add(m, "parent", Anon(0x1000_0000, 4), 0, R(0x1000_0000));
        // Tasks take pids 1, 2, ...: fill them up to pid_max - 1 (32,767, the last valid pid) without running anything.
        MmState mm = Mm(m, parent);
        while (m.Kernel.Tasks.Processes.Count < TaskList.PidMax - 1)
            m.Kernel.Tasks.CreateProcess("filler", mm, 1, 0, ProcessState.Exited);
        var fork = new AddressSpaceOp(AddressSpaceOpKind.Fork, parent) { ChildName = "child" };
        m.ScheduleAt(0, fork);
        m.Run();
        Assert.That(m.Kernel.Tasks.Processes.Count, Is.EqualTo(32767), "no child was created");
        Assert.That(m.AddressSpace.Log, Has.Some.Contains("EAGAIN"));
    }
}
