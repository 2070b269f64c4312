using System.Globalization;
using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;
using ScottPlot;

namespace EcsMem.Cli.Commands;

/// <summary>
/// The sweep's miss-ratio curves as a PNG or SVG (by the file's extension, ScottPlot): miss ratio
/// (misses / references, so traces of any length share the axes) against memory in MiB, with the same memory in
/// 4 KiB frames on the top axis. Colour says the policy, line style the trace; the legend sits outside the data
/// area; y runs from 0; x may be logarithmic. Points are sorted by frames.
/// </summary>
public static class SweepPlot
{
    public const int Width = 1000;
    public const int Height = 600;

    /// <summary>Frames per MiB (4 KiB pages).</summary>
    private const double FramesPerMiB = 256;

    /// <summary>Ten colours that are told apart in print and by most colour-blind readers (Tableau 10).</summary>
    public static readonly IReadOnlyList<Color> Palette =
    [
        Color.FromHex("#4E79A7"), Color.FromHex("#F28E2B"), Color.FromHex("#E15759"), Color.FromHex("#76B7B2"),
        Color.FromHex("#59A14F"), Color.FromHex("#EDC948"), Color.FromHex("#B07AA1"), Color.FromHex("#FF9DA7"),
        Color.FromHex("#9C755F"), Color.FromHex("#000000"),
    ];

