using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;

namespace EcsMem.Cli.Commands;

/// <summary>
/// The sweep's miss-ratio curves as a PNG (ScottPlot): faults against frames, one line per policy (per trace
/// and policy when several traces were swept), points in the order the frame counts were given, sorted by frames.
/// </summary>
public static class SweepPlot
{
    public static void Write(string path, IReadOnlyList<SweepRow> rows, bool labelTraces)
    {
        var plot = new ScottPlot.Plot();
        // Group rows into series while keeping first-appearance order, so the legend order is deterministic.
        var order = new List<string>();
        var series = new Dictionary<string, List<(double Frames, double Faults)>>(StringComparer.Ordinal);
        foreach (SweepRow row in rows)
        {
            string key = labelTraces ? $"{Path.GetFileName(row.Trace)}: {row.Result.Policy}" : row.Result.Policy;
            if (!series.TryGetValue(key, out var points))
            {
                series[key] = points = new();
                order.Add(key);
            }
            points.Add((row.Result.Frames, row.Result.Faults));
        }
        foreach (string key in order)
        {
            var points = series[key];
            points.Sort((a, b) => a.Frames.CompareTo(b.Frames));
            var line = plot.Add.Scatter(points.Select(p => p.Frames).ToArray(), points.Select(p => p.Faults).ToArray());
            line.LegendText = key;
        }
        plot.Title("Page faults vs frames (ideal mode)");
        plot.XLabel("frames");
        plot.YLabel("faults");
        plot.ShowLegend();
        try
        {
            // Rendered in memory and written atomically: an error or an interrupt never leaves half an image.
            Systems.Reporting.ReportOutputFile.WriteBytes(path, plot.GetImage(900, 600).GetImageBytes(ScottPlot.ImageFormat.Png));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException("command line", 0, path, "cannot write the plot: " + e.Message);
        }
    }
}
