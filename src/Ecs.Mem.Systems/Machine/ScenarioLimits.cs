using System.Globalization;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;

namespace EcsMem.Systems.Machine;

/// <summary>
/// Limits that keep a scenario's host memory bounded, checked before anything is built so a too-large scenario
/// fails at once with a clear <see cref="InputException"/> rather than mid-run. Per-address-space limits are
/// Linux's own and live in the kernel model (max_map_count 65530 per mm: mmap returns ENOMEM beyond it).
/// </summary>
public static class ScenarioLimits
{
    /// <summary>
    /// Processes a scenario may create in total (top-level, <c>children:</c> and forked ones). Each costs about
    /// 100 KiB of host memory (page-table arena, access buffer, TLB context), so 4096 stay under ~400 MiB.
    /// </summary>
    public const int MaxProcesses = 4096;

    /// <summary>
    /// Every process needs one frame for its root page table from the start; allowing those to take at most
    /// half of the simulated RAM leaves the rest for pages and the lower page-table levels.
    /// </summary>
    public const int RootTableShareOfRamDivisor = 2;

    /// <summary>Throws <see cref="InputException"/> when <paramref name="s"/> exceeds a limit.</summary>
    public static void Validate(Scenario s)
    {
        long processes = 0;
        foreach (ProcessConfig p in s.Processes)
        {
            processes += 1 + (p.Children?.Count ?? 0);
            if (processes > MaxProcesses)
                throw TooMany(s, p.Line, processes);
        }
        foreach (TimelineEvent ev in s.Timeline)
        {
            if (ev.Op is ForkOp && ++processes > MaxProcesses)
                throw TooMany(s, ev.Line, processes);
        }
        // Threads are tasks too: with the processes they need pids below kernel.pid_max (pids are not reused).
        long tasks = processes;
        foreach (ProcessConfig p in s.Processes)
            tasks += p.Threads.Count; // a forked child has one thread, whatever its parent had
        if (tasks > Task.TaskList.MaxTasks)
            throw new InputException(s.SourceName, 0, tasks.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"the scenario creates {tasks} tasks (processes and threads), more than kernel.pid_max ({Task.TaskList.PidMax}) allows"));
        long pages = s.Machine.RamPages;
        if (processes > pages / RootTableShareOfRamDivisor)
            throw new InputException(s.SourceName, 0, s.Machine.RamBytes.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture,
                    $"{processes} processes need {processes} page-table root frames, more than half of RAM ({pages} pages); give more RAM or fewer processes"));
    }

    private static InputException TooMany(Scenario s, int line, long processes) =>
        new(s.SourceName, line, processes.ToString(CultureInfo.InvariantCulture),
            string.Create(CultureInfo.InvariantCulture, $"the scenario creates more than {MaxProcesses} processes (each costs about 100 KiB of host memory)"));
}