    private static readonly LinePattern[] Patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];
    private static readonly MarkerShape[] Markers = [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond];

    /// <summary>True for a name the plot can be written to (.png or .svg).</summary>
    public static bool IsPlotFile(string path) =>
        path.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase);

    public static void Write(string path, IReadOnlyList<SweepRow> rows, bool labelTraces, bool logX = false)
    {
        bool svg = path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase);
        Plot plot = Build(rows, labelTraces, logX, dashes: !svg);
        try
        {
            // Rendered in memory and written atomically: an error or an interrupt never leaves half an image.
            if (svg)
                Systems.Reporting.ReportOutputFile.WriteText(path, plot.GetSvgXml(Width, Height));
            else
                Systems.Reporting.ReportOutputFile.WriteBytes(path, plot.GetImage(Width, Height).GetImageBytes(ImageFormat.Png));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException("command line", 0, path, "cannot write the plot: " + e.Message);
        }
    }

    /// <summary>
    /// The plot of <paramref name="rows"/> (for tests and other front ends). Traces differ by marker shape and, when
    /// <paramref name="dashes"/>, by line pattern too: Skia's SVG backend cannot draw dashed lines (it draws them
    /// solid and complains on stderr), so SVG output relies on the markers.
    /// </summary>
    public static Plot Build(IReadOnlyList<SweepRow> rows, bool labelTraces, bool logX, bool dashes = true)
    {
        var plot = new Plot();
        // Series, traces and policies in first-appearance order, so colours, styles and the legend are deterministic.
        var traces = new List<string>();
        var policies = new List<string>();
        var order = new List<(string Trace, string Policy)>();
        var series = new Dictionary<(string, string), List<(int Frames, double Ratio)>>();
        foreach (SweepRow row in rows)
        {
            var key = (row.Trace, row.Result.Policy);
            if (!series.TryGetValue(key, out var points))
            {
                series[key] = points = [];
                order.Add(key);
                if (!traces.Contains(row.Trace)) traces.Add(row.Trace);
                if (!policies.Contains(row.Result.Policy)) policies.Add(row.Result.Policy);
            }
            points.Add((row.Result.Frames, row.Result.References == 0 ? 0 : (double)row.Result.Faults / row.Result.References));
        }
        double maxRatio = 0;
        double minX = double.MaxValue, maxX = double.MinValue;
        foreach (var key in order)
        {
            var points = series[key];
            points.Sort((a, b) => a.Frames.CompareTo(b.Frames));
            double[] xs = points.Select(p => X(p.Frames / FramesPerMiB, logX)).ToArray();
            double[] ys = points.Select(p => p.Ratio).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            int policy = policies.IndexOf(key.Policy), trace = traces.IndexOf(key.Trace);
            // Colour by policy (unique for up to ten policies); beyond ten, the trace styles still separate them.
            line.Color = Palette[policy % Palette.Count];
            int style = trace + policy / Palette.Count;
            line.LinePattern = dashes ? Patterns[style % Patterns.Length] : LinePattern.Solid;
            line.LineWidth = 2;
            line.MarkerShape = Markers[style % Markers.Length];
            line.MarkerSize = traces.Count > 1 || style > 0 ? 6 : points.Count > 40 ? 0 : 5;
            line.LegendText = labelTraces ? $"{key.Policy} · {Path.GetFileName(key.Trace)}" : key.Policy;
            maxRatio = Math.Max(maxRatio, ys.Length == 0 ? 0 : ys.Max());
            if (xs.Length > 0)
            {
                minX = Math.Min(minX, xs[0]);
                maxX = Math.Max(maxX, xs[^1]);
            }
        }
        string names = string.Join(", ", traces.Select(Path.GetFileName));
        plot.Title(traces.Count == 0 ? "Miss-ratio curves" : $"Miss-ratio curves: {names}");
        // The top axis' own label would be drawn over the title (ScottPlot 5.1), so the bottom label names both axes.
        plot.XLabel(logX ? "memory (MiB, log scale); top axis: frames (4 KiB)" : "memory (MiB); top axis: frames (4 KiB)");
        plot.YLabel("miss ratio (misses / references)");

        if (minX > maxX)
        {
            minX = 0;
            maxX = 1;
        }
        double pad = (maxX - minX) * 0.03;
        if (pad == 0) pad = 0.5;
        double left = logX ? minX - pad : Math.Max(0, minX - pad), right = maxX + pad;
        plot.Axes.SetLimitsX(left, right, plot.Axes.Bottom);
        plot.Axes.SetLimitsX(left, right, plot.Axes.Top);
        // The y axis starts at 0 (a miss ratio is never negative) and stops a little above the highest point.
        plot.Axes.SetLimitsY(0, Math.Min(1.0, maxRatio) * 1.05 + 0.001);

        // The top axis shows the same memory in frames, at round frame counts; both axes share one range.
        var bottomTicks = new ScottPlot.TickGenerators.NumericAutomatic();
        var topTicks = new ScottPlot.TickGenerators.NumericManual();
        if (logX)
        {
            bottomTicks.LabelFormatter = v => Format(Math.Pow(10, v));
            bottomTicks.MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator();
            bottomTicks.IntegerTicksOnly = true;
            for (double k = Math.Ceiling(left + Math.Log10(FramesPerMiB)); k <= right + Math.Log10(FramesPerMiB); k++)
                topTicks.AddMajor(k - Math.Log10(FramesPerMiB), Format(Math.Pow(10, k)));
        }
        else
        {
            bottomTicks.LabelFormatter = Format;
            double span = (right - left) * FramesPerMiB;
            double step = NiceStep(span / 6);
            for (double f = Math.Ceiling(left * FramesPerMiB / step) * step; f <= right * FramesPerMiB; f += step)
                topTicks.AddMajor(f / FramesPerMiB, Format(f));
        }
        plot.Axes.Bottom.TickGenerator = bottomTicks;
        plot.Axes.Top.TickGenerator = topTicks;
        plot.Axes.Top.IsVisible = true;
        // Room for the top axis' tick labels below the title.
        plot.Axes.Top.MinimumSize = 30;
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>The smallest 1, 2 or 5 × 10^k at least <paramref name="rough"/>.</summary>
    private static double NiceStep(double rough)
    {
        if (!(rough > 0)) return 1;
        double p = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        foreach (double m in new[] { 1.0, 2, 5, 10 })
        {
            if (m * p >= rough) return Math.Max(1, m * p);
        }
        return Math.Max(1, 10 * p);
    }

    private static double X(double mib, bool logX) => logX ? Math.Log10(mib) : mib;

    private static string Format(double v) =>
        Math.Abs(v) >= 1e6 ? v.ToString("0.###e0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);
}
