using System.Globalization;
using System.Text;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Reporting;
using Machine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Oracle;

/// <summary>A phase as EcsMem ran it: fault counts of the program's process and its VMAs at the phase's end.</summary>
public sealed record SimPhase(string Name, long MinFlt, long MajFlt, IReadOnlyList<VmaFigure> Vmas, long AnonHugePagesKb = 0, IReadOnlyDictionary<string, long>? HugePages = null)
{
    /// <summary>
    /// The outcome of each call of the phase made with <c>expect ERR</c>, in order, as the C program records it:
    /// the errno's name, or "ok". Null: not checked (a hand-made phase in a test).
    /// </summary>
    public IReadOnlyList<string>? Errors { get; init; }

    /// <summary>
    /// The program's memory cgroup's counters as cgroup v1 shows them after the phase (memory.oom_control's oom_kill,
    /// memory.max_usage_in_bytes); null without a cgroup.
    /// </summary>
    public IReadOnlyDictionary<string, long>? Memcg { get; init; }

    /// <summary>
    /// The phase's reclaim figures: the program's group's LRU sizes at its end (inactive_anon, active_anon,
    /// inactive_file, active_file, in pages) and the machine's pg*/workingset_* counters that moved during it (the
    /// program is the machine's only task) and time_ms, the simulated time at its end; null without a cgroup.
    /// </summary>
    public IReadOnlyDictionary<string, long>? Lru { get; init; }

    /// <summary>
    /// /proc/vmstat's pswpin and pswpout over the phase where the C program reads them (<see cref="PhaseFigures.Pswp"/>):
    /// from the previous phase_end's end (before the first phase: after the prelude) to this phase_end's end, i.e. after
    /// the accesses between this phase and the next. Null: not compared (a hand-made phase in a test).
    /// </summary>
    public IReadOnlyDictionary<string, long>? Pswp { get; init; }
}

/// <summary>
/// Runs a generated scenario in-process (ScenarioParser + ScenarioLoader, as <c>ecsmem run</c> does) and stops
/// exactly at each phase's end: <see cref="EcsMem.Systems.Cpu.AccessStage.AccessLimit"/> holds the accesses at
/// the phase's last one, and ticks run until the operations already due have run too; then the process's
/// min_flt/maj_flt and its VMAs (with Rss and Swap counted from its page tables, as smaps does) are read.
/// </summary>
public static class SimulationRun
{
    /// <summary>VMAs larger than this are not walked for Rss (the figure is then 0).</summary>
    private const long MaxWalkBytes = 1L << 30;

