namespace TimeBill.Cli.Evaluation;

/// <summary>
/// One eval-structured cell (budget × closing): shares with bootstrap 95 % intervals, lengths, overshoot, mask cost.
/// Answered = the job returned at least one token (a dropped job returns none).
/// </summary>
internal sealed record StructuredEvaluationRow(
    double Multiple, double BudgetMs, string Closing, int Jobs, double AnsweredShare, double ValidOfAnswered,
    double ValidShare, double ValidLow, double ValidHigh, double ParseShare, double ParseLow, double ParseHigh,
    double CompletionRate, double CompletionLow, double CompletionHigh, int ClosedEarly, double MeanTokens,
    double OvershootP50Ms, double OvershootP99Ms, double MeanStepMs, double MaskUsPerStep, double MaskShareOfStep)
{
    public static StructuredEvaluationRow From(double multiple, double budgetMs, string closing, IReadOnlyList<StructuredEvaluationJob> jobs, int seed)
    {
        double[] valid = [.. jobs.Select(j => j.Valid ? 1.0 : 0)], parses = [.. jobs.Select(j => j.Parses ? 1.0 : 0)];
        double[] completed = [.. jobs.Select(j => j.Status == "Completed" ? 1.0 : 0)];
        var (v, p, c) = (BootstrapInterval.OfMean(valid, seed), BootstrapInterval.OfMean(parses, seed + 1), BootstrapInterval.OfMean(completed, seed + 2));
        var overshoot = jobs.Select(j => j.OvershootMs).Order().ToArray();
        double step = Mean(jobs.Select(j => j.StepMs)), mask = Mean(jobs.Select(j => j.MaskUs));
        var answered = jobs.Where(j => j.Tokens > 0).ToArray();
        double validOfAnswered = answered.Length == 0 ? double.NaN : answered.Count(j => j.Valid) / (double)answered.Length;
        return new(multiple, budgetMs, closing, jobs.Count, answered.Length / (double)jobs.Count, validOfAnswered, valid.Average(), v.Low, v.High, parses.Average(), p.Low, p.High,
            completed.Average(), c.Low, c.High, jobs.Count(j => j.ClosedEarly), jobs.Average(j => j.Tokens),
            BudgetEvaluationRow.Percentile(overshoot, 0.5), BudgetEvaluationRow.Percentile(overshoot, 0.99), step, mask, mask / 1000 / step);
    }

    private static double Mean(IEnumerable<double> values) => values.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
}
