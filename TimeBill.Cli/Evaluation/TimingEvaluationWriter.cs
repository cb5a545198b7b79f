using System.Text;

using TimeBill.Cli.Output;

using TimeBill.Cli.Plots;

namespace TimeBill.Cli.Evaluation;

/// <summary>Writes the timing evaluation as Markdown and CSV tables and PNG plots (one line per method).</summary>
internal static class TimingEvaluationWriter
{
    public static IReadOnlyList<string> Write(TimingEvaluation.Report report, string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>
        {
            CsvFile.Write(report.Rows, Path.Combine(folder, "timing-eval.csv")),
            CsvFile.Write(report.Jobs, Path.Combine(folder, "timing-eval-jobs.csv")),
        };
        string markdown = Path.Combine(folder, "timing-eval.md");
        File.WriteAllText(markdown, Markdown(report));
        files.Add(markdown);
        files.Add(Plot(report, r => r.CompletionRate, "completion rate", Path.Combine(folder, "timing-completion-vs-budget.png")));
        files.Add(Plot(report, r => r.OvershootP99Ms, "overshoot p99 (ms, result returned − deadline)", Path.Combine(folder, "timing-overshoot-vs-budget.png")));
        return files;
    }

    public static string Markdown(TimingEvaluation.Report report)
    {
        var text = new StringBuilder();
        text.AppendLine(FormattableString.Invariant(
            $"Timing only ({report.ModelIdentity}, random weights: no quality is measured). {report.PromptLengths.Count} jobs, Kill; prompts of ")
            + string.Join(", ", report.PromptLengths) + " random tokens; exact response lengths " + string.Join(", ", report.ResponseLengths)
            + " tokens (drawn from the length source, given to the planner as N̂ with k = 1, no stop token). Measured vanilla latencies: "
            + string.Join(", ", report.VanillaLatenciesMs.Select(l => FormattableString.Invariant($"{l / 1000:F1} s")))
            + "; budgets = their percentiles: "
            + string.Join(", ", report.Budgets.Select(b => FormattableString.Invariant($"{b.Key} = {b.Value / 1000:F1} s"))) + ".");
        text.AppendLine();
        text.AppendLine("| budget | method | completion | mean α | evictions skipped | overshoot p50 ms | overshoot p99 ms | overshoot max ms | prefill > T (max ms) | mean step ms | prefill vs ETE | decode vs ETE |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in report.Rows)
            text.AppendLine(FormattableString.Invariant(
                $"| {r.BudgetLabel} ({r.BudgetMs / 1000:F1} s) | {r.Method} | {r.CompletionRate:P0} | {r.MeanAlpha:F2} | {r.EvictionsSkipped} | {r.OvershootP50Ms:F1} | {r.OvershootP99Ms:F1} | {r.OvershootMaxMs:F1} | {(r.PrefillOverruns == 0 ? "0" : $"{r.PrefillOverruns} ({r.PrefillOverrunMaxMs:F0})")} | {r.MeanStepMs:F1} | {r.PrefillErrorPercent:+0.0;-0.0} % | {r.DecodeErrorPercent:+0.0;-0.0} % |"));
        return text.ToString();
    }

    private static string Plot(TimingEvaluation.Report report, Func<TimingEvaluationRow, double> metric, string label, string path) =>
        MethodLinePlot.Save(
            report.Rows.GroupBy(r => r.Method).Select(g =>
            {
                var points = g.OrderBy(r => r.BudgetMs).ToArray();
                return (g.Key, points.Select(p => p.BudgetMs / 1000).ToArray(), points.Select(metric).ToArray());
            }),
            "time budget (s)", label, $"Timing evaluation, {report.ModelIdentity} (random weights, Kill)", path);
}
