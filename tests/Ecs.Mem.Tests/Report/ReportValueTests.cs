using System.Text.Json;

namespace EcsMem.Tests.Report;

/// <summary>
/// <c>ecsmem run</c> on tiny inputs whose outcome can be worked out by hand: one process storing once to each
/// of N distinct pages of an inferred layout.
/// </summary>
public class ReportValueTests
{
    private const int N = 20;

    // Working for N stores to N consecutive pages at 0x10000000, RAM 1M (256 frames), no swap:
    // - every store is the first touch of an anonymous page, a write: one minor fault each (do_anonymous_page,
    //   no zero page for writes): min_flt = pgfault = N, maj_flt = 0;
    // - at exit all N pages are resident and anonymous: VmRSS = RssAnon = VmHWM = N * 4 kB = 80 kB;
    // - inference maps the 2 MiB-aligned block around 0x10000000 as one rw-p VMA: VmSize = VmData = 2048 kB;
    // - the pages lie in one 2 MiB region: one PTE table, one PMD, one PUD below the root: VmPTE = 3 * 4 = 12 kB;
    // - exit frees everything: at the end every frame but the shared zero page is free, 255 pages, of which the
    //   per-CPU list holds the 24 exit freed (worked out in the test) and nr_free_pages counts 231.
    private static (int Code, string Out, string Err) RunTrace(ReportTestFiles f, params string[] extra)
    {
        string trace = f.StoresToDistinctPages("stores.lackey", N);
        return ReportTestFiles.Run(["run", "--trace", trace, "--trace-format", "lackey", "--mem", "1M", "--swap", "0", .. extra]);
    }

    [Test]
    public void DistinctPageStoresGiveOneMinorFaultAndOneResidentPageEach()
    {
        using var f = new ReportTestFiles();
        var (code, report, err) = RunTrace(f);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(err, Is.Empty);
        string[] row = ReportTestFiles.ProcessRow(report, "stores");
        // pid name state signal accesses min_flt maj_flt ...
        Assert.That(row[0], Is.EqualTo("1"));
        Assert.That(row[2], Is.EqualTo("exited"));
        Assert.That(row[3], Is.EqualTo("0"));
        Assert.That(row[4], Is.EqualTo(N.ToString()));
        Assert.That(row[5], Is.EqualTo(N.ToString()));
        Assert.That(row[6], Is.EqualTo("0"));
        Assert.That(report, Does.Contain("VmRSS:\t      80 kB\n"));
        Assert.That(report, Does.Contain("RssAnon:\t      80 kB\n"));
        Assert.That(report, Does.Contain("VmHWM:\t      80 kB\n"));
        Assert.That(report, Does.Contain("VmSize:\t    2048 kB\n"));
        Assert.That(report, Does.Contain("VmData:\t    2048 kB\n"));
        Assert.That(report, Does.Contain("VmPTE:\t      12 kB\n"));
        Assert.That(report, Does.Contain("VmSwap:\t       0 kB\n"));
        Assert.That(report, Does.Contain("\npgfault 20\n"));
        Assert.That(report, Does.Contain("\npgmajfault 0\n"));
        // 1 MiB, one CPU, per-CPU lists on and self-tuning (the defaults): batch 1 (256 >> 10 = 0 -> 1 ->
        // rounddown_pow_of_two(1) - 1 = 0 -> 1), high_min = max(low 40 / 1, 1 << 2) = 40 (min_free_kbytes 128 -> min 32,
        // delta max(8, 0) = 8, low 40, high 48), high_max = max(256 / 8 / 1, 4) = 32: below high_min, so the kernel's
        // clamp(high, 40, 32) gives 40 at the first use (0 <= 40) and 32 from then on. The buddy allocator's free pages
        // never fall to the high watermark (48), so no ZONE_BELOW_HIGH. The refills (nr_pcp_alloc: 1 << alloc_factor,
        // at most max(32 - count - 1, 1)), with the PGD and the first fault's 3 page tables on the UNMOVABLE list and
        // the 20 data pages on the MOVABLE one:
        //   PGD: 1 page (alloc_factor 1); PUD: 2 (af 2; the PMD takes the one left); PTE table: 4 (af 3; 3 left);
        //   data page 1: 8 (max(32 - 3 - 1, 1) = 28; af 4); pages 2-8 take the rest; page 9: 16 (28 again; af 5);
        //   pages 10-20 take 11 of its 15: 1 + 2 + 4 + 8 + 16 = 31 pages from the buddy allocator, 3 + 4 = 7 left.
        // At exit the 4 page tables go to the list one by one (free_frozen_page_commit): 7 + 4 = 11 < 32 = high, so no
        // bulk free; the 20 data pages stay allocated in CPU 0's lru_add batch (20 of 31: exit does not drain it).
        // nr_free_pages = 255 (all but the zero page) - 31 = 224.
        Assert.That(report, Does.Contain("\n     0       11       32        1       40       32\n"));
        Assert.That(report, Does.Contain("\nnr_free_pages 224\n"));
        Assert.That(report, Does.Contain("MemTotal:           1024 kB\n"));
        Assert.That(report, Does.Contain("MemFree:             896 kB\n")); // 224 * 4: MemFree leaves the per-CPU lists out too
        Assert.That(ReportTestFiles.ValueAfter(report, "accesses:"), Is.EqualTo(N.ToString()));
        Assert.That(ReportTestFiles.ValueAfter(report, "status:"), Is.EqualTo("complete"));
        Assert.That(ReportTestFiles.ValueAfter(report, "ram:"), Is.EqualTo("1024 kB (256 pages)"));
    }

