using TimeBill.Core.Budget;

namespace TimeBill.Cli.Evaluation;

/// <summary>
/// One tick of a control-loop stream. <see cref="ReturnedMs"/> runs from the job's release to the moment its result
/// came back (the stream runner's measure), so <see cref="OvershootMs"/> = returned − budget counts everything the
/// loop waited for; <see cref="TimeToFirstTokenMs"/> runs from the moment the job started.
/// </summary>
internal sealed record LoopEvaluationJob(
    string Method,
    string Strategy,
    string Prefix,
    string BudgetLabel,
    double BudgetMs,
    int Tick,
    int PromptLength,
    int ReusedPromptTokens,
    string Status,
    int Tokens,
    bool Planned,
    double Alpha,
    double PredictedPrefillMs,
    double PrefillMs,
    double TimeToFirstTokenMs,
    double DecodeMs,
    double ReturnedMs,
    double Score,
    double PartialScore)
{
    /// <summary>Returned − budget (negative: that much early).</summary>
    public double OvershootMs => ReturnedMs - BudgetMs;

    /// <summary>The job ran (it was neither skipped nor dropped before prefill).</summary>
    public bool Ran => Status != nameof(BudgetStatus.Skipped) && PrefillMs > 0;

    /// <summary>The prefill ended and yielded a first token (a prefill cut by the Kill deadline yields none).</summary>
    public bool HadFirstToken => Ran && TimeToFirstTokenMs > 0;

    /// <summary>The prefill alone ended past the deadline: nothing was left for the deadline check to stop.</summary>
    public bool PrefillOverran => Ran && TimeToFirstTokenMs > BudgetMs;

    public static LoopEvaluationJob From(string method, string strategy, string prefix, string label, double budgetMs, int tick,
        BudgetedResult result, double score, double partialScore) => new(
        method, strategy, prefix, label, budgetMs, tick, result.PromptIds.Count, result.ReusedPromptTokens, result.Status.ToString(), result.Ids.Count,
        result.Plan is not null, result.Plan?.EvictionRatio ?? double.NaN, result.PredictedPrefillTime.TotalMilliseconds, result.PrefillTime.TotalMilliseconds,
        result.TimeToFirstToken.TotalMilliseconds, result.DecodeTime.TotalMilliseconds, result.TotalTime.TotalMilliseconds, score, partialScore);
}
