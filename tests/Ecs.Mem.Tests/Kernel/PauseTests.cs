using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The timeline's <c>pause</c> (pause(2) until the parent exits: TaskList.Pause), as the kit's fork child uses it: a child
/// that makes a few stores, then sleeps holding its copy of the address space while its parent goes on.
/// </summary>
public class PauseTests
{
    private const string Area = "0x7f0000000000";

    private static SimMachine Build(string children, string timeline) =>
        ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(
            "machine: {ram: 64M, swap: 0, cpus: 2}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n"
            + $"    workload: {{generator: \"loop:count=20016,pages=16,base={Area},writes=1\"}}\n" + children
            + $"timeline:\n  - at: 0\n    process: p\n    mmap: {{addr: {Area}, length: 65536, prot: rw-, fixed: true}}\n" + timeline), "pause.yaml"));

    private static ref ProcessStats Stats(SimMachine m, Entity e) => ref m.Kernel.World.Get<ProcessStats>(e);

    /// <summary>
    /// The parent stores to its 16 pages (16 first-touch faults), forks a child that stores to pages 0–3 and pauses, then
    /// stores to the 16 pages again: each is write-protected since the fork, so 16 more faults. Pages 4–15 are still mapped
    /// by the sleeping child, so each of those is a copy (12 at least; pages 0–3 are a copy or a reuse by who stored first).
    /// Had the child exited after its stores (its workload's end), pages 4–15 would be the parent's alone: reuses, no copy.
    /// The child sleeps while the parent runs, and wakes and exits when the parent exits.
    /// </summary>
    [Test]
    public void APausedChildHoldsItsCopyUntilItsParentExits()
    {
        using SimMachine m = Build(
            $"    children: {{count: 1, after: 16, workload: {{generator: \"seq:count=4,pages=4,base={Area},writes=1\"}}}}\n",
            "  - after: 4\n    process: p-1\n    pause: {}\n");
        var k = m.Kernel;
        Entity parent = k.Tasks.Processes[0];
        m.Run(() => Stats(m, parent).Accesses >= 1000, checkEvery: 1);
        Entity child = k.Tasks.Processes[1];
        Assert.Multiple(() =>
        {
            Assert.That(k.World.Get<Process>(child).State, Is.EqualTo(ProcessState.Paused));
            Assert.That(Stats(m, child).Accesses, Is.EqualTo(4));
            Assert.That(Stats(m, parent).MinFlt, Is.EqualTo(32), "16 first touches, 16 write-protect faults after the fork");
            Assert.That(Stats(m, parent).CowCopies, Is.GreaterThanOrEqualTo(12), "the pages only the sleeping child shares");
            Assert.That(Stats(m, parent).CowCopies + Stats(m, parent).CowReuses, Is.EqualTo(16));
        });
        m.Run();
        Assert.Multiple(() =>
        {
            Assert.That(k.World.Get<Process>(parent).State, Is.EqualTo(ProcessState.Exited));
            Assert.That(k.World.Get<Process>(child).State, Is.EqualTo(ProcessState.Exited), "woken by its parent's exit");
            Assert.That(k.World.Get<Process>(child).EndTime, Is.GreaterThanOrEqualTo(k.World.Get<Process>(parent).EndTime));
            Assert.That(string.Join("\n", m.AddressSpace.Log), Does.Contain("pid 2 pause()"));
        });
    }

    /// <summary>A process without a parent does not sleep in pause: it makes all its 20016 accesses and exits.</summary>
    [Test]
    public void AProcessWithoutAParentDoesNotSleep()
    {
        using SimMachine m = Build("", "  - after: 2\n    process: p\n    pause: {}\n");
        m.Run();
        Entity p = m.Kernel.Tasks.Processes[0];
        Assert.Multiple(() =>
        {
            Assert.That(Stats(m, p).Accesses, Is.EqualTo(20016));
            Assert.That(m.Kernel.World.Get<Process>(p).State, Is.EqualTo(ProcessState.Exited));
        });
    }
}
