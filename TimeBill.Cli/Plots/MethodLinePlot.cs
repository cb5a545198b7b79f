using ScottPlot;

namespace TimeBill.Cli.Plots;

/// <summary>A metric against the time budget, one line per method: the evaluations' comparison plot.</summary>
internal static class MethodLinePlot
{
    /// <summary>Saves a 900×560 PNG of <paramref name="series"/> (method → points ordered by x) to <paramref name="path"/> and returns the path.</summary>
    public static string Save(IEnumerable<(string Method, double[] X, double[] Y)> series, string xLabel, string yLabel, string title, string path)
    {
        var plot = new Plot();
        foreach (var (method, x, y) in series)
            plot.Add.Scatter(x, y).LegendText = method;
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Title(title);
        plot.ShowLegend();
        plot.SavePng(path, 900, 560);
        return path;
    }
}
