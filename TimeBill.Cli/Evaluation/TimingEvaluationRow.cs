using TimeBill.Core.Budget;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// One method at one budget in the timing evaluation (Kill). Overshoot = the time the result came back − the deadline,
/// over jobs whose prefill ended in time; jobs whose prefill alone ended past the deadline are counted apart. Estimator
/// errors are medians of (measured − predicted) / predicted: prefill over every job that ran one, decode over the jobs
/// that completed (their predicted decode covers exactly the steps they ran, since N̂ was exact and k = 1).
/// </summary>
internal sealed record TimingEvaluationRow(
    string Method,
    string BudgetLabel,
    double BudgetMs,
    int Jobs,
    double CompletionRate,
    double MeanAlpha,
    int EvictionsSkipped,
    double OvershootP50Ms,
    double OvershootP99Ms,
    double OvershootMaxMs,
    int PrefillOverruns,
    double PrefillOverrunMaxMs,
    double MeanStepMs,
    double PrefillErrorPercent,
    double DecodeErrorPercent)
{
    public static TimingEvaluationRow From(string method, string label, double budgetMs, IReadOnlyList<BudgetedResult> results, IReadOnlyList<BudgetEvaluationJob> jobs)
    {
        var inTime = jobs.Where(j => !j.PrefillOverran).Select(j => j.OvershootMs).Order().ToArray();
        var overruns = jobs.Where(j => j.PrefillOverran).ToList();
        var prefilled = results.Where(r => r.PrefillTime > TimeSpan.Zero).ToList();
        var completed = results.Where(r => r.Status == BudgetStatus.Completed && r.PredictedDecodeTime > TimeSpan.Zero).ToList();
        var stepped = results.Where(r => r.Ids.Count > 1).ToList();
        return new TimingEvaluationRow(
            method,
            label,
            budgetMs,
            results.Count,
            results.Count(r => r.Status == BudgetStatus.Completed) / (double)results.Count,
            results.Where(r => r.Plan is not null).Select(r => r.EvictionSkipped ? 0 : r.Plan!.EvictionRatio).DefaultIfEmpty(0).Average(),
            results.Count(r => r.EvictionSkipped),
            BudgetEvaluationRow.Percentile(inTime, 0.50),
            BudgetEvaluationRow.Percentile(inTime, 0.99),
            inTime.DefaultIfEmpty(double.NaN).Max(),
            overruns.Count,
            overruns.Select(j => j.OvershootMs).DefaultIfEmpty(double.NaN).Max(),
            stepped.Select(r => r.DecodeTime.TotalMilliseconds / (r.Ids.Count - 1)).DefaultIfEmpty(double.NaN).Average(),
            Median(prefilled.Select(r => 100 * (r.PrefillTime / r.PredictedPrefillTime - 1))),
            Median(completed.Select(r => 100 * (r.DecodeTime / r.PredictedDecodeTime - 1))));
    }

    private static double Median(IEnumerable<double> values) => BudgetEvaluationRow.Percentile(values.Order().ToArray(), 0.5);
}
