using System.Globalization;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Systems.Kernel;

public sealed partial class Kernel
{
    /// <summary>Lines describing signals and OOM kills, in order.</summary>
    public List<string> KillLog { get; } = new();

    /// <summary>Kills a process with <paramref name="signal"/> (SIGSEGV, SIGKILL) and tears its address space down.</summary>
    public void KillProcess(Entity process, int signal, string why)
    {
        ref Process p = ref World.Get<Process>(process);
        if (p.State is ProcessState.Exited or ProcessState.Killed)
            return;
        KillLog.Add(string.Create(CultureInfo.InvariantCulture, $"{ProcessName(p)}[{p.Pid}]: killed by signal {signal}: {why}"));
        p.ExitSignal = signal;
        DoExit(process, ProcessState.Killed);
    }

    /// <summary>The process ran to the end of its workload.</summary>
    public void ExitProcess(Entity process) => DoExit(process, ProcessState.Exited);

    /// <summary>
    /// do_exit → exit_mm → mmput: when the last user goes, exit_mmap zaps every VMA (freeing pages, swap
    /// slots and page tables), the TLB context is flushed, and mm_users/mm_count drop to zero.
    /// </summary>
    private void DoExit(Entity process, ProcessState final)
    {
        ref Process p = ref World.Get<Process>(process);
        MmState mm = MmOf(process);
        p.State = final;
        p.EndTime = Env.Now;
        World.Get<ProcessStats>(process).RssPeak = (long)mm.HiwaterRss;
        ref MmStruct s = ref mm.Mm.Struct;
        mm.NoteHiwaterVm();
        s.MmUsers--;
        if (s.MmUsers > 0)
            return;
        foreach (var v in mm.Mm.Vmas.ToArray())
            ZapRange(mm, v.Start, v.End);
        ZapRange(mm, 0, Options.Paging.TaskSize); // anything left outside VMAs (never expected, but free it)
        mm.Mm.ExitMmap();
        Tlb.FlushTlbMm(mm.Tlb);
        // The root table (pgd) is freed last, by mm_free_pgd: its row goes back to the page-table store and
        // its entity, like every freed table's, is marked free.
        mm.Tables.Release();
        foreach (var (id, (e, pfn)) in mm.TablePages.ToArray())
        {
            World.Get<PageTableFrame>(e) = PageTableFrame.Free;
            FreeFrame(pfn);
            mm.TablePages.Remove(id);
        }
        s.MmCount--;
        s.NrPtes = 0;
        s.PgtablesBytes = 0;
    }

    /// <summary>
    /// out_of_memory → select_bad_process → oom_kill_process: kills the process with the highest badness
    /// (rss + swap entries + page-table pages, oom_badness) and logs it in the kernel's own words.
    /// </summary>
    public void OutOfMemory(Entity stalled)
    {
        Entity victim = Entity.Null;
        long worst = -1;
        foreach (Entity e in _processes)
        {
            ref Process p = ref World.Get<Process>(e);
            if (p.State is ProcessState.Exited or ProcessState.Killed or ProcessState.NotStarted)
                continue;
            MmState mm = MmOf(e);
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
        ref Process vp = ref World.Get<Process>(victim);
        MmState vm = MmOf(victim);
        ref MmStruct s = ref vm.Mm.Struct;
        ulong pageKb = Components.Pte.PageSize / 1024;
        // __oom_kill_process's line: comm is at most TASK_COMM_LEN - 1 = 15 characters, and pgtables is
        // mm_pgtables_bytes >> 10, which counts the tables below the pgd (not the pgd itself).
        string comm = ProcessName(vp);
        if (comm.Length > 15) comm = comm[..15];
        OomLog.Add(string.Create(CultureInfo.InvariantCulture,
            $"Out of memory: Killed process {vp.Pid} ({comm}) total-vm:{s.TotalVm * pageKb}kB, anon-rss:{s.RssAnon * pageKb}kB, file-rss:{s.RssFile * pageKb}kB, shmem-rss:{s.RssShmem * pageKb}kB, UID:0 pgtables:{vm.Tables.PgtablesBytes >> 10}kB oom_score_adj:0"));
        Env.Counters.Increment(C.OomKill);
        KillProcess(victim, 9, "out of memory");
    }
}