    [Test]
    public void JsonHasTheSameNumbersAsTheText()
    {
        using var f = new ReportTestFiles();
        var (code, text, _) = RunTrace(f);
        var (jcode, json, jerr) = RunTrace(f, "--json");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(jcode, Is.EqualTo(0), jerr);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("partial").GetBoolean(), Is.False);
        Assert.That(root.GetProperty("time").GetProperty("accesses").GetInt64().ToString(), Is.EqualTo(ReportTestFiles.ValueAfter(text, "accesses:")));
        string cycles = ReportTestFiles.ValueAfter(text, "simulated time:").Split(' ')[0];
        Assert.That(root.GetProperty("time").GetProperty("cycles").GetUInt64().ToString(), Is.EqualTo(cycles));

        var p = root.GetProperty("processes")[0];
        string[] row = ReportTestFiles.ProcessRow(text, "stores");
        Assert.That(p.GetProperty("pid").GetInt32().ToString(), Is.EqualTo(row[0]));
        Assert.That(p.GetProperty("accesses").GetInt64().ToString(), Is.EqualTo(row[4]));
        Assert.That(p.GetProperty("min_flt").GetInt64().ToString(), Is.EqualTo(row[5]));
        Assert.That(p.GetProperty("maj_flt").GetInt64().ToString(), Is.EqualTo(row[6]));
        Assert.That(p.GetProperty("status").GetProperty("VmRSS").GetInt64(), Is.EqualTo(N * 4));

        // Every /proc/vmstat line of the text appears in the JSON with the same value, in the same order.
        int at = text.IndexOf("== /proc/vmstat ==\n", StringComparison.Ordinal) + "== /proc/vmstat ==\n".Length;
        string[] vmstat = text[at..text.IndexOf("\n\n", at, StringComparison.Ordinal)].Split('\n');
        var jv = root.GetProperty("vmstat").EnumerateObject().ToArray();
        Assert.That(jv, Has.Length.EqualTo(vmstat.Length));
        for (int i = 0; i < vmstat.Length; i++)
            Assert.That($"{jv[i].Name} {jv[i].Value.GetInt64()}", Is.EqualTo(vmstat[i]));

