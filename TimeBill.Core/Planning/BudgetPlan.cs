namespace TimeBill.Core.Planning;

/// <summary>What the planner decided for one request, and what it expected.</summary>
/// <param name="EvictionRatio">α: share of the prompt's KV entries to evict after prefill.</param>
/// <param name="Feasible">Whether the worst case fits the remaining budget with this α (false: even α_max misses).</param>
/// <param name="PredictedLength">N̂ from the response-length predictor (or the cap without one).</param>
/// <param name="WorstCaseLength">N_W = min(k·N̂, N_max).</param>
/// <param name="LayersPerToken">Expected decoder layers per token; null when every layer runs.</param>
/// <param name="PredictedDecodeMilliseconds">Predicted time of the N_W − 1 decode steps with this α.</param>
/// <param name="RemainingMilliseconds">Budget left for decoding when the plan was made.</param>
public sealed record BudgetPlan(
    double EvictionRatio,
    bool Feasible,
    double PredictedLength,
    int WorstCaseLength,
    double? LayersPerToken,
    double PredictedDecodeMilliseconds,
    double RemainingMilliseconds);
