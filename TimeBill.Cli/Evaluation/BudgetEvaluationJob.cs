using TimeBill.Core.Budget;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// One job of the TimeBill evaluation, with where its time went. <see cref="ReturnedMs"/> is measured by the
/// evaluation around the call (Kill) or by the stream runner from the job's release (Skip-Next): the time the result
/// was handed back, so <see cref="OvershootMs"/> = returned − budget counts everything the caller waited for.
/// </summary>
internal sealed record BudgetEvaluationJob(
    string Method,
    string Strategy,
    string BudgetLabel,
    double BudgetMs,
    int Prompt,
    int PromptLength,
    string Status,
    int Tokens,
    double Alpha,
    bool Feasible,
    double PredictedLength,
    int WorstCaseLength,
    double PredictedPrefillMs,
    double PrefillMs,
    double TimeToFirstTokenMs,
    double PredictorMs,
    double PlannerMicroseconds,
    double EvictionMs,
    double DecodeMs,
    double TotalMs,
    double ReturnedMs)
{
    /// <summary>Returned − budget (negative: that much early).</summary>
    public double OvershootMs => ReturnedMs - BudgetMs;

    /// <summary>
    /// Where a job that came back past the deadline crossed it: "prefill" (its first token came too late), "plan" (the
    /// length prediction, planning or eviction), "decode" (the steps and finishing the result) or "handoff" (the result
    /// was complete in time but reached the caller late); empty for a job back in time or skipped.
    /// </summary>
    public string LatePhase =>
        Status == nameof(BudgetStatus.Skipped) || ReturnedMs <= BudgetMs ? ""
        : TimeToFirstTokenMs > BudgetMs ? "prefill"
        : TimeToFirstTokenMs + PredictorMs + PlannerMicroseconds / 1000 + EvictionMs > BudgetMs ? "plan"
        : TotalMs > BudgetMs ? "decode"
        : "handoff";

    /// <summary>Mean time of the job's decode steps (NaN with none).</summary>
    public double StepMs => Tokens > 1 ? DecodeMs / (Tokens - 1) : double.NaN;

    /// <summary>The prefill alone ended past the deadline: nothing was left for the deadline check to stop.</summary>
    public bool PrefillOverran => Status != nameof(BudgetStatus.Skipped) && TimeToFirstTokenMs > BudgetMs;

    public static BudgetEvaluationJob From(string method, string strategy, string label, double budgetMs, int prompt, BudgetedResult result, TimeSpan returned) => new(
        method, strategy, label, budgetMs, prompt, result.PromptIds.Count, result.Status.ToString(), result.Ids.Count,
        result.Plan?.EvictionRatio ?? 0, result.Plan?.Feasible ?? false, result.Plan?.PredictedLength ?? 0, result.Plan?.WorstCaseLength ?? 0,
        result.PredictedPrefillTime.TotalMilliseconds, result.PrefillTime.TotalMilliseconds, result.TimeToFirstToken.TotalMilliseconds,
        result.PredictorTime.TotalMilliseconds, result.PlannerTime.TotalMicroseconds, result.EvictionTime.TotalMilliseconds,
        result.DecodeTime.TotalMilliseconds, result.TotalTime.TotalMilliseconds, returned.TotalMilliseconds);
}
