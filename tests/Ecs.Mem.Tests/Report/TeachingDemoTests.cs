namespace EcsMem.Tests.Report;

/// <summary>The README's "Teaching with EcsMem" demos say what the lecture says; these keep them true.</summary>
public class TeachingDemoTests
{
    private static string Sample(string name) =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "samples", "scenarios", name);

    private static string Line(string text, string start) =>
        text.Split('\n').First(l => l.StartsWith(start, StringComparison.Ordinal));

    [Test]
    public void ExecMapsNothingAndEachFirstTouchMapsOnePage()
    {
        // teach-mapped: exec makes 7 VMAs (text, data, bss, heap, vvar, vdso, stack) and no resident page; the
        // workload stores to 3 distinct heap pages first (loop over 3 pages, 6 accesses, all writes), so after 3
        // accesses 3 page faults have mapped exactly 3 anonymous pages, and the next 3 accesses fault no more.
        var (code, text, err) = ReportTestFiles.Run("run", Sample("teach-mapped.yaml"), "--snapshot", "0a", "--snapshot", "3a");
        Assert.That(code, Is.EqualTo(0), err);
        string at0 = text[text.IndexOf("== snapshot at 0a", StringComparison.Ordinal)..text.IndexOf("== snapshot at 3a", StringComparison.Ordinal)];
        string at3 = text[text.IndexOf("== snapshot at 3a", StringComparison.Ordinal)..];
        Assert.That(Line(at0, "  map_count"), Does.EndWith(" 7"));
        Assert.That(Line(at0, "  rss_anon"), Does.EndWith(" 0 pages"));
        Assert.That(Line(at3, "  map_count"), Does.EndWith(" 7"));
        Assert.That(Line(at3, "  rss_anon"), Does.EndWith(" 3 pages"));
        Assert.That(Line(text, "  pgfault "), Does.Contain(" 3 "));
    }

    [Test]
    public void TheFaultDemoSwapsOutAndBackIn()
    {
        // teach-fault: 96 heap pages in 64 frames: reclaim must swap pages out (⑦) and the second sweep must read
        // some back (① major faults, which here are all swap-ins since the workload touches no file page).
        var (code, text, err) = ReportTestFiles.Run("run", Sample("teach-fault.yaml"));
        Assert.That(code, Is.EqualTo(0), err);
        long Vm(string name) => long.Parse(Line(text, name + " ").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(Vm("pswpout"), Is.GreaterThan(0));
        Assert.That(Vm("pswpin"), Is.GreaterThan(0));
        Assert.That(Vm("pgmajfault"), Is.EqualTo(Vm("pswpin")));
        Assert.That(text, Does.Contain("== mechanisms"));
    }

    [Test]
    public void OnePageFaultGoesThroughEveryArrowAsTheReadmeShows()
    {
        // README "Teaching with EcsMem", demo 4: the output pasted there is the real output of the command.
        string[] args = ["run", Sample("teach-fault.yaml"), "--events", "-", "--events-page", "0x40d000", "--events-to", "1100000"];
        var (code, stdout, err) = ReportTestFiles.Run(args);
        Assert.That(code, Is.EqualTo(0), err);
        string readme = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "README.md"));
        string command = "$ ecsmem " + string.Join(' ', args.Select(a => a.EndsWith(".yaml", StringComparison.Ordinal) ? "samples/scenarios/teach-fault.yaml" : a)) + " 2>/dev/null\n";
        int at = readme.IndexOf(command, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThan(0), "the README shows the command");
        string shown = readme[(at + command.Length)..readme.IndexOf("```", at, StringComparison.Ordinal)];
        Assert.That(shown, Is.EqualTo(stdout));

        // The page's path, in order: ① fault (with ② its frame), ② kswapd woken, ⑧ accessed-bit flush, ⑦ swap-out,
        // ④⑤ the reclaim pass, ⑦ the PTE rewritten to a swap entry and ⑧ its flush, then ⑥ the swap-in and ① the
        // major fault that maps it again, into a frame reclaim had freed (a victim).
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        string Kind(int i) => lines[i].GetProperty("kind").GetString()!;
        int Find(string kind, int from) => Enumerable.Range(from, lines.Count - from).First(i => Kind(i) == kind);
        int fault1 = Find("fault", 0), wake = Find("kswapd_wake", fault1), swapOut = Find("swap_out", wake), reclaim = Find("reclaim", swapOut);
        int unmap = Find("unmap", reclaim), flush = Find("tlb_flush", unmap), swapIn = Find("swap_in", flush), fault2 = Find("fault", swapIn);
        Assert.That(Find("alloc", 0), Is.LessThan(fault1));
        Assert.That(Enumerable.Range(wake, swapOut - wake).Any(i => Kind(i) == "tlb_flush"), Is.True, "the accessed-bit flush");
        Assert.That(lines[fault1].GetProperty("class").GetString(), Is.EqualTo("anon_new"));
        Assert.That(lines[unmap].GetProperty("slot").GetInt32(), Is.EqualTo(lines[swapOut].GetProperty("slot").GetInt32()));
        Assert.That(lines[swapIn].GetProperty("slot").GetInt32(), Is.EqualTo(lines[swapOut].GetProperty("slot").GetInt32()));
        Assert.That((lines[fault2].GetProperty("class").GetString(), lines[fault2].GetProperty("major").GetBoolean()), Is.EqualTo(("swap_read", true)));
        Assert.That(lines[fault2].GetProperty("victim_address").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.String));
        var arrows = lines.Select(l => l.GetProperty("arrow").GetString()).ToHashSet();
        Assert.That(arrows, Is.SupersetOf(new[] { "①", "②", "④⑤", "⑥", "⑦", "⑧" }));
    }
}
