using TimeBill.Core.Budget;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// Aggregated outcome of one method at one budget under one overrun strategy. Overshoot = the time the result came
/// back − the deadline, over the jobs that ran and whose prefill ended within the budget; jobs whose prefill alone
/// ended past the deadline (nothing left to stop) are counted in <see cref="PrefillOverruns"/> instead, with their
/// worst overshoot in <see cref="PrefillOverrunMaxMs"/>. Completion and score carry seeded bootstrap 95 % intervals
/// over the cell's jobs (<see cref="BootstrapInterval"/>). <see cref="Late"/> counts every job whose result came back
/// past the deadline, prefill overruns included, split by where it crossed it (<see cref="BudgetEvaluationJob.LatePhase"/>);
/// <see cref="StepP50Ms"/> is the median of the jobs' mean decode-step times, the unit the overshoot is judged in.
/// </summary>
internal sealed record BudgetEvaluationRow(
    string Method,
    string Strategy,
    string BudgetLabel,
    double BudgetMs,
    int Jobs,
    double CompletionRate,
    double CompletionLow,
    double CompletionHigh,
    double Score,
    double ScoreLow,
    double ScoreHigh,
    double PartialScore,
    double MeanAlpha,
    double MeanLayersPerToken,
    double OvershootP50Ms,
    double OvershootP99Ms,
    int PrefillOverruns,
    double PrefillOverrunMaxMs,
    double MeanPlannerMicroseconds,
    double MeanPredictorMs,
    int Late,
    int LatePrefill,
    int LatePlan,
    int LateDecode,
    int LateHandoff,
    double StepP50Ms)
{
    public static BudgetEvaluationRow From(string method, string strategy, string label, double budgetMs,
        IReadOnlyList<BudgetedResult> results, IReadOnlyList<BudgetEvaluationJob> jobs, IReadOnlyList<double> scores, IReadOnlyList<double> partialScores, int seed)
    {
        var completed = results.Select(r => r.Status == BudgetStatus.Completed ? 1.0 : 0).ToArray();
        var completion = BootstrapInterval.OfMean(completed, seed);
        var score = BootstrapInterval.OfMean(scores, seed + 1);
        var ran = results.Where(r => r.Status is not BudgetStatus.Skipped and not BudgetStatus.Infeasible || r.Ids.Count > 0).ToList();
        var timed = jobs.Where(j => j.Status != nameof(BudgetStatus.Skipped)).ToList();
        var overshoots = timed.Where(j => !j.PrefillOverran).Select(j => j.OvershootMs).Order().ToArray();
        var overruns = timed.Where(j => j.PrefillOverran).ToList();
        return new BudgetEvaluationRow(
            method,
            strategy,
            label,
            budgetMs,
            results.Count,
            completed.Average(),
            completion.Low,
            completion.High,
            scores.Average(),
            score.Low,
            score.High,
            partialScores.Average(),
            results.Where(r => r.Plan is not null).Select(r => r.Plan!.EvictionRatio).DefaultIfEmpty(0).Average(),
            ran.Select(r => r.LayersPerToken).DefaultIfEmpty(0).Average(),
            Percentile(overshoots, 0.50),
            Percentile(overshoots, 0.99),
            overruns.Count,
            overruns.Select(j => j.OvershootMs).DefaultIfEmpty(double.NaN).Max(),
            results.Select(r => r.PlannerTime.TotalMicroseconds).Average(),
            results.Select(r => r.PredictorTime.TotalMilliseconds).Average(),
            timed.Count(j => j.LatePhase != ""),
            timed.Count(j => j.LatePhase == "prefill"),
            timed.Count(j => j.LatePhase == "plan"),
            timed.Count(j => j.LatePhase == "decode"),
            timed.Count(j => j.LatePhase == "handoff"),
            Percentile(jobs.Select(j => j.StepMs).Where(double.IsFinite).Order().ToArray(), 0.50));
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
