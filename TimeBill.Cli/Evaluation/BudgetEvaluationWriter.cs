using System.Text;

using TimeBill.Cli.Output;

using TimeBill.Cli.Plots;

namespace TimeBill.Cli.Evaluation;

/// <summary>Writes the TimeBill evaluation as Markdown and CSV tables and PNG plots (one line per method).</summary>
internal static class BudgetEvaluationWriter
{
    public static IReadOnlyList<string> Write(TimeBillEvaluation.Report report, string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>
        {
            CsvFile.Write(report.Rows, Path.Combine(folder, "timebill-eval.csv")),
            CsvFile.Write(report.PessimismSweep, Path.Combine(folder, "timebill-k-sweep.csv")),
            CsvFile.Write(report.Jobs, Path.Combine(folder, "timebill-eval-jobs.csv")),
        };
        string markdown = Path.Combine(folder, "timebill-eval.md");
        File.WriteAllText(markdown, Markdown(report));
        files.Add(markdown);
        foreach (var strategy in new[] { "kill", "skip-next" })
        {
            files.Add(Plot(report, strategy, r => r.Score, "average score (ROUGE-L F1, misses = 0)", Path.Combine(folder, $"score-vs-budget-{strategy}.png")));
            files.Add(Plot(report, strategy, r => r.CompletionRate, "completion rate", Path.Combine(folder, $"completion-vs-budget-{strategy}.png")));
        }
        return files;
    }

    public static string Markdown(TimeBill.Cli.Evaluation.TimeBillEvaluation.Report report)
    {
        var text = new StringBuilder();
        text.AppendLine($"{report.Prompts} prompts; vanilla responses average {report.VanillaMeanLength:F1} tokens; budgets = percentiles of vanilla end-to-end latency: "
            + string.Join(", ", report.Budgets.Select(b => $"{b.Key} = {b.Value:F0} ms")) + ".");
        text.AppendLine();
        text.AppendLine(FormattableString.Invariant($"TimeBill's pessimism factor k = {report.Pessimism:0.##} ({report.PessimismSource}). ")
            + "Overshoot = the time the result came back − the deadline, over jobs whose prefill ended in time; "
            + "Brackets: bootstrap 95 % intervals over the cell's jobs (seeded). "
            + "\"late\" counts the jobs whose result came back past the deadline, by the phase in which they crossed it; "
            + "\"prefill > T\" counts the jobs whose prefill alone ended past the deadline (nothing left to stop), with their worst overshoot.");
        if (report.Contention is { Processes: > 0 } contention)
        {
            text.AppendLine();
            text.AppendLine(FormattableString.Invariant(
                $"Contention: {contention.Processes} CPU-bound processes ran beside the model for the whole evaluation (pids {string.Join(", ", contention.ProcessIds)}), ")
                + FormattableString.Invariant($"each using {string.Join(", ", contention.CoreShares.Select(s => $"{s:P0}"))} of a core; the budgets were measured under that load."));
        }
        text.AppendLine();
        text.AppendLine(Table(report.Rows));
        text.AppendLine("Pessimism factor sweep (Kill):");
        text.AppendLine();
        text.AppendLine(Table(report.PessimismSweep));
        return text.ToString();
    }

    private static string Table(IEnumerable<BudgetEvaluationRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| budget | strategy | method | completion | completion 95 % | score | score 95 % | partial score | mean α | layers/token | overshoot p50 ms | overshoot p99 ms | step p50 ms | late (prefill/plan/decode/handoff) | prefill > T (max ms) | planner µs |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            text.AppendLine(FormattableString.Invariant(
                $"| {r.BudgetLabel} ({r.BudgetMs:F0} ms) | {r.Strategy} | {r.Method} | {r.CompletionRate:P0} | [{r.CompletionLow:P0}, {r.CompletionHigh:P0}] | {r.Score:F3} | [{r.ScoreLow:F3}, {r.ScoreHigh:F3}] | {r.PartialScore:F3} | {r.MeanAlpha:F2} | {r.MeanLayersPerToken:F2} | {r.OvershootP50Ms:F1} | {r.OvershootP99Ms:F1} | {r.StepP50Ms:F2} | {(r.Late == 0 ? "0" : $"{r.Late} ({r.LatePrefill}/{r.LatePlan}/{r.LateDecode}/{r.LateHandoff})")} | {(r.PrefillOverruns == 0 ? "0" : $"{r.PrefillOverruns} ({r.PrefillOverrunMaxMs:F1})")} | {r.MeanPlannerMicroseconds:F1} |"));
        return text.ToString();
    }

    private static string Plot(TimeBillEvaluation.Report report, string strategy, Func<BudgetEvaluationRow, double> metric, string label, string path) =>
        MethodLinePlot.Save(
            report.Rows.Select(r => r.Method).Distinct().Select(method =>
            {
                var points = report.Rows.Where(r => r.Method == method && r.Strategy == strategy).OrderBy(r => r.BudgetMs).ToArray();
                return (method, points.Select(p => p.BudgetMs).ToArray(), points.Select(metric).ToArray());
            }),
            "time budget (ms)", label, $"TimeBill evaluation ({strategy})", path);
}
