using System.Globalization;
using System.Text;

namespace EcsMem.Systems.Reporting;

/// <summary>
/// The human-readable report of <c>ecsmem run</c>. Counters appear under their /proc/vmstat names (the same
/// names the JSON uses), the /proc excerpts exactly as the files print them. Invariant culture throughout,
/// '\n' line ends, no wall-clock value: the same report gives the same bytes.
/// </summary>
public static class ReportTextWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Write(SimulationReport r)
    {
        var sb = new StringBuilder(16 * 1024);
        Header(sb, r);
        Time(sb, r);
        Tlb(sb, r);
        Caches(sb, r);
        Section(sb, "faults");
        Values(sb, r.Faults);
        Section(sb, "swap");
        Values(sb, r.Swap);
        Section(sb, "reclaim");
        Values(sb, r.Reclaim);
        Kills(sb, r);
        Mechanisms(sb, r);
        Log(sb, "address-space operations", r.AddressSpaceLog);
        ProcessTable(sb, r);
        Statuses(sb, r);
        Section(sb, "/proc/vmstat");
        VmStat.AppendTo(sb, r.VmStat);
        Section(sb, "/proc/meminfo");
        MemInfo.AppendTo(sb, r.MemInfo);
        Section(sb, "/proc/buddyinfo");
        sb.Append(r.BuddyInfo);
        if (r.PageTypeInfo is not null)
        {
            Section(sb, "/proc/pagetypeinfo");
            sb.Append(r.PageTypeInfo);
        }
        FaultBatches(sb, r);
        Pagesets(sb, r);
        if (r.Khugepaged is not null)
        {
            Section(sb, "/sys/kernel/mm/transparent_hugepage/khugepaged");
            VmStat.AppendTo(sb, r.Khugepaged);
        }
        if (r.Mthp is not null)
        {
            Section(sb, "/sys/kernel/mm/transparent_hugepage/hugepages-*/stats");
            VmStat.AppendTo(sb, r.Mthp);
        }
        if (r.Cgroups is not null)
            MemcgFiles.AppendText(sb, r.Cgroups);
        if (r.LruGen is not null)
            LruGenFiles.AppendText(sb, r.LruGen);
        EffectiveConfiguration(sb, r);
        SnapshotFormat.AppendText(sb, r.Snapshots);
        return sb.ToString();
    }

    // Several CPUs only: how many faults each batch of the fault handler held (one CPU: always one).
    private static void FaultBatches(StringBuilder sb, SimulationReport r)
    {
        if (r.FaultBatches is null)
            return;
        Section(sb, "fault batches (faults the CPUs raised in one fault window, handled together)");
        sb.Append(Inv, $"  {"faults",6} {"batches",12} {"share",8}\n");
        long total = 0;
        foreach (var (_, count) in r.FaultBatches) total += count;
        foreach (var (size, count) in r.FaultBatches)
            sb.Append(Inv, $"  {size,6} {count,12} {Percent(total == 0 ? 0 : (double)count / total),8}\n");
    }

    // Only when the per-CPU lists are on (machine.per_cpu_pages, the default).
    private static void Pagesets(StringBuilder sb, SimulationReport r)
    {
        if (r.Pagesets is null)
            return;
        Section(sb, "per-CPU page lists (/proc/zoneinfo pagesets, zone Normal)");
        bool tuned = r.Pagesets.Count > 0 && r.Pagesets[0].Tuned;
        // Linux 6.7+'s zoneinfo adds high_min and high_max (machine.pcp_high_tuning, the default).
        sb.Append(Inv, $"  {"cpu",4} {"count",8} {"high",8} {"batch",8}");
        if (tuned)
            sb.Append(Inv, $" {"high_min",8} {"high_max",8}");
        sb.Append('\n');
        foreach (var p in r.Pagesets)
        {
            sb.Append(Inv, $"  {p.Cpu,4} {p.Count,8} {p.High,8} {p.Batch,8}");
            if (tuned)
                sb.Append(Inv, $" {p.HighMin,8} {p.HighMax,8}");
            sb.Append('\n');
        }
        sb.Append("  (pages on these lists are free but not counted in MemFree, nr_free_pages or /proc/buddyinfo)\n");
    }

    /// <summary>One line per value: the scenario key, the value, and a note after <c>#</c> where there is one.</summary>
    private static void EffectiveConfiguration(StringBuilder sb, SimulationReport r)
    {
        Section(sb, "effective configuration");
        foreach (var v in r.EffectiveConfiguration)
        {
            sb.Append(Inv, $"  {v.Key,-30} {v.Text}");
            if (v.Note.Length > 0)
                sb.Append("  # ").Append(v.Note);
            sb.Append('\n');
        }
    }

    private static void Section(StringBuilder sb, string title) => sb.Append('\n').Append("== ").Append(title).Append(" ==\n");

    private static void Header(StringBuilder sb, SimulationReport r)
    {
        sb.Append("ecsmem machine report\n");
        sb.Append(Inv, $"scenario:        {r.Source}\n");
        sb.Append(Inv, $"status:          {(r.Partial ? $"partial: interrupted after {r.Accesses} accesses" : "complete")}\n");
        sb.Append(Inv, $"policy:          {r.Policy}\n");
        sb.Append(Inv, $"paging:          {r.Paging}\n");
        sb.Append(Inv, $"ram:             {r.RamBytes / 1024} kB ({r.RamBytes / 4096} pages)\n");
        sb.Append(Inv, $"swap:            {r.SwapBytes / 1024} kB\n");
        sb.Append(Inv, $"quantum:         {r.Quantum} accesses\n");
        sb.Append(Inv, $"seed:            {r.Seed}\n");
        if (r.WarmupAccesses is { } n)
            sb.Append(Inv, $"warm-up:         {WarmupText(n, r)}\n");
    }

    /// <summary>The warm-up line: N accesses excluded; or why fewer were (the run ended, or was stopped, first).</summary>
    private static string WarmupText(long n, SimulationReport r) => r.WarmupResetAt switch
    {
        { } at when at >= n => $"{n} accesses excluded",
        { } at => $"{n} accesses excluded (the run ended after {at}: every statistic is excluded)",
        null => $"{n} accesses not reached (stopped after {r.TotalAccesses}): nothing excluded",
    };

    private static void Time(StringBuilder sb, SimulationReport r)
    {
        Section(sb, "time");
        sb.Append(Inv, $"simulated time:  {r.Cycles} cycles ({r.Seconds:F6} s at {r.ClockGHz:0.0##} GHz)\n");
        sb.Append(Inv, $"accesses:        {r.Accesses}\n");
        sb.Append(Inv, $"AMAT:            {r.Amat:F3} cycles (translation + caches/memory, per access)\n");
        sb.Append(Inv, $"effective:       {r.EffectiveAccessTime:F3} cycles per access (all charged cycles)\n");
        sb.Append("cycles per access:\n");
        sb.Append(Inv, $"  {"category",-12} {"cycles",16} {"per access",12}\n");
        // The CPUs' own time: every row here advanced the clock of the CPU it ran on, so with idle they add up
        // to each CPU's time, and with the CPUs that finished early idling to the end, to cpus x simulated time.
        sb.Append("  on the CPUs (each row advanced a CPU's clock):\n");
        long onCpu = 0;
        foreach (var row in r.Breakdown)
        {
            if (row.OffCpu)
                continue;
            onCpu += row.Cycles;
            Row(sb, r, row.Name, row.Cycles);
        }
        ulong cpusTime = (ulong)r.Cpus * r.Cycles;
        if (r.Cpus > 1)
        {
            // CPUs whose last work ended before the run did: idle from then to the end.
            long tail = (long)(cpusTime - r.CpuTimeCycles);
            onCpu += tail;
            // After a warm-up reset the CPUs' clocks also stood apart at the reset: the row then holds both ends.
            Row(sb, r, r.WarmupResetAt is null ? "idle at end" : "clock offset", tail);
        }
        Row(sb, r, "= cpu time", onCpu);
        sb.Append(Inv, $"  (on-CPU rows sum to cpus x simulated time: {onCpu} {((ulong)onCpu == cpusTime ? "=" : "!=")} {r.Cpus} x {r.Cycles})\n");
        sb.Append("  off the CPUs (charged, no CPU's clock advanced; overlaps the time above):\n");
        foreach (var row in r.Breakdown)
            if (row.OffCpu)
                Row(sb, r, row.Name, row.Cycles);
        sb.Append("  (reclaim: pages written out to swap and files by kswapd and direct reclaim, as device time)\n");
    }

    private static void Row(StringBuilder sb, SimulationReport r, string name, long cycles) =>
        sb.Append(Inv, $"  {name,-12} {cycles,16} {(r.Accesses == 0 ? 0 : (double)cycles / r.Accesses),12:F3}\n");

    private static void Tlb(StringBuilder sb, SimulationReport r)
    {
        Section(sb, "TLB");
        sb.Append(Inv, $"  {"level",-6} {"hits",12} {"misses",12} {"hit rate",9}\n");
        foreach (var t in r.Tlb)
            sb.Append(Inv, $"  {t.Name,-6} {t.Hits,12} {t.Misses,12} {Percent(t.HitRate),9}\n");
        if (r.TlbBySize.Count > 0)
        {
            sb.Append("  by page size (of the accesses to pages of that size):\n");
            foreach (var t in r.TlbBySize)
                sb.Append(Inv, $"  {t.Name,-8} {t.Hits,10} {t.Misses,12} {Percent(t.HitRate),9}\n");
        }
        if (r.Psc.Count > 0)
        {
            sb.Append("  paging-structure caches (lookups by page walks):\n");
            foreach (var t in r.Psc)
                sb.Append(Inv, $"  {t.Name,-8} {t.Hits,10} {t.Misses,12} {Percent(t.HitRate),9}\n");
        }
        Values(sb, r.TlbEvents);
    }

    private static void Caches(StringBuilder sb, SimulationReport r)
    {
        Section(sb, "caches");
        sb.Append(Inv, $"  {"level",-6} {"size",8} {"ways",4} {"line",4} {"accesses",12} {"misses",12} {"miss rate",9}\n");
        foreach (var c in r.Caches)
            sb.Append(Inv, $"  {c.Name,-6} {Size(c.SizeBytes),8} {c.Ways,4} {c.LineBytes,4} {c.Accesses,12} {c.Misses,12} {Percent(c.MissRate),9}\n");
    }

    private static void Values(StringBuilder sb, IReadOnlyList<NamedValue> values)
    {
        foreach (var v in values)
            sb.Append(Inv, $"  {v.Name,-28} {v.Value,12}  {v.Description}\n");
    }

    private static void Kills(StringBuilder sb, SimulationReport r)
    {
        Section(sb, "kills");
        sb.Append(Inv, $"  {"oom_kill",-28} {r.OomKills,12}  processes killed by the OOM killer\n");
        foreach (string l in r.OomLog)
            sb.Append("  ").Append(l).Append('\n');
        foreach (string l in r.KillLog)
            sb.Append("  ").Append(l).Append('\n');
    }

    // The seed's mechanisms, one line each: what the run did under each arrow of its diagram.
    private static void Mechanisms(StringBuilder sb, SimulationReport r)
    {
        if (r.Mechanisms.Count == 0)
            return;
        Section(sb, "mechanisms (the seed's diagram, arrows ①-⑧: what each did in this run)");
        foreach (var m in r.Mechanisms)
            sb.Append(Inv, $"  {m.Label,-16} {m.Summary}\n");
    }

    private static void Log(StringBuilder sb, string title, IReadOnlyList<string> lines)
    {
        Section(sb, title);
        if (lines.Count == 0)
            sb.Append("  (none)\n");
        foreach (string l in lines)
            sb.Append("  ").Append(l).Append('\n');
    }

    private static void ProcessTable(StringBuilder sb, SimulationReport r)
    {
        Section(sb, "processes");
        sb.Append(Inv, $"  {"pid",4} {"name",-12} {"state",-11} {"signal",6} {"accesses",10} {"min_flt",9} {"maj_flt",9} {"cow_copy",9} {"cow_reuse",9} {"zero_page",9} {"stack_grow",10} {"pagecache_hit",13} {"swap_in",9} {"tlb_hit",8} {"l1_miss",8} {"l2_miss",8} {"l3_miss",8}\n");
        foreach (var p in r.Processes)
        {
            var s = p.Stats;
            sb.Append(Inv, $"  {p.Pid,4} {p.Name,-12} {p.StateName,-11} {p.ExitSignal,6} {s.Accesses,10} {s.MinFlt,9} {s.MajFlt,9} {s.CowCopies,9} {s.CowReuses,9} {s.ZeroPageMaps,9} {s.StackGrowths,10} {s.PageCacheHits,13} {s.SwapIns,9} {Percent(p.TlbHitRate),8} {Percent(p.L1MissRate),8} {Percent(p.L2MissRate),8} {Percent(p.L3MissRate),8}\n");
        }
        sb.Append("  (signal: 11 SIGSEGV, 9 SIGKILL; l2_miss and l3_miss are local rates: misses over the level's own accesses)\n");
    }

    private static void Statuses(StringBuilder sb, SimulationReport r)
    {
        foreach (var p in r.Processes)
        {
            bool gone = p.State is Components.ProcessState.Exited or Components.ProcessState.Killed;
            Section(sb, $"/proc/{p.Pid.ToString(Inv)}/status ({p.Name}{(gone ? ", at exit" : "")})");
            sb.Append("Name:\t").Append(p.Name).Append('\n');
            sb.Append("Pid:\t").Append(p.Pid.ToString(Inv)).Append('\n');
            sb.Append("PPid:\t").Append(p.ParentPid.ToString(Inv)).Append('\n');
            p.Status.AppendTo(sb);
        }
    }

    /// <summary>A ratio as a percentage with two decimals.</summary>
    public static string Percent(double ratio) => (ratio * 100).ToString("F2", Inv) + "%";

    private static string Size(long bytes) =>
        bytes % (1L << 20) == 0 ? (bytes >> 20).ToString(Inv) + "M"
        : bytes % 1024 == 0 ? (bytes >> 10).ToString(Inv) + "K"
        : bytes.ToString(Inv);
}
