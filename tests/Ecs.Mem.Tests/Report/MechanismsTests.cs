using System.Text.Json;

namespace EcsMem.Tests.Report;

/// <summary>
/// The report's "mechanisms" section: the run's counters under the seed's mechanisms (mapping; ① demand paging;
/// ② allocation; ④⑤ reclaim; ③ page cache; ⑥ swap cache; ⑧ TLB; ⑦ swapping), in text and JSON.
/// </summary>
public class MechanismsTests
{
    private static readonly string[] Keys =
        ["mapping", "demand_paging", "allocation", "reclaim", "page_cache", "swap_cache", "tlb", "swapping"];

    // Four loads to four untouched pages of an inferred anonymous layout, then stores to two of them, in 1 MiB
    // of RAM and no swap. Worked by hand:
    // - each load faults on an untouched anonymous page: do_anonymous_page maps the shared zero page read-only:
    //   4 minor faults, 4 zero-page maps;
    // - each store finds the zero page mapped read-only: a write-protect fault, do_wp_page copies it (the zero
    //   page is never reused): 2 more minor faults, 2 COW copies; pgfault = 6, pgmajfault = 0;
    // - pages allocated: the 2 copies, plus the page tables for one 2 MiB region under x86-64's four levels
    //   (PGD, PUD, PMD, PTE table: 4); exit frees them all: 6 allocated, 6 freed;
    // - nothing is reclaimed, swapped, read from a file or killed;
    // - the dTLB: the 4 loads miss, and miss again on the retry after their fault; the 2 stores hit the zero
    //   page's read-only entry, fault, the entry is invalidated (2 INVLPG) and the retry misses:
    //   2 hits, 10 misses;
    // - the trace makes no address-space call.
    private const string Trace = " L 10000000,8\n L 10001000,8\n L 10002000,8\n L 10003000,8\n S 10000000,8\n S 10001000,8\n";

    private static (string Text, JsonElement Mechanisms) RunSmall(ReportTestFiles f)
    {
        string trace = f.Write("small.lackey", Trace);
        string[] args = ["run", "--trace", trace, "--trace-format", "lackey", "--mem", "1M", "--swap", "0"];
        var (code, text, err) = ReportTestFiles.Run(args);
        Assert.That(code, Is.EqualTo(0), err);
        var (jcode, json, jerr) = ReportTestFiles.Run([.. args, "--json"]);
        Assert.That(jcode, Is.EqualTo(0), jerr);
        using var doc = JsonDocument.Parse(json);
        return (text, doc.RootElement.GetProperty("mechanisms").Clone());
    }

    private static long N(JsonElement m, string mechanism, string key) => m.GetProperty(mechanism).GetProperty(key).GetInt64();

    [Test]
    public void ZeroPageReadsThenTwoWritesGiveTheHandWorkedNumbers()
    {
        using var f = new ReportTestFiles();
        var (_, m) = RunSmall(f);

        Assert.That(N(m, "demand_paging", "page_faults"), Is.EqualTo(6));
        Assert.That(N(m, "demand_paging", "minor"), Is.EqualTo(6));
        Assert.That(N(m, "demand_paging", "major"), Is.EqualTo(0));
        Assert.That(N(m, "demand_paging", "zero_page_maps"), Is.EqualTo(4));
        Assert.That(N(m, "demand_paging", "cow_copies"), Is.EqualTo(2));
        Assert.That(N(m, "demand_paging", "cow_reuses"), Is.EqualTo(0));
        Assert.That(N(m, "demand_paging", "stack_growths"), Is.EqualTo(0));
        Assert.That(N(m, "demand_paging", "sigsegv"), Is.EqualTo(0));

        Assert.That(N(m, "allocation", "pages_allocated"), Is.EqualTo(6));
        // The 2 COW copies are still in CPU 0's lru_add batch (2 of 31) at exit, which does not drain it: 4 page tables freed.
        Assert.That(N(m, "allocation", "pages_freed"), Is.EqualTo(4));
        Assert.That(N(m, "allocation", "allocation_stalls"), Is.EqualTo(0));
        Assert.That(N(m, "allocation", "kswapd_wakeups"), Is.EqualTo(0));
        Assert.That(N(m, "mapping", "page_table_pages_allocated"), Is.EqualTo(4));
        Assert.That(N(m, "mapping", "calls"), Is.EqualTo(0));

        foreach (var p in m.GetProperty("reclaim").EnumerateObject())
            Assert.That(p.Value.GetInt64(), Is.EqualTo(0), "reclaim." + p.Name);
        foreach (string mech in (string[])["page_cache", "swap_cache", "swapping"])
            foreach (var p in m.GetProperty(mech).EnumerateObject())
                Assert.That(p.Value.GetInt64(), Is.EqualTo(0), mech + "." + p.Name);

        Assert.That(N(m, "tlb", "dtlb_hits"), Is.EqualTo(2));
        Assert.That(N(m, "tlb", "dtlb_misses"), Is.EqualTo(10));
        Assert.That(m.GetProperty("tlb").GetProperty("dtlb_hit_rate").GetDouble(), Is.EqualTo(2.0 / 12).Within(1e-9));
        Assert.That(N(m, "tlb", "page_invalidations"), Is.EqualTo(2));
        Assert.That(N(m, "tlb", "shootdowns"), Is.EqualTo(0));
    }

