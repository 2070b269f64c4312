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
        // some back (① major faults, which here are all swap-ins since the workload touches no file page; swap readahead reads
        // some pages without a fault of their own).
        var (code, text, err) = ReportTestFiles.Run("run", Sample("teach-fault.yaml"));
        Assert.That(code, Is.EqualTo(0), err);
        long Vm(string name) => long.Parse(Line(text, name + " ").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(Vm("pswpout"), Is.GreaterThan(0));
        Assert.That(Vm("pswpin"), Is.GreaterThan(0));
        // Every page read from swap is a major fault's own page or one swap readahead brought along.
        Assert.That(Vm("pswpin"), Is.EqualTo(Vm("pgmajfault") + Vm("swap_ra")));
        Assert.That(text, Does.Contain("== mechanisms"));
    }
}
