using System.Text;
using EcsMem.Components;
using EcsMem.Scenarios;
using ProcessComponent = EcsMem.Components.Process;

namespace EcsMem.Tests.Perf;

public class BatchSizeIndependenceTests
{
    /// <summary>
    /// The batch size is a performance knob only: the default scenario (faults, reclaim and swap, fork and
    /// copy-on-write, munmap, exits, kswapd events) must end in exactly the same state whatever it is. Batch 1
    /// (one access per tick) is the reference semantics.
    /// </summary>
    [Test]
    public void DefaultScenarioGivesIdenticalResultsForAnyBatchSize()
    {
        string reference = Fingerprint(1);
        Assert.That(reference, Does.Contain("pgmajfault"));
        foreach (int batch in new[] { 7, 4096 })
            Assert.That(Fingerprint(batch), Is.EqualTo(reference), $"batch size {batch}");
    }

    /// <summary>Everything a report shows: clock, every counter, every process's state and stats, cache counts, cycles.</summary>
    private static string Fingerprint(int batch)
    {
        using var m = ScenarioLoader.Build(DefaultScenario.Load(), batch);
        m.Run();
        Assert.That(m.Finished, Is.True);
        var sb = new StringBuilder();
        sb.AppendLine($"now {m.Env.Now} idle {m.Access.IdleCycles} cycles {m.Kernel.Cycles.TotalCycles} accesses {m.Kernel.Cycles.Accesses}");
        foreach (var kv in m.Env.Counters.All())
            sb.AppendLine($"{kv.Key} {kv.Value}");
        foreach (var p in m.Kernel.Tasks.Processes)
        {
            ProcessComponent pr = m.Kernel.World.Get<ProcessComponent>(p);
            ProcessStats st = m.Kernel.World.Get<ProcessStats>(p);
            sb.Append($"pid {pr.Pid} {pr.State} end {pr.EndTime}:");
            foreach (var f in typeof(ProcessStats).GetFields())
                sb.Append($" {f.Name}={f.GetValue(st)}");
            sb.AppendLine();
        }
        foreach (var level in m.Kernel.Caches.Levels)
        {
            var c = level.Counters;
            sb.AppendLine($"{level.Name} {c.ReadAccesses} {c.WriteAccesses} {c.ReadMisses} {c.WriteMisses} {c.WriteBacks} {c.BackInvalidations}");
        }
        return sb.ToString();
    }
}
