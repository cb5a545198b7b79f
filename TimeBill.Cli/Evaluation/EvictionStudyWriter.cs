using System.Globalization;
using System.Text;

using TimeBill.Cli.Output;

namespace TimeBill.Cli.Evaluation;

/// <summary>Writes an <see cref="EvictionStudyReport"/> as Markdown, CSV and one PNG plot per metric.</summary>
internal static class EvictionStudyWriter
{
    /// <summary>The Markdown table: one row per policy, one column group per α.</summary>
    public static string Markdown(EvictionStudyReport report, string modelName, int seed)
    {
        var alphas = report.Summary.Select(s => s.Alpha).Distinct().Order().ToArray();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Eviction quality on {modelName}: {report.PromptLengths.Count} prompts of {report.PromptLengths.Min()}–{report.PromptLengths.Max()} tokens (mean {report.PromptLengths.Average():F0}), seed {seed}.");
        text.AppendLine("KL = mean KL(full ‖ evicted) over 32 teacher-forced steps (lower is better); agree = greedy tokens equal to the full cache's over 64 steps; ROUGE-L = F1 of the 128-token greedy continuation.");
        text.AppendLine();
        text.Append("| policy |");
        foreach (double a in alphas) text.Append(CultureInfo.InvariantCulture, $" KL α={a} | agree α={a} | ROUGE-L α={a} |");
        text.AppendLine();
        text.Append("|---|");
        foreach (var _ in alphas) text.Append("---:|---:|---:|");
        text.AppendLine();
        foreach (var policy in report.Summary.Select(s => s.Policy).Distinct())
        {
            text.Append(CultureInfo.InvariantCulture, $"| {policy} |");
            foreach (double a in alphas)
            {
                var s = report.Summary.Single(x => x.Policy == policy && x.Alpha == a);
                text.Append(CultureInfo.InvariantCulture, $" {s.MeanKl:F4} | {s.GreedyAgreement:P1} | {s.RougeLF1:F3} |");
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    /// <summary>Writes eviction-quality.md, eviction-quality.csv (means), eviction-quality-samples.csv and three PNGs; returns the paths.</summary>
    public static IReadOnlyList<string> WriteAll(EvictionStudyReport report, string folder, string modelName, int seed)
    {
        Directory.CreateDirectory(folder);
        var paths = new List<string>();
        string markdown = Path.Combine(folder, "eviction-quality.md");
        File.WriteAllText(markdown, Markdown(report, modelName, seed));
        paths.Add(markdown);
        paths.Add(CsvFile.Write(report.Summary, Path.Combine(folder, "eviction-quality.csv")));
        paths.Add(CsvFile.Write(report.Samples, Path.Combine(folder, "eviction-quality-samples.csv")));
        paths.Add(Plot(report, Path.Combine(folder, "eviction-kl.png"), "Mean KL(full ‖ evicted), 32 steps", s => s.MeanKl, logScale: false));
        paths.Add(Plot(report, Path.Combine(folder, "eviction-agreement.png"), "Greedy agreement with full cache, 64 steps", s => s.GreedyAgreement, logScale: false));
        paths.Add(Plot(report, Path.Combine(folder, "eviction-rouge-l.png"), "ROUGE-L F1 of 128-token continuation", s => s.RougeLF1, logScale: false));
        return paths;
    }

    private static string Plot(EvictionStudyReport report, string path, string title, Func<EvictionSummary, double> metric, bool logScale)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int index = 0;
        foreach (var group in report.Summary.GroupBy(s => s.Policy))
        {
            var points = group.OrderBy(s => s.Alpha).ToArray();
            var line = plot.Add.Scatter(points.Select(s => s.Alpha).ToArray(), points.Select(metric).ToArray());
            line.LegendText = group.Key;
            line.Color = palette.GetColor(index++);
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        plot.Title(title + (logScale ? " (log)" : ""));
        plot.XLabel("α (fraction of prompt KV evicted)");
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.SavePng(path, 900, 540);
        return path;
    }
}