    [Test]
    public void TextPrintsOneLinePerMechanismWithTheSameNumbers()
    {
        using var f = new ReportTestFiles();
        var (text, _) = RunSmall(f);
        int at = text.IndexOf("\n== mechanisms", StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThan(text.IndexOf("\n== kills ==", StringComparison.Ordinal)));
        string[] lines = text[(at + 1)..].Split('\n').Skip(1).TakeWhile(l => l.Length > 0).ToArray();
        Assert.That(lines.Select(l => l.TrimStart().Split("  ")[0]),
            Is.EqualTo(new[] { "mapping", "① demand paging", "② allocation", "④⑤ reclaim", "③ page cache", "⑥ swap cache", "⑧ TLB", "⑦ swapping" }));
        Assert.That(lines[1], Does.Contain("6 page faults: 6 minor, 0 major"));
        Assert.That(lines[1], Does.Contain("4 zero-page maps, 2 COW copies, 0 COW reuses"));
        Assert.That(lines[2], Does.Contain("6 pages allocated, 4 freed"), "the 2 COW copies wait in the lru_add batch past the exit");
        Assert.That(lines[6], Does.Contain("dtlb 16.67% of 12"));
        Assert.That(lines[6], Does.Not.Contain("shootdowns"), "one CPU: no shootdowns mentioned");
    }

