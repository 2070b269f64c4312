using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EcsMem.Tests.Report;

/// <summary>
/// <c>ecsmem run --html FILE.html</c> without a browser: the embedded data (escaping, snapshots, page tables, timeline
/// samples) against the run's own report, by-hand values and <c>ecsmem explain</c>; outputs unchanged; bad paths.
/// The page in a real browser is in <see cref="HtmlBrowserTests"/>.
/// </summary>
public partial class HtmlReportTests
{
    internal static string Samples => Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "samples", "scenarios");

    /// <summary>The data object of a page: the one JSON block, parsed.</summary>
    internal static JsonElement Data(string html)
    {
        MatchCollection m = DataBlock().Matches(html);
        Assert.That(m, Has.Count.EqualTo(1), "one data block");
        using var doc = JsonDocument.Parse(m[0].Groups[1].Value);
        return doc.RootElement.Clone();
    }

    [GeneratedRegex("<script id=\"ecsmem-data\" type=\"application/json\">(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex DataBlock();

    internal static string RunHtml(ReportTestFiles f, params string[] args)
    {
        string page = f.PathOf("page.html");
        var (code, _, err) = ReportTestFiles.Run(["run", .. args, "--html", page]);
        Assert.That(code, Is.EqualTo(0), err);
        return File.ReadAllText(page);
    }

    private static ulong Hex(JsonElement e) => ulong.Parse(e.GetString()!.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static JsonElement Snapshot(JsonElement data, string when) =>
        data.GetProperty("snapshots").EnumerateArray().Single(s => s.GetProperty("when").GetString() == when);

    private static JsonElement Process(JsonElement snapshot, int pid) =>
        snapshot.GetProperty("processes").EnumerateArray().Single(p => p.GetProperty("pid").GetInt32() == pid);

    private static Dictionary<string, JsonElement> Mm(JsonElement process) =>
        process.GetProperty("mm_struct").EnumerateArray().ToDictionary(f => f[0].GetString()!, f => f[2]);

    /// <summary>
    /// Walks the embedded tables the way the MMU does (written here again, not taken from the page's script): the index
    /// of each level from the address bits, an upper entry's PFN field holding the child table's id. Returns the leaf
    /// entry, or null when a table on the way is missing or an entry is not present.
    /// </summary>
    internal static ulong? WalkData(JsonElement data, JsonElement process, ulong va)
    {
        JsonElement paging = data.GetProperty("paging");
        int levels = paging.GetProperty("levels").GetInt32(), bits = paging.GetProperty("bits_per_level").GetInt32();
        JsonElement pt = process.GetProperty("page_tables");
        var tables = pt.GetProperty("tables").EnumerateArray().ToDictionary(t => t.GetProperty("id").GetInt32());
        int id = pt.GetProperty("root").GetInt32();
        for (int level = levels - 1; level >= 0; level--)
        {
            if (!tables.TryGetValue(id, out JsonElement t))
                return null;
            int index = (int)((va >> (12 + (level * bits))) & ((1UL << bits) - 1));
            ulong entry = 0;
            JsonElement[] e = [.. t.GetProperty("entries").EnumerateArray()];
            for (int i = 0; i < e.Length; i += 2)
                if (e[i].GetInt32() == index)
                    entry = ulong.Parse(e[i + 1].GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (level == 0)
                return entry;
            if ((entry & 1) == 0)
                return null;
            id = (int)((entry & 0x000f_ffff_ffff_f000UL) >> 12);
        }
        return null;
    }

    /// <summary>The frame <c>ecsmem explain</c> reports for the address, or null when it maps none.</summary>
    internal static ulong? ExplainFrame(string scenario, ulong va, string at, int pid)
    {
        var (code, text, err) = ReportTestFiles.Run("explain", "0x" + va.ToString("x", CultureInfo.InvariantCulture), "--scenario", scenario, "--at", at, "--pid", pid.ToString(CultureInfo.InvariantCulture));
        Assert.That(code, Is.EqualTo(0), err);
        Match m = Regex.Match(text, "→ page frame pfn 0x([0-9a-f]+)");
        return m.Success ? ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : null;
    }

    [Test]
    public void The_report_is_unchanged_by_html_and_the_page_is_the_same_at_any_batch_size()
    {
        using var f = new ReportTestFiles();
        string yaml = Path.Combine(Samples, "teach-fault.yaml");
        string page1 = f.PathOf("b1.html"), page2 = f.PathOf("b4096.html");
        var (c1, with1, e1) = ReportTestFiles.Run("run", yaml, "--batch", "1", "--html", page1);
        var (c2, with2, e2) = ReportTestFiles.Run("run", yaml, "--batch", "4096", "--html", page2);
        Assert.That((c1, c2), Is.EqualTo((0, 0)), e1 + e2);
        Assert.That(with1, Is.EqualTo(ReportTestFiles.Run("run", yaml, "--batch", "1").Out), "--html does not change the report");
        Assert.That(with2, Is.EqualTo(ReportTestFiles.Run("run", yaml, "--batch", "4096").Out));
        // The only difference: the effective configuration's batch value inside the embedded report.
        string a = File.ReadAllText(page1).Replace("\"batch\":1,", "\"batch\":4096,", StringComparison.Ordinal);
        Assert.That(a, Is.EqualTo(File.ReadAllText(page2)));
        Assert.That(f.FilesExcept(), Is.EquivalentTo(new[] { "b1.html", "b4096.html" }), "no temporary file left");
    }

    [Test]
    public void Hostile_names_and_paths_cannot_leave_the_data_block()
    {
        // A scenario folder whose name closes the script element, a mapped file whose name opens a comment, a trace
        // file (its name becomes the process name) that opens a comment and a script: all reach the page as data.
        using var f = new ReportTestFiles();
        string evil = Path.Combine(f.Dir, "a</script><svg onload=document.body.setAttribute('data-pwned',1)>");
        Directory.CreateDirectory(evil);
        string yaml = Path.Combine(evil, "s.yaml");
        File.WriteAllText(yaml, """
            machine:
              ram: 16M
            processes:
              - name: demo
                layout:
                  exec: {file: "/bin/</script><!--x", text: 8K, data: 4K, bss: 8K, heap: 16K}
                workload:
                  generator: "loop:count=6,pages=3,writes=1"
            """);
        string trace = Path.Combine(evil, "<!--<script>t.lackey");
        File.WriteAllText(trace, " S 10000000,8\n L 10001000,8\n");
        foreach (string[] args in new[] { new[] { yaml }, new[] { "--trace", trace, "--trace-format", "lackey" } })
        {
            string html = RunHtml(f, args);
            // The template's two script elements close, and nothing else does; no comment opens outside the data.
            Assert.That(Regex.Matches(html, "</script", RegexOptions.IgnoreCase), Has.Count.EqualTo(2));
            Assert.That(html, Does.Not.Contain("<!--"));
            Assert.That(html, Does.Not.Contain("<svg onload"));
            JsonElement d = Data(html);
            Assert.That(d.GetProperty("title").GetString(), Is.EqualTo(args[0] == yaml ? yaml : "command line"));
            JsonElement p = d.GetProperty("snapshots")[1].GetProperty("processes")[0];
            if (args[0] == yaml)
                Assert.That(p.GetProperty("vmas")[0].GetProperty("maps").GetString(), Does.EndWith("/bin/</script><!--x"));
            else
                Assert.That(p.GetProperty("name").GetString(), Is.EqualTo("<!--<script>t"));
        }
    }

    [Test]
    public void Default_snapshots_are_evenly_spaced_and_equal_what_snapshot_Na_reports()
    {
        using var f = new ReportTestFiles();
        string yaml = Path.Combine(Samples, "teach-fault.yaml"); // 192 accesses
        JsonElement d = Data(RunHtml(f, yaml));
        Assert.That(d.GetProperty("caps").GetProperty("default_snapshots").GetBoolean(), Is.True);
        string[] whens = [.. d.GetProperty("snapshots").EnumerateArray().Select(s => s.GetProperty("when").GetString()!)];
        // Strides double from 1 while more than 8 are kept: 192 accesses end with stride 32, the multiples 32..192.
        Assert.That(whens, Is.EqualTo(new[] { "0a", "32a", "64a", "96a", "128a", "160a", "192a", "end" }));

        var (code, json, err) = ReportTestFiles.Run("run", yaml, "--snapshot", "96a", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(json);
        JsonElement reported = doc.RootElement.GetProperty("snapshots")[0];
        JsonElement page = Snapshot(d, "96a");
        Assert.That(page.GetProperty("cycles").GetUInt64(), Is.EqualTo(reported.GetProperty("cycles").GetUInt64()));
        JsonElement rp = reported.GetProperty("processes")[0], pp = Process(page, 1);
        foreach (JsonProperty field in rp.GetProperty("mm_struct").EnumerateObject())
        {
            JsonElement v = Mm(pp)[field.Name];
            if (field.Value.ValueKind == JsonValueKind.Null)
                Assert.That(v.ValueKind, Is.EqualTo(JsonValueKind.Null), field.Name);
            else
                Assert.That(Hex(v), Is.EqualTo(field.Value.GetUInt64()), field.Name);
        }
        Assert.That(pp.GetProperty("vmas").EnumerateArray().Select(v => v.GetProperty("maps").GetString()),
            Is.EqualTo(rp.GetProperty("vmas").EnumerateArray().Select(v => v.GetProperty("maps").GetString())));
    }

    [Test]
    public void Per_vma_rss_and_swap_counted_from_the_ptes_add_up_to_the_mm_counters()
    {
        // The mm's rss_* and swap_ents are kept up to date by the fault, reclaim and swap paths; the page counts them
        // again from the PTEs (smaps' rule: present normal pages, the zero page left out; swap entries).
        using var f = new ReportTestFiles();
        JsonElement d = Data(RunHtml(f));
        int checkedProcesses = 0;
        foreach (JsonElement s in d.GetProperty("snapshots").EnumerateArray())
        {
            foreach (JsonElement p in s.GetProperty("processes").EnumerateArray())
            {
                var mm = Mm(p);
                long rss = p.GetProperty("vmas").EnumerateArray().Sum(v => v.GetProperty("rss").GetInt64());
                long swap = p.GetProperty("vmas").EnumerateArray().Sum(v => v.GetProperty("swap").GetInt64());
                Assert.That((ulong)rss, Is.EqualTo(Hex(mm["rss_anon"]) + Hex(mm["rss_file"]) + Hex(mm["rss_shmem"])), $"{s.GetProperty("when")} pid {p.GetProperty("pid")}");
                Assert.That((ulong)swap, Is.EqualTo(Hex(mm["swap_ents"])));
                checkedProcesses++;
            }
        }
        Assert.That(checkedProcesses, Is.GreaterThan(10));
    }

    [Test]
    public void A_read_of_untouched_memory_maps_the_zero_page_and_adds_no_rss()
    {
        // Three loads of three untouched heap pages: three zero-page maps, smaps Rss 0, but three present PTEs all
        // pointing at the zero page's frame.
        using var f = new ReportTestFiles();
        string yaml = f.Write("z.yaml", """
            machine:
              ram: 1M
              swap: 0
            processes:
              - name: demo
                layout:
                  exec: {file: /bin/demo, text: 8K, data: 4K, bss: 8K, heap: 16K}
                workload:
                  generator: "loop:count=3,pages=3,writes=0"
            """);
        JsonElement d = Data(RunHtml(f, yaml, "--snapshot", "3a"));
        JsonElement p = Process(Snapshot(d, "3a"), 1);
        JsonElement heap = p.GetProperty("vmas").EnumerateArray().Single(v => v.GetProperty("vm_ops").GetString() == "heap");
        Assert.That(heap.GetProperty("rss").GetInt64(), Is.EqualTo(0));
        ulong start = Hex(heap.GetProperty("start"));
        ulong zero = d.GetProperty("zero_pfn").GetUInt64();
        for (ulong i = 0; i < 3; i++)
        {
            ulong? pte = WalkData(d, p, start + (i * 4096));
            Assert.That(pte, Is.Not.Null);
            Assert.That(pte!.Value & 1, Is.EqualTo(1UL), "present");
            Assert.That((pte.Value & 0x000f_ffff_ffff_f000UL) >> 12, Is.EqualTo(zero));
            Assert.That(pte.Value & 2, Is.EqualTo(0UL), "read-only");
        }
        Assert.That(WalkData(d, p, start + (3 * 4096)), Is.EqualTo(0UL), "the fourth heap page was never touched");
    }

    [Test]
    public void The_embedded_page_tables_give_the_frames_explain_gives()
    {
        using var f = new ReportTestFiles();
        string yaml = Path.Combine(Samples, "teach-fault.yaml");
        JsonElement d = Data(RunHtml(f, yaml));
        JsonElement p = Process(Snapshot(d, "96a"), 1);
        JsonElement heap = p.GetProperty("vmas").EnumerateArray().Single(v => v.GetProperty("vm_ops").GetString() == "heap");
        ulong start = Hex(heap.GetProperty("start"));
        int mapped = 0;
        foreach (ulong page in new ulong[] { 0, 1, 17, 40, 63, 64, 90, 95 })
        {
            ulong va = start + (page * 4096) + 0x18;
            ulong? pte = WalkData(d, p, va);
            ulong? frame = pte is { } e && (e & 1) != 0 ? (e & 0x000f_ffff_ffff_f000UL) >> 12 : null;
            Assert.That(frame, Is.EqualTo(ExplainFrame(yaml, va, "96a", 1)), $"heap page {page}");
            if (frame is not null)
                mapped++;
        }
        Assert.That(mapped, Is.InRange(1, 7), "some pages resident, some swapped out at 96a");
    }

    [Test]
    public void Timeline_samples_fall_on_multiples_of_the_interval_and_their_deltas_add_up_to_the_report()
    {
        using var f = new ReportTestFiles();
        JsonElement d = Data(RunHtml(f));
        JsonElement tl = d.GetProperty("timeline");
        long interval = tl.GetProperty("interval").GetInt64();
        JsonElement[] samples = [.. tl.GetProperty("samples").EnumerateArray()];
        Assert.That(samples.Length, Is.InRange(2, 401));
        long total = d.GetProperty("report").GetProperty("time").GetProperty("accesses").GetInt64();
        for (int i = 0; i < samples.Length - 1; i++)
            Assert.That(samples[i][1].GetInt64() % interval, Is.EqualTo(0), $"sample {i}");
        Assert.That(samples[^1][1].GetInt64(), Is.EqualTo(total));
        Assert.That(total / interval, Is.LessThanOrEqualTo(400), "doubled only when needed");
        Assert.That(total / (interval / 2), Is.GreaterThan(400));
        string[] counters = [.. tl.GetProperty("counters").EnumerateArray().Select(c => c.GetString()!)];
        JsonElement vmstat = d.GetProperty("report").GetProperty("vmstat");
        for (int c = 0; c < counters.Length; c++)
        {
            long sum = samples.Sum(s => s[6][c].GetInt64());
            Assert.That(sum, Is.EqualTo(vmstat.GetProperty(counters[c]).GetInt64()), counters[c]);
        }
    }

    [Test]
    public void The_page_keeps_the_event_streams_lines_unfiltered_and_caps_them()
    {
        using var f = new ReportTestFiles();
        string yaml = Path.Combine(Samples, "teach-fault.yaml");
        string all = f.PathOf("all.jsonl"), faults = f.PathOf("faults.jsonl");
        var (code, _, err) = ReportTestFiles.Run("run", yaml, "--events", all);
        Assert.That(code, Is.EqualTo(0), err);
        // With a filter the file holds the faults only; the page still gets every event.
        JsonElement ev = Data(RunHtml(f, yaml, "--events", faults, "--events-kind", "fault")).GetProperty("events");
        string[] lines = File.ReadAllLines(all);
        JsonElement[] list = [.. ev.GetProperty("list").EnumerateArray()];
        Assert.That(lines.Length, Is.LessThan(2000), "teach-fault's stream fits the cap");
        Assert.That(ev.GetProperty("total").GetInt64(), Is.EqualTo(lines.Length));
        Assert.That(list.Select(e => e.GetRawText()), Is.EqualTo(lines));
        Assert.That(list.Where(e => e.GetProperty("kind").GetString() == "fault").Select(e => e.GetRawText()), Is.EqualTo(File.ReadAllLines(faults)));
        Assert.That(ev.GetProperty("by_kind").EnumerateObject().Sum(k => k.Value.GetInt64()), Is.EqualTo(lines.Length));

        JsonElement big = Data(RunHtml(f)).GetProperty("events");
        Assert.That(big.GetProperty("list").GetArrayLength(), Is.EqualTo(2000));
        Assert.That(big.GetProperty("total").GetInt64(), Is.GreaterThan(2000));
        Assert.That(big.GetProperty("by_kind").EnumerateObject().Sum(k => k.Value.GetInt64()), Is.EqualTo(big.GetProperty("total").GetInt64()));
    }

    [Test]
    public void Bad_html_paths_are_one_line_errors_before_the_run()
    {
        using var f = new ReportTestFiles();
        string yaml = f.Write("s.yaml", "machine:\n  ram: 1M\nprocesses:\n  - name: a\n    layout:\n      exec: {file: /bin/a, text: 8K}\n    workload:\n      generator: \"loop:count=3,pages=1,writes=0\"\n");
        foreach (string[] args in new[]
        {
            new[] { "run", yaml, "--html", Path.Combine(f.Dir, "missing", "p.html") },
            new[] { "run", yaml, "--html", yaml },
            new[] { "run", yaml, "--html", f.Dir },
            new[] { "run", yaml, "--html", f.PathOf("x.html"), "--timeline", f.PathOf("x.html") },
        })
        {
            var (code, output, err) = ReportTestFiles.Run(args);
            Assert.That(code, Is.EqualTo(2), string.Join(' ', args));
            Assert.That(output, Is.Empty);
            Assert.That(err.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), err);
            Assert.That(err, Does.StartWith("ecsmem: error: command line:").And.Contain("--html"));
        }
        Assert.That(f.FilesExcept("s.yaml"), Is.Empty);
    }
}
