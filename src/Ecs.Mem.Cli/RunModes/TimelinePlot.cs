using EcsMem.Systems.Reporting;
using ScottPlot;
using SkiaSharp;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// <c>--plot FILE.png|FILE.svg</c>: two panels over accesses completed, drawn with ScottPlot from the timeline rows.
/// The memory panel has the RAM (total frames) as a line, free frames, swap slots in use and the resident set of
/// every process, in pages, from 0 up; the fault panel under it has the page faults of each interval.
/// The title names the scenario, its RAM and the replacement policy.
/// </summary>
public static class TimelinePlot
{
    public const int Width = 1200;
    public const int Height = 800;

    /// <summary>Height of the memory panel; the fault panel takes the rest.</summary>
    public const int MemoryPanelHeight = 540;

    /// <summary>What the title says about the run.</summary>
    /// <param name="Scenario">The scenario's name (its file name without extension, or "default scenario").</param>
    /// <param name="Policy">Replacement policy.</param>
    /// <param name="RamPages">Total frames (the RAM line).</param>
    public sealed record RunInfo(string Scenario, string Policy, long RamPages)
    {
        /// <summary>The title of the memory panel.</summary>
        public string Title => $"{Scenario}: {RamPages * 4 / 1024.0:0.##} MiB RAM ({RamPages} frames), policy {Policy}";

        /// <summary>The name of the scenario whose report source is <paramref name="source"/>.</summary>
        public static string ScenarioName(string source) =>
            source == EcsMem.Scenarios.DefaultScenario.SourceName ? "default scenario" : Path.GetFileNameWithoutExtension(source);
    }

