using ScottPlot;
using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Cli.Plots;

/// <summary>Measured points vs fitted curves of an execution-time profile: a prefill panel and a decode-step panel.</summary>
internal static class ExecutionTimePlot
{
    /// <summary>Writes the figure to <paramref name="path"/> as PNG.</summary>
    public static void Save(ExecutionTimeProfile profile, string path)
    {
        var k = profile.Coefficients;
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();

        var prefill = multiplot.GetPlot(0);
        var pre = profile.Measurements.Prefill.Where(m => m.CachedLength == 0).ToList(); // the cold curve's points
        AddPoints(prefill, pre.Where(m => !m.HeldOut).Select(m => ((double)m.PromptLength, m.Milliseconds)), "measured (fit)", Colors.Blue, MarkerShape.FilledCircle);
        AddPoints(prefill, pre.Where(m => m.HeldOut).Select(m => ((double)m.PromptLength, m.Milliseconds)), "measured (held out)", Colors.Red, MarkerShape.OpenSquare);
        double maxNx = pre.Max(m => m.PromptLength);
        var nx = Enumerable.Range(0, (int)maxNx + 1).Select(n => (double)n).ToArray(); // every length: the block term steps
        var fitLine = prefill.Add.ScatterLine(nx, nx.Select(n => k.Prefill.Milliseconds(n)).ToArray(), Colors.Black);
        fitLine.LegendText = $"fit {k.Prefill.A:G3}·Nx² + {k.Prefill.B:G3}·Nx + {k.Prefill.C:G3}"
            + (k.Prefill.Chunk > 0 ? $"·ceil(Nx/{k.Prefill.Chunk})" : "")
            + (k.Prefill.QueryBlock > 0 ? $" + {k.Prefill.D:G3}·ceil(Nx/{k.Prefill.QueryBlock})" : "");
        prefill.Title($"Prefill (held-out MAPE {profile.Fit.Prefill.HeldOutMapePercent:F2}%, R² {profile.Fit.Prefill.RSquared:F4})");
        prefill.XLabel("prompt length Nx (tokens)");
        prefill.YLabel("time (ms)");
        prefill.ShowLegend(Alignment.UpperLeft);

        var step = multiplot.GetPlot(1);
        var steps = profile.Measurements.DecodeSteps;
        double maxKv = steps.Max(m => m.KvLength);
        var kv = Enumerable.Range(0, 101).Select(i => maxKv * i / 100).ToArray();
        var palette = new ScottPlot.Palettes.Category10();
        int layerCount = profile.Measurements.LayerCount;
        foreach (var (layers, index) in steps.Select(m => m.Layers).Distinct().Order().Select((l, i) => (l, i)))
        {
            var color = palette.GetColor(index);
            var mine = steps.Where(m => m.Layers == layers).ToList();
            AddPoints(step, mine.Where(m => !m.HeldOut).Select(m => ((double)m.KvLength, m.Milliseconds)), $"{layers} layers, measured", color, MarkerShape.FilledCircle);
            AddPoints(step, mine.Where(m => m.HeldOut).Select(m => ((double)m.KvLength, m.Milliseconds)), null, color, MarkerShape.OpenSquare);
            var cost = layers == layerCount ? k.Step : k.LayeredStep.ForLayers(layers);
            var line = step.Add.ScatterLine(kv, kv.Select(x => cost.StepMilliseconds(x)).ToArray(), color);
            line.LegendText = layers == layerCount ? $"{layers} layers, fit p·Nkv + q" : $"{layers} layers, fit l·(p1·Nkv + q1) + h";
        }
        step.Title($"Decode step (held-out MAPE {profile.Fit.Step.HeldOutMapePercent:F2}% full, {profile.Fit.LayeredStep.HeldOutMapePercent:F2}% layered)");
        step.XLabel("KV length Nkv (entries)");
        step.YLabel("time (ms)");
        step.ShowLegend(Alignment.UpperLeft);

        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        multiplot.SavePng(path, 1600, 650);
    }

    private static void AddPoints(Plot plot, IEnumerable<(double X, double Y)> points, string? label, Color color, MarkerShape shape)
    {
        var list = points.ToList();
        if (list.Count == 0) return;
        var markers = plot.Add.Markers(list.Select(p => p.X).ToArray(), list.Select(p => p.Y).ToArray(), shape, 7, color);
        if (label is not null) markers.LegendText = label;
    }
}
