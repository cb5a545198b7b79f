using System.Globalization;
using System.Text;
using TimeBill.Cli.Output;
using TimeBill.Cli.Plots;

namespace TimeBill.Cli.Evaluation;

/// <summary>Writes the control-loop evaluation as Markdown and CSV tables and PNG plots (one line per method and prefix state).</summary>
internal static class LoopEvaluationWriter
{
    public static IReadOnlyList<string> Write(LoopEvaluation.Report report, string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>
        {
            CsvFile.Write(report.Rows, Path.Combine(folder, "loop-eval.csv")),
            CsvFile.Write(report.Jobs, Path.Combine(folder, "loop-eval-jobs.csv")),
        };
        string markdown = Path.Combine(folder, "loop-eval.md");
        File.WriteAllText(markdown, Markdown(report));
        files.Add(markdown);
        foreach (var strategy in new[] { "kill", "skip-next" })
        {
            files.Add(Plot(report, strategy, r => r.CompletionRate, "completion rate", Path.Combine(folder, $"loop-completion-vs-budget-{strategy}.png")));
            if (report.Scored)
                files.Add(Plot(report, strategy, r => r.Score, "average score (ROUGE-L F1, misses = 0)", Path.Combine(folder, $"loop-score-vs-budget-{strategy}.png")));
            files.Add(Plot(report, strategy, r => r.MeanAlpha, "mean planner α", Path.Combine(folder, $"loop-alpha-vs-budget-{strategy}.png")));
        }
        return files;
    }

    public static string Markdown(LoopEvaluation.Report report)
    {
        var s = report.Settings;
        var text = new StringBuilder();
        text.AppendLine(report.Scored
            ? $"Control loop on {report.ModelIdentity}: score = ROUGE-L F1 against the unconstrained (cold, vanilla) answer to the same prompt; missed jobs score 0."
            : $"Timing only ({report.ModelIdentity}, random weights: no quality is measured; every job runs to the {s.MaxNewTokens}-token cap).");
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{s.Jobs} ticks per cell, released every period (period = budget); prompt = BOS + a fixed {s.SystemTokens}-token system prompt + an observation of "
            + $"{s.MinObservationTokens}–{s.MaxObservationTokens} tokens (random vocabulary ids, seed {s.Seed}); up to {s.MaxNewTokens} new tokens. "
            + $"cold = prefix reuse off, warm = the system prompt cached. TimeBill: k = {s.Pessimism:0.##}, N̂ = the token cap (no length predictor)."));
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Reference pass ({report.ColdLatenciesMs.Count} unconstrained vanilla jobs, each cold then warm): latency p50 cold {P(report.ColdLatenciesMs, 0.5):F1} ms, "
            + $"warm {P(report.WarmLatenciesMs, 0.5):F1} ms; time to first token p50 cold {P(report.ColdTimeToFirstTokenMs, 0.5):F1} ms, warm {P(report.WarmTimeToFirstTokenMs, 0.5):F1} ms "
            + $"(warm/cold {P(report.WarmTimeToFirstTokenMs, 0.5) / P(report.ColdTimeToFirstTokenMs, 0.5):P0}); warm jobs reused {report.WarmReusedTokens.DefaultIfEmpty(0).Average():F0} prompt tokens on average. "
            + $"Budgets: {string.Join(", ", report.Budgets.Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.Key} = {b.Value:F1} ms")))}."));
        text.AppendLine();
        text.AppendLine("Brackets: bootstrap 95 % intervals over the cell's jobs (seeded). Overshoot = result returned − deadline (from the job's release), over jobs whose prefill "
            + "ended in time; \"prefill > T\" counts jobs whose prefill alone ended past the deadline. TTFT from the job's start, over jobs whose prefill ended; dropped = Kill jobs not run because not even their prefill fitted. α: mean over jobs that were planned.");
        text.AppendLine();
        text.AppendLine("| budget | strategy | prefix | method | completion | completion 95 % | score | score 95 % | partial score | skipped | dropped | reused tokens | TTFT p50 ms | overshoot p50 ms | overshoot p99 ms | prefill > T | mean α |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in report.Rows)
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, 
                $"| {r.BudgetLabel} ({r.BudgetMs:F1} ms) | {r.Strategy} | {r.Prefix} | {r.Method} | {r.CompletionRate:P0} | [{r.CompletionLow:P0}, {r.CompletionHigh:P0}] | {F(r.Score, "F3")} | "
                + $"{(report.Scored ? $"[{F(r.ScoreLow, "F3")}, {F(r.ScoreHigh, "F3")}]" : "—")} | {F(r.PartialScore, "F3")} | {r.Skipped} | {r.Dropped} | {F(r.MeanReusedTokens, "F0")} | "
                + $"{F(r.TimeToFirstTokenP50Ms, "F1")} | {F(r.OvershootP50Ms, "F1")} | {F(r.OvershootP99Ms, "F1")} | {r.PrefillOverruns} | {F(r.MeanAlpha, "F2")} |"));
        text.AppendLine();
        text.AppendLine("Cold vs warm, per budget, strategy and method:");
        text.AppendLine();
        text.AppendLine("| budget | strategy | method | completion cold → warm | TTFT p50 ms cold → warm | mean α cold → warm |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var pair in report.Rows.GroupBy(r => (r.BudgetLabel, r.Strategy, r.Method)))
        {
            var c = pair.First(r => r.Prefix == "cold");
            var w = pair.First(r => r.Prefix == "warm");
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {c.BudgetLabel} | {c.Strategy} | {c.Method} | {c.CompletionRate:P0} → {w.CompletionRate:P0} | "
                + $"{F(c.TimeToFirstTokenP50Ms, "F1")} → {F(w.TimeToFirstTokenP50Ms, "F1")} | {F(c.MeanAlpha, "F2")} → {F(w.MeanAlpha, "F2")} |"));
        }
        return text.ToString();
    }

    private static double P(IReadOnlyList<double> values, double q) => BudgetEvaluationRow.Percentile(values.Order().ToArray(), q);

    private static string F(double value, string format) => double.IsNaN(value) ? "—" : value.ToString(format, CultureInfo.InvariantCulture);

    private static string Plot(LoopEvaluation.Report report, string strategy, Func<LoopEvaluationRow, double> metric, string label, string path) =>
        MethodLinePlot.Save(
            report.Rows.Select(r => (r.Method, r.Prefix)).Distinct().Select(key =>
            {
                var points = report.Rows.Where(r => r.Method == key.Method && r.Prefix == key.Prefix && r.Strategy == strategy).OrderBy(r => r.BudgetMs).ToArray();
                return ($"{key.Method} ({key.Prefix})", points.Select(p => p.BudgetMs).ToArray(), points.Select(metric).ToArray());
            }),
            "time budget = period (ms)", label, $"control loop ({strategy}){(report.Scored ? "" : ", timing only")}", path);
}
