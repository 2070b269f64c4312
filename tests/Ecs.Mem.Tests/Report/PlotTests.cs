using System.Buffers.Binary;
using System.Globalization;
using System.Xml.Linq;

namespace EcsMem.Tests.Report;

/// <summary>
/// The sweep and run plots read back: the SVG parsed as XML (texts, series, data rectangle, legend box), the PNG's
/// IHDR dimensions. ScottPlot's SVG (Skia's SVG canvas) writes each text as a &lt;text&gt; with a translate() and
/// the data area as a clipPath rectangle around the series' paths.
/// </summary>
public class PlotTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static string PageList(ReportTestFiles f, string name, Func<int, int> page, int n) =>
        f.Write(name, string.Concat(Enumerable.Range(0, n).Select(i => page(i).ToString(CultureInfo.InvariantCulture) + "\n")));

    private static (int Width, int Height) PngSize(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        Assert.That(b.Take(8).ToArray(), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }));
        // The first chunk is IHDR: length (4), "IHDR" (4), width (4, big-endian), height (4).
        Assert.That(System.Text.Encoding.ASCII.GetString(b, 12, 4), Is.EqualTo("IHDR"));
        return (BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(20)));
    }

    private sealed record SvgText(string Text, double X, double Y, bool Bold);

    private static List<SvgText> Texts(XDocument doc) =>
        doc.Descendants(Svg + "text").Select(t =>
        {
            // translate(x y), or matrix(a b c d x y) for the rotated y-axis labels: the origin is the last two numbers.
            string tr = (string?)t.Attribute("transform") ?? "translate(0 0)";
            string[] n = tr[(tr.IndexOf('(') + 1)..^1].Split([' ', ','], StringSplitOptions.RemoveEmptyEntries);
            return new SvgText(t.Value.Trim(), double.Parse(n[^2], CultureInfo.InvariantCulture), double.Parse(n[^1], CultureInfo.InvariantCulture),
                (string?)t.Attribute("font-weight") == "600");
        }).ToList();

    private sealed record Rect(double X, double Y, double W, double H)
    {
        public bool Contains(double x, double y) => x >= X && x <= X + W && y >= Y && y <= Y + H;
    }

    /// <summary>A data line: a thick (width 2) path of several segments (a legend's sample line is one segment).</summary>
    private static bool IsSeriesLine(XElement path) =>
        (string?)path.Attribute("stroke-width") == "2" && ((string?)path.Attribute("d") ?? "").Count(c => c == 'L') >= 2;

    /// <summary>The data rectangles: clip rectangles of groups that hold the series' lines.</summary>
    private static List<Rect> DataRects(XDocument doc)
    {
        var clips = doc.Descendants(Svg + "clipPath").ToDictionary(c => (string)c.Attribute("id")!, c => c.Element(Svg + "rect")!);
        var rects = new List<Rect>();
        foreach (XElement g in doc.Descendants(Svg + "g"))
        {
            string? clip = (string?)g.Attribute("clip-path");
            if (clip is null || !g.Elements(Svg + "path").Any(IsSeriesLine)) continue;
            XElement r = clips[clip["url(#".Length..^1]];
            double A(string n) => double.Parse((string?)r.Attribute(n) ?? "0", CultureInfo.InvariantCulture);
            var rect = new Rect(A("x"), A("y"), A("width"), A("height"));
            if (!rects.Contains(rect)) rects.Add(rect);
        }
        return rects;
    }

    private static bool IsNumber(string s, out double v) =>
        double.TryParse(s.Replace(",", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out v);

    [Test]
    public void SweepSvgIsAMissRatioPlotWithTheLegendOutsideTheData()
    {
        using var f = new ReportTestFiles();
        // A loop over 300 pages and a cyclic scan over 900: different lengths, so faults would not compare; ratios do.
        string a = PageList(f, "loop.pages", i => i % 300, 6000);
        string b = PageList(f, "scan.pages", i => (i * 7) % 900, 2700);
        string svg = f.PathOf("curves.svg");
        var (code, _, err) = ReportTestFiles.Run("sweep", a, b, "--frames", "64:1024:64", "--policies", "lru,fifo,arc", "--plot", svg);
        Assert.That(code, Is.EqualTo(0), err);
        var doc = XDocument.Load(svg);
        List<SvgText> texts = Texts(doc);

        SvgText title = texts.Where(t => t.Bold).MinBy(t => t.Y)!; // axis labels are bold too; the title is the top one
        Assert.That(title.Text, Does.Contain("loop.pages").And.Contain("scan.pages").And.Contain("Miss-ratio"));
        Assert.That(texts.Select(t => t.Text), Has.Some.StartsWith("memory (MiB)").And.Some.StartsWith("miss ratio"));
        Assert.That(texts.Single(t => t.Text.StartsWith("memory", StringComparison.Ordinal)).Text, Does.Contain("frames"));

        // One legend entry per (policy, trace) and one data line per entry.
        string[] legend = texts.Select(t => t.Text).Where(t => t.Contains(" · ", StringComparison.Ordinal)).ToArray();
        Assert.That(legend, Is.EquivalentTo(new[] { "lru · loop.pages", "fifo · loop.pages", "arc · loop.pages", "lru · scan.pages", "fifo · scan.pages", "arc · scan.pages" }));
        Rect data = DataRects(doc).Single();
        var clipIds = doc.Descendants(Svg + "clipPath").Where(c =>
        {
            XElement r = c.Element(Svg + "rect")!;
            return Math.Abs(double.Parse((string)r.Attribute("width")!, CultureInfo.InvariantCulture) - data.W) < 1e-6;
        }).Select(c => "url(#" + (string)c.Attribute("id")! + ")").ToHashSet();
        int lines = doc.Descendants(Svg + "g").Where(g => clipIds.Contains((string?)g.Attribute("clip-path") ?? ""))
            .SelectMany(g => g.Elements(Svg + "path")).Count(IsSeriesLine);
        Assert.That(lines, Is.EqualTo(6));
        // Three policies, three colours; the traces share them.
        var colours = doc.Descendants(Svg + "path").Where(p => (string?)p.Attribute("stroke-width") == "2").Select(p => (string)p.Attribute("stroke")!).Distinct();
        Assert.That(colours.Count(), Is.EqualTo(3));

        foreach (SvgText t in texts.Where(t => t.Text.Contains(" · ", StringComparison.Ordinal)))
            Assert.That(data.Contains(t.X, t.Y), Is.False, $"legend entry '{t.Text}' at ({t.X}, {t.Y}) lies inside the data area {data}");
        foreach (SvgText t in texts)
        {
            if (IsNumber(t.Text, out double v))
                Assert.That(v, Is.GreaterThanOrEqualTo(0), $"tick label '{t.Text}'");
        }
        // The top axis (frames) is 256 × the bottom (MiB): its ticks are round frame counts up to the 1024 swept.
        var topTicks = texts.Where(t => t.Y < data.Y && IsNumber(t.Text, out _)).Select(t => double.Parse(t.Text.Replace(",", ""), CultureInfo.InvariantCulture)).ToArray();
        Assert.That(topTicks, Is.Not.Empty);
        Assert.That(topTicks, Has.All.LessThanOrEqualTo(1100));
        Assert.That(topTicks.Max(), Is.GreaterThanOrEqualTo(500));
    }

    [Test]
    public void SweepPngHasTheDocumentedSizeAndLogXWorks()
    {
        using var f = new ReportTestFiles();
        string a = PageList(f, "loop.pages", i => i % 300, 3000);
        string png = f.PathOf("curves.png");
        var (code, _, err) = ReportTestFiles.Run("sweep", a, "--frames", "16,64,256,1024", "--policies", "lru,opt", "--plot", png, "--log-x");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(PngSize(png), Is.EqualTo((1000, 600)));
    }

    [Test]
    public void SweepPlotMustBePngOrSvg()
    {
        using var f = new ReportTestFiles();
        string a = PageList(f, "loop.pages", i => i % 30, 300);
        var (code, _, err) = ReportTestFiles.Run("sweep", a, "--frames", "16", "--plot", f.PathOf("curves.pdf"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(err, Does.Contain("curves.pdf").And.Contain("PNG or SVG"));
        Assert.That(f.FilesExcept("loop.pages"), Is.Empty);
    }

    [Test]
    public void RunSvgHasTwoPanelsARamLineAndANamedTitle()
    {
        using var f = new ReportTestFiles();
        string svg = f.PathOf("run.svg");
        var (code, _, err) = ReportTestFiles.Run("run", "--plot", svg, "--timeline-every", "20000");
        Assert.That(code, Is.EqualTo(0), err);
        var doc = XDocument.Load(svg);
        List<SvgText> texts = Texts(doc);
        SvgText title = texts.Where(t => t.Bold).MinBy(t => t.Y)!; // axis labels are bold too; the title is the top one
        Assert.That(title.Text, Does.StartWith("default scenario:").And.Contain("policy linux").And.Contain("MiB RAM"));
        Assert.That(title.Text, Does.Not.Contain("<default scenario>"));
        Assert.That(texts.Select(t => t.Text), Has.Some.StartsWith("RAM (").And.Some.EqualTo("faults / interval").And.Some.EqualTo("pages (4 KiB)"));
        Assert.That(texts.Select(t => t.Text), Has.Some.EqualTo("page faults per interval").And.Some.EqualTo("free frames"));

        List<Rect> panels = DataRects(doc);
        Assert.That(panels, Has.Count.EqualTo(2), "a memory panel and a fault panel");
        Assert.That(panels.Select(p => p.X).Distinct().Count(), Is.EqualTo(1), "the panels' x axes line up");
        foreach (SvgText t in texts)
        {
            if (IsNumber(t.Text, out double v))
                Assert.That(v, Is.GreaterThanOrEqualTo(0), $"tick label '{t.Text}'");
            if (t.Text.StartsWith("RAM (", StringComparison.Ordinal) || t.Text == "page faults per interval" || t.Text.StartsWith("RSS ", StringComparison.Ordinal))
                Assert.That(panels.Any(p => p.Contains(t.X, t.Y)), Is.False, $"legend entry '{t.Text}' inside a data area");
        }
    }

    [Test]
    public void RunPngHasTheDocumentedSize()
    {
        using var f = new ReportTestFiles();
        string png = f.PathOf("run.png");
        var (code, _, err) = ReportTestFiles.Run("run", "--plot", png, "--timeline-every", "50000");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(PngSize(png), Is.EqualTo((1200, 800)));
    }
}
