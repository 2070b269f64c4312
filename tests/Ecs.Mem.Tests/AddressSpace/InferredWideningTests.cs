using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Tests.Kernel;
using EcsMem.Tests.Reliability;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// A trace without a layout gets VMAs inferred from its addresses, widened when an access needs more than
/// the VMA allows. Widening is an mprotect, so it must reach the PTEs already mapped in the range.
/// </summary>
public class InferredWideningTests
{
    private const int MaxTicks = 10_000;

    private static EcsMem.Systems.Machine.Machine Run(string lackey)
    {
        string trace = Path.Combine(Path.GetTempPath(), $"ecsmem-widen-{Environment.ProcessId}-{Guid.NewGuid():N}.lackey");
        File.WriteAllText(trace, lackey);
        try
        {
            string yaml = $$"""
                machine: {ram: 1M, swap: 0, batch: 1}
                processes:
                  - name: p
                    layout: infer
                    workload:
                      trace: {path: {{trace}}, format: lackey}
                """;
            var m = ScenarioLoader.Build(ReliabilityScenarios.Parse(yaml));
            // Stop after the 4th access (one per tick), before the exit tears the address space down. Bounded,
            // so a regression fails instead of hanging the test run.
            Entity p = m.Kernel.Tasks.Processes[0];
            for (int tick = 0; tick < MaxTicks && !m.Finished && KernelKit.Stats(m, p).Accesses < 4; tick++)
                m.Env.RunTick();
            return m;
        }
        finally
        {
            File.Delete(trace);
        }
    }

    [Test]
    public void APageReadBeforeItIsFetchedBecomesExecutable()
    {
        // Read 0x4001000 (a data access: the inferred VMA is rw-, the zero page is mapped read-only with NX),
        // read another page of the same block, then fetch from both. Before the fix the first fetch widened
        // the VMA to rwx but left the no-exec PTE, was "spurious" for ever and the run never ended.
        using var m = Run("""
             L 04001000,8
             L 04002000,8
            I  04001010,4
            I  04002010,4
             L 04001020,8
            """);
        var k = m.Kernel;
        Assert.That(m.CompletedAccesses(), Is.EqualTo(4));
        // The one VMA is rwx now, and both PTEs mapped before the widening lost NX with it (and stay
        // read-only: they map the shared zero page).
        var mm = k.Tasks.MmOf(k.Tasks.Processes[0]);
        Assert.That(mm.Mm.Vmas.Count, Is.EqualTo(1));
        Assert.That(mm.Mm.Vmas[0].Flags & (VmFlags.Read | VmFlags.Write | VmFlags.Exec), Is.EqualTo(VmFlags.Read | VmFlags.Write | VmFlags.Exec));
        Assert.That(new Pte(mm.Tables.Lookup(0x4001000)).Executable, Is.True);
        Assert.That(new Pte(mm.Tables.Lookup(0x4002000)).Executable, Is.True);
        Assert.That(new Pte(mm.Tables.Lookup(0x4002000)).Writable, Is.False);
        // Two read faults map the zero page; the fetches fault once (the first, on the NX PTE) and are then
        // served by the rewritten PTEs: 3 handle_mm_fault calls in all.
        Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(3));
        for (int tick = 0; tick < MaxTicks && !m.Finished; tick++)
            m.Env.RunTick();
        Assert.That(k.World.Get<Process>(k.Tasks.Processes[0]).State, Is.EqualTo(ProcessState.Exited));
    }
}
