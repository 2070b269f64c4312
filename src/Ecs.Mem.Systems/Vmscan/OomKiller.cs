using System.Globalization;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.Vmscan;

/// <summary>mm/oom_kill.c: picks and kills the task whose death frees the most memory when reclaim cannot keep up.</summary>
public sealed class OomKiller(Kernel.Kernel kernel)
{
    /// <summary>Lines the OOM killer printed, in order (the report shows them).</summary>
    public List<string> Log { get; } = new();

    /// <summary>
    /// out_of_memory → select_bad_process → oom_kill_process: kills the process with the highest badness
    /// (rss + swap entries + page-table pages, oom_badness) and logs it in the kernel's own words.
    /// </summary>
    public void OutOfMemory(Entity stalled) => Kill(stalled, null, "Out of memory");

    /// <summary>
    /// mem_cgroup_out_of_memory: the OOM killer restricted to the tasks of <paramref name="memcg"/>'s subtree
    /// (mem_cgroup_scan_tasks), after memory.events oom is counted; the kernel's line starts "Memory cgroup out of
    /// memory". The victim's own group counts oom_kill.
    /// </summary>
    public void MemcgOutOfMemory(Memcontrol.MemCgroup memcg, Entity stalled)
    {
        Memcontrol.MemcgController.MemoryEvent(memcg, Memcontrol.MemcgEvent.Oom);
        // dump_header → mem_cgroup_print_oom_meminfo → memory_stat_format reads the group's statistics through
        // mem_cgroup_flush_stats: a flush when its pending updates are above the threshold (after the periodic flush if
        // one is due).
        if (kernel.Memcg is { ThresholdFlushes: true } mc)
            mc.ReadStats(memcg, kernel.ReclaimHost.Jiffies);
        Kill(stalled, memcg, "Memory cgroup out of memory");
    }

    private void Kill(Entity stalled, Memcontrol.MemCgroup? memcg, string message)
    {
        Entity victim = Entity.Null;
        long worst = -1;
        var groups = new HashSet<int>();
        foreach (Entity e in kernel.Tasks.Processes)
        {
            ref Process p = ref kernel.World.Get<Process>(e);
            if (p.State is ProcessState.Exited or ProcessState.Killed or ProcessState.NotStarted)
                continue;
            // for_each_process: one candidate per thread group (its first live task), whose threads share the mm.
            if (!groups.Add(p.Tgid))
                continue;
            MmState mm = kernel.Tasks.MmOf(e);
            if (memcg is not null && !kernel.Memcg!.InSubtree(memcg, mm.Id))
                continue;
            long badness = (long)(mm.Rss + mm.Mm.Struct.SwapEnts + (mm.Tables.PgtablesBytes / Components.Pte.PageSize));
            // oom_evaluate_task skips only lower scores, so on a tie the later task in the list wins.
            if (badness >= worst)
            {
                worst = badness;
                victim = e;
            }
        }
        if (victim.IsNull)
            victim = stalled;
        if (victim.IsNull)
            return;
        ref Process vp = ref kernel.World.Get<Process>(victim);
        MmState vm = kernel.Tasks.MmOf(victim);
        ref MmStruct s = ref vm.Mm.Struct;
        ulong pageKb = Components.Pte.PageSize / 1024;
        // __oom_kill_process's line: comm is at most TASK_COMM_LEN - 1 = 15 characters, and pgtables is
        // mm_pgtables_bytes >> 10, which counts the tables below the pgd (not the pgd itself).
        string comm = kernel.Tasks.ProcessName(vp);
        if (comm.Length > 15) comm = comm[..15];
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{message}: Killed process {vp.Pid} ({comm}) total-vm:{s.TotalVm * pageKb}kB, anon-rss:{s.RssAnon * pageKb}kB, file-rss:{s.RssFile * pageKb}kB, shmem-rss:{s.RssShmem * pageKb}kB, UID:0 pgtables:{vm.Tables.PgtablesBytes >> 10}kB oom_score_adj:0");
        Log.Add(line);
        kernel.Events?.OomKill(victim, line);
        kernel.Env.Counters.Increment(kernel.C.OomKill);
        if (kernel.Memcg is { } mc)
            Memcontrol.MemcgController.MemoryEvent(mc.OfMm(vm.Id), Memcontrol.MemcgEvent.OomKill);
        kernel.Tasks.KillProcess(victim, 9, "out of memory");
    }
}
