using EcsMem.Components;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>Operations triggered by a process's access count (Machine.ScheduleAfterAccesses).</summary>
public class MachineTriggerTests
{
    [Test]
    public void AnOperationAfterZeroAccessesWaitsForALateStart()
    {
        using var m = new SimMachine(Options());
        // Nothing is mapped at Base until the mmap "after 0 accesses"; the process only starts at 100 000.
        var p = Add(m, "late", _ => { }, 100_000, W(Base));
        m.ScheduleAfterAccesses(0, new AddressSpaceOp(AddressSpaceOpKind.Mmap, p)
        {
            Addr = Base,
            Len = Page,
            Prot = Prot.Read | Prot.Write,
            Flags = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed,
        });
        m.Run();
        Assert.That(m.AddressSpace.Log, Has.Count.EqualTo(1));
        Assert.That(m.AddressSpace.Log[0], Does.Not.Contain("skipped"));
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(Stats(m, p).Accesses, Is.EqualTo(1));
    }

    [Test]
    public void AMarkSurvivesReplacingTheWorkload()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 3), 0, R(Base));
        m.ScheduleAfterAccesses(2, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = Base + (2 * Page), Len = Page });
        m.SetWorkload(p, Trace("p", W(Base), W(Base + Page), W(Base + (2 * Page))));
        m.Run();
        // The munmap comes after the second access, so the third hits a hole: SIGSEGV.
        Assert.That(m.AddressSpace.Log, Has.Count.EqualTo(1));
        Assert.That(Stats(m, p).Accesses, Is.EqualTo(2));
        Assert.That(Proc(m, p).ExitSignal, Is.EqualTo(11));
    }
}
