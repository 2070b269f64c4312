using EcsMem.Systems.Reporting;
using ScottPlot;

namespace EcsMem.Cli.RunModes;

/// <summary>
/// <c>--plot FILE.png</c>: free frames, swap slots in use and the resident set of every process (pages)
/// against accesses completed, drawn with ScottPlot from the timeline rows.
/// </summary>
public static class TimelinePlot
{
    public const int Width = 1200;
    public const int Height = 700;

    /// <summary>The plot as PNG bytes (rendered off-screen; no display needed).</summary>
    public static byte[] RenderPng(IReadOnlyList<TimelineRow> rows, IReadOnlyList<string> processNames, string title)
    {
        var plot = new Plot();
        double[] xs = new double[rows.Count];
        double[] free = new double[rows.Count];
        double[] swap = new double[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            xs[i] = rows[i].Accesses;
            free[i] = rows[i].FreePages;
            swap[i] = rows[i].SwapUsedPages;
        }
        // Markers only while they can be told apart; black and grey keep the machine-wide lines apart from the
        // per-process colours of the palette.
        float marker = rows.Count > 60 ? 0 : 5;
        var f = plot.Add.Scatter(xs, free, Colors.Black);
        f.LegendText = "free frames";
        f.LineWidth = 2;
        f.MarkerSize = marker;
        var s = plot.Add.Scatter(xs, swap, Colors.Gray);
        s.LegendText = "swap used";
        s.LineWidth = 2;
        s.LinePattern = LinePattern.Dashed;
        s.MarkerSize = marker;
        for (int p = 0; p < processNames.Count; p++)
        {
            double[] rss = new double[rows.Count];
            for (int i = 0; i < rows.Count; i++)
                rss[i] = p < rows[i].RssPages.Length ? rows[i].RssPages[p] : 0;
            var r = plot.Add.Scatter(xs, rss);
            r.LegendText = $"RSS {processNames[p]} [{p + 1}]";
            r.MarkerSize = marker;
        }
        plot.Title(title);
        plot.XLabel("accesses");
        plot.YLabel("pages (4 KiB)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImage(Width, Height).GetImageBytes(ImageFormat.Png);
    }
}
