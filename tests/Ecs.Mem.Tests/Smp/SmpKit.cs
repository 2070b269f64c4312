using EcsMem.Scenarios;
using EcsMem.Systems.Reporting;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Smp;

/// <summary>Helpers shared by the SMP and thread tests.</summary>
internal static class SmpKit
{
    /// <summary><paramref name="s"/> with <c>machine.cpus</c> replaced, as a scenario that set it would have it.</summary>
    public static Scenario WithCpus(Scenario s, int cpus) => s with { Machine = s.Machine with { Cpus = cpus } };

    /// <summary>The text report of a finished run, as <c>ecsmem run</c> prints it.</summary>
    public static string TextReport(SimMachine m, string source) => ReportTextWriter.Write(SimulationReport.Build(m, source));

    /// <summary>
    /// The report without its effective-configuration <c>batch</c> line, which states the knob and so is the one
    /// line allowed to differ between batch sizes. Fails unless exactly that one line is there to remove, so a
    /// change of the line's format cannot quietly turn the comparison into one of unequal texts.
    /// </summary>
    public static string ReportWithoutBatchLine(string report, int batch)
    {
        string line = FormattableString.Invariant($"  {"batch",-30} {batch}");
        string[] lines = report.Split('\n');
        Assert.That(lines.Count(l => l == line), Is.EqualTo(1), $"the report states 'batch {batch}' once");
        return string.Join('\n', lines.Where(l => l != line));
    }

    /// <summary>Index (pid − 1) of a task, as <see cref="CpuState.Task"/> holds it.</summary>
    public static int TaskIndex(SimMachine m, EcsMem.Ecs.Entity task)
    {
        var procs = m.Kernel.Tasks.Processes;
        for (int i = 0; i < procs.Count; i++)
            if (procs[i] == task)
                return i;
        throw new AssertionException("not a task of this machine");
    }
}