        // Same for the fault counters and meminfo.
        foreach (var c in root.GetProperty("faults").EnumerateObject())
            Assert.That(text, Does.Match($"\\n  {c.Name} +{c.Value.GetInt64()}  "));
        foreach (var m in root.GetProperty("meminfo").EnumerateObject())
        {
            // The HugePages_ counts have no unit (hugetlb_report_meminfo's "HugePages_Total:   %5lu").
            string line = EcsMem.Systems.Reporting.MemInfo.IsCount(m.Name)
                ? $"{(m.Name + ":").PadRight(19)}{m.Value.GetInt64(),5}\n"
                : $"{(m.Name + ":").PadRight(16)}{m.Value.GetInt64(),8} kB\n";
            Assert.That(text, Does.Contain(line));
        }
    }

    [Test]
    public void ScenarioFileWithTraceGivesTheSameCounts()
    {
        using var f = new ReportTestFiles();
        f.StoresToDistinctPages("w.lackey", N);
        string yaml = f.Write("s.yaml", """
            machine: {ram: 1M, swap: 0}
            processes:
              - name: writer
                workload: {trace: {path: w.lackey, format: lackey}}
            """);
        var (code, report, err) = ReportTestFiles.Run("run", yaml);
        Assert.That(code, Is.EqualTo(0), err);
        string[] row = ReportTestFiles.ProcessRow(report, "writer");
        Assert.That(row[5], Is.EqualTo(N.ToString()));
        Assert.That(report, Does.Contain("VmRSS:\t      80 kB\n"));
        Assert.That(ReportTestFiles.ValueAfter(report, "scenario:"), Is.EqualTo(yaml));
    }

    [Test]
    public void ReadsOfUntouchedMemoryMapTheZeroPageAndAddNoRss()
    {
        // 10 loads of 10 distinct never-written pages: each maps the shared zero page read-only
        // (do_anonymous_page for a read): 10 minor faults, 10 zero-page maps, and no resident page is charged.
        using var f = new ReportTestFiles();
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < 10; i++)
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $" L {0x2000_0000 + i * 4096:x},4\n");
        string trace = f.Write("reads.lackey", sb.ToString());
        var (code, report, err) = ReportTestFiles.Run("run", "--trace", trace, "--trace-format", "lackey", "--mem", "1M");
        Assert.That(code, Is.EqualTo(0), err);
        string[] row = ReportTestFiles.ProcessRow(report, "reads");
        Assert.That(row[5], Is.EqualTo("10"));   // min_flt
        Assert.That(row[9], Is.EqualTo("10"));   // zero_page
        Assert.That(report, Does.Contain("VmRSS:\t       0 kB\n"));
        Assert.That(report, Does.Match("\\n  ecsmem_zero_page_map +10  "));
    }
}

/// <summary>Operations scripted "after N accesses" still fire in a reported run, and the at-exit status includes them.</summary>
public class ReportTimelineOpTests
{
    [Test]
    public void MunmapAfterTenAccessesShowsInTheAtExitStatus()
    {
        // 20 stores to 20 new pages in the inferred 2 MiB block at 0x10000000; after the 10th, the first
        // 10 pages (40 KiB) are unmapped. At exit: 10 resident pages (40 kB) left, VmSize = 2048 - 40 = 2008 kB,
        // while VmHWM keeps the peak of 10 pages reached before the munmap (and 10 after: still 40 kB).
        using var f = new ReportTestFiles();
        f.StoresToDistinctPages("w.lackey", 20);
        string yaml = f.Write("s.yaml", """
            machine: {ram: 1M}
            processes:
              - name: w
                workload: {trace: {path: w.lackey, format: lackey}}
            timeline:
              - after: 10
                process: w
                munmap: {addr: 0x10000000, length: 40K}
            """);
        var (code, report, err) = ReportTestFiles.Run("run", yaml);
        Assert.That(code, Is.EqualTo(0), err);
        // strace form: "munmap(0x10000000, 40960)" is 25 columns, so 15 spaces bring "= 0" to column 40.
        Assert.That(report, Does.Contain("pid 1 munmap(0x10000000, 40960)               = 0\n"));
        Assert.That(ReportTestFiles.ProcessRow(report, "w")[5], Is.EqualTo("20"));
        Assert.That(report, Does.Contain("VmRSS:\t      40 kB\n"));
        Assert.That(report, Does.Contain("VmSize:\t    2008 kB\n"));
        Assert.That(report, Does.Contain("VmHWM:\t      40 kB\n"));
    }
}