    /// <summary>The plot as PNG bytes (rendered off-screen; no display needed).</summary>
    public static byte[] RenderPng(IReadOnlyList<TimelineRow> rows, IReadOnlyList<string> processNames, RunInfo run)
    {
        var (memory, faults) = Build(rows, processNames, run, dashes: true);
        using SKSurface surface = SKSurface.Create(new SKImageInfo(Width, Height));
        surface.Canvas.Clear(SKColors.White);
        Draw(surface.Canvas, memory, faults);
        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The plot as SVG text (one document, the two panels stacked).</summary>
    public static string RenderSvg(IReadOnlyList<TimelineRow> rows, IReadOnlyList<string> processNames, RunInfo run)
    {
        var (memory, faults) = Build(rows, processNames, run, dashes: false);
        using var stream = new MemoryStream();
        using (SKCanvas canvas = SKSvgCanvas.Create(new SKRect(0, 0, Width, Height), stream))
            Draw(canvas, memory, faults);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>PNG or SVG bytes by the extension of <paramref name="path"/>.</summary>
    public static byte[] Render(string path, IReadOnlyList<TimelineRow> rows, IReadOnlyList<string> processNames, RunInfo run) =>
        path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase)
            ? System.Text.Encoding.UTF8.GetBytes(RenderSvg(rows, processNames, run))
            : RenderPng(rows, processNames, run);

    /// <summary>
    /// Each panel is recorded as a picture of its own size and replayed, clipped, at its offset: ScottPlot clears
    /// the whole canvas before it draws, which would wipe a panel drawn earlier on the same canvas.
    /// </summary>
    private static void Draw(SKCanvas canvas, Plot memory, Plot faults)
    {
        using var white = new SKPaint { Color = SKColors.White, Style = SKPaintStyle.Fill };
        canvas.DrawRect(new SKRect(0, 0, Width, Height), white);
        Panel(canvas, memory, 0, MemoryPanelHeight);
        Panel(canvas, faults, MemoryPanelHeight, Height - MemoryPanelHeight);
    }

    private static void Panel(SKCanvas canvas, Plot plot, int y, int height)
    {
        using var recorder = new SKPictureRecorder();
        SKCanvas c = recorder.BeginRecording(new SKRect(0, 0, Width, height));
        plot.Render(c, new PixelRect(0, Width, 0, height));
        using SKPicture picture = recorder.EndRecording();
        canvas.Save();
        canvas.Translate(0, y);
        canvas.ClipRect(new SKRect(0, 0, Width, height));
        canvas.DrawPicture(picture);
        canvas.Restore();
    }

    /// <summary>
    /// The two panels. Both use the same fixed padding so their data areas line up over the same x range; the
    /// legends sit in the right margin, outside the data. Skia's SVG backend cannot draw dashed lines, so
    /// <paramref name="dashes"/> is false for SVG.
    /// </summary>
    public static (Plot Memory, Plot Faults) Build(IReadOnlyList<TimelineRow> rows, IReadOnlyList<string> processNames, RunInfo run, bool dashes)
    {
        double[] xs = new double[rows.Count];
        double[] free = new double[rows.Count];
        double[] swap = new double[rows.Count];
        double[] faultCounts = new double[rows.Count];
        double top = run.RamPages;
        for (int i = 0; i < rows.Count; i++)
        {
            xs[i] = rows[i].Accesses;
            free[i] = rows[i].FreePages;
            swap[i] = rows[i].SwapUsedPages;
            // FaultRate is faults per access since the previous row: times the accesses in between, the interval's faults.
            long interval = rows[i].Accesses - (i == 0 ? 0 : rows[i - 1].Accesses);
            faultCounts[i] = Math.Round(rows[i].FaultRate * interval);
            top = Math.Max(top, Math.Max(free[i], swap[i]));
        }
        var padding = new PixelPadding(90, 230, 50, 40);
        // Markers only while they can be told apart; black and grey keep the machine-wide lines apart from the
        // per-process colours of the palette.
        float marker = rows.Count > 60 ? 0 : 5;

        var memory = new Plot();
        var ram = memory.Add.HorizontalLine(run.RamPages, 2, Colors.DarkRed, dashes ? LinePattern.Dotted : LinePattern.Solid);
        ram.LegendText = $"RAM ({run.RamPages} frames)";
        var f = memory.Add.Scatter(xs, free, Colors.Black);
        f.LegendText = "free frames";
        f.LineWidth = 2;
        f.MarkerSize = marker;
        var s = memory.Add.Scatter(xs, swap, Colors.Gray);
        s.LegendText = "swap used";
        s.LineWidth = 2;
        s.LinePattern = dashes ? LinePattern.Dashed : LinePattern.Solid;
        s.MarkerSize = marker;
        for (int p = 0; p < processNames.Count; p++)
        {
            double[] rss = new double[rows.Count];
            for (int i = 0; i < rows.Count; i++)
            {
                rss[i] = p < rows[i].RssPages.Length ? rows[i].RssPages[p] : 0;
                top = Math.Max(top, rss[i]);
            }
            var r = memory.Add.Scatter(xs, rss, Commands.SweepPlot.Palette[p % Commands.SweepPlot.Palette.Count]);
            r.LegendText = $"RSS {processNames[p]} [{p + 1}]";
            r.MarkerSize = marker;
        }
        memory.Title(run.Title);
        memory.YLabel("pages (4 KiB)");
        memory.XLabel("accesses");
        memory.ShowLegend(Edge.Right);
        memory.Layout.Fixed(padding);

        var faults = new Plot();
        var fl = faults.Add.Scatter(xs, faultCounts, Colors.DarkRed);
        fl.LegendText = "page faults per interval";
        fl.LineWidth = 2;
        fl.MarkerSize = marker;
        faults.XLabel("accesses");
        faults.YLabel("faults / interval");
        faults.ShowLegend(Edge.Right);
        faults.Layout.Fixed(padding);

        // y from 0: counts of pages and faults are never negative, and the RAM line stays in view.
        double left = rows.Count == 0 ? 0 : Math.Min(0, xs[0]);
        double right = rows.Count == 0 ? 1 : Math.Max(xs[^1], left + 1);
        memory.Axes.SetLimits(left, right, 0, Math.Max(1, top) * 1.08);
        double maxFaults = rows.Count == 0 ? 0 : faultCounts.Max();
        faults.Axes.SetLimits(left, right, 0, Math.Max(1, maxFaults) * 1.1);
        return (memory, faults);
    }
}
