using TimeBill.Core.Budget;

namespace TimeBill.Cli.Evaluation;

/// <summary>Aggregated outcome of one method at one budget under one overrun strategy.</summary>
internal sealed record BudgetEvaluationRow(
    string Method,
    string Strategy,
    string BudgetLabel,
    double BudgetMs,
    int Jobs,
    double CompletionRate,
    double Score,
    double PartialScore,
    double MeanAlpha,
    double MeanLayersPerToken,
    double OvershootP50Ms,
    double OvershootP99Ms,
    double MeanPlannerMicroseconds,
    double MeanPredictorMs)
{
    public static BudgetEvaluationRow From(string method, OverrunStrategy strategy, string label, double budgetMs,
        IReadOnlyList<BudgetedResult> results, IReadOnlyList<double> scores, IReadOnlyList<double> partialScores)
    {
        var ran = results.Where(r => r.Status is not BudgetStatus.Skipped and not BudgetStatus.Infeasible || r.Ids.Count > 0).ToList();
        var overshoots = results.Where(r => r.Status != BudgetStatus.Skipped).Select(r => r.Overshoot.TotalMilliseconds).Order().ToArray();
        return new BudgetEvaluationRow(
            method,
            strategy == OverrunStrategy.Kill ? "kill" : "skip-next",
            label,
            budgetMs,
            results.Count,
            results.Count(r => r.Status == BudgetStatus.Completed) / (double)results.Count,
            scores.Average(),
            partialScores.Average(),
            results.Where(r => r.Plan is not null).Select(r => r.Plan!.EvictionRatio).DefaultIfEmpty(0).Average(),
            ran.Select(r => r.LayersPerToken).DefaultIfEmpty(0).Average(),
            Percentile(overshoots, 0.50),
            Percentile(overshoots, 0.99),
            results.Select(r => r.PlannerTime.TotalMicroseconds).Average(),
            results.Select(r => r.PredictorTime.TotalMilliseconds).Average());
    }

    /// <summary>Linear-interpolated percentile of sorted values (NaN when empty).</summary>
    internal static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) return double.NaN;
        double position = q * (sorted.Count - 1);
        int low = (int)Math.Floor(position), high = (int)Math.Ceiling(position);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }
}