/// <summary>A process killed by SIGSEGV: its row, the kill log and its status at the moment it was killed.</summary>
public class ReportKillTests
{
    [Test]
    public void SegfaultKillsTheProcessAndIsReported()
    {
        // Two stores to new pages (2 minor faults, 8 kB resident), then a load from 0x100: below mmap_min_addr, so
        // no VMA can be inferred there: SIGSEGV (signal 11). The fourth access never runs.
        using var f = new ReportTestFiles();
        string trace = f.Write("segv.lackey", " S 10000000,8\n S 10001000,8\n L 00000100,4\n S 10002000,8\n");
        var (code, report, err) = ReportTestFiles.Run("run", "--trace", trace, "--trace-format", "lackey", "--mem", "1M");
        Assert.That(code, Is.EqualTo(0), err);
        string[] row = ReportTestFiles.ProcessRow(report, "segv");
        Assert.That(row[2], Is.EqualTo("killed"));
        Assert.That(row[3], Is.EqualTo("11"));
        Assert.That(row[4], Is.EqualTo("2"));
        Assert.That(row[5], Is.EqualTo("2"));
        Assert.That(report, Does.Contain("  segv[1]: killed by signal 11: segfault at 100"));
        Assert.That(report, Does.Match("\\n  ecsmem_sigsegv +1  "));
        Assert.That(report, Does.Contain("== /proc/1/status (segv, at exit) ==\n"));
        Assert.That(report, Does.Contain("VmRSS:\t       8 kB\n"));
    }

    [TestCase("1")]
    [TestCase("4096")]
    public void StatusAtExitIsTakenAtDoExitWhateverTheBatch(string batch)
    {
        // b writes all 4,096 pages of its 16 MiB mapping (VmHWM 16,384 kB), munmaps its first 4 MiB and then loads
        // from them: SIGSEGV. Its status at exit is the one after the munmap: VmRSS = 16,384 − 4,096 = 12,288 kB and
        // VmSize 4,096 kB less than its peak. With a batch of 4,096 accesses the munmap and the kill fall in one tick,
        // which the report once sampled only at tick boundaries (showing 16,384 kB).
        using var f = new ReportTestFiles();
        string yaml = f.Write("exit.yaml",
            "machine: {ram: 32M, swap: 64M, cpus: 2, seed: 3}\n" +
            "processes:\n" +
            "  - name: a\n    layout: {exec: {}}\n    workload:\n      generator: \"loop:count=40000,base=0x7f0000000000,pages=4096,writes=1\"\n" +
            "  - name: b\n    layout: {exec: {}}\n    workload:\n      generator: \"loop:count=40000,base=0x7f1000000000,pages=4096,writes=1\"\n" +
            "timeline:\n" +
            "  - at: 0\n    process: a\n    mmap: {addr: 0x7f0000000000, length: 16M, prot: rw-, flags: private, fixed: true}\n" +
            "  - at: 0\n    process: b\n    mmap: {addr: 0x7f1000000000, length: 16M, prot: rw-, flags: private, fixed: true}\n" +
            "  - after: 12000\n    process: b\n    munmap: {addr: 0x7f1000000000, length: 4M}\n");
        var (code, report, err) = ReportTestFiles.Run("run", yaml, "--batch", batch, "--snapshot", "none");
        Assert.That(code, Is.EqualTo(0), err);
        string[] row = ReportTestFiles.ProcessRow(report, "b");
        Assert.That(row[2], Is.EqualTo("killed"));
        Assert.That(row[3], Is.EqualTo("11"));
        int at = report.IndexOf("== /proc/2/status (b, at exit) ==\n", StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0));
        string status = report[at..];
        Assert.That(status, Does.Contain("VmHWM:\t   16384 kB\n"));
        Assert.That(status, Does.Contain("VmRSS:\t   12288 kB\n"));
        Assert.That(status, Does.Contain("VmPeak:\t   16764 kB\n"));
        Assert.That(status, Does.Contain("VmSize:\t   12668 kB\n"));
    }
}