    /// <summary>Writes the scenario and its trace into <paramref name="dir"/> and runs it.</summary>
    public static IReadOnlyList<SimPhase> Run(ProgramPlan plan, GeneratedScenario scenario, string dir)
    {
        Directory.CreateDirectory(dir);
        string yaml = Path.Combine(dir, plan.Program.Name + ".yaml");
        File.WriteAllText(yaml, scenario.Yaml);
        scenario.WriteTraces(dir, plan.Program.Name);
        // record.sh runs a program N times in a row with the same swap area: each run but the first starts with the
        // swap-readahead statics the previous run's exit left. The measured run starts from a simulated previous run's
        // (oracle/experiments/swap-ra-exit, sw60-harness-reclaim; ECSMEM_ORACLE_PREVIOUS_RUN=0: boot's, the what-if).
        if (PreviousRunExit(scenario, yaml) is { } ra)
        {
            File.WriteAllText(yaml, WithSwapRaState(scenario.Yaml, ra));
            // ECSMEM_ORACLE_SWAPRA=1: the state on stderr (oracle/experiments/swap-ra-exit's EcsMem side).
            if (OracleEnv.Flag("ECSMEM_ORACLE_SWAPRA", unset: false))
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{plan.Program.Name}: previous run's exit: hits {ra.Hits} window {ra.Window} prev_offset {ra.PrevOffset}"));
        }
        Scenario s = ScenarioParser.ParseFile(yaml);
        using Machine m = ScenarioLoader.Build(s);
        // The kit runs with the late-work guard on: work a system adds to a batch whose consumer already ran ends the run.
        m.Env.ThrowOnLateWork = true;
        Kernel k = m.Kernel;
        // ECSMEM_ORACLE_EVENTS=DIR: the run's events as `ecsmem run --events` writes them, in DIR/PROGRAM.jsonl (the
        // EcsMem side of oracle/experiments/ra-memcg-trace with the harness's phase-end statistics flushes).
        using FileStream? eventFile = Environment.GetEnvironmentVariable("ECSMEM_ORACLE_EVENTS") is { Length: > 0 } evDir
            ? File.Create(Path.Combine(evDir, plan.Program.Name + ".jsonl")) : null;
        using var eventOut = eventFile is null ? null : new EcsMem.Systems.Events.EventJsonWriter(eventFile);
        // The kernel takes one sink: the event file and a diagnostic dump below go through one TeeEventSink.
        EcsMem.Systems.Events.IEventSink? sink = eventOut;
        Entity proc = k.Tasks.Processes[0];
        var result = new List<SimPhase>();
        long minBase = 0, majBase = 0;
        // ECSMEM_ORACLE_LRU=1: each phase's LRU figures on stderr (oracle/experiments/file-activation's EcsMem side).
        bool lruDump = OracleEnv.Flag("ECSMEM_ORACLE_LRU", unset: false);
        // ECSMEM_ORACLE_FOLIOS=1: each phase's mapped file pages by folio kind and LRU list, and the file's page-cache
        // folios by order, on stderr (oracle/experiments/readahead-folios's EcsMem side).
        bool folioDump = OracleEnv.Flag("ECSMEM_ORACLE_FOLIOS", unset: false);
        // ECSMEM_ORACLE_KMEM=1: each phase's group usage, kernel memory, page tables and slab bytes on stderr
        // (oracle/experiments/kmem's EcsMem side), and its rss and unmapped swap cache (oracle/experiments/kmem-gap's).
        bool kmemDump = OracleEnv.Flag("ECSMEM_ORACLE_KMEM", unset: false);
        var counters0 = new Dictionary<string, long>(StringComparer.Ordinal);
        // ECSMEM_ORACLE_RECLAIMS=1: each direct reclaim on stderr (oracle/experiments/swap-cache-residue's EcsMem side).
        bool reclaimDump = OracleEnv.Flag("ECSMEM_ORACLE_RECLAIMS", unset: false);
        if (reclaimDump)
            sink = Tee(sink, new ReclaimDump(m));
        // ECSMEM_ORACLE_PAGECACHE=1: the data files' faults, reads and each direct reclaim's page-cache deletions on
        // stderr (oracle/experiments/ra-memcg-trace's reclaimed.py, EcsMem side).
        else if (OracleEnv.Flag("ECSMEM_ORACLE_PAGECACHE", unset: false))
            sink = Tee(sink, new PageCacheDump(m));
        // ECSMEM_ORACLE_THRASH=1: the data files' page-cache insertions (with the readahead window then current) and
        // deletions and the faults on them, timed, on stderr (oracle/experiments/readahead-bios's thrash.py, EcsMem side).
        else if (OracleEnv.Flag("ECSMEM_ORACLE_THRASH", unset: false))
            sink = Tee(sink, new ThrashDump(m, proc));
        // With the reclaim dump each shrink_*_list call is an event too (its `call` lines; an event file then has them).
        if (sink is not null)
            k.AttachEvents(sink).VmscanCalls = reclaimDump;
        // ECSMEM_ORACLE_STAT_LAG (default 1): memory.stat reads flush the group's statistics only above the rstat threshold
        // of the recording machine (MemcgController.Rstat.cs) and print the pgpgin and pgpgout of the last flush, as the
        // kernel's do; 0: every read flushes (before session 23). Every phase-end read of the 15 memcg programs comes after
        // more than 128 updates, so both give the same figures (session 23, branch statlag).
        bool statLag = OracleEnv.Flag("ECSMEM_ORACLE_STAT_LAG", unset: true);
        if (k.Memcg is { } lagMc && statLag)
        {
            lagMc.ThresholdFlushes = true;
            lagMc.StatsFlushCpus = HarnessFootprint.RecordingCpus;
        }
        // ECSMEM_ORACLE_EXEC_CHAIN_TABLES (default 1 since session 25; 0: left out): the exec chain's page tables charged to the program's group at its
        // start, freed by tlb_remove_table_rcu a grace period later in EcsMem's clock (HarnessFootprint). The callback
        // runs on the CPU that queued it, the exec's: CPU 0, where the program starts.
        if (HarnessFootprint.ExecChainTables && k.Memcg is { } xmc)
        {
            EcsMem.Systems.Memcontrol.MemCgroup chainGroup = xmc.OfMm(k.Tasks.MmOf(proc).Id);
            xmc.MemcgKmemChargePages(chainGroup, HarnessFootprint.ExecChainPendingTables);
            ulong gp = HarnessFootprint.ExecChainGracePeriodCycles(k.Options.Timing.ClockGHz);
            // Aligned by the program's progress (session 24): the same fraction of the same phase as the kernel's median
            // run, on EcsMem's phase times from a pilot run of the same scenario.
            if (HarnessFootprint.ExecChainAlign && HarnessFootprint.ExecChainFreeAt.TryGetValue(plan.Program.Name, out var at))
            {
                PhasePlan chainPhase = plan.Phases.FirstOrDefault(p => p.Name == at.Phase)
                    ?? throw new InvalidOperationException($"{plan.Program.Name}: no phase {at.Phase} for the exec chain's free");
                (ulong t0, ulong t1) = PhaseTimes(yaml, chainPhase);
                gp = HarnessFootprint.ExecChainAlignedCycles(m.Env.Now, t0, t1, at.Fraction);
            }
            k.Rcu.CallRcu(gp,
                () => xmc.MemcgKmemUnchargePages(chainGroup, HarnessFootprint.ExecChainPendingTables, cpu: 0));
        }
        // The prelude (marker page, cached files) runs first; its faults belong to no phase.
        Advance(m, plan.Phases.Count > 0 ? plan.Phases[0].AccessesAtStart : 0);
        foreach (var kv in m.Env.Counters.All())
            counters0[kv.Key] = kv.Value;
        // /proc/vmstat's pswpin and pswpout where the C program reads them: before the first phase, then at each
        // phase_end's end (after the accesses between two phases; the last phase_end's after its slurps, below).
        var pswp = new List<(long In, long Out)> { SwapCounts(m) };
        ref ProcessStats st0 = ref k.World.Get<ProcessStats>(proc);
        minBase = st0.MinFlt;
        majBase = st0.MajFlt;
        for (int i = 0; i < plan.Phases.Count; i++)
        {
            PhasePlan ph = plan.Phases[i];
            // Accesses between two phases (a memcg program's harness pages) belong to neither. The plan counts the program's
            // own accesses (Advance), not its children's: a fork's child that ran would otherwise hide the gap.
            if (ph.AccessesAtStart > k.World.Get<ProcessStats>(proc).Accesses)
            {
                Advance(m, ph.AccessesAtStart);
                ref ProcessStats gap = ref k.World.Get<ProcessStats>(proc);
                minBase = gap.MinFlt;
                majBase = gap.MajFlt;
            }
            if (i > 0)
                pswp.Add(SwapCounts(m));
            // The previous phase_end read memory.stat after its smaps and smaps_rollup slurps (the between-phase
            // accesses just run), which flushed the group's statistics there.
            if (i > 0)
                FlushGroupStats(k, proc, statLag);
            // ... and its pgpgin and pgpgout are the group's there too: the charges of the harness pages those slurps
            // fault back in (buf's, reg's: swap-ins under a swap program's limit) come before the read, while the VMAs
            // are the ones before them (the kernel writes smaps' text before copy_to_user faults buf's pages).
            if (i > 0 && result[^1].Memcg is { } prevMemcg && k.Memcg is { } pmc)
                result[^1] = result[^1] with { Memcg = WithPgpg(prevMemcg, pmc.OfMm(k.Tasks.MmOf(proc).Id), statLag) };
            // The group's usage where phase_start reads it (oracle/experiments/anon2-room's usage_start).
            long usageStart = k.Memcg is { } smc ? smc.OfMm(k.Tasks.MmOf(proc).Id).Usage : 0;
            int logBefore = m.AddressSpace.Log.Count;
            // With the reclaim dump, where each phase starts and ends on its clock (swap-cache-residue/pfns.py's
            // boundary: the reclaims between two phases are phase_end's and phase_start's).
            if (reclaimDump)
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"phase {ph.Name} start {m.Env.Now / (k.Options.Timing.ClockGHz * 1e6):F3} ms{SwapInCounts(m)}"));
            // A touch-sigbus phase (that access alone): EcsMem ends the task at the signal, as its default action
            // does, while the C program catches it to record its figures; its address space is the one at the fault,
            // so the VMAs are taken before the access.
            bool sigbus = plan.Program.Phases[i].Ops.Any(o => o.Verb == "touch-sigbus");
            List<VmaFigure>? before = sigbus ? Vmas(k, proc, ph.Windows, plan.Program.Smaps) : null;
            Advance(m, ph.AccessesAtEnd);
            // ... and where phase_end's entry reads it, after the window (anon2-room's usage_entry).
            long usageEntry = k.Memcg is { } emc ? emc.OfMm(k.Tasks.MmOf(proc).Id).Usage : 0;
            if (reclaimDump)
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"phase {ph.Name} end {m.Env.Now / (k.Options.Timing.ClockGHz * 1e6):F3} ms{SwapInCounts(m)}"));
            ref ProcessStats st = ref k.World.Get<ProcessStats>(proc);
            long minFlt = st.MinFlt, majFlt = st.MajFlt;
            var errors = Errors(plan, plan.Program.Phases[i], m.AddressSpace.Log, logBefore, k);
            if (sigbus)
            {
                errors.Add(k.World.Get<Process>(proc).ExitSignal == 7 ? "SIGBUS" : "ok");
                if (k.World.Get<Process>(proc).State is ProcessState.Killed)
                {
                    result.Add(new SimPhase(ph.Name, st.MinFlt - minBase, st.MajFlt - majBase, before!, 0, null) { Errors = errors });
                    break;
                }
            }
            // The C program reads smaps after phase_end's first stores (a memcg program's harness pages), not at once.
            if (ph.AccessesAtSnapshot > ph.AccessesAtEnd)
                Advance(m, ph.AccessesAtSnapshot);
            // The last phase_end has no between-phase accesses after it here: its memory.stat read flushes now.
            // (With the stat lag the read is taken once, below, where it comes: a flush here would be one the kernel does not make.)
            if (i == plan.Phases.Count - 1 && !statLag)
                FlushGroupStats(k, proc, statLag);
            long thpKb = (long)(EcsMem.Systems.Reporting.SmapsRollup.Gather(k, k.Tasks.MmOf(proc)).AnonHugePages >> 10);
            var pool = new Dictionary<string, long>(StringComparer.Ordinal)
            {
                ["HugePages_Total"] = k.Hugetlb.NrHugePages,
                ["HugePages_Free"] = k.Hugetlb.FreeHugePages,
                ["HugePages_Rsvd"] = k.Hugetlb.ResvHugePages,
                ["HugePages_Surp"] = k.Hugetlb.SurplusHugePages,
            };
            Dictionary<string, long>? memcg = null;
            if (k.Memcg is { } mc)
            {
                // The program's group: cgroup v1's oom_control reads memory_events[MEMCG_OOM_KILL], max_usage_in_bytes
                // the memory page_counter's watermark.
                EcsMem.Systems.Memcontrol.MemCgroup g = mc.OfMm(k.Tasks.MmOf(proc).Id);
                memcg = new Dictionary<string, long>(StringComparer.Ordinal)
                {
                    ["oom_kill"] = g.Events[(int)EcsMem.Systems.Memcontrol.MemcgEvent.OomKill],
                    ["max_usage_in_bytes"] = g.Watermark * (long)Pte.PageSize,
                };
                // memory.stat's pgpgin and pgpgout; a phase but the last takes them again after the between-phase accesses.
                memcg = WithPgpg(memcg, g, statLag);
            }
            Dictionary<string, long>? lru = k.Memcg is null ? null : LruFigures(m, proc, counters0);
            result.Add(new SimPhase(ph.Name, minFlt - minBase, majFlt - majBase, Vmas(k, proc, ph.Windows, plan.Program.Smaps), thpKb, pool) { Errors = errors, Memcg = memcg, Lru = lru });
            if (lruDump && lru is not null)
            {
                // With the group's memory.stat dirty, writeback and file (page cache) in kB, as v1's dirty, writeback, cache.
                var stat = EcsMem.Systems.Reporting.MemcgFiles.Read(k).FirstOrDefault()?.Stat;
                string Kb(string key) => ((stat?.FirstOrDefault(x => x.Name == key).Value ?? 0) >> 10).ToString(CultureInfo.InvariantCulture);
                Console.Error.WriteLine($"{ph.Name,-6} " + string.Join(' ', lru.Select(kv => kv.Key + " " + kv.Value.ToString(CultureInfo.InvariantCulture)))
                    + $" file_dirty_kb {Kb("file_dirty")} file_writeback_kb {Kb("file_writeback")} file_kb {Kb("file")}");
            }
            if (folioDump)
                Console.Error.WriteLine($"{ph.Name}: {FolioFigures(k, proc)}");
            if (kmemDump && k.Memcg is { } kmc)
            {
                // memory.usage_in_bytes at the phase's start, at phase_end's entry and at its record (anon2-room/run.sh's
                // three readings), memory.kmem.usage_in_bytes and the page tables (pages), as kmem/run.sh's summary.
                EcsMem.Systems.Memcontrol.MemCgroup g = kmc.OfMm(k.Tasks.MmOf(proc).Id);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ph.Name,-8} start {usageStart} entry {usageEntry} usage {g.Usage} kmem {g.Kmem} pagetables {g.PageTables} slab {g.SlabReclaimable + g.SlabUnreclaimable} nodes {k.PageCache.XaNodeCount} stock {kmc.Stocked(g)} objstock {kmc.ObjStockOn(0, g)}+{kmc.ObjStockOn(1, g)} lru {g.LruPages}"));
                Console.Error.WriteLine($"{ph.Name,-8} {UnmappedSwapCache(k, proc, g)}");
            }
            ref ProcessStats after = ref k.World.Get<ProcessStats>(proc);
            minBase = after.MinFlt;
            majBase = after.MajFlt;
        }
        // The last phase_end reads memory.stat and, last of its files, /proc/vmstat after its smaps and smaps_rollup slurps
        // too (the trace holds them after the last snapshot, for the previous-run pass): pgpgin and pgpgout there, and the
        // last phase's pswpin and pswpout, as for the other phases. Measured on Linux 6.18 (oracle/experiments/pswp-harness,
        // results/session25.swap-anon-read.txt): swap-anon-read's read stretch, which ends at that openat of /proc/vmstat,
        // holds the swap-ins of reg (in_regions; 6 of 6 runs) and of buf (the smaps slurp's copy_to_user; 5 of 6).
        if (result.Count == plan.Phases.Count && result.Count > 0 && HarnessFootprint.Of(plan.Program) is { } hf
            && k.World.Get<Process>(proc).State is not ProcessState.Killed)
        {
            Advance(m, plan.Phases[^1].AccessesAtSnapshot + hf.BetweenPhasesAfter(plan.Phases.Count).Length);
            if (result[^1].Memcg is { } lastMemcg && k.Memcg is { } lmc)
            {
                if (statLag)
                    FlushGroupStats(k, proc, statLag);
                result[^1] = result[^1] with { Memcg = WithPgpg(lastMemcg, lmc.OfMm(k.Tasks.MmOf(proc).Id), statLag) };
            }
        }
        pswp.Add(SwapCounts(m));
        // A phase's figure is the next reading less its own (a sigbus phase that ended the task has none after it).
        for (int i = 0; i < result.Count && i + 1 < pswp.Count; i++)
        {
            result[i] = result[i] with
            {
                Pswp = new Dictionary<string, long>(StringComparer.Ordinal)
                {
                    ["pswpin"] = pswp[i + 1].In - pswp[i].In,
                    ["pswpout"] = pswp[i + 1].Out - pswp[i].Out,
                },
            };
        }
        return result;
    }

    /// <summary>/proc/vmstat's pswpin and pswpout now.</summary>
    private static (long In, long Out) SwapCounts(Machine m) => (m.Env.Counters.Get("pswpin"), m.Env.Counters.Get("pswpout"));

    /// <summary>/proc/vmstat's pswpin and swpin_zero now (the reclaim dump's phase lines: the swap-ins between two phases).</summary>
    private static string SwapInCounts(Machine m) =>
        string.Create(CultureInfo.InvariantCulture, $" pswpin {m.Env.Counters.Get("pswpin")} swpin_zero {m.Env.Counters.Get("swpin_zero")}");

    /// <summary>
    /// mem_cgroup_flush_stats from phase_end's read of the group's memory.stat (memcg_stat_show): reclaim's heuristics
    /// (inactive_is_low, may_deactivate, cache_trim_mode) see the lists as they are here until the next flush
    /// (Vmscan/LruvecStats.cs). harness.h reads memory.stat after vmas() and smaps_rollup, so after the pages their
    /// slurps fault in (oracle/experiments/sw200-stack-top: the kernel's file1 record has 23–32 inactive anon pages).
    /// </summary>
    /// <summary>
    /// <paramref name="memcg"/> with memory.stat's v1 pgpgin and pgpgout of <paramref name="g"/> now: the group's charge and
    /// uncharge events, one a folio (mm/memcontrol-v1.c memcg1_charge_statistics), since it was made, with the exec chain's
    /// before main (not simulated: <see cref="HarnessFootprint.ExecChainPgpg"/>); and the same counted from the program's
    /// exec (<c>_exec</c>), as the kit compares them with a fixture that read memory.stat at main's entry (<see cref="PhaseFigures.PgpgExec"/>).
    /// </summary>
    private static Dictionary<string, long> WithPgpg(IReadOnlyDictionary<string, long> memcg, EcsMem.Systems.Memcontrol.MemCgroup g, bool statLag)
    {
        // With the stat lag, the values of the group's last flush (memcg_events_local reads events_local).
        long pgpgin = statLag ? g.FlushedPgPgIn : g.PgPgIn, pgpgout = statLag ? g.FlushedPgPgOut : g.PgPgOut;
        var d = new Dictionary<string, long>(memcg, StringComparer.Ordinal)
        {
            ["pgpgin"] = pgpgin + HarnessFootprint.ExecChainPgpg,
            ["pgpgout"] = pgpgout + HarnessFootprint.ExecChainPgpg,
            ["pgpgin_exec"] = pgpgin,
            ["pgpgout_exec"] = pgpgout,
        };
        return d;
    }

    private static void FlushGroupStats(Kernel k, Entity proc, bool statLag)
    {
        if (k.Memcg is not { } mc)
            return;
        EcsMem.Systems.Memcontrol.MemCgroup g = mc.OfMm(k.Tasks.MmOf(proc).Id);
        if (statLag)
            mc.ReadStats(g, k.ReclaimHost.Jiffies);
        else
            mc.FlushStats(g, force: true, k.ReclaimHost.Jiffies); // every read flushes its subtree
    }

    /// <summary><paramref name="second"/>, after <paramref name="first"/> when there is one.</summary>
    private static EcsMem.Systems.Events.IEventSink Tee(EcsMem.Systems.Events.IEventSink? first, EcsMem.Systems.Events.IEventSink second) =>
        first is null ? second : new EcsMem.Systems.Events.TeeEventSink(first, second);

    /// <summary>
    /// One stderr line per direct reclaim invocation (its <c>reclaim</c> event, at its end): the simulated time (ms), pages
    /// scanned and freed, pages it wrote (pswpout since the previous one: only reclaim writes in a kit program), and the
    /// swap cache's pages and those under writeback after it; before it, a `call` line per shrink_*_list call of that
    /// reclaim (its lru_shrink events: list, priority, pages taken and reclaimed or deactivated).
    /// </summary>
    private sealed class ReclaimDump(Machine m) : EcsMem.Systems.Events.IEventSink
    {
        private long _pswpout, _activate, _deactivate, _refill, _wsActivate;

        public void Write(in EcsMem.Systems.Events.MemEvent e)
        {
            // Each shrink_*_list call of a direct reclaim before its round's line, as oracle/experiments/sw60-rounds'
            // rounds.py reads them (LIST priority scanned reclaimed; an active list's taken and deactivated).
            if (e.Kind is EcsMem.Systems.Events.MemEventKind.LruShrinkInactive or EcsMem.Systems.Events.MemEventKind.LruShrinkActive && e.Direct)
            {
                string list = (e.File ? "F" : "A") + (e.Kind == EcsMem.Systems.Events.MemEventKind.LruShrinkActive ? "a" : "i");
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"call {list} priority {e.Priority} scanned {e.Scanned} reclaimed {e.Reclaimed}"));
                return;
            }
            if (e.Kind != EcsMem.Systems.Events.MemEventKind.Reclaim || !e.Direct)
                return;
            Kernel k = m.Kernel;
            var c = m.Env.Counters;
            long now = c[k.C.PswpOut];
            // pgactivate/pgdeactivate/pgrefill and workingset_activate_anon since the previous reclaim: shrink_active_list's
            // share of a deep reclaim's writes (oracle/experiments/swap-cache-residue, session 19 pelshm).
            long act = c[k.C.PgActivate], deact = c[k.C.PgDeactivate], refill = c[k.C.PgRefill], ws = c[k.C.WorkingsetActivateAnon];
            double ms = e.Time / (k.Options.Timing.ClockGHz * 1e6);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"reclaim {ms:F3} ms scanned {e.Scanned} freed {e.Reclaimed} wrote {now - _pswpout} swapcache {k.SwapCache.Count} writeback {k.Writeback?.NrWriteback ?? 0} activate {act - _activate} deactivate {deact - _deactivate} refill {refill - _refill} ws_activate_anon {ws - _wsActivate}"));
            (_pswpout, _activate, _deactivate, _refill, _wsActivate) = (now, act, deact, refill, ws);
        }
    }

    /// <summary>
    /// Stderr lines for the program's data files (paths ending in <c>/data</c>), in simulated-time order, times in µs:
    /// <c>fault T I M|m</c> (a fault on page I raised at T, major or minor), <c>add T I PFN START SIZE ASYNC ORDER</c>
    /// (filemap_add_folio of page I into frame PFN, with the file_ra_state window current then and the folio's order), <c>del T I PFN</c>
    /// (page I leaves the page cache, <see cref="EcsMem.Systems.Filemap.PageCache.Deleted"/>), <c>reclaim T ...</c>
    /// (each reclaim's end, with its file-list figures) and <c>cached T N locked L a-b ...</c> (then: the file's pages
    /// cached, those still locked for their read and their ranges), as the kernel's mm_filemap_add_to_page_cache /
    /// mm_filemap_delete_from_page_cache, page_fault_user and mm_vmscan_lru_shrink_inactive show them (and its block
    /// completions). ECSMEM_ORACLE_THRASH_LRU=T: at the first reclaim from T µs on, the group's file lists too.
    /// </summary>
    private sealed class ThrashDump : EcsMem.Systems.Events.IEventSink
    {
        private readonly Machine _m;
        private readonly Entity _proc;
        private readonly double _us;
        private int _file = -1;
        private long _scanF, _stealF, _refd, _act;
        private bool _lruDumped;

        public ThrashDump(Machine m, Entity proc)
        {
            _m = m;
            _proc = proc;
            Kernel k = m.Kernel;
            _us = k.Options.Timing.ClockGHz * 1e3;
            // delete_from_page_cache as it happens (the event stream has no page-cache deletion of its own).
            k.PageCache.Deleted = (file, index, pfn) =>
            {
                if (file == _file)
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"del {_m.Env.Now / _us:F3} {index} {pfn}"));
            };
        }

        public void Write(in EcsMem.Systems.Events.MemEvent e)
        {
            Kernel k = _m.Kernel;
            bool data = e.Name is { } n && n.EndsWith("/data", StringComparison.Ordinal);
            if (e.Kind == EcsMem.Systems.Events.MemEventKind.FileRead && data)
            {
                for (int f = 0; _file < 0 && f < k.Files.Count; f++)
                    if (k.Files[f].Path == e.Name)
                        _file = f;
                ref EcsMem.Systems.Filemap.FileRaState ra = ref k.Readahead.Ra(k.Tasks.MmOf(_proc).Id, _file);
                // The folio's order last (folio_order, as mm_filemap_add_to_page_cache prints it): cgroup v1's pgpgin
                // counts one event per charged folio, whatever its size.
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"add {e.Time / _us:F3} {e.Slot} {e.Pfn} {ra.Start} {ra.Size} {ra.AsyncSize} {k.Zone.Frames[e.Pfn].FolioOrder}"));
            }
            else if (e.Kind == EcsMem.Systems.Events.MemEventKind.Fault && data)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"fault {(e.Time - e.Latency) / _us:F3} {(e.Address - e.VmaStart) >> 12} {(e.Major ? "M" : "m")}"));
            }
            else if (e.Kind == EcsMem.Systems.Events.MemEventKind.Reclaim)
            {
                // pgscan_file, pgsteal_file, the folios kept or activated for their references and pgactivate since
                // the last round (the kernel's mm_vmscan_lru_shrink_inactive figures, summed over the lists).
                var c = _m.Env.Counters;
                long scanF = c[k.C.PgScanFile], stealF = c[k.C.PgStealFile], refd = c[k.C.Referenced], act = c[k.C.PgActivate];
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"reclaim {e.Time / _us:F3} {(e.Direct ? "direct" : "kswapd")} scanned {e.Scanned} freed {e.Reclaimed} file scanned {scanF - _scanF} stolen {stealF - _stealF} referenced {refd - _refd} activated {act - _act}"));
                (_scanF, _stealF, _refd, _act) = (scanF, stealF, refd, act);
                // The file's pages still locked for their read (PG_locked until the bio completes): reclaim skips them.
                int locked = 0, cached = 0;
                var ranges = new StringBuilder();
                long runStart = -2, runEnd = -2;
                foreach (var (file, index, pfn) in k.PageCache.Entries())
                {
                    if (file != _file)
                        continue;
                    cached++;
                    if ((k.Zone.Frames[pfn].Flags & FrameFlags.Locked) == 0)
                        continue;
                    locked++;
                    if (index != runEnd)
                    {
                        if (runStart >= 0)
                            ranges.Append(CultureInfo.InvariantCulture, $" {runStart}-{runEnd}");
                        runStart = index;
                    }
                    runEnd = index + 1;
                }
                if (runStart >= 0)
                    ranges.Append(CultureInfo.InvariantCulture, $" {runStart}-{runEnd}");
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cached {e.Time / _us:F3} {cached} locked {locked}{ranges}"));
                if (!_lruDumped && Environment.GetEnvironmentVariable("ECSMEM_ORACLE_THRASH_LRU") is { Length: > 0 } at
                    && e.Time / _us >= double.Parse(at, CultureInfo.InvariantCulture))
                {
                    _lruDumped = true;
                    DumpLru(k, e.Time / _us);
                }
            }
        }

        /// <summary>
        /// The group's file lists from head to tail, as runs of entries (a large folio is one) of one kind: the data
        /// file's page range (else <c>o</c>) with M (mapped), R (PG_referenced), L (locked for its read).
        /// </summary>
        private void DumpLru(Kernel k, double us)
        {
            var lv = (EcsMem.Systems.Vmscan.Lruvec)k.Memcg!.OfMm(k.Tasks.MmOf(_proc).Id).Lruvec!;
            foreach (var list in new[] { EcsMem.Systems.Vmscan.LruList.InactiveFile, EcsMem.Systems.Vmscan.LruList.ActiveFile })
            {
                var sb = new StringBuilder();
                string prev = "";
                long first = -2, last = -2;
                int cnt = 0;
                foreach (int f in lv.Frames(list))
                {
                    ref Frame fr = ref k.Zone.Frames[f];
                    bool d = fr.Mapping == _file;
                    string tag = !d ? "o" : (fr.MapCount > 0 ? "M" : "") + ((fr.Flags & FrameFlags.Referenced) != 0 ? "R" : "")
                        + ((fr.Flags & FrameFlags.Locked) != 0 ? "L" : "");
                    long idx = d ? fr.Index : -1;
                    if (cnt > 0 && tag == prev && (!d || Math.Abs(idx - last) <= 1))
                    {
                        last = idx;
                        cnt++;
                        continue;
                    }
                    if (cnt > 0)
                        sb.Append(CultureInfo.InvariantCulture, $" {first}..{last}:{prev}x{cnt}");
                    (prev, first, last, cnt) = (tag, idx, idx, 1);
                }
                if (cnt > 0)
                    sb.Append(CultureInfo.InvariantCulture, $" {first}..{last}:{prev}x{cnt}");
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lru {us:F3} {list} head->tail{sb}"));
            }
        }
    }

    /// <summary>
    /// Stderr lines for the program's data files (paths ending in <c>/data</c>), in simulated-time order: <c>fault I M|m</c>
    /// (a fault on page I, major or minor), <c>read [a,b) ...</c> (the pages read since the last line) and, at each
    /// direct reclaim's end, <c>reclaim scanned S freed N swapped U anon/file scanned A F file stolen T deactivated V
    /// deleted D [a,b) ...</c>: the anonymous PTEs it set to swap entries, pgscan_anon/_file, pgsteal_file and
    /// pgdeactivate since the previous round, and the pages it took out of the page cache (those cached or read since
    /// the previous round and gone now), so N − D is the round's other pages.
    /// </summary>
    private sealed class PageCacheDump(Machine m) : EcsMem.Systems.Events.IEventSink
    {
        private HashSet<long> _cached = new();
        private readonly List<long> _read = new();
        private int _swapUnmaps;
        private long _scanA, _scanF, _stealF, _deact;

        public void Write(in EcsMem.Systems.Events.MemEvent e)
        {
            if (e.Kind == EcsMem.Systems.Events.MemEventKind.Fault && e.Name is { } vn && vn.EndsWith("/data", StringComparison.Ordinal))
            {
                Flush();
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fault {(e.Address - e.VmaStart) >> 12} {(e.Major ? "M" : "m")}"));
            }
            else if (e.Kind == EcsMem.Systems.Events.MemEventKind.FileRead && e.Name is { } fn && fn.EndsWith("/data", StringComparison.Ordinal))
            {
                _read.Add(e.Slot);
            }
            else if (e.Kind == EcsMem.Systems.Events.MemEventKind.Unmap && e.Slot > 0)
            {
                _swapUnmaps++;
            }
            else if (e.Kind == EcsMem.Systems.Events.MemEventKind.Reclaim && e.Direct)
            {
                Flush();
                Kernel k = m.Kernel;
                var now = new HashSet<long>();
                foreach (var (file, index, _) in k.PageCache.Entries())
                    if (k.Files[file].Path.EndsWith("/data", StringComparison.Ordinal))
                        now.Add(index);
                var gone = new List<long>();
                foreach (long i in _cached)
                    if (!now.Contains(i))
                        gone.Add(i);
                gone.Sort();
                var c = m.Env.Counters;
                long scanA = c[k.C.PgScanAnon], scanF = c[k.C.PgScanFile], stealF = c[k.C.PgStealFile], deact = c[k.C.PgDeactivate];
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"reclaim scanned {e.Scanned} freed {e.Reclaimed} swapped {_swapUnmaps} anon/file scanned {scanA - _scanA} {scanF - _scanF} file stolen {stealF - _stealF} deactivated {deact - _deact} deleted {gone.Count} {Ranges(gone)}"));
                (_scanA, _scanF, _stealF, _deact) = (scanA, scanF, stealF, deact);
                _cached = now;
                _swapUnmaps = 0;
            }
        }

        private void Flush()
        {
            if (_read.Count == 0)
                return;
            foreach (long i in _read)
                _cached.Add(i);
            _read.Sort();
            Console.Error.WriteLine("read " + Ranges(_read));
            _read.Clear();
        }

        private static string Ranges(List<long> sorted)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < sorted.Count;)
            {
                int j = i;
                while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
                    j++;
                sb.Append(CultureInfo.InvariantCulture, $"[{sorted[i]},{sorted[j] + 1}) ");
                i = j + 1;
            }
            return sb.ToString().TrimEnd();
        }
    }

    /// <summary>
    /// <see cref="SimPhase.Lru"/>: the program's group's memory.stat lists (pages) and the machine's pg*/workingset_*
    /// counters that moved since <paramref name="before"/> (updated to the current values).
    /// </summary>
    private static Dictionary<string, long> LruFigures(Machine m, Entity proc, Dictionary<string, long> before)
    {
        var d = new Dictionary<string, long>(StringComparer.Ordinal);
        Kernel k = m.Kernel;
        string path = k.Memcg!.OfMm(k.Tasks.MmOf(proc).Id).Path;
        foreach (var f in EcsMem.Systems.Reporting.MemcgFiles.Read(k).Where(f => f.Path == path))
            foreach (var v in f.Stat.Where(v => v.Name is "active_file" or "inactive_file" or "active_anon" or "inactive_anon"))
                d[v.Name] = v.Value / (long)Pte.PageSize;
        // The simulated time at the phase's end (the periodic memcg stats flush runs every 2 s of it).
        // Folios still in a CPU's lru_add batch: counted by workingset_refault already, on no list yet (lru_add_fn).
        if (k.Memcg.OfMm(k.Tasks.MmOf(proc).Id).Lruvec is EcsMem.Systems.Vmscan.Lruvec batchLv)
            d["lru_add_batched"] = batchLv.BatchedPages;
        d["time_ms"] = (long)(m.Env.Now / (k.Options.Timing.ClockGHz * 1e6));
        foreach (var kv in m.Env.Counters.All())
        {
            before.TryGetValue(kv.Key, out long old);
            if (kv.Value != old && (kv.Key.StartsWith("pg", StringComparison.Ordinal) || kv.Key.StartsWith("workingset", StringComparison.Ordinal)))
                d[kv.Key] = kv.Value - old;
            before[kv.Key] = kv.Value;
        }
        return d;
    }

    /// <summary>
    /// The results of the phase's <c>expect</c> calls, read from EcsMem's operation log (strace form) of the phase:
    /// each is the line of the same call at the same address, "-1 ENOMEM (...)" giving "ENOMEM", anything else "ok".
    /// A <c>fork-touch</c>'s result is how its child ended: "ok" (it exited), "SIGKILL" (killed by signal 9).
    /// </summary>
    private static List<string> Errors(ProgramPlan plan, Phase phase, List<string> log, int from, Kernel k)
    {
        var errors = new List<string>();
        foreach (PhaseOp op in phase.Ops)
        {
            if (op.After("expect") is null)
                continue;
            if (op.Verb == "fork-touch")
            {
                errors.Add(ChildEnd(k, ScenarioGenerator.ForkTouchChild(plan.Program, op)));
                continue;
            }
            ulong addr = op.Verb == "mprotect"
                ? plan.Find(op, op.Arg(0)!).Base + (ulong)PhaseProgram.Size(plan.Program.SourcePath, op.Line, op.Arg(1)!)
                : plan.BaseAt(op);
            string call = $"{op.Verb}(0x{addr.ToString("x", CultureInfo.InvariantCulture)},";
            string? line = log.Skip(from).FirstOrDefault(l => l.Contains(call, StringComparison.Ordinal));
            if (line is null)
            {
                errors.Add("not made");
                continue;
            }
            string result = line[(line.LastIndexOf(" = ", StringComparison.Ordinal) + 3)..];
            errors.Add(result.StartsWith("-1 ", StringComparison.Ordinal) ? result.Split(' ')[1] : "ok");
        }
        return errors;
    }

    /// <summary>How the process named <paramref name="name"/> ended, as the kit's C program records a child's wait status.</summary>
    private static string ChildEnd(Kernel k, string name)
    {
        foreach (Entity e in k.Tasks.Processes)
        {
            ref Process p = ref k.World.Get<Process>(e);
            if (k.Tasks.ProcessName(p) != name)
                continue;
            return p.State switch
            {
                ProcessState.Killed => p.ExitSignal == 9 ? "SIGKILL" : "SIG" + p.ExitSignal.ToString(CultureInfo.InvariantCulture),
                ProcessState.Exited => "ok",
                _ => "running",
            };
        }
        return "not made";
    }

    /// <summary>
    /// Where an mremap(MREMAP_MAYMOVE) of <paramref name="newLen"/> bytes made after <paramref name="accesses"/>
    /// accesses moves its mapping in EcsMem: the scenario so far (<paramref name="yaml"/>, whose timeline ends before
    /// the call, and its trace) runs up to that point in a scratch directory, then the address space is asked the
    /// same question mremap_to's move path asks (get_unmapped_area(NULL, 0, new_len)).
    /// </summary>
    public static ulong ProbeMoveTarget(string name, string yaml, string trace, long accesses, ulong newLen)
    {
        DirectoryInfo dir = Directory.CreateTempSubdirectory("ecsmem-kit-probe-");
        try
        {
            string path = Path.Combine(dir.FullName, name + ".yaml");
            File.WriteAllText(path, yaml);
            // One more marker read after the point, so the trace does not end (and the process exit) there.
            File.WriteAllText(Path.Combine(dir.FullName, name + ".lackey"),
                trace + " L " + ProgramPlan.MarkerAddr.ToString("x", CultureInfo.InvariantCulture) + ",1\n");
            Scenario s = ScenarioParser.ParseFile(path);
            using Machine m = ScenarioLoader.Build(s);
            m.Env.ThrowOnLateWork = true; // the kit runs with the late-work guard on (docs/reliability.md)
            Advance(m, accesses);
            long at = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm.GetUnmappedArea(0, newLen);
            if (at < 0)
                throw new InvalidOperationException($"{name}: no room for the mremap move of {newLen} bytes (errno {-at})");
            return (ulong)at;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Whether the scenario sets swapin_nr_pages' statics itself (<c>machine.swap_ra_hits</c>, <c>swap_ra_window</c>,
    /// <c>swap_ra_prev_offset</c>); <c>swap_ra_clear_reclaim</c> is a rule, not a state, and leaves the previous run on.
    /// </summary>
    public static bool SetsSwapRaState(string yaml) =>
        yaml.Contains("\n  swap_ra_hits:", StringComparison.Ordinal) || yaml.Contains("\n  swap_ra_window:", StringComparison.Ordinal)
        || yaml.Contains("\n  swap_ra_prev_offset:", StringComparison.Ordinal);

    /// <summary>
    /// Runs until the program's process has made <paramref name="accesses"/> accesses and nothing due now is left to do
    /// (a call's prefault included). The machine's limit counts every process's accesses, so it is moved on by what the
    /// others (a <c>fork-touch</c> child) made meanwhile; while the process waits for such a child, it runs on.
    /// </summary>
    /// <summary>
    /// swapin_nr_pages' statics (swapin_readahead_hits, prev_offset, last_readahead_pages) at the exit of one run of the
    /// scenario in <paramref name="yaml"/> from boot's (the run before the measured one), or null where they do not
    /// matter or are chosen: no swap, swap readahead off or by VMA (whose state dies with the VMA), a scenario that sets
    /// them itself (an <c>ECSMEM_ORACLE_MACHINE</c> what-if), or under <c>ECSMEM_ORACLE_PREVIOUS_RUN=0</c> (the what-if
    /// that keeps boot's state; the default since session 18).
    /// Linux keeps them in mm/swap_state.c's statics, which no exit, swapoff or cgroup removal resets: on the kernel a
    /// tmpfs-swap-memcg run's first window is 4 after a run of it, 8 after boot (oracle/experiments/shmem-swapin-ra and
    /// swap-ra-exit). The run goes up to the trace's end (<see cref="GeneratedScenario.Accesses"/>: the last phase_end,
    /// the record's tail and exit()'s libc pages); the exit's zap frees swap entries, which leaves the statics alone.
    /// </summary>
    public static (int Hits, long PrevOffset, int Window)? PreviousRunExit(GeneratedScenario scenario, string yaml)
    {
        if (!OracleEnv.Flag("ECSMEM_ORACLE_PREVIOUS_RUN", unset: true) || scenario.Accesses <= 0
            || SetsSwapRaState(scenario.Yaml))
            return null;
        Scenario s = ScenarioParser.ParseFile(yaml);
        if (s.Machine.SwapBytes <= 0 || s.Machine.PageCluster <= 0 || s.Machine.SwapVmaReadahead)
            return null;
        using Machine m = ScenarioLoader.Build(s);
        m.Env.ThrowOnLateWork = true;
        // ECSMEM_ORACLE_EVENTS=DIR: this pass's events too, in DIR/PROGRAM.previous.jsonl (its exit's swap-ins, the
        // EcsMem side of oracle/experiments/swap-ra-exit's exit.py).
        using FileStream? eventFile = Environment.GetEnvironmentVariable("ECSMEM_ORACLE_EVENTS") is { Length: > 0 } evDir
            ? File.Create(Path.Combine(evDir, Path.GetFileNameWithoutExtension(yaml) + ".previous.jsonl")) : null;
        using var eventOut = eventFile is null ? null : new EcsMem.Systems.Events.EventJsonWriter(eventFile);
        if (eventOut is not null)
            m.Kernel.AttachEvents(eventOut);
        Advance(m, scenario.Accesses);
        return m.Kernel.SwapReadahead.ClusterState;
    }

    /// <summary>
    /// A pilot run of <paramref name="yaml"/> (the default model, without the exec chain's tables): the simulated time at
    /// which <paramref name="phase"/> starts and ends, as the kit's run advances to them.
    /// </summary>
    private static (ulong Start, ulong End) PhaseTimes(string yaml, PhasePlan phase)
    {
        using Machine m = ScenarioLoader.Build(ScenarioParser.ParseFile(yaml));
        m.Env.ThrowOnLateWork = true;
        Advance(m, phase.AccessesAtStart);
        ulong start = m.Env.Now;
        Advance(m, phase.AccessesAtEnd);
        return (start, m.Env.Now);
    }

    /// <summary><paramref name="yaml"/> with the machine's swap-readahead statics started at <paramref name="ra"/>.</summary>
    public static string WithSwapRaState(string yaml, (int Hits, long PrevOffset, int Window) ra)
    {
        const string machine = "\nmachine:\n";
        int at = yaml.IndexOf(machine, StringComparison.Ordinal);
        if (at < 0)
            throw new InvalidOperationException("a generated scenario without a machine section");
        string keys = string.Create(CultureInfo.InvariantCulture,
            $"  swap_ra_hits: {ra.Hits}\n  swap_ra_window: {ra.Window}\n  swap_ra_prev_offset: {ra.PrevOffset}\n");
        return "# swap_ra_*: swapin_nr_pages' statics as a simulated previous run of this scenario left them at its exit\n"
            + yaml[..(at + machine.Length)] + keys + yaml[(at + machine.Length)..];
    }

    private static void Advance(Machine m, long accesses)
    {
        var env = m.Env;
        Entity proc = m.Kernel.Tasks.Processes[0];
        long Own() => m.Kernel.World.Get<ProcessStats>(proc).Accesses;
        // A fork-touch's parent in waitpid: the C program's phase ends only after the child has exited or been killed.
        bool Waiting() => m.Kernel.World.Get<Process>(proc).State == ProcessState.WaitingChild;
        long guard = 0;
        m.Access.AccessLimit = accesses + (m.Access.CompletedAccesses - Own());
        while (!m.Access.Finished &&
               (Own() < accesses || Waiting() || env.HasPendingWork || m.Access.Populating || (env.Events.Count > 0 && env.Events.PeekTime <= env.Now)))
        {
            env.RunTick();
            // The limit counts every process's accesses: while the parent waits, its children go on one access a tick,
            // so that the parent, once woken, makes at most one access beyond its phase (the next phase's marker read).
            m.Access.AccessLimit = Waiting() ? m.Access.CompletedAccesses + 1 : accesses + (m.Access.CompletedAccesses - Own());
            if (++guard > 100_000_000)
                throw new InvalidOperationException($"the simulation did not reach {accesses} accesses");
        }
        m.Access.AccessLimit = long.MaxValue;
    }

    /// <summary>The process's VMAs that overlap a live region, and [heap], as maps lines with smaps' Rss and Swap.</summary>
    /// <summary>
    /// The process's file-backed VMAs' mapped pages by folio kind (single, head or tail of a large folio) and LRU list
    /// (PG_active), as oracle/experiments/readahead-folios's folios.py counts them from pagemap and kpageflags, then the
    /// page-cache folios of those files by order (mapped or not).
    /// </summary>
    private static string FolioFigures(Kernel k, Entity proc)
    {
        MmState ms = k.Tasks.MmOf(proc);
        var frames = k.Zone.Frames;
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var files = new HashSet<int>();
        foreach (ref readonly Vma v in ms.Mm.Vmas)
        {
            if (!v.HasFile)
                continue;
            files.Add(v.FileId);
            for (ulong va = v.Start; va < v.End; va += Pte.PageSize)
            {
                var pte = new Pte(ms.Tables.Lookup(va));
                if (!pte.Present || pte.Special)
                    continue;
                int pfn = (int)pte.Pfn;
                string kind = frames[pfn].FolioOrder == 0 ? "single" : EcsMem.Systems.Filemap.PageCacheFolio.Head(frames, pfn) == pfn ? "head" : "tail";
                string lru = (frames[pfn].Flags & FrameFlags.Active) != 0 ? "active" : "inactive";
                kinds[kind + "/" + lru] = kinds.GetValueOrDefault(kind + "/" + lru) + 1;
            }
        }
        var orders = new SortedDictionary<int, int>();
        foreach (var (file, _, pfn) in k.PageCache.Entries())
        {
            if (files.Contains(file) && (frames[pfn].FolioOrder == 0 || EcsMem.Systems.Filemap.PageCacheFolio.Head(frames, pfn) == pfn))
                orders[frames[pfn].FolioOrder] = orders.GetValueOrDefault(frames[pfn].FolioOrder) + 1;
        }
        return "mapped " + string.Join(' ', kinds.Select(kv => kv.Key + "=" + kv.Value.ToString(CultureInfo.InvariantCulture)))
            + " | page-cache folios " + string.Join(' ', orders.Select(kv => "order" + kv.Key.ToString(CultureInfo.InvariantCulture) + "=" + kv.Value.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// The group's mapped anonymous pages (memory.stat's rss) and its swap-cache pages no PTE maps (kmem-gap's EcsMem
    /// side: the kernel's are kpageflags' SWAPCACHE pages of the group with no mapping): how many, and those a swapped
    /// PTE of the task refers to, as "address(slot, VMA)" with "ra" for a readahead page not yet looked up (PG_readahead).
    /// </summary>
    private static string UnmappedSwapCache(Kernel k, Entity proc, EcsMem.Systems.Memcontrol.MemCgroup g)
    {
        int total = 0, rss = 0;
        for (int pfn = 0; pfn < k.Zone.Frames.Length; pfn++)
        {
            ref Frame fr = ref k.Zone.Frames[pfn];
            if (fr.IsAnon && (fr.Flags & FrameFlags.Shmem) == 0 && fr.MapCount > 0 && k.Memcg!.OfFrame(pfn) == g)
                rss++;
        }
        for (int slot = 1; slot < k.Swap.Slots; slot++)
        {
            int pfn = k.SwapCache.Lookup(slot);
            if (pfn >= 0 && k.Zone.Frames[pfn].MapCount == 0 && k.Memcg!.OfFrame(pfn) == g)
                total++;
        }
        MmState ms = k.Tasks.MmOf(proc);
        Mm mm = ms.Mm;
        var owners = new StringBuilder();
        var mappedSmall = new StringBuilder();
        var sb = new StringBuilder();
        int owned = 0;
        foreach (ref readonly Vma v in mm.Vmas)
        {
            if ((long)(v.End - v.Start) > MaxWalkBytes)
                continue;
            for (ulong va = v.Start; va < v.End; va += Pte.PageSize)
            {
                var pte = new Pte(ms.Tables.Lookup(va));
                if (pte.Present && !pte.Special && (long)(v.End - v.Start) < (4L << 20) && k.Zone.Frames[pte.Pfn].IsAnon)
                    mappedSmall.Append(CultureInfo.InvariantCulture, $" {va:x}");
                if (!pte.IsSwap)
                    continue;
                int slot = (int)pte.ToSwapEntry().Offset;
                int pfn = slot > 0 && slot < k.Swap.Slots ? k.SwapCache.Lookup(slot) : -1;
                if (pfn < 0 || k.Zone.Frames[pfn].MapCount != 0)
                    continue;
                sb.Clear();
                ProcMaps.WriteVma(sb, v, mm.Files, mm.Mode.PointerSize);
                string[] f = sb.ToString().TrimEnd('\n').Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                string name = f.Length > 5 ? f[5].Trim() : "anon";
                owned++;
                owners.Append(CultureInfo.InvariantCulture, $" {va:x}({slot},{name[(name.LastIndexOf('/') + 1)..]}{(k.SwapReadahead.IsReadahead(pfn) ? ",ra" : "")})");
            }
        }
        return $"rss {rss} swapcache_unmapped {total} owned {owned}:{owners}; mapped in VMAs under 4 MiB:{mappedSmall}";
    }

    private static List<VmaFigure> Vmas(Kernel k, Entity proc, IReadOnlyList<(ulong Start, ulong End)> windows, bool smaps)
    {
        MmState ms = k.Tasks.MmOf(proc);
        Mm mm = ms.Mm;
        var list = new List<VmaFigure>();
        var sb = new StringBuilder();
        foreach (ref readonly Vma v in mm.Vmas)
        {
            sb.Clear();
            ProcMaps.WriteVma(sb, v, mm.Files, mm.Mode.PointerSize);
            string line = sb.ToString().TrimEnd('\n');
            string[] f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            string name = f.Length > 5 ? f[5].Trim() : "";
            bool keep = name == "[heap]";
            for (int i = 0; i < windows.Count && !keep; i++)
                keep = v.Start < windows[i].End && windows[i].Start < v.End;
            if (!keep)
                continue;
            if (name.StartsWith('/'))
                name = name[(name.LastIndexOf('/') + 1)..];
            long rss = 0, swap = 0;
            bool locked = (v.Flags & VmFlags.Locked) != 0;
            if ((long)(v.End - v.Start) <= MaxWalkBytes)
            {
                for (ulong va = v.Start; va < v.End; va += Pte.PageSize)
                {
                    var pte = new Pte(ms.Tables.Lookup(va));
                    if (pte.Present && !pte.Special)
                        rss += 4;
                    else if (pte.IsSwap)
                        swap += 4;
                }
            }
            // A shmem mapping's Swap is shmem_swap_usage: its object's pages out on swap (their entries are in the
            // object, not in the PTEs).
            if (v.FileId >= 0 && k.OpenFiles.IsShmem(v.FileId))
                swap += 4 * k.OpenFiles.ShmemSwappedIn(v.FileId, (long)v.PgOff, (long)(v.PgOff + v.Pages));
            long offset = long.Parse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            // smaps' Locked: the area's resident pages when it is VM_LOCKED.
            long lockedKb = locked ? rss : 0;
            IReadOnlyDictionary<string, Spread>? fields = null;
            string? vmFlags = null;
            if (smaps)
            {
                // The whole /proc/PID/smaps entry as EcsMem prints it (show_smap), for the programs that record it.
                SmapsVmaSnapshot e = EcsMem.Systems.Reporting.Smaps.Of(k, ms, v, new StringBuilder());
                var d = new SortedDictionary<string, Spread>(StringComparer.Ordinal);
                foreach (NamedValue nv in e.Fields)
                    d[nv.Name] = new Spread(nv.Value, nv.Value);
                d["THPeligible"] = new Spread(e.ThpEligible ? 1 : 0, e.ThpEligible ? 1 : 0);
                fields = d;
                vmFlags = e.VmFlags.TrimEnd();
            }
            list.Add(new VmaFigure(v.Start, v.End, f[1], offset, name, new Spread(rss, rss), default, new Spread(swap, swap), new Spread(lockedKb, lockedKb))
            { Smaps = fields, VmFlags = vmFlags });
        }
        return list;
    }
}
