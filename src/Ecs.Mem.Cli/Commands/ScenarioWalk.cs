using System.Globalization;
using System.Text;
using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using Machine = EcsMem.Systems.Machine.Machine;
using PagingMode = EcsMem.Components.PagingMode;

namespace EcsMem.Cli.Commands;

/// <summary>
/// The <c>--scenario</c> half of <c>ecsmem explain</c>: builds the scenario as <c>run</c> does, runs it to the moment
/// asked for and explains the address in one process's real page tables.
/// </summary>
internal static class ScenarioWalk
{
    /// <summary>When to stop: simulated cycles, accesses by all processes, or the end of the run.</summary>
    internal readonly record struct When(ulong Cycles, long Accesses, bool End)
    {
        public override string ToString() => End ? "end" : Accesses >= 0 ? $"{Accesses} accesses" : $"{Cycles} cycles";
    }

    /// <summary>N (cycles), Na (accesses) or end; '_' may group digits.</summary>
    internal static When ParseWhen(string text)
    {
        if (text == "end")
            return new When(0, -1, true);
        string s = text.Replace("_", "", StringComparison.Ordinal);
        bool accesses = s.EndsWith('a');
        if (accesses)
            s = s[..^1];
        if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || (accesses && n > long.MaxValue))
            throw new InputException("command line", 0, text, "--at needs N (simulated cycles), Na (accesses) or end");
        return accesses ? new When(0, (long)n, false) : new When(n, -1, false);
    }

    public static string Explain(string path, ulong va, string vaText, PagingMode? paging, string atText, int pid)
    {
        When when = ParseWhen(atText);
        if (!File.Exists(path))
            throw new InputException("command line", 0, path, "scenario file not found");
        Scenario scenario = ScenarioParser.ParseFile(path);
        if (paging is not null)
        {
            Scenarios.PagingMode p = paging.Levels switch
            {
                2 => Scenarios.PagingMode.X86,
                4 => Scenarios.PagingMode.X86_64,
                _ => Scenarios.PagingMode.X86_64La57,
            };
            scenario = scenario with { Machine = scenario.Machine with { Paging = p } };
        }

        // One access per tick, so the run stops exactly at the access count or the first tick at or past the time.
        using Machine machine = ScenarioLoader.Build(scenario, batchSizeOverride: 1);
        PagingMode mode = machine.Kernel.Options.Paging;
        AddressSplit split = ExplainCommand.Split(va, mode, vaText);
        if (!split.IsUser)
            throw new InputException("command line", 0, vaText, $"address at or above TASK_SIZE 0x{mode.TaskSize:x} of {ExplainCommand.PagingName(mode)}: a process's page tables map user space only");

        bool Due() => !when.End && (when.Accesses >= 0 ? machine.CompletedAccesses() >= when.Accesses : machine.Env.Now >= when.Cycles);
        if (!Due())
        {
            // A time to stop at bounds the idle stretches kernel threads' timers are skipped through, so the run stops
            // at the same tick boundary as one that woke every timer period.
            if (!when.End && when.Accesses < 0)
                machine.Access.TimeMark = when.Cycles;
            machine.Run(stop: Due, checkEvery: 1);
        }

        Entity process = Entity.Null;
        foreach (Entity e in machine.Kernel.Tasks.Processes)
        {
            if (machine.Kernel.World.Get<Process>(e).Pid == pid)
            {
                process = e;
                break;
            }
        }
        if (process.IsNull)
        {
            string known = string.Join(", ", machine.Kernel.Tasks.Processes.Select(e => machine.Kernel.World.Get<Process>(e).Pid.ToString(CultureInfo.InvariantCulture)));
            throw new InputException("command line", 0, pid.ToString(CultureInfo.InvariantCulture), $"no process with this pid at {when} (pids: {known})");
        }

        var sb = new StringBuilder();
        sb.Append("scenario ").Append(path).Append(", --at ").Append(atText).Append(": stopped at t=")
          .Append(machine.Env.Now.ToString(CultureInfo.InvariantCulture)).Append(" cycles after ")
          .Append(machine.CompletedAccesses().ToString(CultureInfo.InvariantCulture)).Append(" accesses")
          .Append(machine.Finished && !when.End ? " (the run ended before that moment)" : "").Append("\n\n");
        sb.Append(PageWalkExplainer.Explain(machine.Kernel, process, va));
        return sb.ToString();
    }
}
