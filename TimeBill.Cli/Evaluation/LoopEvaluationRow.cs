using TimeBill.Core.Budget;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// One cell of the control-loop evaluation: a method at a budget under one overrun strategy, with the prefix cold
/// (reuse off) or warm. Completion and score carry seeded bootstrap 95 % intervals over the cell's jobs; score is NaN
/// on a random-weight shape (timing only). Time to first token is over the jobs whose prefill ended; overshoot over those whose
/// prefill ended in time (the others are <see cref="PrefillOverruns"/>); α over the jobs that got a plan.
/// </summary>
internal sealed record LoopEvaluationRow(
    string Method,
    string Strategy,
    string Prefix,
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
    int Skipped,
    int Dropped,
    double MeanReusedTokens,
    double TimeToFirstTokenP50Ms,
    double OvershootP50Ms,
    double OvershootP99Ms,
    int PrefillOverruns,
    double MeanAlpha)
{
    public static LoopEvaluationRow From(string method, string strategy, string prefix, string label, double budgetMs,
        IReadOnlyList<LoopEvaluationJob> jobs, bool scored, int seed)
    {
        var completed = jobs.Select(j => j.Status == nameof(BudgetStatus.Completed) ? 1.0 : 0).ToArray();
        var completion = BootstrapInterval.OfMean(completed, seed);
        var scores = jobs.Select(j => j.Score).ToArray();
        var score = scored ? BootstrapInterval.OfMean(scores, seed + 1) : new ConfidenceInterval(double.NaN, double.NaN);
        var ran = jobs.Where(j => j.Ran).ToList();
        var overshoots = ran.Where(j => !j.PrefillOverran).Select(j => j.OvershootMs).Order().ToArray();
        return new LoopEvaluationRow(
            method, strategy, prefix, label, budgetMs, jobs.Count,
            completed.Average(), completion.Low, completion.High,
            scored ? scores.Average() : double.NaN, score.Low, score.High,
            scored ? jobs.Average(j => j.PartialScore) : double.NaN,
            jobs.Count(j => j.Status == nameof(BudgetStatus.Skipped)),
            jobs.Count(j => j.Status != nameof(BudgetStatus.Skipped) && !j.Ran),
            ran.Select(j => (double)j.ReusedPromptTokens).DefaultIfEmpty(double.NaN).Average(),
            BudgetEvaluationRow.Percentile(ran.Where(j => j.HadFirstToken).Select(j => j.TimeToFirstTokenMs).Order().ToArray(), 0.5),
            BudgetEvaluationRow.Percentile(overshoots, 0.50),
            BudgetEvaluationRow.Percentile(overshoots, 0.99),
            ran.Count(j => j.PrefillOverran),
            jobs.Where(j => j.Planned).Select(j => j.Alpha).DefaultIfEmpty(double.NaN).Average());
    }
}
