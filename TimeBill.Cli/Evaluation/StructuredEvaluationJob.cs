using TimeBill.Core.Budget;

namespace TimeBill.Cli.Evaluation;

/// <summary>One eval-structured job: its cell, what it returned, and whether that parses and satisfies the schema.</summary>
internal sealed record StructuredEvaluationJob(
    double Multiple, double BudgetMs, string Closing, int Job, string Status, bool Parses, bool Valid, bool ClosedEarly, int Tokens,
    double TotalMs, double OvershootMs, double StepMs, double MaskUs, string Text)
{
    public static StructuredEvaluationJob From(double multiple, double budgetMs, bool closing, int job, BudgetedResult result, bool parses, bool valid, double maskUs) => new(
        multiple, budgetMs, closing ? "on" : "off", job, result.Status.ToString(), parses, valid, result.ClosedEarly, result.Ids.Count,
        result.TotalTime.TotalMilliseconds, result.TotalTime.TotalMilliseconds - budgetMs,
        result.Ids.Count > 1 ? result.DecodeTime.TotalMilliseconds / (result.Ids.Count - 1) : double.NaN, maskUs, result.Text);
}