    [Test]
    public void DefaultScenarioMechanismsEqualTheReportsOwnCounters()
    {
        var (code, json, err) = ReportTestFiles.Run("run", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var m = root.GetProperty("mechanisms");
        Assert.That(m.EnumerateObject().Select(p => p.Name), Is.EqualTo(Keys));

        var vmstat = root.GetProperty("vmstat");
        long Vm(string name) => vmstat.GetProperty(name).GetInt64();
        (string Mechanism, string Key, string VmStat)[] same =
        [
            ("mapping", "page_table_pages_allocated", "ecsmem_pgtable_alloc"),
            ("demand_paging", "page_faults", "pgfault"),
            ("demand_paging", "major", "pgmajfault"),
            ("demand_paging", "file_reads", "ecsmem_pagecache_miss"),
            ("demand_paging", "swap_ins", "pswpin"),
            ("demand_paging", "zero_page_maps", "ecsmem_zero_page_map"),
            ("demand_paging", "cow_copies", "ecsmem_cow_copy"),
            ("demand_paging", "cow_reuses", "ecsmem_cow_reuse"),
            ("demand_paging", "stack_growths", "ecsmem_stack_growth"),
            ("demand_paging", "sigsegv", "ecsmem_sigsegv"),
            ("allocation", "pages_allocated", "pgalloc_normal"),
            ("allocation", "pages_freed", "pgfree"),
            ("allocation", "allocation_stalls", "allocstall_normal"),
            ("allocation", "kswapd_wakeups", "ecsmem_kswapd_wakeups"),
            ("reclaim", "scanned_kswapd", "pgscan_kswapd"),
            ("reclaim", "scanned_direct", "pgscan_direct"),
            ("reclaim", "reclaimed_kswapd", "pgsteal_kswapd"),
            ("reclaim", "reclaimed_direct", "pgsteal_direct"),
            ("reclaim", "reclaimed_anon", "pgsteal_anon"),
            ("reclaim", "reclaimed_file", "pgsteal_file"),
            ("reclaim", "spared_referenced", "ecsmem_reclaim_referenced"),
            ("reclaim", "passes", "pageoutrun"),
            ("reclaim", "oom_kills", "oom_kill"),
            ("page_cache", "hits", "ecsmem_pagecache_hit"),
            ("page_cache", "misses", "ecsmem_pagecache_miss"),
            ("page_cache", "written_back", "ecsmem_file_writeback"),
            ("page_cache", "reclaimed", "pgsteal_file"),
            ("swap_cache", "hits", "ecsmem_swapcache_hit"),
            ("swap_cache", "swap_ins", "pswpin"),
            ("swap_cache", "readahead", "swap_ra"),
            ("swap_cache", "readahead_hits", "swap_ra_hit"),
            ("tlb", "full_flushes", "nr_tlb_local_flush_all"),
            ("tlb", "page_invalidations", "nr_tlb_local_flush_one"),
            ("tlb", "shootdowns", "nr_tlb_remote_flush"),
            ("tlb", "context_switches", "ecsmem_context_switches"),
            ("tlb", "switch_flushes", "tlb_asid_switch_flush"),
            ("swapping", "swapped_out", "pswpout"),
            ("swapping", "swapped_in", "pswpin"),
        ];
        foreach (var (mech, key, vm) in same)
            Assert.That(N(m, mech, key), Is.EqualTo(Vm(vm)), $"mechanisms.{mech}.{key} vs vmstat {vm}");
        Assert.That(N(m, "demand_paging", "minor"), Is.EqualTo(Vm("pgfault") - Vm("pgmajfault")));
        Assert.That(root.GetProperty("oom_kill").GetInt64(), Is.EqualTo(N(m, "reclaim", "oom_kills")));

        var tlb = root.GetProperty("tlb");
        foreach (string level in (string[])["dtlb", "itlb", "stlb"])
        {
            Assert.That(N(m, "tlb", level + "_hits"), Is.EqualTo(tlb.GetProperty(level).GetProperty("hits").GetInt64()));
            Assert.That(N(m, "tlb", level + "_misses"), Is.EqualTo(tlb.GetProperty(level).GetProperty("misses").GetInt64()));
            Assert.That(m.GetProperty("tlb").GetProperty(level + "_hit_rate").GetDouble(),
                Is.EqualTo(tlb.GetProperty(level).GetProperty("hit_rate").GetDouble()));
        }

        // Mapping: one call per line of the operation log that ran (t=... pid P kind(...) = result).
        var log = root.GetProperty("address_space_log").EnumerateArray().Select(e => e.GetString()!).ToArray();
        long total = 0;
        foreach (string call in (string[])["mmap", "munmap", "mprotect", "brk", "fork", "exit"])
        {
            // strace form: a leader's exit is exit_group(0), another thread's exit(0); both count as exit.
            long n = log.Count(l => l.StartsWith("t=", StringComparison.Ordinal)
                && (l.Contains($" {call}(", StringComparison.Ordinal) || (call == "exit" && l.Contains(" exit_group(", StringComparison.Ordinal))));
            Assert.That(N(m, "mapping", call), Is.EqualTo(n), call);
            total += n;
        }
        Assert.That(N(m, "mapping", "calls"), Is.EqualTo(total));
        Assert.That(total, Is.GreaterThan(0), "the default scenario makes address-space calls");
        Assert.That(N(m, "demand_paging", "page_faults"), Is.GreaterThan(0));
        Assert.That(N(m, "swapping", "swapped_out"), Is.GreaterThan(0));
    }

    [Test]
    public void SeveralCpusMentionShootdowns()
    {
        using var f = new ReportTestFiles();
        // The reliability suite's two-CPU threads scenario: its threads share an mm on two CPUs.
        string scenario = f.Write("smp.yaml", EcsMem.Tests.Reliability.ReliabilityScenarios.Threads);
        var (code, text, err) = ReportTestFiles.Run("run", scenario);
        Assert.That(code, Is.EqualTo(0), err);
        string line = text.Split('\n').Single(l => l.StartsWith("  ⑧ TLB", StringComparison.Ordinal));
        // The end report's vmstat (the peak snapshot after it has its own, at that moment).
        string report = text[..text.IndexOf("\n== snapshot at peak", StringComparison.Ordinal)];
        string remote = report.Split('\n').Single(l => l.StartsWith("nr_tlb_remote_flush ", StringComparison.Ordinal)).Split(' ')[1];
        Assert.That(line, Does.Contain($", {remote} shootdowns to other CPUs;"));
        Assert.That(long.Parse(remote, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0), "two threads on two CPUs unmap pages they share");
    }
}
