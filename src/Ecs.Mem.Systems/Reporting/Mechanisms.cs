using System.Globalization;

namespace EcsMem.Systems.Reporting;

/// <summary>One number of a mechanism: a count, or a ratio when <see cref="IsRatio"/> (a TLB hit rate).</summary>
/// <param name="Name">The JSON key (snake_case).</param>
/// <param name="Count">The count (0 for a ratio).</param>
/// <param name="Ratio">The ratio (0 for a count).</param>
/// <param name="IsRatio">True when the value is <see cref="Ratio"/>.</param>
public readonly record struct MechanismValue(string Name, long Count, double Ratio = 0, bool IsRatio = false);

/// <summary>
/// What one of the seed's mechanisms did in the run: the numbers (from the run's own counters) and a
/// one-line summary in plain words.
/// </summary>
/// <param name="Key">The JSON key (snake_case): mapping, demand_paging, allocation, reclaim, page_cache, swap_cache, tlb, swapping.</param>
/// <param name="Label">The name as the text report prints it, with the seed's arrow numbers (① demand paging).</param>
/// <param name="Summary">One line: what the mechanism did, in words and numbers.</param>
/// <param name="Values">The numbers the summary uses, under their JSON keys.</param>
public sealed record Mechanism(string Key, string Label, string Summary, IReadOnlyList<MechanismValue> Values)
{
    /// <summary>The count called <paramref name="name"/> (a ratio: throws).</summary>
    public long this[string name]
    {
        get
        {
            foreach (var v in Values)
                if (v.Name == name && !v.IsRatio)
                    return v.Count;
            throw new KeyNotFoundException(name);
        }
    }
}

