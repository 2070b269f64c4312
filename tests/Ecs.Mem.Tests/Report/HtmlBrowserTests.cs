using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EcsMem.Tests.Report;

/// <summary>
/// The <c>--html</c> page in a real browser: Debian's chromium, headless, loads the page from a file and dumps the DOM
/// after its script ran (<c>--dump-dom</c>). The page writes its self-check and any script error into the DOM
/// (<c>body[data-selfcheck]</c>, <c>body[data-errors]</c>, the footer's error list), and every drawn element carries
/// its values as data attributes, which these tests compare with the run's JSON report, hand-worked layouts and
/// <c>ecsmem explain</c>. Skipped (with the reason) only where /usr/bin/chromium is absent;
/// <c>tests/browser/install-chromium.sh</c> installs it and CI runs that first.
/// </summary>
[NonParallelizable]
public partial class HtmlBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>The DOM of <paramref name="page"/> (with URL fragment <paramref name="fragment"/>) after the page's script ran.</summary>
    private static string DumpDom(string page, string fragment = "")
    {
        if (!File.Exists(Chromium))
            Assert.Ignore($"{Chromium} is not installed (tests/browser/install-chromium.sh installs it; needs root)");
        string profile = Path.Combine(Path.GetTempPath(), "ecsmem-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        try
        {
            var psi = new ProcessStartInfo(Chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--dump-dom", new Uri(page).AbsoluteUri + fragment,
            })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail("chromium did not finish in 120 s: " + stderr.Result);
            }
            string dom = stdout.Result;
            Assert.That(dom, Does.Contain("</html>"), "chromium dumped no DOM: " + stderr.Result);
            return dom;
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>No script error and the page's own self-check passed.</summary>
    private static void AssertClean(string dom)
    {
        Match body = Regex.Match(dom, "<body[^>]*>");
        Assert.That(body.Value, Does.Contain("data-errors=\"0\""), ErrorsOf(dom));
        Assert.That(body.Value, Does.Contain("data-selfcheck=\"ok\""), body.Value + ErrorsOf(dom));
        Assert.That(ErrorsOf(dom), Is.Empty);
    }

    private static string ErrorsOf(string dom) =>
        string.Join("\n", Regex.Matches(dom, "<ul id=\"errors\">(.*?)</ul>", RegexOptions.Singleline).Select(m => m.Groups[1].Value)).Trim();

    [GeneratedRegex("<g class=\"vma[^\"]*\" data-pid=\"(\\d+)\" data-role=\"([^\"]+)\" data-start=\"(0x[0-9a-f]+)\" data-end=\"(0x[0-9a-f]+)\" data-rss=\"(\\d+)\"")]
    private static partial Regex VmaGroup();

    private static List<(int Pid, string Role, ulong Start, ulong End, long Rss)> Vmas(string dom) =>
        VmaGroup().Matches(dom).Select(m => (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value,
            ulong.Parse(m.Groups[3].Value.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            ulong.Parse(m.Groups[4].Value.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            long.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture))).ToList();

    /// <summary>The first number of a cell: decimal, or hex after 0x.</summary>
    private static ulong CellNumber(string text)
    {
        Match m = Regex.Match(text, "0x([0-9a-f]+)|(\\d+)");
        return m.Groups[1].Success
            ? ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : ulong.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
    }

    [Test]
    public void Teaching_page_draws_the_layout_the_mm_struct_of_the_report_the_eight_arrows_and_walks_like_explain()
    {
        using var f = new ReportTestFiles();
        string yaml = Path.Combine(HtmlReportTests.Samples, "teach-mapped.yaml");
        HtmlReportTests.RunHtml(f, yaml, "--snapshot", "0a", "--snapshot", "3a");
        const ulong Va = 0x0804d010;
        string dom = DumpDom(f.PathOf("page.html"), "#snap=3a&pid=1&addr=0x0804d010");
        AssertClean(dom);

        // The exec layout of /bin/demo on x86 (text 8K at 0x08048000, data 4K, bss 8K, heap 16K; vvar, vdso below
        // mmap_base 0xb8000000; 33 pages of stack below 0xc0000000), worked out by hand, after three heap stores.
        var expected = new (string Role, ulong Start, ulong End, long Rss)[]
        {
            ("text", 0x08048000, 0x0804a000, 0), ("data", 0x0804a000, 0x0804b000, 0), ("bss", 0x0804b000, 0x0804d000, 0),
            ("heap", 0x0804d000, 0x08051000, 3), ("vvar", 0xb7ffa000, 0xb7ffe000, 0), ("vdso", 0xb7ffe000, 0xb8000000, 0),
            ("stack", 0xbffdf000, 0xc0000000, 0),
        };
        Assert.That(Vmas(dom).Select(v => (v.Role, v.Start, v.End, v.Rss)), Is.EqualTo(expected));
        Assert.That(dom, Does.Contain("kernel space"));

        // mm_struct: every cell shows the value run --json --snapshot 3a reports.
        var (code, json, err) = ReportTestFiles.Run("run", yaml, "--snapshot", "3a", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(json);
        JsonElement mm = doc.RootElement.GetProperty("snapshots")[0].GetProperty("processes")[0].GetProperty("mm_struct");
        var cells = Regex.Matches(dom, "<td class=\"mono\" data-pid=\"1\" data-field=\"([a-z_]+)\">([^<]*)</td>")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        int fields = 0;
        foreach (JsonProperty p in mm.EnumerateObject())
        {
            Assert.That(cells, Does.ContainKey(p.Name));
            Assert.That(CellNumber(cells[p.Name]), Is.EqualTo(p.Value.GetUInt64()), p.Name);
            fields++;
        }
        Assert.That(cells, Has.Count.EqualTo(fields));
        Assert.That(cells["total_vm"], Is.EqualTo("48 pages"));
        Assert.That(cells["rss_anon"], Is.EqualTo("3 pages"));

        // The seed's diagram: arrows ① to ⑧, each a group with its number.
        for (int n = 1; n <= 8; n++)
        {
            Match a = Regex.Match(dom, $"<g class=\"arrow[^\"]*\" id=\"arrow-{n}\" data-arrow=\"{n}\">(.*?)</g>", RegexOptions.Singleline);
            Assert.That(a.Success, Is.True, $"arrow {n}");
            Assert.That(a.Groups[1].Value, Does.Contain("①②③④⑤⑥⑦⑧"[n - 1].ToString()));
        }

        // The walk the page did for the address in the fragment ends at the frame ecsmem explain finds.
        Match walk = Regex.Match(dom, "<div id=\"walk-result\"[^>]*>");
        Assert.That(walk.Value, Does.Contain("data-status=\"mapped\""));
        ulong? frame = HtmlReportTests.ExplainFrame(yaml, Va, "3a", 1);
        // Page tables come from the UNMOVABLE block claimed at 0x400, so the first data page is frame 1.
        Assert.That(frame, Is.EqualTo(1UL), "explain, by the README's example");
        Assert.That(walk.Value, Does.Contain($"data-frame=\"0x{frame:x}\""));
        Assert.That(Regex.Matches(dom, "<div class=\"level[^\"]*\" data-level=\"(PGD|PTE)\"").Select(m => m.Groups[1].Value), Is.EqualTo(new[] { "PGD", "PTE" }));
    }

    [Test]
    public void Default_scenario_page_has_every_vma_of_every_process_and_steps_light_the_arrows()
    {
        using var f = new ReportTestFiles();
        HtmlReportTests.RunHtml(f, "--snapshot", "200000a");
        var (code, json, err) = ReportTestFiles.Run("run", "--snapshot", "200000a", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(json);
        JsonElement snap = doc.RootElement.GetProperty("snapshots")[0];

        // Step 1 of the timeline (accesses 0 to 4096) maps the scanner's file (t=0) and takes page faults.
        string dom = DumpDom(f.PathOf("page.html"), "#mode=samples&step=0");
        AssertClean(dom);
        var drawn = Vmas(dom);
        int processes = 0;
        foreach (JsonElement p in snap.GetProperty("processes").EnumerateArray())
        {
            int pid = p.GetProperty("pid").GetInt32();
            var mine = drawn.Where(v => v.Pid == pid).ToList();
            JsonElement[] vmas = [.. p.GetProperty("vmas").EnumerateArray()];
            Assert.That(mine, Has.Count.EqualTo(vmas.Length), $"pid {pid}");
            for (int i = 0; i < vmas.Length; i++)
            {
                Assert.That(mine[i].Start, Is.EqualTo(vmas[i].GetProperty("vm_start").GetUInt64()));
                string maps = vmas[i].GetProperty("maps").GetString()!;
                string? byName = maps.EndsWith("[heap]", StringComparison.Ordinal) ? "heap"
                    : maps.EndsWith("[stack]", StringComparison.Ordinal) ? "stack"
                    : maps.EndsWith("[vdso]", StringComparison.Ordinal) ? "vdso"
                    : maps.EndsWith("[vvar]", StringComparison.Ordinal) ? "vvar"
                    : maps.EndsWith("/data/scan.dat", StringComparison.Ordinal) ? "mmap"
                    : maps.Contains(" r-xp ", StringComparison.Ordinal) && i == 0 ? "text" : null;
                if (byName is not null)
                    Assert.That(mine[i].Role, Is.EqualTo(byName), maps);
            }
            processes++;
        }
        Assert.That(processes, Is.GreaterThanOrEqualTo(5));
        Assert.That(dom, Does.Contain("id=\"arrow-mapping\""));
        Assert.That(Regex.IsMatch(dom, "<g class=\"arrow lit\" id=\"arrow-mapping\""), Is.True, "the mmap at t=0 lights the mapping arrow");
        Assert.That(Regex.IsMatch(dom, "<g class=\"arrow lit\" id=\"arrow-1\""), Is.True, "faults light ①");
        Assert.That(Regex.IsMatch(dom, "<g class=\"arrow lit\" id=\"arrow-7\""), Is.False, "nothing is swapped in the first 4096 accesses");
        Assert.That(dom, Does.Contain("step 1: accesses 0 → 4,096"));
    }

    [Test]
    public void Event_steps_show_the_lines_of_the_event_stream_and_light_their_arrows()
    {
        // teach-fault's whole event stream fits the page; the page's step i must be line i of --events.
        using var f = new ReportTestFiles();
        string yaml = Path.Combine(HtmlReportTests.Samples, "teach-fault.yaml");
        string events = f.PathOf("e.jsonl");
        HtmlReportTests.RunHtml(f, yaml, "--events", events);
        string[] lines = File.ReadAllLines(events);
        Assert.That(lines.Length, Is.InRange(2, 2000));
        string[] circled = ["①", "②", "③", "④", "⑤", "⑥", "⑦", "⑧"];
        var tried = new HashSet<string>();
        for (int i = 0; i < lines.Length && tried.Count < 4; i++)
        {
            using var line = JsonDocument.Parse(lines[i]);
            string kind = line.RootElement.GetProperty("kind").GetString()!;
            if (!tried.Add(kind))
                continue;
            string arrow = line.RootElement.GetProperty("arrow").GetString()!;
            string dom = DumpDom(f.PathOf("page.html"), "#step=" + i.ToString(CultureInfo.InvariantCulture));
            AssertClean(dom);
            Assert.That(dom, Does.Contain($"event {i + 1}: {kind}"));
            Assert.That(dom, Does.Contain($"{i + 1}/{lines.Length}<"));
            for (int n = 1; n <= 8; n++)
            {
                // A swap-in also rewrites its PTE back to a frame, so the page lights ⑦ with ⑥.
                bool lit = arrow.Contains(circled[n - 1], StringComparison.Ordinal) || (n == 7 && kind == "swap_in");
                Assert.That(Regex.IsMatch(dom, $"<g class=\"arrow lit\" id=\"arrow-{n}\""), Is.EqualTo(lit), $"line {i + 1} ({kind}, {arrow}): arrow {n}");
            }
        }
        Assert.That(tried, Is.SupersetOf(new[] { "fault", "alloc" }));
    }

    [Test]
    public void Hostile_process_name_is_text_in_the_page_not_markup()
    {
        using var f = new ReportTestFiles();
        string trace = f.Write("<!--<script>t.lackey", " S 10000000,8\n L 10001000,8\n");
        HtmlReportTests.RunHtml(f, "--trace", trace, "--trace-format", "lackey");
        string dom = DumpDom(f.PathOf("page.html"));
        AssertClean(dom);
        Assert.That(dom, Does.Contain("pid 1 · &lt;!--&lt;script&gt;t"));
        Assert.That(Regex.Matches(dom, "<script", RegexOptions.IgnoreCase), Has.Count.EqualTo(2));
    }
}
