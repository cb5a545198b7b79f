using System.Globalization;
using System.Text;
using System.Text.Json;
using TimeBill.Cli.Output;
using TimeBill.Cli.Plots;

namespace TimeBill.Cli.Evaluation;

/// <summary>Writes eval-structured as Markdown, CSV and JSON tables and PNG plots (one line per closing setting).</summary>
internal static class StructuredEvaluationWriter
{
    public static IReadOnlyList<string> Write(StructuredEvaluation.Report report, string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>
        {
            CsvFile.Write(report.Rows, Path.Combine(folder, "structured-eval.csv")),
            CsvFile.Write(report.Jobs, Path.Combine(folder, "structured-eval-jobs.csv")),
        };
        string json = Path.Combine(folder, "structured-eval.json");
        File.WriteAllText(json, JsonSerializer.Serialize(new { report.ModelIdentity, Settings = Settings(report), report.ReferenceMedianMs, report.Rows }, JsonOutput.Options));
        files.Add(json);
        string markdown = Path.Combine(folder, "structured-eval.md");
        File.WriteAllText(markdown, Markdown(report));
        files.Add(markdown);
        files.Add(Plot(report, r => r.ValidOfAnswered, "share of answers that parse and validate", Path.Combine(folder, "structured-valid-vs-budget.png")));
        files.Add(Plot(report, r => r.ValidShare, "share of jobs with a valid answer", Path.Combine(folder, "structured-valid-jobs-vs-budget.png")));
        files.Add(Plot(report, r => r.CompletionRate, "completion rate", Path.Combine(folder, "structured-completion-vs-budget.png")));
        return files;
    }

    /// <summary>The settings and the reference pass, as the JSON outputs carry them.</summary>
    public static object Settings(StructuredEvaluation.Report report) => new
    {
        Schema = report.Settings.SchemaName, report.Settings.Jobs, report.Settings.Multiples, report.Settings.MaxNewTokens, report.Settings.ReferenceJobs,
        report.Settings.Seed, report.ReferenceMeanTokens, report.LiftMs, report.AutomatonStates, report.MaxClosingTokens, report.VocabularySize,
    };

    public static string Markdown(StructuredEvaluation.Report report)
    {
        var s = report.Settings;
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Structured output on {report.ModelIdentity} ({report.VocabularySize}-token vocabulary): schema {s.SchemaName}, {s.Jobs} jobs per cell, temperature 1 (seed {s.Seed}), up to {s.MaxNewTokens} new tokens, Kill."));
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Reference pass ({report.ReferenceLatenciesMs.Count} jobs, same schema, no deadline): median latency {report.ReferenceMedianMs:F1} ms, {report.ReferenceMeanTokens:F1} tokens on average; budgets are multiples of that median. "
            + $"Constraint: {report.AutomatonStates} token-level states, longest closing {report.MaxClosingTokens} tokens, lifted in {report.LiftMs:F0} ms."));
        text.AppendLine();
        text.AppendLine("answered = returned at least one token (a job whose prefill does not fit is dropped with none); "
            + "valid = parses (System.Text.Json) and satisfies the schema (an independent validator), of all jobs unless said; brackets: bootstrap 95 % intervals over the cell's jobs. "
            + "Overshoot = result returned − deadline. Mask = the constraint processor's time per step, replayed over each answer's tokens; % of the measured decode step.");
        text.AppendLine();
        text.AppendLine("| budget | closing | answered | valid of answered | valid | valid 95 % | parses | completion | completion 95 % | closed early | mean tokens | overshoot p50 ms | overshoot p99 ms | step ms | mask µs/step | mask % of step |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in report.Rows)
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Multiple:0.##}× ({r.BudgetMs:F1} ms) | {r.Closing} | {r.AnsweredShare:P1} | {(double.IsNaN(r.ValidOfAnswered) ? "—" : r.ValidOfAnswered.ToString("P1", CultureInfo.InvariantCulture))} | {r.ValidShare:P1} | [{r.ValidLow:P1}, {r.ValidHigh:P1}] | {r.ParseShare:P1} | {r.CompletionRate:P1} | [{r.CompletionLow:P1}, {r.CompletionHigh:P1}] | "
                + $"{r.ClosedEarly} | {r.MeanTokens:F1} | {r.OvershootP50Ms:F2} | {r.OvershootP99Ms:F2} | {F(r.MeanStepMs, "F2")} | {F(r.MaskUsPerStep, "F1")} | {F(100 * r.MaskShareOfStep, "F1")} % |"));
        return text.ToString();
    }

    private static string F(double value, string format) => double.IsNaN(value) ? "—" : value.ToString(format, CultureInfo.InvariantCulture);

    private static string Plot(StructuredEvaluation.Report report, Func<StructuredEvaluationRow, double> metric, string label, string path) =>
        MethodLinePlot.Save(
            new[] { "on", "off" }.Select(closing =>
            {
                var points = report.Rows.Where(r => r.Closing == closing).OrderBy(r => r.Multiple).ToArray();
                return ($"closing {closing}", points.Select(p => p.Multiple).ToArray(), points.Select(metric).ToArray());
            }),
            "time budget (× median latency without a deadline)", label, $"structured output under Kill ({report.ModelIdentity})", path);
}