/// <summary>
/// Groups a finished report's counters under the seed's mechanisms (mapping; demand paging ①; allocation ②
/// and reclaim ④⑤; page cache ③, swap cache ⑥, TLB ⑧; swapping and the page-table rewrite ⑦). Every number
/// is read from the same report: the /proc/vmstat counters, the TLB table and, for mapping, the
/// address-space operation log (one line per timeline call), so the section agrees with the rest by definition.
/// Numbers the simulator does not count (VMAs at the peak, PTEs rewritten per swapped page) are left out.
/// </summary>
public static class Mechanisms
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The address-space calls the mapping line counts, in the order it prints them.</summary>
    private static readonly string[] Calls = ["mmap", "munmap", "mprotect", "brk", "fork", "exit"];

    public static IReadOnlyList<Mechanism> Build(SimulationReport r)
    {
        var vm = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var v in r.VmStat)
            vm[v.Name] = v.Value;
        long V(string name) => vm.TryGetValue(name, out long x) ? x : 0;

        return
        [
            Mapping(r, V("ecsmem_pgtable_alloc")),
            DemandPaging(V),
            Allocation(V),
            Reclaim(V),
            PageCache(V),
            SwapCache(V),
            Tlb(r, V),
            Swapping(V),
        ];
    }

    // The timeline's calls, counted from the operation log: "t=T pid P call(args)    = RESULT" in strace form for a
    // call made (exit_group and exit count as exit; a failure's result is "-1 ENAME (text)"), "pid P Kind: skipped
    // (...)" for one whose process was not running (not counted).
    private static Mechanism Mapping(SimulationReport r, long pageTablePages)
    {
        var made = new long[Calls.Length];
        long failed = 0;
        foreach (string line in r.AddressSpaceLog)
        {
            if (!line.StartsWith("t=", StringComparison.Ordinal))
                continue;
            int pid = line.IndexOf(" pid ", StringComparison.Ordinal);
            int name = pid < 0 ? -1 : line.IndexOf(' ', pid + 5);
            int paren = name < 0 ? -1 : line.IndexOf('(', name);
            if (paren < 0)
                continue;
            string call = line[(name + 1)..paren];
            int i = Array.IndexOf(Calls, call is "exit_group" ? "exit" : call);
            if (i < 0)
                continue;
            made[i]++;
            // The arguments never hold " = ": the first one after the call is the result's.
            int eq = line.IndexOf(" = ", paren, StringComparison.Ordinal);
            if (eq >= 0 && line.AsSpan(eq + 3).StartsWith("-1 ", StringComparison.Ordinal))
                failed++;
        }
        long total = made.Sum();
        var values = new List<MechanismValue> { new("calls", total) };
        var parts = new List<string>();
        for (int i = 0; i < Calls.Length; i++)
        {
            values.Add(new(Calls[i], made[i]));
            parts.Add(string.Create(Inv, $"{made[i]} {Calls[i]}"));
        }
        values.Add(new("failed", failed));
        values.Add(new("page_table_pages_allocated", pageTablePages));
        string summary = string.Create(Inv,
            $"{total} address-space calls ({string.Join(", ", parts)}), {failed} failed; {pageTablePages} page-table pages allocated");
        return new Mechanism("mapping", "mapping", summary, values);
    }

    private static Mechanism DemandPaging(Func<string, long> v)
    {
        long faults = v("pgfault"), major = v("pgmajfault"), minor = faults - major;
        long fileReads = v("ecsmem_pagecache_miss"), swapIns = v("pswpin");
        long zero = v("ecsmem_zero_page_map"), copy = v("ecsmem_cow_copy"), reuse = v("ecsmem_cow_reuse");
        long stack = v("ecsmem_stack_growth"), segv = v("ecsmem_sigsegv");
        string summary = string.Create(Inv,
            $"{faults} page faults: {minor} minor, {major} major ({fileReads} file reads, {swapIns} swap-ins); {zero} zero-page maps, {copy} COW copies, {reuse} COW reuses, {stack} stack growths, {segv} SIGSEGV");
        return new Mechanism("demand_paging", "① demand paging", summary,
        [
            new("page_faults", faults), new("minor", minor), new("major", major),
            new("file_reads", fileReads), new("swap_ins", swapIns),
            new("zero_page_maps", zero), new("cow_copies", copy), new("cow_reuses", reuse),
            new("stack_growths", stack), new("sigsegv", segv),
        ]);
    }

    private static Mechanism Allocation(Func<string, long> v)
    {
        long alloc = v("pgalloc_normal"), free = v("pgfree"), stalls = v("allocstall_normal"), wakeups = v("ecsmem_kswapd_wakeups");
        string summary = string.Create(Inv,
            $"{alloc} pages allocated, {free} freed; {stalls} allocations stalled for direct reclaim; kswapd woken {wakeups} times");
        return new Mechanism("allocation", "② allocation", summary,
        [
            new("pages_allocated", alloc), new("pages_freed", free),
            new("allocation_stalls", stalls), new("kswapd_wakeups", wakeups),
        ]);
    }

    private static Mechanism Reclaim(Func<string, long> v)
    {
        long scanK = v("pgscan_kswapd"), scanD = v("pgscan_direct"), stealK = v("pgsteal_kswapd"), stealD = v("pgsteal_direct");
        long anon = v("pgsteal_anon"), file = v("pgsteal_file"), referenced = v("ecsmem_reclaim_referenced");
        long passes = v("pageoutrun"), oom = v("oom_kill");
        string summary = string.Create(Inv,
            $"kswapd scanned {scanK} pages and reclaimed {stealK}, direct reclaim scanned {scanD} and reclaimed {stealD} ({anon} anonymous, {file} file); {referenced} spared as referenced; {passes} passes; {oom} OOM kills");
        return new Mechanism("reclaim", "④⑤ reclaim", summary,
        [
            new("scanned_kswapd", scanK), new("scanned_direct", scanD),
            new("reclaimed_kswapd", stealK), new("reclaimed_direct", stealD),
            new("reclaimed_anon", anon), new("reclaimed_file", file),
            new("spared_referenced", referenced), new("passes", passes), new("oom_kills", oom),
        ]);
    }

    private static Mechanism PageCache(Func<string, long> v)
    {
        long hits = v("ecsmem_pagecache_hit"), misses = v("ecsmem_pagecache_miss");
        long written = v("ecsmem_file_writeback"), dropped = v("pgsteal_file");
        string summary = string.Create(Inv,
            $"{hits} file-page faults found the page cached, {misses} read it from disk; {written} dirty file pages written back, {dropped} file pages reclaimed");
        return new Mechanism("page_cache", "③ page cache", summary,
        [
            new("hits", hits), new("misses", misses), new("written_back", written), new("reclaimed", dropped),
        ]);
    }

    private static Mechanism SwapCache(Func<string, long> v)
    {
        long hits = v("ecsmem_swapcache_hit"), swapIns = v("pswpin");
        string summary = string.Create(Inv,
            $"{hits} faults on swapped-out pages found them still in the swap cache (no disk read), {swapIns} read them back from swap");
        return new Mechanism("swap_cache", "⑥ swap cache", summary, [new("hits", hits), new("swap_ins", swapIns)]);
    }

    private static Mechanism Tlb(SimulationReport r, Func<string, long> v)
    {
        var values = new List<MechanismValue>();
        var rates = new List<string>();
        foreach (var t in r.Tlb)
        {
            values.Add(new(t.Name + "_hits", t.Hits));
            values.Add(new(t.Name + "_misses", t.Misses));
            values.Add(new(t.Name + "_hit_rate", 0, Math.Round(t.HitRate, 9, MidpointRounding.ToEven), IsRatio: true));
            if (t.Lookups > 0)
                rates.Add(string.Create(Inv, $"{t.Name} {ReportTextWriter.Percent(t.HitRate)} of {t.Lookups}"));
        }
        long all = v("nr_tlb_local_flush_all"), one = v("nr_tlb_local_flush_one"), remote = v("nr_tlb_remote_flush");
        long switches = v("ecsmem_context_switches"), switchFlush = v("tlb_asid_switch_flush");
        values.Add(new("full_flushes", all));
        values.Add(new("page_invalidations", one));
        values.Add(new("shootdowns", remote));
        values.Add(new("context_switches", switches));
        values.Add(new("switch_flushes", switchFlush));
        string hitRates = rates.Count == 0 ? "no lookups" : "hit rates " + string.Join(", ", rates) + " lookups";
        string shootdowns = r.Cpus > 1 ? string.Create(Inv, $", {remote} shootdowns to other CPUs") : "";
        string summary = string.Create(Inv,
            $"{hitRates}; {all} full flushes, {one} single-page invalidations{shootdowns}; {switchFlush} of {switches} context switches flushed");
        return new Mechanism("tlb", "⑧ TLB", summary, values);
    }

    private static Mechanism Swapping(Func<string, long> v)
    {
        long outPages = v("pswpout"), inPages = v("pswpin");
        string summary = string.Create(Inv,
            $"{outPages} anonymous pages written to swap, each unmapped by rewriting its PTEs to swap entries; {inPages} read back and mapped again");
        return new Mechanism("swapping", "⑦ swapping", summary, [new("swapped_out", outPages), new("swapped_in", inPages)]);
    }
}
